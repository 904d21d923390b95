"""`replay gates VERDICT`: the failing gates of a full-suite verdict and how to replay them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from replay._cli._text import add_subcommand, printable, safe
from replay._core.gates import GateFinding, failing_gates, gate_jobs
from replay._core.redact import redact_text
from replay._inputs.readers import load_verdict
from replay._model.convert import unstructure
from replay._store.rundir import to_json_bytes


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `gates` subcommand (with the execution options `--run` uses)."""
    from replay._cli._options import add_execution_options

    parser = add_subcommand(
        subparsers,
        "gates",
        handle,
        description=(
            "List the gates of an upstream full_suite_verdict.json that fail the verdict "
            "(status fail, or a blocking gate not at pass), with the command that "
            "reproduces each. Exit 1 when a blocking gate fails. Commands are split "
            "with shlex and never given to a shell."
        ),
    )
    parser.add_argument("verdict", type=Path, metavar="VERDICT", help="full_suite_verdict.json")
    parser.add_argument(
        "--include-warn", action="store_true", help="also list non-blocking gates at warn"
    )
    parser.add_argument("--run", action="store_true", help="replay the replayable gates as a plan")
    # --json (findings as JSON) and --dry-run (jobs as JSON, nothing run) come from here.
    add_execution_options(parser)


def _table(findings: tuple[GateFinding, ...]) -> list[str]:
    """The findings as aligned rows; every cell is data from the verdict, made safe to print."""
    rows = [("ID", "NAME", "BLOCKING", "STATUS", "COMMAND")]
    for f in findings:
        command = f.command or f"not replayable: {f.reason}"
        rows.append(
            (safe(f.id), safe(f.name), "yes" if f.blocking else "no", f.status.value, safe(command))
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[4]])
        for row in rows
    ]


def handle(args: argparse.Namespace) -> int:
    """List the failing gates; with `--run` replay them, with `--dry-run` print their jobs."""
    verdict = load_verdict(args.verdict)
    findings = failing_gates(verdict, include_warn=args.include_warn)
    blocked = any(f.blocks for f in findings)
    jobs = gate_jobs(findings)

    if args.dry_run:
        # The jobs exactly as they would run (like `replay run --dry-run`, not redacted).
        sys.stdout.write(to_json_bytes(jobs).decode())
        return 0
    if args.json:
        document = {
            "verdict": verdict.verdict,
            "blocking_failed": blocked,
            "findings": unstructure(findings),
        }
        print(redact_text(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()))
    elif findings:
        print("\n".join(_table(findings)))
    else:
        print(f"{printable(str(args.verdict))}: no failing gates ({len(verdict.gates)} gates)")
    if not args.run:
        return 1 if blocked else 0

    if not jobs:
        print("nothing to replay: no failing gate has a replayable command", file=sys.stderr)
        return 1 if blocked else 0
    print(f"replaying {len(jobs)} gate(s):", file=sys.stderr)
    for finding in findings:
        if finding.command is not None:
            print(f"  {safe(finding.id)}: {safe(finding.command)}", file=sys.stderr)
    # The lead's executor glue; imported here so that listing gates never loads it.
    from replay._cli._run import (
        run_gate_jobs,
    )

    code: int = run_gate_jobs(jobs, args)
    return code
