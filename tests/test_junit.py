"""Tests for replay._core.junit: one JUnit XML report per run, read back with defusedxml."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
import pytest
from _support import make_summary, make_target
from hypothesis import given
from hypothesis import strategies as st

from replay._core.junit import junit_report
from replay._model import models
from replay._model.models import RunStatus, TargetStatus, TestStatus

STARTED = "2026-02-13T10:00:00+00:00"
FINISHED = "2026-02-13T10:02:30+00:00"


def _target(name: str, status: TargetStatus, **changes: Any) -> models.TargetResult:
    cargo = {"kind": "unit", "adapter": "cargo", "argv": ("cargo", "test", "--test", name)}
    return make_target(name, status, **{**cargo, "decided_by": "run-1", "duration": 1.5, **changes})


def _summary(*targets: models.TargetResult) -> models.Summary:
    return make_summary(
        *targets,
        run_id="20260213T100000Z-abc",
        status=RunStatus.FAILED,
        started_at=STARTED,
        finished_at=FINISHED,
    )


def _parse(summary: models.Summary) -> Element:
    root: Element = SafeET.fromstring(junit_report(summary))
    return root


def _counts(element: Element) -> tuple[str | None, ...]:
    return tuple(element.get(a) for a in ("tests", "failures", "errors", "skipped"))


def _children(case: Element) -> list[tuple[str, str | None]]:
    return [(child.tag, child.get("message")) for child in case]


def _case(root: Element, suite: str, name: str) -> Element:
    found = root.find(f"testsuite[@name='{suite}']/testcase[@name='{name}']")
    assert found is not None
    return found


FAIL = models.Attempt(number=1, exit_code=101, started_at="2026-02-13T10:00:05Z")
PASS = models.Attempt(number=2, exit_code=0)


@pytest.mark.parametrize(
    ("target", "expected_counts", "expected_children"),
    [
        (_target("ok", TargetStatus.PASSED, attempts=(PASS,)), ("1", "0", "0", "0"), []),
        (
            _target("bad", TargetStatus.FAILED, attempts=(FAIL,), exit_code=101),
            ("1", "1", "0", "0"),
            [("failure", "attempt 1 exited with code 101")],
        ),
        (
            _target(
                "hang",
                TargetStatus.TIMED_OUT,
                attempts=(models.Attempt(number=1, timed_out=True, duration=600.0),),
            ),
            ("1", "0", "1", "0"),
            [("error", "attempt 1 timed out after 600.0s")],
        ),
        (
            _target("boom", TargetStatus.CRASHED, attempts=(models.Attempt(number=1, signal=11),)),
            ("1", "0", "1", "0"),
            [("error", "attempt 1 was killed by signal 11")],
        ),
        (
            _target("never", TargetStatus.NOT_RUN),
            ("1", "0", "1", "0"),
            [("error", "never did not run")],
        ),
        (_target("skip", TargetStatus.SKIPPED), ("1", "0", "0", "1"), [("skipped", "skipped")]),
        (
            _target("flaky", TargetStatus.FLAKY, attempts=(FAIL, PASS)),
            ("1", "0", "0", "0"),
            [("flakyFailure", "attempt 1 exited with code 101")],
        ),
        (
            _target(
                "always",
                TargetStatus.FAILED,
                attempts=(
                    FAIL,
                    models.Attempt(number=2, exit_code=101),
                    models.Attempt(number=3, exit_code=1),
                ),
            ),
            ("1", "1", "0", "0"),
            [
                ("failure", "attempt 1 exited with code 101"),
                ("rerunFailure", "attempt 2 exited with code 101"),
                ("rerunFailure", "attempt 3 exited with code 1"),
            ],
        ),
    ],
)
def test_suite_level_testcase(
    target: models.TargetResult,
    expected_counts: tuple[str, ...],
    expected_children: list[tuple[str, str]],
) -> None:
    """A target without per-test results is one testcase that shows how it ended."""
    root = _parse(_summary(target))
    suite = root.find("testsuite")
    assert suite is not None
    assert expected_counts == _counts(suite)
    assert expected_counts == _counts(root)
    assert expected_children == _children(_case(root, target.name, target.name))


def test_per_test_cases_and_counts() -> None:
    """Each test is a testcase named after it, with the suite as its classname."""
    tests = (
        models.TestResult("passes", TestStatus.PASSED, duration=0.25),
        models.TestResult("fails", TestStatus.FAILED, message="assertion failed\n  left: 1"),
        models.TestResult("ignored", TestStatus.SKIPPED),
    )
    root = _parse(_summary(_target("mixed", TargetStatus.FAILED, tests=tests)))
    suite = root.find("testsuite")
    failure = _case(root, "mixed", "fails").find("failure")
    assert suite is not None
    assert failure is not None
    expected = (
        ("3", "1", "0", "1"),
        [("mixed", "passes", "0.250"), ("mixed", "fails", "0.000"), ("mixed", "ignored", "0.000")],
        [("failure", "assertion failed")],
        "assertion failed\n  left: 1",
    )
    assert expected == (
        _counts(suite),
        [(c.get("classname"), c.get("name"), c.get("time")) for c in suite.iter("testcase")],
        _children(_case(root, "mixed", "fails")),
        failure.text,
    )


def test_xfailed_tests_are_skips_of_type_pytest_xfail() -> None:
    """An expected failure is written as pytest writes it, never as a pass."""
    tests = (models.TestResult("expected", TestStatus.XFAILED, message="known bug #12"),)
    root = _parse(_summary(_target("x", TargetStatus.PASSED, tests=tests)))
    skipped = _case(root, "x", "expected").find("skipped")
    assert skipped is not None
    assert ("pytest.xfail", "known bug #12") == (skipped.get("type"), skipped.get("message"))


def test_flaky_and_rerun_tests() -> None:
    """A test that passed after failing has flakyFailures; one that always failed, reruns."""
    tests = (
        models.TestResult("flaky", TestStatus.FAILED, attempt=1, message="first"),
        models.TestResult("stuck", TestStatus.FAILED, attempt=1, message="one"),
        models.TestResult("flaky", TestStatus.PASSED, attempt=2),
        models.TestResult("stuck", TestStatus.FAILED, attempt=2, message="two"),
    )
    root = _parse(_summary(_target("s", TargetStatus.FAILED, attempts=(FAIL,), tests=tests)))
    expected = (
        [("flakyFailure", "first")],
        [("failure", "one"), ("rerunFailure", "two")],
        ("2", "1", "0", "0"),
    )
    suite = root.find("testsuite")
    assert suite is not None
    assert expected == (
        _children(_case(root, "s", "flaky")),
        _children(_case(root, "s", "stuck")),
        _counts(suite),
    )
    stack = _case(root, "s", "flaky").find("flakyFailure/stackTrace")
    assert stack is not None
    assert stack.text == "first"


def test_tests_read_from_attempts() -> None:
    """Per-test results recorded on attempts count as the test's history."""
    first = models.Attempt(
        number=1, exit_code=1, tests=(models.TestResult("t", TestStatus.FAILED, message="x"),)
    )
    second = models.Attempt(
        number=2, exit_code=0, tests=(models.TestResult("t", TestStatus.PASSED, attempt=2),)
    )
    root = _parse(_summary(_target("s", TargetStatus.FLAKY, attempts=(first, second))))
    expected = [("flakyFailure", "x")]
    assert expected == _children(_case(root, "s", "t"))


@pytest.mark.parametrize(
    ("status", "attempts", "expected"),
    [
        (
            TargetStatus.TIMED_OUT,
            (models.Attempt(number=1, timed_out=True, duration=5.0),),
            [("error", "attempt 1 timed out after 5.0s")],
        ),
        (TargetStatus.FAILED, (FAIL,), [("failure", "attempt 1 exited with code 101")]),
    ],
)
def test_suite_case_added_when_tests_do_not_explain(
    status: TargetStatus, attempts: tuple[models.Attempt, ...], expected: list[tuple[str, str]]
) -> None:
    """A timeout, or a failure no test accounts for, adds a testcase for the suite."""
    tests = (models.TestResult("passes", TestStatus.PASSED),)
    root = _parse(_summary(_target("s", status, attempts=attempts, tests=tests)))
    assert expected == _children(_case(root, "s", "s"))


def test_run_attributes() -> None:
    """The root carries the run's totals, wall time and a zone-less UTC timestamp."""
    root = _parse(
        _summary(
            _target("a", TargetStatus.PASSED, attempts=(FAIL,)),
            _target("b", TargetStatus.FAILED),
        )
    )
    expected = (
        "replay 20260213T100000Z-abc",
        "150.000",
        "2026-02-13T10:00:00",
        "2026-02-13T10:00:05",
    )
    suite = root.find("testsuite")
    assert suite is not None
    assert expected == (
        root.get("name"),
        root.get("time"),
        root.get("timestamp"),
        suite.get("timestamp"),
    )


def test_properties() -> None:
    """Each testsuite says its kind, adapter, status and the run that decided it."""
    root = _parse(_summary(_target("a", TargetStatus.FLAKY, quarantined=True)))
    expected = {
        "kind": "unit",
        "adapter": "cargo",
        "status": "flaky",
        "decided_by": "run-1",
        "quarantined": "true",
    }
    actual = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert expected == actual


HOSTILE = 'it\'s <b>&amp;"quoted"</b>; rm -rf ~\x00\x1b[31m\x07\ud800\ufffe'


def test_hostile_names_and_messages_survive() -> None:
    """Markup characters round-trip; characters XML 1.0 cannot hold are removed."""
    tests = (models.TestResult(HOSTILE, TestStatus.FAILED, message=HOSTILE + "\nsecond line"),)
    root = _parse(_summary(_target(HOSTILE, TargetStatus.FAILED, tests=tests)))
    cleaned = 'it\'s <b>&amp;"quoted"</b>; rm -rf ~[31m'
    suite = root.find("testsuite")
    case = root.find("testsuite/testcase")
    failure = root.find("testsuite/testcase/failure")
    assert suite is not None
    assert case is not None
    assert failure is not None
    expected = (cleaned, cleaned, cleaned, cleaned, cleaned + "\nsecond line")
    assert expected == (
        suite.get("name"),
        case.get("name"),
        case.get("classname"),
        failure.get("message"),
        failure.text,
    )


def test_long_message_is_cut() -> None:
    """A megabyte of failure text is cut; the message attribute holds one line."""
    tests = (models.TestResult("t", TestStatus.FAILED, message="x" * 2_000_000),)
    root = _parse(_summary(_target("s", TargetStatus.FAILED, tests=tests)))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    expected = (1000, 64 * 1024)
    assert expected == (len(failure.get("message") or ""), len(failure.text or ""))


def test_empty_run() -> None:
    """A run with no targets is an empty, valid report."""
    root = _parse(_summary())
    expected: tuple[Any, ...] = ("testsuites", ("0", "0", "0", "0"), [])
    assert expected == (root.tag, _counts(root), list(root))


def test_output_is_utf8_with_declaration() -> None:
    """The report starts with an XML declaration naming UTF-8."""
    data = junit_report(_summary(_target("é", TargetStatus.PASSED)))
    expected = b"<?xml version='1.0' encoding='utf-8'?>"
    assert expected == data.splitlines()[0]


@given(
    st.text(),
    st.text(),
    st.lists(st.sampled_from(list(TestStatus)), max_size=4),
    st.sampled_from(list(TargetStatus)),
)
def test_any_text_makes_valid_xml(
    name: str, message: str, statuses: list[TestStatus], status: TargetStatus
) -> None:
    """Whatever the names and messages, the report parses and its counts add up."""
    tests = tuple(
        models.TestResult(f"{name}{i}", s, message=message, attempt=1 + i % 2)
        for i, s in enumerate(statuses)
    )
    target = _target(name, status, tests=tests, attempts=(FAIL, PASS), root_cause=message)
    root = _parse(_summary(target))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert suite.get("tests") == str(len(cases))
    assert suite.get("failures") == str(sum(1 for c in cases if c.find("failure") is not None))


LEAK = "leaked processes after it exited (leak_fail)"
NO_TESTS = "no tests ran: the cargo adapter saw none (--no-tests fail)"


@pytest.mark.parametrize(
    ("failed_by", "tests"),
    [
        (LEAK, ()),
        (NO_TESTS, ()),
        (LEAK, (models.TestResult("passes", TestStatus.PASSED),)),
    ],
)
def test_an_attempt_failed_by_the_rules_says_why(
    failed_by: str, tests: tuple[models.TestResult, ...]
) -> None:
    """LEAK-FAIL or --no-tests fail: the message is the reason, never "exit code 0"."""
    attempt = models.Attempt(number=1, exit_code=0, failed_by=failed_by, tests=tests)
    target = _target("s", TargetStatus.FAILED, attempts=(attempt,), exit_code=0, tests=tests)
    root = _parse(_summary(target))
    case = _case(root, "s", "s")
    assert [("failure", f"attempt 1 failed: {failed_by}")] == _children(case)
    assert (str(1 + len(tests)), "1", "0", "0") == _counts(root)
    text = case.findtext("failure") or ""
    assert failed_by in text
    assert "exit code 0" not in SafeET.tostring(root, encoding="unicode")


def test_a_leak_fail_then_a_pass_is_a_flaky_failure_with_the_reason() -> None:
    """A retry that passed after a LEAK-FAIL: `<flakyFailure>` names the leak."""
    leaked = models.Attempt(number=1, exit_code=0, leaked=True, failed_by=LEAK)
    target = _target("s", TargetStatus.FLAKY, attempts=(leaked, PASS), exit_code=0)
    case = _case(_parse(_summary(target)), "s", "s")
    assert [("flakyFailure", f"attempt 1 failed: {LEAK}")] == _children(case)


@pytest.mark.parametrize(
    "passing",
    [
        models.Attempt(number=2, exit_code=5, passed_by="no tests ran (--no-tests pass)"),
        models.Attempt(number=2, exit_code=0, leaked=True, error="left processes running"),
    ],
    ids=["passed-by-no-tests-pass", "leak-only-marked"],
)
def test_an_attempt_the_rules_pass_is_no_failure(passing: models.Attempt) -> None:
    """A retry that passed by the run's rules (exit 5 under `--no-tests pass`, a marked leak)."""
    target = _target("s", TargetStatus.FLAKY, attempts=(FAIL, passing), exit_code=passing.exit_code)
    case = _case(_parse(_summary(target)), "s", "s")
    assert [("flakyFailure", "attempt 1 exited with code 101")] == _children(case)
