"""Running a plan end to end: executor, signals, artifacts, exit code.

`run_plan` is the library entry point inside an anyio program; `run` is the
blocking form. Both take a `RunOptions`, write the run directory and return a
`RunResult`; neither prints or exits (that is the CLI's job). The CLI and the
tests reach the test seams (`Seams`: kill grace, quarantine delay, watchdog,
base environment) through `run_plan_with` and `run_with`, which the public
names do not offer.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import attrs

from replay._core.bundle import bundle_document
from replay._core.chain import run_status
from replay._core.redact import Redactor
from replay._core.results import build_summary
from replay._core.summary import result_document, summary_document
from replay._exec.environment import environment_document, git_info, tool_versions, tools_for
from replay._exec.executor import KILL_GRACE, QUARANTINE_RETRY_DELAY, Executor, Listener
from replay._exec.interrupts import Interrupts, block_in_this_thread, in_worker
from replay._exec.watchdog import Watchdog
from replay._model.clock import iso, utc_now
from replay._model.errors import ReplayError, replay_error_in
from replay._model.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from replay._model.models import Attempt, Job, Plan, RunStatus, Summary, TargetResult
from replay._model.models import _seconds as seconds_validator
from replay._model.names import (
    BUNDLE_NAME,
    ENVIRONMENT_NAME,
    EVENTS_NAME,
    SUMMARY_NAME,
    make_run_id,
    result_path,
    safe_component,
)
from replay._model.outcomes import JobOutcome, attempt_status
from replay._store.rundir import (
    EventLog,
    carry_file,
    clean_run_dir,
    display_path,
    lock_run_dir,
    write_json_atomic,
)


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

    # The executor's optional hooks (issue 17): written as events, passed on when `inner` has them.

    def _pass_on(self, name: str, *args: object) -> None:
        method = getattr(self.inner, name, None)
        if method is not None:
            method(*args)

    def job_slow(self, job: Job, number: int, elapsed: float) -> None:
        self.events.emit("slow", job=job.id, target=job.target, attempt=number, elapsed=elapsed)
        self._pass_on("job_slow", job, number, elapsed)

    def warning(self, job: Job, text: str) -> None:
        self.events.emit("warning", job=job.id, target=job.target, message=text)
        self._pass_on("warning", job, text)

    def phase_finished(self, outcome: JobOutcome) -> None:
        self.events.emit(
            f"{outcome.job.kind}_finished",
            job=outcome.job.id,
            name=outcome.job.target,
            status=outcome.status.value,
        )
        self._pass_on("phase_finished", outcome)


SIGNAL_POLL = 0.02
"""How often the run looks for a new signal (20 ms, as the executor polls a stopping group)."""


async def _watch_signals(
    interrupts: Interrupts,
    executor: Executor,
    scope: anyio.CancelScope,
    *,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Act on each signal: the first cancels `scope` (the executor); each tells the executor.

    The executor cuts a grace period short from the second signal on. Runs until
    cancelled, so that every signal during the group kills is seen.
    """
    seen = 0
    started = False
    while True:
        while seen < interrupts.count:
            seen += 1
            executor.mark_interrupted()
            scope.cancel()
        if not started:  # signals that came before the executor existed are acted on first
            task_status.started()
            started = True
        await anyio.sleep(SIGNAL_POLL)


PostProcess = Callable[[Summary, Path], Summary]
"""A step that enriches a summary from the run directory (digests, triage) before it is written."""

StopWhen = Callable[[tuple[JobOutcome, ...]], bool]
"""Asked after each finished job with the outcomes so far: True starts nothing new."""


@attrs.frozen
class RunOptions:
    """How `replay.run` / `replay.run_plan` run a plan (everything but the plan and its directory).

    The defaults are the CLI's. `out_root` takes a `str` or any `os.PathLike`.
    """

    out_root: Path = attrs.field(default=Path("replay-results"), converter=Path)
    """Where the run directory goes when none is given: `<out_root>/<run id>`."""
    run_id: str | None = None
    """The run's id; None: one from the start time (the run directory's name when generated)."""
    listener: Listener | None = None
    """Hears about each attempt as it starts and ends (progress display)."""
    handle_signals: bool | None = None
    """Take SIGINT/SIGTERM for the run (exit 130, summary `interrupted`). None: in the main
    thread only; True off the main thread is a `ReplayError` (Python delivers signals there)."""
    collect_environment: bool = True
    """Gather git facts and tool versions into `environment.json` while the jobs run."""
    environment_extra: Mapping[str, Any] = attrs.field(factory=dict)
    """More entries for `environment.json` (redacted like the rest)."""
    post_process: tuple[PostProcess, ...] = ()
    """Steps that enrich the summary after the built-in digests (triage against a baseline)."""
    stop_when: StopWhen | None = None
    """Asked after each finished job: True starts nothing new (a decided flake loop)."""
    stop_after: float | None = attrs.field(default=None, validator=seconds_validator)
    """Seconds after which nothing new starts (a flake loop's time budget)."""
    drop_unstarted: bool = False
    """Leave the jobs never started out of the summary: a loop that time or `stop_when` ends
    (`--stress-duration`, a bisect probe) never owed them, and a digest each costs ~4 ms."""


@attrs.frozen
class Seams:
    """Test seams and CLI knobs that are not part of the library's signature.

    Only `run_plan_with` / `run_with` take them; `replay.run` runs with the defaults.
    """

    kill_grace: float = KILL_GRACE
    """Seconds between SIGTERM and SIGKILL of a stopped job's group (`--kill-grace`)."""
    quarantine_delay: float = QUARANTINE_RETRY_DELAY
    """Seconds before a quarantined target's one retry (5 s by policy)."""
    watchdog: bool = True
    """Start the watchdog process that stops the jobs if replay itself dies."""
    base_env: Mapping[str, str] | None = None
    """The environment jobs start from; None: replay's own (`os.environ`)."""


def _signals_wanted(asked: bool | None) -> bool:
    """Whether the run takes SIGINT/SIGTERM: `asked`, or (None) only in the main thread."""
    main = threading.current_thread() is threading.main_thread()
    if asked and not main:
        msg = (
            "handle_signals=True needs the main thread (Python delivers signals there); "
            "run from the main thread, or stop the run by cancelling it"
        )
        raise ReplayError(msg)
    return main if asked is None else asked


async def run_plan(
    plan: Plan,
    run_dir: str | os.PathLike[str] | None = None,
    *,
    options: RunOptions | None = None,
) -> RunResult:
    """Run `plan` inside an anyio program and write its run directory (see `replay.run`).

    The parent summary's records a rerun needs travel in the plan (`rerun_plan`
    puts them there): running a rerun plan needs nothing more.
    """
    return await run_plan_with(plan, run_dir, options or RunOptions())


def run(
    plan: Plan,
    run_dir: str | os.PathLike[str] | None = None,
    *,
    options: RunOptions | None = None,
    backend: str = "asyncio",
) -> RunResult:
    """Run `plan` to its end and write its run directory; the blocking form of `run_plan`.

    Works from any thread: off the main thread no signal handler can be
    installed, so signals are not taken there (`handle_signals=True` is a
    `ReplayError`). A `ReplayError` raised during the run comes out as itself,
    never inside an exception group. `backend` is anyio's (`asyncio` or `trio`).
    """
    return run_with(plan, run_dir, options or RunOptions(), backend=backend)


def run_with(
    plan: Plan,
    run_dir: str | os.PathLike[str] | None,
    options: RunOptions,
    seams: Seams | None = None,
    *,
    backend: str = "asyncio",
) -> RunResult:
    """`run` with test seams: the CLI's and the tests' entry point."""
    return anyio.run(
        functools.partial(run_plan_with, plan, run_dir, options, seams), backend=backend
    )


async def run_plan_with(
    plan: Plan,
    run_dir: str | os.PathLike[str] | None,
    options: RunOptions,
    seams: Seams | None = None,
) -> RunResult:
    """`run_plan` with test seams; a `ReplayError` a task group wrapped comes out as itself."""
    try:
        return await _run_plan(
            plan,
            None if run_dir is None else Path(run_dir),
            options,
            seams or Seams(),
            handle_signals=_signals_wanted(options.handle_signals),
        )
    except Exception as exc:
        error = replay_error_in(exc)
        if error is None or error is exc:
            raise
        raise error from exc


async def _run_plan(
    plan: Plan, run_dir: Path | None, options: RunOptions, seams: Seams, *, handle_signals: bool
) -> RunResult:
    """Run `plan` and write its artifacts; never raises for a failing job.

    With `handle_signals` (in the main thread), SIGINT and SIGTERM stop the
    running jobs (their whole process groups; a second signal skips the rest of
    the grace period), the summary is written with status `interrupted`, and the
    result's exit code is 130. The run takes both signals from its first
    instruction to its last; one that comes after the summary's status was
    decided is passed on to the handler that was in place before the run.
    """
    run_id = options.run_id
    environment_extra = options.environment_extra
    with Interrupts(handle_signals) as interrupts:
        started = utc_now()
        if run_dir is None:
            run_dir, generated_id = default_run_dir(options.out_root, started)
            run_id = run_id or generated_id
        run_id = run_id or make_run_id(started)
        # One writer at a time; then what an earlier run left under this run's names goes.
        # The lock is released at the end of the run, or with the process however it ends.
        lock = lock_run_dir(run_dir, started_at=iso(started))
        run_dir = lock.path
        clean_run_dir(run_dir, (safe_component(job.id) for job in plan.jobs))
        summary_path = run_dir / SUMMARY_NAME
        env = dict(os.environ if seams.base_env is None else seams.base_env)
        # One redactor for everything this run writes: the secrets of replay's environment,
        # of every job's env (the config's and --env's) and of the targets it carries.
        redactor = Redactor.from_environments(
            env, *(job.env for job in plan.jobs), *(t.env for t in plan.carried)
        )
        events = EventLog(run_dir / EVENTS_NAME)
        events.emit("run_started", run_id=run_id, jobs=len(plan.jobs), at=iso(started))
        # The basic facts now; git and tool versions (hundreds of ms) are gathered while the
        # jobs run, and environment.json is rewritten with them at the end.
        environment = _environment(
            plan, run_id, env, tools={}, git={}, extra=environment_extra, redactor=redactor
        )
        # Not fsynced: a placeholder until the end of the run writes it again (durably).
        write_json_atomic(run_dir / ENVIRONMENT_NAME, environment, durable=False)
        gathering = _gather_facts(plan) if options.collect_environment and plan.jobs else None
        executor = Executor(
            plan,
            run_dir,
            listener=_EventListener(events, options.listener),
            base_env=env,
            kill_grace=seams.kill_grace,
            run_id=run_id,
            stop_when=options.stop_when,
            stop_after=options.stop_after,
            quarantine_delay=seams.quarantine_delay,
            watchdog=Watchdog() if seams.watchdog and plan.jobs else None,
        )
        try:
            async with anyio.create_task_group() as tg:
                # Its own scope: the signal watcher lives on while the running jobs are stopped.
                with anyio.CancelScope() as running:
                    if interrupts.taken:
                        await tg.start(_watch_signals, interrupts, executor, running)
                    await executor.run()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                if gathering is not None:
                    # An interrupted run does not wait for git and tool versions.
                    give_up = functools.partial(_interrupted, interrupts, executor)
                    tools, git = await anyio.to_thread.run_sync(
                        in_worker(_facts), gathering, give_up
                    )
                    environment = _environment(
                        plan,
                        run_id,
                        env,
                        tools=tools,
                        git=git,
                        extra=environment_extra,
                        redactor=redactor,
                    )
                    write_json_atomic(run_dir / ENVIRONMENT_NAME, environment)
                # In a worker thread: digests of a big log take seconds, and a signal that
                # comes meanwhile must still be counted before the status is decided.
                summary = await anyio.to_thread.run_sync(
                    in_worker(
                        functools.partial(
                            _finish,
                            plan,
                            executor,
                            run_dir=run_dir,
                            run_id=run_id,
                            started=started,
                            environment=environment,
                            post_process=options.post_process,
                            drop_unstarted=options.drop_unstarted,
                            interrupted=functools.partial(_decide, interrupts, executor),
                            redactor=redactor,
                        )
                    )
                )
                events.emit(
                    "run_finished",
                    run_id=run_id,
                    status=summary.status.value,
                    at=summary.finished_at,
                )
                events.close()
                if executor.watchdog is not None:
                    executor.watchdog.close()
                lock.release()
        return RunResult(
            summary=summary,
            run_dir=run_dir,
            summary_path=summary_path,
            outcomes=executor.outcomes(),
        )


def _environment(
    plan: Plan,
    run_id: str,
    env: Mapping[str, str],
    *,
    tools: Mapping[str, str | None],
    git: Mapping[str, str | None],
    extra: Mapping[str, Any] | None,
    redactor: Redactor,
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
        redactor=redactor,
    )
    document.update(redactor.data(dict(extra or {})))
    return document


FACTS_TIMEOUT = 10.0
"""Seconds the end of a run waits for git and tool versions before writing without them."""


Facts = tuple["Future[dict[str, str | None]]", "Future[dict[str, str | None]]"]


def _gather_facts(plan: Plan) -> Facts:
    """Start asking for tool versions (of the runners the plan uses) and git facts."""
    pool = ThreadPoolExecutor(
        max_workers=2, thread_name_prefix="replay-facts", initializer=block_in_this_thread
    )
    tools = tools_for(tuple(sorted({job.adapter for job in plan.jobs})))
    facts = (pool.submit(tool_versions, tools), pool.submit(git_info, os.getcwd()))
    pool.shutdown(wait=False)
    return facts


def _facts(
    facts: Facts, give_up: Callable[[], bool]
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """The gathered facts; none after FACTS_TIMEOUT, or as soon as `give_up()` says so."""
    deadline = time.monotonic() + FACTS_TIMEOUT
    while not all(f.done() for f in facts):
        if give_up() or time.monotonic() > deadline:
            return {}, {}
        wait_futures(facts, timeout=0.05)
    try:
        return facts[0].result(), facts[1].result()
    except Exception:  # missing facts never fail a run
        return {}, {}


def _interrupted(interrupts: Interrupts, executor: Executor) -> bool:
    return interrupts.count > 0 or executor.interrupted


def _decide(interrupts: Interrupts, executor: Executor) -> bool:
    # Both are asked: `decide` takes note of the signals the summary accounts for.
    by_signal = interrupts.decide()
    return by_signal or executor.interrupted


def _finish(
    plan: Plan,
    executor: Executor,
    *,
    run_dir: Path,
    run_id: str,
    started: datetime,
    environment: Mapping[str, Any],
    post_process: tuple[PostProcess, ...],
    interrupted: Callable[[], bool],
    redactor: Redactor,
    drop_unstarted: bool = False,
) -> Summary:
    summary_path = run_dir / SUMMARY_NAME
    outcomes = executor.outcomes()
    if drop_unstarted:
        outcomes = tuple(o for o in outcomes if o.attempts)
    summary = build_summary(
        plan,
        outcomes,
        run_id=run_id,
        started_at=iso(started),
        finished_at=iso(utc_now()),
        interrupted=executor.interrupted,
        summary_path=display_path(summary_path),
        previous={t.name: t for t in plan.parent},
    )
    summary = _with_result_paths(summary, plan, run_dir, redactor)
    if plan.rerun_from is not None:
        summary = _with_carried_files(summary, Path(plan.rerun_from).parent, run_dir)
    from replay._exec.postprocess import failure_digests_step, view_step

    # Digests first: later steps (triage) compare root causes.
    for step in (failure_digests_step(redactor), *post_process):
        summary = step(summary, run_dir)
    write_json_atomic(
        run_dir / BUNDLE_NAME,
        bundle_document(
            summary,
            summary_path=display_path(summary_path),
            generated_at=summary.finished_at,
            environment=environment,
            redactor=redactor,
        ),
    )
    # The status is decided last, just before the summary is written: a signal that came
    # while the digests were built still makes the run `interrupted` (and exit 130).
    status = run_status(
        summary.targets, interrupted=interrupted(), policy_failures=summary.policy_failures
    )
    summary = attrs.evolve(summary, status=status)
    write_json_atomic(summary_path, summary_document(summary, redactor))
    # The views last, from the summary as written: the page and the trace never show a
    # status the summary does not have (a signal during the digests makes both `interrupted`).
    view_step(redactor)(summary, run_dir)
    return summary


def _with_result_paths(summary: Summary, plan: Plan, run_dir: Path, redactor: Redactor) -> Summary:
    """Write `<job>/result.json` for each executed target and record its path."""
    jobs = {j.target: j for j in plan.jobs}
    targets: list[TargetResult] = []
    for target in summary.targets:
        job = jobs.get(target.name)
        recorded = target
        if job is not None and target.decided_by == summary.run_id:
            relative = result_path(job.id)
            recorded = attrs.evolve(target, result=relative)
            # The summary holds the same record and is fsynced; one fsync per target
            # cost more than spawning a trivial job.
            write_json_atomic(
                run_dir / relative, result_document(recorded, redactor), durable=False
            )
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
