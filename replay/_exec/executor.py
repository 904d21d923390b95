"""The one module that spawns processes: runs a plan's jobs with anyio.

- bounded parallelism (a capacity limiter), `serial` jobs of one target never overlap;
- every job in its own session, so a timeout or an interrupt stops the whole
  process group (SIGTERM, a grace period, SIGKILL), grandchildren included; at
  every job's end and the run's, what left the group (`setsid`, a double fork)
  is found by the run's mark in its environment and stopped too;
- output goes straight from the child to `output.log` (the child's stdout and
  stderr *are* the file): memory stays flat however much a job prints, and a
  daemon holding the pipe open cannot block the run;
- a missing executable or a bad cwd is a failed attempt, not a crash;
- retries with a delay and backoff, refused with a reason when they cannot help.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import anyio
import attrs

from replay._adapters import get_adapter
from replay._core.chain import retry_tests
from replay._core.planning import fits_command_line
from replay._exec.procs import group_members, stop_group, stop_marked
from replay._exec.watchdog import WATCHDOG_MARK, Watchdog, new_mark
from replay._inputs.quarantine import QUARANTINE_POLICY
from replay._model.clock import now_iso
from replay._model.errors import ArtifactError
from replay._model.models import Attempt, Backoff, Job, Plan
from replay._model.names import LOG_NAME, attempt_parts
from replay._model.outcomes import JobOutcome, attempt_status, could_not_start
from replay._store.rundir import (
    clear_job_files,
    create_file,
    make_directory,
    remove_stale_report,
    report_refusal,
)

KILL_GRACE = 3.0
"""Seconds between SIGTERM and SIGKILL: long enough to flush logs, short enough for CI."""

QUARANTINE_RETRY_DELAY = QUARANTINE_POLICY.retry.delay
"""Seconds before a quarantined target's retry: the policy's (`QUARANTINE_POLICY`)."""

MAX_BACKOFF = 60.0
"""Exponential backoff never waits longer than this between attempts."""


Spawn = Callable[[Job, int, Sequence[Attempt]], Awaitable[Attempt]]
"""Runs attempt `number` of a job (already narrowed for a retry) and returns it.

`earlier` holds the job's attempts before this one. The executor's own runs a
process; a test passes a fake that returns scripted attempts (gotestsum's
`startGoTestFn` shim), so the retry rules get tested without processes.
"""

Sleep = Callable[[float], Awaitable[None]]
"""Waits the delay before a retry: `anyio.sleep`, or a fake that records it."""


def attempt_dir(run_dir: Path, job: Job, number: int) -> Path:
    """Where attempt `number` of `job` keeps its log and runner files (always inside `run_dir`)."""
    return run_dir.joinpath(*attempt_parts(job.id, number))


class Listener(Protocol):
    """Hears about the run as it happens (progress display, events.jsonl)."""

    def job_started(self, job: Job, number: int) -> None:
        """Attempt `number` of `job` is starting."""

    def attempt_finished(self, job: Job, attempt: Attempt) -> None:
        """An attempt ended (any way)."""

    def job_finished(self, outcome: JobOutcome) -> None:
        """A job has no more attempts to make."""


class _Silent:
    def job_started(self, job: Job, number: int) -> None:
        pass

    def attempt_finished(self, job: Job, attempt: Attempt) -> None:
        pass

    def job_finished(self, outcome: JobOutcome) -> None:
        pass


def retry_delay(policy_delay: float, backoff: Backoff, retry: int, rng: random.Random) -> float:
    """Seconds to wait before retry number `retry` (1-based), with up to 10% jitter."""
    base = policy_delay if backoff is Backoff.FIXED else policy_delay * 2 ** (retry - 1)
    base = min(base, MAX_BACKOFF)
    # Jitter spreads retries of many jobs that failed together (a shared outage).
    return base * (1 + 0.1 * rng.random()) if base else 0.0


@attrs.define
class _RunState:
    failures: int = 0
    stop_starting: bool = False
    interrupted: bool = False
    signals: int = 0


class Executor:
    """Runs the jobs of one plan in one run directory."""

    def __init__(
        self,
        plan: Plan,
        run_dir: Path,
        *,
        listener: Listener | None = None,
        base_env: Mapping[str, str] | None = None,
        kill_grace: float = KILL_GRACE,
        quarantine_delay: float = QUARANTINE_RETRY_DELAY,
        rng: random.Random | None = None,
        run_id: str = "",
        stop_when: Callable[[tuple[JobOutcome, ...]], bool] | None = None,
        stop_after: float | None = None,
        watchdog: Watchdog | None = None,
        spawn: Spawn | None = None,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        self.plan = plan
        self.run_id = run_id or run_dir.name
        # Jobs carry the mark with or without a watchdog: the executor sweeps by it too.
        self.mark = watchdog.mark if watchdog is not None else new_mark()
        self.stop_when = stop_when
        """Asked after each finished job: True starts nothing new (a decided flake loop)."""
        self.stop_after = stop_after
        """Seconds after which nothing new starts (`--max-minutes`)."""
        self.watchdog = watchdog
        """Stops the jobs' groups if this process dies without cleaning up."""
        self.run_dir = run_dir
        self.listener: Listener = listener or _Silent()
        self.base_env = dict(os.environ if base_env is None else base_env)
        self.kill_grace = kill_grace
        self.quarantine_delay = quarantine_delay
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self._spawn: Spawn = spawn or self._attempt
        """Runs one attempt: a process by default, a scripted fake in unit tests."""
        self._sleep = sleep
        """Waits before a retry: a fake records the delays instead of waiting."""
        self._state = _RunState()
        self._serial_locks: dict[str, anyio.Lock] = {}
        self._outcomes: dict[str, JobOutcome] = {}
        self._planned = {job.id: job for job in plan.jobs}

    @property
    def interrupted(self) -> bool:
        """Whether the run was cancelled before every job had finished."""
        return self._state.interrupted

    async def run(self) -> tuple[JobOutcome, ...]:
        """Run every job; on cancellation, stop running jobs and return what is known."""
        limiter = anyio.CapacityLimiter(max(1, self.plan.parallelism))
        try:
            async with anyio.create_task_group() as timers:
                if self.stop_after is not None:
                    timers.start_soon(self._stop_starting_after, self.stop_after)
                async with anyio.create_task_group() as tg:
                    # Take a slot before starting each job, so jobs start in plan order on
                    # every backend (trio does not run tasks in the order they were started).
                    for job in self.plan.jobs:
                        slot = object()
                        await limiter.acquire_on_behalf_of(slot)
                        if self._state.stop_starting:
                            limiter.release_on_behalf_of(slot)
                            break
                        tg.start_soon(self._run_job, job, limiter, slot)
                timers.cancel_scope.cancel()
        except anyio.get_cancelled_exc_class():
            self._state.interrupted = True
            raise
        finally:
            for job in self.plan.jobs:
                self._outcomes.setdefault(job.id, JobOutcome(job=job))
            with anyio.CancelScope(shield=True):
                # Each job's end swept its own; this catches a descendant that renamed its
                # job (REPLAY_JOB) but kept the run's mark. Nothing marked outlives the run.
                await stop_marked(self.mark, self.kill_grace, hurry=self._hurry)
        return self.outcomes()

    def _finished(self) -> tuple[JobOutcome, ...]:
        return tuple(
            o for j in self.plan.jobs if (o := self._outcomes.get(j.id)) is not None and o.finished
        )

    def outcomes(self) -> tuple[JobOutcome, ...]:
        """The outcome of every job, in plan order (jobs never started have no attempts)."""
        return tuple(self._outcomes.get(j.id, JobOutcome(job=j)) for j in self.plan.jobs)

    async def _stop_starting_after(self, seconds: float) -> None:
        await anyio.sleep(seconds)
        self._state.stop_starting = True

    def mark_interrupted(self) -> None:
        """Record one interrupting signal (the signal watcher calls this for each).

        The first stops new attempts (the caller cancels the running ones); a
        later one cuts short the grace period of groups being stopped: SIGKILL now.
        """
        self._state.signals += 1
        self._state.interrupted = True
        self._state.stop_starting = True

    def _hurry(self) -> bool:
        """Whether stopping processes should skip what is left of the grace period."""
        return self._state.signals > 1

    def _lock_for(self, job: Job) -> anyio.Lock | None:
        if not job.serial:
            return None
        return self._serial_locks.setdefault(job.target, anyio.Lock())

    async def _run_job(self, job: Job, limiter: anyio.CapacityLimiter, slot: object) -> None:
        lock = self._lock_for(job)
        try:
            if lock is not None:
                await lock.acquire()
            try:
                await self._attempts(job)
            finally:
                if lock is not None:
                    lock.release()
        finally:
            limiter.release_on_behalf_of(slot)

    def _max_attempts(self, job: Job) -> int:
        retries = self.plan.retry.retries
        if job.quarantined:
            retries = max(retries, QUARANTINE_POLICY.retry.retries)
        return 1 + retries

    def _refuse_retry(self, job: Job, attempt: Attempt) -> str | None:
        policy = self.plan.retry
        if could_not_start(attempt):
            return f"could not start ({attempt.error}); retrying cannot help"
        if job.adapter != "generic" and not attempt.tests and not attempt.timed_out:
            return "the runner failed before reporting any test (build or collection error?)"
        if policy.max_failures is not None and self._state.failures > policy.max_failures:
            return (
                f"{self._state.failures} targets failed, more than --retry-max-failures "
                f"{policy.max_failures}: this looks like a broken build, not flakes"
            )
        return None

    async def _attempts(self, job: Job) -> None:
        attempts: list[Attempt] = []
        refused: str | None = None
        max_attempts = self._max_attempts(job)
        for number in range(1, max_attempts + 1):
            if self._state.stop_starting:
                break
            if number > 1:
                await self._sleep(self._delay(job, number))
            self.listener.job_started(job, number)
            attempt = await self._spawn(self._narrowed(job, attempts), number, tuple(attempts))
            attempts.append(attempt)
            self._outcomes[job.id] = JobOutcome(job=job, attempts=tuple(attempts))
            self.listener.attempt_finished(job, attempt)
            if attempt_status(attempt).ok:
                break
            if number == 1:
                self._state.failures += 1
                self._check_failure_limits()
            if number < max_attempts:
                refused = self._refuse_retry(job, attempt)
                if refused is not None:
                    break
        outcome = JobOutcome(job=job, attempts=tuple(attempts), retry_refused=refused)
        self._outcomes[job.id] = outcome
        if attempts:
            self.listener.job_finished(outcome)
        if self.stop_when is not None and self.stop_when(self._finished()):
            self._state.stop_starting = True

    def _narrowed(self, job: Job, earlier: list[Attempt]) -> Job:
        """The job a retry runs: only the failed tests of the last attempt where it can."""
        if not earlier:
            return job
        tests = retry_tests(earlier[-1], self.plan.retry)
        argv = get_adapter(job.adapter).targeted(job.argv, tests) if tests else None
        if argv is None or not fits_command_line(argv):
            return job  # the whole suite, as a rerun falls back when the ids do not fit
        return attrs.evolve(job, argv=argv, tests=tests)

    def _delay(self, job: Job, number: int) -> float:
        policy = self.plan.retry
        if job.quarantined:
            return max(self.quarantine_delay, policy.delay)
        return retry_delay(policy.delay, policy.backoff, number - 1, self.rng)

    def _check_failure_limits(self) -> None:
        plan = self.plan
        limit = 1 if plan.fail_fast else plan.max_failures
        if limit is not None and self._state.failures >= limit:
            self._state.stop_starting = True

    async def _attempt(self, job: Job, number: int, earlier: Sequence[Attempt]) -> Attempt:
        """The real `Spawn`: one attempt as a child process in its own session."""
        planned = self._planned.get(job.id, job)
        # A retry narrowed to failed tests records them; the outcome stays the planned job's.
        targeted = job.tests if job.tests != planned.tests else ()
        started_at = now_iso()
        start = time.monotonic()
        try:
            # Made without following a link planted in a reused run directory, then
            # emptied of what an earlier run wrote there (its log, result, junit.xml).
            directory = make_directory(self.run_dir, *attempt_parts(job.id, number))
            clear_job_files(directory)
            log = directory / LOG_NAME
            handle = os.fdopen(create_file(log), "wb")
        except ArtifactError as exc:
            return Attempt(
                number=number,
                error=f"cannot prepare the attempt's files: {exc}",
                started_at=started_at,
                duration=time.monotonic() - start,
                argv=job.argv,
                targeted=targeted,
            )
        relative_log = log.relative_to(self.run_dir).as_posix()
        adapter = get_adapter(job.adapter)
        argv = adapter.command(job, directory)
        if job.junit_path:
            # A report left by an earlier run must not pass for this attempt's results.
            remove_stale_report(job.cwd, job.junit_path, self.plan.root)
        env = {
            **self.base_env,
            **job.env,
            # Tell the job where it stands, as nextest does (a flaky script can use it).
            "REPLAY_RUN_ID": self.run_id,
            "REPLAY_JOB": job.id,
            "REPLAY_ATTEMPT": str(number),
            # Absolute: the job runs in its own cwd, not replay's.
            "REPLAY_ATTEMPT_DIR": os.path.abspath(directory),
            # A secret per run: the watchdog stops only processes carrying this run's mark.
            WATCHDOG_MARK: self.mark,
        }
        ended: dict[str, object] = {}
        with handle:
            try:
                process = await anyio.open_process(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    cwd=job.cwd,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                message = f"cannot start {argv[0]!r}: {exc.strerror or exc}"
                if job.cwd and not os.path.isdir(job.cwd):
                    message = f"cannot start: working directory {job.cwd!r} does not exist"
                handle.write(f"replay: {message}\n".encode())
                return Attempt(
                    number=number,
                    error=message,
                    started_at=started_at,
                    duration=time.monotonic() - start,
                    log=relative_log,
                    argv=argv,
                    targeted=targeted,
                )
            if self.watchdog is not None:
                self.watchdog.track(process.pid)
            try:
                await self._supervise(process, job, ended)
            except anyio.get_cancelled_exc_class():
                if self.watchdog is not None:
                    self.watchdog.untrack(process.pid)
                # Keep the interrupted attempt on record, then let cancellation go on.
                interrupted = Attempt(
                    number=number,
                    started_at=started_at,
                    duration=time.monotonic() - start,
                    log=relative_log,
                    argv=argv,
                    targeted=targeted,
                    **ended,  # type: ignore[arg-type]
                )
                self._outcomes[job.id] = JobOutcome(job=planned, attempts=(*earlier, interrupted))
                raise
        if self.watchdog is not None:
            self.watchdog.untrack(process.pid)
        duration = time.monotonic() - start
        refused = self._refused_report(job)
        readable = job if refused is None else attrs.evolve(job, junit_path=None)
        report = await anyio.to_thread.run_sync(adapter.parse, log, directory, readable)
        return Attempt(
            number=number,
            started_at=started_at,
            duration=duration,
            log=relative_log,
            tests=tuple(attrs.evolve(t, attempt=number) for t in report.tests),
            argv=argv,
            targeted=targeted,
            unseen=refused or report.unseen,
            not_found=report.not_found,
            **ended,  # type: ignore[arg-type]
        )

    def _refused_report(self, job: Job) -> str | None:
        """Why the job's `junit_path` is not read (outside the project, not a file), or None."""
        if not job.junit_path:
            return None
        return report_refusal(job.cwd, job.junit_path, self.plan.root)

    async def _supervise(
        self, process: anyio.abc.Process, job: Job, ended: dict[str, object]
    ) -> None:
        """Wait for the job; stop its whole group on timeout or cancellation, and sweep its mark.

        `ended` receives the attempt's end fields, also when cancelled.
        """
        timeout = job.timeout
        try:
            with anyio.fail_after(timeout) if timeout else _nullscope():
                await process.wait()
        except TimeoutError:
            ended["timed_out"] = True
            ended["error"] = f"timed out after {_seconds(timeout)}"
            with anyio.CancelScope(shield=True):
                await self._stop(process, job)
        except anyio.get_cancelled_exc_class():
            ended["interrupted"] = True
            ended["error"] = "interrupted"
            with anyio.CancelScope(shield=True):
                await self._stop(process, job)
                ended.update(_exit_fields(process.returncode))
            raise
        else:
            with anyio.CancelScope(shield=True):
                if await self._stop(process, job):
                    # The job exited but left descendants behind: no orphans survive a run.
                    ended["error"] = "left processes running after it exited; they were stopped"
        ended.update(_exit_fields(process.returncode))

    async def _stop(self, process: anyio.abc.Process, job: Job) -> bool:
        """Stop the job's group, reap its leader, then sweep what carries its mark.

        The group holds the job and its descendants, except those that left it
        (`setsid`, a double fork into a new session); they still carry the run's
        mark and the job's name. Returns whether anything besides the leader was left.
        """
        pgid = process.pid  # the session leader's pid is the group id
        left = bool(group_members(pgid))
        if left or process.returncode is None:
            await stop_group(pgid, self.kill_grace, hurry=self._hurry)
        await process.wait()
        escaped = await stop_marked(
            self.mark, self.kill_grace, job=job.id, born_after=pgid, hurry=self._hurry
        )
        return left or bool(escaped)


def _exit_fields(code: int | None) -> dict[str, object]:
    return {
        "exit_code": code if code is not None and code >= 0 else None,
        "signal": -code if code is not None and code < 0 else None,
    }


def _seconds(value: float | None) -> str:
    return f"{value:g}s" if value is not None else "?"


class _nullscope:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
