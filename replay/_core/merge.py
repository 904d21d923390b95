"""Merging the summaries of N shards into one summary of the whole plan.

Shards of one plan are disjoint and together cover it; a merge checks both
(no target in two shards, no shard missing, all shards cut from the same
total and strategy, all continuing the same run) and reports what it finds
rather than guessing. Shards of different kinds (`suite-0-of-3` and
`unit-1-of-4`) are separate plans that may be merged together: each kind is
checked on its own.

The shards of a rerun (`replay run --rerun-from MERGED --shard-index I`) each
carry the parent's passing targets: a target every holder *carried* (decided
by the same earlier run, same status) counts once, not as an overlap; a target
one shard executed and others carried is the executed record. A shard the CI
ran twice ("re-run failed jobs") gives two summaries of one shard with
different run ids: the newest wins and the older is named as superseded.
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
class Superseded:
    """An input replaced by a newer run of the same shard (a CI job run again)."""

    source: str
    by: str
    shard: str


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
    superseded: tuple[Superseded, ...] = ()
    """Earlier runs of a shard that a newer run of the same shard replaces (newest wins)."""

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


def _newest(item: tuple[int, tuple[str, Summary]]) -> tuple[str, str, int]:
    # ISO-8601 UTC strings: lexical order is time order; on a tie the later input wins.
    position, (_, summary) = item
    return (summary.finished_at, summary.started_at, position)


def supersede(
    inputs: Sequence[tuple[str, Summary]],
) -> tuple[list[tuple[str, Summary]], tuple[Superseded, ...]]:
    """The inputs that count, and the earlier runs of a shard that a newer run replaces.

    Two summaries of one shard (kind, index, total) with different run ids are
    the same CI job run twice: the newest (by finish time) wins. The same run
    twice is not a rerun; `_check_shards` reports it as a duplicate.
    """
    groups: dict[tuple[str, int, int], list[tuple[int, tuple[str, Summary]]]] = {}
    for position, (source, summary) in enumerate(inputs):
        if summary.shard is not None:
            key = (summary.shard.kind, summary.shard.index, summary.shard.total)
            groups.setdefault(key, []).append((position, (source, summary)))
    dropped: dict[int, Superseded] = {}
    for key, members in groups.items():
        if len({summary.run_id for _, (_, summary) in members}) < 2:
            continue
        _, (newest_source, newest) = max(members, key=_newest)
        name = Shard(key[1], key[2], key[0]).name
        for position, (source, summary) in members:
            if summary.run_id != newest.run_id:
                dropped[position] = Superseded(source, newest_source, name)
    kept = [item for position, item in enumerate(inputs) if position not in dropped]
    return kept, tuple(dropped[p] for p in sorted(dropped))


def carried(target: TargetResult, summary: Summary) -> bool:
    """Whether `summary` carried `target` from an earlier run of its chain (did not run it)."""
    return summary.parent_run_id is not None and target.decided_by != summary.run_id


def _combine(records: Sequence[tuple[TargetResult, bool]]) -> tuple[TargetResult, bool]:
    """One target from its records `(target, carried)` in input order, and whether they overlap.

    One record is itself. One executed record among carried ones is the
    executed one (the carriers held the parent's record). Records every holder
    carried from the same earlier run, with one status, are one record. Any
    other combination is an overlap, whose outstanding record wins.
    """
    executed = [t for t, was_carried in records if not was_carried]
    if len(records) == 1:
        return records[0][0], False
    if len(executed) == 1:
        return executed[0], False
    if not executed and len({(t.decided_by, t.status) for t, _ in records}) == 1:
        return records[0][0], False
    chosen = records[0][0]
    for other, _ in records[1:]:
        chosen = _worse(chosen, other)
    return chosen, True


def _check_parents(inputs: Sequence[tuple[str, Summary]]) -> tuple[str, ...]:
    """A mismatch when sharded inputs continue different runs (rerun shards of two chains)."""
    sharded = [(source, s) for source, s in inputs if s.shard is not None]
    if len({s.parent_run_id for _, s in sharded}) < 2:
        return ()
    listed = ", ".join(f"{source}: {s.parent_run_id or 'none'}" for source, s in sharded)
    return (f"shards continue different runs ({listed})",)


def _union(
    ordered: Sequence[tuple[str, Summary]],
) -> tuple[tuple[TargetResult, ...], tuple[Overlap, ...]]:
    records: dict[str, dict[str, tuple[TargetResult, bool]]] = {}
    for source, summary in ordered:
        for target in summary.targets:
            # The same file given twice holds each target once (a duplicate shard, not an overlap).
            records.setdefault(target.name, {}).setdefault(
                source, (target, carried(target, summary))
            )
    targets: list[TargetResult] = []
    overlaps: list[Overlap] = []
    for name, held in records.items():
        chosen, overlapping = _combine(tuple(held.values()))
        targets.append(chosen)
        if overlapping:
            overlaps.append(Overlap(name, tuple(held)))
    return tuple(targets), tuple(sorted(overlaps, key=lambda o: o.name))


def merge_summaries(
    summaries: Sequence[tuple[str, Summary]],
    *,
    run_id: str,
    now: str,
    summary_path: str | None = None,
) -> MergeResult:
    """One summary from the shard summaries `(source, summary)`, and what is wrong with them.

    Targets are unioned (shards in kind and index order; see the module for
    carried targets and shards run twice); the merged status is the chain
    core's rule over them (`interrupted` if any shard was; a quarantined target
    does not fail it), and a shard's policy failures stay. The merged summary
    continues the inputs' chain (`parent_run_id`, `rerun_from`) when they share
    one. When `summary_path` (where the merged summary will be written) is
    given and something is outstanding, `one_command_replay` reruns all of it
    in one go: the merged summary holds every failed target's argv, env and cwd.
    """
    if not summaries:
        msg = "merge: no summaries given; pass the shard summaries to merge"
        raise ReplayError(msg)
    kept, superseded = supersede(summaries)
    ordered = [item for _, item in sorted(enumerate(kept), key=_shard_order)]
    merged_targets, overlaps = _union(ordered)
    missing, duplicate, mismatches, unsharded = _check_shards(ordered)
    mismatches += _check_parents(ordered)

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
        parent_run_id=_common([s.parent_run_id for _, s in ordered]),
        rerun_from=_common([s.rerun_from for _, s in ordered]),
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
        superseded=superseded,
    )
