"""Merging the summaries of N shards into one summary of the whole plan.

Shards of one plan are disjoint and together cover it; a merge checks both
(no target in two shards, no shard missing, all shards cut from the same
total and strategy) and reports what it finds rather than guessing. Shards of
different kinds (`suite-0-of-3` and `unit-1-of-4`) are separate plans that may
be merged together: each kind is checked on its own.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

import attrs

from replay._core.chain import replay_command, run_status
from replay._model.errors import ReplayError
from replay._model.models import RunStatus, Shard, Summary, TargetResult


@attrs.frozen
class Overlap:
    """A target that more than one input summary holds."""

    name: str
    sources: tuple[str, ...]


@attrs.frozen
class MergeResult:
    """The merged summary and what the merge found wrong with its inputs."""

    summary: Summary
    sources: tuple[str, ...]
    overlaps: tuple[Overlap, ...] = ()
    missing_shards: tuple[str, ...] = ()
    """Names (`{kind}-{index}-of-{total}`) of shards no input holds."""
    duplicate_shards: tuple[str, ...] = ()
    """Names of shards that more than one input claims to be."""
    mismatches: tuple[str, ...] = ()
    """Why some inputs cannot be shards of one plan (totals or strategies differ)."""
    unsharded: tuple[str, ...] = ()
    """Inputs with no shard block: merged, but not checked for completeness."""

    @property
    def consistent(self) -> bool:
        """Whether the inputs are exactly the shards of one plan, each once."""
        return not (
            self.overlaps or self.missing_shards or self.duplicate_shards or self.mismatches
        )


def _worse(held: TargetResult, other: TargetResult) -> TargetResult:
    # The same target twice (overlapping shards): the outstanding record wins, so a
    # failure is never hidden behind another shard's pass; on a tie the first input wins.
    return other if other.outstanding and not held.outstanding else held


def _common(values: Sequence[str | None]) -> str | None:
    distinct = set(values)
    return values[0] if len(distinct) == 1 else None


def _check_shards(
    inputs: Sequence[tuple[str, Summary]],
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(missing, duplicate, mismatches, unsharded) of the inputs' shard blocks."""
    by_kind: dict[str, list[tuple[str, Shard]]] = {}
    unsharded: list[str] = []
    for source, summary in inputs:
        if summary.shard is None:
            unsharded.append(source)
        else:
            by_kind.setdefault(summary.shard.kind, []).append((source, summary.shard))
    missing: list[str] = []
    duplicate: list[str] = []
    mismatches: list[str] = []
    for kind in sorted(by_kind):
        shards = by_kind[kind]
        totals = sorted({s.total for _, s in shards})
        strategies = sorted({s.strategy for _, s in shards})
        if len(totals) > 1:
            listed = ", ".join(f"{src}: {s.name}" for src, s in shards)
            mismatches.append(f"{kind} shards disagree on the total ({listed})")
        if len(strategies) > 1:
            listed = ", ".join(f"{src}: {s.strategy}" for src, s in shards)
            mismatches.append(f"{kind} shards disagree on the strategy ({listed})")
        seen: dict[tuple[int, int], int] = {}
        for _, shard in shards:
            key = (shard.index, shard.total)
            seen[key] = seen.get(key, 0) + 1
        duplicate += [Shard(i, t, kind).name for (i, t), n in sorted(seen.items()) if n > 1]
        if len(totals) == 1:
            total = totals[0]
            present = {i for i, _ in seen}
            missing += [Shard(i, total, kind).name for i in range(total) if i not in present]
    return tuple(missing), tuple(duplicate), tuple(mismatches), tuple(unsharded)


def _rebase(path: str | None, from_dir: str, to_dir: str) -> str | None:
    if path is None:
        return None
    moved = posixpath.relpath(posixpath.join(from_dir, path), to_dir)
    # A path that would leave the merged directory is dropped, as a reader would drop it.
    return None if moved == ".." or moved.startswith("../") else moved


def rebase_paths(summary: Summary, from_dir: str, to_dir: str) -> Summary:
    """`summary` with its artifact paths relative to `to_dir` instead of `from_dir`.

    Both directories are absolute POSIX paths. A shard's logs stay where the
    shard wrote them; the merged summary points at them when they lie inside
    the merged directory (`--out` is the parent of the shard run directories,
    as in the README's workflow) and drops paths that would lead out of it.
    """

    def target(t: TargetResult) -> TargetResult:
        return attrs.evolve(
            t,
            log=_rebase(t.log, from_dir, to_dir),
            result=_rebase(t.result, from_dir, to_dir),
            digest=_rebase(t.digest, from_dir, to_dir),
            attempts=tuple(
                attrs.evolve(a, log=_rebase(a.log, from_dir, to_dir)) for a in t.attempts
            ),
        )

    return attrs.evolve(summary, targets=tuple(target(t) for t in summary.targets))


def _shard_order(item: tuple[int, tuple[str, Summary]]) -> tuple[int, str, int, int]:
    position, (_, summary) = item
    shard = summary.shard
    if shard is None:
        return (1, "", 0, position)
    return (0, shard.kind, shard.index, position)


def merge_summaries(
    summaries: Sequence[tuple[str, Summary]],
    *,
    run_id: str,
    now: str,
    summary_path: str | None = None,
) -> MergeResult:
    """One summary from the shard summaries `(source, summary)`, and what is wrong with them.

    Targets are unioned (shards in kind and index order); the merged status is
    the chain core's rule over them (`interrupted` if any shard was; a
    quarantined target does not fail it), and a shard's policy failures stay.
    When `summary_path` (where the merged summary will be written) is given and
    something is outstanding, `one_command_replay` reruns all of it in one go:
    the merged summary holds every failed target's argv, env and cwd.
    """
    if not summaries:
        msg = "merge: no summaries given; pass the shard summaries to merge"
        raise ReplayError(msg)
    ordered = [item for _, item in sorted(enumerate(summaries), key=_shard_order)]
    targets: dict[str, TargetResult] = {}
    holders: dict[str, list[str]] = {}
    for source, summary in ordered:
        for target in summary.targets:
            holders.setdefault(target.name, [])
            if source not in holders[target.name]:
                holders[target.name].append(source)
            held = targets.get(target.name)
            targets[target.name] = target if held is None else _worse(held, target)
    overlaps = tuple(
        Overlap(name, tuple(sources))
        for name, sources in sorted(holders.items())
        if len(sources) > 1
    )
    missing, duplicate, mismatches, unsharded = _check_shards(ordered)

    merged_targets = tuple(targets.values())
    outstanding = any(t.outstanding for t in merged_targets)
    policy_failures = tuple(dict.fromkeys(p for _, s in ordered for p in s.policy_failures))
    status = run_status(
        merged_targets,
        interrupted=any(s.status is RunStatus.INTERRUPTED for _, s in ordered),
        policy_failures=policy_failures,
    )
    config = _common([s.config for _, s in ordered])
    started = [s.started_at for _, s in ordered if s.started_at]
    finished = [s.finished_at for _, s in ordered if s.finished_at]
    merged = Summary(
        run_id=run_id,
        status=status,
        # Timestamps are ISO-8601 UTC strings: lexical order is time order.
        started_at=min(started) if started else now,
        finished_at=max(finished) if finished else now,
        targets=merged_targets,
        profile=_common([s.profile for _, s in ordered]),
        correlation_id=_common([s.correlation_id for _, s in ordered]),
        one_command_replay=(
            replay_command(summary_path, config) if summary_path and outstanding else None
        ),
        config=config,
        policy_failures=policy_failures,
    )
    return MergeResult(
        summary=merged,
        sources=tuple(source for source, _ in summaries),
        overlaps=overlaps,
        missing_shards=missing,
        duplicate_shards=duplicate,
        mismatches=mismatches,
        unsharded=unsharded,
    )
