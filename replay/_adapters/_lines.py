"""What every log parser needs: bounded line reading and a name-keyed result book.

Logs are untrusted and may be gigabytes, hold invalid UTF-8, terminal colours,
or a single 100 MB line without a newline. `iter_lines` reads them in bounded
memory; `ResultBook` merges what a parser saw about each test into one result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from replay._model.models import TestResult, TestStatus

MAX_LINE_BYTES = 64 * 1024
"""Longer lines are cut: no result line is this long, and a runaway line must not fill memory."""

MAX_MESSAGE_LINES = 8
"""A failure message keeps its first lines: enough for an `assert_eq` left/right pair."""

MAX_MESSAGE_CHARS = 1000
"""...and at most this many characters, so a summary stays readable with 10,000 failures."""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")

# Which result wins when one log reports a name twice (several test binaries or
# packages, a teardown error after a pass): a failure anywhere is a failure.
_RANK = {TestStatus.FAILED: 2, TestStatus.PASSED: 1, TestStatus.XFAILED: 0, TestStatus.SKIPPED: 0}


def iter_lines(path: Path, max_line: int = MAX_LINE_BYTES) -> Iterator[str]:
    """Yield the lines of `path` without their line ending, decoded leniently.

    A line longer than `max_line` bytes yields its first `max_line` bytes and the
    rest of it is skipped unread into memory. A missing or unreadable file yields
    nothing: a crashed job may not have written its log.
    """
    try:
        handle = path.open("rb")
    except OSError:
        return
    with handle:
        while True:
            try:
                raw = handle.readline(max_line)
            except OSError:
                return
            if not raw:
                return
            if len(raw) >= max_line and not raw.endswith(b"\n"):
                _skip_rest_of_line(handle.readline, max_line)
            yield raw.decode("utf-8", "replace").rstrip("\r\n")


def _skip_rest_of_line(readline: Callable[[int], bytes], max_line: int) -> None:
    """Read and drop chunks until the end of the current line (or of the file)."""
    while True:
        try:
            chunk = readline(max_line)
        except OSError:
            return
        if not chunk or chunk.endswith(b"\n"):
            return


def strip_ansi(line: str) -> str:
    """`line` without terminal colour codes (`CARGO_TERM_COLOR=always`, `--color=yes`)."""
    return _ANSI.sub("", line) if "\x1b" in line else line


def cap_message(lines: Iterable[str]) -> str | None:
    """The first lines of a failure message joined, capped; None when there is no text."""
    kept: list[str] = []
    size = 0
    for line in lines:
        if len(kept) == MAX_MESSAGE_LINES or size >= MAX_MESSAGE_CHARS:
            break
        kept.append(line)
        size += len(line) + 1
    text = "\n".join(kept).strip("\n")
    if not text.strip():
        return None
    return text[:MAX_MESSAGE_CHARS]


def _replaces(known: TestResult, result: TestResult) -> bool:
    if _RANK[result.status] != _RANK[known.status]:
        return _RANK[result.status] > _RANK[known.status]
    return known.message is None and result.message is not None


class ResultBook:
    """Test results keyed by name, in first-seen order; a failure beats a pass beats a skip.

    Between two results of the same status the first stays, unless only the
    second explains itself (a `-v` line first, the summary line with the message later).
    """

    def __init__(self) -> None:
        self._results: dict[str, TestResult] = {}

    def add(self, result: TestResult) -> None:
        """Record `result`, keeping the worse one when its name was already seen."""
        known = self._results.get(result.name)
        if known is None or _replaces(known, result):
            self._results[result.name] = result

    def get(self, name: str) -> TestResult | None:
        """The result recorded for `name`, if any."""
        return self._results.get(name)

    def __len__(self) -> int:
        return len(self._results)

    def results(self) -> tuple[TestResult, ...]:
        """Every recorded result, in the order the names first appeared."""
        return tuple(self._results.values())
