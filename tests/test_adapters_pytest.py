"""Tests for replay._adapters.pytest: JUnit-based results, log fallback, node-id reruns,
sessions pytest cut short, node ids that are gone, xfail and skip reasons."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from _support import ADAPTER_FIXTURES as FIXTURES
from _support import (
    FAILED,
    PASSED,
    SKIPPED,
    XFAILED,
    assert_targeted_rerun_runs_the_failures,
    failed_in_large_log,
)
from hypothesis import given
from hypothesis import strategies as st

from replay._adapters import get_adapter
from replay._adapters._base import Report
from replay._adapters._xml import JUnitCase
from replay._adapters.pytest import (
    INTERNAL_ERROR,
    JUNIT_FILE,
    PytestAdapter,
    node_id,
    parse_pytest_log,
    read_session_log,
)
from replay._model.models import Job, TestResult, TestStatus

SESSIONS = FIXTURES / "pytest_sessions"
DEMO = "tests/test_demo.py"

DEMO_STATUSES = {
    "tests/sub/test_nested.py::test_nested_ok": PASSED,
    f"{DEMO}::test_pass": PASSED,
    f"{DEMO}::test_fail": FAILED,
    f"{DEMO}::test_skip": SKIPPED,
    f"{DEMO}::test_xfail": XFAILED,
    f"{DEMO}::test_error": FAILED,
    f"{DEMO}::test_param[a b]": PASSED,
    f"{DEMO}::test_param[x;y]": PASSED,
    f"{DEMO}::test_param[it's]": FAILED,
    f"{DEMO}::test_param[[odd]]": PASSED,
    f"{DEMO}::TestGroup::test_in_class": PASSED,
    f"{DEMO}::TestGroup::test_in_class_fails": FAILED,
}
DEMO_FAILURES = {
    f"{DEMO}::test_fail": ("AssertionError: math is broken\nassert 4 == 5", DEMO, 10),
    f"{DEMO}::test_error": ('failed on setup with "RuntimeError: fixture exploded"', DEMO, 25),
    f"{DEMO}::test_param[it's]": (
        'assert "\'" not in "it\'s"\n  \n  "\'" is contained here:\n    it\'s\n  ?   +',
        DEMO,
        34,
    ),
    f"{DEMO}::TestGroup::test_in_class_fails": ("ValueError: bad value", DEMO, 42),
}

# -rA's short summary names a skip by its location, not its node id.
SUMMARY_STATUSES = {k: v for k, v in DEMO_STATUSES.items() if k != f"{DEMO}::test_skip"}

Failure = tuple[str | None, str | None, int | None]


def job(*argv: str, cwd: str | None = None, tests: tuple[str, ...] = ()) -> Job:
    """A pytest job running argv (targeting `tests`, when given)."""
    return Job(id="py", target="py", kind="unit", adapter="pytest", argv=argv, cwd=cwd, tests=tests)


def statuses(results: tuple[TestResult, ...]) -> dict[str, TestStatus]:
    """Name to status."""
    return {result.name: result.status for result in results}


def failures(results: tuple[TestResult, ...]) -> dict[str, Failure]:
    """Name to (message, file, line) of the failed results."""
    return {r.name: (r.message, r.file, r.line) for r in results if r.status is FAILED}


def attempt_with(tmp_path: Path, junit: str | None) -> Path:
    """An attempt directory holding a copy of the named JUnit fixture (or none)."""
    attempt = tmp_path / "attempt"
    attempt.mkdir()
    if junit is not None:
        shutil.copy(FIXTURES / junit, attempt / JUNIT_FILE)
    return attempt


def parse_session(tmp_path: Path, name: str, *argv: str, tests: tuple[str, ...] = ()) -> Report:
    """Parse the captured session `name`: its log, and its XML when pytest wrote one."""
    xml = SESSIONS / f"{name}.xml"
    attempt = attempt_with(tmp_path, str(xml.relative_to(FIXTURES)) if xml.exists() else None)
    command = argv or ("python", "-m", "pytest", "tests")
    return PytestAdapter().parse(SESSIONS / f"{name}.log", attempt, job(*command, tests=tests))


def test_junit_gives_node_ids_statuses_and_failure_locations(tmp_path: Path) -> None:
    """pass, fail, skip, xfail, setup error, parametrized ids with odd characters, classes."""
    attempt = attempt_with(tmp_path, "pytest_junit.xml")
    results = PytestAdapter().parse(tmp_path / "missing.log", attempt, job("pytest")).tests
    assert (DEMO_STATUSES, DEMO_FAILURES) == (statuses(results), failures(results))


def test_a_collection_error_names_the_module(tmp_path: Path) -> None:
    """An import error while collecting fails the module's node id with the `E` lines."""
    attempt = attempt_with(tmp_path, "pytest_collect_error.xml")
    results = PytestAdapter().parse(tmp_path / "missing.log", attempt, job("pytest")).tests
    expected = {
        "tests/test_broken.py": (
            "ModuleNotFoundError: No module named 'no_such_module_here'",
            "tests/test_broken.py",
            1,
        )
    }
    assert expected == failures(results)


@pytest.mark.parametrize(
    ("junit", "log", "expected"),
    [
        (None, "pytest_output.log", SUMMARY_STATUSES),
        ("pytest_collect_error.log", "pytest_verbose.log", DEMO_STATUSES),
        (None, "pytest_collect_error.log", {"tests/test_broken.py": FAILED}),
    ],
)
def test_without_usable_junit_the_log_is_read(
    tmp_path: Path, junit: str | None, log: str, expected: dict[str, TestStatus]
) -> None:
    """A missing or non-XML junit file falls back to `-v` and summary lines in the log."""
    attempt = attempt_with(tmp_path, junit)
    results = PytestAdapter().parse(FIXTURES / log, attempt, job("pytest")).tests
    assert expected == statuses(results)


def test_log_summary_lines_carry_the_failure_message() -> None:
    """`FAILED node - message` keeps the message, even after a `-v` line; skips and xfails too."""
    results = parse_pytest_log(
        [
            "tests/t.py::test_a FAILED                                   [ 50%]",
            "\x1b[31mFAILED\x1b[0m tests/t.py::test_a - assert 1 == 2",
            "[gw1] [ 75%] PASSED tests/t.py::test_b[x - y]",
            "ERROR tests/t.py::test_c - fixture 'db' not found",
            "FAILED to connect to the database",
            "SKIPPED [1] tests/t.py:9: no network",
            "XFAIL at setup of tests/t.py::test_d - [NOTRUN] hangs",
            "XPASS tests/t.py::test_e - fixed upstream",
            "SKIPPED tests/t.py::test_f - Skipped: no network",
        ]
    )
    expected = {
        "tests/t.py::test_a": (FAILED, "assert 1 == 2"),
        "tests/t.py::test_b[x - y]": (PASSED, None),
        "tests/t.py::test_c": (FAILED, "fixture 'db' not found"),
        "tests/t.py::test_d": (XFAILED, "[NOTRUN] hangs"),
        "tests/t.py::test_e": (PASSED, None),
        "tests/t.py::test_f": (SKIPPED, "no network"),
    }
    assert expected == {r.name: (r.status, r.message) for r in results}


def test_a_truncated_junit_with_a_silent_log_keeps_the_cases_read(tmp_path: Path) -> None:
    """pytest killed mid-write: the complete cases still count, and the rest is unseen."""
    attempt = attempt_with(tmp_path, None)
    text = (FIXTURES / "pytest_junit.xml").read_text()
    (attempt / JUNIT_FILE).write_text(text[: text.index("test_skip")])
    log = tmp_path / "output.log"
    log.write_text("Killed\n")
    report = PytestAdapter().parse(log, attempt, job("pytest"))
    expected = {
        "tests/sub/test_nested.py::test_nested_ok": PASSED,
        f"{DEMO}::test_pass": PASSED,
        f"{DEMO}::test_fail": FAILED,
    }
    assert (expected, NOT_FINISHED) == (statuses(report.tests), report.unseen)


def test_a_junitxml_named_by_the_command_is_read_from_the_job_directory(tmp_path: Path) -> None:
    """`--junitxml reports/j.xml` stays the user's; parse reads it relative to the job's cwd."""
    (tmp_path / "reports").mkdir()
    shutil.copy(FIXTURES / "pytest_junit.xml", tmp_path / "reports" / "j.xml")
    argv = ("pytest", "--junitxml", "reports/j.xml", "tests")
    results = (
        PytestAdapter().parse(tmp_path / "none.log", tmp_path, job(*argv, cwd=str(tmp_path))).tests
    )
    assert DEMO_STATUSES == statuses(results)


@pytest.mark.parametrize(
    ("classname", "name", "file", "expected"),
    [
        ("tests.test_x", "test_y", "tests/test_x.py", "tests/test_x.py::test_y"),
        (
            "tests.test_x.TestC.TestD", "test_y[a.b]", "tests/test_x.py",
            "tests/test_x.py::TestC::TestD::test_y[a.b]",
        ),
        ("ci.tests.test_x.TestC", "test_y", "tests/test_x.py", "tests/test_x.py::TestC::test_y"),
        ("", "tests.test_broken", "tests/test_broken.py", "tests/test_broken.py"),
        ("test_top", "test_y", "test_top.py", "test_top.py::test_y"),
        ("tests.test_x.TestC", "test_y", None, "tests/test_x.py::TestC::test_y"),
        ("tests.test_x", "test_y", None, "tests/test_x.py::test_y"),
        ("", "test_alone", None, "test_alone"),
    ],
)  # fmt: skip
def test_node_id_from_junit_attributes(
    classname: str, name: str, file: str | None, expected: str
) -> None:
    """Node ids come from file and classname, survive `--junitprefix`, and guess without file."""
    case = JUnitCase(name=name, classname=classname, status=PASSED, file=file)
    assert expected == node_id(case)


@pytest.mark.parametrize(
    ("argv", "expected_head", "expected_tail"),
    [
        (("pytest", "tests"), ("pytest",), ("tests",)),
        (("python", "-m", "pytest", "-x"), ("python", "-m", "pytest"), ("-x",)),
        (("uv", "run", "pytest"), ("uv", "run", "pytest"), ()),
        (("/venv/bin/py.test", "-q"), ("/venv/bin/py.test",), ("-q",)),
    ],
)
def test_command_asks_pytest_for_xunit1_junit_in_the_attempt_dir(
    tmp_path: Path,
    argv: tuple[str, ...],
    expected_head: tuple[str, ...],
    expected_tail: tuple[str, ...],
) -> None:
    """The options go right after the pytest token, so a `--` later cannot swallow them."""
    junit = f"--junitxml={tmp_path / JUNIT_FILE}"
    expected = (*expected_head, junit, "-o", "junit_family=xunit1", *expected_tail)
    assert expected == PytestAdapter().command(job(*argv), tmp_path)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("make", "test"), ("make", "test")),
        (
            ("pytest", "--junitxml=out.xml", "tests"),
            ("pytest", "-o", "junit_family=xunit1", "--junitxml=out.xml", "tests"),
        ),
    ],
)
def test_command_leaves_unknown_tools_and_user_junit_alone(
    argv: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    """A wrapper might reject pytest options; a user's own JUnit path is kept and read."""
    assert expected == PytestAdapter().command(job(*argv), Path("/attempt"))


HOSTILE_ID = "tests/t.py::test_p[it's; rm -rf ~ $(id)]"


@pytest.mark.parametrize(
    ("argv", "tests", "expected"),
    [
        (
            ("pytest", "tests"),
            ("tests/t.py::test_a", HOSTILE_ID),
            ("pytest", "tests/t.py::test_a", HOSTILE_ID),
        ),
        (
            ("python", "-m", "pytest", "-x", "-k", "slow or db", "-p", "no:cacheprovider",
             "tests/unit", "tests/test_b.py", "-rA", "--tb", "short", "-n4"),
            ("tests/t.py::test_a",),
            ("python", "-m", "pytest", "-x", "-k", "slow or db", "-p", "no:cacheprovider",
             "-rA", "--tb", "short", "-n4", "tests/t.py::test_a"),
        ),
        (
            ("pytest", "--cov", "src", "--some-plugin-flag", "tests/", "-o", "a=b", "--", "x.py"),
            ("tests/t.py::t",),
            ("pytest", "--cov", "src", "--some-plugin-flag", "-o", "a=b", "--", "tests/t.py::t"),
        ),
        (
            ("pytest", "--unknown-option", "value", "-vk", "expr", "tests"),
            ("a.py::t", "a.py::t"),
            ("pytest", "--unknown-option", "value", "-vk", "expr", "a.py::t"),
        ),
        (
            ("pytest",),
            ("-odd.py::t",),
            ("pytest", "--", "-odd.py::t"),
        ),
        (("pytest", "--pyargs", "mypkg"), ("mypkg/t.py::t",), None),
        (("make", "test"), ("t.py::t",), None),
        (("pytest",), (), None),
    ],
)  # fmt: skip
def test_targeted_replaces_test_paths_with_node_ids(
    argv: tuple[str, ...], tests: tuple[str, ...], expected: tuple[str, ...] | None
) -> None:
    """Options and their values stay, positional paths go, each node id is one argv element.
    --pyargs, an unknown wrapper or nothing to target: None, so the suite reruns whole."""
    assert expected == PytestAdapter().targeted(argv, tests)


def test_registry_knows_pytest() -> None:
    """The config name `pytest` resolves to this adapter."""
    assert "pytest" == get_adapter("pytest").name


# --- sessions that did not run everything: Report.unseen ---

STOPPED_COLLECTING = "pytest stopped early: Interrupted: 1 error during collection"
NOT_FINISHED = "pytest ended without its JUnit XML or final summary line (killed?)"
IMPORT_ERROR = "ModuleNotFoundError: No module named 'no_such_module_here'"


@pytest.mark.parametrize(
    ("session", "expected_unseen", "expected_statuses"),
    [
        ("collect_interrupted", STOPPED_COLLECTING, {"tests/test_a.py": FAILED}),
        (
            "collect_continue",
            "pytest could not collect tests/test_a.py",
            {
                "tests/test_a.py": FAILED,
                "tests/test_b.py::test_b_passes": PASSED,
                "tests/test_b.py::test_b_fails": FAILED,
            },
        ),
        (
            "stop_x",
            "pytest stopped early: stopping after 1 failures",
            {"tests/test_s.py::test_one": FAILED},
        ),
        (
            "stop_maxfail",
            "pytest stopped early: stopping after 2 failures",
            {"tests/test_s.py::test_one": FAILED, "tests/test_s.py::test_two": FAILED},
        ),
        (
            "keyboard_interrupt",
            "pytest stopped early: KeyboardInterrupt",
            {"tests/test_k.py::test_before": PASSED},
        ),
        (
            "internal_error",
            "pytest stopped on an internal error (INTERNALERROR)",
            {
                "tests/test_i.py::test_fine": PASSED,
                "tests/test_i.py::test_boom": PASSED,
                INTERNAL_ERROR: FAILED,
            },
        ),
        (
            "killed",
            NOT_FINISHED,
            {
                "tests/test_kill.py::test_before": PASSED,
                "tests/test_kill.py::test_fails_before": FAILED,
            },
        ),
        ("conftest_error", NOT_FINISHED, {}),
    ],
)
def test_a_session_cut_short_says_what_went_unseen(
    tmp_path: Path, session: str, expected_unseen: str, expected_statuses: dict[str, TestStatus]
) -> None:
    """Collection errors, -x, --maxfail, Ctrl-C, INTERNALERROR and a killed pytest are unseen."""
    report = parse_session(tmp_path, session)
    assert (expected_unseen, expected_statuses) == (report.unseen, statuses(report.tests))


@pytest.mark.parametrize("session", ["collect_interrupted", "collect_continue"])
def test_a_module_that_failed_to_import_stays_a_failure_with_its_error(
    tmp_path: Path, session: str
) -> None:
    """The broken module's failed result is kept as the evidence, with the import error."""
    report = parse_session(tmp_path, session)
    expected = ("tests/test_a.py", IMPORT_ERROR, "tests/test_a.py", 1)
    assert expected == (report.tests[0].name, *failures(report.tests)["tests/test_a.py"])


def test_an_internal_error_names_the_exception(tmp_path: Path) -> None:
    """The XML's `pytest.internal` case becomes INTERNALERROR with the traceback's last line."""
    report = parse_session(tmp_path, "internal_error")
    assert "RuntimeError: plugin bug" == failures(report.tests)[INTERNAL_ERROR][0]


PYTEST = ("pytest",)


@pytest.mark.parametrize(
    ("log", "junit", "argv"),
    [
        ("pytest_sessions/outcomes_pytest9.log", "pytest_sessions/outcomes_pytest9.xml", PYTEST),
        ("pytest_sessions/outcomes_pytest8.log", "pytest_sessions/outcomes_pytest8.xml", PYTEST),
        ("pytest_output.log", "pytest_junit.xml", ("pytest", "-rA", "tests")),
        ("pytest_sessions/outcomes_verbose.log", None, ("pytest", "-p", "no:junitxml", "-v")),
        ("pytest_sessions/killed.log", None, ("make", "test")),
    ],
)  # fmt: skip
def test_a_complete_session_leaves_nothing_unseen(
    tmp_path: Path, log: str, junit: str | None, argv: tuple[str, ...]
) -> None:
    """A written XML, or a final `N passed in Xs` line, or a wrapper that never asked for XML."""
    attempt = attempt_with(tmp_path, junit)
    report = PytestAdapter().parse(FIXTURES / log, attempt, job(*argv))
    assert (None, ()) == (report.unseen, report.not_found)


COLLECTING = "Interrupted: 2 errors during collection"
WIDE = "_pytest.outcomes.Exit: a title wider than the terminal, framed by one `!` a side"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("!!!!!!!! Interrupted: 2 errors during collection !!!!!!!!!", COLLECTING),
        ("\x1b[31m!!!!! stopping after 1 failures !!!!!\x1b[0m", "stopping after 1 failures"),
        (f"! {WIDE} !", WIDE),
        ("!!! lopsided !", None),
        ("!!!!!!!!", None),
        ("!!!   !!!", None),
        ("!!!no spaces!!!", None),
        ("!important: a line a test printed", None),
    ],
)  # fmt: skip
def test_only_lines_pytest_frames_in_bangs_say_it_stopped(line: str, expected: str | None) -> None:
    """pytest centres its title between runs of `!`; other lines starting with `!` are not its."""
    assert expected == read_session_log([line]).stopped


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("========================= 2 failed, 1 passed in 1.11s ==========================", True),
        ("1 failed, 1 passed, 1 error in 1.16s", True),
        ("no tests ran in 0.01s", True),
        ("=== 3 passed, 1 warning in 65.00s (0:01:05) ===", True),
        ("tests/test_kill.py::test_killed ", False),
        ("    time.sleep(1) in 3s", False),
    ],
)
def test_the_final_summary_line_says_pytest_finished(line: str, expected: bool) -> None:
    """With or without `-q`, the `N passed in Xs` line is pytest's last; nothing else counts."""
    assert expected == read_session_log([line]).finished


# --- targeted node ids that are gone: Report.not_found ---

DOUBLE = "tests/test_double.py"


@pytest.mark.parametrize(
    ("session", "targets", "expected_not_found", "expected_unseen"),
    [
        (
            "not_found_pytest9",
            (f"{DOUBLE}::test_double[2-5]", f"{DOUBLE}::test_other"),
            (f"{DOUBLE}::test_double[2-5]",),
            "pytest ran nothing: not found: /tmp/psx/rename/tests/test_double.py::test_double",
        ),
        (
            "not_found_pytest8",
            (f"{DOUBLE}::test_double[2-5]", f"{DOUBLE}::test_other"),
            (f"{DOUBLE}::test_double[2-5]",),
            "pytest ran nothing: not found: /tmp/psx/rename/tests/test_double.py::test_double[2-5]",
        ),
        (
            "file_not_found",
            ("tests/test_gone.py::test_a", "tests/test_gone.py::test_b", f"{DOUBLE}::test_other"),
            ("tests/test_gone.py::test_a", "tests/test_gone.py::test_b"),
            "pytest ran nothing: file or directory not found: tests/test_gone.py::test_a",
        ),
    ],
)
def test_targeted_ids_pytest_cannot_find_are_not_found(
    tmp_path: Path,
    session: str,
    targets: tuple[str, ...],
    expected_not_found: tuple[str, ...],
    expected_unseen: str,
) -> None:
    """Exit 4 `ERROR: not found`: the job's own ids come back, and the session ran nothing."""
    report = parse_session(tmp_path, session, tests=targets)
    assert (expected_not_found, expected_unseen, ()) == (
        report.not_found,
        report.unseen,
        report.tests,
    )


T = "tests/t.py"


@pytest.mark.parametrize(
    ("line", "targets", "expected"),
    [
        (f"ERROR: not found: {T}::test_a", (f"{T}::test_a", f"{T}::test_b"), (f"{T}::test_a",)),
        (f"ERROR: not found: /ci/repo/{T}::C::test_a", (f"{T}::C::test_a",), (f"{T}::C::test_a",)),
        (
            f"ERROR: not found: /ci/repo/{T}::test_p",
            (f"{T}::test_p[1]", f"{T}::test_p[2]", f"{T}::test_px[1]"),
            (f"{T}::test_p[1]", f"{T}::test_p[2]"),
        ),
        (
            f"ERROR: not found: /ci/repo/{T}::test_p[2]",
            (f"{T}::test_p[1]", f"{T}::test_p[2]"),
            (f"{T}::test_p[2]",),
        ),
        ("ERROR: not found: C:\\ci\\tests\\t.py::test_a", (f"{T}::test_a",), (f"{T}::test_a",)),
        (f"ERROR: not found: /ci/repo/other/{T}::test_a", (f"sub/{T}::test_a",), ()),
        (f"ERROR: not found: /ci/repo/x{T}::test_a", (f"{T}::test_a",), ()),
        (
            f"ERROR: file or directory not found: ./{T}::test_a",
            (f"{T}::test_a", f"{T}::test_b", "tests/u.py::test_a"),
            (f"{T}::test_a", f"{T}::test_b"),
        ),
        (f"ERROR: found no collectors for /ci/{T}::test_a", (f"{T}::test_a",), (f"{T}::test_a",)),
        (f"ERROR: not found: {T}::test_gone", (f"{T}::test_a",), ()),
        (f"FAILED {T}::test_a - ERROR: not found: {T}::test_a", (f"{T}::test_a",), ()),
    ],
)  # fmt: skip
def test_not_found_lines_are_matched_back_to_the_targeted_ids(
    line: str, targets: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    """Absolute or relative paths, Windows separators, pytest 9's dropped parametrization."""
    assert expected == read_session_log([line], targets).not_found


@pytest.mark.parametrize(("flood", "expected"), [(64, (f"{T}::test_a",)), (65, ())])
def test_not_found_lines_beyond_one_per_target_are_not_matched(
    flood: int, expected: tuple[str, ...]
) -> None:
    """pytest prints one line per missing argument: a flood of them costs no lines x targets."""
    lines = [f"ERROR: not found: /ci/other{i}.py::t" for i in range(flood)]
    lines.append(f"ERROR: not found: /ci/{T}::test_a")
    assert expected == read_session_log(lines, (f"{T}::test_a",)).not_found


# --- xfail and skip: status and reason ---

OUTCOMES = "tests/test_outcomes.py"
OUTCOME_RESULTS = {
    "tests/test_module_skip.py": (SKIPPED, "whole module needs docker"),
    f"{OUTCOMES}::test_passes": (PASSED, None),
    f"{OUTCOMES}::test_skip_marker": (SKIPPED, "needs a GPU"),
    f"{OUTCOMES}::test_skipif": (SKIPPED, "only on plan 9"),
    f"{OUTCOMES}::test_skip_call": (SKIPPED, "network is off"),
    f"{OUTCOMES}::test_xfail_marker": (XFAILED, "bug #12: rounding"),
    f"{OUTCOMES}::test_xfail_call": (XFAILED, "flaky upstream"),
    f"{OUTCOMES}::test_xfail_raises_other": (FAILED, "ValueError: not the expected error"),
    f"{OUTCOMES}::test_xpass_lenient": (PASSED, None),
    f"{OUTCOMES}::test_xpass_strict": (FAILED, "[XPASS(strict)] should still fail"),
    f"{OUTCOMES}::test_xfail_not_run": (XFAILED, "[NOTRUN] crashes the interpreter"),
    f"{OUTCOMES}::test_xfail_no_reason": (XFAILED, None),
}
# The terminal cuts a failure's summary line to its width.
OUTCOME_RESULTS_FROM_LOG = {
    **OUTCOME_RESULTS,
    f"{OUTCOMES}::test_xfail_raises_other": (FAILED, "ValueError: not the ..."),
    f"{OUTCOMES}::test_xpass_strict": (FAILED, "[XPASS(strict)] should sti..."),
}


@pytest.mark.parametrize(
    ("session", "expected"),
    [
        ("outcomes_pytest9", OUTCOME_RESULTS),
        ("outcomes_pytest8", OUTCOME_RESULTS),
        ("outcomes_verbose", OUTCOME_RESULTS_FROM_LOG),
    ],
)
def test_xfail_is_xfailed_and_skips_keep_their_reasons(
    tmp_path: Path, session: str, expected: dict[str, tuple[TestStatus, str | None]]
) -> None:
    """pytest 8 and 9 XML and the `-rA --no-fold-skipped` log: reasons kept, strict XPASS fails."""
    report = parse_session(tmp_path, session)
    assert expected == {r.name: (r.status, r.message) for r in report.tests}


@given(st.binary(max_size=3000), st.binary(max_size=3000), st.lists(st.text(), max_size=5))
def test_parse_never_raises_on_arbitrary_junit_and_log_bytes(
    junit: bytes, log: bytes, targets: list[str]
) -> None:
    """Whatever the junit file, the log and the targeted ids hold, parse returns a report."""
    with tempfile.TemporaryDirectory() as directory:
        attempt = Path(directory)
        (attempt / JUNIT_FILE).write_bytes(junit)
        (attempt / "output.log").write_bytes(log)
        report = PytestAdapter().parse(
            attempt / "output.log", attempt, job("pytest", tests=tuple(targets))
        )
    assert all(isinstance(result, TestResult) for result in report.tests)
    assert set(report.not_found) <= set(targets)


@given(st.lists(st.text()))
def test_log_parser_never_raises_on_arbitrary_lines(lines: list[str]) -> None:
    """Any text at all parses to some results, never an exception."""
    assert all(isinstance(result, TestResult) for result in parse_pytest_log(lines))


SPACES = " " * 60_000


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("a.py::t" + " PASSED (x" * 6_000, {}),
        (f"a.py::t PASSED ({SPACES}x", {}),
        (f"a.py::t PASSED{SPACES}[ 5%]", {"a.py::t": PASSED}),
        (f"[gw0] [ 5%] PASSED a.py::t{SPACES}x", {f"a.py::t{SPACES}x": PASSED}),
        (f"FAILED a.py::{SPACES}x", {}),
        ("FAILED " + "a.py" * 15_000 + " x", {}),
    ],
)
def test_lines_built_to_backtrack_parse_in_one_pass(
    line: str, expected: dict[str, TestStatus]
) -> None:
    """Hostile 60 kB lines that would make a careless regex quadratic are read in one pass."""
    assert expected == statuses(parse_pytest_log([line]))


def large_log(count: int) -> Iterator[str]:
    """`count` `-v` result lines, every hundredth failing, each followed by a captured line."""
    for i in range(count):
        word = "FAILED" if i % 100 == 0 else "PASSED"
        yield f"tests/test_big.py::test_case[{i}] {word}{' ' * 40}[ 50%]\n"
        yield f"    some captured output line number {i}\n"


@pytest.mark.slow
def test_a_20_mb_log_parses_completely(tmp_path: Path) -> None:
    """A 20 MB `-v` log (benchmarks live in scripts/bench_parsers.py) parses in one pass."""
    lines = large_log(200_000)
    failed_in_large_log(PytestAdapter().parse, job("pytest"), tmp_path, lines, (200_000, 2_000))


# --- live: a real pytest run of the demo project ---


@pytest.mark.slow
def test_live_pytest_statuses_and_targeted_rerun(tmp_path: Path) -> None:
    """A real run gives node ids and statuses; the targeted argv reruns exactly the failures."""
    project = tmp_path / "project"
    (project / "tests" / "sub").mkdir(parents=True)
    shutil.copy(
        FIXTURES / "pytest_project" / "test_demo.py.txt", project / "tests" / "test_demo.py"
    )
    shutil.copy(
        FIXTURES / "pytest_project" / "sub" / "test_nested.py.txt",
        project / "tests" / "sub" / "test_nested.py",
    )
    (project / "pytest.ini").write_text("[pytest]\n")  # the project's rootdir, not ours
    adapter = PytestAdapter()

    def run(argv: tuple[str, ...], name: str) -> tuple[TestResult, ...]:
        attempt = tmp_path / name
        attempt.mkdir()
        command = adapter.command(job(*argv, cwd=str(project)), attempt)
        with (attempt / "output.log").open("wb") as out:
            subprocess.run(
                command, check=False, cwd=project, stdout=out, stderr=subprocess.STDOUT, timeout=300
            )
        return adapter.parse(attempt / "output.log", attempt, job(*argv, cwd=str(project))).tests

    argv = (sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests")
    results = run(argv, "first")
    assert (DEMO_STATUSES, DEMO_FAILURES) == (statuses(results), failures(results))
    assert_targeted_rerun_runs_the_failures(
        adapter.targeted, argv, results, lambda targeted: run(targeted, "second")
    )
