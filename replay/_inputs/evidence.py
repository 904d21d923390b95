"""What a run directory holds beside its summary, read for the trace and the HTML report.

Lenient on purpose: a missing digest, an unreadable log or a torn line of
`events.jsonl` leaves its part of the report empty instead of failing it (the
report is a view of a run; the summary is the record). Paths come from a
summary: `load_summary` has already dropped those that lead out of its directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from replay._core.html_report import FailureEvidence
from replay._model.models import Summary, TargetResult, TestStatus

EXCERPT_LINES = 30
"""Lines of the end of a failed target's log that the report shows."""
EXCERPT_BYTES = 16 * 1024
"""Read at most this much of a log's end: a line of minified JSON must not fill the page."""
EXCERPT_LINE_CHARS = 400
"""A longer log line is cut here."""
MAX_EVENT_BYTES = 64 * 1024 * 1024
"""`events.jsonl` past this size is read only up to it (a run of millions of attempts)."""


def read_events(path: Path) -> list[dict[str, Any]]:
    """The objects of an `events.jsonl`; a missing file, a torn or foreign line is skipped."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_EVENT_BYTES)
    except OSError:
        return []
    events = []
    for line in data.splitlines():
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def log_tail(path: Path, lines: int = EXCERPT_LINES) -> tuple[str, ...]:
    """The last `lines` lines of the file at `path` (decoded leniently), or () if unreadable."""
    try:
        with path.open("rb") as stream:
            size = stream.seek(0, os.SEEK_END)
            stream.seek(max(size - EXCERPT_BYTES, 0))
            data = stream.read(EXCERPT_BYTES)
    except OSError:
        return ()
    text = data.decode("utf-8", "replace").splitlines()
    if len(data) == EXCERPT_BYTES and text:
        text = text[1:]  # the first line was cut by the seek
    return tuple(_cut(line) for line in text[-lines:])


def _cut(line: str) -> str:
    return line if len(line) <= EXCERPT_LINE_CHARS else line[:EXCERPT_LINE_CHARS] + " [...]"


def _digest(path: Path) -> Mapping[str, Any]:
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return document if isinstance(document, dict) else {}


def _assertion_text(found: object) -> str | None:
    """A digest's `first_failing_assertion` as one text: test, place, message."""
    if not isinstance(found, dict) or not isinstance(found.get("test"), str):
        return None
    place = ":".join(str(found[k]) for k in ("file", "line", "column") if found.get(k))
    head = f"{found['test']} at {place}" if place else found["test"]
    message = found.get("message")
    return f"{head}\n{message}" if isinstance(message, str) and message else head


def _adapter_assertion(target: TargetResult) -> str | None:
    """The first failed test's own record, when no digest says more."""
    for result in target.tests:
        if result.status is TestStatus.FAILED and (result.message or result.file):
            place = ":".join(str(p) for p in (result.file, result.line) if p)
            head = f"{result.name} at {place}" if place else result.name
            return f"{head}\n{result.message}" if result.message else head
    return None


def _strings(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def failure_evidence(
    summary: Summary, base_dir: Path, redact: Callable[[str], str] = str
) -> dict[str, FailureEvidence]:
    """What each outstanding target's digest and log say, every text passed through `redact`."""
    found = {}
    for target in summary.outstanding:
        digest = _digest(base_dir / target.digest) if target.digest else {}
        cause = digest.get("root_cause_class")
        evidence = digest.get("root_cause_evidence")
        pointer = digest.get("remediation_pointer")
        targeted = (
            pointer.get("targeted_test_replay_command") if isinstance(pointer, dict) else None
        )
        assertion = _assertion_text(digest.get("first_failing_assertion")) or _adapter_assertion(
            target
        )
        found[target.name] = FailureEvidence(
            root_cause=cause if isinstance(cause, str) else target.root_cause,
            assertion=redact(assertion) if assertion else None,
            evidence=tuple(
                redact(line)
                for line in _strings(evidence.get("lines") if isinstance(evidence, dict) else None)
            ),
            excerpt=tuple(map(redact, log_tail(base_dir / target.log))) if target.log else (),
            targeted_command=redact(targeted) if isinstance(targeted, str) else None,
        )
    return found
