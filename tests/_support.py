"""Helpers the end-to-end tests share: run `python -m replay` as a user would, read JSON."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson


def replay(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `python -m replay ARGS` in `cwd`; `env` adds to (not replaces) the environment."""
    return subprocess.run(
        [sys.executable, "-m", "replay", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env={**os.environ, **env} if env else None,
    )


def load_json(path: Path) -> dict[str, Any]:
    """A JSON artifact as a dict."""
    document = orjson.loads(path.read_bytes())
    assert isinstance(document, dict)
    return document


def handlers_taken(pid: int) -> bool:
    """Whether `pid` catches SIGTERM: Python does not by default, replay's first line does."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1)


def live(pids: tuple[int, ...]) -> tuple[int, ...]:
    """Those of `pids` that are alive (a zombie is not)."""
    alive = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            continue
        if stat.rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X"):
            alive.append(pid)
    return tuple(alive)
