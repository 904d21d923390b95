"""Process-group housekeeping: is anyone left in a group, and stopping a group.

Every job runs in its own session, so its process group holds the job and all
its descendants (except one that calls `setsid` itself). anyio's cancellation
kills only the direct child; these helpers signal the whole group.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import anyio

POLL_INTERVAL = 0.02
"""How often to look whether a signalled group is gone (20 ms: well under the reaction target)."""


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


async def wait_group_gone(pgid: int, timeout: float) -> bool:
    """Wait until group `pgid` has no live member, at most `timeout` seconds."""
    with anyio.move_on_after(timeout):
        while group_members(pgid):
            await anyio.sleep(POLL_INTERVAL)
        return True
    return False


async def stop_group(pgid: int, grace: float) -> None:
    """SIGTERM the group, give it `grace` seconds, then SIGKILL whatever is left."""
    signal_group(pgid, signal.SIGTERM)
    if not await wait_group_gone(pgid, grace):
        signal_group(pgid, signal.SIGKILL)
        await wait_group_gone(pgid, 1.0)
