"""Read a summary from disk, whatever wrote it, into one `Summary`.

Three formats reach `--rerun-from`, `show` and `diff`:

- `replay.summary.v1`, which replay writes: the model's fields plus the pi
  fields derived from them (dropped here, recomputed on the way out), each
  test stored once or, as earlier versions wrote it, in its target and attempt;
- upstream pi's `pi.e2e.summary.v1`;
- upstream pi's legacy summaries, which have no `schema` key but the same shape.

A summary is untrusted input: it may come from a CI artifact anyone could have
edited. Names stay data (commands are argv lists, never shell text), paths are
only kept when they resolve inside the summary's own directory, and every
problem is an `InputError` that names the file and the field.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import IO, Any, NoReturn, TypeGuard

import attrs

from replay._core.gates import Verdict, parse_verdict
from replay._core.summary import summary_model
from replay._model.clock import iso_from_run_id
from replay._model.convert import parse_json, structure
from replay._model.errors import InputError
from replay._model.models import (
    SUMMARY_SCHEMA,
    Attempt,
    ChainState,
    RunStatus,
    Shard,
    Summary,
    TargetResult,
    TargetStatus,
    TriageStatus,
)
from replay._model.names import SUMMARY_NAME

PI_SCHEMA = "pi.e2e.summary.v1"
"""The schema tag of upstream pi's summaries (since Feb 2026)."""

ACCEPTED = f"{SUMMARY_SCHEMA}, {PI_SCHEMA}, or pi's legacy summary without a `schema` key"
"""What an error about an unknown schema says replay reads."""

# Which list of a pi summary holds which kind, the key that names a record there,
# and the list of failed names that marks its outstanding targets.
_PI_LISTS = (
    ("suites", "e2e", "suite", "failed_names"),
    ("unit_targets", "unit", "target", "failed_unit_names"),
)


def safe_relative(base_dir: Path, rel: object) -> str | None:
    """`rel` as a POSIX path relative to `base_dir`, or None if it is not inside it.

    Absolute paths, paths that climb out with `..`, paths whose symlinks lead
    out, the directory itself and paths that cannot be resolved (a NUL byte, a
    symlink loop) are all None: a summary must not make replay read or print a
    file outside the run it describes.
    """
    if not isinstance(rel, str) or not rel or "\0" in rel:
        return None
    candidate = Path(rel)
    if candidate.is_absolute():
        return None
    try:
        root = base_dir.resolve()
        resolved = (root / candidate).resolve()
    except (OSError, ValueError, RuntimeError):
        # RuntimeError: a symlink loop on Python < 3.13.
        return None
    if resolved == root or not resolved.is_relative_to(root):
        return None
    return resolved.relative_to(root).as_posix()


MAX_INPUT_BYTES = 512 * 1024 * 1024
"""The most replay reads of one summary or JSON artifact. A summary of 2,000 targets with
their tests is a few MB, so this is far above any real one, and low enough that a link to
`/dev/zero` or a runaway file ends in a clear error instead of using up the memory."""


def open_input(path: Path, *, what: str) -> IO[bytes]:
    """`path` opened for reading if it is a regular file (links followed); `InputError` if not.

    The type is checked on the open file, and opening never waits: a FIFO, a
    device (`/dev/zero`) or a socket is refused without reading a byte.
    `what` says what was expected (`a summary file`).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        msg = f"{path}: no such file"
        raise InputError(msg) from None
    except OSError as exc:
        msg = f"{path}: cannot read ({exc.strerror or exc})"
        raise InputError(msg) from None
    except ValueError as exc:  # a NUL byte in the path
        msg = f"{path!r}: cannot read ({exc})"
        raise InputError(msg) from None
    try:
        _check_regular(os.fstat(fd).st_mode, path, what)
        # Regular files ignore O_NONBLOCK; it only kept the open from waiting.
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _check_regular(mode: int, path: Path, what: str) -> None:
    if stat.S_ISDIR(mode):
        msg = f"{path}: is a directory, expected {what}"
        raise InputError(msg)
    if not stat.S_ISREG(mode):
        msg = f"{path}: not a regular file (a FIFO, device or socket), expected {what}"
        raise InputError(msg)


def read_input(path: Path, *, what: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them; `InputError` otherwise."""
    chunks: list[bytes] = []
    size = 0
    with open_input(path, what=what) as handle:
        try:
            # In chunks: one read(limit + 1) would allocate the whole limit for every file.
            while size <= limit and (chunk := handle.read(_CHUNK)):
                chunks.append(chunk)
                size += len(chunk)
        except OSError as exc:
            msg = f"{path}: cannot read ({exc.strerror or exc})"
            raise InputError(msg) from None
    if size > limit:
        msg = f"{path}: larger than {_mib(limit)}, more than {what} can be"
        raise InputError(msg)
    return b"".join(chunks)


_CHUNK = 1 << 20


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


def load_summary(path: str | os.PathLike[str]) -> Summary:
    """Read a summary file (replay's, or upstream pi's); `InputError` names the file and field."""
    path = Path(path)
    if path.is_dir():
        msg = f"{path}: is a directory, expected a summary file (try {path / SUMMARY_NAME})"
        raise InputError(msg)
    data = read_input(path, what="a summary file")
    return parse_summary(data, source=str(path), base_dir=path.parent)


def parse_summary(data: bytes, *, source: str, base_dir: Path) -> Summary:
    """Parse the bytes of a summary file (see `read_summary`)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = (
            f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "expected a JSON summary"
        )
        raise InputError(msg) from None
    return read_summary(parse_json(data, source=source), source=source, base_dir=base_dir)


def read_summary(document: object, *, source: str, base_dir: Path) -> Summary:
    """Turn a parsed summary document of any accepted format into a `Summary`.

    `source` names the document in errors; `base_dir` is the summary's
    directory, the only place its log, result and digest paths may point into.
    """
    if not isinstance(document, dict):
        msg = f"{source}: $: expected a JSON object, got {_type_name(document)}"
        raise InputError(msg)
    schema = document.get("schema")
    if schema is None:
        return _read_pi(document, source=source, base_dir=base_dir)
    if not isinstance(schema, str):
        msg = f"{source}: $.schema: expected str, got {_type_name(schema)}"
        raise InputError(msg)
    if schema == SUMMARY_SCHEMA:
        return _read_replay(document, source=source, base_dir=base_dir)
    if schema == PI_SCHEMA:
        return _read_pi(document, source=source, base_dir=base_dir)
    if schema.startswith("replay."):
        msg = f"{source}: was written by a newer replay (schema {schema}); upgrade replay"
        raise InputError(msg)
    msg = f"{source}: $.schema: unknown schema {schema!r}; expected {ACCEPTED}"
    raise InputError(msg)


# --- replay.summary.v1 ---------------------------------------------------------------


def _read_replay(document: dict[str, Any], *, source: str, base_dir: Path) -> Summary:
    summary = structure(summary_model(document), Summary, source=source)
    _check_names((t.name for t in summary.targets), "$.targets", source)
    for index, target in enumerate(summary.targets):
        if not target.argv:
            msg = f"{source}: $.targets[{index}].argv: empty command, nothing to replay"
            raise InputError(msg)
    triage = summary.triage_diff
    if triage is not None:
        triage = attrs.evolve(triage, path=safe_relative(base_dir, triage.path))
    return attrs.evolve(
        summary,
        targets=tuple(_confine(t, base_dir) for t in summary.targets),
        triage_diff=triage,
    )


def _confine(target: TargetResult, base_dir: Path) -> TargetResult:
    """Drop the target's artifact paths that lead out of `base_dir`."""
    return attrs.evolve(
        target,
        log=safe_relative(base_dir, target.log),
        result=safe_relative(base_dir, target.result),
        digest=safe_relative(base_dir, target.digest),
        attempts=tuple(
            attrs.evolve(a, log=safe_relative(base_dir, a.log)) for a in target.attempts
        ),
    )


# --- pi.e2e.summary.v1 and legacy ------------------------------------------------------


def cargo_argv(name: str) -> tuple[str, ...]:
    """The command upstream ran for a test target: `cargo test --test NAME -- --nocapture`.

    A name that starts with `-` is glued to its option (`--test=-x`) so that a
    hostile name cannot become one of cargo's own options (`--config=...`).
    """
    test = ("--test", name) if not name.startswith("-") else (f"--test={name}",)
    return ("cargo", "test", *test, "--", "--nocapture")


def _read_pi(document: dict[str, Any], *, source: str, base_dir: Path) -> Summary:
    """Read an upstream summary (pi.e2e.summary.v1 or legacy); see `_PiReader`."""
    return _PiReader(document, source, base_dir).summary()


@attrs.frozen
class _PiReader:
    """Reads one upstream summary.

    Each record of `suites[]` (kind `e2e`) and `unit_targets[]` (kind `unit`)
    becomes a target run by `cargo_argv`, decided by the summary's `timestamp`.
    A target is outstanding if its exit code is not 0 or its name is in
    `failed_names` or `failed_unit_names` -- both lists count: upstream's own
    rerun read only the first and called a run whose only failures were unit
    targets green. A failed name without a record becomes a `not_run` target:
    upstream judged it failed but left no evidence that it ran, and `not_run`
    says exactly that while still making the rerun run it.
    """

    document: dict[str, Any]
    source: str
    base_dir: Path

    def summary(self) -> Summary:
        run_id = self._required_str(self.document, "timestamp", "$")
        failed_lists = {key: self._names(key) for _, _, _, key in _PI_LISTS}
        failed = {name for names in failed_lists.values() for name in names}
        targets: list[TargetResult] = []
        where: dict[str, str] = {}
        for list_key, kind, name_key, _ in _PI_LISTS:
            for index, record in enumerate(self._list(list_key)):
                path = f"$.{list_key}[{index}]"
                target = self._target(
                    record, path, kind=kind, name_key=name_key, run_id=run_id, failed=failed
                )
                if target.name in where:
                    # A rerun keys its targets on the name: two records would be one target.
                    self._fail(
                        path, f"duplicate target {target.name!r} (also {where[target.name]})"
                    )
                where[target.name] = path
                targets.append(target)
        for _, kind, _, failed_key in _PI_LISTS:
            for name in dict.fromkeys(failed_lists[failed_key]):
                if name not in where:
                    where[name] = failed_key
                    targets.append(_not_run(name, kind, run_id, failed_key))
        outstanding = any(t.outstanding for t in targets)
        return Summary(
            run_id=run_id,
            status=RunStatus.FAILED if outstanding else RunStatus.PASSED,
            started_at=iso_from_run_id(run_id),
            finished_at="",
            targets=tuple(targets),
            profile=self._str(self.document, "profile", "$"),
            correlation_id=self._str(self.document, "correlation_id", "$"),
            shard=self._shard(),
            triage_diff=self._triage(),
        )

    def _target(
        self,
        record: object,
        path: str,
        *,
        kind: str,
        name_key: str,
        run_id: str,
        failed: set[str],
    ) -> TargetResult:
        if not isinstance(record, dict):
            self._fail(path, f"expected a JSON object, got {_type_name(record)}")
        # A missing result is recorded upstream as `{name, exit_code: 1, error}`.
        key = name_key if name_key in record or "name" not in record else "name"
        name = self._required_str(record, key, path)
        if not name:
            self._fail(f"{path}.{key}", "empty name")
        exit_code = self._int(record, "exit_code", path)
        duration_ms = self._number(record, "duration_ms", path)
        error = self._str(record, "error", path)
        log = self._log(self._str(record, "log_file", path))
        listed = name in failed
        passed = exit_code == 0 and not listed
        if exit_code == 0 and listed:
            error = error or "upstream listed it as failed"
        duration = duration_ms / 1000 if duration_ms is not None else 0.0
        return TargetResult(
            name=name,
            kind=kind,
            adapter="cargo",
            argv=cargo_argv(name),
            status=TargetStatus.PASSED if passed else TargetStatus.FAILED,
            chain_state=ChainState.PASSING if passed else ChainState.OUTSTANDING,
            decided_by=run_id,
            exit_code=exit_code,
            duration=duration,
            attempts=(
                Attempt(number=1, exit_code=exit_code, error=error, duration=duration, log=log),
            ),
            log=log,
        )

    def _log(self, log_file: str | None) -> str | None:
        """The record's log as a path inside the summary's directory, or None.

        Upstream wrote absolute paths on the machine that ran it
        (`<artifact_dir>/<suite>/output.log`); a downloaded artifact directory
        still holds the log at the same place relative to its summary, so a path
        under the summary's own `artifact_dir` is re-based onto `base_dir`.
        Anything that does not end up inside `base_dir` is dropped.
        """
        if log_file is None or "\0" in log_file:
            return None
        log = PurePosixPath(log_file)
        if not log.is_absolute():
            return safe_relative(self.base_dir, log_file)
        artifact_dir = self.document.get("artifact_dir")
        if isinstance(artifact_dir, str) and PurePosixPath(artifact_dir).is_absolute():
            try:
                rel = log.relative_to(PurePosixPath(artifact_dir))
            except ValueError:
                pass
            else:
                return safe_relative(self.base_dir, rel.as_posix())
        # An absolute path is usable as it is when the summary was not moved.
        try:
            inside = Path(log_file).resolve().relative_to(self.base_dir.resolve())
        except (OSError, ValueError, RuntimeError):
            return None
        return safe_relative(self.base_dir, inside.as_posix())

    def _names(self, key: str) -> tuple[str, ...]:
        names = []
        for index, item in enumerate(self._list(key)):
            name = self._item_str(item, f"$.{key}[{index}]")
            if not name:
                self._fail(f"$.{key}[{index}]", "empty name")
            names.append(name)
        return tuple(names)

    def _list(self, key: str) -> list[Any]:
        value = self.document.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self._fail(f"$.{key}", f"expected a list, got {_type_name(value)}")
        return value

    def _shard(self) -> Shard | None:
        """Upstream's `shard: {kind, index, total}`, when it names a real shard.

        Unsharded upstream runs write `kind: "none"` with null numbers; those,
        and shapes replay cannot use, are read as no shard.
        """
        shard = self.document.get("shard")
        if not isinstance(shard, dict):
            return None
        index, total, kind = shard.get("index"), shard.get("total"), shard.get("kind")
        if not (_is_int(index) and _is_int(total) and 0 <= index < total):
            return None
        return Shard(index=index, total=total, kind=kind if isinstance(kind, str) else "suite")

    def _triage(self) -> TriageStatus | None:
        triage = self.document.get("triage_diff")
        if isinstance(triage, dict) and isinstance(triage.get("status"), str):
            return TriageStatus(status=triage["status"])
        return None

    def _str(self, record: dict[str, Any], key: str, path: str) -> str | None:
        value = record.get(key)
        return None if value is None else self._item_str(value, f"{path}.{key}")

    def _required_str(self, record: dict[str, Any], key: str, path: str) -> str:
        value = record.get(key)
        if value is None:
            self._fail(f"{path}.{key}", "required field missing")
        return self._item_str(value, f"{path}.{key}")

    def _item_str(self, value: object, path: str) -> str:
        if not isinstance(value, str):
            self._fail(path, f"expected str, got {_type_name(value)}")
        return value

    def _int(self, record: dict[str, Any], key: str, path: str) -> int:
        value = record.get(key)
        if value is None:
            self._fail(f"{path}.{key}", "required field missing")
        if not _is_int(value):
            self._fail(f"{path}.{key}", f"expected int, got {_type_name(value)}")
        return int(value)

    def _number(self, record: dict[str, Any], key: str, path: str) -> float | None:
        value = record.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self._fail(f"{path}.{key}", f"expected a number, got {_type_name(value)}")
        if value < 0:
            self._fail(f"{path}.{key}", f"expected a non-negative number, got {value}")
        return float(value)

    def _fail(self, path: str, problem: str) -> NoReturn:
        msg = f"{self.source}: {path}: {problem}"
        raise InputError(msg)


def _not_run(name: str, kind: str, run_id: str, failed_key: str) -> TargetResult:
    error = f"listed in {failed_key} without a result record"
    return TargetResult(
        name=name,
        kind=kind,
        adapter="cargo",
        argv=cargo_argv(name),
        status=TargetStatus.NOT_RUN,
        chain_state=ChainState.OUTSTANDING,
        decided_by=run_id,
        attempts=(Attempt(number=1, error=error),),
    )


# --- shared checks -----------------------------------------------------------------


def _check_names(names: Iterable[str], root: str, source: str) -> None:
    """Refuse empty and duplicate target names: a rerun keys its targets on them."""
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            msg = f"{source}: {root}[{index}].name: empty name"
            raise InputError(msg)
        if name in seen:
            also = f"{root}[{seen[name]}]"
            msg = f"{source}: {root}[{index}].name: duplicate target {name!r} (also {also})"
            raise InputError(msg)
        seen[name] = index


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_name(value: object) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    names = {
        dict: "object",
        list: "list",
        str: "str",
        bool: "boolean",
        int: "int",
        float: "float",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def load_verdict(path: Path) -> Verdict:
    """Read and structure a `full_suite_verdict.json`; `InputError` names the file and field."""
    data = read_input(path, what="a full_suite_verdict.json file")
    return parse_verdict(parse_json(data, source=str(path)), source=str(path))
