"""The executor, with real child processes, on both anyio backends."""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import anyio
import attrs
import pytest
from _support import make_job as job

from replay._exec.executor import MAX_BACKOFF, Executor, retry_delay
from replay._exec.procs import group_members
from replay._exec.run import RunOptions, RunResult, Seams, run_with
from replay._model.models import (
    Attempt,
    Backoff,
    ChainState,
    Granularity,
    Job,
    Plan,
    RetryPolicy,
    TargetStatus,
    TestResult,
    TestStatus,
)
from replay._model.outcomes import JobOutcome
from replay._model.quarantine import QUARANTINE_POLICY

BACKENDS = ["asyncio", "trio"]
PY = sys.executable


def execute(tmp_path: Path, backend: str, *jobs: Job, **plan_fields: object) -> RunResult:
    """Run `jobs` as a plan in `tmp_path/run`, without signal handling or tool probing."""
    plan = Plan(jobs=jobs, **plan_fields)  # type: ignore[arg-type]
    options = RunOptions(handle_signals=False, collect_environment=False)
    return run_with(plan, tmp_path / "run", options, Seams(kill_grace=0.2), backend=backend)


def statuses(result: RunResult) -> dict[str, str]:
    """Target name -> status value."""
    return {t.name: t.status.value for t in result.summary.targets}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test runs on asyncio and on trio."""
    return str(request.param)


def test_exit_codes_become_statuses(tmp_path: Path, backend: str) -> None:
    """Exit 0 passes, non-zero fails, a signal is a crash; the run fails."""
    result = execute(
        tmp_path,
        backend,
        job("ok", "true"),
        job("bad", "sh", "-c", "exit 3"),
        job("crash", "sh", "-c", "kill -SEGV $$"),
        parallelism=3,
    )
    expected = {"ok": "passed", "bad": "failed", "crash": "crashed"}
    assert expected == statuses(result)
    by_name = {t.name: t for t in result.summary.targets}
    assert 3 == by_name["bad"].exit_code
    assert 11 == by_name["crash"].signal
    assert 1 == result.exit_code


def test_output_goes_to_the_log(tmp_path: Path, backend: str) -> None:
    """stdout and stderr both land in `<job>/output.log`, relative paths in the summary."""
    result = execute(tmp_path, backend, job("talk", "sh", "-c", "echo out; echo err >&2"))
    target = result.summary.targets[0]
    assert "talk/output.log" == target.log
    assert {"out", "err"} == set((result.run_dir / "talk/output.log").read_text().split())


@pytest.mark.slow
@pytest.mark.parametrize("jobs_at_once", [1, 2, 3])
def test_parallelism_is_bounded(tmp_path: Path, backend: str, jobs_at_once: int) -> None:
    """Never more than `parallelism` jobs run at the same time."""
    marks = tmp_path / "marks"
    marks.mkdir()
    script = (
        "import os, sys, time; d = sys.argv[1]; n = sys.argv[2]\n"
        "open(os.path.join(d, n + '.start'), 'w').write(repr(time.monotonic()))\n"
        "time.sleep(0.15)\n"
        "open(os.path.join(d, n + '.end'), 'w').write(repr(time.monotonic()))\n"
    )
    jobs = [job(f"j{i}", PY, "-c", script, str(marks), f"j{i}") for i in range(7)]
    execute(tmp_path, backend, *jobs, parallelism=jobs_at_once)
    spans = [
        (float((marks / f"j{i}.start").read_text()), float((marks / f"j{i}.end").read_text()))
        for i in range(7)
    ]
    most = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
    assert most <= jobs_at_once
    assert most >= 1


def _alive(pid_file: Path) -> tuple[int, ...]:
    pgid = int(pid_file.read_text().split()[0])
    return group_members(pgid)


def test_timeout_kills_the_whole_group(tmp_path: Path, backend: str) -> None:
    """A timed-out `sh -c 'sleep 100 & sleep 100'` leaves no process alive."""
    pid_file = tmp_path / "pid"
    result = execute(
        tmp_path,
        backend,
        job("slow", "sh", "-c", f"echo $$ > {pid_file}; sleep 100 & sleep 100", timeout=0.3),
    )
    target = result.summary.targets[0]
    assert TargetStatus.TIMED_OUT == target.status
    assert target.attempts[-1].timed_out
    assert () == _alive(pid_file)


def test_timeout_escalates_to_sigkill(tmp_path: Path, backend: str) -> None:
    """A group that ignores SIGTERM is killed after the grace period."""
    pid_file = tmp_path / "pid"
    script = f"trap '' TERM; echo $$ > {pid_file}; sleep 100 & sleep 100; sleep 100"
    result = execute(tmp_path, backend, job("stubborn", "sh", "-c", script, timeout=0.3))
    assert TargetStatus.TIMED_OUT == result.summary.targets[0].status
    assert () == _alive(pid_file)


def test_leftover_background_processes_are_stopped(tmp_path: Path, backend: str) -> None:
    """A job that exits leaving a daemon behind passes, and the daemon does not survive."""
    pid_file = tmp_path / "pid"
    result = execute(
        tmp_path, backend, job("leaky", "sh", "-c", f"echo $$ > {pid_file}; sleep 60 &")
    )
    target = result.summary.targets[0]
    assert TargetStatus.PASSED == target.status
    assert "left processes running" in (target.attempts[-1].error or "")
    assert () == _alive(pid_file)


def test_missing_executable_is_a_failed_attempt(tmp_path: Path, backend: str) -> None:
    """A command that does not exist fails its target with a clear error; the run goes on."""
    result = execute(
        tmp_path, backend, job("ghost", "definitely-not-a-command-xyz"), job("ok", "true")
    )
    assert {"ghost": "failed", "ok": "passed"} == statuses(result)
    ghost = result.summary.targets[0]
    assert "definitely-not-a-command-xyz" in (ghost.attempts[0].error or "")
    assert "cannot start" in (result.run_dir / "ghost/output.log").read_text()


def test_bad_cwd_is_a_failed_attempt(tmp_path: Path, backend: str) -> None:
    """A working directory that does not exist is named in the error."""
    result = execute(tmp_path, backend, job("lost", "true", cwd=str(tmp_path / "nowhere")))
    attempt = result.summary.targets[0].attempts[0]
    assert TargetStatus.FAILED == result.summary.targets[0].status
    assert "nowhere" in (attempt.error or "")


def test_non_utf8_output_is_recorded(tmp_path: Path, backend: str) -> None:
    """Binary output is kept byte for byte and does not upset the run."""
    script = "import sys; sys.stdout.buffer.write(bytes(range(256)) * 4)"
    result = execute(tmp_path, backend, job("binary", PY, "-c", script))
    assert TargetStatus.PASSED == result.summary.targets[0].status
    assert bytes(range(256)) * 4 == (result.run_dir / "binary/output.log").read_bytes()


def test_environment_overrides_extend_the_environment(tmp_path: Path, backend: str) -> None:
    """Job env overrides are added to, not substituted for, the orchestrator's environment."""
    script = "import os; print(os.environ['EXTRA'], 'PATH' in os.environ)"
    result = execute(tmp_path, backend, job("env", PY, "-c", script, env={"EXTRA": "yes"}))
    assert "yes True" == (result.run_dir / "env/output.log").read_text().strip()


def test_fail_fast_starts_nothing_after_a_failure(tmp_path: Path, backend: str) -> None:
    """With fail-fast at -j 1, the jobs after the first failure are not run."""
    result = execute(
        tmp_path,
        backend,
        job("a", "true"),
        job("b", "false"),
        job("c", "true"),
        job("d", "true"),
        parallelism=1,
        fail_fast=True,
    )
    assert {"a": "passed", "b": "failed", "c": "not_run", "d": "not_run"} == statuses(result)
    outstanding = [t.name for t in result.summary.outstanding]
    assert ["b", "c", "d"] == outstanding


def test_max_failures_stops_after_n(tmp_path: Path, backend: str) -> None:
    """`max_failures=2` lets two failures happen, then starts nothing new."""
    jobs = [job(f"f{i}", "false") for i in range(4)]
    result = execute(tmp_path, backend, *jobs, parallelism=1, max_failures=2)
    assert ["failed", "failed", "not_run", "not_run"] == [
        t.status.value for t in result.summary.targets
    ]


def test_retry_turns_pass_after_fail_into_flaky(tmp_path: Path, backend: str) -> None:
    """A job failing once then passing is flaky; every attempt is recorded with its number."""
    counter = tmp_path / "count"
    script = (
        "import pathlib, sys; p = pathlib.Path(sys.argv[1]);"
        "n = int(p.read_text()) if p.exists() else 0; p.write_text(str(n + 1));"
        "sys.exit(1 if n == 0 else 0)"
    )
    result = execute(
        tmp_path,
        backend,
        job("flaky", PY, "-c", script, str(counter)),
        retry=RetryPolicy(retries=2, delay=0.01, backoff=Backoff.EXPONENTIAL),
    )
    target = result.summary.targets[0]
    assert TargetStatus.FLAKY == target.status
    assert [1, 2] == [a.number for a in target.attempts]
    assert "flaky/attempt-2/output.log" == target.attempts[1].log
    assert 0 == result.exit_code


def test_retry_is_refused_when_the_command_cannot_start(tmp_path: Path, backend: str) -> None:
    """Retrying a missing executable cannot help: one attempt, and the reason is recorded."""
    result = execute(
        tmp_path, backend, job("ghost", "no-such-command-abc"), retry=RetryPolicy(retries=3)
    )
    target = result.summary.targets[0]
    assert 1 == len(target.attempts)
    assert "retrying cannot help" in (target.retry_refused or "")


def test_retry_is_refused_after_too_many_failures(tmp_path: Path, backend: str) -> None:
    """Beyond `--retry-max-failures` failed targets, the build is broken: no retries."""
    jobs = [job(f"f{i}", "false") for i in range(3)]
    result = execute(
        tmp_path, backend, *jobs, parallelism=1, retry=RetryPolicy(retries=2, max_failures=1)
    )
    attempts = [len(t.attempts) for t in result.summary.targets]
    assert [3, 1, 1] == attempts
    assert "broken build" in (result.summary.targets[2].retry_refused or "")


def test_serial_jobs_of_one_target_never_overlap(tmp_path: Path, backend: str) -> None:
    """Two jobs of one `serial` target run one after the other even with room for both."""
    lock = tmp_path / "lock"
    script = (
        "import os, sys, time; p = sys.argv[1]\n"
        "fd = os.open(p, os.O_CREAT | os.O_EXCL)\n"  # fails if the other job holds it
        "time.sleep(0.1); os.close(fd); os.unlink(p)\n"
    )
    jobs = [
        Job(
            id=f"s{i}",
            target="s",
            kind="unit",
            adapter="generic",
            argv=(PY, "-c", script, str(lock)),
            serial=True,
        )
        for i in range(2)
    ]
    plan = Plan(jobs=tuple(jobs), parallelism=2)
    options = RunOptions(handle_signals=False, collect_environment=False)
    result = run_with(plan, tmp_path / "run", options, backend=backend)
    assert [0, 0] == [o.attempts[-1].exit_code for o in result.outcomes]


@pytest.mark.slow
def test_large_output_keeps_memory_flat(tmp_path: Path) -> None:
    """A job writing 200 MB leaves replay's own peak RSS far below the output size."""
    import subprocess

    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a wrapper forked from a
    # big pytest process would report pytest's size.
    wrapper = (
        "import re, sys\n"
        "from replay._cli import main\n"
        "code = main(sys.argv[1:])\n"
        "status = open('/proc/self/status').read()\n"
        "print(re.search(r'VmHWM:\\s+(\\d+)', status).group(1))\n"
        "sys.exit(code)\n"
    )
    writer = "import sys; b = b'x' * (1 << 20)\nfor _ in range(200): sys.stdout.buffer.write(b)"
    completed = subprocess.run(
        [PY, "-c", wrapper, "run", "-q", "--out", str(tmp_path / "run"), "--", PY, "-c", writer],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert 0 == completed.returncode, completed.stderr
    peak_mb = int(completed.stdout.strip().splitlines()[-1]) / 1024
    log = next((tmp_path / "run").glob("*/output.log"))
    assert 200 << 20 == log.stat().st_size
    assert peak_mb < 100


def test_no_process_of_the_test_leaked(tmp_path: Path) -> None:
    """Sanity check of the helper: a fresh group id has no members."""
    before = time.monotonic()
    assert () == group_members(os.getpid() + 10_000_000)
    assert time.monotonic() >= before


PYTEST_PROJECT = {
    "tests/test_retry.py": (
        "import pathlib\n"
        "def test_steady():\n"
        "    assert True\n"
        "def test_flaky():\n"
        "    flag = pathlib.Path('ran_once')\n"
        "    first = not flag.exists()\n"
        "    flag.touch()\n"
        "    assert not first\n"
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("granularity", "expected_retry_argv_tail"),
    [
        (Granularity.TEST, ("tests/test_retry.py::test_flaky",)),
        (Granularity.SUITE, ("tests",)),
    ],
)
def test_retry_runs_only_the_failed_tests(
    tmp_path: Path, granularity: Granularity, expected_retry_argv_tail: tuple[str, ...]
) -> None:
    """A retry narrows to the failed tests (as gotestsum's --rerun-fails), unless asked not to."""
    for relative, text in PYTEST_PROJECT.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    suite = job("py", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests")
    suite = attrs.evolve(suite, adapter="pytest", cwd=str(tmp_path))
    result = execute(
        tmp_path, "asyncio", suite, retry=RetryPolicy(retries=1, granularity=granularity)
    )
    (target,) = result.summary.targets
    first, second = target.attempts
    assert TargetStatus.FLAKY == target.status
    assert expected_retry_argv_tail == second.argv[-len(expected_retry_argv_tail) :]
    expected_targeted = (
        ("tests/test_retry.py::test_flaky",) if granularity is Granularity.TEST else ()
    )
    assert expected_targeted == second.targeted
    assert {"tests/test_retry.py::test_steady", "tests/test_retry.py::test_flaky"} == {
        t.name for t in target.tests
    }
    assert ChainState.PASSING == target.chain_state
    assert () == first.targeted


# --- processes that leave their job's group: swept by the run's mark ---------------------

ESCAPES = {
    # `setsid` from the job's shell: a new session, out of the job's group.
    "setsid": "setsid sh -c '{write_pid}; exec sleep 100' &",
    # A double fork: the middle process exits, the grandchild is re-parented and leaves.
    "double fork": "( setsid sh -c '{write_pid}; exec sleep 100' & ) ;",
}


def writing_pid(pid_file: Path) -> str:
    """Shell words that write the shell's pid and session id to `pid_file`, atomically."""
    # The shell opens /proc/self/stat itself: its own; the 6th field is the session.
    return (
        "read -r _ _ _ _ _ sid _ < /proc/self/stat; "
        f"echo $$ $sid > {pid_file}.tmp; mv {pid_file}.tmp {pid_file}"
    )


def escaping(pid_file: Path, style: str, then: str = "") -> tuple[str, ...]:
    """`sh -c`: start a descendant that leaves the group, wait until it wrote its pid, `then`."""
    start = ESCAPES[style].format(write_pid=writing_pid(pid_file))
    return ("sh", "-c", f"{start} while [ ! -s {pid_file} ]; do sleep 0.01; done; {then}")


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat.rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")


def escapee(pid_file: Path) -> int:
    """The escaped descendant's pid, once it is sure it left: it led a session of its own."""
    pid, sid = map(int, pid_file.read_text().split())
    assert pid == sid
    return pid


@pytest.mark.parametrize("style", sorted(ESCAPES))
def test_an_escaped_descendant_is_stopped_when_the_job_ends(
    tmp_path: Path, backend: str, style: str
) -> None:
    """A job passes but left a setsid/double-forked daemon: the daemon is stopped, and said so."""
    pid_file = tmp_path / "pid"
    result = execute(tmp_path, backend, job("leaves", *escaping(pid_file, style)))
    (target,) = result.summary.targets
    assert (TargetStatus.PASSED, False) == (target.status, alive(escapee(pid_file)))
    assert "left processes running after it exited; they were stopped" == target.attempts[0].error


@pytest.mark.slow
def test_an_escaped_descendant_is_stopped_when_the_job_times_out(
    tmp_path: Path, backend: str
) -> None:
    """A timed-out job's setsid descendant does not survive the timeout."""
    pid_file = tmp_path / "pid"
    argv = escaping(pid_file, "setsid", then="sleep 100")
    result = execute(tmp_path, backend, job("slow", *argv, timeout=1.0))
    (target,) = result.summary.targets
    assert (TargetStatus.TIMED_OUT, False) == (target.status, alive(escapee(pid_file)))


def test_an_escaped_descendant_is_stopped_when_the_run_is_cancelled(
    tmp_path: Path, backend: str
) -> None:
    """Cancelling the run (what a signal does) stops a setsid descendant as well as the job."""
    import anyio

    from replay._exec.run import run_plan_with
    from replay._inputs.readers import load_summary

    pid_file = tmp_path / "pid"
    plan = Plan(jobs=(job("leaves", *escaping(pid_file, "setsid", then="sleep 100")),))

    async def main() -> None:
        async def cancel_once_escaped() -> None:
            while not (pid_file.exists() and pid_file.read_text()):
                await anyio.sleep(0.01)
            tg.cancel_scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(cancel_once_escaped)
            await run_plan_with(
                plan,
                tmp_path / "run",
                RunOptions(handle_signals=False, collect_environment=False),
                Seams(kill_grace=0.5),
            )

    anyio.run(main, backend=backend)
    (target,) = load_summary(tmp_path / "run/summary.json").targets
    assert (TargetStatus.NOT_RUN, False) == (target.status, alive(escapee(pid_file)))


def test_a_descendant_that_renamed_its_job_is_stopped_when_the_run_ends(
    tmp_path: Path, backend: str
) -> None:
    """A descendant with the run's mark but another REPLAY_JOB: the run's end stops it."""
    pid_file = tmp_path / "pid"
    script = (
        f"REPLAY_JOB=elsewhere setsid sh -c '{writing_pid(pid_file)}; exec sleep 100' & "
        f"while [ ! -s {pid_file} ]; do sleep 0.01; done"
    )
    result = execute(tmp_path, backend, job("renames", "sh", "-c", script))
    assert (TargetStatus.PASSED, False) == (
        result.summary.targets[0].status,
        alive(escapee(pid_file)),
    )


def test_one_jobs_sweep_leaves_the_other_jobs_running(tmp_path: Path, backend: str) -> None:
    """A job's end sweeps only its own descendants: a job still running carries the same mark."""
    long = job("long", "sh", "-c", "sleep 0.3; echo still here")
    result = execute(tmp_path, backend, job("quick", "true"), long, parallelism=2)
    assert {"quick": "passed", "long": "passed"} == statuses(result)
    assert "still here\n" == (tmp_path / "run/long/output.log").read_text()


@pytest.mark.parametrize(
    ("environ", "job_name", "expected"),
    [
        (b"A=1\0REPLAY_WATCHDOG_MARK=m1\0REPLAY_JOB=j\0", None, True),
        (b"REPLAY_WATCHDOG_MARK=m1\0", None, True),
        (b"REPLAY_WATCHDOG_MARK=m1\0REPLAY_JOB=j\0", "j", True),
        (b"REPLAY_WATCHDOG_MARK=m1\0REPLAY_JOB=j2\0", "j", False),
        (b"REPLAY_JOB=j\0REPLAY_WATCHDOG_MARK=m1\0", "j", True),
        (b"REPLAY_WATCHDOG_MARK=m10\0", None, False),
        (b"XREPLAY_WATCHDOG_MARK=m1\0", None, False),
        (b"A=REPLAY_WATCHDOG_MARK=m1\0", None, False),
        (b"", None, False),
    ],
)
def test_the_mark_is_matched_whole(environ: bytes, job_name: str | None, expected: bool) -> None:
    """A mark (and a job name) matches only as a whole `NAME=value` entry of the environment."""
    from replay._exec.watchdog import carries

    assert expected == carries(environ, "m1", job_name)


def test_a_second_signal_skips_the_grace_period(backend: str) -> None:
    """`stop_group` with `hurry` SIGKILLs a group that ignores SIGTERM without a 60 s wait."""
    import subprocess

    import anyio

    from replay._exec.procs import stop_group

    leader = subprocess.Popen(
        ["sh", "-c", "trap '' TERM; sleep 100 & sleep 100"], start_new_session=True
    )

    async def stop() -> None:
        with anyio.fail_after(10):
            await stop_group(leader.pid, 60.0, hurry=lambda: True)

    try:
        anyio.run(stop, backend=backend)
    finally:
        leader.kill()
        leader.wait()
    assert () == group_members(leader.pid)


@pytest.mark.parametrize(
    ("first", "last", "pids", "expected"),
    [
        (100, 200, (99, 100, 150, 200, 201), (False, True, True, True, False)),
        # Wrapped around since the job started: young pids are high or low, not in between.
        (
            4_000_000,
            300,
            (3_999_999, 4_000_000, 4_194_000, 300, 301),
            (False, True, True, True, False),
        ),
    ],
)
def test_a_jobs_descendants_are_the_pids_allocated_since_it_started(
    first: int, last: int, pids: tuple[int, ...], expected: tuple[bool, ...]
) -> None:
    """The job-end sweep reads only pids allocated after the job's own, across a wrap-around."""
    from replay._exec.watchdog import allocated_since

    assert expected == tuple(map(allocated_since(first, last), pids))


def test_the_sweep_scan_finds_a_process_by_mark_and_job() -> None:
    """`marked_pids` finds a process by its mark and job (from its own pid on), no other."""
    import subprocess

    from replay._exec.watchdog import marked_pids, new_mark

    mark = new_mark()
    env = {**os.environ, "REPLAY_WATCHDOG_MARK": mark, "REPLAY_JOB": "j"}
    process = subprocess.Popen(["sleep", "30"], env=env)
    try:
        found = (
            marked_pids(mark),
            marked_pids(mark, "j", born_after=process.pid),
            marked_pids(mark, "other"),
            marked_pids(new_mark()),
        )
    finally:
        process.kill()
        process.wait()
    assert ((process.pid,), (process.pid,), (), ()) == found


# --- the retry rules, through the spawn seam: scripted attempts, no processes --------------

PASS = Attempt(number=1, exit_code=0)
FAIL = Attempt(number=1, exit_code=1)
UNSTARTABLE = Attempt(number=1, error="cannot start 'nope': No such file or directory")
TIMED_OUT = Attempt(number=1, timed_out=True, error="timed out after 1s")
PYTEST_ARGV = ("python", "-m", "pytest", "-q", "tests")
T_OK, T_B, T_C = "tests/test_a.py::test_ok", "tests/test_a.py::test_b", "tests/test_a.py::test_c"
TWO_FAILED = attrs.evolve(
    FAIL,
    tests=(
        TestResult(T_OK, TestStatus.PASSED),
        TestResult(T_B, TestStatus.FAILED),
        TestResult(T_C, TestStatus.FAILED),
    ),
)
ALL_PASSED = attrs.evolve(PASS, tests=tuple(TestResult(t, TestStatus.PASSED) for t in (T_B, T_C)))
"""A retry of TWO_FAILED that shows its failed tests passing (an empty one could not)."""


class _NoJitter(random.Random):
    """An rng whose jitter is always 0, so delays are exact."""

    def random(self) -> float:
        """No jitter."""
        return 0.0


@attrs.define
class Scripted:
    """A fake spawn: attempt n is the job's n-th scripted one (the last repeats); records calls."""

    scripts: dict[str, tuple[Attempt, ...]]
    spawned: list[Job] = attrs.Factory(list)
    delays: list[float] = attrs.Factory(list)

    async def spawn(self, job: Job, number: int, earlier: Sequence[Attempt]) -> Attempt:
        """Return the scripted attempt, numbered."""
        self.spawned.append(job)
        script = self.scripts[job.id]
        return attrs.evolve(script[min(number, len(script)) - 1], number=number)

    async def sleep(self, seconds: float) -> None:
        """Record the delay instead of waiting."""
        self.delays.append(seconds)

    def ids(self) -> list[str]:
        """The job id of every attempt made, in order."""
        return [j.id for j in self.spawned]


def scripted_run(
    tmp_path: Path, backend: str, fake: Scripted, *jobs: Job, **plan_fields: object
) -> tuple[JobOutcome, ...]:
    """Run `jobs` one at a time through the executor with `fake` as its spawn and sleep."""
    # Scripted passes carry no tests: the `--no-tests` rule has its own tests (test_controls).
    plan_fields.setdefault("no_tests", "pass")
    plan = Plan(jobs=jobs, **plan_fields)  # type: ignore[arg-type]
    executor = Executor(
        plan,
        tmp_path / "run",
        base_env={},
        rng=_NoJitter(),
        spawn=fake.spawn,
        sleep=fake.sleep,
    )
    return anyio.run(executor.run, backend=backend)


@pytest.mark.parametrize(
    ("script", "expected_attempts", "expected_status"),
    [
        ((PASS,), 1, TargetStatus.PASSED),
        ((FAIL, PASS), 2, TargetStatus.FLAKY),
        ((FAIL, FAIL, PASS), 3, TargetStatus.FLAKY),
        ((FAIL,), 4, TargetStatus.FAILED),
    ],
)
def test_retries_stop_at_the_first_pass(
    tmp_path: Path,
    backend: str,
    script: tuple[Attempt, ...],
    expected_attempts: int,
    expected_status: TargetStatus,
) -> None:
    """Retries stop at the first pass; a pass after a failure is flaky."""
    fake = Scripted({"j": script})
    (outcome,) = scripted_run(tmp_path, backend, fake, job("j", "x"), retry=RetryPolicy(retries=3))
    assert (expected_attempts, expected_status) == (len(outcome.attempts), outcome.status)
    assert list(range(1, expected_attempts + 1)) == [a.number for a in outcome.attempts]


@pytest.mark.parametrize("retries", [0, 1, 2, 5])
def test_retries_make_at_most_n_plus_one_attempts(
    tmp_path: Path, backend: str, retries: int
) -> None:
    """`--retries N` makes at most N+1 attempts of a job that keeps failing."""
    fake = Scripted({"j": (FAIL,)})
    (outcome,) = scripted_run(
        tmp_path, backend, fake, job("j", "x"), retry=RetryPolicy(retries=retries)
    )
    assert (retries + 1, TargetStatus.FAILED) == (len(outcome.attempts), outcome.status)
    assert [0.0] * retries == fake.delays


@pytest.mark.parametrize(
    ("adapter", "first", "expected_refused"),
    [
        (
            "generic",
            UNSTARTABLE,
            "could not start (cannot start 'nope': No such file or directory); "
            "retrying cannot help",
        ),
        (
            "pytest",
            FAIL,
            "the runner failed before reporting any test (build or collection error?)",
        ),
        ("pytest", TIMED_OUT, None),
        ("pytest", TWO_FAILED, None),
        ("generic", FAIL, None),
    ],
    ids=["could-not-start", "no-test-reported", "timed-out", "tests-failed", "generic-failed"],
)
def test_a_retry_is_refused_when_it_cannot_help(
    tmp_path: Path, backend: str, adapter: str, first: Attempt, expected_refused: str | None
) -> None:
    """Could not start, or a test-aware runner that reported no test: no retry, with the reason."""
    fake = Scripted({"j": (first, ALL_PASSED)})
    suite = attrs.evolve(job("j", *PYTEST_ARGV), adapter=adapter)
    (outcome,) = scripted_run(tmp_path, backend, fake, suite, retry=RetryPolicy(retries=2))
    expected_attempts = 1 if expected_refused else 2
    assert (expected_refused, expected_attempts) == (outcome.retry_refused, len(outcome.attempts))


@pytest.mark.parametrize(
    ("max_failures", "expected_attempts"),
    [(0, [1, 1, 1]), (1, [2, 1, 1]), (2, [2, 2, 1]), (None, [2, 2, 2])],
)
def test_a_retry_is_refused_after_more_than_max_failures(
    tmp_path: Path, backend: str, max_failures: int | None, expected_attempts: list[int]
) -> None:
    """Once more targets failed than `max_failures`, failures are not retried (a broken build)."""
    fake = Scripted({"a": (FAIL,), "b": (FAIL,), "c": (FAIL,)})
    outcomes = scripted_run(
        tmp_path,
        backend,
        fake,
        job("a", "x"),
        job("b", "x"),
        job("c", "x"),
        retry=RetryPolicy(retries=1, max_failures=max_failures),
    )
    assert expected_attempts == [len(o.attempts) for o in outcomes]
    refused = [o.retry_refused is not None for o in outcomes]
    assert [n == 1 for n in expected_attempts] == refused


@pytest.mark.parametrize(
    ("plan_fields", "expected_spawned"),
    [
        ({"fail_fast": True}, ["a"]),
        ({"max_failures": 2}, ["a", "b"]),
        ({}, ["a", "b", "c", "d"]),
    ],
)
def test_failure_limits_stop_starting_new_jobs(
    tmp_path: Path, backend: str, plan_fields: dict[str, object], expected_spawned: list[str]
) -> None:
    """Fail-fast starts nothing after the first failure, `max_failures` nothing after the n-th."""
    fake = Scripted({"a": (FAIL,), "b": (FAIL,), "c": (PASS,), "d": (FAIL,)})
    outcomes = scripted_run(tmp_path, backend, fake, *(job(n, "x") for n in "abcd"), **plan_fields)
    assert expected_spawned == fake.ids()
    assert expected_spawned == [o.job.id for o in outcomes if o.attempts]


@pytest.mark.parametrize(
    ("quarantined", "policy", "expected_delays"),
    [
        (True, RetryPolicy(), [QUARANTINE_POLICY.retry.delay]),
        (True, RetryPolicy(delay=30.0), [30.0]),
        (False, RetryPolicy(), []),
    ],
    ids=["quarantined", "quarantined-longer-delay", "not-quarantined"],
)
def test_a_quarantined_job_gets_one_retry_after_the_policys_delay(
    tmp_path: Path,
    backend: str,
    quarantined: bool,
    policy: RetryPolicy,
    expected_delays: list[float],
) -> None:
    """A quarantined job gets one retry after the policy's delay (or more), even with retries 0."""
    fake = Scripted({"q": (FAIL,)})
    suite = job("q", "x", quarantined=quarantined)
    (outcome,) = scripted_run(tmp_path, backend, fake, suite, retry=policy)
    assert expected_delays == fake.delays
    assert 1 + len(expected_delays) == len(outcome.attempts)


@pytest.mark.parametrize(
    ("delay", "backoff", "expected_delays"),
    [
        (1.0, Backoff.FIXED, [1.0, 1.0, 1.0, 1.0, 1.0]),
        (5.0, Backoff.EXPONENTIAL, [5.0, 10.0, 20.0, 40.0, MAX_BACKOFF]),
        (40.0, Backoff.EXPONENTIAL, [40.0, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]),
        (500.0, Backoff.FIXED, [MAX_BACKOFF] * 5),
        (0.0, Backoff.EXPONENTIAL, [0.0] * 5),
    ],
)
def test_backoff_delays_double_and_are_capped(
    tmp_path: Path, backend: str, delay: float, backoff: Backoff, expected_delays: list[float]
) -> None:
    """Exponential backoff doubles the delay before each retry, never past `MAX_BACKOFF`."""
    fake = Scripted({"j": (FAIL,)})
    policy = RetryPolicy(retries=5, delay=delay, backoff=backoff)
    scripted_run(tmp_path, backend, fake, job("j", "x"), retry=policy)
    assert expected_delays == fake.delays


def test_the_jitter_adds_at_most_a_tenth() -> None:
    """Jitter adds at most a tenth to a retry's delay."""
    rng = random.Random(13)  # noqa: S311 - jitter, not a secret
    delays = [retry_delay(10.0, Backoff.FIXED, 1, rng) for _ in range(200)]
    assert (True, True) == (min(delays) >= 10.0, max(delays) < 11.0)


@pytest.mark.parametrize(
    ("policy", "expected_tests"),
    [
        (RetryPolicy(retries=1), [(), (T_B, T_C)]),
        (RetryPolicy(retries=1, granularity=Granularity.SUITE), [(), ()]),
        (RetryPolicy(retries=1, max_tests=1), [(), ()]),
        (RetryPolicy(retries=1, max_tests=2), [(), (T_B, T_C)]),
    ],
    ids=["test", "suite", "over-max-tests", "at-max-tests"],
)
def test_a_retry_is_narrowed_to_the_failed_tests(
    tmp_path: Path,
    backend: str,
    policy: RetryPolicy,
    expected_tests: list[tuple[str, ...]],
) -> None:
    """A retry runs only the failed tests, unless granularity is suite or > `max_tests` failed."""
    fake = Scripted({"py": (TWO_FAILED, ALL_PASSED)})
    suite = attrs.evolve(job("py", *PYTEST_ARGV), adapter="pytest")
    (outcome,) = scripted_run(tmp_path, backend, fake, suite, retry=policy)
    assert expected_tests == [j.tests for j in fake.spawned]
    narrowed = fake.spawned[-1]
    expected_argv_tail = expected_tests[-1] or ("tests",)
    assert expected_argv_tail == narrowed.argv[-len(expected_argv_tail) :]
    assert (suite, TargetStatus.FLAKY) == (outcome.job, outcome.status)
