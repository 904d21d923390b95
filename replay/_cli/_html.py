"""`replay report SUMMARY`: write the HTML report (`report.html`) of any summary.

A run writes its own report; this writes one for a summary that has none, or
anew: a merged summary of shards, a pi summary, one from an older replay. The
page is built by `replay._core.html_report` from the summary, the digests and
logs beside it (`replay._inputs.evidence`) and, when the summary's directory
has one, its `events.jsonl`; every text is redacted as `replay show` does.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from replay._cli._text import add_subcommand
from replay._model.names import EVENTS_NAME, REPORT_NAME, SUMMARY_NAME


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `replay report` to the CLI."""
    parser = add_subcommand(
        subparsers,
        "report",
        _handle,
        description=(
            "Write one self-contained HTML page (no network) for a summary: the verdict, "
            "totals, a timeline of attempts across parallel slots, each failure with its "
            "first failing assertion, a log excerpt and the replay command, the flaky "
            "targets, and which run of the chain decided each target."
        ),
    )
    parser.add_argument("summary", type=Path, metavar="SUMMARY", help=f"a {SUMMARY_NAME}")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help=f"where to write the page (default: {REPORT_NAME} beside the summary)",
    )


def _handle(args: argparse.Namespace) -> int:
    from replay._core.html_report import render_report
    from replay._core.summary import summary_redactor
    from replay._exec.postprocess import redacted_summary
    from replay._inputs.evidence import failure_evidence, read_events
    from replay._inputs.readers import load_summary
    from replay._store.rundir import write_bytes_atomic

    path: Path = args.summary
    summary = load_summary(path)
    base_dir = Path(os.path.abspath(path)).parent
    redactor = summary_redactor(summary)
    shown = redacted_summary(summary, redactor)
    events = redactor.data(read_events(base_dir / EVENTS_NAME))
    page = render_report(
        shown,
        summary_path=str(path),
        evidence=failure_evidence(shown, base_dir, redactor.text),
        events=events,
    )
    out: Path = args.out if args.out is not None else path.parent / REPORT_NAME
    write_bytes_atomic(out, page.encode("utf-8", "replace"))
    print(f"replay: report written to {out}", file=sys.stderr)
    return 0
