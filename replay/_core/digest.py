"""Failure digests: why a suite failed, which tests, where, and how to replay it.

Upstream (pi) wrote `failure_digest.json` by searching the whole log for
keywords in a fixed order, so a "timeout" printed by any passing test won over
the assertion that actually failed, and it listed ignored tests as impacted.
Here the root cause is decided in tiers, each searched in the upstream class
order: the failure messages themselves (panic headers and the message under
them, adapters' per-test messages), then the rest of the failure's own lines
(the failed tests' output sections), and only then the whole log. The digest
records which lines decided and at which tier.

The first half of this module is pure (classification, digest, index); the
second half streams a log file into the bounded lines the first half reads.
"""

from __future__ import annotations

import collections
import enum
import re
import shlex
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from replay._core.redact import CUT_MARK
from replay._model.convert import register_enum, unstructure
from replay._model.models import TargetResult, TargetStatus, TestResult, TestStatus

FAILURE_DIGEST_SCHEMA = "pi.e2e.failure_digest.v1"
DIAGNOSTICS_INDEX_SCHEMA = "pi.e2e.failure_diagnostics_index.v1"

ROOT_CAUSE_CLASSES = (
    "timeout",
    "vcr_mismatch",
    "assertion_failure",
    "permission_denied",
    "network_io",
    "lint_failure",
    "build_failure",
    "missing_file",
    "panic",
    "unknown",
)
"""Upstream's classes, in its order, and `build_failure` (replay's): the first match wins."""

MAX_EVIDENCE_LINES = 5
"""Deciding lines kept in a digest: enough to show why, not a second copy of the log."""
MAX_EVIDENCE_CHARS = 500
"""A deciding line is cut here; a minified JSON blob on one line must not bloat the digest."""
MAX_MESSAGE_CHARS = 2000
"""The first failing assertion's message is cut here (a `left:` can be a whole document)."""

_F = re.IGNORECASE

# Each pattern is searched in one line after `_normalize` removed test names,
# thread names and source locations, so `tests/timeout.rs:3:5` or a test called
# `handles_timeout` cannot decide a class by its name alone. Snake-case names
# are safe anyway: `\b` does not split `e2e_vcr` or `retry_timeout`.
_CLASS_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "timeout",
        re.compile(
            r"\btimed out\b|\btime-?out\b|deadline (?:has been )?exceeded|\bETIMEDOUT\b"
            r"|os error 110\b|kind: TimedOut\b|\bTimeoutError\b|\bTimeoutExpired\b"
            r"|test timed out after",
            _F,
        ),
    ),
    (
        "vcr_mismatch",
        re.compile(r"\bcassettes?\b|\bVCR\b|no matching interaction|match criteria:", _F),
    ),
    (
        "assertion_failure",
        re.compile(
            r"\bassertion\b.*\bfailed\b|\bassert(?:_eq|_ne)?!|^\s*(?:left|right)\s*:"
            r"|\bAssertionError\b|\bexpected\b.+\bgot\b|^E\s+assert\b|\bNot equal:"
            # Go's testing idiom (`t.Errorf("f(2) = %d, want %d")`) and testify's report.
            r"|\bgot\b.*\bwant\b|, want\b|\bwant\b.*\bgot\b|^\s*Error Trace:",
            _F,
        ),
    ),
    (
        "permission_denied",
        re.compile(
            r"permission denied|\bEACCES\b|\bEPERM\b|os error 13\b|\bPermissionError\b"
            r"|kind: PermissionDenied\b|operation not permitted|access is denied",
            _F,
        ),
    ),
    (
        "network_io",
        re.compile(
            r"connection refused|connection reset|\bECONNREFUSED\b|\bECONNRESET\b"
            r"|\bEHOSTUNREACH\b|\bENETUNREACH\b|\bdns\b|os error 111\b|os error 104\b"
            r"|failed to lookup address|name or service not known"
            r"|temporary failure in name resolution|network is unreachable"
            r"|kind: Connection(?:Refused|Reset|Aborted)\b|error sending request"
            r"|\bConnectionError\b|no such host",
            _F,
        ),
    ),
    (
        "lint_failure",
        # A bare `warning: unused` does not fail a build; denied lints print `error:`
        # and name the deny that made them fatal.
        re.compile(
            r"\bclippy\b|\brustfmt\b|\bruff\b|^Diff in \S|#\[deny\(|-D warnings\b"
            r"|^error: unused\b|\bwould reformat\b",
            _F,
        ),
    ),
    (
        "build_failure",
        # The code under test did not compile or import: no test of it ran.
        re.compile(
            r"\bcould not compile\b|^error\[E\d{4}\]|\[build failed\]|\bundefined: \S"
            r"|\b(?:declared|imported) and not used\b|\bsyntax error\b"
            r"|\b(?:ImportError|ModuleNotFoundError|SyntaxError)\b|errors? during collection",
        ),
    ),
    (
        "missing_file",
        re.compile(
            r"no such file or directory|\bENOENT\b|os error 2\b|\bFileNotFoundError\b"
            r"|kind: NotFound\b|cannot find the (?:file|path) specified",
            _F,
        ),
    ),
    ("panic", re.compile(r"panicked at|\bpanic:|fatal runtime error", _F)),
)

_CLASS_KEYWORDS: dict[str, tuple[str, ...]] = {
    "timeout": ("timed out", "timeout", "time-out", "deadline", "timedout", "os error 110"),
    "vcr_mismatch": ("cassette", "vcr", "no matching interaction", "match criteria"),
    "assertion_failure": (
        "assert",
        "left",
        "right",
        "expected",
        "not equal",
        "want",
        "error trace",
    ),
    "permission_denied": (
        "permission",
        "eacces",
        "eperm",
        "os error 13",
        "not permitted",
        "access is denied",
    ),
    "network_io": (
        "connection",
        "econn",
        "unreach",
        "dns",
        "os error 1",
        "lookup",
        "service not known",
        "name resolution",
        "sending request",
        "no such host",
    ),
    "lint_failure": (
        "clippy",
        "rustfmt",
        "ruff",
        "diff in ",
        "deny(",
        "-d warnings",
        "error: unused",
        "reformat",
    ),
    "build_failure": (
        "could not compile",
        "error[e",
        "build failed",
        "undefined: ",
        "and not used",
        "syntax error",
        "importerror",
        "modulenotfounderror",
        "syntaxerror",
        "during collection",
    ),
    "missing_file": (
        "no such file",
        "enoent",
        "os error 2",
        "filenotfound",
        "notfound",
        "cannot find the",
    ),
    "panic": ("panic", "fatal runtime error"),
}
"""Lower-case words each class's pattern cannot match without: scanning a multi-GB log
tests these substrings first, ~20x faster than running the case-insensitive patterns."""

_LOG_SCOPE_CLASSES = frozenset(cls for cls, _ in _CLASS_PATTERNS) - {"timeout"}
"""At log scope the word "timeout" decides nothing: passing tests print it (retry
settings, config dumps). A real timeout is known from the attempt, not the text."""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_PANIC_HEADER = re.compile(
    # Rust >= 1.73: `thread 'NAME' (TID) panicked at FILE:LINE:COL:` and the message below;
    # older: `thread 'NAME' panicked at 'MESSAGE', FILE:LINE:COL`.
    r"^thread '(?P<name>.*?)'(?: \(\d+\))? panicked at "
    r"(?:'(?P<inline>.*)', )?(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<column>\d+):?\s*$"
)
_GO_PANIC = re.compile(r"^panic: ")
_SECTION = re.compile(r"^---- (?P<name>.+) (?:stdout|stderr) ----$")
_FRAMING = re.compile(
    # Lines that only name tests, never say why they failed.
    r"^test .+ \.\.\. (?:ok|FAILED|ignored)\b|^---- .+ (?:stdout|stderr) ----$"
    r"|^\s*--- (?:FAIL|PASS|SKIP): |^=== (?:RUN|PAUSE|CONT|NAME)\b|^error: test failed, to rerun"
    r"|^failures:$|^test result: "
)
_THREAD_NAME = re.compile(r"thread '.*?'(?: \(\d+\))?")
_LOCATION = re.compile(r"[^\s:'\"`()]+\.[A-Za-z]\w*:\d+(?::\d+)?")
_TOKEN = re.compile(r"[^\s'\"`,;()]+")
_BACKTRACE_FRAME = re.compile(r"^\s+\d+: |^\s+at \S.*:\d+(?::\d+)?$")
_MESSAGE_END = re.compile(
    r"^\s*$|^stack backtrace:|^note: |^test .+ \.\.\. |^thread '|^---- |^failures:$"
)
_MARKERS = ("---- ", "failures:", "test result:", "successes:", "thread '", "panic: ")
"""How every line `_Scanner.marker` acts on starts: one C call rules the rest out."""
_LEFT_RIGHT = re.compile(r"^\s*(?:left|right)\s*:")

MESSAGE_LINES = 20
"""Lines kept under a panic header: an `assert_eq!` of two structs spans a few dozen."""


@register_enum
class EvidenceScope(str, enum.Enum):
    """Where the deciding lines were found."""

    ATTEMPT = "attempt"
    """Not in text at all: the attempt was stopped by its timeout."""
    FAILURE = "failure"
    """The failure's own lines: messages, panic headers, failed tests' output."""
    LOG = "log"
    """Anywhere in the log (the weakest evidence)."""


@attrs.frozen
class RootCause:
    """The class of a failure and the lines that decided it."""

    cls: str
    decided_by: tuple[str, ...] = ()
    scope: EvidenceScope = EvidenceScope.LOG


# ---------------------------------------------------------------------------
# Classification (pure)
# ---------------------------------------------------------------------------


def _normalize(line: str, names: frozenset[str]) -> str:
    """The part of `line` that may decide a class: names and locations removed."""
    line = _ANSI.sub("", line)
    if _FRAMING.search(line):
        return ""
    line = _THREAD_NAME.sub("thread", line)
    line = _LOCATION.sub("<location>", line)
    if names:
        line = _TOKEN.sub(lambda m: "<test>" if m.group() in names else m.group(), line)
    return line


def _panic_messages(lines: Sequence[str]) -> list[str]:
    """Panic headers and the message line(s) printed under each."""
    found: list[str] = []
    pending = 0
    for line in lines:
        clean = _ANSI.sub("", line)
        if _PANIC_HEADER.match(clean) or _GO_PANIC.match(clean):
            found.append(line)
            pending = 1
            continue
        if pending and clean.strip():
            if pending == 1 or _LEFT_RIGHT.match(clean):
                found.append(line)
                pending = 2
                continue
            pending = 0
    return found


def _first_class(
    lines: Sequence[str], names: frozenset[str], classes: Collection[str]
) -> tuple[str, tuple[str, ...]] | None:
    normalized = [(line, _normalize(line, names)) for line in lines]
    for cls, pattern in _CLASS_PATTERNS:
        if cls not in classes:
            continue
        matched = [line for line, norm in normalized if norm and pattern.search(norm)]
        if matched:
            return cls, tuple(
                _cut(line, MAX_EVIDENCE_CHARS) for line in matched[:MAX_EVIDENCE_LINES]
            )
    return None


def classify_root_cause(
    failure_lines: Sequence[str],
    log_lines: Sequence[str],
    *,
    timed_out: bool,
    messages: Sequence[str] = (),
    test_names: Collection[str] = (),
) -> RootCause:
    """The root-cause class of a failure, decided by the strongest evidence there is.

    Tiers, strongest first; inside a tier upstream's class order decides:
    a timed-out attempt; `messages` (adapters' per-test failure messages) with
    the panic headers of `failure_lines` and the message under each; the rest of
    `failure_lines`; `log_lines` (where "timeout" alone decides nothing).
    `test_names` are masked out so a test called `handles_timeout` is no timeout.
    """
    if timed_out:
        return RootCause(cls="timeout", decided_by=(), scope=EvidenceScope.ATTEMPT)
    names = frozenset(test_names)
    every = frozenset(ROOT_CAUSE_CLASSES)
    message_lines = [part for message in messages for part in message.splitlines()[:MESSAGE_LINES]]
    tiers: tuple[tuple[Sequence[str], EvidenceScope, Collection[str]], ...] = (
        ([*message_lines, *_panic_messages(failure_lines)], EvidenceScope.FAILURE, every),
        (failure_lines, EvidenceScope.FAILURE, every),
        (log_lines, EvidenceScope.LOG, _LOG_SCOPE_CLASSES),
    )
    for lines, scope, classes in tiers:
        decided = _first_class(lines, names, classes)
        if decided is not None:
            cls, decided_by = decided
            return RootCause(cls=cls, decided_by=decided_by, scope=scope)
    return RootCause(cls="unknown", decided_by=(), scope=EvidenceScope.LOG)


# ---------------------------------------------------------------------------
# The digest (pure)
# ---------------------------------------------------------------------------


@attrs.frozen
class Evidence:
    """The lines that decided `root_cause_class`, and where they were found."""

    scope: EvidenceScope
    lines: tuple[str, ...] = ()


@attrs.frozen
class Location:
    """Upstream's `first_failing_assertion.location`."""

    file: str
    line: int | None = None
    column: int | None = None


@attrs.frozen(kw_only=True)
class Assertion:
    """The first failing assertion: which test, where, and what it said.

    `file`, `line` and `column` are repeated in `location`, the nesting upstream
    wrote, so readers of either shape find them.
    """

    test: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    message: str = ""
    location: Location | None = None


@attrs.frozen(kw_only=True)
class RemediationPointer:
    """How to reproduce the failure: the whole run's replay, the suite, the failed tests."""

    summary: str
    replay_command: str
    suite_replay_command: str
    targeted_test_replay_command: str | None = None


@attrs.frozen(kw_only=True)
class FailureDigest:
    """`<suite>/failure_digest.json`: a superset of upstream's `pi.e2e.failure_digest.v1`."""

    schema: str = FAILURE_DIGEST_SCHEMA
    generated_at: str
    correlation_id: str | None = None
    suite: str
    status: str
    exit_code: int | None = None
    """None when the process was killed by a signal or never started."""
    signal: int | None = None
    root_cause_class: str
    root_cause_evidence: Evidence
    impacted_scenario_ids: tuple[str, ...] = ()
    """The tests that failed in the latest attempt that ran them (never ignored ones)."""
    first_failing_assertion: Assertion | None = None
    remediation_pointer: RemediationPointer
    log_file: str | None = None
    """Relative to the run directory."""


_REMEDIATION = {
    "timeout": "Find the step that stalled (the last lines before the kill) and check the "
    "suite's timeout.",
    "vcr_mismatch": "Re-record or refresh the cassette, and check that the request (prompt "
    "context, cwd, timestamps) is stable enough for playback matching.",
    "assertion_failure": "Inspect the first failing assertion's preconditions and fixture state.",
    "permission_denied": "Check file modes, ACLs and sandbox limits on the failing path.",
    "network_io": "Check the endpoint or mock the test talks to, and its retry handling.",
    "lint_failure": "Run the linter on the target and fix the first error it reports.",
    "build_failure": "Fix the first compile or import error; none of the code's tests ran.",
    "missing_file": "Check that fixtures are created and paths are wired before the test runs.",
    "panic": "Inspect the panic location and the assumption it guards.",
    "unknown": "Read the log around the first failing test; no known pattern matched.",
}


def impacted_tests(tests: Sequence[TestResult]) -> tuple[str, ...]:
    """Tests whose latest result failed, in the order they first appear."""
    latest: dict[str, TestResult] = {}
    for result in tests:
        held = latest.get(result.name)
        if held is None or result.attempt >= held.attempt:
            latest[result.name] = result
    return tuple(name for name, result in latest.items() if result.status is TestStatus.FAILED)


def _panic_assertion(lines: Sequence[str], test: str | None) -> Assertion | None:
    """The assertion under the first panic header of `test` (of any thread if None)."""
    for index, line in enumerate(lines):
        match = _PANIC_HEADER.match(_ANSI.sub("", line))
        if match is None or (test is not None and match.group("name") != test):
            continue
        message = match.group("inline")
        if message is None:
            body: list[str] = []
            for follow in lines[index + 1 : index + 1 + MESSAGE_LINES]:
                clean = _ANSI.sub("", follow).rstrip()
                if _MESSAGE_END.match(clean) or (body and not _LEFT_RIGHT.match(clean)):
                    break
                body.append(clean)
            message = "\n".join(body)
        file, number, column = (
            match.group("file"),
            int(match.group("line")),
            int(match.group("column")),
        )
        return Assertion(
            test=test or match.group("name"),
            file=file,
            line=number,
            column=column,
            message=_cut(message, MAX_MESSAGE_CHARS),
            location=Location(file=file, line=number, column=column),
        )
    return None


def first_failing_assertion(
    failure_lines: Sequence[str], tests: Sequence[TestResult]
) -> Assertion | None:
    """The first failed test's panic (file, line, column, message), else its adapter record."""
    impacted = impacted_tests(tests)
    if not impacted:
        return _panic_assertion(failure_lines, None)
    name = impacted[0]
    found = _panic_assertion(failure_lines, name)
    result = next(r for r in reversed(tests) if r.name == name and r.status is TestStatus.FAILED)
    if found is not None:
        # The log says where relative to the suite's directory; the adapter's record, as the
        # run stored it, relative to the repository root: that is where an annotation lands.
        same = result.file and found.file and result.line == found.line
        if same and result.file and result.file.endswith((found.file or "").removeprefix("./")):
            where = Location(file=result.file, line=found.line, column=found.column)
            found = attrs.evolve(found, file=result.file, location=where)
        return found
    location = Location(file=result.file, line=result.line) if result.file else None
    return Assertion(
        test=name,
        file=result.file,
        line=result.line,
        message=_cut(result.message or "", MAX_MESSAGE_CHARS),
        location=location,
    )


def build_digest(
    target: TargetResult,
    *,
    failure_lines: Sequence[str],
    log_lines: Sequence[str],
    replay_command: str,
    targeted_command: str | None,
    generated_at: str,
    correlation_id: str | None = None,
) -> FailureDigest:
    """The failure digest of one failed target.

    `failure_lines` and `log_lines` come from `scan_log`; the commands are built
    by the caller with `shlex.join` (the targeted one by the target's adapter).
    """
    impacted = impacted_tests(target.tests)
    timed_out = target.status is TargetStatus.TIMED_OUT or any(
        a.timed_out for a in target.attempts[-1:]
    )
    # A set: a tuple's `in` made this quadratic (60,000 failed tests took 20 s).
    failing = frozenset(impacted)
    failed = [r for r in target.tests if r.status is TestStatus.FAILED and r.name in failing]
    root = classify_root_cause(
        failure_lines,
        log_lines,
        timed_out=timed_out,
        messages=[r.message for r in failed if r.message],
        test_names=[r.name for r in target.tests],
    )
    return FailureDigest(
        generated_at=generated_at,
        correlation_id=correlation_id,
        suite=target.name,
        status=target.status.value,
        exit_code=target.exit_code,
        signal=target.signal,
        root_cause_class=root.cls,
        root_cause_evidence=Evidence(scope=root.scope, lines=root.decided_by),
        impacted_scenario_ids=impacted,
        first_failing_assertion=first_failing_assertion(failure_lines, target.tests),
        remediation_pointer=RemediationPointer(
            summary=_REMEDIATION[root.cls],
            replay_command=replay_command,
            suite_replay_command=shlex.join(target.argv),
            targeted_test_replay_command=targeted_command,
        ),
        log_file=target.log,
    )


def _assertion_summary(assertion: Assertion | None) -> str | None:
    if assertion is None:
        return None
    where = ":".join(str(p) for p in (assertion.file, assertion.line, assertion.column) if p)
    first_line = assertion.message.splitlines()[0] if assertion.message else ""
    head = f"{assertion.test} at {where}" if where else assertion.test
    return f"{head}: {first_line}" if first_line else head


def diagnostics_index(
    digests: Sequence[tuple[str, FailureDigest]], generated_at: str
) -> dict[str, Any]:
    """`failure_diagnostics_index.json`: one entry per `(digest path, digest)`, and counts.

    Entries keep upstream's fields (`suite`, `digest_path`, `root_cause_class`,
    `impacted_scenario_ids`, `first_failing_assertion`) and add a count and a
    one-line summary of the assertion.
    """
    counts = dict.fromkeys(ROOT_CAUSE_CLASSES, 0)
    entries = []
    for path, digest in digests:
        counts[digest.root_cause_class] = counts.get(digest.root_cause_class, 0) + 1
        entries.append(
            {
                "suite": digest.suite,
                "digest_path": path,
                "root_cause_class": digest.root_cause_class,
                "impacted_scenario_ids": list(digest.impacted_scenario_ids),
                "impacted_count": len(digest.impacted_scenario_ids),
                "first_failing_assertion": unstructure(digest.first_failing_assertion),
                "first_failing_assertion_summary": _assertion_summary(
                    digest.first_failing_assertion
                ),
            }
        )
    return {
        "schema": DIAGNOSTICS_INDEX_SCHEMA,
        "generated_at": generated_at,
        "failed_suite_count": len(entries),
        "counts_by_class": counts,
        "suites": entries,
    }


def _cut(text: str, limit: int) -> str:
    # Marked, so the redactor masks the first characters of a secret left at the cut.
    return text if len(text) <= limit else text[: limit - len(CUT_MARK)] + CUT_MARK


# ---------------------------------------------------------------------------
# Reading a log (I/O): bounded memory whatever the log's size or line length
# ---------------------------------------------------------------------------

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


def _read_lines(path: Path, max_chars: int) -> Iterator[str]:
    """The lines of `path`, decoded leniently, each cut to `max_chars` characters."""
    limit = max_chars * 4  # a UTF-8 character is at most 4 bytes
    with path.open("rb") as stream:
        while True:
            chunk = stream.readline(limit)
            if not chunk:
                return
            cut = not chunk.endswith(b"\n") and len(chunk) == limit
            if cut:
                # Skip the rest of an overlong line without holding it.
                rest = chunk
                while rest and not rest.endswith(b"\n"):
                    rest = stream.readline(limit)
            text = chunk.decode("utf-8", errors="replace").rstrip("\r\n")
            if "\x1b" in text:
                text = _ANSI.sub("", text)
            yield _cut(text + CUT_MARK, max_chars) if cut else _cut(text, max_chars)


def _tokens(line: str) -> Iterator[str]:
    return (m.group() for m in _TOKEN.finditer(line))


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

    def hot_classes(
        self, batch: Sequence[tuple[int, str]]
    ) -> tuple[tuple[str, re.Pattern[str]], ...]:
        """The classes still short of signals whose keywords occur somewhere in `batch`.

        One substring search over a block of lines rules most blocks out; only
        the lines of a hot block are tested one by one.
        """
        wanted = [c for c in _CLASS_PATTERNS if self.signal_counts[c[0]] < SIGNALS_PER_CLASS]
        if not wanted:
            return ()
        block = "\n".join(line for _, line in batch).lower()
        return tuple(c for c in wanted if any(word in block for word in _CLASS_KEYWORDS[c[0]]))

    def signal(self, number: int, line: str, hot: Sequence[tuple[str, re.Pattern[str]]]) -> None:
        lowered = line.lower()
        for cls, pattern in hot:
            if (
                self.signal_counts[cls] < SIGNALS_PER_CLASS
                and any(word in lowered for word in _CLASS_KEYWORDS[cls])
                and pattern.search(line)
            ):
                self.signal_counts[cls] += 1
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
        header = _SECTION.match(line)
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
        panic = _PANIC_HEADER.match(line)
        # A passing `#[should_panic]` test prints its panic too; only other threads count.
        if (panic and panic.group("name") not in self.not_failed) or _GO_PANIC.match(line):
            self.pick(number, line)
            self.message_left = MESSAGE_LINES
            return True
        return False

    def feed(self, number: int, line: str) -> None:
        self.tail.append((number, line))
        if line.startswith(_MARKERS) and self.marker(number, line):
            return
        if self.message_left:
            if not _MESSAGE_END.match(line):
                self.pick(number, line)
                self.message_left -= 1
                return
            self.message_left = 0
        if self.in_section:
            if not _BACKTRACE_FRAME.match(line):
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
        for numbered in enumerate(_read_lines(log_path, max_line_chars)):
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
