"""`replay matrix --shards N [--from SUMMARY...] [--rerun-from MERGED]`: a CI matrix, balanced.

Prints one line of JSON, ready for `echo "matrix=$(replay matrix ...)" >>
"$GITHUB_OUTPUT"` and `strategy.matrix: ${{ fromJSON(...) }}`. Target names
and durations come from earlier summaries; reading them from a config is not
supported yet (without `--from` the entries carry no estimate). With
`--rerun-from MERGED` the matrix spreads only what MERGED leaves outstanding
(at most one shard per outstanding target), balanced by MERGED's durations;
each job runs `replay run --rerun-from MERGED --shard-index I --shard-total N`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from replay._cli._history import add_history_option
from replay._cli._options import add_config_option, shard_total_arg
from replay._cli._text import add_subcommand
from replay._core.matrix import github_matrix, rerun_durations, rerun_targets, rerun_total
from replay._core.shards import DEFAULT_PERCENTILE, durations_from
from replay._inputs.config import load_config
from replay._inputs.locate import find_config
from replay._inputs.readers import load_summary
from replay._model.models import UNIT_KINDS, Summary

KINDS = ("suite", "unit", "both")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `replay matrix` to the CLI."""
    parser = add_subcommand(
        subparsers,
        "matrix",
        _handle,
        description=(
            'Print {"include": [{"shard": i, "total": N, "strategy": S, '
            '"estimated_seconds": E}, ...]}. With --from, shards are balanced by the '
            "durations in those summaries (strategy duration); pass the same summaries to "
            "`replay run --durations-from` so every job computes the same split."
        ),
    )
    parser.add_argument(
        "--shards", type=shard_total_arg, required=True, metavar="N", help="shard count"
    )
    add_config_option(
        parser,
        "take the suites from this config (default: the nearest replay.toml, if any; "
        "else the targets of the --from summaries)",
    )
    parser.add_argument(
        "--from",
        dest="sources",
        type=Path,
        nargs="+",
        action="extend",
        default=[],
        metavar="SUMMARY",
        help="earlier summaries: target names and durations (repeatable); `history`: the "
        "history ledger's durations",
    )
    add_history_option(parser)
    parser.add_argument(
        "--rerun-from",
        type=Path,
        metavar="MERGED",
        help="spread only what this summary leaves outstanding (a rerun matrix), balanced by "
        "its durations; jobs run `replay run --rerun-from MERGED --shard-index I --shard-total N "
        "--shard-strategy S`",
    )
    parser.add_argument(
        "--percentile",
        type=float,
        default=DEFAULT_PERCENTILE,
        metavar="P",
        help=f"percentile of a target's durations to use, 0-1 (default: {DEFAULT_PERCENTILE})",
    )
    parser.add_argument(
        "--shard-kind",
        choices=KINDS,
        default="both",
        help="which targets are spread over the shards, as for `replay run` (default: both)",
    )


def _wanted(kind: str, is_unit: bool) -> bool:
    return kind == "both" or (kind == "unit") == is_unit


_UNIT = {"both": None, "unit": frozenset({True}), "suite": frozenset({False})}
"""`--shard-kind` as the `is_unit` values of the targets it spreads."""


def _rerun_matrix(args: argparse.Namespace, summaries: list[Summary]) -> dict[str, object]:
    previous = load_summary(args.rerun_from)
    names = rerun_targets(previous, _UNIT[args.shard_kind])
    total = rerun_total(args.shards, len(names))
    known = rerun_durations(previous, summaries, args.percentile)
    durations = {n: d for n, d in known.items() if n in set(names)}
    return github_matrix(names, total, durations or None)


def _ledger_known(args: argparse.Namespace, named: bool) -> dict[str, float]:
    """`--from history`: each target's percentile in the ledger (empty when not named)."""
    if not named:
        return {}
    from replay._cli._history import ledger_durations, ledger_location

    return ledger_durations(ledger_location(args.history, args.config), args.percentile)


def _handle(args: argparse.Namespace) -> int:
    from replay._cli._history import split_sources

    paths, named = split_sources(args.sources)
    from_ledger = _ledger_known(args, named)
    summaries: list[Summary] = [load_summary(p) for p in paths]
    if args.rerun_from is not None:
        matrix = _rerun_matrix(args, summaries)
        sys.stdout.write(orjson.dumps(matrix).decode() + "\n")
        return 0
    config_path = args.config or find_config(Path.cwd())
    if config_path is not None:
        suites = load_config(config_path).suites
        names = sorted({s.name for s in suites if _wanted(args.shard_kind, s.kind in UNIT_KINDS)})
    else:
        names = sorted(
            {t.name for s in summaries for t in s.targets if _wanted(args.shard_kind, t.is_unit)}
            | set(from_ledger)
        )
    wanted = set(names)
    known = from_ledger | (durations_from(summaries, args.percentile) if summaries else {})
    durations = {n: d for n, d in known.items() if n in wanted}
    matrix = github_matrix(names, args.shards, durations or None)
    sys.stdout.write(orjson.dumps(matrix).decode() + "\n")
    return 0
