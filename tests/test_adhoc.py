"""Ad-hoc runs (`replay run -- CMD`): which adapter reads the command, and saying so."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from _support import load_json, replay

from replay._adapters import infer_adapter

GENERIC_NOTE = (
    "replay: note: no adapter recognised `{}`; per-test results need --adapter "
    "(cargo, go or pytest)"
)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("cargo", "test"), "cargo"),
        (("cargo", "test", "--test", "it", "--", "--nocapture"), "cargo"),
        (("cargo", "+nightly", "t"), "cargo"),
        (("/root/.cargo/bin/cargo", "test"), "cargo"),
        (("rch", "exec", "--", "cargo", "test"), "cargo"),
        (("cargo", "build"), "generic"),
        (("cargo", "nextest", "run"), "generic"),
        (("go", "test", "./..."), "go"),
        (("/usr/local/go/bin/go", "test", "-run", "TestX", "."), "go"),
        (("go", "vet", "./..."), "generic"),
        (("pytest", "-x", "tests"), "pytest"),
        (("py.test",), "pytest"),
        (("python", "-m", "pytest", "-q"), "pytest"),
        (("python3", "-mpytest"), "pytest"),
        (("uv", "run", "pytest", "tests"), "pytest"),
        (("poetry", "run", "py.test"), "pytest"),
        (("rch", "exec", "--", "pytest"), "pytest"),
        (("env", "PYTHONHASHSEED=0", ".venv/bin/pytest"), "pytest"),
        (("make", "pytest"), "generic"),
        (("tox", "-e", "pytest"), "generic"),
        (("nox", "-s", "pytest", "--", "-x"), "generic"),
        (("make", "test"), "generic"),
        (("sh", "-c", "pytest -x"), "generic"),
        (("python", "-m", "unittest"), "generic"),
        ((), "generic"),
    ],
)
def test_infer_adapter(argv: tuple[str, ...], expected: str) -> None:
    """cargo test, go test and pytest in any spelling get their adapter; the rest, generic."""
    assert expected == infer_adapter(argv)


def _dry_run(tmp_path: Path, *args: str) -> tuple[int, list[str], list[dict[str, Any]]]:
    """`replay run --dry-run ARGS`: exit code, stderr lines and the planned jobs."""
    result = replay(tmp_path, "run", "--dry-run", *args)
    jobs = orjson.loads(result.stdout)["jobs"] if result.returncode == 0 else []
    return result.returncode, result.stderr.splitlines(), jobs


@pytest.mark.parametrize(
    ("args", "expected_adapter", "expected_stderr"),
    [
        (["--", "cargo", "test", "--test", "it"], "cargo", []),
        (["--", "go", "test", "./..."], "go", []),
        (["--", "python", "-m", "pytest", "-x"], "pytest", []),
        (["--", "make", "test"], "generic", [GENERIC_NOTE.format("make test")]),
        (
            ["--", "sh", "-c", "exit 0", "--token=s3cret"],
            "generic",
            [GENERIC_NOTE.format("sh -c 'exit 0' '--token=[REDACTED]'")],
        ),
        (["--adapter", "pytest", "--", "make", "test"], "pytest", []),
        (["--adapter", "generic", "--", "cargo", "test"], "generic", []),
    ],
)
def test_adhoc_plan_uses_the_inferred_or_chosen_adapter(
    tmp_path: Path, args: list[str], expected_adapter: str, expected_stderr: list[str]
) -> None:
    """The plan's one job gets the inferred adapter, or `--adapter`'s; generic says so once."""
    code, stderr, jobs = _dry_run(tmp_path, *args)
    assert (0, [expected_adapter], expected_stderr) == (code, [j["adapter"] for j in jobs], stderr)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--adapter", "nose", "--", "nosetests"],
            "replay run: error: argument --adapter: unknown adapter 'nose'; "
            "expected one of: cargo, generic, go, pytest",
        ),
        (
            ["--adapter", "junit", "--", "make", "test"],
            "replay run: error: argument --adapter: the junit adapter reads the XML at a "
            "suite's junit_path, which only a config suite can set; describe the suite in "
            "replay.toml",
        ),
        (
            ["--adapter", "pytest"],
            "replay: error: --adapter applies to an ad-hoc command (replay run --adapter NAME "
            "-- CMD ARGS...); a suite in the config names its adapter there",
        ),
    ],
)
def test_bad_adapter_choice_exits_2(tmp_path: Path, args: list[str], expected: str) -> None:
    """An unknown or unfit `--adapter`, or one without a command: exit 2 saying why."""
    (tmp_path / "replay.toml").write_text('[[replay.suites]]\nname = "a"\ncommand = ["true"]\n')
    result = replay(tmp_path, "run", "--dry-run", *args)
    assert (2, expected) == (result.returncode, result.stderr.splitlines()[-1])


PYTEST_PROJECT = {
    "tests/test_numbers.py": (
        "def test_adds():\n    assert 1 + 1 == 2\n\n\ndef test_breaks():\n    assert 1 + 1 == 3\n"
    ),
}


@pytest.mark.slow
def test_adhoc_pytest_records_tests_and_reruns_only_the_failed_one(tmp_path: Path) -> None:
    """`replay run -- python -m pytest` records each test; its rerun targets the failed one."""
    for name, text in PYTEST_PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    python = sys.executable
    result = replay(tmp_path, "run", "--out", "r", "--", python, "-m", "pytest", "-q", "tests")
    (target,) = load_json(tmp_path / "r/summary.json")["targets"]
    rerun = orjson.loads(replay(tmp_path, "--rerun-from", "r/summary.json", "--dry-run").stdout)
    expected = (
        1,
        "pytest",
        [
            ("tests/test_numbers.py::test_adds", "passed"),
            ("tests/test_numbers.py::test_breaks", "failed"),
        ],
        [[python, "-m", "pytest", "-q", "tests/test_numbers.py::test_breaks"]],
    )
    actual = (
        result.returncode,
        target["adapter"],
        [(t["name"], t["status"]) for t in target["tests"]],
        [job["argv"] for job in rerun["jobs"]],
    )
    assert expected == actual, result.stderr


GO_PROJECT = {
    "go.mod": "module example.com/demo\n\ngo 1.18\n",
    "demo_test.go": (
        'package demo\n\nimport "testing"\n\n'
        "func TestOk(t *testing.T) {}\n\n"
        'func TestBroken(t *testing.T) { t.Fatal("broken") }\n'
    ),
}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed")
def test_adhoc_go_test_records_tests(tmp_path: Path) -> None:
    """`replay run -- go test ./...` reads go's JSON events: one result per test."""
    for name, text in GO_PROJECT.items():
        (tmp_path / name).write_text(text)
    # GOTOOLCHAIN=local: never download a toolchain for this module.
    result = replay(
        tmp_path, "run", "--out", "r", "--", "go", "test", "./...", env={"GOTOOLCHAIN": "local"}
    )
    (target,) = load_json(tmp_path / "r/summary.json")["targets"]
    expected = (1, "go", [("TestBroken", "failed"), ("TestOk", "passed")])
    actual = (
        result.returncode,
        target["adapter"],
        sorted((t["name"], t["status"]) for t in target["tests"]),
    )
    assert expected == actual, result.stderr
