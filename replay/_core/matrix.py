"""The CI matrix for N shards, in GitHub Actions' `include` form.

Each entry names the shard and the flags a job passes back to `replay run`
(`--shard-index`, `--shard-total`, `--shard-strategy`), so the matrix and the
jobs compute the same split from the same inputs.

A rerun matrix (`replay matrix --rerun-from MERGED`) spreads only what the
merged summary leaves outstanding, as the chain core decides it
(`replay._core.chain.needs_rerun`, the rule `replay run --rerun-from` plans
by), balanced by the durations the chain recorded: the summary rerun from is
always a duration source, on both sides of the split (`rerun_durations`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from replay._core.chain import needs_rerun
from replay._core.shards import (
    DEFAULT_PERCENTILE,
    ShardStrategy,
    assign_shards,
    check_shard,
    durations_from,
    shard_loads,
)
from replay._model.models import Summary

ESTIMATE_DIGITS = 1
"""Estimates are rounded to a tenth of a second: more digits would only be noise."""


def matrix_strategy(durations: Mapping[str, float] | None) -> ShardStrategy:
    """Duration balancing when earlier durations exist, else upstream's round-robin."""
    return ShardStrategy.DURATION if durations else ShardStrategy.ROUND_ROBIN


def github_matrix(
    names: Sequence[str], total: int, durations: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """`{"include": [{"shard": i, "total": N, "strategy": ..., "estimated_seconds": ...}]}`.

    `estimated_seconds` is the shard's expected run time (unknown targets at
    the mean of the known ones) when durations are known, else null;
    `targets` is how many targets the shard holds (null when no names are known).
    """
    check_shard(0, total)
    strategy = matrix_strategy(durations)
    shards = assign_shards(names, total, strategy, durations)
    loads = shard_loads(shards, durations) if durations else None
    include = [
        {
            "shard": index,
            "total": total,
            "strategy": strategy.value,
            "targets": len(shard) if names else None,
            "estimated_seconds": None if loads is None else round(loads[index], ESTIMATE_DIGITS),
        }
        for index, shard in enumerate(shards)
    ]
    return {"include": include}


def rerun_targets(
    summary: Summary, wanted: frozenset[bool] | None = None, *, fail_on_flaky: bool = False
) -> tuple[str, ...]:
    """The targets a rerun of `summary` runs, sorted: the chain core's `needs_rerun`.

    `wanted` limits them by `TargetResult.is_unit` (`{True}` unit targets only,
    `{False}` suites only); None keeps both.
    """
    return tuple(
        sorted(
            {
                t.name
                for t in summary.targets
                if needs_rerun(t, fail_on_flaky=fail_on_flaky)
                and (wanted is None or t.is_unit in wanted)
            }
        )
    )


def rerun_total(shards: int, outstanding: int) -> int:
    """How many shards a rerun matrix asks for: no more than there are targets, at least one.

    A job with nothing to rerun would only carry the parent's targets; the
    entries say the total, which the jobs pass back as `--shard-total`.
    """
    check_shard(0, shards)
    return max(1, min(shards, outstanding))


def rerun_durations(
    previous: Summary | None,
    earlier: Sequence[Summary] = (),
    percentile: float = DEFAULT_PERCENTILE,
) -> dict[str, float]:
    """Durations for splitting a plan: the `earlier` summaries and the one it reruns from.

    `replay matrix --rerun-from` and `replay run --rerun-from --shard-index`
    both call this, so the matrix's estimates and the jobs' split agree without
    the summary being named twice.
    """
    sources = [*earlier, *((previous,) if previous is not None else ())]
    return durations_from(sources, percentile) if sources else {}
