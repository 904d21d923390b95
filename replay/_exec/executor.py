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
- retries with a delay and backoff, refused with a reason when they cannot help;
- the controls nextest users expect (issue 17): group limits and weights against
  the parallelism, slow jobs (and `terminate_after`), a leak timeout, setup jobs
  before the jobs that need them and teardown jobs after every run, `--no-tests`.
"""

from __future__ import annotations

import functools
import os
import random
import subprocess
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import anyio
import attrs

from replay._adapters import get_adapter
from replay._core.chain import retry_tests
from replay._core.planning import fits_command_line
from replay._core.signatures import scoped
from replay._exec.interrupts import in_worker
from replay._exec.procs import group_members, stop_group, stop_marked, wait_group_gone
from replay._exec.watchdog import WATCHDOG_MARK, Watchdog, new_mark
from replay._model.clock import now_iso
from replay._model.errors import ArtifactError
from replay._model.models import Attempt, Backoff, Job, Plan, TargetStatus
from replay._model.names import LOG_NAME, attempt_parts
from replay._model.outcomes import JobOutcome, attempt_status, could_not_start
from replay._model.quarantine import QUARANTINE_POLICY
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

PHASE_TIMEOUT = 600.0
"""Seconds a setup or teardown job without its own timeout may take: teardown runs after
Ctrl-C too, and a hung one must not keep the run from ending."""


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
    """Hears about the run as it happens (progress display, events.jsonl).

    A listener may also have these methods, called when present:
    `job_slow(job, number, elapsed)` when an attempt passes another slow period,
    `warning(job, text)` for what is worth saying but fails nothing (`--no-tests warn`),
    and `phase_finished(outcome)` when a setup or teardown job ends.
    """

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


def judged(
    job: Job, attempt: Attempt, no_tests: str, earlier: Sequence[Attempt] = ()
) -> tuple[Attempt, str | None]:
    """The attempt as the run's rules count it, and a warning to show, if any.

    A whole-suite attempt whose adapter saw no test, and that exited 0 or with its
    runner's own "no tests ran" code (pytest's 5), is the no-tests case:
    `--no-tests fail` fails it (the classic silent green: a filter that matched
    nothing), `pass` passes it and `warn` passes it with a warning. A retry that
    sees no test where an `earlier` attempt saw some fails whatever `--no-tests`
    says: it cannot show that the earlier failures pass. A leaky attempt fails when
    its job says leaks fail (nextest's LEAK-FAIL); otherwise it is only marked.
    """
    status = attempt_status(attempt)
    if status is TargetStatus.PASSED and attempt.leaked and job.leak_fail:
        return attrs.evolve(attempt, failed_by="leaked processes after it exited (leak_fail)"), None
    if not _saw_no_tests(job, attempt, status):
        return attempt, None
    text = f"no tests ran: the {job.adapter} adapter saw none"
    seen = next((a for a in earlier if a.tests), None)
    if seen is not None:
        reason = f"{text}, where attempt {seen.number} saw {len(seen.tests)}"
        return attrs.evolve(attempt, failed_by=reason), None
    if no_tests == "fail":
        return attrs.evolve(attempt, failed_by=f"{text} (--no-tests fail)"), None
    if status is not TargetStatus.PASSED:
        attempt = attrs.evolve(attempt, passed_by=f"{text} (--no-tests {no_tests})")
    return attempt, (text if no_tests == "warn" else None)


def _saw_no_tests(job: Job, attempt: Attempt, status: TargetStatus) -> bool:
    """Whether a whole-suite attempt ran no test and its runner said so (exit 0 or its code)."""
    whole = not job.tests and not attempt.targeted and not attempt.not_found
    if job.adapter == "generic" or not whole or attempt.tests or attempt.failed_by is not None:
        return False
    if status is TargetStatus.PASSED:
        return True
    no_tests_codes = get_adapter(job.adapter).no_tests_exit_codes
    return status is TargetStatus.FAILED and attempt.exit_code in no_tests_codes


class _Capacity:
    """The run's slots: `-j` shared by weight, and each group's own limit.

    Jobs start in plan order. One waiting for its group lets later jobs pass; one
    waiting for enough free slots holds the line, so a heavy job is never starved.
    """

    def __init__(self, total: int, groups: Mapping[str, int]) -> None:
        self.total = max(1, total)
        self.free = self.total
        self.groups = dict(groups)
        self.running: Counter[str] = Counter()
        self._changed = anyio.Event()

    def weight(self, job: Job) -> int:
        """Slots the job takes: its weight, at most all of them (nextest clamps too)."""
        return min(job.weight, self.total)

    def _group_full(self, job: Job) -> bool:
        limit = self.groups.get(job.group) if job.group is not None else None
        return limit is not None and self.running[job.group or ""] >= limit

    def next_job(self, pending: Sequence[Job]) -> int | None:
        """The index in `pending` of the job to start now, or None when the next must wait."""
        for index, job in enumerate(pending):
            if self._group_full(job):
                continue
            return index if self.weight(job) <= self.free else None
        return None

    def take(self, job: Job) -> None:
        self.free -= self.weight(job)
        if job.group is not None:
            self.running[job.group] += 1

    def give(self, job: Job) -> None:
        self.free += self.weight(job)
        if job.group is not None:
            self.running[job.group] -= 1
        self._changed.set()
        self._changed = anyio.Event()

    async def changed(self) -> None:
        await self._changed.wait()


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
        self._setup_failed: dict[str, str] = {}
        """Setup job name -> why it failed (the jobs naming it are `not_run`)."""
        self.phase_outcomes: list[JobOutcome] = []
        """Setup and teardown jobs, in the order they ran."""

    @property
    def interrupted(self) -> bool:
        """Whether the run was cancelled before every job had finished."""
        return self._state.interrupted

    async def run(self) -> tuple[JobOutcome, ...]:
        """Run every job; on cancellation, stop running jobs and return what is known.

        Setup jobs run first, one at a time; teardown jobs run last, however the
        run ended (an interrupt included).
        """
        capacity = _Capacity(self.plan.parallelism, self.plan.groups)
        try:
            async with anyio.create_task_group() as timers:
                if self.stop_after is not None:
                    timers.start_soon(self._stop_starting_after, self.stop_after)
                await self._run_setup()
                async with anyio.create_task_group() as tg:
                    await self._dispatch(tg, capacity)
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
                for job in self.plan.teardown:
                    await self._run_phase(job)
        return self.outcomes()

    async def _dispatch(self, tg: anyio.abc.TaskGroup, capacity: _Capacity) -> None:
        """Start the jobs in plan order as slots and group limits allow.

        A slot is taken before each job's task starts, so jobs start in plan order on
        every backend (trio does not run tasks in the order they were started).
        """
        pending = deque(self.plan.jobs)
        while pending:
            index = capacity.next_job(pending)
            if index is None:
                await capacity.changed()
                continue
            if self._state.stop_starting:
                break
            job = pending[index]
            del pending[index]  # the first, in O(1), unless a group holds the line
            blocked = self._blocked_by_setup(job)
            if blocked is not None:
                self._not_run(job, blocked)
                continue
            capacity.take(job)
            tg.start_soon(self._run_job, job, capacity)

    def _blocked_by_setup(self, job: Job) -> str | None:
        failed = [n for n in job.setup if n in self._setup_failed]
        return f"setup {failed[0]!r} failed: {self._setup_failed[failed[0]]}" if failed else None

    def _not_run(self, job: Job, reason: str) -> None:
        attempt = Attempt(number=1, error=reason, not_run=reason, argv=job.argv)
        outcome = JobOutcome(job=job, attempts=(attempt,))
        self._outcomes[job.id] = outcome
        self.listener.job_finished(outcome)

    def _hook(self, name: str, *args: object) -> None:
        """Call the listener's optional method `name`, if it has one."""
        method = getattr(self.listener, name, None)
        if method is not None:
            method(*args)

    async def _run_setup(self) -> None:
        """Run the plan's setup jobs in order; a failed one's reason blocks its jobs."""
        for job in self.plan.setup:
            if self._state.stop_starting:
                return
            outcome = await self._run_phase(job)
            if not outcome.status.ok:
                last = outcome.attempts[-1] if outcome.attempts else None
                end = (last.error if last else None) or (
                    f"exit code {last.exit_code}" if last else "not run"
                )
                self._setup_failed[job.target] = end

    async def _run_phase(self, job: Job) -> JobOutcome:
        """One attempt of a setup or teardown job (never retried), within `PHASE_TIMEOUT`."""
        if job.timeout is None:
            job = attrs.evolve(job, timeout=PHASE_TIMEOUT)
        self.listener.job_started(job, 1)
        attempt = await self._spawn(job, 1, ())
        self.listener.attempt_finished(job, attempt)
        outcome = JobOutcome(job=job, attempts=(attempt,))
        self.phase_outcomes.append(outcome)
        self._hook("phase_finished", outcome)
        return outcome

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

    async def _run_job(self, job: Job, capacity: _Capacity) -> None:
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
            capacity.give(job)

    def _max_attempts(self, job: Job) -> int:
        retries = self.plan.retry.retries if job.retries is None else job.retries
        if job.quarantined:
            retries = max(retries, QUARANTINE_POLICY.retry.retries)
        return 1 + retries

    def _refuse_retry(self, job: Job, attempt: Attempt) -> str | None:
        policy = self.plan.retry
        if could_not_start(attempt):
            return f"could not start ({attempt.error}); retrying cannot help"
        if attempt.failed_by is not None:
            return f"{attempt.failed_by}; retrying cannot help"
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
            attempt, warning = judged(job, attempt, self.plan.no_tests, attempts)
            if warning is not None:
                self._hook("warning", job, warning)
            attempts.append(attempt)
            self._outcomes[job.id] = JobOutcome(job=job, attempts=tuple(attempts))
            self.listener.attempt_finished(job, attempt)
            if attempt_status(attempt).ok:
                break
            if number == 1:
                self._state.failures += 1
                self._check_failure_limits()
            # A new failure signature stops here (`retry_on`, a quarantine's `signatures`).
            job, refused = scoped(job, attempt, self.plan.retry, retries_left=number < max_attempts)
            if refused is not None:
                break
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
        # What every record of this attempt says, however it ends.
        record = functools.partial(
            Attempt,
            number=number,
            started_at=started_at,
            log=relative_log,
            argv=argv,
            targeted=targeted,
        )
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
                return record(error=message, duration=time.monotonic() - start)
            if self.watchdog is not None:
                self.watchdog.track(process.pid)
            try:
                await self._supervise(process, job, number, ended)
            except anyio.get_cancelled_exc_class():
                if self.watchdog is not None:
                    self.watchdog.untrack(process.pid)
                # Keep the interrupted attempt on record, then let cancellation go on.
                interrupted = record(
                    duration=time.monotonic() - start,
                    **ended,  # type: ignore[arg-type]
                )
                self._outcomes[job.id] = JobOutcome(job=planned, attempts=(*earlier, interrupted))
                raise
        if self.watchdog is not None:
            self.watchdog.untrack(process.pid)
        duration = time.monotonic() - start
        refused = self._refused_report(job)
        readable = job if refused is None else attrs.evolve(job, junit_path=None)
        report = await anyio.to_thread.run_sync(in_worker(adapter.parse), log, directory, readable)
        return record(
            duration=duration,
            tests=tuple(attrs.evolve(t, attempt=number) for t in report.tests),
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
        self, process: anyio.abc.Process, job: Job, number: int, ended: dict[str, object]
    ) -> None:
        """Wait for the job; stop its whole group on timeout or cancellation, and sweep its mark.

        `ended` receives the attempt's end fields, also when cancelled.
        """
        timeout = job.timeout
        try:
            with anyio.fail_after(timeout) if timeout else _nullscope():
                terminated = await self._wait(process, job, number, ended)
            if terminated:
                with anyio.CancelScope(shield=True):
                    await self._stop(process, job)
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
            if not terminated:
                with anyio.CancelScope(shield=True):
                    await self._leaks(process, job, ended)
        ended.update(_exit_fields(process.returncode))

    async def _wait(
        self, process: anyio.abc.Process, job: Job, number: int, ended: dict[str, object]
    ) -> bool:
        """Wait for the process, reporting each slow period; True when `terminate_after` hit."""
        if not job.slow:
            await process.wait()
            return False
        periods = 0
        while True:
            with anyio.move_on_after(job.slow):
                await process.wait()
                return False
            periods += 1
            ended["slow"] = True
            self._hook("job_slow", job, number, periods * job.slow)
            if job.terminate_after is not None and periods >= job.terminate_after:
                ended["timed_out"] = True
                ended["error"] = (
                    f"timed out: slow for {periods} periods of {_seconds(job.slow)} "
                    f"(terminate_after = {job.terminate_after})"
                )
                return True

    async def _leaks(self, process: anyio.abc.Process, job: Job, ended: dict[str, object]) -> None:
        """After the job's exit: give its descendants the leak timeout, then stop what is left.

        What is still running then makes the attempt leaky (nextest's LEAK).
        """
        if job.leak_timeout:
            await wait_group_gone(process.pid, job.leak_timeout, hurry=self._hurry)
        if await self._stop(process, job):
            # The job exited but left descendants behind: no orphans survive a run.
            ended["leaked"] = True
            ended["error"] = "left processes running after it exited; they were stopped"

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
