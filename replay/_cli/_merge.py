"""`replay merge SUMMARY... --out DIR`: one summary from the summaries of N shards.

Says what it finds in the inputs. Exit 2, writing nothing, when they are not
the shards of one plan, each once (overlapping, duplicate or missing shards,
different totals, strategies or parent runs): the merged summary would not
describe the whole plan. Otherwise writes `DIR/summary.json` (and the bundle)
and exits 1 if anything is outstanding, 0 if not. A shard run twice by the CI
counts once, its newest run; the older one is named as superseded.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from replay._cli._text import add_subcommand, printable
from replay._core.bundle import bundle_document
from replay._core.merge import MergeResult, merge_summaries, rebase_paths
from replay._core.redact import redact_text
from replay._core.summary import summary_document
from replay._inputs.readers import load_summary
from replay._model.clock import iso, utc_now
from replay._model.convert import dumps
from replay._model.errors import ReplayError
from replay._model.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from replay._model.names import BUNDLE_NAME, SUMMARY_NAME, make_run_id
from replay._store.rundir import write_json_atomic


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `replay merge` to the CLI."""
    parser = add_subcommand(
        subparsers,
        "merge",
        _handle,
        description=(
            f"Merge the summaries of a plan's shards into DIR/{SUMMARY_NAME}, with one replay "
            "command for every shard's failures. Overlapping, duplicate or missing shards are "
            "reported and nothing is written (exit 2); otherwise exits 1 if anything is "
            "outstanding, 0 if not. Shards of a rerun may each carry the parent's passing "
            "targets (counted once); a shard given twice with different run ids (a CI job run "
            "again) counts its newest run. Put DIR above the shard run directories so the "
            "merged summary can point at their logs."
        ),
    )
    parser.add_argument("summaries", nargs="+", type=Path, metavar="SUMMARY")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")
    parser.add_argument("--json", action="store_true", help="print the merge report as JSON")


def refuse_own_inputs(out_dir: Path, sources: Sequence[Path]) -> None:
    """`ReplayError` if `out_dir` holds one of the input summaries: the merge would overwrite it.

    Compared as the file system sees them: the directory that holds each input's
    name and the directory its file really lies in (links followed). A hard link
    is safe: the merged summary replaces the name, never the file's content.
    """
    for source in sources:
        try:
            out = os.path.realpath(out_dir)
            holders = {
                os.path.realpath(os.path.dirname(os.path.abspath(source))),
                os.path.dirname(os.path.realpath(source)),
            }
        except (OSError, ValueError):
            continue  # a name no file can have: reading the inputs reports it
        if out in holders:
            msg = (
                f"merge: --out {out_dir} holds the input summary {source}, which the merged "
                f"summary would overwrite; merge into another directory (e.g. the shards' parent)"
            )
            raise ReplayError(msg)


def _handle(args: argparse.Namespace) -> int:
    out_dir: Path = args.out
    # Before anything is read or written: a merge must never destroy one of its inputs.
    refuse_own_inputs(out_dir, args.summaries)
    target_dir = os.path.abspath(out_dir)
    loaded = []
    for path in args.summaries:
        summary = load_summary(path)
        from_dir = os.path.dirname(os.path.abspath(path))
        loaded.append((str(path), rebase_paths(summary, from_dir, target_dir)))
    now = utc_now()
    summary_path = out_dir / SUMMARY_NAME
    result = merge_summaries(
        loaded,
        run_id=make_run_id(now),
        now=iso(now),
        summary_path=str(summary_path),
    )
    if result.consistent:
        write_merged(out_dir, result, str(summary_path))
    if args.json:
        sys.stdout.write(redact_text(dumps(_report(result, str(summary_path))).decode()))
    else:
        sys.stdout.write(format_merge(result, str(summary_path)))
    if not result.consistent:
        return EXIT_USAGE  # inputs that are not the shards of one plan: bad input
    return EXIT_FAILED if result.summary.outstanding else EXIT_OK


def write_merged(out_dir: Path, result: MergeResult, summary_path: str) -> None:
    """Write the merged summary and its bundle into `out_dir` (the summary last)."""
    # The directory the user named, resolved if it is a link (the writer follows none).
    real_out = Path(os.path.realpath(out_dir))
    write_json_atomic(
        real_out / BUNDLE_NAME,
        bundle_document(
            result.summary,
            summary_path=summary_path,
            generated_at=result.summary.finished_at,
            environment={},
        ),
    )
    write_json_atomic(real_out / SUMMARY_NAME, summary_document(result.summary))


def _report(result: MergeResult, summary_path: str) -> dict[str, object]:
    return {
        "summary_path": summary_path,
        "run_id": result.summary.run_id,
        "status": result.summary.status.value,
        "consistent": result.consistent,
        "sources": result.sources,
        "targets": len(result.summary.targets),
        "outstanding": [t.name for t in result.summary.outstanding],
        "overlaps": result.overlaps,
        "missing_shards": result.missing_shards,
        "duplicate_shards": result.duplicate_shards,
        "mismatches": result.mismatches,
        "unsharded": result.unsharded,
        "superseded": result.superseded,
        "written": result.consistent,
        "one_command_replay": result.summary.one_command_replay,
    }


def format_merge(result: MergeResult, summary_path: str) -> str:
    """The text report of a merge: totals, problems with the inputs, the replay command."""
    merged = result.summary
    outstanding = len(merged.outstanding)
    counts = f"{len(merged.targets)} targets, {outstanding} outstanding ({merged.status.value})"
    if result.consistent:
        head = f"merged {len(result.sources)} summaries into {printable(summary_path)}: {counts}"
    else:
        head = f"refused to merge {len(result.sources)} summaries: {counts}"
    lines = [head]
    for overlap in result.overlaps:
        lines.append(
            f"overlap: {printable(overlap.name)} is in "
            + ", ".join(printable(s) for s in overlap.sources)
        )
    lines += [f"missing shard: {name}" for name in result.missing_shards]
    lines += [f"duplicate shard: {name}" for name in result.duplicate_shards]
    lines += [f"mismatch: {printable(m)}" for m in result.mismatches]
    lines += [
        f"note: {printable(s)} has no shard block; merged without completeness check"
        for s in result.unsharded
    ]
    lines += [
        f"superseded: {printable(s.source)} by {printable(s.by)} ({printable(s.shard)} "
        "ran again; newest wins)"
        for s in result.superseded
    ]
    if not result.consistent:
        lines.append(
            "the inputs are not the shards of one plan, each once: nothing written, exit 2"
        )
    if merged.one_command_replay:
        lines.append(f"replay all: {printable(redact_text(merged.one_command_replay))}")
    return "\n".join(lines) + "\n"
