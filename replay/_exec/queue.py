"""Queue mode on Redis: a worker drains a shared plan one job at a time; `wait` merges.

The rules (key names, seeding order, fingerprint, requeue) are pure and live in
`replay._core.queue_plan`; this module is the client loop. Every change to the
queue's state is one Lua script, so it is atomic on the server: seeding (the
first worker seeds, the others compare fingerprints), reserving (expired
leases go back to the front of the queue first; a worker passes over a job
whose failed run was its own while another worker is alive, so a requeued job
goes to another worker), renewing and completing.
Lease deadlines are in the server's clock (`TIME`), so machines' clocks never
disagree about them.

A worker writes its own run directory as it goes: one sub-directory per job
and its own `summary.json` after every job, before it reports to Redis. A
Redis outage is then one clear error, and what the worker ran is on disk.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson
import redis

from replay._core.merge import merge_summaries, rebase_paths
from replay._core.queue_plan import (
    KEEP_SECONDS,
    LEASE_SECONDS,
    QueueKeys,
    combine_attempts,
    job_record,
    may_requeue,
    plan_fingerprint,
    queue_order,
)
from replay._core.summary import summary_document
from replay._exec.interrupts import block_in_this_thread
from replay._inputs.readers import read_summary
from replay._model.clock import iso, utc_now
from replay._model.errors import ReplayError
from replay._model.models import (
    ChainState,
    Plan,
    RunStatus,
    Summary,
    TargetResult,
    TargetStatus,
)
from replay._model.names import SUMMARY_NAME, make_run_id
from replay._store.rundir import carry_file, inside, write_json_atomic

POLL_SECONDS = 0.2
"""How often an idle worker (others still hold leases) or `queue wait` asks again."""

_KEEP = f"for _, k in ipairs(KEYS) do redis.call('EXPIRE', k, {int(KEEP_SECONDS)}) end\n"
"""Every script that writes leaves the queue's keys to expire a week after its last change."""

_SEED = (
    """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('GET', KEYS[1]) end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[9], ARGV[2])
for i = 3, #ARGV, 2 do
  redis.call('RPUSH', KEYS[2], ARGV[i])
  redis.call('HSET', KEYS[8], ARGV[i], ARGV[i + 1])
end
"""
    + _KEEP
    + "return ARGV[1]\n"
)

_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n"

_RESERVE = (
    _NOW
    + """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, job in ipairs(expired) do
  redis.call('ZREM', KEYS[2], job)
  redis.call('HDEL', KEYS[3], job)
  if redis.call('HEXISTS', KEYS[4], job) == 0 then redis.call('LPUSH', KEYS[1], job) end
end
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[2]), ARGV[1])
"""
    + _KEEP
    + """
local job = redis.call('LINDEX', KEYS[1], 0)
if not job then
  if redis.call('ZCARD', KEYS[2]) == 0 then return {'drained'} end
  return {'wait'}
end
local others = redis.call('ZCOUNT', KEYS[5], now, '+inf') > 1
if others and redis.call('HGET', KEYS[6], job) == ARGV[1] then
  job = false
  for _, candidate in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
    if redis.call('HGET', KEYS[6], candidate) ~= ARGV[1] then
      job = candidate
      break
    end
  end
  if not job then return {'wait'} end
end
redis.call('LREM', KEYS[1], 1, job)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), job)
redis.call('HSET', KEYS[3], job, ARGV[1])
return {'job', job}
"""
)

_RENEW = (
    _NOW
    + """
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[1])
if ARGV[2] ~= '' and redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  return 1
end
return 0
"""
)

_COMPLETE = (
    """
local outcome = 'done'
if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('HDEL', KEYS[2], ARGV[2])
end
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 1 then
  outcome = 'duplicate'
else
  redis.call('RPUSH', KEYS[4], ARGV[3])
  local requeued = tonumber(redis.call('HGET', KEYS[6], ARGV[2]) or '0')
  if ARGV[5] == '1' and requeued < tonumber(ARGV[4]) then
    redis.call('HINCRBY', KEYS[6], ARGV[2], 1)
    redis.call('HSET', KEYS[7], ARGV[2], ARGV[1])
    redis.call('RPUSH', KEYS[5], ARGV[2])
    outcome = 'requeued'
  else
    redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
  end
end
"""
    + _KEEP
    + "return outcome\n"
)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _outage(url: str, exc: Exception, kept: str | None = None) -> ReplayError:
    where = f"; what this worker ran is in {kept}" if kept else ""
    return ReplayError(f"--queue {url}: Redis is unreachable or failed ({exc}){where}")


def connect(url: str) -> redis.Redis:
    """A client for `url` (`redis://HOST:PORT/DB`), checked with a PING."""
    try:
        client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        client.ping()
    except ValueError as exc:
        msg = f"--queue {url!r}: not a Redis URL ({exc}); expected redis://HOST:PORT/DB"
        raise ReplayError(msg) from None
    except redis.RedisError as exc:
        raise _outage(url, exc) from None
    return client


def worker_id() -> str:
    """This worker's name: host, process id and start time (unique across machines)."""
    return f"{socket.gethostname()}-{os.getpid()}-{make_run_id(utc_now())}"


def _job_meta(plan: Plan, job_id: str) -> bytes:
    job = next(j for j in plan.jobs if j.id == job_id)
    meta = {"target": job.target, "kind": job.kind, "adapter": job.adapter, "argv": job.argv}
    return orjson.dumps(meta)


def seed(
    client: redis.Redis, keys: QueueKeys, plan: Plan, durations: Mapping[str, float] | None
) -> bool:
    """Seed the queue with `plan` unless a worker did; True if this call seeded it.

    `ReplayError` when the queue holds a plan with another fingerprint.
    """
    mine = plan_fingerprint(plan)
    carried = Summary(
        run_id=plan.parent_run_id or "carried",
        status=RunStatus.PASSED,
        started_at="",
        finished_at="",
        targets=plan.carried,
        parent_run_id=plan.parent_run_id,
        rerun_from=plan.rerun_from,
        config=plan.config,
    )
    args: list[Any] = [mine, orjson.dumps(summary_document(carried))]
    for job_id in queue_order(plan, durations):
        args += [job_id, _job_meta(plan, job_id)]
    held = client.eval(_SEED, len(keys.all()), *keys.all(), *args)
    held = held.decode() if isinstance(held, bytes) else str(held)
    if held != mine:
        msg = (
            f"queue {keys.name!r} holds another plan (fingerprint {held[:12]}, this worker's "
            f"{mine[:12]}): run every worker with the same checkout, config and options, "
            "or use a new --queue-name"
        )
        raise ReplayError(msg)
    return True


class _Renewer:
    """Renews this worker's heartbeat and its job's lease every third of a lease, in a thread."""

    def __init__(self, client: redis.Redis, keys: QueueKeys, worker: str, lease: float) -> None:
        self._client, self._keys, self._worker, self._lease = client, keys, worker, lease
        self.job = ""
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def renew(self) -> None:
        keys = self._keys
        self._client.eval(
            _RENEW, 3, keys.leases, keys.owners, keys.workers, self._worker, self.job, self._lease
        )

    def _loop(self) -> None:
        block_in_this_thread()
        while not self._stop.wait(self._lease / 3):
            try:
                self.renew()
            except redis.RedisError as exc:  # the job goes on; completing it reports the outage
                self.error = exc

    def __enter__(self) -> _Renewer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@attrs.frozen
class Worker:
    """One worker's settings."""

    url: str
    keys: QueueKeys
    run_dir: Path
    requeue: int = 0
    lease: float = LEASE_SECONDS
    name: str = attrs.field(factory=worker_id)


RunJob = Callable[[Plan, Path], Summary]
"""Runs a one-job plan into a directory and returns its summary (the executor's `run`)."""


def _write_worker_summary(worker: Worker, summaries: Sequence[tuple[Path, Summary]]) -> Summary:
    """The worker's own summary: every job it ran, written to its run directory.

    A job the worker ran more than once (the queue handed its requeued job back)
    is one target with every attempt (`combine_attempts`), as `queue wait` has it.
    """
    base = str(worker.run_dir.resolve())
    rebased = _combined(
        [(str(d / SUMMARY_NAME), rebase_paths(s, str(d.resolve()), base)) for d, s in summaries]
    )
    now = utc_now()
    if rebased:
        merged = merge_summaries(rebased, run_id=worker.name, now=iso(now)).summary
    else:
        merged = Summary(
            run_id=worker.name, status=RunStatus.PASSED, started_at=iso(now), finished_at=iso(now)
        )
    write_json_atomic(worker.run_dir / SUMMARY_NAME, summary_document(merged))
    return merged


def _combined(parts: Sequence[tuple[str, Summary]]) -> list[tuple[str, Summary]]:
    """One part per target: the last run's summary, holding every run's attempts of it."""
    runs: dict[str, list[TargetResult]] = {}
    last: dict[str, tuple[str, Summary]] = {}
    for source, summary in parts:
        for target in summary.targets:
            runs.setdefault(target.name, []).append(target)
            last[target.name] = (source, summary)
    combined = []
    for name, (source, summary) in last.items():
        target = combine_attempts(runs[name])
        combined.append((source, attrs.evolve(summary, targets=(target,))))
    return combined


def _reserve(client: redis.Redis, worker: Worker) -> tuple[str, str | None]:
    k = worker.keys
    reply = client.eval(
        _RESERVE,
        6,
        k.pending,
        k.leases,
        k.owners,
        k.done,
        k.workers,
        k.failed_by,
        worker.name,
        worker.lease,
    )
    words = [w.decode() if isinstance(w, bytes) else str(w) for w in reply]
    return words[0], (words[1] if len(words) > 1 else None)


def _complete(
    client: redis.Redis,
    worker: Worker,
    job_id: str,
    summary: Summary,
    requeued: int,
    *,
    job_dir: Path,
) -> str:
    k = worker.keys
    target = summary.targets[0] if summary.targets else None
    failed = target is not None and may_requeue(target, requeued, worker.requeue)
    reply = client.eval(
        _COMPLETE,
        7,
        k.leases,
        k.owners,
        k.done,
        k.results,
        k.pending,
        k.requeued,
        k.failed_by,
        worker.name,
        job_id,
        job_record(job_id, worker.name, summary_document(summary), str(job_dir.resolve())),
        worker.requeue,
        "1" if failed else "0",
    )
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def work(
    worker: Worker,
    plan: Plan,
    run_job: RunJob,
    durations: Mapping[str, float] | None = None,
) -> Summary:
    """Seed (or join) the queue and run reserved jobs until it is drained; the worker's summary.

    Every job runs in `run_dir/NNN/`; the worker's `summary.json` is rewritten
    after each job, before the result is reported, so an outage loses nothing.
    """
    client = connect(worker.url)
    jobs = {j.id: j for j in plan.jobs}
    ran: list[tuple[Path, Summary]] = []
    worker.run_dir.mkdir(parents=True, exist_ok=True)
    kept = str(worker.run_dir / SUMMARY_NAME)
    try:
        seed(client, worker.keys, plan, durations)
        while True:
            state, job_id = _reserve(client, worker)
            if state == "drained":
                break
            if state == "wait" or job_id is None:
                time.sleep(POLL_SECONDS)
                continue
            job = jobs.get(job_id)
            if job is None:
                msg = f"queue {worker.keys.name!r} handed out job {job_id!r}, which this plan lacks"
                raise ReplayError(msg)
            job_dir = worker.run_dir / f"{len(ran):03d}"
            one = attrs.evolve(plan, jobs=(job,), carried=())
            with _Renewer(client, worker.keys, worker.name, worker.lease) as renewer:
                renewer.job = job_id
                summary = run_job(one, job_dir)
            ran.append((job_dir, summary))
            _write_worker_summary(worker, ran)
            requeued = int(client.hget(worker.keys.requeued, job_id) or 0)
            _complete(client, worker, job_id, summary, requeued, job_dir=job_dir)
    except redis.RedisError as exc:
        _write_worker_summary(worker, ran)
        raise _outage(worker.url, exc, kept) from None
    return _write_worker_summary(worker, ran)


@attrs.frozen
class QueueState:
    """How far a queue is: seeded, jobs pending, leased, finished; live workers."""

    seeded: bool
    total: int
    pending: int
    leased: int
    done: int
    workers: int

    @property
    def drained(self) -> bool:
        """Seeded and every job finished (nothing pending or leased)."""
        return self.seeded and self.pending == 0 and self.leased == 0


def queue_state(client: redis.Redis, keys: QueueKeys) -> QueueState:
    """The queue's state now (live workers by heartbeat, in the server's clock)."""
    seconds, micros = client.time()
    now = seconds + micros / 1_000_000
    return QueueState(
        seeded=bool(client.exists(keys.fingerprint)),
        total=int(client.hlen(keys.jobs)),
        pending=int(client.llen(keys.pending)),
        leased=int(client.zcard(keys.leases)),
        done=int(client.hlen(keys.done)),
        workers=int(client.zcount(keys.workers, now, "+inf")),
    )


def _not_run(job_id: str, meta: Mapping[str, Any], run_id: str) -> TargetResult:
    return TargetResult(
        name=str(meta.get("target", job_id)),
        kind=str(meta.get("kind", "suite")),
        adapter=str(meta.get("adapter", "generic")),
        argv=tuple(str(a) for a in meta.get("argv", ())),
        status=TargetStatus.NOT_RUN,
        chain_state=ChainState.OUTSTANDING,
        decided_by=run_id,
    )


def _parse(document: object, source: str) -> Summary:
    return read_summary(document, source=source, base_dir=Path.cwd())


def _localised(summary: Summary, from_dir: str | None, out: Path) -> Summary:
    """`summary` with its artifact paths relative to `out`, every one naming a file there.

    Paths are relative to `from_dir` (a worker's job directory, absolute). A
    file already inside `out` is named where it is; one outside is carried in
    (`carry_file`: `carried/<run id>/...`); one that is gone, or whose directory
    is unknown (a record from an older worker), is dropped.
    """
    base = Path(from_dir) if from_dir and os.path.isabs(from_dir) else None
    resolved_out = out.resolve()

    def local(relative: str | None, target: TargetResult) -> str | None:
        source = inside(base, relative) if base is not None and relative else None
        if base is None or source is None or relative is None or not source.is_file():
            return None
        if resolved_out in source.parents:
            return source.relative_to(resolved_out).as_posix()
        out.mkdir(parents=True, exist_ok=True)
        return carry_file(base, relative, out, target.decided_by)

    def localised(t: TargetResult) -> TargetResult:
        return attrs.evolve(
            t,
            log=local(t.log, t),
            result=local(t.result, t),
            digest=local(t.digest, t),
            attempts=tuple(attrs.evolve(a, log=local(a.log, t)) for a in t.attempts),
        )

    return attrs.evolve(summary, targets=tuple(localised(t) for t in summary.targets))


def merged_summary(
    client: redis.Redis, keys: QueueKeys, *, run_id: str, summary_path: str
) -> tuple[Summary, tuple[str, ...]]:
    """The queue's merged summary from every reported result, and the jobs that never finished.

    A job reported more than once (requeued after a failure) is one target with
    every attempt (`combine_attempts`); a job no worker finished is `not_run`.
    Every artifact path names a file in the summary's directory (`_localised`).
    """
    out = Path(os.path.abspath(summary_path)).parent
    records: dict[str, list[TargetResult]] = {}
    shells: list[Summary] = []
    for raw in client.lrange(keys.results, 0, -1):
        record = orjson.loads(raw)
        summary = _parse(record["summary"], f"{keys.results}[{record['job']}]")
        where = record.get("dir")
        summary = _localised(summary, where if isinstance(where, str) else None, out)
        shells.append(summary)
        records.setdefault(str(record["job"]), []).extend(summary.targets)
    metas = {_text(k): orjson.loads(v) for k, v in client.hgetall(keys.jobs).items()}
    missing = tuple(sorted(j for j in metas if j not in records))
    targets = [combine_attempts(r) for _, r in sorted(records.items()) if r]
    targets += [_not_run(j, metas[j], run_id) for j in missing]
    carried_doc = client.get(keys.carried)
    carried = _parse(orjson.loads(carried_doc), keys.carried) if carried_doc else None
    if carried is not None and carried.rerun_from:
        # A rerun's carried targets name files beside the summary it reran.
        parent_dir = os.path.dirname(os.path.abspath(carried.rerun_from))
        carried = _localised(carried, parent_dir, out)
    elif carried is not None:
        carried = _localised(carried, None, out)
    parts: list[tuple[str, Summary]] = []
    if carried is not None and carried.targets:
        parts.append((keys.carried, carried))
    now = iso(utc_now())
    executed = Summary(
        run_id=run_id,
        status=RunStatus.PASSED,
        started_at=min((s.started_at for s in shells if s.started_at), default=now),
        finished_at=max((s.finished_at for s in shells if s.finished_at), default=now),
        targets=tuple(targets),
        parent_run_id=shells[0].parent_run_id if shells else None,
        rerun_from=shells[0].rerun_from if shells else None,
        config=shells[0].config if shells else None,
    )
    parts.append((keys.results, executed))
    merged = merge_summaries(parts, run_id=run_id, now=now, summary_path=summary_path).summary
    return merged, missing
