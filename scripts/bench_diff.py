"""Benchmark: load two summaries of 100,000 tests each and triage-diff them.

Builds a baseline and a current summary (1,000 suites of 100 tests; the
current one has a few regressed, fixed and new tests and suites), writes them
as replay writes summaries, then times what `replay diff` does: load both
files into models and diff them. The reference measured in the same run is
plain `orjson.loads` of the same two files, the floor for any reader. Target:
load + diff under 2 s.

    python scripts/bench_diff.py [--suites 1000] [--tests 100] [--repeat 3]
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from pathlib import Path

import orjson
from _bench import best_of, sizes_parser
from _summaries import case_result, target_result

from replay._core.diff import triage_diff
from replay._core.summary import summary_document
from replay._model.models import RunStatus, Summary, TestStatus

TARGET_SECONDS = 2.0
"""The issue's bar for loading and diffing two 100,000-test summaries."""

FLIP_RATE = 0.002
"""Share of tests whose outcome differs between the two runs."""


def _loader() -> tuple[str, Callable[[Path], Summary]]:
    try:
        from replay._inputs.readers import load_summary
    except ImportError:  # before the readers exist: the converter alone
        from replay._model.convert import loads

        return "replay._model.convert.loads", lambda p: loads(
            p.read_bytes(), Summary, source=str(p)
        )
    return "replay._inputs.readers.load_summary", load_summary


def build(suites: int, tests: int, *, run_id: str, seed: int, current: bool) -> Summary:
    """A summary of `suites` suites of `tests` tests, with seeded differences in the current one."""
    rng = random.Random(seed)
    targets = []
    for s in range(suites + (5 if current else 0)):
        results = []
        for t in range(tests):
            failed = rng.random() < FLIP_RATE
            results.append(
                case_result(
                    f"module_{t // 10}::test_case_{t:03d}",
                    failed=failed,
                    duration=rng.random(),
                    message="assertion `left == right` failed",
                    file=f"tests/suite_{s:04d}.rs",
                    line=rng.randint(1, 500) if failed else None,
                )
            )
        ok = all(r.status is TestStatus.PASSED for r in results)
        targets.append(
            target_result(
                f"suite_{s:04d}",
                tuple(results),
                failed=not ok,
                kind="unit" if s % 4 == 0 else "e2e",
                adapter="generic",
                argv=("cargo", "test", "--test", f"suite_{s:04d}", "--", "--nocapture"),
                decided_by=run_id,
                exit_code=0 if ok else 101,
                duration=rng.lognormvariate(3, 1),
                log=f"suite_{s:04d}/output.log",
            )
        )
    return Summary(
        run_id=run_id,
        status=RunStatus.FAILED,
        started_at="2026-02-06T21:23:20.000Z",
        finished_at="2026-02-06T21:53:20.000Z",
        targets=tuple(targets),
    )


def main() -> int:
    """Print load, diff and reference timings; exit 1 if load + diff misses the target."""
    args = sizes_parser(__doc__, suites=1000, tests=100, repeat=3).parse_args()
    name, load = _loader()

    with tempfile.TemporaryDirectory() as tmp:
        base_path = Path(tmp) / "base" / "summary.json"
        cur_path = Path(tmp) / "cur" / "summary.json"
        for path, seed, current in ((base_path, 1, False), (cur_path, 2, True)):
            model = build(
                args.suites, args.tests, run_id=path.parent.name, seed=seed, current=current
            )
            path.parent.mkdir()
            path.write_bytes(orjson.dumps(summary_document(model)))
        size = base_path.stat().st_size + cur_path.stat().st_size

        def load_both() -> tuple[Summary, Summary]:
            return load(base_path), load(cur_path)

        def load_and_diff() -> object:
            base, cur = load_both()
            return triage_diff(
                base,
                cur,
                baseline_path=str(base_path),
                current_path=str(cur_path),
                generated_at="2026-02-07T00:00:00Z",
            )

        reference = best_of(
            args.repeat,
            lambda: (orjson.loads(base_path.read_bytes()), orjson.loads(cur_path.read_bytes())),
        )
        base, cur = load_both()
        loading = best_of(args.repeat, load_both)
        diffing = best_of(
            args.repeat,
            lambda: triage_diff(base, cur, baseline_path="b", current_path="c", generated_at="now"),
        )
        total = best_of(args.repeat, load_and_diff)
        result = triage_diff(base, cur, baseline_path="b", current_path="c", generated_at="now")

    tests = sum(len(t.tests) for t in base.targets), sum(len(t.tests) for t in cur.targets)
    print(f"summaries: {tests[0]:,} and {tests[1]:,} tests, {size / 1e6:.1f} MB of JSON")
    print(f"loader: {name}; best of {args.repeat}")
    print(f"orjson.loads of both (reference)  {reference:7.3f} s")
    print(f"load both into models             {loading:7.3f} s  ({loading / reference:.1f}x)")
    print(f"triage diff                       {diffing:7.3f} s")
    print(f"load + diff                       {total:7.3f} s  ({total / reference:.1f}x)")
    s = result.summary
    print(
        f"diff: {result.status.value}, {s.regression_count} regressions, "
        f"{s.new_failure_count} new failures, {s.fixed_count} fixed, "
        f"{len(result.ranked_diagnostics):,} ranked entries"
    )
    verdict = "meets" if total < TARGET_SECONDS else "MISSES"
    print(f"load + diff {total:.3f} s {verdict} the target < {TARGET_SECONDS} s")
    return 0 if total < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
