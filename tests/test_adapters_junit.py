"""Tests for replay._adapters.junit and the hardened JUnit reader replay._adapters._xml."""

from __future__ import annotations

import tempfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support import ADAPTER_FIXTURES as FIXTURES
from _support import FAILED, PASSED, SKIPPED, XFAILED, large_file
from hypothesis import given
from hypothesis import strategies as st

from replay._adapters import get_adapter
from replay._adapters._xml import JUnitCase, JUnitReport, read_junit
from replay._adapters.junit import JUnitAdapter
from replay._model.models import Job, TestResult, TestStatus

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuite><testcase name="&lol9;"/></testsuite>
"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE t [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<testsuite><testcase name="t"><failure message="&secret;"/></testcase></testsuite>
"""
EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE testsuite SYSTEM "http://example.invalid/junit.dtd">
<testsuite><testcase name="t"/></testsuite>
"""
ONE_CASE = '<testsuite><testcase name="ok" classname="c"/></testsuite>'


def job(junit_path: str | None, cwd: Path | None = None) -> Job:
    """A junit job whose runner writes `junit_path`."""
    return Job(
        id="j",
        target="j",
        kind="e2e",
        adapter="junit",
        argv=("./run-tests",),
        cwd=str(cwd) if cwd else None,
        junit_path=junit_path,
    )


def write(tmp_path: Path, text: str | bytes, name: str = "junit.xml") -> Path:
    """`text` written to a file in tmp_path."""
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    return path


def large_report(cases: int) -> Iterator[str]:
    """A report of `cases` cases with 2 kB of output each, every hundredth failing."""
    yield '<?xml version="1.0"?>\n<testsuites><testsuite name="big">\n'
    for i in range(cases):
        yield f'<testcase classname="pkg.Big" name="case_{i}" time="0.001">'
        if i % 100 == 0:
            yield f'<failure message="failed {i}">{"trace line " * 10}</failure>'
        yield f"<system-out>{'captured output ' * 130}</system-out></testcase>\n"
    yield "</testsuite></testsuites>\n"


def test_surefire_nested_suites_and_odd_attributes() -> None:
    """Flaky and rerun failures, errors, skips, nested suites with a file, odd `time` values."""
    report = read_junit(FIXTURES / "junit_surefire.xml")
    shop = "com.example.ShopTest"

    def shop_case(name: str, status: TestStatus, **fields: Any) -> JUnitCase:
        """A case of the fixture's `ShopTest` class (its own suite)."""
        return JUnitCase(name, shop, status, suite=shop, **fields)

    expected = JUnitReport(
        cases=(
            shop_case("addsItem", PASSED, time=0.012),
            shop_case("flakyCheckout", PASSED, time=0.5, flaky=True),
            shop_case(
                "alwaysBroken", FAILED, time=0.02, message="expected: <3> but was: <4>",
                detail_tail="org.opentest4j.AssertionFailedError: expected: <3> but was: <4>\n"
                "\tat com.example.ShopTest.alwaysBroken(ShopTest.java:57)",
            ),
            shop_case(
                "crashes", FAILED, time=0.001, message="java.lang.NullPointerException",
                detail_tail="java.lang.NullPointerException\n"
                "\tat com.example.ShopTest.crashes(ShopTest.java:70)",
            ),
            shop_case("later", SKIPPED, time=0.0, message="not yet"),
            JUnitCase("works in a nested suite", "outer inner", PASSED, file="spec/outer.spec.ts",
                      time=1002.5, suite="inner"),
            JUnitCase(
                "fails in a nested suite", "outer inner", FAILED, file="spec/outer.spec.ts",
                line=12, message="first line of the text",
                detail_tail="first line of the text\nsecond line", suite="inner",
            ),
        )
    )  # fmt: skip
    assert expected == report


def test_adapter_names_cases_and_keeps_the_worse_duplicate(tmp_path: Path) -> None:
    """`classname.name` names a case; a name reported thrice keeps its failure."""
    results = (
        JUnitAdapter()
        .parse(tmp_path / "log", tmp_path, job("junit_bare_testsuite.xml", cwd=FIXTURES))
        .tests
    )
    expected = (
        TestResult("suite.café", PASSED, duration=0.1),
        TestResult("suite.duplicate", FAILED, message="second run failed"),
        TestResult("no classname", PASSED),
    )
    assert expected == results


@pytest.mark.parametrize(
    ("skipped", "expected_status", "expected_message"),
    [
        ('<skipped type="pytest.xfail" message="bug #12"/>', XFAILED, "bug #12"),
        ('<skipped type="pytest.xfail" message=""/>', XFAILED, None),
        ('<skipped type="pytest.skip" message="no GPU">t.py:3</skipped>', SKIPPED, "no GPU"),
        ('<skipped message="xfail-marked test passes unexpectedly"/>', SKIPPED,
         "xfail-marked test passes unexpectedly"),
        ("<skipped/>", SKIPPED, None),
        ('<skipped type="pytest.xfail"/><error message="teardown broke"/>', FAILED,
         "teardown broke"),
    ],
)  # fmt: skip
def test_reader_tells_an_xfail_from_a_skip(
    tmp_path: Path, skipped: str, expected_status: TestStatus, expected_message: str | None
) -> None:
    """pytest's `type="pytest.xfail"` is xfailed, any other `<skipped>` skipped; errors win."""
    path = write(tmp_path, f'<testsuite><testcase name="t">{skipped}</testcase></testsuite>')
    (case,) = read_junit(path).cases
    assert (expected_status, expected_message) == (case.status, case.message)


def test_adapter_reads_pytest_xfails_as_xfailed() -> None:
    """The generic adapter on pytest's XML: xfails are xfailed, skips skipped (no reasons)."""
    pytest_xml = "pytest_sessions/outcomes_pytest9.xml"
    results = JUnitAdapter().parse(FIXTURES / "none.log", FIXTURES, job(pytest_xml, FIXTURES)).tests
    skipped = {r.name: r.status for r in results if r.status in (SKIPPED, XFAILED)}
    expected = {
        "tests.test_module_skip": SKIPPED,
        "tests.test_outcomes.test_skip_marker": SKIPPED,
        "tests.test_outcomes.test_skipif": SKIPPED,
        "tests.test_outcomes.test_skip_call": SKIPPED,
        "tests.test_outcomes.test_xfail_marker": XFAILED,
        "tests.test_outcomes.test_xfail_call": XFAILED,
        "tests.test_outcomes.test_xfail_not_run": XFAILED,
        "tests.test_outcomes.test_xfail_no_reason": XFAILED,
    }
    assert expected == skipped


def test_adapter_reads_the_path_relative_to_the_job_directory(tmp_path: Path) -> None:
    """The config's `junit_path` is relative to the suite's cwd; an absolute one works too."""
    (tmp_path / "build").mkdir()
    write(tmp_path / "build", ONE_CASE, "report.xml")
    relative = (
        JUnitAdapter().parse(tmp_path / "log", tmp_path, job("build/report.xml", tmp_path)).tests
    )
    absolute = (
        JUnitAdapter()
        .parse(tmp_path / "log", tmp_path, job(str(tmp_path / "build" / "report.xml")))
        .tests
    )
    assert ((TestResult("c.ok", PASSED),),) * 2 == (relative, absolute)


@pytest.mark.parametrize("junit_path", [None, "", "missing.xml", "."])
def test_adapter_without_a_readable_file_has_no_results(
    tmp_path: Path, junit_path: str | None
) -> None:
    """No path, a missing file or a directory: no per-test results, no exception."""
    assert () == JUnitAdapter().parse(tmp_path / "log", tmp_path, job(junit_path, tmp_path)).tests


def test_adapter_command_and_targeted() -> None:
    """The command runs as written; JUnit cannot say how to run one test."""
    adapter = get_adapter("junit")
    assert (("./run-tests",), None) == (
        adapter.command(job("r.xml"), Path("attempt")),
        adapter.targeted(("./run-tests",), ("c.ok",)),
    )


def test_latin1_declared_files_decode() -> None:
    """The XML declaration's encoding is honoured."""
    assert ("café",) == tuple(case.name for case in read_junit(FIXTURES / "junit_latin1.xml").cases)


@pytest.mark.parametrize(
    ("text", "expected_error"),
    [
        (BILLION_LAUGHS, "refused: DTDForbidden"),
        (EXTERNAL_ENTITY, "refused: DTDForbidden"),
        (EXTERNAL_DTD, "refused: DTDForbidden"),
        ("", "malformed XML: no element found: line 1, column 0"),
        ("<testsuite><testcase name='a'/>", "malformed XML: no element found: line 1, column 31"),
        ("not xml at all", "malformed XML: syntax error: line 1, column 0"),
    ],
)
def test_hostile_and_broken_files_are_refused_without_expansion(
    tmp_path: Path, text: str, expected_error: str
) -> None:
    """DTDs (entity bombs, external entities) are refused before expansion; errors are named."""
    path = write(tmp_path, text)
    tracemalloc.start()
    report = read_junit(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert f"{path}: {expected_error}" == report.error
    assert 10_000_000 > peak  # the billion laughs would need gigabytes


def test_a_truncated_file_keeps_the_complete_cases(tmp_path: Path) -> None:
    """A runner killed mid-write leaves a file whose finished cases still count."""
    text = (FIXTURES / "junit_surefire.xml").read_text()
    path = write(tmp_path, text[: text.index('<testcase name="crashes"')])
    report = read_junit(path)
    expected = (("addsItem", PASSED), ("flakyCheckout", PASSED), ("alwaysBroken", FAILED))
    assert expected == tuple((case.name, case.status) for case in report.cases)
    assert report.error is not None


@pytest.mark.parametrize("missing", ["does-not-exist.xml", "."])
def test_missing_files_and_directories_are_reported(tmp_path: Path, missing: str) -> None:
    """An unreadable path is an error in the report, not an exception."""
    report = read_junit(tmp_path / missing)
    assert ((), True) == (report.cases, (report.error or "").startswith(f"{tmp_path / missing}"))


@given(st.binary(max_size=3000))
def test_reader_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    """Any bytes at all give a report, never an exception."""
    with tempfile.TemporaryDirectory() as directory:
        report = read_junit(write(Path(directory), data))
    assert isinstance(report, JUnitReport)


ATTRIBUTE_VALUES = st.sampled_from(["", "x", "1", "-2", "1e400", "nan", "0x10", "3,5", "&amp;"])
ELEMENTS = st.recursive(
    st.builds(
        lambda tag, name, value: f'<{tag} {name}="{value}"/>',
        st.sampled_from(["testcase", "failure", "error", "skipped", "flakyFailure", "rerunError"]),
        st.sampled_from(["name", "classname", "time", "line", "file", "message"]),
        ATTRIBUTE_VALUES,
    ),
    lambda children: st.builds(
        lambda tag, inner, text: f"<{tag}>{text}{''.join(inner)}</{tag}>",
        st.sampled_from(["testsuites", "testsuite", "testcase", "failure", "properties"]),
        st.lists(children, max_size=4),
        st.sampled_from(["", "text", "a\nb"]),
    ),
    max_leaves=20,
)


@given(ELEMENTS)
def test_reader_never_raises_on_arbitrary_junit_shapes(document: str) -> None:
    """Well-formed XML of any JUnit-like shape reads without error and yields typed cases."""
    with tempfile.TemporaryDirectory() as directory:
        report = read_junit(write(Path(directory), document))
    assert report.error is None
    assert all(isinstance(case.status, TestStatus) for case in report.cases)


@pytest.mark.slow
def test_a_large_report_streams_in_bounded_memory(tmp_path: Path) -> None:
    """A 20 MB report is read with the tree pruned as it goes: memory holds results, not XML."""
    path = large_file(tmp_path / "junit.xml", large_report(10_000))
    tracemalloc.start()
    report = read_junit(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    failed = [case for case in report.cases if case.status is FAILED]
    assert (10_000, 100, None) == (len(report.cases), len(failed), report.error)
    assert path.stat().st_size // 4 > peak
