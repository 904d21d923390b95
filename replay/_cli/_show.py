"""`replay show SUMMARY`: what is outstanding, why, and the command that replays it.

The report is computed by pure functions (`show_rows`, `show_report`,
`format_report`) so that tests and other tools get the same rows the operator
reads; only `_handle` touches the file system and prints.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

import attrs

from replay._cli._text import add_subcommand, printable
from replay._core.chain import failed_tests, replay_command
from replay._core.redact import redact_argv, redact_text
from replay._core.results import describe_end
from replay._inputs.readers import load_summary
from replay._model.convert import dumps
from replay._model.models import RunStatus, Summary, TargetResult, TargetStatus
from replay._model.names import SUMMARY_NAME

MAX_TEXT_TESTS = 20
"""Failed tests listed per target in the text report; `--json` lists them all."""


@attrs.frozen
class ShowRow:
    """One outstanding target as the report shows it."""

    name: str
    kind: str
    """The suite's kind from the config (default `suite`; `unit` and `vcr` count as units)."""
    status: TargetStatus
    why: str
    """Exit code, signal, timeout or start error, in words."""
    command: str
    """`shlex.join(argv)`: safe to paste into a shell (secret-looking arguments redacted)."""
    argv: tuple[str, ...]
    cwd: str | None
    """The directory the command ran in, as the summary records it (None: not recorded)."""
    decided_by: str
    """The run id of the run that last executed the target; the text names it when it is not
    the summary's own run (a rerun carried the target over)."""
    failed_tests: tuple[str, ...] = ()
    """The tests failing in the chain, in first-seen order (the text lists `MAX_TEXT_TESTS`)."""
    log: str | None = None
    """Absolute path of the output log, only when it lies inside the summary's directory."""
    root_cause: str | None = None
    """The root-cause class of the failure digest, when the run wrote one."""
    digest: str | None = None
    """Absolute path of the failure digest, with the same rule as `log`."""


@attrs.frozen
class ShowTotals:
    """How many targets the summary holds and where they stand in the chain."""

    total: int
    passing: int
    """Targets the chain owes nothing: passed here or in an earlier run of it."""
    outstanding: int
    """Targets still owed a passing run: one row each."""


@attrs.frozen
class ShowReport:
    """Everything `replay show` prints, as one document."""

    path: str
    """The summary as named on the command line."""
    run_id: str
    status: RunStatus
    outstanding: tuple[ShowRow, ...]
    totals: ShowTotals
    one_command_replay: str
    """The one command that reruns every outstanding target (secret-looking text redacted)."""


def why(target: TargetResult) -> str:
    """Why the target is not passing, in the words an operator searches a log for."""
    return describe_end(target)


def show_rows(summary: Summary, base_dir: Path) -> tuple[ShowRow, ...]:
    """One row per outstanding target of `summary`.

    `summary` comes from `load_summary`, which already dropped every artifact
    path that leads out of the summary's directory; `base_dir` (that
    directory, absolute) turns the remaining relative paths into absolute ones.
    Secret-looking arguments (`--token=...`) are redacted: this is for display.
    """
    return tuple(
        ShowRow(
            name=target.name,
            kind=target.kind,
            status=target.status,
            why=redact_text(why(target)),
            command=shlex.join(redact_argv(target.argv)),
            argv=redact_argv(target.argv),
            cwd=target.cwd,
            decided_by=target.decided_by,
            failed_tests=failed_tests(target),
            log=_inside(base_dir, target.log),
            root_cause=target.root_cause,
            digest=_inside(base_dir, target.digest),
        )
        for target in summary.outstanding
    )


def replay_line(row: ShowRow, here: Path) -> str:
    """The row's command as one line to paste: `cd DIR && CMD` unless DIR is `here`.

    DIR is shell-quoted, and relative to `here` when it lies inside it.
    """
    if row.cwd is None:
        return row.command
    directory = Path(row.cwd)
    if directory.is_absolute():
        if directory == here:
            return row.command
        if here in directory.parents:
            directory = directory.relative_to(here)
    return f"cd {shlex.quote(str(directory))} && {row.command}"


def show_report(summary: Summary, *, summary_path: str, base_dir: Path) -> ShowReport:
    """The whole report: the outstanding rows, totals and the one command that reruns them."""
    outstanding = show_rows(summary, base_dir)
    replay = summary.one_command_replay or replay_command(summary_path, summary.config)
    return ShowReport(
        path=summary_path,
        run_id=summary.run_id,
        status=summary.status,
        outstanding=outstanding,
        totals=ShowTotals(
            total=len(summary.targets),
            passing=len(summary.targets) - len(outstanding),
            outstanding=len(outstanding),
        ),
        one_command_replay=redact_text(replay),
    )


def format_report(report: ShowReport, here: Path) -> str:
    """The human form of the report, printed in directory `here`; every text is made printable."""
    totals = report.totals
    lines = [
        f"{printable(report.path)}: run {printable(report.run_id)} {report.status.value}, "
        f"{totals.outstanding} of {totals.total} targets outstanding",
    ]
    for row in report.outstanding:
        lines += ["", f"{printable(row.name)} ({printable(row.kind)}): {row.status.value}"]
        fields = [("why", row.why)]
        if row.decided_by != report.run_id:
            fields.append(("run", row.decided_by))
        if row.failed_tests:
            shown = ", ".join(row.failed_tests[:MAX_TEXT_TESTS])
            more = len(row.failed_tests) - MAX_TEXT_TESTS
            fields.append(("failed", shown + (f", and {more} more" if more > 0 else "")))
        if row.root_cause is not None:
            fields.append(("cause", row.root_cause))
        if row.digest is not None:
            fields.append(("digest", row.digest))
        fields.append(("log", row.log if row.log is not None else "(none inside the run)"))
        fields.append(("replay", replay_line(row, here)))
        lines += [f"  {label + ':':<8}{printable(value)}" for label, value in fields]
    lines += [
        "",
        f"totals: {totals.total} targets, {totals.passing} passing, "
        f"{totals.outstanding} outstanding",
    ]
    if report.outstanding:
        lines.append(f"replay all: {printable(report.one_command_replay)}")
    return "\n".join(lines) + "\n"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `replay show` to the CLI."""
    parser = add_subcommand(
        subparsers,
        "show",
        _handle,
        description=(
            "Report the outstanding targets of a summary (replay's, pi.e2e.summary.v1 or pi's "
            "legacy ones): why each failed, its failed tests, its log and its replay command. "
            "Exits 0 if nothing is outstanding, 1 otherwise."
        ),
    )
    parser.add_argument("summary", type=Path, metavar="SUMMARY", help=f"a {SUMMARY_NAME}")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON document")


def _handle(args: argparse.Namespace) -> int:
    path: Path = args.summary
    summary = load_summary(path)
    base_dir = Path(os.path.abspath(path)).parent
    report = show_report(summary, summary_path=str(path), base_dir=base_dir)
    text = dumps(report).decode() if args.json else format_report(report, Path.cwd())
    sys.stdout.write(text)
    return 1 if report.outstanding else 0


def _inside(base_dir: Path, rel: str | None) -> str | None:
    return None if rel is None else str(base_dir / rel)
