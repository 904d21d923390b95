"""Size and render time of `trace.json` and `report.html` for a 10,000-test run.

Two shapes of 10,000 tests: 100 suites of 100 tests, and 10,000 one-test targets
(the worst case for the timeline and the chain table). Each has 5 failed
targets with a log and a digest, flaky targets with a retry, attempts spread
over 8 slots. Times are the best of 3, against a baseline measured in the same
run: encoding the same summary as `summary.json` (which every run does). With
Chromium installed, the time a headless Chromium takes to load the page and
take a screenshot is measured against an empty page.

    python scripts/bench_report.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
from _bench import best_of, sizes_parser
from _summaries import case_result, target_result

from replay._core.summary import summary_document
from replay._core.trace import trace_document
from replay._exec.postprocess import view_step
from replay._model.clock import iso
from replay._model.models import Attempt, RunStatus, Summary, TargetResult, TargetStatus
from replay._model.names import REPORT_NAME, TRACE_NAME

TESTS = 10_000
SLOTS = 8
ZERO = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _target(index: int, tests: int) -> TargetResult:
    name = f"suite_{index:05d}"
    failed = index % (TESTS // tests // 5 or 1) == 0 and index // (TESTS // tests // 5 or 1) < 5
    flaky = not failed and index % 7 == 3
    start = (index // SLOTS) * 0.5
    results = tuple(
        case_result(
            f"{name}::test_{n:04d}",
            failed=(failed or flaky) and n == 0,
            duration=0.01,
            message="assert 1 == 2",
        )
        for n in range(tests)
    )
    attempts = [
        Attempt(
            1,
            exit_code=1 if failed or flaky else 0,
            started_at=iso(ZERO + timedelta(seconds=start)),
            duration=0.4,
            log=f"{name}/output.log",
        )
    ]
    if flaky:
        results += (case_result(f"{name}::test_0000", failed=False, attempt=2),)
        attempts.append(
            Attempt(
                2,
                exit_code=0,
                started_at=iso(ZERO + timedelta(seconds=start + 0.45)),
                duration=0.04,
            )
        )
    return target_result(
        name,
        results,
        failed=failed,
        status=TargetStatus.FLAKY if flaky else None,
        kind="suite",
        adapter="pytest",
        argv=("pytest", f"tests/{name}"),
        decided_by="run-1" if index % 3 else "run-0",
        attempts=tuple(attempts),
        log=f"{name}/output.log",
        root_cause="assertion_failure" if failed else None,
    )


def _summary(tests_per_target: int) -> Summary:
    targets = tuple(_target(i, tests_per_target) for i in range(TESTS // tests_per_target))
    return Summary(
        run_id="run-1",
        status=RunStatus.FAILED,
        started_at=iso(ZERO),
        finished_at=iso(ZERO + timedelta(minutes=10)),
        targets=targets,
        one_command_replay="replay --rerun-from runs/run-1/summary.json",
    )


def _chromium(page: Path) -> float | None:
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    with tempfile.TemporaryDirectory() as profile:
        argv = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--screenshot={profile}/shot.png",
            "--window-size=1200,900",
            page.as_uri(),
        ]
        return best_of(
            2, lambda: subprocess.run(argv, capture_output=True, check=True, timeout=300)
        )


def _write_run(run_dir: Path, summary: Summary) -> None:
    for target in summary.outstanding:
        (run_dir / target.name).mkdir(parents=True, exist_ok=True)
        lines = "".join(f"{target.name} line {n}\n" for n in range(5000))
        (run_dir / target.name / "output.log").write_text(lines + "E   assert 1 == 2\n")


def bench(label: str, tests_per_target: int, empty_page: float | None) -> None:
    summary = _summary(tests_per_target)
    baseline = best_of(3, lambda: orjson.dumps(summary_document(summary)))
    trace = best_of(3, lambda: orjson.dumps(trace_document(summary)))
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        _write_run(run_dir, summary)
        step = view_step()
        views = best_of(3, lambda: step(summary, run_dir))
        trace_size = (run_dir / TRACE_NAME).stat().st_size
        page_size = (run_dir / REPORT_NAME).stat().st_size
        browser = _chromium(run_dir / REPORT_NAME)
    print(f"{label}: {len(summary.targets)} targets, {TESTS} tests")
    print(f"  summary.json encode (baseline) {baseline * 1000:8.1f} ms")
    print(f"  trace.json build+encode        {trace * 1000:8.1f} ms  ({trace / baseline:.2f}x)")
    print(f"  view step (trace + report)     {views * 1000:8.1f} ms  ({views / baseline:.2f}x)")
    print(f"  trace.json {trace_size / 1024:8.1f} KiB, report.html {page_size / 1024:8.1f} KiB")
    if browser is not None and empty_page is not None:
        print(
            f"  chromium load+screenshot       {browser * 1000:8.1f} ms  "
            f"(empty page {empty_page * 1000:.1f} ms, +{(browser - empty_page) * 1000:.1f} ms)"
        )


def _empty_page() -> float | None:
    """Seconds Chromium takes on an empty page (the browser's baseline); None without Chromium."""
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.html"
        empty.write_text("<!DOCTYPE html><title>empty</title>")
        seconds = _chromium(empty)
    if seconds is None:
        print("chromium not installed: browser times skipped", file=sys.stderr)
    return seconds


def main(argv: list[str] | None = None) -> int:
    """`python scripts/bench_report.py [--no-browser]`: measure both shapes, print the figures."""
    parser = sizes_parser(__doc__)
    parser.add_argument(
        "--no-browser", action="store_true", help="skip the headless Chromium page-load timing"
    )
    empty_page = None if parser.parse_args(argv).no_browser else _empty_page()
    bench("100 suites x 100 tests", 100, empty_page)
    bench("10,000 one-test targets", 1, empty_page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
