"""Reading TOML files (configs, suite classifications) with one set of clear errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from replay._model.errors import InputError, ReplayError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["parse_toml", "read_text", "read_toml", "tomllib"]


def read_text(path: Path, *, what: str, error: type[ReplayError] = InputError) -> str:
    """The UTF-8 text of `path`, or `error` naming the file and what is wrong with it."""
    from replay._inputs.readers import read_input  # lazy: the readers import models and cattrs

    if not path.exists() and not path.is_symlink():
        msg = f"{path}: {what} not found"
        raise error(msg)
    try:
        # A regular file, capped: a FIFO or `/dev/zero` named as a config must not hang.
        data = read_input(path, what=what)
    except InputError as exc:
        raise error(str(exc)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        msg = f"{path}: not UTF-8 text"
        raise error(msg) from None


def parse_toml(text: str, path: Path, *, error: type[ReplayError] = InputError) -> dict[str, Any]:
    """Parse TOML text read from `path`, or `error` with the parser's line and column."""
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: invalid TOML ({exc})"
        raise error(msg) from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively.
        msg = f"{path}: invalid TOML (arrays or tables nested too deeply)"
        raise error(msg) from None
    return document


def read_toml(path: Path, *, what: str, error: type[ReplayError] = InputError) -> dict[str, Any]:
    """Read and parse the TOML file `path` (`what` names it in errors)."""
    return parse_toml(read_text(path, what=what, error=error), path, error=error)
