"""Helpers the end-to-end tests share: run `python -m replay` as a user would, read JSON."""

from __future__ import annotations

import os
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
