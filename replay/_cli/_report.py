"""The end of a run: the table of failures, the replay command, GitHub output, the exit code.

Everything printed goes through the run's redactor (`finish` builds it once from the
summary's job envs and replay's own environment) and is made printable.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import orjson

from replay._artifacts import display_path
from replay._cli._text import printable
from replay._models import TargetStatus
from replay._redact import Redactor
from replay._results import describe_end
from replay._run import RunResult
from replay._summary import summary_redactor


def report(result: RunResult, *, verbosity: int = 0, redactor: Redactor | None = None) -> None:
    """The end of a run on stderr: totals, a table of failures, the replay command."""
    summary = result.summary
    redactor = summary_redactor(summary) if redactor is None else redactor

    def safe(text: str) -> str:
        return printable(redactor.text(text))

    counts: dict[str, int] = {}
    for target in summary.targets:
        counts[target.status.value] = counts.get(target.status.value, 0) + 1
    executed = [t for t in summary.targets if t.decided_by == summary.run_id]
    carried = len(summary.targets) - len(executed)
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    unfinished = sum(1 for t in summary.targets if t.outstanding and t.status.ok)
    if unfinished:
        # Passed what ran, but the chain cannot call them green (tests unrun or gone).
        parts += f"; {unfinished} of them outstanding with tests unrun"
    err = sys.stderr
    print(
        f"\nreplay: {summary.status.value}: {parts or 'no targets'}"
        + (f" ({carried} carried from earlier runs)" if carried else ""),
        file=err,
    )
    # Outstanding, not merely failed: a suite that passed what it ran but left tests unrun
    # (a gone test id, a binary that did not run) is listed with the reason.
    failing = [
        t
        for t in executed
        if (t.outstanding and not t.quarantined) or t.status is TargetStatus.FLAKY
    ]
    spared = [t for t in executed if t.quarantined and t.outstanding]
    if failing and verbosity >= -1:
        width = max(len(safe(t.name)) for t in failing)
        for target in failing:
            log = safe(f"{display_path(result.run_dir)}/{target.log}") if target.log else "-"
            why = safe(describe_end(target))
            tag = f" · {target.root_cause}" if target.root_cause else ""
            tag += " [quarantined]" if target.quarantined else ""
            print(
                f"  {target.status.value:9} {safe(target.name):{width}}  {why}{tag}\n"
                f"  {'':9} {'':{width}}  log: {log}",
                file=err,
            )
            if target.retry_refused:
                refused = safe(target.retry_refused)
                print(f"  {'':9} {'':{width}}  no retry: {refused}", file=err)
    if spared:
        print("quarantined, not failing the run:", file=err)
        for target in spared:
            why = safe(describe_end(target))
            print(f"  {target.status.value:9} {safe(target.name)}  {why}", file=err)
    print(f"summary: {display_path(result.summary_path)}", file=err)
    if summary.outstanding:
        print(
            f"replay what is outstanding with:\n  {safe(summary.one_command_replay or '')}",
            file=err,
        )


def _github_output(result: RunResult, redactor: Redactor) -> None:
    """`::error` lines on stdout and a Markdown block in `$GITHUB_STEP_SUMMARY`."""
    from replay._artifacts import inside
    from replay._convert import parse_json
    from replay._errors import InputError
    from replay._github import annotation_lines, step_summary

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
    for problem in result.summary.policy_failures:
        print(f"replay: quarantine: {printable(redactor.text(problem))}", file=sys.stderr)
    if result.summary.policy_failures:
        print("replay: failing the run: renew or remove the entries above", file=sys.stderr)
    # The exit code is the summary's: nothing decides it again after it is on disk.
    return result.exit_code
