"""`replay gates VERDICT`: failing gates of a full-suite verdict and the commands that replay them."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from replay._convert import unstructure
from replay._gates import GateFinding, failing_gates, gate_jobs, load_verdict

_JSON = orjson.OPT_INDENT_2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `gates` subcommand."""
    parser = subparsers.add_parser(
        "gates",
        help="list (and replay) the failing gates of a full_suite_verdict.json",
        description=(
            "List the gates of an upstream full_suite_verdict.json that fail the verdict "
            "(status fail, or a blocking gate not at pass), with the command that "
            "reproduces each. Exit 1 when a blocking gate fails."
        ),
    )
    parser.add_argument("verdict", type=Path, metavar="VERDICT", help="full_suite_verdict.json")
    parser.add_argument(
        "--include-warn", action="store_true", help="also list non-blocking gates at warn"
    )
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument("--run", action="store_true", help="replay the replayable gates as a plan")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the jobs as JSON and run nothing"
    )
    parser.set_defaults(handler=handle)


def _table(findings: tuple[GateFinding, ...]) -> list[str]:
    rows = [("ID", "NAME", "BLOCKING", "STATUS", "COMMAND")]
    for f in findings:
        command = f.command or f"not replayable: {f.reason}"
        rows.append((f.id, f.name, "yes" if f.blocking else "no", f.status.value, command))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[4]]).rstrip()
        for row in rows
    ]


def handle(args: argparse.Namespace) -> int:
    """List the failing gates; with `--run` replay them, with `--dry-run` print their jobs."""
    verdict = load_verdict(args.verdict)
    findings = failing_gates(verdict, include_warn=args.include_warn)
    blocked = any(f.blocks for f in findings)
    jobs = gate_jobs(findings)

    if args.dry_run:
        print(orjson.dumps(unstructure(jobs), option=_JSON).decode())
        return 0
    if args.json:
        document = {
            "verdict": verdict.verdict,
            "blocking_failed": blocked,
            "findings": unstructure(findings),
        }
        print(orjson.dumps(document, option=_JSON).decode())
    elif findings:
        print("\n".join(_table(findings)))
    else:
        print(f"{args.verdict}: no failing gates ({len(verdict.gates)} gates)")
    if not args.run:
        return 1 if blocked else 0

    if not jobs:
        print("nothing to replay: no failing gate has a replayable command")
        return 1 if blocked else 0
    print(f"replaying {len(jobs)} gate(s):")
    for finding in findings:
        if finding.command is not None:
            print(f"  {finding.id}: {finding.command}")
    # The executor is the lead's module; imported here so listing gates never loads it.
    from replay._cli._run import run_gate_jobs  # type: ignore[import-not-found,unused-ignore]

    code: int = run_gate_jobs(jobs, args)
    return code
