"""Reading a failed suite's log into the bounded lines its digest needs.

One streaming pass over the log file (`scan_log`), whatever its size or line
length: the failed tests' output sections, panic headers and the message under
each, lines naming a failed test, the first lines of each root-cause class
and the tail. The pure modules decide from these lines
(`replay._core.rootcause`, `replay._core.digest`); the runners' output
formats are the adapters' (`replay._adapters._output`).
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs

from replay._adapters._output import (
    ANSI,
    BACKTRACE_FRAME,
    GO_PANIC,
    MARKERS,
    MESSAGE_END,
    PANIC_HEADER,
    SECTION,
)
from replay._core.digest import impacted_tests
from replay._core.flakes import Divergence, FlakeRun, divergence
from replay._core.redact import CUT_MARK
from replay._core.rootcause import CAUSE_CLASSES, MESSAGE_LINES, TOKEN, CauseClass, cut
from replay._model.models import TestResult
from replay._store.rundir import inside

MAX_FAILURE_LINES = 200
"""Failure lines kept per log: a digest needs the first failures, not all 10,000."""
TAIL_LINES = 50
"""The log's last lines: the failure itself when no test is known (generic runners)."""
MAX_LINE_CHARS = 2000
"""A longer line is cut: a 100 MB line of minified JSON must not be held whole."""
SIGNALS_PER_CLASS = 5
"""Log-scope lines kept per root-cause class; the first few show the pattern."""
BATCH_LINES = 256
"""Lines whose keywords are searched as one block (see `_Scanner.hot_classes`)."""
FEW_NAMES = 64
"""Up to this many failed tests, substring tests find lines naming one faster than tokens."""


@attrs.frozen
class LogEvidence:
    """The bounded lines of one log that classification and the digest read."""

    failure_lines: tuple[str, ...] = ()
    """Failed tests' output sections, panic headers and messages, lines naming a failed
    test; the log's tail instead when none of those exist."""
    log_lines: tuple[str, ...] = ()
    """The first lines of the whole log matching each root-cause class, and the tail."""


def read_lines(path: Path, max_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """The lines of `path`, decoded leniently, each cut to `max_chars` characters.

    An overlong line is skipped past without being held, so memory stays bounded
    whatever the log holds. The one reader of job logs (digests, flake divergence).
    """
    limit = max_chars * 4  # a UTF-8 character is at most 4 bytes
    with path.open("rb") as stream:
        while True:
            chunk = stream.readline(limit)
            if not chunk:
                return
            overlong = not chunk.endswith(b"\n") and len(chunk) == limit
            if overlong:
                # Skip the rest of an overlong line without holding it.
                rest = chunk
                while rest and not rest.endswith(b"\n"):
                    rest = stream.readline(limit)
            text = chunk.decode("utf-8", errors="replace").rstrip("\r\n")
            if "\x1b" in text:
                text = ANSI.sub("", text)
            yield cut(text + CUT_MARK, max_chars) if overlong else cut(text, max_chars)


def _tokens(line: str) -> Iterator[str]:
    return (m.group() for m in TOKEN.finditer(line))


class _Scanner:
    """One pass over a log's lines, keeping what `LogEvidence` holds within budgets."""

    def __init__(self, tests: Sequence[TestResult], max_lines: int, tail_lines: int) -> None:
        self.failed = frozenset(impacted_tests(tests))
        self.not_failed = frozenset(r.name for r in tests) - self.failed
        self.mention_budget = max_lines // 4
        self.pick_budget = max_lines - self.mention_budget
        self.max_lines = max_lines
        self.picked: list[tuple[int, str]] = []
        self.mentions: list[tuple[int, str]] = []
        self.signals: list[tuple[int, str]] = []
        self.signal_counts: collections.Counter[str] = collections.Counter()
        self.tail: collections.deque[tuple[int, str]] = collections.deque(maxlen=max(tail_lines, 0))
        self.in_section = False
        """Inside the `---- NAME stdout ----` section of a failed test."""
        self.message_left = 0
        """Lines still to keep under the last panic header."""

    def pick(self, number: int, line: str) -> None:
        if len(self.picked) < self.pick_budget:
            self.picked.append((number, line))

    def hot_classes(self, batch: Sequence[tuple[int, str]]) -> tuple[CauseClass, ...]:
        """The classes still short of signals whose keywords occur somewhere in `batch`.

        One substring search over a block of lines rules most blocks out; only
        the lines of a hot block are tested one by one.
        """
        wanted = [c for c in CAUSE_CLASSES if self.signal_counts[c.name] < SIGNALS_PER_CLASS]
        if not wanted:
            return ()
        block = "\n".join(line for _, line in batch).lower()
        return tuple(c for c in wanted if c.may_match(block))

    def signal(self, number: int, line: str, hot: Sequence[CauseClass]) -> None:
        lowered = line.lower()
        for cause in hot:
            if (
                self.signal_counts[cause.name] < SIGNALS_PER_CLASS
                and cause.may_match(lowered)
                and cause.pattern.search(line)
            ):
                self.signal_counts[cause.name] += 1
                self.signals.append((number, line))
                return

    def feed_batch(self, batch: Sequence[tuple[int, str]]) -> None:
        hot = self.hot_classes(batch)
        for number, line in batch:
            if hot:
                self.signal(number, line, hot)
            self.feed(number, line)

    def mentions_failed(self, line: str) -> bool:
        if not self.failed or len(self.mentions) >= self.mention_budget:
            return False
        if len(self.failed) <= FEW_NAMES:
            # Substring tests rule most lines out faster than splitting them into tokens.
            for name in self.failed:
                if name in line:
                    break
            else:
                return False
        return any(token in self.failed for token in _tokens(line))

    def marker(self, number: int, line: str) -> bool:
        """Handle a line that may start a section or a panic; True if it was consumed."""
        header = SECTION.match(line)
        if header:
            self.in_section = header.group("name") in self.failed
            self.message_left = 0
            if self.in_section:
                self.pick(number, line)
            return True
        if line == "failures:" or line.startswith(("test result:", "successes:")):
            self.in_section = False
            self.message_left = 0
            return True
        panic = PANIC_HEADER.match(line)
        # A passing `#[should_panic]` test prints its panic too; only other threads count.
        if (panic and panic.group("name") not in self.not_failed) or GO_PANIC.match(line):
            self.pick(number, line)
            self.message_left = MESSAGE_LINES
            return True
        return False

    def feed(self, number: int, line: str) -> None:
        self.tail.append((number, line))
        if line.startswith(MARKERS) and self.marker(number, line):
            return
        if self.message_left:
            if not MESSAGE_END.match(line):
                self.pick(number, line)
                self.message_left -= 1
                return
            self.message_left = 0
        if self.in_section:
            if not BACKTRACE_FRAME.match(line):
                self.pick(number, line)
        elif self.mentions_failed(line):
            self.mentions.append((number, line))

    def evidence(self) -> LogEvidence:
        ended = list(self.tail)
        own = sorted({*self.picked, *self.mentions})
        failure = own or (ended[-self.max_lines :] if self.max_lines > 0 else [])
        return LogEvidence(
            failure_lines=tuple(line for _, line in failure),
            log_lines=tuple(line for _, line in sorted({*self.signals, *ended})),
        )


def scan_log(
    log_path: Path,
    tests: Sequence[TestResult],
    *,
    max_lines: int = MAX_FAILURE_LINES,
    tail_lines: int = TAIL_LINES,
    max_line_chars: int = MAX_LINE_CHARS,
) -> LogEvidence:
    """Stream `log_path` once and keep the lines a digest needs, in log order.

    Memory is bounded by the budgets, whatever the log's size or line length. A
    missing or unreadable log gives empty evidence: a job that never started
    still gets a digest (decided by its attempt, or `unknown`).
    """
    scanner = _Scanner(tests, max_lines, tail_lines)
    batch: list[tuple[int, str]] = []
    try:
        for numbered in enumerate(read_lines(log_path, max_line_chars)):
            batch.append(numbered)
            if len(batch) == BATCH_LINES:
                scanner.feed_batch(batch)
                batch = []
        scanner.feed_batch(batch)
    except OSError:
        return LogEvidence()
    return scanner.evidence()


def failure_lines(
    log_path: Path, tests: Sequence[TestResult], max_lines: int = MAX_FAILURE_LINES
) -> tuple[str, ...]:
    """The bounded lines of `log_path` that belong to the failure (see `scan_log`)."""
    return scan_log(log_path, tests, max_lines=max_lines).failure_lines


# ── comparing runs (flake divergence) ───────────────────────────────────────

MAX_LOG_LINES = 20_000
"""Lines read from one log: where runs part is near the start of a failure, not deep in a dump."""

MAX_LOGS = 50
"""Logs of each kind (passing, failing) compared: more runs add time, not insight."""

Logs = list[tuple[str, ...]]
"""Logs read back, one tuple of lines each."""


def read_log_lines(path: Path, *, max_lines: int = MAX_LOG_LINES) -> tuple[str, ...]:
    """The first `max_lines` lines of the log at `path`; () when it is missing or unreadable.

    Bytes that are not UTF-8 are replaced, not refused: a log is evidence, whatever it holds.
    """
    try:
        return tuple(itertools.islice(read_lines(path), max_lines))
    except OSError:
        return ()


def runs_logs(run_dir: Path, runs: Sequence[FlakeRun]) -> tuple[Logs, Logs]:
    """The (passing, failing) logs of `runs`, read back from `run_dir`, at most `MAX_LOGS` each."""
    passing: Logs = []
    failing: Logs = []
    for run in runs:
        path = inside(run_dir, run.log) if run.log else None
        bucket = passing if run.passed else failing
        if path is not None and len(bucket) < MAX_LOGS:
            bucket.append(read_log_lines(path))
    return passing, failing


def runs_divergence(run_dir: Path, runs: Sequence[FlakeRun]) -> Divergence | None:
    """Where the failing runs' logs part from the passing runs' logs (None without both)."""
    return divergence(*runs_logs(run_dir, runs))
