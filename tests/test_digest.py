"""Tests for the digest: root-cause classes (replay._core.rootcause), digests and the index
(replay._core.digest), and log scanning (replay._inputs.logscan)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from _support import fixture_path
from hypothesis import given
from hypothesis import strategies as st

from replay._core.diagnostics import DIAGNOSTICS_INDEX_SCHEMA, ROOT_CAUSE_CLASSES, diagnostics_index
from replay._core.digest import (
    FAILURE_DIGEST_SCHEMA,
    Assertion,
    FailureDigest,
    Location,
    build_digest,
    first_failing_assertion,
    impacted_tests,
)
from replay._core.rootcause import (
    CAUSE_CLASSES,
    EvidenceScope,
    RootCause,
    classify_root_cause,
)
from replay._inputs.logscan import LogEvidence, failure_lines, scan_log
from replay._model import models
from replay._model.convert import dumps, loads, unstructure
from replay._model.models import ChainState, TargetStatus, TestStatus

CAPTURE_LOG = fixture_path("digest", "cargo_capture.log")
"""Real `cargo test --test mixed` output (RUST_BACKTRACE=1) of `mixed.rs`."""
NOCAPTURE_LOG = fixture_path("digest", "cargo_nocapture.log")
"""Real `cargo test --test mixed -- --nocapture` output: tests' output interleaved."""

MIXED_TESTS = (
    models.TestResult("compares_totals", TestStatus.FAILED),
    models.TestResult("expected_panic", TestStatus.PASSED),
    models.TestResult("explicit_panic", TestStatus.FAILED),
    models.TestResult("passes_with_timeout_in_output", TestStatus.PASSED),
    models.TestResult("slow_network", TestStatus.SKIPPED),
    models.TestResult("reads_fixture", TestStatus.FAILED),
)
MIXED_FAILED = ("compares_totals", "explicit_panic", "reads_fixture")
MIXED_ARGV = ("cargo", "test", "--test", "mixed", "--", "--nocapture")


def _target(**changes: Any) -> models.TargetResult:
    fields: dict[str, Any] = {
        "name": "mixed",
        "kind": "unit",
        "adapter": "cargo",
        "argv": MIXED_ARGV,
        "status": TargetStatus.FAILED,
        "chain_state": ChainState.OUTSTANDING,
        "decided_by": "run-1",
        "exit_code": 101,
        "tests": MIXED_TESTS,
        "log": "mixed/output.log",
    }
    fields.update(changes)
    return models.TargetResult(**fields)


# --- classification ---------------------------------------------------------------------

CLASS_LINES = [
    ("timeout", "Error: operation timed out after 30s"),
    ("timeout", "panic: test timed out after 10m0s"),
    ("timeout", 'Os { code: 110, kind: TimedOut, message: "Connection timed out" }'),
    ("timeout", "E       TimeoutError: [Errno 110] ETIMEDOUT"),
    ("timeout", "Error: context deadline exceeded"),
    ("vcr_mismatch", "no matching interaction found in cassette for POST /v1/messages"),
    ("vcr_mismatch", "VCR cassette missing or invalid: anthropic_stream.json"),
    ("vcr_mismatch", "match criteria: method + url + body + body_text"),
    ("assertion_failure", "assertion `left == right` failed: totals differ"),
    ("assertion_failure", "assertion failed: !text.is_empty()"),
    ("assertion_failure", "  left: 4"),
    ("assertion_failure", " right: 5"),
    ("assertion_failure", "E       AssertionError: assert 4 == 5"),
    ("assertion_failure", "E       assert 4 == 5"),
    ("assertion_failure", "    main_test.go:12: expected 4, got 5"),
    ("assertion_failure", "        \tError:      \tNot equal: "),
    ("assertion_failure", "thread panicked: called assert_eq!(a, b) with different values"),
    ("permission_denied", "Error: Permission denied (os error 13)"),
    ("permission_denied", 'Os { code: 13, kind: PermissionDenied, message: "Permission denied" }'),
    ("permission_denied", "E       PermissionError: [Errno 13] Permission denied: '/root/x'"),
    ("permission_denied", "Error: EACCES: permission denied, open '/etc/shadow'"),
    ("permission_denied", "mount: /mnt: operation not permitted."),
    ("network_io", "Error: Connection refused (os error 111)"),
    ("network_io", "dial tcp 127.0.0.1:8080: connect: connection refused"),
    ("network_io", "Error: read ECONNRESET"),
    ("network_io", "error trying to connect: dns error: failed to lookup address information"),
    ("network_io", "Temporary failure in name resolution"),
    ("network_io", "reqwest::Error { kind: Request, source: error sending request for url }"),
    ("network_io", "Connection reset by peer (os error 104)"),
    ("lint_failure", "error: this `if` has identical blocks  (see clippy::if_same_then_else)"),
    ("lint_failure", "  = note: `-D warnings` implied by `-D clippy::all`"),
    ("lint_failure", "error: unused variable: `x`"),
    ("lint_failure", "  = note: `#[deny(unused_variables)]` on by default"),
    ("lint_failure", "Diff in /src/lib.rs at line 12:"),
    ("lint_failure", "error: rustfmt exited with 1"),
    ("lint_failure", "Would reformat: src/app.py"),
    ("lint_failure", "ruff check found 3 errors"),
    ("missing_file", "Error: No such file or directory (os error 2)"),
    ("missing_file", 'Os { code: 2, kind: NotFound, message: "No such file or directory" }'),
    ("missing_file", "E       FileNotFoundError: [Errno 2] No such file or directory: 'x.json'"),
    ("missing_file", "Error: ENOENT: no such file or directory, open 'fixtures/a.json'"),
    ("panic", "thread 'explicit_panic' (6505) panicked at tests/mixed.rs:36:5:"),
    ("panic", "thread 'main' panicked at 'index out of bounds', src/main.rs:4:5"),
    ("panic", "panic: runtime error: index out of range [3] with length 3"),
    ("panic", "fatal runtime error: stack overflow"),
    ("unknown", "error: process didn't exit successfully (exit status: 1)"),
    ("unknown", "warning: unused variable: `x`"),
    ("unknown", "test handles_timeout ... FAILED"),
    ("unknown", "---- vcr_cassette_roundtrip stdout ----"),
    ("unknown", "error: test failed, to rerun pass `--test e2e_timeout`"),
    ("unknown", "something went wrong in tests/timeout.rs:10:5"),
]


@pytest.mark.parametrize(("expected", "line"), CLASS_LINES)
def test_classify_one_line(expected: str, line: str) -> None:
    """A realistic line of each class is classified as that class, from the failure's lines."""
    actual = classify_root_cause([line], [], timed_out=False)
    assert expected == actual.cls
    if expected != "unknown":
        expected_evidence = ((line,), EvidenceScope.FAILURE)
        assert expected_evidence == (actual.decided_by, actual.scope)


@pytest.mark.parametrize(("cls", "line"), [(c, line) for c, line in CLASS_LINES if c != "unknown"])
def test_scan_keywords_cover_every_class_line(cls: str, line: str) -> None:
    """The keywords that speed up log scanning never hide a line its class matches."""
    expected = True
    cause = next(c for c in CAUSE_CLASSES if c.name == cls)
    assert expected == cause.may_match(line.lower())


@pytest.mark.parametrize(
    ("expected", "lines"),
    [
        ("timeout", ["assertion failed: done", "request timed out"]),
        ("vcr_mismatch", ["no matching interaction in cassette", "assertion failed: ok"]),
        ("assertion_failure", ["No such file or directory", "assertion `left == right` failed"]),
        ("permission_denied", ["Connection refused", "Permission denied (os error 13)"]),
        ("network_io", ["clippy::all", "Connection refused (os error 111)"]),
        ("missing_file", ["thread 'x' panicked at src/a.rs:1:1:", "os error 2"]),
    ],
)
def test_classify_first_class_in_upstream_order_wins(expected: str, lines: list[str]) -> None:
    """Among lines of several classes, upstream's class order decides, not the line order."""
    assert expected == classify_root_cause(lines, [], timed_out=False).cls


def test_timed_out_attempt_is_timeout_whatever_the_lines() -> None:
    """A timed-out attempt is a timeout, decided by the attempt rather than any line."""
    expected = RootCause(cls="timeout", decided_by=(), scope=EvidenceScope.ATTEMPT)
    assert expected == classify_root_cause(
        ["assertion failed: x"], ["Permission denied"], timed_out=True
    )


def test_failure_lines_decide_before_the_log() -> None:
    """The log is read only when the failure's own lines match nothing."""
    actual = classify_root_cause(
        ["assertion `left == right` failed"], ["Connection refused"], timed_out=False
    )
    expected = ("assertion_failure", EvidenceScope.FAILURE)
    assert expected == (actual.cls, actual.scope)


def test_log_decides_when_failure_lines_say_nothing() -> None:
    """With no class in the failure's lines, the whole log decides, and says so."""
    expected = RootCause(
        cls="permission_denied", decided_by=("cp: x: Permission denied",), scope=EvidenceScope.LOG
    )
    assert expected == classify_root_cause(
        ["exit status 1"], ["building", "cp: x: Permission denied"], timed_out=False
    )


def test_timeout_word_in_the_log_decides_nothing() -> None:
    """Upstream's bug: a "timeout" anywhere in the log made the class timeout."""
    actual = classify_root_cause(["exit status 1"], ["retry: timeout=30s"], timed_out=False)
    assert RootCause(cls="unknown", decided_by=(), scope=EvidenceScope.LOG) == actual


def test_timeout_in_passing_output_does_not_beat_the_assertion() -> None:
    """Real interleaved output: a passing test printed "timed out" right under a panic."""
    evidence = scan_log(NOCAPTURE_LOG, MIXED_TESTS)
    actual = classify_root_cause(
        evidence.failure_lines,
        evidence.log_lines,
        timed_out=False,
        test_names=[t.name for t in MIXED_TESTS],
    )
    expected = (
        "assertion_failure",
        EvidenceScope.FAILURE,
        "assertion `left == right` failed: totals differ",
    )
    assert expected == (actual.cls, actual.scope, actual.decided_by[0])
    assert any("timed out" in line for line in evidence.failure_lines)


def test_panic_message_beats_other_lines_of_the_failure() -> None:
    """A panic with a plain message is a panic, even if a later line says "timed out"."""
    lines = [
        "thread 'explicit_panic' (1) panicked at tests/mixed.rs:36:5:",
        "state machine reached an impossible state",
        "retry policy: timeout=30s, connection timed out on attempt 1, recovered",
    ]
    actual = classify_root_cause(lines, [], timed_out=False)
    assert ("panic", (lines[0],)) == (actual.cls, actual.decided_by)


def test_adapter_messages_decide_first() -> None:
    """Per-test messages from an adapter (pytest, go) are the strongest text evidence."""
    actual = classify_root_cause(
        ["E   something about a cassette"],
        [],
        timed_out=False,
        messages=["FileNotFoundError: [Errno 2] No such file or directory: 'a.json'"],
    )
    expected = "missing_file"
    assert expected == actual.cls


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("    handles_timeout", ["handles_timeout"]),
        ("running scenario vcr::replays_cassette now", ["vcr::replays_cassette"]),
        ("thread 'network::dns' (7) panicked at tests/timeout.rs:3:5:", []),
    ],
)
def test_names_and_locations_do_not_decide(line: str, names: list[str]) -> None:
    """A test, thread or file named like a class is not evidence of that class."""
    expected = "panic" if "panicked" in line else "unknown"
    assert expected == classify_root_cause([line], [], timed_out=False, test_names=names).cls


def test_evidence_is_capped() -> None:
    """At most five deciding lines are kept, each cut to 500 characters."""
    lines = ["Permission denied " + "x" * 1000] * 20
    actual = classify_root_cause(lines, [], timed_out=False)
    expected = [500] * 5
    assert expected == [len(line) for line in actual.decided_by]


@given(st.lists(st.text()), st.lists(st.text()), st.booleans(), st.lists(st.text(max_size=20)))
def test_classify_never_crashes(
    failure: list[str], log: list[str], timed_out: bool, names: list[str]
) -> None:
    """Arbitrary text always gets a known class."""
    actual = classify_root_cause(failure, log, timed_out=timed_out, test_names=names)
    assert actual.cls in ROOT_CAUSE_CLASSES


# --- impacted tests and the first failing assertion ---------------------------------------


@pytest.mark.parametrize(
    ("expected", "tests"),
    [
        (MIXED_FAILED, MIXED_TESTS),
        (
            (),
            (models.TestResult("a", TestStatus.SKIPPED), models.TestResult("b", TestStatus.PASSED)),
        ),
        (
            ("b",),
            (
                models.TestResult("a", TestStatus.FAILED, attempt=1),
                models.TestResult("b", TestStatus.FAILED, attempt=1),
                models.TestResult("a", TestStatus.PASSED, attempt=2),
                models.TestResult("b", TestStatus.FAILED, attempt=2),
            ),
        ),
    ],
)
def test_impacted_tests(expected: tuple[str, ...], tests: tuple[models.TestResult, ...]) -> None:
    """Impacted tests are those whose latest result failed; ignored ones never are."""
    assert expected == impacted_tests(tests)


def at(test: str, message: str, file: str, line: int, column: int | None = None) -> Assertion:
    """The first failing assertion of `test`, where the location and its file and line agree."""
    location = Location(file=file, line=line, column=column)
    return Assertion(
        test=test, file=file, line=line, column=column, message=message, location=location
    )


@pytest.mark.parametrize(
    ("lines", "tests", "expected"),
    [
        (
            [
                "thread 'b' (3) panicked at src/b.rs:2:9:",
                "other",
                "thread 'a' (2) panicked at src/a.rs:10:5:",
                "assertion `left == right` failed",
                "  left: 1",
                " right: 2",
                "note: run with `RUST_BACKTRACE=1`",
            ],
            (models.TestResult("a", TestStatus.FAILED), models.TestResult("b", TestStatus.FAILED)),
            at("a", "assertion `left == right` failed\n  left: 1\n right: 2", "src/a.rs", 10, 5),
        ),
        (
            ["thread 'a' panicked at 'assertion failed: ok', src/lib.rs:7:13"],
            (models.TestResult("a", TestStatus.FAILED),),
            at("a", "assertion failed: ok", "src/lib.rs", 7, 13),
        ),
        (
            ["E   assert 1 == 2"],
            (
                models.TestResult(
                    "t.py::test_x",
                    TestStatus.FAILED,
                    message="assert 1 == 2",
                    file="t.py",
                    line=4,
                ),
            ),
            at("t.py::test_x", "assert 1 == 2", "t.py", 4),
        ),
        (
            ["thread 'main' (1) panicked at src/main.rs:3:5:", "boom"],
            (),
            at("main", "boom", "src/main.rs", 3, 5),
        ),
        (["exit 1"], (), None),
        (
            ["exit 1"],
            (models.TestResult("a", TestStatus.FAILED),),
            Assertion(test="a"),
        ),
        (
            ["thread 'a' (1) panicked at tests/it.rs:3:5:", "boom"],
            (models.TestResult("a", TestStatus.FAILED, file="crates/x/tests/it.rs", line=3),),
            at("a", "boom", "crates/x/tests/it.rs", 3, 5),
        ),
    ],
)
def test_first_failing_assertion(
    lines: list[str], tests: tuple[models.TestResult, ...], expected: Assertion | None
) -> None:
    """The first failed test's panic gives file, line, column and message; else its record."""
    assert expected == first_failing_assertion(lines, tests)


# --- the digest and the index -------------------------------------------------------------


def digest_of(
    target: models.TargetResult, failure_lines: Sequence[str] = (), log_lines: Sequence[str] = ()
) -> FailureDigest:
    """The digest of `target` with plain commands and time (`replay run`, no targeted command)."""
    return build_digest(
        target,
        failure_lines=failure_lines,
        log_lines=log_lines,
        replay_command="replay run",
        targeted_command=None,
        generated_at="t",
    )


def test_digest_of_real_cargo_output() -> None:
    """The digest of the real nocapture log names the failed tests, the assertion and commands."""
    evidence = scan_log(NOCAPTURE_LOG, MIXED_TESTS)
    digest = build_digest(
        _target(),
        failure_lines=evidence.failure_lines,
        log_lines=evidence.log_lines,
        replay_command="replay run --rerun-from out/summary.json",
        targeted_command="cargo test --test mixed -- --exact compares_totals",
        generated_at="2026-02-13T00:00:00Z",
    )
    expected = {
        "schema": FAILURE_DIGEST_SCHEMA,
        "generated_at": "2026-02-13T00:00:00Z",
        "correlation_id": None,
        "suite": "mixed",
        "status": "failed",
        "exit_code": 101,
        "signal": None,
        "root_cause_class": "assertion_failure",
        "root_cause_evidence": {
            "scope": "failure",
            "lines": [
                "assertion `left == right` failed: totals differ",
                "  left: 4",
                " right: 5",
            ],
        },
        "impacted_scenario_ids": list(MIXED_FAILED),
        "first_failing_assertion": {
            "test": "compares_totals",
            "file": "tests/mixed.rs",
            "line": 13,
            "column": 5,
            "message": "assertion `left == right` failed: totals differ\n  left: 4\n right: 5",
            "location": {"file": "tests/mixed.rs", "line": 13, "column": 5},
        },
        "remediation_pointer": {
            "summary": "Inspect the first failing assertion's preconditions and fixture state.",
            "replay_command": "replay run --rerun-from out/summary.json",
            "suite_replay_command": "cargo test --test mixed -- --nocapture",
            "targeted_test_replay_command": "cargo test --test mixed -- --exact compares_totals",
        },
        "log_file": "mixed/output.log",
    }
    assert expected == unstructure(digest)


def test_digest_round_trips_through_json() -> None:
    """A digest written as JSON reads back as the same model."""
    digest = build_digest(
        _target(status=TargetStatus.TIMED_OUT, exit_code=None, signal=9),
        failure_lines=(),
        log_lines=(),
        replay_command="replay run",
        targeted_command=None,
        generated_at="2026-02-13T00:00:00Z",
        correlation_id="c-1",
    )
    assert digest == loads(dumps(digest), FailureDigest, source="failure_digest.json")
    expected = ("timeout", EvidenceScope.ATTEMPT)
    assert expected == (digest.root_cause_class, digest.root_cause_evidence.scope)


def test_digest_timed_out_attempt() -> None:
    """A target whose last attempt timed out is a timeout even if marked failed."""
    digest = digest_of(
        _target(attempts=(models.Attempt(number=1, timed_out=True),)), ("assertion failed: x",)
    )
    expected = "timeout"
    assert expected == digest.root_cause_class


def test_digest_quotes_hostile_argv() -> None:
    """A test name with quotes and `;` is quoted in the suite command, never interpolated."""
    argv = ("cargo", "test", "--test", "x", "--", "--exact", "it's; rm -rf ~")
    digest = digest_of(_target(argv=argv, tests=()))
    expected = "cargo test --test x -- --exact 'it'\"'\"'s; rm -rf ~'"
    assert expected == digest.remediation_pointer.suite_replay_command


def test_diagnostics_index() -> None:
    """The index lists each digest with its class, impacted count, and counts by class."""
    evidence = scan_log(CAPTURE_LOG, MIXED_TESTS)
    first = digest_of(_target(), evidence.failure_lines, evidence.log_lines)
    second = digest_of(_target(name="other", tests=(), status=TargetStatus.TIMED_OUT))
    index = diagnostics_index(
        [("mixed/failure_digest.json", first), ("other/failure_digest.json", second)],
        "2026-02-13T00:00:00Z",
    )
    expected_counts = dict.fromkeys(ROOT_CAUSE_CLASSES, 0) | {"assertion_failure": 1, "timeout": 1}
    expected_head = (DIAGNOSTICS_INDEX_SCHEMA, 2, expected_counts)
    assert expected_head == (
        index["schema"],
        index["failed_suite_count"],
        index["counts_by_class"],
    )
    summaries = [
        (e["suite"], e["digest_path"], e["impacted_count"], e["first_failing_assertion_summary"])
        for e in index["suites"]
    ]
    expected = [
        (
            "mixed",
            "mixed/failure_digest.json",
            3,
            "compares_totals at tests/mixed.rs:13:5: "
            "assertion `left == right` failed: totals differ",
        ),
        ("other", "other/failure_digest.json", 0, None),
    ]
    assert expected == summaries


# --- scanning logs ------------------------------------------------------------------------


def test_scan_capture_log_keeps_failed_sections_without_backtraces() -> None:
    """Captured output: failed tests' sections and panics are kept, backtrace frames are not."""
    lines = scan_log(CAPTURE_LOG, MIXED_TESTS).failure_lines
    assert "---- compares_totals stdout ----" in lines
    assert "computing totals" in lines
    assert (
        "called `Result::unwrap()` on an `Err` value: Os { code: 2, kind: NotFound, "
        in (
            lines[
                lines.index("thread 'reads_fixture' (6507) panicked at tests/mixed.rs:18:71:") + 1
            ]
        )
    )
    assert not any("rust_begin_unwind" in line for line in lines)
    assert not any("expected_panic" in line for line in lines)


def test_scan_skips_panics_of_passing_tests() -> None:
    """A passing `#[should_panic]` test prints its panic; that is not failure evidence."""
    lines = scan_log(NOCAPTURE_LOG, MIXED_TESTS).failure_lines
    expected = [
        "thread 'compares_totals' (6581) panicked at tests/mixed.rs:13:5:",
        "thread 'explicit_panic' (6583) panicked at tests/mixed.rs:36:5:",
        "thread 'reads_fixture' (6585) panicked at tests/mixed.rs:18:71:",
    ]
    assert expected == [line for line in lines if "panicked at" in line]


def test_scan_uses_the_tail_when_no_test_is_known(tmp_path: Path) -> None:
    """A generic runner's failure is its last lines."""
    log = tmp_path / "output.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)) + "Traceback\nOSError: x\n")
    evidence = scan_log(log, (), tail_lines=3)
    expected = ("line 99", "Traceback", "OSError: x")
    assert expected == evidence.failure_lines
    assert evidence.failure_lines == failure_lines(log, ())[-3:]


@pytest.mark.parametrize("make", ["missing", "directory"])
def test_scan_unreadable_log_is_empty(tmp_path: Path, make: str) -> None:
    """A log that is missing or a directory gives empty evidence, not an error."""
    log = tmp_path / "output.log"
    if make == "directory":
        log.mkdir()
    assert LogEvidence() == scan_log(log, MIXED_TESTS)


def test_scan_cuts_a_huge_line(tmp_path: Path) -> None:
    """A 20 MB line without a newline is cut (and marked), and the lines after it are still read."""
    log = tmp_path / "output.log"
    with log.open("wb") as stream:
        stream.write(b"thread 'a' (1) panicked at src/a.rs:1:1:\n")
        stream.write(b"x" * 20_000_000 + b"\n")
        stream.write(b"after\n")
    evidence = scan_log(log, (models.TestResult("a", TestStatus.FAILED),), max_line_chars=100)
    expected = ("thread 'a' (1) panicked at src/a.rs:1:1:", "x" * 99 + "…", "after")
    assert expected == evidence.failure_lines


def test_scan_is_bounded_on_a_long_log(tmp_path: Path) -> None:
    """Thousands of failures keep at most `max_lines` failure lines and a bounded log sample."""
    log = tmp_path / "output.log"
    tests = tuple(models.TestResult(f"t{i}", TestStatus.FAILED) for i in range(5000))
    with log.open("w") as stream:
        for i in range(5000):
            stream.write(f"thread 't{i}' (1) panicked at src/a.rs:1:1:\nPermission denied\n")
            stream.write(f"test t{i} ... FAILED\n")
    evidence = scan_log(log, tests, max_lines=40, tail_lines=10)
    assert len(evidence.failure_lines) <= 40
    assert len(evidence.log_lines) <= 5 * 8 + 10


def test_scan_reads_non_utf8_and_ansi(tmp_path: Path) -> None:
    """Invalid UTF-8 is replaced and colour codes are removed."""
    log = tmp_path / "output.log"
    log.write_bytes(b"\x1b[31mthread 'a' panicked at src/a.rs:1:1:\x1b[0m\r\n\xff\xfe boom\n")
    lines = scan_log(log, (models.TestResult("a", TestStatus.FAILED),)).failure_lines
    expected = ("thread 'a' panicked at src/a.rs:1:1:", "\ufffd\ufffd boom")
    assert expected == lines


@given(st.binary(max_size=4000), st.lists(st.sampled_from(["a", "b", "t::c"]), max_size=3))
def test_scan_never_crashes(data: bytes, failed: list[str]) -> None:
    """Arbitrary bytes scan into bounded evidence that classifies."""
    tests = tuple(models.TestResult(name, TestStatus.FAILED) for name in failed)
    with tempfile.TemporaryDirectory() as directory:
        log = Path(directory) / "output.log"
        log.write_bytes(data)
        evidence = scan_log(log, tests, max_lines=20, tail_lines=5)
    assert len(evidence.failure_lines) <= 20
    cause = classify_root_cause(evidence.failure_lines, evidence.log_lines, timed_out=False)
    assert cause.cls in ROOT_CAUSE_CLASSES


@pytest.mark.parametrize("cls", ROOT_CAUSE_CLASSES)
def test_every_root_cause_class_has_a_remediation(cls: str) -> None:
    """A digest of any class can be built: each class says what to do next."""
    from replay._core.digest import _REMEDIATION

    assert _REMEDIATION[cls]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("double(2) = 5, want 4", "assertion_failure"),
        ("got 5, want 4", "assertion_failure"),
        ("./b_test.go:5:2: undefined: missing", "build_failure"),
        ("ModuleNotFoundError: No module named 'nothere'", "build_failure"),
        ("error[E0425]: cannot find value `x` in this scope", "build_failure"),
    ],
)
def test_go_and_build_failures_have_a_root_cause(message: str, expected: str) -> None:
    """Go's `t.Errorf("got, want")` idiom and compile/import errors are not `unknown`."""
    root = classify_root_cause([], [], timed_out=False, messages=[message])
    assert expected == root.cls


def test_every_class_but_unknown_keeps_its_pattern_and_keywords_together() -> None:
    """One record per class, in upstream's order, its keywords lower-case (lines are lowered)."""
    assert [c.name for c in CAUSE_CLASSES] == list(ROOT_CAUSE_CLASSES[:-1])
    for cause in CAUSE_CLASSES:
        assert cause.keywords
        assert all(word == word.lower() for word in cause.keywords), cause.name
