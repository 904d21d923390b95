"""Splitting a plan's targets over N CI machines, deterministically.

Every machine computes its own slice from the same inputs, so the split must
not depend on anything that differs between machines: no Python `hash()`
(salted per process), no dict order of a file read elsewhere, no clock. The CI
system is the distributed engine; these are pure functions.
"""

from __future__ import annotations

import enum
import hashlib
import heapq
import math
from collections.abc import Iterable, Mapping, Sequence

import attrs

from replay._model.errors import ReplayError
from replay._model.models import (
    MAX_SECONDS,
    MAX_SHARDS,
    UNIT_KINDS,
    Plan,
    Shard,
    Summary,
    TargetStatus,
)


class ShardStrategy(str, enum.Enum):
    """How targets are dealt out to shards."""

    ROUND_ROBIN = "round-robin"
    """Upstream-compatible: names sorted (`LC_ALL=C sort -u`), item i to shard i mod N."""
    HASH = "hash"
    """By a stable hash of the name: adding or removing a target moves only that target."""
    DURATION = "duration"
    """Longest processing time first onto the lightest shard, from earlier durations."""


DEFAULT_WEIGHT = 1.0
"""The weight of every target when no duration at all is known: all equal, so LPT degrades to
an even count."""

DEFAULT_PERCENTILE = 0.9
"""A high percentile rather than the mean: a shard's makespan is set by its slow runs."""

_UNRUN = frozenset({TargetStatus.NOT_RUN, TargetStatus.SKIPPED})
"""Statuses whose recorded duration says nothing about how long the target takes."""

SHARD_ENV = (
    ("GitLab CI", "CI_NODE_INDEX", "CI_NODE_TOTAL", 1),
    ("Buildkite", "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", 0),
    ("CircleCI", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", 0),
)
"""CI systems `--shard auto` understands: (name, index variable, total variable, first index).

GitLab's `CI_NODE_INDEX` counts from 1; the others count from 0 like replay does.
"""


def _strategy(strategy: ShardStrategy | str) -> ShardStrategy:
    try:
        return ShardStrategy(strategy)
    except ValueError:
        choices = ", ".join(s.value for s in ShardStrategy)
        msg = f"unknown shard strategy {strategy!r}; expected one of: {choices}"
        raise ReplayError(msg) from None


def check_shard(index: int, total: int) -> None:
    """Refuse an impossible shard with a message that says how to fix it."""
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        msg = f"shard total must be a whole number >= 1, got {total!r}; use --shard-total N"
        raise ReplayError(msg)
    if total > MAX_SHARDS:
        msg = f"shard total must be at most {MAX_SHARDS}, got {total}"
        raise ReplayError(msg)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < total:
        msg = (
            f"shard index {index!r} is out of range for {total} shard(s): expected 0 to "
            f"{total - 1} (indexes count from 0; for GitLab's 1-based CI_NODE_INDEX "
            "use --shard auto)"
        )
        raise ReplayError(msg)


def _usable(seconds: float) -> bool:
    # Beyond a year a duration is hand-edited or hostile, and 1e308s would overflow the sums.
    return math.isfinite(seconds) and 0 <= seconds <= MAX_SECONDS


def weights(names: Iterable[str], durations: Mapping[str, float] | None) -> dict[str, float]:
    """Each unique name's expected seconds: its known duration, else the mean of the known ones.

    Durations that are negative, infinite, NaN or longer than a year (a
    hand-edited or hostile summary) count as unknown. With nothing known
    every weight is `DEFAULT_WEIGHT`.
    """
    unique = sorted(set(names))
    durations = durations or {}
    known = {n: float(durations[n]) for n in unique if n in durations}
    known = {n: s for n, s in known.items() if _usable(s)}
    # math.fsum is correctly rounded: the same mean on every machine, whatever the order.
    fallback = math.fsum(known.values()) / len(known) if known else DEFAULT_WEIGHT
    return {n: known.get(n, fallback) for n in unique}


def _round_robin(unique: Sequence[str], total: int) -> list[list[str]]:
    shards: list[list[str]] = [[] for _ in range(total)]
    for i, name in enumerate(unique):
        shards[i % total].append(name)
    return shards


def stable_hash(name: str) -> int:
    """A hash of `name` that every machine and every Python process agrees on."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big")


def _by_hash(unique: Sequence[str], total: int) -> list[list[str]]:
    shards: list[list[str]] = [[] for _ in range(total)]
    for name in unique:
        shards[stable_hash(name) % total].append(name)
    return shards


def _by_duration(
    unique: Sequence[str], total: int, durations: Mapping[str, float] | None
) -> list[list[str]]:
    weight = weights(unique, durations)
    shards: list[list[str]] = [[] for _ in range(total)]
    # (load, shard index): the lightest shard first, the lower index on a tie.
    heap = [(0.0, i) for i in range(total)]
    for name in sorted(unique, key=lambda n: (-weight[n], n)):
        load, i = heapq.heappop(heap)
        shards[i].append(name)
        heapq.heappush(heap, (load + weight[name], i))
    return shards


def assign_shards(
    names: Sequence[str],
    total: int,
    strategy: ShardStrategy | str = ShardStrategy.ROUND_ROBIN,
    durations: Mapping[str, float] | None = None,
) -> tuple[tuple[str, ...], ...]:
    """Every shard's targets, `total` tuples that together hold each unique name exactly once.

    Names are deduplicated and sorted first (Python's code-point order of str
    is the byte order of UTF-8, i.e. `LC_ALL=C sort -u`). Round-robin and hash
    shards list their names sorted; duration shards list them longest first,
    the order that keeps a shard's own `-j` workers busy.
    """
    check_shard(0, total)
    unique = sorted(set(names))
    chosen = _strategy(strategy)
    if chosen is ShardStrategy.ROUND_ROBIN:
        shards = _round_robin(unique, total)
    elif chosen is ShardStrategy.HASH:
        shards = _by_hash(unique, total)
    else:
        shards = _by_duration(unique, total, durations)
    return tuple(tuple(s) for s in shards)


def shard_items(
    names: Sequence[str],
    index: int,
    total: int,
    strategy: ShardStrategy | str = ShardStrategy.ROUND_ROBIN,
    durations: Mapping[str, float] | None = None,
) -> tuple[str, ...]:
    """The targets of shard `index` (0-based) of `total`; see `assign_shards`."""
    check_shard(index, total)
    return assign_shards(names, total, strategy, durations)[index]


def shard_loads(
    shards: Sequence[Sequence[str]], durations: Mapping[str, float] | None
) -> tuple[float, ...]:
    """Each shard's expected seconds, with unknown targets at the mean of the known ones."""
    weight = weights([n for shard in shards for n in shard], durations)
    return tuple(math.fsum(weight[n] for n in shard) for shard in shards)


def interpolated_percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` percentile of `values`, linear between ranks (numpy's default)."""
    if not values:
        msg = "percentile of no values"
        raise ValueError(msg)
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def durations_from(
    summaries: Sequence[Summary], percentile: float = DEFAULT_PERCENTILE
) -> dict[str, float]:
    """Each target's duration across earlier summaries: the given percentile of its runs.

    A target that did not run (`not_run`, `skipped`), or recorded no duration
    (0, the model's default, e.g. it never started) or an unusable one,
    contributes nothing, so an interrupted run does not make a slow target
    look instant.
    """
    if not 0.0 <= percentile <= 1.0:
        msg = f"duration percentile must be between 0 and 1, got {percentile!r}"
        raise ReplayError(msg)
    seen: dict[str, list[float]] = {}
    for summary in summaries:
        for target in summary.targets:
            if target.status in _UNRUN or not _usable(target.duration) or target.duration == 0:
                continue
            seen.setdefault(target.name, []).append(target.duration)
    return {name: interpolated_percentile(values, percentile) for name, values in seen.items()}


def _parse_env_int(env: Mapping[str, str], variable: str, system: str) -> int | None:
    raw = env.get(variable, "").strip()
    if not raw:
        return None
    try:
        return int(raw, 10)
    except ValueError:
        msg = f"--shard auto: {variable}={raw!r} ({system}) is not a whole number"
        raise ReplayError(msg) from None


KUBERNETES_INDEX = "JOB_COMPLETION_INDEX"
"""A Kubernetes Indexed Job's 0-based index; the total (`completions`) is not in the environment."""


def _kubernetes(env: Mapping[str, str], total: int | None) -> tuple[int, int] | None:
    system = "Kubernetes Indexed Job"
    index = _parse_env_int(env, KUBERNETES_INDEX, system)
    if index is None:
        return None
    if total is None:
        msg = (
            f"--shard auto: {KUBERNETES_INDEX}={index} ({system}) gives no total; pass "
            "--shard-total N (the Job's completions)"
        )
        raise ReplayError(msg)
    if not 0 <= index < total:
        msg = (
            f"--shard auto: {KUBERNETES_INDEX}={index} ({system}) is out of range for "
            f"--shard-total {total}: expected 0 to {total - 1}"
        )
        raise ReplayError(msg)
    return index, total


def shard_from_env(
    env: Mapping[str, str], given_total: int | None = None
) -> tuple[int, int] | None:
    """`(index, total)` from the CI system's parallel-job variables, 0-based; None if none is set.

    The first system whose total variable is set wins (GitLab, Buildkite,
    CircleCI). GitLab sets `CI_NODE_TOTAL=1` and no index in a job without
    `parallel:`, which is shard 0 of 1. Last, a Kubernetes Indexed Job's
    `JOB_COMPLETION_INDEX`, whose total is `given_total` (`--shard-total`).
    """
    for system, index_var, total_var, first in SHARD_ENV:
        total = _parse_env_int(env, total_var, system)
        index = _parse_env_int(env, index_var, system)
        if total is None and index is None:
            continue
        if total is None:
            msg = f"--shard auto: {index_var} is set but {total_var} is not ({system})"
            raise ReplayError(msg)
        if not 1 <= total <= MAX_SHARDS:
            msg = f"--shard auto: {total_var}={total} ({system}) must be 1 to {MAX_SHARDS}"
            raise ReplayError(msg)
        if index is None:
            if total == 1:
                return 0, 1
            msg = f"--shard auto: {total_var}={total} is set but {index_var} is not ({system})"
            raise ReplayError(msg)
        if not first <= index < first + total:
            msg = (
                f"--shard auto: {index_var}={index} ({system}) is out of range for "
                f"{total_var}={total}: expected {first} to {first + total - 1}"
            )
            raise ReplayError(msg)
        return index - first, total
    return _kubernetes(env, given_total)


def _sharded(kind: str, shard: Shard) -> bool:
    return shard.kind == "both" or (shard.kind == "unit") == (kind in UNIT_KINDS)


def shard_plan(plan: Plan, shard: Shard, durations: Mapping[str, float] | None = None) -> Plan:
    """The part of `plan` that shard `shard` runs.

    Targets of the sharded kind are spread by the shard's strategy; targets of
    the other kind all run on shard 0, so that across the N shards every target
    runs exactly once.
    """
    eligible = [j.target for j in plan.jobs if _sharded(j.kind, shard)]
    mine = set(shard_items(eligible, shard.index, shard.total, shard.strategy, durations))
    jobs = tuple(
        j for j in plan.jobs if (j.target in mine if _sharded(j.kind, shard) else shard.index == 0)
    )
    return attrs.evolve(plan, jobs=jobs, shard=shard)
