"""`replay verify`: is a run directory's evidence complete, contained and well-formed?

A run directory is evidence: an operator attaches it to a bead, CI uploads it,
the next run chains from it. This module checks what the summary promises:
every path it names exists, resolves inside the run directory (no absolute
path, no `..`, no symlink out), every JSON file parses, every `.jsonl` line
parses, and documents with a known `schema` tag are well-formed for it. The
result, with each file's size and sha256, is the run's `index.json`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from replay._core.summary import DERIVED_KEYS, pi_fields, summary_model
from replay._inputs.readers import open_input, read_input
from replay._model.convert import parse_json, structure
from replay._model.errors import InputError
from replay._model.models import SUMMARY_SCHEMA, Summary
from replay._model.names import (
    BUNDLE_NAME,
    DIAGNOSTICS_NAME,
    ENVIRONMENT_NAME,
    EVENTS_NAME,
    INDEX_NAME,
    JUNIT_NAME,
    SUMMARY_NAME,
    TRIAGE_NAME,
)
from replay._store.rundir import inside, write_json_atomic

INDEX_SCHEMA = "replay.evidence_index.v1"

WELL_KNOWN = (
    BUNDLE_NAME,
    ENVIRONMENT_NAME,
    EVENTS_NAME,
    DIAGNOSTICS_NAME,
    TRIAGE_NAME,
    JUNIT_NAME,
)
"""Run files the summary does not name but a run writes; checked when present."""

_TARGET_PATHS = ("log", "result", "digest")
_CHUNK = 1 << 20
_SHOWN_PATH = 200
"""Characters of a path a problem line quotes; longer (hostile) paths are cut."""

SchemaCheck = Callable[[Any, str], "tuple[str, ...]"]
"""Checks a parsed document of one schema; returns problems as `file: path: problem` lines."""


@attrs.frozen
class IndexedFile:
    """One file of the run, as `index.json` lists it."""

    path: str
    """Relative to the run directory."""
    size: int
    sha256: str
    schema: str | None = None
    """The document's `schema` tag, for JSON files that carry one."""


@attrs.frozen(kw_only=True)
class VerifyReport:
    """The result of verifying a run directory; written as its `index.json`."""

    schema: str = INDEX_SCHEMA
    run_id: str | None = None
    ok: bool
    files: tuple[IndexedFile, ...] = ()
    problems: tuple[str, ...] = ()


def _check_summary(document: Any, source: str) -> tuple[str, ...]:
    """A `replay.summary.v1` structures as `Summary`, and its pi fields match its targets."""
    if not isinstance(document, dict):
        return (f"{source}: $: expected a JSON object",)
    model_part = summary_model(document)
    try:
        summary = structure(model_part, Summary, source=source)
    except InputError as exc:
        return (str(exc),)
    expected = pi_fields(summary)
    return tuple(
        f"{source}: $.{key}: does not match the targets (expected {expected[key]!r})"
        for key in sorted(DERIVED_KEYS)
        if key in document and document[key] != expected[key]
    )


SCHEMA_CHECKS: dict[str, SchemaCheck] = {
    SUMMARY_SCHEMA: _check_summary,
}
"""Known schema tags and their checks; other modules may register theirs here."""


def _references(summary: Any) -> list[tuple[str, str]]:
    """`(json path, relative file path)` for every file the summary names."""
    if not isinstance(summary, dict):
        return []
    found: list[tuple[str, str]] = []
    targets = summary.get("targets")
    for i, target in enumerate(targets if isinstance(targets, list) else []):
        if not isinstance(target, dict):
            continue
        for key in _TARGET_PATHS:
            if isinstance(target.get(key), str):
                found.append((f"$.targets[{i}].{key}", target[key]))
        attempts = target.get("attempts")
        for j, attempt in enumerate(attempts if isinstance(attempts, list) else []):
            if isinstance(attempt, dict) and isinstance(attempt.get("log"), str):
                found.append((f"$.targets[{i}].attempts[{j}].log", attempt["log"]))
    triage = summary.get("triage_diff")
    if isinstance(triage, dict) and isinstance(triage.get("path"), str):
        found.append(("$.triage_diff.path", triage["path"]))
    return found


def _digest(path: Path) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    with open_input(path, what="a file of the run") as handle:
        while chunk := handle.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


def _content_problems(path: Path, rel: str) -> tuple[str | None, list[str]]:
    """`(schema tag, problems)` of one file's content, judged by its suffix; logs are not read."""
    check = _CONTENT_CHECKS.get(Path(rel).suffix)
    if check is None:
        return None, []
    try:
        # Capped, and only from a regular file: the summary may name a huge or endless one.
        data = read_input(path, what="a run's JSON or XML file")
    except InputError as exc:
        return None, [str(exc)]
    return check(data, rel)


def _jsonl_problems(data: bytes, rel: str) -> tuple[str | None, list[str]]:
    problems = []
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            try:
                parse_json(line, source=f"{rel}: line {number}")
            except InputError as exc:
                problems.append(str(exc))
    return None, problems


def _json_problems(data: bytes, rel: str) -> tuple[str | None, list[str]]:
    try:
        document = parse_json(data, source=rel)
    except InputError as exc:
        return None, [str(exc)]
    schema = document.get("schema") if isinstance(document, dict) else None
    if not isinstance(schema, str):
        return None, []
    check = SCHEMA_CHECKS.get(schema)
    return schema, list(check(document, rel)) if check else []


def _xml_problems(data: bytes, rel: str) -> tuple[str | None, list[str]]:
    import defusedxml.ElementTree

    try:
        defusedxml.ElementTree.fromstring(data)
    except (defusedxml.ElementTree.ParseError, ValueError) as exc:  # refusals: ValueError
        return None, [f"{rel}: not well-formed XML ({exc})"]
    return None, []


_CONTENT_CHECKS: dict[str, Callable[[bytes, str], tuple[str | None, list[str]]]] = {
    ".jsonl": _jsonl_problems,
    ".json": _json_problems,
    ".xml": _xml_problems,
}
"""How a file's content is checked, by suffix; other files (logs) are only hashed."""


def _wanted(run_dir: Path, summary: Any) -> dict[str, str]:
    """Every file to check, relative to the run directory, with who names it.

    `InputError` for a path with a NUL byte: no file can have that name, and
    the operating system refuses to even look it up.
    """
    wanted: dict[str, str] = {SUMMARY_NAME: "the run"}
    for where, rel in _references(summary):
        if "\0" in rel:
            msg = f"{run_dir / SUMMARY_NAME}: {where}: a path with a NUL byte cannot name a file"
            raise InputError(msg)
        wanted.setdefault(rel, where)
    for name in WELL_KNOWN:
        candidate = run_dir / name
        if candidate.exists() or candidate.is_symlink():
            wanted.setdefault(name, "a well-known run file")
    return wanted


def _check_file(run_dir: Path, rel: str, where: str) -> tuple[IndexedFile | None, list[str]]:
    """One file: contained, present, regular, readable, well-formed; its index entry."""
    shown = rel if len(rel) <= _SHOWN_PATH else f"{rel[:_SHOWN_PATH]}... ({len(rel)} characters)"
    try:
        resolved = inside(run_dir, rel)
        if resolved is None:
            return None, [f"{shown}: resolves outside the run directory (named by {where})"]
        if not resolved.exists():
            return None, [f"{shown}: missing (named by {where})"]
        if not resolved.is_file():
            return None, [f"{shown}: not a regular file (named by {where})"]
    # A name too long for the file system (OSError) or a symlink loop (RuntimeError
    # before Python 3.13) cannot be the file the summary promises.
    except (OSError, RuntimeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return None, [f"{shown}: cannot be looked up ({why}) (named by {where})"]
    try:
        size, sha256 = _digest(resolved)
        schema, problems = _content_problems(resolved, rel)
    except (OSError, InputError) as exc:  # InputError: no longer a regular file
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return None, [f"{shown}: cannot read ({why})"]
    return IndexedFile(path=rel, size=size, sha256=sha256, schema=schema), problems


def verify_run(run_dir: Path, *, write_index: bool = True) -> VerifyReport:
    """Verify a run directory and (by default) write its `index.json` atomically.

    `InputError` when `run_dir` is not a run directory at all (no
    `summary.json`), its summary is not a regular file (a FIFO, a link to
    `/dev/zero`: never read) or names a path with a NUL byte; everything else
    wrong is a problem in the report. A summary that leads out of the run
    directory is reported, not read.
    """
    try:
        is_dir = run_dir.is_dir()
        summary_path = run_dir / SUMMARY_NAME
        has_summary = summary_path.exists() or summary_path.is_symlink()
    except OSError as exc:  # a name too long to look up, a directory that cannot be searched
        msg = f"{run_dir}: cannot be looked up ({exc.strerror or exc})"
        raise InputError(msg) from None
    if not is_dir:
        msg = f"{run_dir}: not a directory (expected a replay run directory)"
        raise InputError(msg)
    if not has_summary:
        msg = f"{run_dir}: no {SUMMARY_NAME}; expected a replay run directory"
        raise InputError(msg)
    _check_summary_type(summary_path)

    problems: list[str] = []
    summary: Any = None
    contained = inside(run_dir, SUMMARY_NAME)
    if contained is not None and contained.is_file():
        with contextlib.suppress(InputError):  # reported by the file's own checks
            summary = parse_json(read_input(contained, what="a summary file"), source=SUMMARY_NAME)
    if isinstance(summary, dict) and summary.get("schema") != SUMMARY_SCHEMA:
        problems.append(
            f"{SUMMARY_NAME}: $.schema: expected {SUMMARY_SCHEMA!r}, got {summary.get('schema')!r}"
        )
    files = []
    for rel, where in _wanted(run_dir, summary).items():
        indexed, found = _check_file(run_dir, rel, where)
        problems.extend(found)
        if indexed is not None:
            files.append(indexed)

    run_id = summary.get("run_id") if isinstance(summary, dict) else None
    report = VerifyReport(
        run_id=run_id if isinstance(run_id, str) else None,
        ok=not problems,
        files=tuple(sorted(files, key=lambda f: f.path)),
        problems=tuple(problems),
    )
    if write_index:
        # The directory the user named, resolved if it is a link (the writer follows none).
        write_json_atomic(Path(os.path.realpath(run_dir)) / INDEX_NAME, report)
    return report


def _check_summary_type(summary_path: Path) -> None:
    """`InputError` if the summary (links followed) exists but is not a regular file."""
    try:
        mode = summary_path.stat().st_mode
    except OSError:
        return  # a dangling link or a loop: reported as a problem with the file
    if not stat.S_ISREG(mode):
        msg = (
            f"{summary_path}: not a regular file (a FIFO, device, socket or directory); "
            "expected a replay summary"
        )
        raise InputError(msg)
