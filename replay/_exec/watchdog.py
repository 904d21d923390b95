"""The run's mark, and a watchdog that stops a run's jobs if `replay` itself dies.

Every job runs with the run's mark, a random secret, in its environment
(`REPLAY_WATCHDOG_MARK`), and so does every descendant that does not wipe its
environment: one that calls `setsid` or double-forks out of the job's process
group still carries it. `marked_pids` finds them through /proc; the executor
sweeps a job's marked processes when the job ends and the run's when the run
ends.

Jobs run in their own sessions, so nothing kills them when the orchestrator is
killed without a chance to clean up (SIGKILL, the OOM killer). One small process
per run, this module run as `python -I -m replay._exec.watchdog GRACE MARK`,
holds the read end of a pipe; `replay` writes `+PGID` when a job starts and
`-PGID` when its group is gone. When the pipe reaches EOF (replay exited,
however it exited) the watchdog stops every group still listed, and every
process carrying the run's mark: SIGTERM, a grace period, SIGKILL.

Its start is on every run's fixed cost: `-I` keeps the user's site directory and
`PYTHON*` variables out, and the module imports only cheap standard-library
modules at its top (no `typing`, `subprocess` or `secrets`, whose `hashlib`
loads OpenSSL: 80 ms); tests/test_watchdog.py holds it to that.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

TYPE_CHECKING = False  # `typing` costs the watchdog's start 5 ms; mypy knows this spelling
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Iterable

WATCHDOG_MARK = "REPLAY_WATCHDOG_MARK"
"""The environment variable that marks a run's jobs (a random secret per run)."""

JOB_VARIABLE = "REPLAY_JOB"
"""The environment variable that names a process's job (the executor sets it for each attempt)."""

WATCHDOG_GRACE = 1.0
"""Seconds between SIGTERM and SIGKILL for jobs orphaned by a killed replay."""


def new_mark() -> str:
    """A fresh run mark: a secret, so that a sweep never touches another run's processes.

    `os.urandom` is what `secrets.token_hex` reads, without importing `hashlib`.
    """
    return os.urandom(16).hex()


def carries(environ: bytes, mark: str, job: str | None = None) -> bool:
    """Whether an environment block (`NAME=value` entries, each ended by NUL) carries `mark`.

    With `job`, the block must also name that job, so one job's sweep leaves
    the other running jobs of the run alone.
    """
    block = b"\0" + environ
    if os.fsencode(f"\0{WATCHDOG_MARK}={mark}\0") not in block:
        return False
    return job is None or os.fsencode(f"\0{JOB_VARIABLE}={job}\0") in block


def process_carries(pid: int, mark: str, job: str | None = None) -> bool:
    """Whether process `pid` carries `mark` (False when it is gone, a zombie or not readable)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            environ = handle.read()
    except OSError:
        return False
    return carries(environ, mark, job)


def marked_pids(mark: str, job: str | None = None, *, born_after: int = 0) -> tuple[int, ...]:
    """Live processes carrying `mark` (and `job`): a /proc scan; none where there is no /proc.

    About 6 us a process. `born_after` (a job's own pid) narrows the scan to the
    pids the kernel allocated since: a job's descendants are younger than the job.
    """
    if not mark:
        return ()
    try:
        names = os.listdir("/proc")
    except OSError:
        return ()
    own = os.getpid()
    last = _last_pid() if born_after else None
    younger = allocated_since(born_after, last) if last is not None else None
    return tuple(
        pid
        for pid in (int(name) for name in names if name.isdigit())
        if pid != own and (younger is None or younger(pid)) and process_carries(pid, mark, job)
    )


def allocated_since(first: int, last: int) -> Callable[[int], bool]:
    """Whether a pid was allocated from `first` to `last` (the latest): pids count up, then wrap."""
    if last >= first:
        return lambda pid: first <= pid <= last
    return lambda pid: pid >= first or pid <= last  # wrapped around once since `first`


def _last_pid() -> int | None:
    try:
        with open("/proc/sys/kernel/ns_last_pid", "rb") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return None


def serve(lines: Iterable[str], grace: float, mark: str) -> int:
    """The watchdog process: follow the pipe's `lines`; at EOF stop what is left of the run."""
    groups: set[int] = set()
    for line in lines:
        sign, pgid = line[:1], int(line[1:])
        if sign == "+":
            groups.add(pgid)
        else:
            groups.discard(pgid)
    # Marked processes include a job whose group replay never reported (it died in between)
    # and descendants that left their job's group.
    for pid in marked_pids(mark):
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(pid))
    if groups:
        _signal_all(groups, signal.SIGTERM)
        time.sleep(grace)
        _signal_all(groups, signal.SIGKILL)
    return 0


def _signal_all(groups: set[int], signum: int) -> None:
    for pgid in groups:
        with contextlib.suppress(OSError):
            os.killpg(pgid, signum)


class Watchdog:
    """The orchestrator's side of the watchdog pipe."""

    def __init__(self, grace: float = WATCHDOG_GRACE, mark: str | None = None) -> None:
        self.mark = mark or new_mark()
        """Put into every job's environment as `REPLAY_WATCHDOG_MARK`."""
        import subprocess  # replay's side only: the watchdog process does without it

        self._process: subprocess.Popen[bytes] | None = None
        try:
            # Infrastructure, not a test job: a plain Popen, in its own session so a
            # Ctrl-C to the terminal's process group does not reach it.
            self._process = subprocess.Popen(
                command(grace, self.mark),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
        except OSError:
            self._process = None  # no watchdog is a degraded run, not a failed one

    def _send(self, line: str) -> None:
        process = self._process
        if process is None or process.stdin is None:
            return
        try:
            os.write(process.stdin.fileno(), line.encode())
        except OSError:
            self._process = None

    def track(self, pgid: int) -> None:
        """A job's group exists now."""
        self._send(f"+{pgid}\n")

    def untrack(self, pgid: int) -> None:
        """A job's group is gone."""
        self._send(f"-{pgid}\n")

    def close(self) -> None:
        """Normal end: every group is gone, so the watchdog has nothing left to do.

        It is killed and reaped, not told to stop: it carries the run's environment,
        and nothing of a run outlives it (DESIGN), but after a short run it is still
        starting, and waiting for it to read a message cost ~20 ms of the run. Killed,
        it never reaches EOF, so it never acts.
        """
        process, self._process = self._process, None
        if process is None:
            return
        process.kill()
        process.wait()
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()


def command(grace: float, mark: str) -> list[str]:
    """The watchdog process's argv: this module, run isolated by the interpreter running replay."""
    return [sys.executable, "-I", "-m", "replay._exec.watchdog", repr(float(grace)), mark]


def main(argv: list[str]) -> int:
    """`python -I -m replay._exec.watchdog GRACE MARK`, fed by replay on stdin."""
    grace, mark = argv
    return serve(sys.stdin, float(grace), mark)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
