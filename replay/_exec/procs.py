"""Process housekeeping: is anyone left in a group, stopping a group, sweeping a mark.

Every job runs in its own session, so its process group holds the job and all
its descendants (except one that calls `setsid` itself). anyio's cancellation
kills only the direct child; these helpers signal the whole group, then every
process that still carries the job's mark (see `replay._exec.watchdog`).

Each stop takes `hurry`, asked while waiting out the grace period: when it
says yes (a second Ctrl-C), SIGKILL goes out at once.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
from collections.abc import Callable
from pathlib import Path

import anyio

from replay._exec.interrupts import in_worker
from replay._exec.watchdog import marked_pids, process_carries

POLL_INTERVAL = 0.02
"""How often to look whether a signalled group is gone (20 ms: well under the reaction target)."""

SWEEP_ROUNDS = 3
"""Scans per sweep: a marked process may fork between a scan and its signal; a rescan finds it."""


def _never() -> bool:
    return False


def _proc_stat_fields(pid_dir: Path) -> tuple[str, int] | None:
    try:
        data = (pid_dir / "stat").read_bytes()
    except OSError:
        return None
    # Fields after the command name, which is in parentheses and may hold spaces.
    rest = data[data.rfind(b")") + 2 :].split()
    if len(rest) < 3:
        return None
    return rest[0].decode("ascii", "replace"), int(rest[2])


def group_members(pgid: int) -> tuple[int, ...]:
    """Live (non-zombie) processes of group `pgid`.

    Zombies count as gone: in a container whose PID 1 does not reap, an exited
    grandchild stays a zombie forever and would otherwise look alive.
    """
    # Ask the kernel first (under a microsecond): most groups are simply gone. Only a group
    # that still answers is worth a /proc scan, which costs ~10 us per process on the host.
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return ()
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: zombies count as members
        return (pgid,)
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _proc_stat_fields(entry)
        if fields is not None and fields[1] == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return tuple(members)


def signal_group(pgid: int, signum: int) -> None:
    """Send `signum` to group `pgid`; a group that is already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


async def wait_group_gone(pgid: int, timeout: float, *, hurry: Callable[[], bool] = _never) -> bool:
    """Wait until group `pgid` has no live member, at most `timeout` seconds or until `hurry()`."""
    with anyio.move_on_after(timeout):
        while group_members(pgid):
            if hurry():
                return False
            await anyio.sleep(POLL_INTERVAL)
        return True
    return False


async def stop_group(pgid: int, grace: float, *, hurry: Callable[[], bool] = _never) -> None:
    """SIGTERM the group, wait `grace` seconds (less if `hurry()`), then SIGKILL what is left."""
    signal_group(pgid, signal.SIGTERM)
    if not await wait_group_gone(pgid, grace, hurry=hurry):
        signal_group(pgid, signal.SIGKILL)
        await wait_group_gone(pgid, 1.0)


class _Marked:
    """A process found carrying a mark, pinned by a pidfd where the kernel has them.

    A pidfd keeps a signal from reaching a new process that reused the pid after
    the marked one was reaped (by init, for a daemon that left its job).
    """

    def __init__(self, pid: int, mark: str, job: str | None) -> None:
        self.pid = pid
        self.fd: int | None = None
        with contextlib.suppress(AttributeError, OSError):  # no pidfd: Linux < 5.3, not Linux
            self.fd = os.pidfd_open(pid)
        if self.fd is not None and not process_carries(pid, mark, job):
            self.close()  # reaped and reused between the scan and pidfd_open
            self.pid = 0

    def send(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.fd is not None:
                signal.pidfd_send_signal(self.fd, signum)
            elif self.pid:
                os.kill(self.pid, signum)

    def alive(self) -> bool:
        if self.fd is not None:
            # A pidfd polls readable once the process has exited (a zombie counts as gone).
            poller = select.poll()
            poller.register(self.fd, select.POLLIN)
            return not poller.poll(0)
        fields = _proc_stat_fields(Path(f"/proc/{self.pid}")) if self.pid else None
        return fields is not None and fields[0] not in ("Z", "X")

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def _find_marked(mark: str, job: str | None, born_after: int) -> list[_Marked]:
    found = [_Marked(pid, mark, job) for pid in marked_pids(mark, job, born_after=born_after)]
    return [m for m in found if m.pid]


async def stop_marked(
    mark: str,
    grace: float,
    *,
    job: str | None = None,
    born_after: int = 0,
    hurry: Callable[[], bool] = _never,
) -> tuple[int, ...]:
    """Stop every process carrying `mark` (of `job`, younger than pid `born_after`); their pids.

    SIGTERM, `grace` seconds (less if `hurry()`), SIGKILL; then look again, in
    case one of them forked in between. Where there is no /proc, nothing is found.
    """
    stopped: list[int] = []
    for _ in range(SWEEP_ROUNDS):
        marked = await anyio.to_thread.run_sync(in_worker(_find_marked), mark, job, born_after)
        if not marked:
            break
        try:
            await _stop_all(marked, grace, hurry)
        finally:
            for process in marked:
                process.close()
        stopped += [m.pid for m in marked]
    return tuple(stopped)


async def _stop_all(marked: list[_Marked], grace: float, hurry: Callable[[], bool]) -> None:
    for process in marked:
        process.send(signal.SIGTERM)
    with anyio.move_on_after(grace):
        while any(m.alive() for m in marked) and not hurry():
            await anyio.sleep(POLL_INTERVAL)
    if any(m.alive() for m in marked):
        for process in marked:
            process.send(signal.SIGKILL)
        with anyio.move_on_after(1.0):
            while any(m.alive() for m in marked):
                await anyio.sleep(POLL_INTERVAL)
