"""Finding the config file: the nearest `replay.toml`, or a `pyproject.toml` with `[tool.replay]`.

Apart from its reader (`_inputs.config`) so that an ad-hoc `replay run -- CMD`
outside any project loads no TOML machinery.
"""

from __future__ import annotations

from pathlib import Path


def find_config(start: Path) -> Path | None:
    """The nearest `replay.toml`, or `pyproject.toml` with `[tool.replay]`, at or above `start`."""
    for directory in (start, *start.parents):
        candidate = directory / "replay.toml"
        if candidate.is_file():
            return candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and b"[tool.replay" in pyproject.read_bytes():
            return pyproject
    return None
