"""Running a plan end to end: executor, signals, artifacts, exit code.

`run_plan` is the library entry point inside an anyio program; `run` is the
blocking form. Both write the run directory and return a `RunResult`; neither
prints or exits (that is the CLI's job).
"""

from __future__ import annotations

import functools
import os
import signal
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anyio
import attrs

from replay._artifacts import (
    EventLog,
    carry_file,
    display_path,
    make_run_id,
    safe_component,
    write_json_atomic,
)
from replay._bundle import bundle_document
from replay._environment import environment_document, git_info, tool_versions, tools_for
from replay._executor import (
    KILL_GRACE,
    QUARANTINE_RETRY_DELAY,
    Executor,
    JobOutcome,
    Listener,
    attempt_status,
)
from replay._models import Attempt, Job, Plan, RunStatus, Summary, TargetResult
from replay._results import build_summary
from replay._summary import summary_document
from replay._watchdog import Watchdog

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_EMPTY = 4
EXIT_INTERRUPTED = 130


@attrs.frozen
class RunResult:
    """What a finished (or interrupted) run left behind."""

    summary: Summary
    run_dir: Path
    summary_path: Path
    outcomes: tuple[JobOutcome, ...]

    @property
    def exit_code(self) -> int:
        """0 nothing outstanding, 1 failures, 130 interrupted."""
        return exit_code(self.summary)


def exit_code(summary: Summary) -> int:
    """The exit code a summary calls for."""
    if summary.status is RunStatus.INTERRUPTED:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if summary.status is RunStatus.FAILED else EXIT_OK


def utc_now() -> datetime:
    """The current time in UTC (the one clock the run reads)."""
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """`2026-11-26T22:10:58.123Z`."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def default_run_dir(root: Path, now: datetime) -> tuple[Path, str]:
    """`<root>/<run id>` and the run id."""
    run_id = make_run_id(now)
    return root / run_id, run_id


class _EventListener:
    """Writes job and attempt lifecycle events to `events.jsonl`, then tells `inner`."""

    def __init__(self, events: EventLog, inner: Listener | None) -> None:
        self.events = events
        self.inner = inner

    def job_started(self, job: Job, number: int) -> None:
        self.events.emit("attempt_started", job=job.id, target=job.target, attempt=number)
        if self.inner is not None:
            self.inner.job_started(job, number)

    def attempt_finished(self, job: Job, attempt: Attempt) -> None:
        self.events.emit(
            "attempt_finished",
            job=job.id,
            target=job.target,
            attempt=attempt.number,
            status=attempt_status(attempt).value,
            exit_code=attempt.exit_code,
            signal=attempt.signal,
            duration=round(attempt.duration, 6),
            log=attempt.log,
        )
        if self.inner is not None:
            self.inner.attempt_finished(job, attempt)

    def job_finished(self, outcome: JobOutcome) -> None:
        self.events.emit(
            "job_finished",
            job=outcome.job.id,
            target=outcome.job.target,
            status=outcome.status.value,
            attempts=len(outcome.attempts),
        )
        if self.inner is not None:
            self.inner.job_finished(outcome)


async def _watch_signals(
    scope: anyio.CancelScope,
    executor: Executor,
    *,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for _ in signals:
            executor.mark_interrupted()
            scope.cancel()
            return


PostProcess = Callable[[Summary, Path], Summary]
"""A step that enriches a summary from the run directory (digests, triage) before it is written."""


async def run_plan(
    plan: Plan,
    run_dir: Path | None = None,
    *,
    out_root: Path = Path("replay-results"),
    run_id: str | None = None,
    listener: Listener | None = None,
    handle_signals: bool = True,
    base_env: Mapping[str, str] | None = None,
    previous: Summary | None = None,
    kill_grace: float = KILL_GRACE,
    collect_environment: bool = True,
    post_process: tuple[PostProcess, ...] = (),
    environment_extra: Mapping[str, Any] | None = None,
    stop_when: Callable[[tuple[JobOutcome, ...]], bool] | None = None,
    stop_after: float | None = None,
    quarantine_delay: float = QUARANTINE_RETRY_DELAY,
    watchdog: bool = True,
) -> RunResult:
    """Run `plan` and write its artifacts; never raises for a failing job.

    With `handle_signals`, SIGINT and SIGTERM stop the running jobs (their
    whole process groups), the summary is written with status `interrupted`,
    and the result's exit code is 130.
    """
    started = utc_now()
    if run_dir is None:
        run_dir, generated_id = default_run_dir(out_root, started)
        run_id = run_id or generated_id
    run_id = run_id or make_run_id(started)
    run_dir.mkdir(parents=True, exist_ok=True)
    summary_path = run_dir / "summary.json"
    env = dict(os.environ if base_env is None else base_env)
    events = EventLog(run_dir / "events.jsonl")
    events.emit("run_started", run_id=run_id, jobs=len(plan.jobs), at=iso(started))
    # The basic facts now; git and tool versions (hundreds of ms) are gathered while the
    # jobs run, and environment.json is rewritten with them at the end.
    environment = _environment(plan, run_id, env, tools={}, git={}, extra=environment_extra)
    write_json_atomic(run_dir / "environment.json", environment)
    gathering = _gather_facts(plan) if collect_environment and plan.jobs else None
    executor = Executor(
        plan,
        run_dir,
        listener=_EventListener(events, listener),
        base_env=env,
        kill_grace=kill_grace,
        run_id=run_id,
        stop_when=stop_when,
        stop_after=stop_after,
        quarantine_delay=quarantine_delay,
        watchdog=Watchdog() if watchdog and plan.jobs else None,
    )
    try:
        async with anyio.create_task_group() as tg:
            if handle_signals:
                await tg.start(_watch_signals, tg.cancel_scope, executor)
            await executor.run()
            tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            if gathering is not None:
                tools, git = await anyio.to_thread.run_sync(_facts, gathering)
                environment = _environment(
                    plan, run_id, env, tools=tools, git=git, extra=environment_extra
                )
                write_json_atomic(run_dir / "environment.json", environment)
            summary = _finish(
                plan,
                executor,
                run_dir=run_dir,
                run_id=run_id,
                started=started,
                previous=previous,
                environment=environment,
                post_process=post_process,
            )
            events.emit(
                "run_finished", run_id=run_id, status=summary.status.value, at=summary.finished_at
            )
            events.close()
            if executor.watchdog is not None:
                executor.watchdog.close()
    return RunResult(
        summary=summary, run_dir=run_dir, summary_path=summary_path, outcomes=executor.outcomes()
    )


def _environment(
    plan: Plan,
    run_id: str,
    env: Mapping[str, str],
    *,
    tools: Mapping[str, str | None],
    git: Mapping[str, str | None],
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    document = environment_document(
        run_id=run_id,
        cwd=os.getcwd(),
        env=env,
        shard=plan.shard,
        profile=plan.profile,
        parallelism=plan.parallelism,
        tools=tools,
        git={"git_sha": git.get("git_sha"), "git_branch": git.get("git_branch")},
    )
    document.update(extra or {})
    return document


FACTS_TIMEOUT = 10.0
"""Seconds the end of a run waits for git and tool versions before writing without them."""


Facts = tuple["Future[dict[str, str | None]]", "Future[dict[str, str | None]]"]


def _gather_facts(plan: Plan) -> Facts:
    """Start asking for tool versions (of the runners the plan uses) and git facts."""
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="replay-facts")
    tools = tools_for(tuple(sorted({job.adapter for job in plan.jobs})))
    facts = (pool.submit(tool_versions, tools), pool.submit(git_info, os.getcwd()))
    pool.shutdown(wait=False)
    return facts


def _facts(facts: Facts) -> tuple[dict[str, str | None], dict[str, str | None]]:
    try:
        return facts[0].result(timeout=FACTS_TIMEOUT), facts[1].result(timeout=FACTS_TIMEOUT)
    except Exception:  # missing facts never fail a run
        return {}, {}


def _finish(
    plan: Plan,
    executor: Executor,
    *,
    run_dir: Path,
    run_id: str,
    started: datetime,
    previous: Summary | None,
    environment: Mapping[str, Any],
    post_process: tuple[PostProcess, ...],
) -> Summary:
    summary_path = run_dir / "summary.json"
    outcomes = executor.outcomes()
    summary = build_summary(
        plan,
        outcomes,
        run_id=run_id,
        started_at=iso(started),
        finished_at=iso(utc_now()),
        interrupted=executor.interrupted,
        summary_path=display_path(summary_path),
        previous={t.name: t for t in previous.targets} if previous else None,
    )
    summary = _with_result_paths(summary, plan, run_dir)
    if plan.rerun_from is not None:
        summary = _with_carried_files(summary, Path(plan.rerun_from).parent, run_dir)
    from replay._postprocess import digest_step

    # Digests first: later steps (triage) compare root causes.
    for step in (digest_step(), *post_process):
        summary = step(summary, run_dir)
    write_json_atomic(
        run_dir / "replay_bundle.json",
        bundle_document(
            summary,
            summary_path=display_path(summary_path),
            generated_at=summary.finished_at,
            environment=environment,
        ),
    )
    write_json_atomic(summary_path, summary_document(summary))
    return summary


def _with_result_paths(summary: Summary, plan: Plan, run_dir: Path) -> Summary:
    """Write `<job>/result.json` for each executed target and record its path."""
    jobs = {j.target: j for j in plan.jobs}
    targets: list[TargetResult] = []
    for target in summary.targets:
        job = jobs.get(target.name)
        recorded = target
        if job is not None and target.decided_by == summary.run_id:
            relative = f"{safe_component(job.id)}/result.json"
            recorded = attrs.evolve(target, result=relative)
            # The summary holds the same record and is fsynced; one fsync per target
            # cost more than spawning a trivial job.
            write_json_atomic(run_dir / relative, recorded, durable=False)
        targets.append(recorded)
    return attrs.evolve(summary, targets=tuple(targets))


def _with_carried_files(summary: Summary, from_dir: Path, run_dir: Path) -> Summary:
    """Carried targets with their artifacts brought into this run directory."""

    def carry(relative: str | None, target: TargetResult) -> str | None:
        return carry_file(from_dir, relative, run_dir, target.decided_by)

    def carried(target: TargetResult) -> TargetResult:
        if target.decided_by == summary.run_id:
            return target
        return attrs.evolve(
            target,
            log=carry(target.log, target),
            result=carry(target.result, target),
            digest=carry(target.digest, target),
            attempts=tuple(attrs.evolve(a, log=carry(a.log, target)) for a in target.attempts),
        )

    return attrs.evolve(summary, targets=tuple(carried(t) for t in summary.targets))


def run(
    plan: Plan, run_dir: Path | None = None, *, backend: str = "asyncio", **kwargs: Any
) -> RunResult:
    """Blocking form of `run_plan` for scripts that are not anyio programs."""
    return anyio.run(functools.partial(run_plan, plan, run_dir, **kwargs), backend=backend)
