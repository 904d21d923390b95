"""`replay run --stress N` / `--stress-duration D`: run the selection many times, judge each target.

The plan is the selection repeated round by round (`stress_plan`); each target
gets the verdict `replay flake` gives (`replay._core.flakes.verdict`), written to
`stress_report.json` in the run directory and printed one line a target.

`--stress-duration` without `--stress N` plans `STRESS_DURATION_RUNS` runs a
target and lets time end the loop: the runs it never started are left out of
the summary (`RunOptions.drop_unstarted`), so the summary, its digests, the
page and the verdicts hold only the runs made.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from replay._cli._options import duration_arg, positive_int
from replay._cli._text import printable
from replay._core.planning import STRESS_DURATION_RUNS, stress_plan, stressed_target
from replay._exec.run import RunResult
from replay._model.config import Config
from replay._model.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from replay._model.models import Plan
from replay._model.outcomes import JobOutcome
from replay._store.rundir import display_path, write_json_atomic

if TYPE_CHECKING:
    from replay._core.flakes import FlakeRun

STRESS_REPORT_NAME = "stress_report.json"
"""The per-target verdicts of a stress run, beside its summary."""


def add_stress_options(parser: argparse.ArgumentParser) -> None:
    """`--stress N` and `--stress-duration D` on `replay run`."""
    group = parser.add_argument_group("stress")
    group.add_argument(
        "--stress",
        type=positive_int,
        metavar="N",
        help="run the selected suites N times (in parallel where allowed), "
        "with a verdict per target as `replay flake` gives",
    )
    group.add_argument(
        "--stress-duration",
        type=duration_arg,
        metavar="DURATION",
        help=f"stress for this long (e.g. 10m): new runs stop starting then "
        f"(at most N, else {STRESS_DURATION_RUNS}, runs a target)",
    )


def stress_verdicts(outcomes: Sequence[JobOutcome]) -> dict[str, list[FlakeRun]]:
    """Target -> its finished runs, in run order (interrupted or never started runs are not)."""
    # Lazy: `replay run` registers these options on every start; flakes are for --stress.
    from replay._core.flakes import FlakeRun

    runs: dict[str, list[FlakeRun]] = {}
    for outcome in outcomes:
        target, number = stressed_target(outcome.job.target)
        runs.setdefault(target, [])  # a target none of whose runs started is still reported
        if outcome.finished:
            last = outcome.attempts[-1]
            runs[target].append(
                FlakeRun(
                    number=number,
                    passed=outcome.status.ok,
                    log=last.log,
                    duration=last.duration,
                )
            )
    return runs


def stress_document(runs: dict[str, list[FlakeRun]], planned: int | None) -> dict[str, Any]:
    """`stress_report.json`: each target's runs and verdict (`planned` None: a duration)."""
    from replay._core.flakes import MIN_RUNS, verdict

    targets = []
    for target, target_runs in runs.items():
        judged = verdict(target_runs, min_runs=MIN_RUNS)
        targets.append(
            {
                "target": target,
                "verdict": judged.verdict.value,
                "reason": judged.reason,
                "runs": judged.runs,
                "passed": judged.passed,
                "failed": judged.failed,
                "pass_rate": judged.pass_rate,
                "interval": list(judged.interval),
                "failed_logs": [r.log for r in target_runs if not r.passed and r.log],
            }
        )
    return {"schema": "replay.stress_report.v1", "planned_runs": planned, "targets": targets}


def run_stress(
    plan: Plan,
    args: argparse.Namespace,
    config: Config,
    execute: Any,
) -> int:
    """Run the stress loop of `plan`; 0 when no run failed, 1 when one did, 130 interrupted."""
    times = args.stress or STRESS_DURATION_RUNS
    stressed = stress_plan(plan, times)
    stop_after = args.stress_duration
    # A count owes every run (an interrupted one shows what was left); once a duration ends
    # the loop, the runs it never reached were never owed.
    result: RunResult = execute(
        stressed, args, config, stop_after=stop_after, drop_unstarted=stop_after is not None
    )
    document = stress_document(stress_verdicts(result.outcomes), args.stress)
    write_json_atomic(result.run_dir / STRESS_REPORT_NAME, document)
    for item in document["targets"]:
        print(
            f"replay: stress: {printable(item['target'])}: {item['verdict']} "
            f"({item['passed']} of {item['runs']} runs passed) - {item['reason']}",
            file=sys.stderr,
        )
    where = f"{display_path(result.run_dir)}/{STRESS_REPORT_NAME}"
    print(f"replay: stress report: {where}", file=sys.stderr)
    if result.exit_code == EXIT_INTERRUPTED:
        return EXIT_INTERRUPTED
    # Any failed run fails the stress run: flaky and failing targets alike (nextest's too).
    failed = any(item["failed"] for item in document["targets"])
    return EXIT_FAILED if failed else EXIT_OK
