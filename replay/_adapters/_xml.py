"""Reading JUnit XML that any runner wrote: hardened, streaming, never raising.

JUnit files are untrusted input. defusedxml refuses DTDs (and with them entity
bombs and external entities) before expat expands anything, and `iterparse`
keeps only the open test case in memory, so a 100,000-case report or a
truncated one costs what it holds. A broken file yields the cases read before
the break and says why reading stopped.

Dialects covered: pytest (`file`/`line` attributes with `junit_family=xunit1`,
`<skipped type="pytest.xfail">` for an expected failure),
Maven surefire (`flakyFailure`, `flakyError`, `rerunFailure`, `rerunError`),
nested `<testsuites>`/`<testsuite>` and files without any `<testsuites>` root.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as stdlib_et
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import attrs
import defusedxml.ElementTree as safe_et
from defusedxml.common import DefusedXmlException

from replay._adapters._lines import cap_message
from replay._model.models import TestStatus

if TYPE_CHECKING:
    from collections.abc import Iterator

DETAIL_TAIL_CHARS = 4096
"""The end of a failure's text is kept: runners print the failing location last."""

PYTEST_XFAIL = "pytest.xfail"
"""The `type` pytest gives the `<skipped>` of a test that failed as its xfail mark expected."""

_FAILED_TAGS = frozenset({"failure", "error", "rerunFailure", "rerunError"})
_FLAKY_TAGS = frozenset({"flakyFailure", "flakyError"})
_SUITE_TAGS = frozenset({"testsuite", "testsuites"})


@attrs.frozen
class JUnitCase:
    """One `<testcase>` as read, with the context of its enclosing suites."""

    name: str
    classname: str
    status: TestStatus
    file: str | None = None
    line: int | None = None
    time: float | None = None
    message: str | None = None
    """The failure's (or skip's) `message` attribute, else the first line of its text; capped."""
    detail_tail: str | None = None
    """The end of the failure's (or skip's) text (a traceback ends with its location)."""
    flaky: bool = False
    """Passed after failing reruns (surefire's `flakyFailure`)."""
    suite: str = ""


@attrs.frozen
class JUnitReport:
    """The cases of one JUnit file; `error` says why reading stopped early, if it did."""

    cases: tuple[JUnitCase, ...] = ()
    error: str | None = None


def read_junit(path: Path) -> JUnitReport:
    """Every test case in the JUnit XML file at `path`; never raises.

    A missing file, a DTD, an entity, malformed XML or a truncated file ends
    the read with `error` set; the cases completed before that are kept.
    """
    cases: list[JUnitCase] = []
    try:
        for case in _iter_cases(path):
            cases.append(case)
    except DefusedXmlException as exc:
        return JUnitReport(tuple(cases), f"{path}: refused: {type(exc).__name__}")
    except stdlib_et.ParseError as exc:
        return JUnitReport(tuple(cases), f"{path}: malformed XML: {exc}")
    except OSError as exc:
        return JUnitReport(tuple(cases), f"{path}: unreadable: {exc.strerror or exc}")
    except (ValueError, LookupError) as exc:
        # expat reports some encoding problems (an unknown `encoding=` name) this way.
        return JUnitReport(tuple(cases), f"{path}: unreadable XML: {exc}")
    return JUnitReport(tuple(cases))


def _iter_cases(path: Path) -> Iterator[JUnitCase]:
    with path.open("rb") as source:
        yield from _iter_open_cases(source)


def _iter_open_cases(source: BinaryIO) -> Iterator[JUnitCase]:
    open_elements: list[Any] = []
    suites: list[tuple[str, str | None]] = []  # (name, file) of each open <testsuite>
    events = safe_et.iterparse(source, events=("start", "end"), forbid_dtd=True)
    for event, element in events:
        tag = _local(element.tag)
        if event == "start":
            open_elements.append(element)
            if tag == "testsuite":
                parent_file = suites[-1][1] if suites else None
                suites.append((element.get("name") or "", element.get("file") or parent_file))
            continue
        open_elements.pop()
        if tag == "testcase":
            suite_name, suite_file = suites[-1] if suites else ("", None)
            yield _case(element, suite_name, suite_file)
        elif tag == "testsuite" and suites:
            suites.pop()
        # Drop finished cases and children of suites so memory holds one case, not the file.
        if open_elements and (tag == "testcase" or _local(open_elements[-1].tag) in _SUITE_TAGS):
            open_elements[-1].remove(element)
            element.clear()


def _case(element: Any, suite: str, suite_file: str | None) -> JUnitCase:
    status = TestStatus.PASSED
    message: str | None = None
    detail: str | None = None
    flaky = False
    for child in element:
        tag = _local(child.tag)
        if tag in _FAILED_TAGS:
            if status is not TestStatus.FAILED:
                message, detail = _outcome_text(child)
            status = TestStatus.FAILED
        elif tag == "skipped" and status is TestStatus.PASSED:
            xfail = child.get("type") == PYTEST_XFAIL
            status = TestStatus.XFAILED if xfail else TestStatus.SKIPPED
            message, detail = _outcome_text(child)
        elif tag in _FLAKY_TAGS:
            flaky = True
    return JUnitCase(
        name=element.get("name") or "",
        classname=element.get("classname") or element.get("class") or "",
        status=status,
        file=element.get("file") or suite_file,
        line=_int(element.get("line")),
        time=_seconds(element.get("time")),
        message=message,
        detail_tail=detail,
        flaky=flaky and status is TestStatus.PASSED,
        suite=suite,
    )


def _outcome_text(element: Any) -> tuple[str | None, str | None]:
    """(message, tail of the text) of a `<failure>`, `<error>` or `<skipped>` element."""
    text = element.text or ""
    attribute = element.get("message")
    if attribute and attribute.strip():
        message = cap_message(attribute.splitlines())
    else:
        # Without a message attribute the text's first line says it (`NullPointerException`);
        # the lines after it are a stack trace.
        message = cap_message(text.strip().splitlines()[:1])
    tail = text.rstrip()[-DETAIL_TAIL_CHARS:] or None
    return message, tail


def _local(tag: object) -> str:
    """A tag without its `{namespace}` (comments and processing instructions have none)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _seconds(value: str | None) -> float | None:
    """A `time` attribute in seconds; some tools write `1,234.5`, bad ones write `NaN`."""
    if value is None:
        return None
    try:
        seconds = float(value.strip().replace(",", ""))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
