"""Tests for replay._adapters.pytest: JUnit-based results, log fallback, node-id reruns."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replay._adapters import get_adapter
from replay._adapters._xml import JUnitCase
from replay._adapters.pytest import JUNIT_FILE, PytestAdapter, node_id, parse_pytest_log
from replay._models import Job, TestResult, TestStatus

FIXTURES = Path(__file__).parent / "fixtures" / "adapters"
PASSED, FAILED, SKIPPED = TestStatus.PASSED, TestStatus.FAILED, TestStatus.SKIPPED
DEMO = "tests/test_demo.py"

DEMO_STATUSES = {
    "tests/sub/test_nested.py::test_nested_ok": PASSED,
    f"{DEMO}::test_pass": PASSED,
    f"{DEMO}::test_fail": FAILED,
    f"{DEMO}::test_skip": SKIPPED,
    f"{DEMO}::test_xfail": SKIPPED,
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


def job(*argv: str, cwd: str | None = None) -> Job:
    """A pytest job running argv."""
    return Job(id="py", target="py", kind="unit", adapter="pytest", argv=argv, cwd=cwd)


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
    """`FAILED node - message` keeps the message, even after a `-v` line without one."""
    results = parse_pytest_log(
        [
            "tests/t.py::test_a FAILED                                   [ 50%]",
            "\x1b[31mFAILED\x1b[0m tests/t.py::test_a - assert 1 == 2",
            "[gw1] [ 75%] PASSED tests/t.py::test_b[x - y]",
            "ERROR tests/t.py::test_c - fixture 'db' not found",
            "FAILED to connect to the database",
            "SKIPPED [1] tests/t.py:9: no network",
        ]
    )
    expected = {
        "tests/t.py::test_a": (FAILED, "assert 1 == 2"),
        "tests/t.py::test_b[x - y]": (PASSED, None),
        "tests/t.py::test_c": (FAILED, "fixture 'db' not found"),
    }
    assert expected == {r.name: (r.status, r.message) for r in results}


def test_a_truncated_junit_with_a_silent_log_keeps_the_cases_read(tmp_path: Path) -> None:
    """pytest killed mid-write: the complete cases still count when the log says nothing."""
    attempt = attempt_with(tmp_path, None)
    text = (FIXTURES / "pytest_junit.xml").read_text()
    (attempt / JUNIT_FILE).write_text(text[: text.index("test_skip")])
    log = tmp_path / "output.log"
    log.write_text("Killed\n")
    results = PytestAdapter().parse(log, attempt, job("pytest")).tests
    expected = {
        "tests/sub/test_nested.py::test_nested_ok": PASSED,
        f"{DEMO}::test_pass": PASSED,
        f"{DEMO}::test_fail": FAILED,
    }
    assert expected == statuses(results)


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
    ],
)  # fmt: skip
def test_targeted_replaces_test_paths_with_node_ids(
    argv: tuple[str, ...], tests: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    """Options and their values stay, positional paths go, each node id is one argv element."""
    assert expected == PytestAdapter().targeted(argv, tests)


@pytest.mark.parametrize(
    ("argv", "tests"),
    [
        (("pytest", "--pyargs", "mypkg"), ("mypkg/t.py::t",)),
        (("make", "test"), ("t.py::t",)),
        (("pytest",), ()),
    ],
)
def test_targeted_refuses_what_it_cannot_narrow(
    argv: tuple[str, ...], tests: tuple[str, ...]
) -> None:
    """--pyargs, an unknown wrapper or nothing to target: None, so the suite reruns whole."""
    assert PytestAdapter().targeted(argv, tests) is None


def test_registry_knows_pytest() -> None:
    """The config name `pytest` resolves to this adapter."""
    assert "pytest" == get_adapter("pytest").name


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3000), st.binary(max_size=3000))
def test_parse_never_raises_on_arbitrary_junit_and_log_bytes(junit: bytes, log: bytes) -> None:
    """Whatever the junit file and the log hold, parse returns results."""
    with tempfile.TemporaryDirectory() as directory:
        attempt = Path(directory)
        (attempt / JUNIT_FILE).write_bytes(junit)
        (attempt / "output.log").write_bytes(log)
        results = PytestAdapter().parse(attempt / "output.log", attempt, job("pytest")).tests
    assert all(isinstance(result, TestResult) for result in results)


@settings(max_examples=300, deadline=None)
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


@pytest.mark.slow
def test_a_20_mb_log_parses_completely(tmp_path: Path) -> None:
    """A 20 MB `-v` log (benchmarks live in scripts/bench_parsers.py) parses in one pass."""
    log = tmp_path / "output.log"
    with log.open("w") as out:
        for i in range(200_000):
            word = "FAILED" if i % 100 == 0 else "PASSED"
            out.write(f"tests/test_big.py::test_case[{i}] {word}{' ' * 40}[ 50%]\n")
            out.write(f"    some captured output line number {i}\n")
    assert log.stat().st_size > 20_000_000
    results = PytestAdapter().parse(log, tmp_path, job("pytest")).tests
    assert (200_000, 2_000) == (len(results), sum(r.status is FAILED for r in results))


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
    failed = tuple(name for name, status in statuses(results).items() if status is FAILED)
    targeted = adapter.targeted(argv, failed)
    assert targeted is not None
    rerun = run(targeted, "second")
    assert dict.fromkeys(failed, FAILED) == statuses(rerun)
