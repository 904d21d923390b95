"""The CI matrix for N shards, in GitHub Actions' `include` form.

Each entry names the shard and the flags a job passes back to `replay run`
(`--shard-index`, `--shard-total`, `--shard-strategy`), so the matrix and the
jobs compute the same split from the same inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from replay._core.shards import ShardStrategy, assign_shards, check_shard, shard_loads

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
