"""Root causes: which class of failure a failed suite's lines show, and which lines decided.

Upstream (pi) searched the whole log for keywords in a fixed order, so a
"timeout" printed by any passing test won over the assertion that actually
failed. Here the class is decided in tiers, each searched in the upstream class
order: the failure messages themselves (panic headers and the message under
them, adapters' per-test messages), then the rest of the failure's own lines
(the failed tests' output sections), and only then the whole log.

Pure: lines in, a `RootCause` out. Each class keeps its pattern and the
keywords that pattern cannot match without side by side (`CAUSE_CLASSES`), so
the log scanner (`replay._inputs.logscan`) can rule lines out cheaply. The
runners' own output formats (panic headers, framing lines) are the adapters'
(`replay._adapters._output`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Sequence

import attrs

from replay._adapters._output import (
    ANSI,
    FRAMING,
    GO_PANIC,
    LEFT_RIGHT,
    PANIC_HEADER,
    THREAD_NAME,
)
from replay._core.diagnostics import ROOT_CAUSE_CLASSES
from replay._core.redact import CUT_MARK
from replay._model.convert import register_enum

MAX_EVIDENCE_LINES = 5
"""Deciding lines kept in a digest: enough to show why, not a second copy of the log."""
MAX_EVIDENCE_CHARS = 500
"""A deciding line is cut here; a minified JSON blob on one line must not bloat the digest."""
MESSAGE_LINES = 20
"""Lines kept under a panic header: an `assert_eq!` of two structs spans a few dozen."""


@attrs.frozen
class CauseClass:
    """One root-cause class: its name, its pattern, and the words the pattern needs.

    The pattern is searched in one line after `_normalize` removed test names,
    thread names and source locations, so `tests/timeout.rs:3:5` or a test
    called `handles_timeout` cannot decide a class by its name alone
    (snake-case names are safe anyway: `\b` does not split `e2e_vcr`).
    `keywords` are lower-case substrings the pattern cannot match without:
    scanning a multi-GB log tests them first, ~20x faster than the patterns.
    """

    name: str
    pattern: re.Pattern[str]
    keywords: tuple[str, ...]

    def may_match(self, lowered: str) -> bool:
        """Whether `lowered` (a line or a block, lower-cased) holds one of the keywords."""
        return any(word in lowered for word in self.keywords)


_F = re.IGNORECASE

CAUSE_CLASSES: tuple[CauseClass, ...] = (
    CauseClass(
        "timeout",
        re.compile(
            r"\btimed out\b|\btime-?out\b|deadline (?:has been )?exceeded|\bETIMEDOUT\b"
            r"|os error 110\b|kind: TimedOut\b|\bTimeoutError\b|\bTimeoutExpired\b"
            r"|test timed out after",
            _F,
        ),
        ("timed out", "timeout", "time-out", "deadline", "timedout", "os error 110"),
    ),
    CauseClass(
        "vcr_mismatch",
        re.compile(r"\bcassettes?\b|\bVCR\b|no matching interaction|match criteria:", _F),
        ("cassette", "vcr", "no matching interaction", "match criteria"),
    ),
    CauseClass(
        "assertion_failure",
        re.compile(
            r"\bassertion\b.*\bfailed\b|\bassert(?:_eq|_ne)?!|^\s*(?:left|right)\s*:"
            r"|\bAssertionError\b|\bexpected\b.+\bgot\b|^E\s+assert\b|\bNot equal:"
            # Go"s testing idiom (`t.Errorf("f(2) = %d, want %d")`) and testify"s report.
            r"|\bgot\b.*\bwant\b|, want\b|\bwant\b.*\bgot\b|^\s*Error Trace:",
            _F,
        ),
        ("assert", "left", "right", "expected", "not equal", "want", "error trace"),
    ),
    CauseClass(
        "permission_denied",
        re.compile(
            r"permission denied|\bEACCES\b|\bEPERM\b|os error 13\b|\bPermissionError\b"
            r"|kind: PermissionDenied\b|operation not permitted|access is denied",
            _F,
        ),
        ("permission", "eacces", "eperm", "os error 13", "not permitted", "access is denied"),
    ),
    CauseClass(
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
        (
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
    ),
    CauseClass(
        "lint_failure",
        # A bare `warning: unused` does not fail a build; denied lints print `error:`
        # and name the deny that made them fatal.
        re.compile(
            r"\bclippy\b|\brustfmt\b|\bruff\b|^Diff in \S|#\[deny\(|-D warnings\b"
            r"|^error: unused\b|\bwould reformat\b",
            _F,
        ),
        (
            "clippy",
            "rustfmt",
            "ruff",
            "diff in ",
            "deny(",
            "-d warnings",
            "error: unused",
            "reformat",
        ),
    ),
    CauseClass(
        "build_failure",
        # The code under test did not compile or import: no test of it ran.
        re.compile(
            r"\bcould not compile\b|^error\[E\d{4}\]|\[build failed\]|\bundefined: \S"
            r"|\b(?:declared|imported) and not used\b|\bsyntax error\b"
            r"|\b(?:ImportError|ModuleNotFoundError|SyntaxError)\b|errors? during collection",
        ),
        (
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
    ),
    CauseClass(
        "missing_file",
        re.compile(
            r"no such file or directory|\bENOENT\b|os error 2\b|\bFileNotFoundError\b"
            r"|kind: NotFound\b|cannot find the (?:file|path) specified",
            _F,
        ),
        ("no such file", "enoent", "os error 2", "filenotfound", "notfound", "cannot find the"),
    ),
    CauseClass(
        "panic",
        re.compile(r"panicked at|\bpanic:|fatal runtime error", _F),
        ("panic", "fatal runtime error"),
    ),
)
"""Every class but `unknown`, in upstream's order (the first match wins)."""

LOG_SCOPE_CLASSES = frozenset(c.name for c in CAUSE_CLASSES) - {"timeout"}
"""At log scope the word "timeout" decides nothing: passing tests print it (retry
settings, config dumps). A real timeout is known from the attempt, not the text."""

_LOCATION = re.compile(r"[^\s:'\"`()]+\.[A-Za-z]\w*:\d+(?::\d+)?")
TOKEN = re.compile(r"[^\s'\"`,;()]+")
"""A word of a line that may be a test's name."""


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


def cut(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the cut marked.

    Marked, so the redactor masks the first characters of a secret left at the cut.
    """
    return text if len(text) <= limit else text[: limit - len(CUT_MARK)] + CUT_MARK


def _normalize(line: str, names: frozenset[str]) -> str:
    """The part of `line` that may decide a class: names and locations removed."""
    line = ANSI.sub("", line)
    if FRAMING.search(line):
        return ""
    line = THREAD_NAME.sub("thread", line)
    line = _LOCATION.sub("<location>", line)
    if names:
        line = TOKEN.sub(lambda m: "<test>" if m.group() in names else m.group(), line)
    return line


def _panic_messages(lines: Sequence[str]) -> list[str]:
    """Panic headers and the message line(s) printed under each."""
    found: list[str] = []
    pending = 0
    for line in lines:
        clean = ANSI.sub("", line)
        if PANIC_HEADER.match(clean) or GO_PANIC.match(clean):
            found.append(line)
            pending = 1
            continue
        if pending and clean.strip():
            if pending == 1 or LEFT_RIGHT.match(clean):
                found.append(line)
                pending = 2
                continue
            pending = 0
    return found


def _first_class(
    lines: Sequence[str], names: frozenset[str], classes: Collection[str]
) -> tuple[str, tuple[str, ...]] | None:
    normalized = [(line, _normalize(line, names)) for line in lines]
    for cause in CAUSE_CLASSES:
        if cause.name not in classes:
            continue
        matched = [line for line, norm in normalized if norm and cause.pattern.search(norm)]
        if matched:
            return cause.name, tuple(
                cut(line, MAX_EVIDENCE_CHARS) for line in matched[:MAX_EVIDENCE_LINES]
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
        (log_lines, EvidenceScope.LOG, LOG_SCOPE_CLASSES),
    )
    for lines, scope, classes in tiers:
        decided = _first_class(lines, names, classes)
        if decided is not None:
            cls, decided_by = decided
            return RootCause(cls=cls, decided_by=decided_by, scope=scope)
    return RootCause(cls="unknown", decided_by=(), scope=EvidenceScope.LOG)
