"""One JUnit XML report for a whole run (`--junit FILE`), built from its summary.

GitHub (through the common JUnit actions), GitLab and Jenkins all read the
Ant/Surefire dialect: `<testsuites>` of `<testsuite>`s of `<testcase>`s with
`<failure>`, `<error>` and `<skipped>`. Retries use Maven Surefire's rerun
elements, which Jenkins and GitLab understand and the others ignore: a test
that passed after failing carries `<flakyFailure>`s; a test that failed every
attempt carries one `<failure>` and a `<rerunFailure>` per retry.

Pure: the summary (and the run's redactor) in, bytes out. The XML is built
with ElementTree, which escapes markup; characters XML 1.0 cannot hold at all
are removed first. Every text and attribute then goes through the redactor
(test messages quote what jobs print, secrets included).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence

import attrs

from replay._core.redact import CUT_MARK, Redactor
from replay._core.summary import summary_redactor
from replay._model.clock import junit_timestamp, parse_iso
from replay._model.models import (
    Attempt,
    Summary,
    TargetResult,
    TargetStatus,
    TestResult,
    TestStatus,
)
from replay._model.outcomes import attempt_status

MAX_MESSAGE_ATTR = 1000
"""A `message` attribute holds one line, cut here; the full text goes into the element."""
MAX_TEXT = 64 * 1024
"""Failure text is cut here: report viewers choke on megabytes in one element."""

# XML 1.0 allows tab, LF, CR and everything from U+0020 except surrogates, U+FFFE and U+FFFF.
_ILLEGAL_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_ERROR_STATUSES = {
    TargetStatus.TIMED_OUT: "timed_out",
    TargetStatus.CRASHED: "crashed",
    TargetStatus.NOT_RUN: "not_run",
}
"""Target endings that are errors of the run, not failures of a test."""


def _clean(text: str, limit: int) -> str:
    text = _ILLEGAL_XML.sub("", text)
    # Marked, so the redactor masks the first characters of a secret left at the cut.
    return text if len(text) <= limit else text[: limit - len(CUT_MARK)] + CUT_MARK


def _one_line(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return _clean(first, MAX_MESSAGE_ATTR)


def _seconds(value: float | None) -> str:
    return f"{max(value or 0.0, 0.0):.3f}"


def _attempt_reason(attempt: Attempt) -> str:
    """Why an attempt did not pass, in a few words."""
    if attempt.error:
        return attempt.error
    if attempt.timed_out:
        return f"attempt {attempt.number} timed out after {attempt.duration:.1f}s"
    if attempt.interrupted:
        return f"attempt {attempt.number} was interrupted"
    if attempt.signal is not None:
        return f"attempt {attempt.number} was killed by signal {attempt.signal}"
    if attempt.failed_by and attempt.exit_code == 0:
        # It exited 0 but the run's rules fail it: LEAK-FAIL, or --no-tests fail.
        return f"attempt {attempt.number} failed: {attempt.failed_by}"
    return f"attempt {attempt.number} exited with code {attempt.exit_code}"


def _failed_attempt(attempt: Attempt) -> bool:
    """Whether the attempt did not pass, by the run's own rule (a pass by `--no-tests pass`
    or a leak that only marked it is a pass: no `<rerunFailure>` for it)."""
    return attempt_status(attempt) is not TargetStatus.PASSED


@attrs.frozen
class _Problem:
    """One `<failure>`-like child of a testcase."""

    tag: str
    message: str
    type: str
    text: str = ""


def _add_problem(case: ET.Element, problem: _Problem) -> None:
    element = ET.SubElement(
        case, problem.tag, {"message": _one_line(problem.message), "type": _one_line(problem.type)}
    )
    if problem.tag in ("flakyFailure", "rerunFailure", "flakyError", "rerunError"):
        # Surefire puts the details of a rerun into a <stackTrace> child.
        if problem.text:
            ET.SubElement(element, "stackTrace").text = _clean(problem.text, MAX_TEXT)
    elif problem.text:
        element.text = _clean(problem.text, MAX_TEXT)


def _test_histories(target: TargetResult) -> dict[str, list[TestResult]]:
    """Each test's results across attempts, oldest first, tests in order of appearance."""
    seen: dict[tuple[str, int], TestResult] = {}
    for result in (*(t for a in target.attempts for t in a.tests), *target.tests):
        seen[(result.name, result.attempt)] = result
    histories: dict[str, list[TestResult]] = {}
    for (name, _), result in seen.items():
        histories.setdefault(name, []).append(result)
    for history in histories.values():
        history.sort(key=lambda r: r.attempt)
    return histories


def _text_problem(tag: str, text: str | None, kind: str) -> _Problem:
    return _Problem(tag, text or "failed", kind, text or "")


def _attempt_problem(tag: str, attempt: Attempt, kind: str) -> _Problem:
    reason = _attempt_reason(attempt)
    return _Problem(tag, reason, kind, reason)


def _test_problems(history: Sequence[TestResult], kind: str) -> list[_Problem]:
    final = history[-1]
    failures = [r for r in history if r.status is TestStatus.FAILED]
    if final.status is TestStatus.SKIPPED and not failures:
        return [_Problem("skipped", final.message or "", "skipped")]
    if final.status is TestStatus.XFAILED and not failures:
        # As pytest writes it: an expected failure is a skip of type `pytest.xfail`.
        return [_Problem("skipped", final.message or "expected failure", "pytest.xfail")]
    if final.status is TestStatus.FAILED:
        first, *retries = failures
        return [
            _text_problem("failure", first.message, kind),
            *(_text_problem("rerunFailure", r.message, kind) for r in retries),
        ]
    return [_text_problem("flakyFailure", r.message, kind) for r in failures]


def _suite_problems(target: TargetResult) -> list[_Problem]:
    """How the target ended, read from its attempts rather than its tests."""
    kind = target.root_cause or "failed"
    failed = [a for a in target.attempts if _failed_attempt(a)]
    status = target.status
    if status in _ERROR_STATUSES:
        reason = (
            _attempt_reason(target.attempts[-1])
            if target.attempts
            else f"{target.name} did not run"
        )
        return [_Problem("error", reason, _ERROR_STATUSES[status], reason)]
    if status is TargetStatus.SKIPPED:
        return [_Problem("skipped", "skipped", "skipped")]
    if status is TargetStatus.FLAKY:
        return [_attempt_problem("flakyFailure", a, kind) for a in failed]
    if status is TargetStatus.FAILED:
        if not failed:
            return [_text_problem("failure", f"exit code {target.exit_code}", kind)]
        first, *retries = failed
        return [
            _attempt_problem("failure", first, kind),
            *(_attempt_problem("rerunFailure", a, kind) for a in retries),
        ]
    return []


def _testcase(
    parent: ET.Element,
    *,
    classname: str,
    name: str,
    seconds: float | None,
    problems: Iterable[_Problem],
    file: str | None = None,
) -> None:
    attributes = {"classname": _clean(classname, MAX_TEXT), "name": _clean(name, MAX_TEXT)}
    attributes["time"] = _seconds(seconds)
    if file:
        attributes["file"] = _clean(file, MAX_TEXT)
    case = ET.SubElement(parent, "testcase", attributes)
    for problem in problems:
        _add_problem(case, problem)


def _testsuite(target: TargetResult, run_started: str) -> ET.Element:
    suite = ET.Element("testsuite", {"name": _clean(target.name, MAX_TEXT)})
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("kind", target.kind),
        ("adapter", target.adapter),
        ("status", target.status.value),
        ("decided_by", target.decided_by),
        ("quarantined", str(target.quarantined).lower()),
    ):
        ET.SubElement(properties, "property", {"name": key, "value": _clean(value, MAX_TEXT)})
    kind = target.root_cause or "failed"
    histories = _test_histories(target)
    recorded: set[str] = set()
    for name, history in histories.items():
        problems = _test_problems(history, kind)
        recorded.update(p.tag for p in problems)
        duration = sum(r.duration or 0.0 for r in history)
        _testcase(
            suite,
            classname=target.name,
            name=name,
            seconds=duration,
            problems=problems,
            file=history[-1].file,
        )
    suite_problems = _suite_problems(target)
    # The suite itself is a testcase when nothing else would show how it ended: no
    # per-test results, a timeout or crash, or a failure no test accounts for.
    shown = any(p.tag in recorded or p.tag == "skipped" for p in suite_problems)
    if not histories or (suite_problems and not shown):
        _testcase(
            suite,
            classname=target.name,
            name=target.name,
            seconds=target.duration,
            problems=suite_problems,
        )
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    for tag, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        suite.set(attribute, str(sum(1 for case in cases if case.find(tag) is not None)))
    suite.set("time", _seconds(target.duration))
    started = next((a.started_at for a in target.attempts if a.started_at), run_started)
    stamp = junit_timestamp(started)
    if stamp:
        suite.set("timestamp", stamp)
    return suite


def _redact_tree(root: ET.Element, redactor: Redactor) -> None:
    for element in root.iter():
        if element.text:
            element.text = redactor.text(element.text)
        for name, value in list(element.attrib.items()):
            element.set(name, redactor.text(value))


def junit_report(summary: Summary, redactor: Redactor | None = None) -> bytes:
    """The whole run as one JUnit XML document (UTF-8, with an XML declaration), redacted.

    Without the run's `redactor`: the summary's job envs and replay's own environment.
    """
    root = ET.Element("testsuites", {"name": _clean(f"replay {summary.run_id}", MAX_TEXT)})
    suites = [_testsuite(target, summary.started_at) for target in summary.targets]
    for attribute in ("tests", "failures", "errors", "skipped"):
        root.set(attribute, str(sum(int(s.get(attribute, "0")) for s in suites)))
    started, finished = parse_iso(summary.started_at), parse_iso(summary.finished_at)
    if started and finished:
        root.set("time", _seconds((finished - started).total_seconds()))
    stamp = junit_timestamp(summary.started_at)
    if stamp:
        root.set("timestamp", stamp)
    root.extend(suites)
    _redact_tree(root, summary_redactor(summary) if redactor is None else redactor)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
