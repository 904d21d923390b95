"""Retries: a retry of only the failed tests vs a retry of the whole suite (the old behaviour).

A real pytest suite of N tests, each sleeping a few milliseconds, one of which
fails on its first run only (a flake). `replay run --retries 1` retries it;
`--retry-granularity test` (the default, as gotestsum's `--rerun-fails`) runs
only the failed test again, `--retry-granularity suite` (the baseline, measured
in the same run) runs all N again. The figure is the retry attempt's duration
and the whole run's wall time; the target is that the retry costs at most half
of a whole-suite retry.

    python scripts/bench_retry.py            # 400 tests of 10 ms, 3 repeats
    python scripts/bench_retry.py --quick    # 100 tests, 1 repeat
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from _bench import (
    BenchError,
    Row,
    Size,
    median,
    progress,
    ratio_row,
    scratch,
    sized_bench,
    time_replay,
    toml_string,
    unique_run_dir,
)

RETRY_TARGET_RATIO = 0.5
"""Issue 11: a targeted retry must cost at most half of a whole-suite retry here."""
SIZES = {
    "tests": Size(400, quick=100, counts="tests in the suite"),
    "repeats": Size(3, quick=1, counts="runs of each side"),
}

_SUITE = """\
import os, pathlib, time
import pytest

@pytest.mark.parametrize("n", range({tests}))
def test_steady(n):
    time.sleep(0.01)

def test_flaky():
    flag = pathlib.Path(os.environ["FLAG_FILE"])
    first = not flag.exists()
    flag.touch()
    assert not first
"""


def _write_project(root: Path, tests: int) -> Path:
    (root / "tests").mkdir(parents=True, exist_ok=True)
    (root / "tests" / "test_suite.py").write_text(_SUITE.replace("{tests}", str(tests - 1)))
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    config = root / "replay.toml"
    config.write_text(
        "[[replay.suites]]\n"
        'name = "py"\n'
        'adapter = "pytest"\n'
        f"command = [{', '.join(toml_string(a) for a in argv)}]\n"
    )
    return config


def _retry_seconds(run_dir: Path) -> float:
    """The duration of the retry attempt recorded in the run's summary."""
    summary = json.loads((run_dir / "summary.json").read_text())
    (target,) = summary["targets"]
    if target["status"] != "flaky" or len(target["attempts"]) != 2:
        msg = f"{run_dir}: expected a flaky target with two attempts, got {target['status']}"
        raise BenchError(msg)
    return float(target["attempts"][1]["duration"])


def run(*, tests: int, repeats: int) -> list[Row]:
    """Median retry and wall seconds, by granularity."""
    retry: dict[str, list[float]] = {"test": [], "suite": []}
    wall: dict[str, list[float]] = {"test": [], "suite": []}
    with scratch("retry") as tmp:
        config = _write_project(tmp, tests)
        for repeat in range(repeats):
            for granularity in ("suite", "test"):
                progress(f"retry: {tests} tests, --retry-granularity {granularity} ({repeat + 1})")
                out = unique_run_dir(tmp)
                flag = out.with_suffix(".flag")
                seconds = time_replay(
                    "run", "--config", str(config), "--retries", "1", "-q", "--out", str(out),
                    "--retry-granularity", granularity, "--env", f"FLAG_FILE={flag}",
                )  # fmt: skip
                wall[granularity].append(seconds)
                retry[granularity].append(_retry_seconds(out))
    targeted, whole = median(retry["test"]), median(retry["suite"])
    retried, rerun = median(wall["test"]), median(wall["suite"])
    return [
        ratio_row(
            f"retry attempt, {tests} tests",
            targeted,
            whole,
            against="suite retry",
            at_most=RETRY_TARGET_RATIO,
        ),
        ratio_row(f"whole run, {tests} tests", retried, rerun, against="with suite retry"),
    ]


measure, main = sized_bench(__doc__, run, SIZES)

if __name__ == "__main__":
    raise SystemExit(main())
