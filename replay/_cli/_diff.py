"""`replay diff BASELINE CURRENT`: the triage diff of two summaries, nothing executed.

Writes `triage_diff.json` into `--out` (default: the current directory) and
prints the ranked changes. Exit 1 when the status is `regression` (a new
problem to look at), 0 for `stable` and `known_failures_only`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from replay._cli._options import whole_number_arg
from replay._cli._text import add_subcommand, printable
from replay._core.diff import DiffStatus, TriageClass, TriageDiff, triage_diff
from replay._core.redact import redact_text
from replay._inputs.readers import load_summary
from replay._model.clock import now_iso
from replay._model.convert import dumps
from replay._model.names import TRIAGE_NAME
from replay._store.rundir import write_json_atomic

DEFAULT_TOP = 20
"""Ranked entries the text report lists; the file holds them all."""

_count = whole_number_arg(0, 999_999_999)
"""`--top`: a whole number of at least 0."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `replay diff` to the CLI."""
    parser = add_subcommand(
        subparsers,
        "diff",
        _handle,
        description=(
            "Compare CURRENT with BASELINE (replay's summaries, pi.e2e.summary.v1 or pi's legacy "
            "ones) per target and per test, rank the changes as upstream's triage did, and write "
            f"{TRIAGE_NAME}. Exits 1 if anything regressed or newly fails, 0 otherwise."
        ),
    )
    parser.add_argument("baseline", type=Path, metavar="BASELINE", help="the reference summary")
    parser.add_argument("current", type=Path, metavar="CURRENT", help="the summary to triage")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(),
        metavar="DIR",
        help=f"directory to write {TRIAGE_NAME} into (default: the current directory)",
    )
    parser.add_argument("--json", action="store_true", help="print the whole diff as JSON")
    parser.add_argument(
        "--top",
        type=_count,
        default=DEFAULT_TOP,
        metavar="N",
        help=f"ranked entries to print (default: {DEFAULT_TOP})",
    )


def _handle(args: argparse.Namespace) -> int:
    baseline = load_summary(args.baseline)
    current = load_summary(args.current)
    now = now_iso()
    diff = triage_diff(
        baseline,
        current,
        baseline_path=str(args.baseline),
        current_path=str(args.current),
        generated_at=now,
    )
    path = args.out / TRIAGE_NAME
    write_json_atomic(path, diff)
    if args.json:
        sys.stdout.write(redact_text(dumps(diff).decode()))
    else:
        sys.stdout.write(format_diff(diff, top=args.top, written=str(path)))
    return 1 if diff.status is DiffStatus.REGRESSION else 0


def format_diff(diff: TriageDiff, *, top: int, written: str) -> str:
    """The text report: status, counts, the top ranked changes, what to run next."""
    s = diff.summary
    lines = [
        f"triage: {diff.status.value} ({printable(diff.baseline_run_id)} -> "
        f"{printable(diff.current_run_id)})",
        f"  regressions {s.regression_count}, new failures {s.new_failure_count}, "
        f"unresolved {s.unresolved_failure_count}, fixed {s.fixed_count}, "
        f"removed {s.removed_count}, added {s.added_pass_count}, stable {s.stable_pass_count}",
    ]
    listed = [d for d in diff.ranked_diagnostics if d.severity is not TriageClass.STABLE_PASS]
    if listed and top:
        width = min(max(len(printable(d.name)) for d in listed[:top]), 60)
        lines.append("")
        lines.append(f"{'rank':>4}  {'severity':<18}  {'surface':<7}  {'name':<{width}}  command")
        for d in listed[:top]:
            lines.append(
                f"{d.rank:>4}  {d.severity.value:<18}  {d.surface.value:<7}  "
                f"{printable(d.name):<{width}}  {printable(redact_text(d.recommended_command))}"
            )
    if len(listed) > top:
        lines.append(f"  ... and {len(listed) - top} more in {written}")
    changed = [d for d in diff.semantic_diffs if d.changed]
    if changed:
        lines.append("")
        for sem in changed:
            what = [
                label
                for label, flag in (
                    ("root cause", sem.root_cause_changed),
                    ("impacted tests", sem.impacted_tests_changed),
                    ("first failing assertion", sem.first_failing_assertion_changed),
                )
                if flag
            ]
            lines.append(f"still failing, differently: {printable(sem.name)}: {', '.join(what)}")
    runner = diff.recommended_commands.runner_repro_command
    lines.append("")
    if runner:
        lines.append(f"rerun what fails: {printable(redact_text(runner))}")
    lines.append(f"wrote {written}")
    return "\n".join(lines) + "\n"
