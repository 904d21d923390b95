"""Benchmark the runner adapters' parsers on large generated logs, against `wc -l`.

Usage: python scripts/bench_parsers.py [--mb 100] [--keep DIR]

For each adapter a log of about `--mb` megabytes is generated (libtest output
with one panic per hundred tests, `go test -json` events, a pytest `-v` log
and a JUnit XML file), then parsed once. The table shows each parser's
throughput and how many times slower it is than `wc -l` reading the same file
in the same run: a constant ratio across sizes is what "linear" means here.
Peak memory is the process's high-water mark, which the streaming parsers keep
near the size of their results rather than of the file.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from replay._adapters.cargo import CargoAdapter
from replay._adapters.go import GoAdapter
from replay._adapters.junit import JUnitAdapter
from replay._adapters.pytest import PytestAdapter
from replay._model.models import Job, TestResult

MB = 1024 * 1024


def _write_until(path: Path, megabytes: int, chunk: Callable[[int], str]) -> None:
    """Append `chunk(i)` for i = 0, 1, ... until the file reaches `megabytes`."""
    limit = megabytes * MB
    size = 0
    index = 0
    with path.open("w") as out:
        while size < limit:
            text = chunk(index)
            out.write(text)
            size += len(text)
            index += 1


def make_cargo_log(path: Path, megabytes: int) -> None:
    """libtest output: results mixed with test output, a panic every hundred tests."""
    rng = random.Random(1)

    def chunk(i: int) -> str:
        if i % 1000 == 0:
            header = "" if i == 0 else "\ntest result: ok. 1000 passed; 0 failed\n\n"
            return f"{header}running 1000 tests\n"
        name = f"suite::module_{i % 97}::case_{i}"
        noise = f"    log line {rng.random()} while testing {name}\n" * 3
        if i % 100 == 0:
            return (
                f"{noise}thread '{name}' panicked at tests/big.rs:{i % 5000}:9:\n"
                f"assertion `left == right` failed\n  left: {i}\n right: 0\n"
                f"test {name} ... FAILED\n"
            )
        return f"{noise}test {name} ... ok\n"

    _write_until(path, megabytes, chunk)


def make_go_log(path: Path, megabytes: int) -> None:
    """`go test -json` events: run, output, pass or fail, for many packages."""

    def chunk(i: int) -> str:
        package = f"example.com/m/pkg{i % 50}"
        test = f"TestCase{i}"
        action = "fail" if i % 100 == 0 else "pass"
        events = [
            {"Action": "run", "Package": package, "Test": test},
            {"Action": "output", "Package": package, "Test": test, "Output": f"=== RUN   {test}\n"},
            {
                "Action": "output",
                "Package": package,
                "Test": test,
                "Output": f"    case_test.go:{i % 900}: checking value {i}\n",
            },
            {"Action": action, "Package": package, "Test": test, "Elapsed": 0.01},
        ]
        return "".join(orjson.dumps(event).decode() + "\n" for event in events)

    _write_until(path, megabytes, chunk)


def make_pytest_log(path: Path, megabytes: int) -> None:
    """A pytest `-v` log with captured output between result lines."""

    def chunk(i: int) -> str:
        word = "FAILED" if i % 100 == 0 else "PASSED"
        return (
            f"tests/test_big.py::TestBig::test_case[{i}-param] {word}{' ' * 20}[ 50%]\n"
            f"    captured output of case {i}, nothing to see here\n" * 2
        )

    _write_until(path, megabytes, chunk)


def make_junit(path: Path, megabytes: int) -> None:
    """A JUnit XML file of many cases, some failing, each with captured output."""

    def chunk(i: int) -> str:
        if i == 0:
            return '<?xml version="1.0"?>\n<testsuites><testsuite name="big">\n'
        failure = f'<failure message="failed {i}">trace {i}</failure>' if i % 100 == 0 else ""
        return (
            f'<testcase classname="pkg.Big" name="case_{i}" time="0.001">{failure}'
            f"<system-out>output of case {i} {'.' * 80}</system-out></testcase>\n"
        )

    _write_until(path, megabytes, chunk)
    with path.open("a") as out:
        out.write("</testsuite></testsuites>\n")


def _job(adapter: str, junit_path: str | None = None, cwd: str | None = None) -> Job:
    return Job(
        id="b", target="b", kind="unit", adapter=adapter, argv=(), junit_path=junit_path, cwd=cwd
    )


def _wc_seconds(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["wc", "-l", str(path)], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    """Generate, parse, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="size of each generated log in MB")
    parser.add_argument("--keep", type=Path, help="write the logs here and keep them")
    options = parser.parse_args()
    if shutil.which("wc") is None:
        parser.error("wc is needed as the baseline")

    directory = options.keep or Path(tempfile.mkdtemp(prefix="bench-parsers-"))
    directory.mkdir(parents=True, exist_ok=True)
    cases: list[tuple[str, Path, Callable[[Path], tuple[TestResult, ...]]]] = [
        (
            "cargo",
            directory / "cargo.log",
            lambda p: CargoAdapter().parse(p, directory, _job("cargo")).tests,
        ),
        ("go", directory / "go.jsonl", lambda p: GoAdapter().parse(p, directory, _job("go")).tests),
        (
            "pytest (log)",
            directory / "pytest.log",
            lambda p: PytestAdapter().parse(p, directory / "no-attempt", _job("pytest")).tests,
        ),
        (
            "junit",
            directory / "junit.xml",
            lambda p: (
                JUnitAdapter()
                .parse(p, directory, _job("junit", junit_path=p.name, cwd=str(directory)))
                .tests
            ),
        ),
    ]
    makers = {
        "cargo": make_cargo_log,
        "go": make_go_log,
        "pytest (log)": make_pytest_log,
        "junit": make_junit,
    }
    columns = ("MB", 8), ("tests", 10), ("failed", 8), ("MB/s", 9), ("wc -l MB/s", 12)
    print(f"{'parser':<14}" + "".join(f"{title:>{width}}" for title, width in columns) + "   ratio")
    try:
        for name, path, parse in cases:
            makers[name](path, options.mb)
            size = path.stat().st_size / MB
            wc = _wc_seconds(path)
            started = time.perf_counter()
            results = parse(path)
            seconds = time.perf_counter() - started
            failed = sum(result.status.value == "failed" for result in results)
            print(
                f"{name:<14}{size:>8.1f}{len(results):>10}{failed:>8}"
                f"{size / seconds:>9.1f}{size / wc:>12.1f}{seconds / wc:>7.0f}x"
            )
    finally:
        if options.keep is None:
            shutil.rmtree(directory, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
