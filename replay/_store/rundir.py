"""Writing a run's artifacts: atomically, inside the run directory, nothing half-written.

Every JSON artifact goes through `write_json_atomic` (temp file in the same
directory, fsync, rename), so a killed orchestrator leaves the previous complete
file or none. `events.jsonl` is append-only and written a whole line at a time.

A run directory may be reused (`--out`) and may come from somewhere else (a CI
artifact): nothing found in it is trusted. Files are created exclusively and
opened without following links (a planted link is removed -- the link, never
what it points to), a directory is never written through a link, one run at a
time holds the directory's lock, and a run starts by cleaning out what an
earlier run left under the names it is about to write.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import stat
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import orjson

from replay._model.convert import unstructure
from replay._model.errors import ArtifactError
from replay._model.names import (
    ATTEMPT_DIR,
    CARRIED_DIR,
    DIGEST_NAME,
    JUNIT_NAME,
    LOCK_NAME,
    LOG_NAME,
    RESULT_NAME,
    RUN_FILES,
    SUMMARY_NAME,
    safe_component,
)

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def inside(base: Path, relative: str) -> Path | None:
    """`base / relative` if it resolves inside `base`; None for absolute or escaping paths."""
    if not relative or os.path.isabs(relative):
        return None
    resolved_base = base.resolve()
    candidate = (resolved_base / relative).resolve()
    if candidate == resolved_base or resolved_base not in candidate.parents:
        return None
    return candidate


def carry_file(from_dir: Path, relative: str | None, run_dir: Path, run_id: str) -> str | None:
    """Bring an earlier run's artifact into `run_dir`; its new path, or None if it is gone.

    The file lands at `carried/<run id>/<its path>` (hard-linked, else copied),
    so every path a summary records resolves inside its own run directory and
    the directory stands alone when CI uploads it. Only regular files inside
    `from_dir` are carried: never a link, a FIFO or anything outside. The new
    path is built from where the file really lies (no `..`), and no link in
    `run_dir` is followed on the way there.
    """
    source = inside(from_dir, relative) if relative else None
    if source is None or relative is None or not _regular_file(from_dir / relative):
        return None
    parts = source.relative_to(from_dir.resolve()).parts
    if len(parts) < 3 or parts[0] != CARRIED_DIR:  # not already `carried/<run id>/...`
        parts = (CARRIED_DIR, safe_component(run_id), *parts)
    moved = Path(*parts).as_posix()
    try:
        target = make_directory(run_dir, *parts[:-1]) / parts[-1]
        if _regular_file(target):
            return moved
        _unlink_entry(target)
        try:
            os.link(source, target, follow_symlinks=False)
        except OSError:
            with open(source, "rb") as reader, os.fdopen(create_file(target), "wb") as writer:
                shutil.copyfileobj(reader, writer)
    except (OSError, ArtifactError):
        return None
    return moved


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


def _cannot(path: Path, doing: str, exc: OSError) -> str:
    """Why `path` could not be written, naming a link where a directory was expected."""
    why = exc.strerror or str(exc)
    parent = path.parent
    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EEXIST) and os.path.islink(parent):
        why = f"{parent} is a symbolic link, and replay does not write through links"
    return f"{path}: cannot {doing} ({why})"


def _open_parent(path: Path) -> int:
    """The directory `path` goes into, made if missing, opened without following a link."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path.parent, _DIR | os.O_NOFOLLOW)
    except OSError as exc:
        raise ArtifactError(_cannot(path, "write", exc)) from None


def _unlink_entry(path: Path, *, dir_fd: int | None = None) -> None:
    """Remove the entry `path` (a link itself, never what it points to), if there is one."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path if dir_fd is None else path.name, dir_fd=dir_fd)


def create_file(path: Path, *, append: bool = False) -> int:
    """A new, empty regular file at `path`, open for writing; `ArtifactError` if it cannot be.

    Whatever had the name (a file of an earlier run, a planted link or FIFO, a
    hard link to a file elsewhere) is unlinked first and the file is created
    exclusively: no link is followed, no other file truncated, no open blocks.
    A directory in the way is an error. The parent is not entered through a link.
    """
    parent = _open_parent(path)
    try:
        _unlink_entry(path, dir_fd=parent)
        flags = _NEW_FILE | (os.O_APPEND if append else 0)
        return os.open(path.name, flags, 0o666, dir_fd=parent)
    except OSError as exc:
        raise ArtifactError(_cannot(path, "create", exc)) from None
    finally:
        os.close(parent)


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write `data` to `path` atomically: temp file, fsync, rename; `ArtifactError` on failure.

    `durable=False` skips the fsyncs: still all-or-nothing for readers, but a power
    cut may lose it. For per-target files whose content the summary also holds.
    The parent directory is opened without following a link and every step
    happens inside it, so a link planted at the parent is refused, not followed;
    a link at `path` itself is replaced, not written through.
    """
    parent = _open_parent(path)
    # A unique name in the same directory; cut so that it stays within NAME_MAX.
    # os.urandom as `secrets.token_hex` reads it, without importing hashlib (OpenSSL).
    temp = f".{path.name[:200]}.{os.urandom(4).hex()}.tmp"
    try:
        # 0o666 less the umask, as any file the user's tools write (not mkstemp's 0600).
        fd = os.open(temp, _NEW_FILE, 0o666, dir_fd=parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                if durable:
                    os.fsync(handle.fileno())
            os.replace(temp, path.name, src_dir_fd=parent, dst_dir_fd=parent)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=parent)
            raise
        if durable:
            # The rename itself survives a power cut once the directory is synced.
            with contextlib.suppress(OSError):
                os.fsync(parent)
    except OSError as exc:
        msg = f"{_cannot(path, 'write', exc)}; the previous file, if any, is intact"
        raise ArtifactError(msg) from None
    finally:
        os.close(parent)


def write_json_atomic(path: Path, obj: Any, *, durable: bool = True) -> None:
    """Write a model or plain data as JSON, atomically."""
    write_bytes_atomic(path, to_json_bytes(obj), durable=durable)


class EventLog:
    """`events.jsonl`: one JSON object a line, each line written whole and flushed at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # A new file per run (a reused --out starts a fresh log), then append-only writes.
        self._handle: IO[bytes] | None = os.fdopen(create_file(path, append=True), "ab", 0)

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


# --- directories ------------------------------------------------------------------------


def make_directory(base: Path, *parts: str) -> Path:
    """`base/part/...` as real directories, made without following a link; `ArtifactError` if not.

    Each part must be one path component (not empty, `.` or `..`, no `/`), so
    the result lies strictly inside `base` however the parts were named. A link
    where one of the directories belongs (planted in a reused run directory) is
    removed -- the link, never what it points to -- and a real directory made in
    its place; a file in the way is an error. `base` itself is the caller's.
    """
    for part in parts:
        if part in ("", ".", "..") or "/" in part or "\0" in part:
            msg = f"{base}: {part!r} does not name a directory inside it"
            raise ArtifactError(msg)
    try:
        base.mkdir(parents=True, exist_ok=True)
        fd = os.open(base, _DIR)
    except OSError as exc:
        msg = f"{base}: cannot make the directory ({exc.strerror or exc})"
        raise ArtifactError(msg) from None
    try:
        for depth, part in enumerate(parts, start=1):
            child = _child_directory(fd, part, base.joinpath(*parts[:depth]))
            os.close(fd)
            fd = child
    finally:
        os.close(fd)
    return base.joinpath(*parts)


def _child_directory(parent: int, name: str, shown: Path) -> int:
    """Open (making it if needed) the real directory `name` in `parent`."""
    try:
        for _ in range(2):
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o777, dir_fd=parent)
            try:
                return os.open(name, _DIR | os.O_NOFOLLOW, dir_fd=parent)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                    raise
            if not stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode):
                msg = (
                    f"{shown}: not a directory, and replay keeps a job's files there; "
                    "remove it or use another run directory"
                )
                raise ArtifactError(msg)
            os.unlink(name, dir_fd=parent)
    except OSError as exc:
        msg = f"{shown}: cannot make the directory ({exc.strerror or exc})"
        raise ArtifactError(msg) from None
    msg = f"{shown}: a link keeps reappearing where replay makes a directory; refusing to go on"
    raise ArtifactError(msg)


def clear_job_files(directory: Path) -> None:
    """Remove what a run writes in an attempt directory, so none of it passes for this attempt's.

    The log, the result, the digest and the runners' report files replay asks
    for: only those names, never what the job itself wrote there, and never
    through a link (a link at one of those names is removed itself).
    """
    try:
        fd = os.open(directory, _DIR | os.O_NOFOLLOW)
    except OSError:
        return  # not there yet, or not a real directory: `make_directory` deals with it
    try:
        for name in (LOG_NAME, RESULT_NAME, DIGEST_NAME, JUNIT_NAME):
            with contextlib.suppress(OSError):  # a directory there: the write refuses it
                os.unlink(name, dir_fd=fd)
    finally:
        os.close(fd)


def clean_run_dir(run_dir: Path, job_dirs: Iterable[str]) -> None:
    """Remove what an earlier run left in `run_dir` under the names this run will write.

    The run files (`events.jsonl`, `environment.json`, the bundle, the index,
    ...), a link or FIFO at `summary.json` (a regular one is replaced atomically
    at the end), a link at `carried`, and in each of `job_dirs` (the job
    directories' names) the files of every attempt. A link is removed, never
    followed; a directory under a run file's name is left for the write to refuse.
    `ArtifactError` if something other than a directory or a link has a job
    directory's name: it is not replay's to remove.
    """
    for name in RUN_FILES:
        _remove(run_dir / name)
    summary = run_dir / SUMMARY_NAME
    if os.path.lexists(summary) and not _regular_file(summary):
        _remove(summary)
    if os.path.islink(run_dir / CARRIED_DIR):
        _remove(run_dir / CARRIED_DIR)
    for name in job_dirs:
        job_dir = run_dir / name
        if os.path.islink(job_dir):
            _remove(job_dir)
            continue
        if os.path.lexists(job_dir) and not job_dir.is_dir():
            # Not replay's to remove, and the job's files could go nowhere: refuse up front.
            msg = (
                f"{job_dir}: not a directory, and this run keeps a job's files there; "
                "remove it or use another run directory"
            )
            raise ArtifactError(msg)
        clear_job_files(job_dir)
        with contextlib.suppress(OSError):
            for entry in os.scandir(job_dir):
                if not ATTEMPT_DIR.fullmatch(entry.name):
                    continue
                if entry.is_symlink():
                    _remove(Path(entry.path))
                elif entry.is_dir(follow_symlinks=False):
                    clear_job_files(Path(entry.path))
                    with contextlib.suppress(OSError):
                        os.rmdir(entry.path)  # kept if the job left files of its own


def _remove(path: Path) -> None:
    """Unlink the entry at `path` if it can be; what cannot be is refused by the write later."""
    with contextlib.suppress(OSError):
        os.unlink(path)


def _resolved_report(
    cwd: str | None, report: str, root: str | None
) -> tuple[Path, Path, Path] | None:
    """`(project root, job directory, report)` resolved (the report's own name not
    followed); None when a path holds a NUL or the report names no file."""
    if not report or "\0" in report or "\0" in (cwd or "") or "\0" in (root or ""):
        return None
    base = Path(os.path.realpath(cwd or "."))
    joined = base / report
    if joined.name in ("", ".", ".."):
        return None
    target = Path(os.path.realpath(joined.parent)) / joined.name
    return Path(os.path.realpath(root or ".")), base, target


def report_refusal(cwd: str | None, report: str, root: str | None) -> str | None:
    """Why a runner's report (`junit_path`) must not be read, or None if it may be.

    `cwd` and `report` may come from a summary anyone could have edited, so the
    report is read only if it resolves (links and all) inside the project root
    `root` (the config's directory; None: replay's working directory), and only
    if it is a regular file when it exists: never `/dev/zero`, a FIFO or a file
    elsewhere on the machine. A report that is missing may be read (and found missing).
    """
    found = _resolved_report(cwd, report, root)
    if found is None:
        return f"junit_path {report!r} names no file"
    project, _, target = found
    real = Path(os.path.realpath(target))
    if project not in real.parents:
        return f"junit_path {report!r} resolves outside the project root; not read"
    if os.path.lexists(real) and not real.is_file():
        return f"junit_path {report!r} is not a regular file; not read"
    return None


def remove_stale_report(cwd: str | None, report: str, root: str | None) -> bool:
    """Remove a runner's report (`junit_path`) left by an earlier run; whether it did.

    Only when it is safe, because `cwd` and `report` may come from a summary
    anyone could have edited: the job's directory `cwd` (None: replay's own)
    must lie inside the project root `root` (the config's directory; None:
    replay's working directory), the report must resolve strictly inside `cwd`
    (links in its directories followed, then checked), and it must be a regular
    file itself, not a link.
    """
    found = _resolved_report(cwd, report, root)
    if found is None:
        return False
    project, base, target = found
    inside_project = base == project or project in base.parents
    if not inside_project or base not in target.parents or not _regular_file(target):
        return False
    try:
        target.unlink()
    except OSError:
        return False
    return True


# --- the run directory's lock ----------------------------------------------------------


class RunDirLock:
    """The lock one run holds on its run directory; `release` (or losing the object) frees it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        """The run directory, with a link at its own name resolved (the caller chose it)."""
        self._fd: int | None = fd
        # Freed however the run ends, even if the caller never reaches `release`.
        self._finalizer = weakref.finalize(self, os.close, fd)

    @property
    def held(self) -> bool:
        """Whether this object still holds the lock."""
        return self._fd is not None

    def release(self) -> None:
        """Let the next run have the directory; the lock file is emptied, not removed."""
        if self._fd is None:
            return
        # Removing the file would let a waiting run lock an inode nobody else sees.
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        self._fd = None
        self._finalizer()


def lock_run_dir(run_dir: Path, *, started_at: str) -> RunDirLock:
    """Make `run_dir` and take its lock; `ArtifactError` naming the holder if another run has it.

    The lock is `flock` on `.replay.lock` (never a link or FIFO: those are
    replaced), so it dies with its process: a killed run never leaves the
    directory locked. The file records who holds it: pid, host, start time.
    """
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        real = Path(os.path.realpath(run_dir)) if os.path.islink(run_dir) else run_dir
    except OSError as exc:
        msg = f"{run_dir}: cannot make the run directory ({exc.strerror or exc})"
        raise ArtifactError(msg) from None
    path = real / LOCK_NAME
    fd = _open_lock(path)
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = _holder(fd)
        os.close(fd)
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            msg = f"{path}: cannot lock the run directory ({exc.strerror or exc})"
            raise ArtifactError(msg) from None
        msg = (
            f"{run_dir}: another replay run is writing this directory ({holder}); "
            "wait for it to end or use another --out"
        )
        raise ArtifactError(msg) from None
    record = orjson.dumps(
        {"pid": os.getpid(), "host": socket.gethostname(), "started_at": started_at}
    )
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, record + b"\n", 0)
    return RunDirLock(real, fd)


def _open_lock(path: Path) -> int:
    """The lock file, opened read-write; a link, FIFO or other non-file there is replaced."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        for _ in range(2):
            try:
                fd = os.open(path, flags, 0o666)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
                    raise
            else:
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    return fd
                os.close(fd)
            _unlink_entry(path)
    except OSError as exc:
        msg = f"{path}: cannot open the run directory's lock ({exc.strerror or exc})"
        raise ArtifactError(msg) from None
    msg = f"{path}: not a regular file; remove it to run in this directory"
    raise ArtifactError(msg)


_HOLDER_TEXT = re.compile(r"[^\x20-\x7e]")


def _holder(fd: int) -> str:
    """Who holds the lock, from the lock file (written by that run), as plain text."""
    try:
        record = orjson.loads(os.pread(fd, 4096, 0))
    except (OSError, orjson.JSONDecodeError):
        record = None
    if not isinstance(record, dict):
        return "holder unknown"

    def field(key: str) -> str:
        return _HOLDER_TEXT.sub("?", str(record.get(key, "?")))[:100]

    return f"pid {field('pid')} on {field('host')}, started {field('started_at')}"
