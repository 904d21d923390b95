"""Writing a run's artifacts: atomically, inside the run directory, nothing half-written.

Every JSON artifact goes through `write_json_atomic` (temp file in the same
directory, fsync, rename), so a killed orchestrator leaves the previous complete
file or none. `events.jsonl` is append-only and written a whole line at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import stat
import tempfile
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from replay._convert import unstructure
from replay._errors import ArtifactError

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
MAX_COMPONENT = 120
"""Long names are cut (with a hash) so a directory name stays under common 255-byte limits."""


def make_run_id(now: datetime) -> str:
    """A run id: UTC timestamp first (sorts by time), then a random suffix (never collides)."""
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def safe_component(name: str) -> str:
    """`name` as one safe path component: no separators, no `..`, no leading dot.

    A name that had to change, or was too long, gets a short hash of the
    original so two different names never share a directory.
    """
    cleaned = _UNSAFE.sub("_", name).lstrip(".")
    if cleaned == name and len(name) <= MAX_COMPONENT:
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{cleaned[: MAX_COMPONENT - 9]}-{digest}"


def inside(base: Path, relative: str) -> Path | None:
    """`base / relative` if it resolves inside `base`; None for absolute or escaping paths."""
    if not relative or os.path.isabs(relative):
        return None
    resolved_base = base.resolve()
    candidate = (resolved_base / relative).resolve()
    if candidate == resolved_base or resolved_base not in candidate.parents:
        return None
    return candidate


CARRIED_DIR = "carried"
"""Where a rerun keeps the artifacts of targets it carries from earlier runs."""


def carry_file(from_dir: Path, relative: str | None, run_dir: Path, run_id: str) -> str | None:
    """Bring an earlier run's artifact into `run_dir`; its new path, or None if it is gone.

    The file lands at `carried/<run id>/<its path>` (hard-linked, else copied),
    so every path a summary records resolves inside its own run directory and
    the directory stands alone when CI uploads it. Only regular files inside
    `from_dir` are carried: never a link, a FIFO or anything outside.
    """
    source = inside(from_dir, relative) if relative else None
    if source is None or relative is None or not _regular_file(from_dir / relative):
        return None
    moved = Path(relative)
    if moved.parts[0] != CARRIED_DIR:
        moved = Path(CARRIED_DIR, safe_component(run_id), relative)
    target = run_dir / moved
    if target.exists():
        return moved.as_posix()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target, follow_symlinks=False)
    except OSError:
        return None
    return moved.as_posix()


def _regular_file(path: Path) -> bool:
    """Whether `path` itself (not what a link points to) is a regular file."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def display_path(path: Path) -> str:
    """`path` relative to the working directory when under it, else absolute (for display)."""
    absolute = path.absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def to_json_bytes(obj: Any) -> bytes:
    """Indented JSON of a model or plain data, with a final newline."""
    return orjson.dumps(unstructure(obj), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write `data` to `path` atomically: temp file, fsync, rename; `ArtifactError` on failure.

    `durable=False` skips the fsync: still all-or-nothing for readers, but a power
    cut may lose it. For per-target files whose content the summary also holds.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            # mkstemp makes the file 0600; artifacts are read by CI uploaders and people.
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            if durable:
                os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        msg = f"{path}: cannot write ({exc.strerror or exc}); the previous file, if any, is intact"
        raise ArtifactError(msg) from None


def write_json_atomic(path: Path, obj: Any, *, durable: bool = True) -> None:
    """Write a model or plain data as JSON, atomically."""
    write_bytes_atomic(path, to_json_bytes(obj), durable=durable)


class EventLog:
    """`events.jsonl`: one JSON object a line, each line written whole and flushed at once."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # A new file per run (a reused --out starts a fresh log), then append-only writes.
        path.write_bytes(b"")
        self._handle: IO[bytes] | None = open(path, "ab", buffering=0)  # noqa: SIM115

    def emit(self, event: str, **fields: Any) -> None:
        """Append one event; an unwritable log is not worth failing a run over."""
        if self._handle is None:
            return
        line = orjson.dumps({"event": event, **unstructure(fields)}) + b"\n"
        try:
            # One write of an unbuffered O_APPEND file: the line lands whole or not at all.
            self._handle.write(line)
        except OSError:
            self.close()

    def close(self) -> None:
        """Close the file; later events are dropped."""
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None
