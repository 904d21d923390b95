"""Tests for replay._adapters.cargo (and the shared line reader in replay._adapters._lines)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support import ADAPTER_FIXTURES as FIXTURES
from _support import FAILED, PASSED, SKIPPED, failed_in_large_log
from hypothesis import given, settings
from hypothesis import strategies as st

from replay._adapters import get_adapter
from replay._adapters._lines import MAX_MESSAGE_CHARS, ResultBook, cap_message, iter_lines
from replay._adapters.cargo import (
    MAX_UNSEEN_BINARIES,
    CargoAdapter,
    LibtestReport,
    LibtestTotals,
    parse_libtest,
    unqualified,
)
from replay._model.models import Job, TestResult, TestStatus

IT_STATUSES = {
    **dict.fromkeys(["a::b::nested_fails", "fails_assert_eq", "panics_plain"], FAILED),
    **dict.fromkeys(["a::b::nested_ok", "passes", "should_panic_ok"], PASSED),
    **dict.fromkeys(["ignored_plain", "ignored_with_reason"], SKIPPED),
}
WORKSPACE_STATUSES = {
    **IT_STATUSES,
    **dict.fromkeys(
        ["tests::unit_ok", "a_fine", "c_never_runs", "other_ok", "src/lib.rs - add (line 3)"],
        PASSED,
    ),
    **dict.fromkeys(["other_fails", "src/lib.rs - add (line 7)"], FAILED),
}
ASSERT_EQ_MESSAGE = "assertion `left == right` failed: math is broken\n  left: 4\n right: 5"
IT_FAILURES = {
    "a::b::nested_fails": ("nested assertion", "tests/it.rs", 36),
    "fails_assert_eq": (ASSERT_EQ_MESSAGE, "tests/it.rs", 9),
    "panics_plain": ("boom: something went wrong\nsecond line of the message", "tests/it.rs", 15),
}
HOSTILE = "it's; rm -rf ~ $(id) `reboot` | cat"

# The `cargo_two_*` and `cargo_lib_and_bin` logs were captured with cargo 1.95 (stdout and
# stderr together, RUST_BACKTRACE=0, CARGO_TARGET_DIR=/tmp/cfx2-target or /tmp/cfx3-target):
# - cargo_two_fail_fast.log: `cargo test --offline` in `cargo_two_binaries/` with `break_a` and
#   `break_b` present: cargo stops after binary `a`, `b` never runs;
# - cargo_two_no_fail_fast.log: the same with `--no-fail-fast`: both run, `shared` in both;
# - cargo_two_compile_error.log: `cargo test --offline --no-fail-fast` with a type error added
#   to `tests/b.rs`;
# - cargo_two_abort_at_start.log: the same with an `.init_array` constructor in `tests/a.rs`
#   that aborts before libtest prints anything;
# - cargo_lib_and_bin.log: `cargo test --offline --no-fail-fast` in a crate `both` whose
#   `src/lib.rs` and `src/main.rs` each hold a `tests::works` (the second panics).
TWO_STATUSES = {"a shared": PASSED, "a_only": FAILED, "b shared": SKIPPED, "b_only": FAILED}


def job(*argv: str) -> Job:
    """A cargo job running argv."""
    return Job(id="it", target="it", kind="e2e", adapter="cargo", argv=argv)


def parse_text(text: str) -> tuple[TestResult, ...]:
    """Results of a log given as text."""
    return parse_libtest(text.splitlines()).tests


def statuses(results: tuple[TestResult, ...]) -> dict[str, TestStatus]:
    """Name to status."""
    return {result.name: result.status for result in results}


Failure = tuple[str | None, str | None, int | None]


def failures(results: tuple[TestResult, ...]) -> dict[str, Failure]:
    """Name to (message, file, line) of the failed results."""
    return {r.name: (r.message, r.file, r.line) for r in results if r.status is FAILED}


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("cargo_it.log", IT_STATUSES),
        ("cargo_it_backtrace.log", IT_STATUSES),
        ("cargo_it_nocapture.log", IT_STATUSES),
        ("cargo_it_serial_nocapture.log", IT_STATUSES),
        ("cargo_workspace.log", WORKSPACE_STATUSES),
        ("cargo_crash_serial.log", {"a_fine": PASSED, "b_aborts": FAILED}),
        ("cargo_two_no_fail_fast.log", TWO_STATUSES),
        ("cargo_two_fail_fast.log", {"shared": PASSED, "a_only": FAILED}),
        ("cargo_two_abort_at_start.log", {"shared": SKIPPED, "b_only": PASSED}),
        ("cargo_two_compile_error.log", {}),
        (
            "cargo_lib_and_bin.log",
            {"both(src/lib.rs) tests::works": PASSED, "both(src/main.rs) tests::works": FAILED},
        ),
    ],
)
def test_real_logs_give_each_tests_status(fixture: str, expected: dict[str, TestStatus]) -> None:
    """Every captured cargo log yields the status of every test it reported."""
    results = CargoAdapter().parse(FIXTURES / fixture, FIXTURES, job("cargo", "test")).tests
    assert expected == statuses(results)


@pytest.mark.parametrize(
    "fixture",
    [
        "cargo_it.log",
        "cargo_it_backtrace.log",
        "cargo_it_nocapture.log",
        "cargo_it_serial_nocapture.log",
    ],
)
def test_failed_tests_carry_panic_message_file_and_line(fixture: str) -> None:
    """Captured, backtraced, --nocapture and serial output all attribute each panic right."""
    results = parse_libtest(iter_lines(FIXTURES / fixture)).tests
    assert IT_FAILURES == failures(results)


def test_workspace_log_reports_every_binary() -> None:
    """A whole-crate run: totals per binary, cargo's rerun hints, doc-test failures."""
    report = parse_libtest(iter_lines(FIXTURES / "cargo_workspace.log"))
    expected_totals = (
        LibtestTotals(1, 0, 0, 0, 0),
        LibtestTotals(3, 3, 2, 0, 0),
        LibtestTotals(1, 1, 0, 0, 0),
        LibtestTotals(1, 1, 0, 0, 0),
    )
    assert expected_totals == report.totals
    assert ("--test crash", "--test it", "--test other", "--doc") == report.rerun_hints
    doc = failures(report.tests)["src/lib.rs - add (line 7)"]
    expected_doc_message = "assertion `left == right` failed: doc test fails\n  left: 3\n right: 4"
    assert (expected_doc_message, "src/lib.rs", 5) == doc
    assert (
        "index out of bounds: the len is 0 but the index is 3",
        "tests/other.rs",
        7,
    ) == failures(report.tests)["other_fails"]


def test_a_killed_binary_fails_the_test_it_was_running() -> None:
    """`test b_aborts ... ` with no result and a signal: the running test failed, and why."""
    results = parse_libtest(iter_lines(FIXTURES / "cargo_crash_serial.log")).tests
    expected = (
        "the test binary stopped while this test ran (signal: 6, SIGABRT: process abort signal)"
    )
    assert expected == failures(results)["b_aborts"][0]


SYNTHETIC = [
    (
        "old panic format on one line",
        "running 1 test\ntest t ... FAILED\n\nfailures:\n\n---- t stdout ----\n"
        "thread 't' panicked at 'boom', src/lib.rs:3:5\n\nfailures:\n    t\n\n"
        "test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n",
        {"t": FAILED},
        {"t": ("boom", "src/lib.rs", 3)},
    ),
    (
        "old panic format over several lines",
        "running 1 test\ntest t ... FAILED\n\nfailures:\n\n---- t stdout ----\n"
        "thread 't' panicked at 'assertion failed: `(left == right)`\n  left: `4`,\n"
        " right: `5`', tests/it.rs:9:5\nnote: run with `RUST_BACKTRACE=1`\n\nfailures:\n    t\n",
        {"t": FAILED},
        {"t": ("assertion failed: `(left == right)`\n  left: `4`,\n right: `5`", "tests/it.rs", 9)},
    ),
    (
        "mode suffixes, ignore reasons, time limits, report-time",
        "running 5 tests\ntest a - should panic ... ok\ntest b ... ignored, slow; needs db\n"
        "test c ... FAILED (time limit exceeded)\ntest d - compile fail ... ok <0.250s>\n"
        "test e ... ok <1.5s>\n",
        {"a": PASSED, "b": SKIPPED, "c": FAILED, "d": PASSED, "e": PASSED},
        {"c": (None, None, None)},
    ),
    (
        "terminal colours",
        "\x1b[1mrunning 2 tests\x1b[0m\ntest a ... \x1b[32mok\x1b[0m\n"
        "test b ... \x1b[31mFAILED\x1b[0m\n",
        {"a": PASSED, "b": FAILED},
        {"b": (None, None, None)},
    ),
    (
        "a test returning Err",
        "running 1 test\ntest r ... FAILED\n\nfailures:\n\n---- r stdout ----\n"
        'Error: Custom { kind: Other, error: "nope" }\n\nfailures:\n    r\n',
        {"r": FAILED},
        {"r": ('Custom { kind: Other, error: "nope" }', None, None)},
    ),
    (
        "names with quotes, semicolons and spaces, a missing trailing space",
        f"running 2 tests\ntest {HOSTILE} ... ok\ntest x y ...\nFAILED\n",
        {HOSTILE: PASSED, "x y": FAILED},
        {"x y": (None, None, None)},
    ),
    (
        "a panic message that starts like a result line",
        "running 1 test\ntest t ... FAILED\n\nfailures:\n\n---- t stdout ----\n"
        "thread 't' panicked at src/a.rs:1:1:\ntest setup failed: no db\n",
        {"t": FAILED},
        {"t": ("test setup failed: no db", "src/a.rs", 1)},
    ),
    (
        "test output that looks like a new binary does not end the block",
        "running 2 tests\ntest a ... \nrunning 3 tests\n     Running fake\nok\n"
        "test b ... FAILED\n\nfailures:\n    b\n\n"
        "test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n",
        {"a": PASSED, "b": FAILED},
        {"b": (None, None, None)},
    ),
    (
        "a status glued to output is recovered from the failures list and the totals",
        "running 2 tests\ntest a ... partial outputok\ntest b ... more outputFAILED\n\n"
        "failures:\n    b\n\ntest result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; "
        "0 filtered out\n",
        {"a": PASSED, "b": FAILED},
        {"b": (None, None, None)},
    ),
    (
        "the same name in two binaries cargo did not name: qualified by position",
        "running 1 test\ntest t ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; "
        "0 measured; 0 filtered out\n\nrunning 1 test\ntest t ... FAILED\n",
        {"#1 t": PASSED, "#2 t": FAILED},
        {"#2 t": (None, None, None)},
    ),
    (
        "a panic in a named helper thread is not a test's",
        "running 1 test\nthread 'worker' panicked at src/w.rs:2:2:\nworker died\ntest t ... ok\n",
        {"t": PASSED},
        {},
    ),
    (
        "terse output (`cargo test -q`) still names the failures",
        "running 4 tests\n.F.i\nfailures:\n\n---- b stdout ----\n"
        "thread 'b' panicked at tests/q.rs:4:5:\nquiet failure\n\nfailures:\n    b\n\n"
        "test result: FAILED. 2 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out\n",
        {"b": FAILED},
        {"b": ("quiet failure", "tests/q.rs", 4)},
    ),
    (
        "lines before any `running N tests` are not results",
        "test looks_like_a_result ... ok\n   Compiling x v0.1.0\n",
        {},
        {},
    ),
]


@pytest.mark.parametrize(
    ("text", "expected_statuses", "expected_failures"),
    [case[1:] for case in SYNTHETIC],
    ids=[case[0] for case in SYNTHETIC],
)
def test_libtest_output_variants(
    text: str, expected_statuses: dict[str, TestStatus], expected_failures: dict[str, Failure]
) -> None:
    """Older Rust, libtest options and odd output are read as libtest means them."""
    results = parse_text(text)
    assert (expected_statuses, expected_failures) == (statuses(results), failures(results))


def test_long_panic_messages_are_capped() -> None:
    """A panic message of a thousand long lines keeps a readable head."""
    text = (
        "running 1 test\ntest t ... FAILED\n---- t stdout ----\nthread 't' panicked at a.rs:1:1:\n"
    )
    text += ("x" * 500 + "\n") * 1000
    message = failures(parse_text(text))["t"][0]
    assert message is not None
    assert MAX_MESSAGE_CHARS >= len(message)


@pytest.mark.parametrize(
    ("argv", "tests", "expected"),
    [
        (
            ("cargo", "test", "--test", "it", "--", "--nocapture"),
            ("fails_assert_eq", "a::b::nested_fails"),
            (
                "cargo", "test", "--test", "it", "--", "--nocapture",
                "--exact", "fails_assert_eq", "a::b::nested_fails",
            ),
        ),
        (
            ("cargo", "test", "--test", "it"),
            ("t",),
            ("cargo", "test", "--test", "it", "--", "--exact", "t"),
        ),
        (
            ("cargo", "test", "old_filter", "--release", "--", "other_filter", "--exact"),
            ("t",),
            ("cargo", "test", "--release", "--", "--exact", "t"),
        ),
        (
            (
                "cargo", "test", "-p", "core", "--features", "a b",
                "--", "--test-threads", "1", "--skip", "slow",
            ),
            ("t",),
            (
                "cargo", "test", "-p", "core", "--features", "a b", "--",
                "--test-threads", "1", "--skip", "slow", "--exact", "t",
            ),
        ),
        (
            ("rch", "exec", "--", "cargo", "+nightly", "test", "--offline"),
            (HOSTILE, "t", "t"),
            (
                "rch", "exec", "--", "cargo", "+nightly", "test", "--offline",
                "--", "--exact", HOSTILE, "t",
            ),
        ),
        (
            ("cargo", "test", "--no-fail-fast"),
            ("a shared", "b shared", "a_only", "both(src/main.rs) tests::works", "#2 t"),
            (
                "cargo", "test", "--no-fail-fast", "--",
                "--exact", "shared", "a_only", "tests::works", "t",
            ),
        ),
        (("cargo", "build"), ("t",), None),
        (("make", "test"), ("t",), None),
        (("cargo", "test"), (), None),
        ((), ("t",), None),
    ],
)  # fmt: skip
def test_targeted_runs_exactly_the_named_tests(
    argv: tuple[str, ...], tests: tuple[str, ...], expected: tuple[str, ...] | None
) -> None:
    """Names go after `--` with `--exact`, one argv element each; options stay, filters go.
    Not `cargo test`, or nothing to target: None, so the suite reruns whole."""
    assert expected == CargoAdapter().targeted(argv, tests)


@pytest.mark.parametrize(
    ("argv", "tests"),
    [
        (("cargo", "test"), ("src/lib.rs - add (line 7)",)),
        (("cargo", "test"), ("demo(doc) src/lib.rs - add (line 7)", "t")),
        (("cargo", "test"), ("a --logfile=/tmp/x",)),
        (("cargo", "test"), ("-q",)),
    ],
)
def test_targeted_refuses_doc_tests_and_names_libtest_would_read_as_options(
    argv: tuple[str, ...], tests: tuple[str, ...]
) -> None:
    """A doc test, qualified or not, or a name starting with `-`: None, the suite runs whole."""
    assert CargoAdapter().targeted(argv, tests) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a shared", "shared"),
        ("mycrate tests::t", "tests::t"),
        ("mycrate(src/main.rs) tests::t", "tests::t"),
        ("mycrate-0123456789abcdef tests::t", "tests::t"),
        ("#3 t", "t"),
        ("a::b::c", "a::b::c"),
        ("src/lib.rs - add (line 7)", "src/lib.rs - add (line 7)"),
        ("demo(doc) src/lib.rs - add (line 7)", "demo(doc) src/lib.rs - add (line 7)"),
        (HOSTILE, HOSTILE),
    ],
)
def test_unqualified_drops_only_a_binary_qualifier(name: str, expected: str) -> None:
    """The text before the first space goes when it is a binary's name and not a doc test."""
    assert expected == unqualified(name)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("cargo", "test"), ("cargo", "test", "--no-fail-fast")),
        (
            ("cargo", "test", "--test", "it", "--", "--nocapture"),
            ("cargo", "test", "--no-fail-fast", "--test", "it", "--", "--nocapture"),
        ),
        (("cargo", "t", "-p", "core"), ("cargo", "t", "--no-fail-fast", "-p", "core")),
        (
            ("rch", "exec", "--", "cargo", "+nightly", "test", "--offline"),
            ("rch", "exec", "--", "cargo", "+nightly", "test", "--no-fail-fast", "--offline"),
        ),
        (
            ("/usr/bin/cargo", "test", "--", "--exact", "t"),
            ("/usr/bin/cargo", "test", "--no-fail-fast", "--", "--exact", "t"),
        ),
        (
            ("cargo", "test", "--release", "--no-fail-fast"),
            ("cargo", "test", "--release", "--no-fail-fast"),
        ),
        (
            ("cargo", "test", "--", "--no-fail-fast"),
            ("cargo", "test", "--no-fail-fast", "--", "--no-fail-fast"),
        ),
        (("cargo", "build"), ("cargo", "build")),
        (("make", "test"), ("make", "test")),
        (("sh", "-c", "cargo test"), ("sh", "-c", "cargo test")),
        ((), ()),
    ],
)
def test_command_adds_no_fail_fast_to_cargo_test(
    argv: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    """`--no-fail-fast` goes right after `test` (before any `--`), once; other commands stay."""
    assert expected == get_adapter("cargo").command(job(*argv), Path("attempt"))


FAIL_FAST = "cargo stopped after a failing test binary; later binaries did not run"
COMPILE_ERROR = 'the crate did not compile: `two` (test "b")'


def stopped(binary: str) -> str:
    """What `unseen` says of a binary that stopped before its `test result:`."""
    return f"test binary {binary} stopped before it finished"


@pytest.mark.parametrize(
    ("fixture", "argv", "expected"),
    [
        ("cargo_two_no_fail_fast.log", ("cargo", "test"), None),
        ("cargo_two_no_fail_fast.log", ("make", "test"), None),
        ("cargo_it.log", ("cargo", "test", "--test", "it"), None),
        ("cargo_lib_and_bin.log", ("cargo", "test"), None),
        ("cargo_two_fail_fast.log", ("make", "test"), FAIL_FAST),
        ("cargo_two_fail_fast.log", ("sh", "-c", "cargo test"), FAIL_FAST),
        ("cargo_two_fail_fast.log", ("cargo", "test"), None),
        ("cargo_two_compile_error.log", ("cargo", "test"), COMPILE_ERROR),
        ("cargo_two_abort_at_start.log", ("cargo", "test"), stopped("tests/a.rs")),
        ("cargo_crash_serial.log", ("cargo", "test"), stopped("tests/crash.rs")),
        ("cargo_workspace.log", ("cargo", "test"), stopped("tests/crash.rs")),
    ],
)
def test_unseen_says_what_the_log_shows_did_not_run(
    fixture: str, argv: tuple[str, ...], expected: str | None
) -> None:
    """Compile errors, binaries stopped early and a fail-fast stop are unseen; a full run is not.

    A `cargo test` argv ran with `--no-fail-fast` (command() adds it): a failed
    binary did not stop cargo, whatever the log. A wrapper's argv tells nothing,
    so the log's closing `error: N targets failed:` decides.
    """
    assert expected == CargoAdapter().parse(FIXTURES / fixture, FIXTURES, job(*argv)).unseen


RESULT_OK = "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out"


@pytest.mark.parametrize(
    ("case", "text", "expected"),
    [
        (
            "cargo could not start the build",
            "error: no test target named `nope` in default-run packages\n",
            "cargo stopped with an error before running any test",
        ),
        (
            "rustc errors without cargo's closing line",
            "   Compiling x v0.1.0\nerror[E0425]: cannot find value `y`\n",
            "the crate did not compile",
        ),
        (
            "a binary cut off mid-run (a timeout)",
            "     Running tests/slow.rs (target/debug/deps/slow-0123456789abcdef)\n\n"
            "running 2 tests\ntest quick ... ok\n",
            stopped("tests/slow.rs"),
        ),
        (
            "a block that never closed, with no Running line (`cargo test -q`)",
            "running 2 tests\ntest quick ... ok\n",
            stopped("#1"),
        ),
        (
            "a doctest binary that failed without results",
            "   Doc-tests demo\nerror: doctest failed, to rerun pass `--doc`\n",
            stopped("demo(doc)"),
        ),
        (
            "a failing test's own output is not cargo's error",
            "running 1 test\ntest t ... ok\nerror: could not compile `x`\nerror[E0001]: y\n"
            f"error: z\n{RESULT_OK}\n",
            None,
        ),
        (
            "a harness = false binary that printed nothing and passed",
            "     Running tests/custom.rs (target/debug/deps/custom-0123456789abcdef)\n"
            f"     Running tests/a.rs (target/debug/deps/a-0123456789abcdef)\nrunning 1 test\n"
            f"test t ... ok\n{RESULT_OK}\n",
            None,
        ),
        (
            "more stopped binaries than are named",
            "".join(
                f"     Running tests/t{i}.rs (target/debug/deps/t{i}-0123456789abcdef)\n"
                f"error: test failed, to rerun pass `--test t{i}`\n"
                for i in range(MAX_UNSEEN_BINARIES + 2)
            )
            + "error: 5 targets failed:\n",
            "; ".join(stopped(f"tests/t{i}.rs") for i in range(MAX_UNSEEN_BINARIES))
            + "; and 2 more",
        ),
    ],
)
def test_unseen_from_cargo_lines(case: str, text: str, expected: str | None) -> None:
    """cargo's own lines around the binaries say what did not run; a test's output does not."""
    assert expected == parse_libtest(text.splitlines()).unseen(every_binary=True)


def running(source: str, file: str) -> str:
    """cargo's line announcing a test binary."""
    return f"     Running {source} (/tmp/target/debug/deps/{file})"


def block(*results: str) -> list[str]:
    """One binary's libtest block with `results` (`name ... ok`) and its totals line."""
    lines = [f"running {len(results)} tests", *(f"test {result}" for result in results)]
    return [*lines, "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out"]


@pytest.mark.parametrize(
    "header",
    [
        "     Running " + " (" * 30_000,
        "     Running " + "x" * 60_000 + " (",
        "     Running unittests " + " (a)" * 15_000,
        "     Running x (a-" + "0" * 60_000 + ")",
        "     Running " + "y" * 60_000 + " (x)",
        "   Doc-tests " + "d" * 60_000,
    ],
)
def test_hostile_binary_lines_parse_in_one_pass_and_stay_short(header: str) -> None:
    """A 60 kB `Running` line is read at once; what unseen and qualifiers say of it is capped."""
    stops = [header, "running 2 tests", "test t ... ok", "error: test failed, to rerun pass `x`"]
    other = [running("tests/a.rs", "a-0123456789abcdef"), *block("t ... ok")]
    report = parse_libtest([*stops, *other])
    unseen = report.unseen(every_binary=True)
    assert unseen is not None
    longest = max(len(result.name) for result in report.tests)
    assert (True, 2, True) == (len(unseen) < 300, len(report.tests), longest < 300)


HASH_1, HASH_2 = "0123456789abcdef", "fedcba9876543210"
QUALIFIED = [
    (
        "names unique across binaries stay as libtest prints them",
        [running("tests/a.rs", f"a-{HASH_1}"), *block("x ... ok"),
         running("tests/b.rs", f"b-{HASH_2}"), *block("y ... ok")],
        {"x": PASSED, "y": PASSED},
    ),
    (
        "only the shared name is qualified, by each binary's stem",
        [running("tests/a.rs", f"a-{HASH_1}"), *block("t ... ok", "x ... ok"),
         running("tests/b.rs", f"b-{HASH_2}"), *block("t ... ignored")],
        {"a t": PASSED, "x": PASSED, "b t": SKIPPED},
    ),
    (
        "unit tests of a lib and a bin of one crate: by source",
        [running("unittests src/lib.rs", f"c-{HASH_1}"), *block("tests::t ... ok"),
         running("unittests src/main.rs", f"c-{HASH_2}"), *block("tests::t ... FAILED")],
        {"c(src/lib.rs) tests::t": PASSED, "c(src/main.rs) tests::t": FAILED},
    ),
    (
        "two packages' tests/it.rs: by file",
        [running("tests/it.rs", f"it-{HASH_1}"), *block("t ... ok"),
         running("tests/it.rs", f"it-{HASH_2}"), *block("t ... ok")],
        {f"it-{HASH_1} t": PASSED, f"it-{HASH_2} t": PASSED},
    ),
    (
        "doc tests of two crates, and cargo before 1.52 without a source",
        ["   Doc-tests one", *block("src/lib.rs - f (line 1) ... ok"),
         "   Doc-tests two", *block("src/lib.rs - f (line 1) ... ok"),
         f"     Running target/debug/deps/old-{HASH_1}", *block("t ... ok"),
         "running 1 test", "test t ... ok"],
        {"one(doc) src/lib.rs - f (line 1)": PASSED, "two(doc) src/lib.rs - f (line 1)": PASSED,
         "old t": PASSED, "#4 t": PASSED},
    ),
    (
        "a Windows path and a binary name that cannot qualify (a space)",
        [r"     Running tests\a.rs (C:\t\debug\deps\a-0123456789abcdef.exe)", *block("t ... ok"),
         "     Running my tests (/tmp/my dir/deps/my tests)", *block("t ... ok")],
        {"a t": PASSED, "#2 t": PASSED},
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "lines", "expected"), QUALIFIED, ids=[case[0] for case in QUALIFIED]
)
def test_a_name_is_qualified_only_where_binaries_share_it(
    case: str, lines: list[str], expected: dict[str, TestStatus]
) -> None:
    """One record per test cargo ran; a qualifier only where a name would otherwise merge."""
    assert expected == statuses(parse_libtest(lines).tests)


@pytest.mark.parametrize(
    "fixture",
    [
        "cargo_it.log",
        "cargo_it_serial_nocapture.log",
        "cargo_two_no_fail_fast.log",
        "cargo_two_fail_fast.log",
        "cargo_two_abort_at_start.log",
        "cargo_lib_and_bin.log",
    ],
)
def test_counts_equal_cargos_own_totals(fixture: str) -> None:
    """Where every binary that ran finished, replay's results are cargo's per-binary sums."""
    report: LibtestReport = parse_libtest(iter_lines(FIXTURES / fixture))
    counted = {status: 0 for status in (PASSED, FAILED, SKIPPED)}
    for result in report.tests:
        counted[result.status] += 1
    expected = {
        PASSED: sum(t.passed for t in report.totals),
        FAILED: sum(t.failed for t in report.totals),
        SKIPPED: sum(t.ignored for t in report.totals),
    }
    assert expected == counted


@given(st.lists(st.text()))
def test_parser_never_raises_on_arbitrary_lines(lines: list[str]) -> None:
    """Any text at all parses to some results, never an exception."""
    report = parse_libtest(lines)
    assert all(isinstance(result, TestResult) for result in report.tests)


FRAGMENTS = [
    "running 2 tests", "running 1 test", "test a ... ok", "test b ... FAILED", "test c ... ",
    "test d - should panic ... ignored, why", "ok", "FAILED", "failures:", "    a", "    b",
    "---- b stdout ----", "thread 'b' panicked at src/x.rs:1:2:", "thread 'main' panicked at 'm",
    "m', src/x.rs:3:4", "note: run with", "stack backtrace:", "", "successes:",
    "test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out",
    "error: test failed, to rerun pass `--test it`", "     Running tests/it.rs (x)",
    "  process didn't exit successfully: `x` (signal: 6, SIGABRT)", "Error: nope",
    "     Running unittests src/lib.rs (target/debug/deps/x-0123456789abcdef)",
    "   Doc-tests x", "error: could not compile `x` (test \"a\") due to 1 previous error",
    "error[E0308]: mismatched types", "error: 2 targets failed:", "    `--test it`",
    "error: no such command",
]  # fmt: skip


# More examples than the profile: shuffling ~30 real fragments into up to 60 lines is the
# widest input space among the parsers, and 500 is the count this test has always had.
@pytest.mark.slow
@settings(max_examples=500)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=20), max_size=60))
def test_parser_never_raises_on_shuffled_libtest_lines(lines: list[str]) -> None:
    """Real libtest lines in any order and mixed with noise never make the parser raise."""
    report = parse_libtest(lines)
    names = {result.name for result in report.tests}
    assert len(report.tests) == len(names)
    unseen = report.unseen(every_binary=False)
    assert unseen is None or "\n" not in unseen


@given(st.binary(max_size=4000))
def test_adapter_parse_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    """Invalid UTF-8, NULs and stray carriage returns in a log file are read, not fatal."""
    with tempfile.TemporaryDirectory() as directory:
        log = Path(directory) / "output.log"
        log.write_bytes(b"running 1 test\n" + data)
        results = CargoAdapter().parse(log, Path(directory), job("cargo", "test")).tests
    assert all(isinstance(result, TestResult) for result in results)


SPACES = " " * 60_000


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"test a ... ignored, {SPACES}x", {"a": SKIPPED}),
        (f"test a ... bench:{SPACES}x", {"a": PASSED}),
        (f"test a ... ok{SPACES}x", {"a": FAILED}),  # no status, and the binary never ended
        ("test " + "a - " * 15_000 + "... ok", {("a - " * 15_000).rstrip(): PASSED}),
        ("thread '" + "'" * 60_000, {}),
        ("thread 'a' panicked at " + "1:" * 30_000, {}),
        ("---- " + "x stdout ----" * 5_000, {}),
        ("error: could not compile " + " due to" * 8_000, {}),
    ],
)
def test_lines_built_to_backtrack_parse_in_one_pass(
    line: str, expected: dict[str, TestStatus]
) -> None:
    """Hostile 60 kB lines that would make a careless regex quadratic are read in one pass."""
    assert expected == statuses(parse_libtest(["running 1 test", line]).tests)


# --- the shared line reader and result book (replay._adapters._lines) ---


def test_iter_lines_caps_a_huge_line_without_newline(tmp_path: Path) -> None:
    """A 5 MB line with no newline yields its head only, and the lines after it survive."""
    log = tmp_path / "output.log"
    log.write_bytes(b"first\r\n" + b"x" * 5_000_000 + b"\nlast")
    lines = list(iter_lines(log, max_line=1024))
    assert ["first", "x" * 1024, "last"] == lines


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"caf\xc3\xa9\n\xff\xfe bad\n", ["café", "\ufffd\ufffd bad"]),
        (b"", []),
        (b"\n\n", ["", ""]),
        (b"no newline", ["no newline"]),
    ],
)
def test_iter_lines_decodes_leniently(tmp_path: Path, data: bytes, expected: list[str]) -> None:
    """Bytes become text with replacement characters; line endings are dropped."""
    log = tmp_path / "output.log"
    log.write_bytes(data)
    assert expected == list(iter_lines(log))


def test_iter_lines_yields_nothing_for_a_missing_file_or_a_directory(tmp_path: Path) -> None:
    """A job that never wrote its log has no lines, not an error."""
    assert ([], []) == (list(iter_lines(tmp_path / "missing.log")), list(iter_lines(tmp_path)))


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], None),
        (["", "  "], None),
        (["a", "b"], "a\nb"),
        ([str(i) for i in range(20)], "\n".join(str(i) for i in range(8))),
    ],
)
def test_cap_message(lines: list[str], expected: str | None) -> None:
    """Messages keep their first lines and are None when blank."""
    assert expected == cap_message(lines)


def test_result_book_keeps_first_order_and_the_worse_outcome() -> None:
    """A failure replaces a pass; a message-less duplicate does not replace an explained one."""
    book = ResultBook()
    book.add(TestResult("a", PASSED))
    book.add(TestResult("b", SKIPPED))
    book.add(TestResult("a", FAILED))
    book.add(TestResult("a", FAILED, message="why"))
    book.add(TestResult("a", FAILED))
    book.add(TestResult("b", PASSED))
    expected = (TestResult("a", FAILED, message="why"), TestResult("b", PASSED))
    assert expected == book.results()


# --- size and speed: completes on a large log (benchmarks live in scripts/bench_parsers.py) ---


def large_libtest_log(tests: int) -> Iterator[str]:
    """A libtest log of `tests` results, every hundredth failing with a panic."""
    yield f"running {tests} tests\n"
    for i in range(tests):
        status = "FAILED" if i % 100 == 0 else "ok"
        yield f"test integration::module::case_{i} ... {status}\n"
    yield "\nfailures:\n\n"
    for i in range(0, tests, 100):
        name = f"integration::module::case_{i}"
        yield f"---- {name} stdout ----\n"
        yield f"thread '{name}' panicked at tests/big.rs:{i}:1:\nfailed {i}\n\n"
    yield "test result: FAILED. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n"


@pytest.mark.slow
def test_a_20_mb_log_parses_completely(tmp_path: Path) -> None:
    """Half a million results stream through; every failure keeps its location."""
    lines = large_libtest_log(500_000)
    failed = failed_in_large_log(
        CargoAdapter().parse, job("cargo", "test"), tmp_path, lines, (500_000, 5_000)
    )
    expected = TestResult(
        "integration::module::case_200", FAILED, message="failed 200", file="tests/big.rs", line=200
    )
    assert expected == failed[2]


# --- live: a real crate, built once for the module ---

CARGO = shutil.which("cargo")


@pytest.fixture(scope="module")
def crate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The fixture crate copied to a temp dir and built offline, with its environment."""
    if CARGO is None:
        pytest.skip("cargo is not installed")
    root = tmp_path_factory.mktemp("crate")
    project = root / "demo"
    shutil.copytree(FIXTURES / "cargo_project", project)
    env = {**os.environ, "CARGO_TARGET_DIR": str(root / "target"), "RUST_BACKTRACE": "0"}
    env.pop("CARGO_TERM_COLOR", None)
    build = ("cargo", "test", "--offline", "--no-run", "--test", "it")
    in_crate((project, env), build, check=True, capture_output=True)
    return project, env


def in_crate(
    crate: tuple[Path, dict[str, str]], argv: tuple[str, ...], *, check: bool, **output: Any
) -> None:
    """Run argv in the crate with its environment, for ten minutes at most; `output` says where
    its stdout and stderr go (`subprocess.run`'s keywords)."""
    project, env = crate
    subprocess.run(argv, cwd=project, env=env, check=check, timeout=600, **output)


def run_cargo(crate: tuple[Path, dict[str, str]], argv: tuple[str, ...], log: Path) -> None:
    """Run argv in the crate, stdout and stderr into `log`, as the executor does."""
    with log.open("wb") as out:
        in_crate(crate, argv, check=False, stdout=out, stderr=subprocess.STDOUT)


IT_FAILED = {"a::b::nested_fails", "fails_assert_eq", "panics_plain"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ("cargo", "test", "--offline", "--test", "it"),
        ("cargo", "test", "--offline", "--test", "it", "--", "--test-threads=1", "--nocapture"),
    ],
)
def test_live_cargo_statuses_and_targeted_rerun(
    crate: tuple[Path, dict[str, str]], tmp_path: Path, argv: tuple[str, ...]
) -> None:
    """A real run gives each test's status and location; its targeted argv reruns the failures."""
    adapter = CargoAdapter()
    first = tmp_path / "first.log"
    run_cargo(crate, adapter.command(job(*argv), tmp_path), first)
    results = adapter.parse(first, tmp_path, job(*argv)).tests
    assert (IT_STATUSES, IT_FAILURES) == (statuses(results), failures(results))

    targeted = adapter.targeted(argv, tuple(sorted(IT_FAILED)))
    assert targeted is not None
    second = tmp_path / "second.log"
    run_cargo(crate, targeted, second)
    rerun = adapter.parse(second, tmp_path, job(*targeted)).tests
    assert dict.fromkeys(IT_FAILED, FAILED) == statuses(rerun)


@pytest.mark.slow
def test_live_doc_tests_are_read_but_not_targeted(
    crate: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """Doc-test results are read; rustdoc splits filters at spaces, so no targeted argv."""
    argv = ("cargo", "test", "--offline", "--doc")
    log = tmp_path / "doc.log"
    run_cargo(crate, argv, log)
    results = CargoAdapter().parse(log, tmp_path, job(*argv)).tests
    expected = {"src/lib.rs - add (line 3)": PASSED, "src/lib.rs - add (line 7)": FAILED}
    assert expected == statuses(results)
    assert CargoAdapter().targeted(argv, ("src/lib.rs - add (line 7)",)) is None
