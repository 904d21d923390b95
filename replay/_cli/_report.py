"""The end of a run: the table of failures, the replay command, GitHub output, the exit code.

Everything printed goes through the run's redactor (`finish` builds it once from the
summary's job envs and replay's own environment) and is made printable. The report is
built as rows first (`run_report`, pure), turned into lines (`report_lines`), then printed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

import attrs
import orjson

from replay._cli._text import printable
from replay._core.redact import Redactor
from replay._core.results import describe_end
from replay._core.summary import summary_redactor
from replay._exec.run import RunResult
from replay._model.models import Summary, TargetResult, TargetStatus
from replay._store.rundir import display_path


@attrs.frozen
class FailingRow:
    """One line pair of the table of failures; every text redacted and printable."""

    status: str
    name: str
    why: str
    """Why the target ended (`describe_end`)."""
    tag: str
    """` · root cause` and ` [quarantined]`, or ""."""
    log: str
    """The log's path from the cwd, or "-"."""
    no_retry: str | None
    """Why a retry was refused, when it was."""


@attrs.frozen
class SparedRow:
    """A quarantined target that is outstanding but does not fail the run."""

    status: str
    name: str
    why: str


@attrs.frozen
class RunReport:
    """The end of a run as rows, before any printing."""

    headline: str
    """`replay: STATUS: counts` with the outstanding-but-passed and carried notes."""
    failing: tuple[FailingRow, ...]
    spared: tuple[SparedRow, ...]
    summary_path: str
    replay_command: str | None
    """The one command that replays what is outstanding; None when nothing is."""
    marked: tuple[str, ...] = ()
    """SLOW and LEAK lines: targets that ran past their slow period or leaked processes."""


def _marked(targets: list[TargetResult], safe: Callable[[str], str]) -> tuple[str, ...]:
    """One `SLOW`/`LEAK` line per target an attempt of which was slow or leaky (nextest's)."""
    lines = []
    for target in targets:
        if any(a.slow for a in target.attempts):
            lines.append(f"  {'SLOW':9} {safe(target.name)}  {target.duration:.2f}s")
        if any(a.leaked for a in target.attempts):
            verdict = "LEAK-FAIL" if any(a.failed_by for a in target.attempts) else "LEAK"
            lines.append(f"  {verdict:9} {safe(target.name)}  left processes running; stopped")
    return tuple(lines)


def _headline(summary: Summary, executed: int) -> str:
    counts: dict[str, int] = {}
    for target in summary.targets:
        counts[target.status.value] = counts.get(target.status.value, 0) + 1
    carried = len(summary.targets) - executed
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    unfinished = sum(1 for t in summary.targets if t.outstanding and t.status.ok)
    if unfinished:
        # Passed what ran, but the chain cannot call them green (tests unrun or gone).
        parts += f"; {unfinished} of them outstanding with tests unrun"
    carried_note = f" ({carried} carried from earlier runs)" if carried else ""
    return f"replay: {summary.status.value}: {parts or 'no targets'}{carried_note}"


def _failing_row(target: TargetResult, run_dir: str, safe: Callable[[str], str]) -> FailingRow:
    tag = f" · {target.root_cause}" if target.root_cause else ""
    tag += " [quarantined]" if target.quarantined else ""
    return FailingRow(
        status=target.status.value,
        name=safe(target.name),
        why=safe(describe_end(target)),
        tag=tag,
        log=safe(f"{run_dir}/{target.log}") if target.log else "-",
        no_retry=safe(target.retry_refused) if target.retry_refused else None,
    )


def run_report(result: RunResult, redactor: Redactor) -> RunReport:
    """The rows of the end-of-run report: pure, nothing printed."""
    summary = result.summary

    def safe(text: str) -> str:
        return printable(redactor.text(text))

    executed = [t for t in summary.targets if t.decided_by == summary.run_id]
    # Outstanding, not merely failed: a suite that passed what it ran but left tests unrun
    # (a gone test id, a binary that did not run) is listed with the reason.
    failing = [
        t
        for t in executed
        if (t.outstanding and not t.quarantined) or t.status is TargetStatus.FLAKY
    ]
    run_dir = display_path(result.run_dir)
    return RunReport(
        headline=_headline(summary, len(executed)),
        failing=tuple(_failing_row(t, run_dir, safe) for t in failing),
        spared=tuple(
            SparedRow(status=t.status.value, name=safe(t.name), why=safe(describe_end(t)))
            for t in executed
            if t.quarantined and t.outstanding
        ),
        summary_path=display_path(result.summary_path),
        replay_command=safe(summary.one_command_replay or "") if summary.outstanding else None,
        marked=_marked(executed, safe),
    )


def report_lines(rows: RunReport, verbosity: int = 0) -> tuple[str, ...]:
    """The report's lines as `report` prints them; the table of failures unless `-qq`."""
    lines = ["", rows.headline]
    if rows.failing and verbosity >= -1:
        width = max(len(row.name) for row in rows.failing)
        for row in rows.failing:
            lines.append(f"  {row.status:9} {row.name:{width}}  {row.why}{row.tag}")
            lines.append(f"  {'':9} {'':{width}}  log: {row.log}")
            if row.no_retry is not None:
                lines.append(f"  {'':9} {'':{width}}  no retry: {row.no_retry}")
    if rows.marked and verbosity >= -1:
        lines += rows.marked
    if rows.spared:
        lines.append("quarantined, not failing the run:")
        lines += (f"  {row.status:9} {row.name}  {row.why}" for row in rows.spared)
    lines.append(f"summary: {rows.summary_path}")
    if rows.replay_command is not None:
        lines += ("replay what is outstanding with:", f"  {rows.replay_command}")
    return tuple(lines)


def policy_lines(summary: Summary, redactor: Redactor) -> tuple[str, ...]:
    """The quarantine policy failures that fail the run, and what to do about them."""
    lines = [f"replay: quarantine: {printable(redactor.text(p))}" for p in summary.policy_failures]
    if summary.policy_failures:
        lines.append("replay: failing the run: renew or remove the entries above")
    return tuple(lines)


def report(result: RunResult, *, verbosity: int = 0, redactor: Redactor | None = None) -> None:
    """The end of a run on stderr: totals, a table of failures, the replay command."""
    redactor = summary_redactor(result.summary) if redactor is None else redactor
    for line in report_lines(run_report(result, redactor), verbosity):
        print(line, file=sys.stderr)


def _github_output(result: RunResult, redactor: Redactor) -> None:
    """`::error` lines on stdout and a Markdown block in `$GITHUB_STEP_SUMMARY`."""
    from replay._core.github import annotation_lines, step_summary
    from replay._model.convert import parse_json
    from replay._model.errors import InputError
    from replay._store.rundir import inside

    summary = result.summary
    digests: dict[str, dict[str, Any]] = {}
    for target in summary.outstanding:
        path = inside(result.run_dir, target.digest) if target.digest else None
        if path is None or not path.is_file():
            continue
        try:
            document = parse_json(path.read_bytes(), source=str(path))
        except (OSError, InputError):
            continue
        if isinstance(document, dict):
            digests[target.name] = document
    reasons = {t.name: describe_end(t) for t in summary.outstanding}
    for line in annotation_lines(summary, digests, reasons, redactor):
        print(line)
    step_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_file:
        try:
            with open(step_file, "a", encoding="utf-8") as handle:
                run_dir = display_path(result.run_dir)
                handle.write(step_summary(summary, reasons, run_dir, redactor))
        except OSError as exc:
            print(f"replay: cannot append to GITHUB_STEP_SUMMARY ({exc.strerror})", file=sys.stderr)


def finish(result: RunResult, args: argparse.Namespace, redactor: Redactor | None = None) -> int:
    """Report the run; the exit code is a function of the written summary alone.

    Without the run's `redactor`: the summary's job envs and replay's own environment.
    """
    redactor = summary_redactor(result.summary) if redactor is None else redactor
    if args.json:
        finished = {
            "event": "run_finished",
            "status": result.summary.status.value,
            "summary": str(result.summary_path),
            "one_command_replay": result.summary.one_command_replay,
            "exit_code": result.exit_code,
        }
        sys.stdout.write(orjson.dumps(redactor.data(finished)).decode() + "\n")
    else:
        report(result, verbosity=args.verbose - args.quiet, redactor=redactor)
    github = args.github if args.github is not None else os.environ.get("GITHUB_ACTIONS") == "true"
    if github:
        _github_output(result, redactor)
    for line in policy_lines(result.summary, redactor):
        print(line, file=sys.stderr)
    # The exit code is the summary's: nothing decides it again after it is on disk.
    return result.exit_code
