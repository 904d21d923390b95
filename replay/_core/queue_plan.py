"""Queue mode's pure rules: the plan's fingerprint, the order jobs are seeded in, the key names,
and how the records of a requeued job become one target.

Queue mode (after Shopify's ci-queue) lets any number of workers with the same
checkout and config drain one plan from a Redis server. The I/O lives in
`replay._exec.queue`; everything a worker decides without the network is here,
so every worker decides it alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import attrs
import orjson

from replay._core.shards import weights
from replay._model.models import (
    Attempt,
    ChainState,
    Plan,
    TargetResult,
    TargetStatus,
)

LEASE_SECONDS = 30.0
"""How long a reservation holds without renewal: a worker renews every third of it."""

KEEP_SECONDS = 7 * 24 * 3600
"""A queue's keys expire this long after its last change: a forgotten queue does not stay."""

KEY_PREFIX = "replay:queue:"
"""Every key of a queue starts with this and the queue's name."""


class _Part:
    """A queue's key named after the attribute: `keys.pending` is `replay:queue:{name}:pending`."""

    part = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.part = name

    def __get__(self, keys: QueueKeys, owner: object = None) -> str:
        return keys.key(self.part)


@attrs.frozen
class QueueKeys:
    """The Redis keys of one named queue."""

    name: str

    def key(self, part: str) -> str:
        """`replay:queue:{name}:{part}`."""
        return f"{KEY_PREFIX}{self.name}:{part}"

    fingerprint = _Part()
    """The seeded plan's fingerprint (string); its presence means the queue is seeded."""
    pending = _Part()
    """Job ids not yet reserved, the next one first (list)."""
    leases = _Part()
    """Reserved job ids scored by the server time their lease ends (sorted set)."""
    owners = _Part()
    """Reserved job id -> the worker holding it (hash)."""
    done = _Part()
    """Finished job id -> the worker whose result counts (hash)."""
    requeued = _Part()
    """Job id -> how often a failure sent it back to the queue (hash)."""
    results = _Part()
    """Every reported attempt of a job, as JSON records, in report order (list)."""
    jobs = _Part()
    """Job id -> what the merged summary needs of a job that never finished (hash)."""
    carried = _Part()
    """A rerun's carried targets, one summary document (string)."""
    workers = _Part()
    """Worker id -> the server time its heartbeat ends (sorted set)."""
    failed_by = _Part()
    """Requeued job id -> the worker whose run of it failed (hash): another worker takes it."""

    def all(self) -> tuple[str, ...]:
        """Every key, in the order the seeding script takes them."""
        return (
            self.fingerprint,
            self.pending,
            self.leases,
            self.owners,
            self.done,
            self.requeued,
            self.results,
            self.jobs,
            self.carried,
            self.workers,
            self.failed_by,
        )


def plan_fingerprint(plan: Plan) -> str:
    """A digest of what the plan runs: jobs (id, target, argv, tests, env names) and carried names.

    Workers with the same checkout and config get the same fingerprint; a
    worker whose plan differs refuses to join rather than mix two plans.
    Env values are left out (a token may differ per machine), names are not.
    """
    document = {
        "jobs": sorted(
            (j.id, j.target, j.kind, j.adapter, list(j.argv), list(j.tests), sorted(j.env))
            for j in plan.jobs
        ),
        "carried": sorted(t.name for t in plan.carried),
        "parent": plan.parent_run_id,
    }
    return hashlib.sha256(orjson.dumps(document)).hexdigest()


def queue_order(plan: Plan, durations: Mapping[str, float] | None) -> tuple[str, ...]:
    """Job ids longest first (durations from earlier summaries; unknown at the mean), then by id.

    Longest first keeps the makespan near its lower bound: the last job to
    start is a short one.
    """
    weight = weights([j.target for j in plan.jobs], durations)
    ordered = sorted(plan.jobs, key=lambda j: (-weight[j.target], j.id))
    return tuple(j.id for j in ordered)


def may_requeue(target: TargetResult, requeued: int, limit: int) -> bool:
    """Whether a finished job goes back to the queue: it failed and has requeues left."""
    return target.outstanding and not target.status.ok and requeued < limit


def job_record(
    job_id: str, worker: str, summary_document: Mapping[str, object], job_dir: str | None = None
) -> bytes:
    """The JSON record a worker reports for one finished job: its one-job summary document.

    `job_dir` is the absolute path of the directory the job ran in: the summary's
    artifact paths are relative to it, and `queue wait` needs it to find them.
    """
    record: dict[str, object] = {"job": job_id, "worker": worker, "summary": summary_document}
    if job_dir is not None:
        record["dir"] = job_dir
    return orjson.dumps(record)


def combine_attempts(records: Sequence[TargetResult]) -> TargetResult:
    """One target from the records of a job run more than once (requeued), in report order.

    The last record decides; a pass after a failure elsewhere is `flaky`, with
    every attempt on record, numbered in order.
    """
    last = records[-1]
    if len(records) == 1:
        return last
    attempts: list[Attempt] = []
    for record in records:
        attempts += [attrs.evolve(a, number=len(attempts) + 1) for a in record.attempts]
    failed_before = any(not r.status.ok for r in records[:-1])
    status = TargetStatus.FLAKY if last.status.ok and failed_before else last.status
    return attrs.evolve(
        last,
        status=status,
        attempts=tuple(attempts),
        chain_state=last.chain_state if status.ok else ChainState.OUTSTANDING,
    )
