"""A watchdog that stops a run's jobs if `replay` itself dies (SIGKILL, OOM killer).

Jobs run in their own sessions, so nothing kills them when the orchestrator is
killed without a chance to clean up. One small process per run holds the read
end of a pipe; `replay` writes `+PGID` when a job starts and `-PGID` when its
group is gone. When the pipe reaches EOF (replay exited, however it exited) the
watchdog stops every group still listed, and every process carrying the run's
secret mark in its environment: SIGTERM, a grace period, SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys

WATCHDOG_MARK = "REPLAY_WATCHDOG_MARK"
"""The environment variable that marks a run's jobs (a random secret per run)."""

WATCHDOG_GRACE = 1.0
"""Seconds between SIGTERM and SIGKILL for jobs orphaned by a killed replay."""

_SCRIPT = r"""
import os, signal, sys, time
groups = set()
for line in sys.stdin:
    if line == "done\n":
        sys.exit(0)  # a normal end: replay stopped every group itself
    sign, pgid = line[:1], int(line[1:])
    if sign == "+":
        groups.add(pgid)
    else:
        groups.discard(pgid)
def marked():
    # Jobs carry the run's mark in their environment, and so do their descendants: this
    # finds a job even if replay died between spawning it and reporting its group.
    mark = ("\0REPLAY_WATCHDOG_MARK=" + sys.argv[2] + "\0").encode()
    found = set()
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return found
    for pid in pids:
        try:
            with open("/proc/" + pid + "/environ", "rb") as handle:
                if mark in b"\0" + handle.read():
                    found.add(os.getpgid(int(pid)))
        except OSError:
            pass
    return found
groups |= marked() if sys.argv[2] else set()
def signal_all(signum):
    for pgid in groups:
        try:
            os.killpg(pgid, signum)
        except OSError:
            pass
if groups:
    signal_all(signal.SIGTERM)
    time.sleep(float(sys.argv[1]))
    signal_all(signal.SIGKILL)
"""


class Watchdog:
    """The orchestrator's side of the watchdog pipe."""

    def __init__(self, grace: float = WATCHDOG_GRACE) -> None:
        self.mark = secrets.token_hex(16)
        """Put into every job's environment as `REPLAY_WATCHDOG_MARK`."""
        self._process: subprocess.Popen[bytes] | None = None
        try:
            # Infrastructure, not a test job: a plain Popen, in its own session so a
            # Ctrl-C to the terminal's process group does not reach it.
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _SCRIPT, str(grace), self.mark],
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
        """Normal end: every group is gone; let the watchdog exit without acting."""
        self._send("done\n")
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
