"""`replay verify RUN_DIR`: check a run's evidence and write its `index.json`."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from replay._cli._text import add_subcommand
from replay._inputs.verify import verify_run
from replay._model.convert import unstructure
from replay._model.names import INDEX_NAME, SUMMARY_NAME


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `verify` subcommand."""
    parser = add_subcommand(
        subparsers,
        "verify",
        handle,
        description=(
            f"Check every file a run's {SUMMARY_NAME} names (and the run's well-known files): "
            "present, inside the run directory, well-formed for its schema. Writes "
            f"{INDEX_NAME} with sizes and sha256; exit 1 with the list of problems."
        ),
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a replay run directory")
    parser.add_argument("--json", action="store_true", help="print the index as JSON")


def handle(args: argparse.Namespace) -> int:
    """Verify the run directory; 0 when everything checks out, 1 with the problems."""
    report = verify_run(args.run_dir)
    if args.json:
        print(orjson.dumps(unstructure(report), option=orjson.OPT_INDENT_2).decode())
    elif report.ok:
        print(f"{args.run_dir}: ok, {len(report.files)} file(s) indexed in {INDEX_NAME}")
    else:
        print(f"{args.run_dir}: {len(report.problems)} problem(s):")
        for problem in report.problems:
            print(f"  - {problem}")
        print(f"{len(report.files)} file(s) indexed in {args.run_dir / INDEX_NAME}")
    return 0 if report.ok else 1
