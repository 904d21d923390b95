"""Tests for `_core.flakes`: Wilson intervals, fingerprints, verdicts, early stopping, reports."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replay._core import flakes
from replay._core.flakes import (
    MIN_RUNS,
    NO_FINGERPRINT,
    FingerprintCount,
    FlakeRun,
    FlakeVerdict,
    FlakeVerdictKind,
    fingerprint,
    runs_needed,
    should_stop,
    verdict,
    wilson_interval,
)
from replay._core.taxonomy import FlakeClassification
from replay._model.convert import dumps, loads

STABLE = FlakeVerdictKind.STABLE_PASS
BROKEN = FlakeVerdictKind.DETERMINISTIC_FAILURE
FLAKY = FlakeVerdictKind.FLAKY
INCONCLUSIVE = FlakeVerdictKind.INCONCLUSIVE


def _runs(outcomes: str, fingerprints: str = "") -> tuple[FlakeRun, ...]:
    """Runs from a string like "PPF": P passed, F failed; `fingerprints` names each failure."""
    marks = iter(fingerprints)
    return tuple(
        FlakeRun(
            number=i,
            passed=o == "P",
            fingerprint=None if o == "P" else next(marks, "boom"),
            log=f"attempt-{i}/output.log",
        )
        for i, o in enumerate(outcomes, start=1)
    )


@pytest.mark.parametrize(
    ("successes", "n", "expected"),
    [
        (0, 0, (0.0, 1.0)),
        (10, 10, (0.7225, 1.0)),
        (0, 10, (0.0, 0.2775)),
        (5, 10, (0.2366, 0.7634)),
        (100, 100, (0.963, 1.0)),
        (1, 1, (0.2065, 1.0)),
    ],
)
def test_wilson_interval_matches_the_textbook(
    successes: int, n: int, expected: tuple[float, float]
) -> None:
    """The interval matches published Wilson values and is exactly 0 or 1 at the ends."""
    low, high = wilson_interval(successes, n)
    assert expected == (round(low, 4), round(high, 4))


@pytest.mark.parametrize(("successes", "n"), [(-1, 3), (4, 3), (0, -1)])
def test_wilson_interval_refuses_impossible_counts(successes: int, n: int) -> None:
    """More successes than trials, or negative counts, are a bug in the caller."""
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(successes, n)


@given(st.integers(0, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_holds_the_observed_rate(pair: tuple[int, int]) -> None:
    """The interval lies in [0, 1] and contains the observed rate."""
    successes, n = pair
    low, high = wilson_interval(successes, n)
    rate = successes / n if n else 0.5
    assert 0.0 <= low <= rate <= high <= 1.0


@pytest.mark.parametrize(("rate", "expected"), [(0.05, 73), (0.01, 381), (0.3, 9), (0.5, 4)])
def test_runs_needed_bounds_the_failure_rate(rate: float, expected: int) -> None:
    """`runs_needed(r)` passes in a row are the fewest whose Wilson bound is at most r."""
    bound = 1 - wilson_interval(expected, expected)[0]
    fewer = 1 - wilson_interval(expected - 1, expected - 1)[0]
    assert (expected, True, True) == (runs_needed(rate), bound <= rate, fewer > rate)


@pytest.mark.parametrize("rate", [0.0, 1.0, -0.1, 2.0])
def test_runs_needed_refuses_rates_outside_0_1(rate: float) -> None:
    """A failure rate of 0 needs infinitely many runs; 1 or more is no bound at all."""
    with pytest.raises(ValueError, match="between 0 and 1"):
        runs_needed(rate)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("left: 3 right: 4 at /tmp/abc123/x.rs:10", "left: 5 right: 9 at /tmp/zz9/x.rs:10"),
        ("object at 0x7ffd5a1b2c30 dropped", "object at 0x55d0c0ffee00 dropped"),
        (
            "request 123e4567-e89b-12d3-a456-426614174000 failed",
            "request 9b2f6a1e-0c4d-4e5f-8a7b-1c2d3e4f5a6b failed",
        ),
        ("at 2026-02-10T12:00:01Z: stale", "at 2026-03-01 08:15:59.123+01:00: stale"),
        ("took 1.5s, budget 1s", "took 250ms, budget 1s"),
        (
            "/var/folders/x1/abc_def/T/tmpk3j_x9/f.txt missing",
            "/var/folders/zz/q/T/tmpA1b2/f.txt missing",
        ),
        ("cannot open tmpk3j_x9ab/db", "cannot open tmpzzzz1234/db"),
        ("  spaced\tout\n message ", "spaced out message"),
        (
            "cache key 9f86d081884c7d659a2feaa0c55ad015 missing",
            "cache key 0a1b2c3d4e5f6a7b missing",
        ),
    ],
)
def test_fingerprint_ignores_what_varies_between_runs(first: str, second: str) -> None:
    """Two failures that differ only in numbers, addresses, ids, times or temp paths match."""
    assert fingerprint(first) == fingerprint(second)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("left: 3 right: 4 at /tmp/abc123/x.rs:10", "left: <n> right: <n> at <tmp>/x.rs:<n>"),
        ("ptr 0xDEADbeef", "ptr <addr>"),
        ("slow: 12.5ms", "slow: <duration>"),
        ("test_3 in e2e_tui failed", "test_3 in e2e_tui failed"),
        ("", NO_FINGERPRINT),
        ("   \n ", NO_FINGERPRINT),
        ("C:\\Users\\ci\\AppData\\Local\\Temp\\abc12\\x.txt", "<tmp>\\x.txt"),
    ],
)
def test_fingerprint_placeholders(message: str, expected: str) -> None:
    """Placeholders name what was removed; identifiers with digits stay readable."""
    assert expected == fingerprint(message)


def test_fingerprint_keeps_different_assertions_apart() -> None:
    """Normalising values must not merge two different failures."""
    assert fingerprint("assertion `left == right` failed") != fingerprint("index out of bounds")


@given(st.text())
def test_fingerprint_never_crashes_and_is_stable(message: str) -> None:
    """Any text gives a short, non-empty fingerprint that fingerprints to itself."""
    once = fingerprint(message)
    assert (True, once) == (0 < len(once) <= 300, fingerprint(once))


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            [
                "test a ... FAILED",
                "---- a stdout ----",
                "thread 'a' panicked at src/lib.rs:1:2:",
                "assertion `left == right` failed",
                "  left: 1",
            ],
            "thread 'a' panicked at src/lib.rs:1:2: assertion `left == right` failed",
        ),
        (
            ["thread 'a' panicked at 'boom', src/lib.rs:1:2"],
            "thread 'a' panicked at 'boom', src/lib.rs:1:2",
        ),
        (
            ["collected 3 items", "E       assert 3 == 4", "E        +  where"],
            "E       assert 3 == 4",
        ),
        (
            ["=== RUN   TestX", "    x_test.go:12: want 3, got 4", "--- FAIL: TestX"],
            "x_test.go:12: want 3, got 4",
        ),
        (["compiling", "error: linker `cc` not found"], "error: linker `cc` not found"),
        (["running 1 test", "test a ... ok"], None),
        ([], None),
    ],
)
def test_first_failure_finds_the_assertion(lines: list[str], expected: str | None) -> None:
    """The assertion is preferred over a bare `FAILED`; a panic header takes its message."""
    assert expected == flakes.first_failure(lines)


@given(st.lists(st.text()))
def test_first_failure_never_crashes(lines: list[str]) -> None:
    """Arbitrary lines give a line of them (stripped, maybe joined) or None."""
    found = flakes.first_failure(lines)
    assert True is (found is None or isinstance(found, str))


@pytest.mark.parametrize(
    ("outcomes", "fingerprints", "min_runs", "expected"),
    [
        ("", "", MIN_RUNS, INCONCLUSIVE),
        ("P" * 10, "", MIN_RUNS, STABLE),
        ("P" * 9, "", MIN_RUNS, INCONCLUSIVE),
        ("P" * 5, "", 5, STABLE),
        ("F" * 10, "a" * 10, MIN_RUNS, BROKEN),
        ("F" * 10, "ab" * 5, MIN_RUNS, BROKEN),
        ("F" * 3, "aaa", MIN_RUNS, INCONCLUSIVE),
        ("PF", "a", MIN_RUNS, FLAKY),
        ("FP", "a", MIN_RUNS, FLAKY),
        ("P" * 99 + "F", "a", MIN_RUNS, FLAKY),
    ],
)
def test_verdict_table(
    outcomes: str, fingerprints: str, min_runs: int, expected: FlakeVerdictKind
) -> None:
    """Mixed is flaky at once; all-pass and all-fail need `min_runs` runs to be a verdict."""
    assert expected == verdict(_runs(outcomes, fingerprints), min_runs=min_runs).verdict


@pytest.mark.parametrize(
    ("outcomes", "fingerprints", "expected"),
    [
        ("", "", "no run finished"),
        ("PPF", "a", "2 of 3 runs passed and 1 failed"),
        ("P" * 10, "", "all 10 runs passed; failure rate below 27.8% with 95% confidence"),
        ("P" * 3, "", "all 3 runs passed, but a verdict needs at least 10 runs"),
        ("F" * 10, "a" * 10, "all 10 runs failed the same way"),
        ("F" * 10, "abc" * 3 + "a", "all 10 runs failed, in 3 different ways (see fingerprints)"),
    ],
)
def test_verdict_reason_says_why(outcomes: str, fingerprints: str, expected: str) -> None:
    """The reason is one readable sentence, and names several failure modes when there are."""
    assert expected == verdict(_runs(outcomes, fingerprints)).reason


def test_verdict_numbers() -> None:
    """Pass rate, interval, failure bound, fingerprints by count then text, logs by run number."""
    runs = (*reversed(_runs("PFFPFP", "bab")), FlakeRun(number=7, passed=False))
    expected = FlakeVerdict(
        verdict=FLAKY,
        reason="3 of 7 runs passed and 4 failed",
        runs=7,
        passed=3,
        failed=4,
        pass_rate=3 / 7,
        interval=wilson_interval(3, 7),
        failure_rate_upper_bound=1 - wilson_interval(3, 7)[0],
        fingerprints=(
            FingerprintCount(fingerprint="b", count=2, runs=(2, 5)),
            FingerprintCount(fingerprint=NO_FINGERPRINT, count=1, runs=(7,)),
            FingerprintCount(fingerprint="a", count=1, runs=(3,)),
        ),
        logs=tuple(f"attempt-{i}/output.log" for i in range(1, 7)),
    )
    assert expected == verdict(runs)


def test_all_pass_reports_the_failure_rate_bound() -> None:
    """For 100 passes the 95% bound on the failure rate is ~3.7% (rule of three: 3%)."""
    expected = 0.037
    assert expected == round(verdict(_runs("P" * 100)).failure_rate_upper_bound, 3)


def test_verdict_refuses_min_runs_below_one() -> None:
    """`min_runs=0` would make zero runs a stable pass."""
    with pytest.raises(ValueError, match="min_runs"):
        verdict((), min_runs=0)


@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["a", "b", None]))), st.integers(1, 20))
def test_verdict_never_crashes(outcomes: list[tuple[bool, str | None]], min_runs: int) -> None:
    """Any runs give counts that add up, a rate in [0, 1], and `flaky` exactly when mixed."""
    runs = [FlakeRun(number=i, passed=p, fingerprint=f) for i, (p, f) in enumerate(outcomes)]
    judged = verdict(runs, min_runs=min_runs)
    mixed = any(p for p, _ in outcomes) and not all(p for p, _ in outcomes)
    assert (judged.runs, True, mixed, judged.failed) == (
        judged.passed + judged.failed,
        0.0 <= judged.pass_rate <= 1.0,
        judged.verdict is FLAKY,
        sum(c.count for c in judged.fingerprints),
    )


@pytest.mark.parametrize(
    ("outcomes", "until_fail", "planned", "expected"),
    [
        ("", False, 10, False),
        ("PPP", False, 10, False),
        ("PPP", False, 3, True),
        ("FFF", False, 10, False),
        ("FFF", True, 10, True),
        ("PPF", False, 10, True),
        ("PPF", True, 10, True),
        ("F", True, 10, True),
        ("PPPP", True, 10, False),
        ("", False, 0, True),
    ],
)
def test_should_stop(outcomes: str, until_fail: bool, planned: int, expected: bool) -> None:
    """Stop when the plan is done, at the first failure with `until_fail`, or once flaky."""
    assert expected == should_stop(_runs(outcomes), until_fail=until_fail, planned=planned)


@given(st.lists(st.booleans(), max_size=30), st.booleans(), st.integers(0, 40))
def test_a_stopped_loop_stays_stopped(outcomes: list[bool], until_fail: bool, planned: int) -> None:
    """Once a loop may stop, one more run never makes it want to continue."""
    runs = _runs("".join("P" if o else "F" for o in outcomes))
    more = (*runs, FlakeRun(number=len(runs) + 1, passed=False))
    stopped = should_stop(runs, until_fail=until_fail, planned=planned)
    assert True is (not stopped or should_stop(more, until_fail=until_fail, planned=planned))


def _report() -> flakes.FlakeReport:
    classification = FlakeClassification(
        category="FLAKE-NET",
        confidence=1.0,
        evidence=("Connection refused",),
        reasons=("nothing listening on the port",),
    )
    return flakes.flake_report(
        "e2e_tui::resize",
        _runs("PFP", "x"),
        planned=10,
        classification=classification,
        quarantine_entry='[quarantine."e2e_tui::resize"]\n',
    )


def test_flake_report_document_shape() -> None:
    """`flake_report.json` starts with its schema and carries the verdict's numbers and logs."""
    document = flakes.flake_report_document(_report())
    expected = (
        ["schema", "target", "verdict", "reason", "runs", "planned", "passed", "failed"],
        flakes.FLAKE_REPORT_SCHEMA,
        "flaky",
        [0.2077, 0.9385],
        [{"fingerprint": "x", "count": 1, "runs": [2]}],
        "FLAKE-NET",
        ["attempt-1/output.log", "attempt-2/output.log", "attempt-3/output.log"],
        {
            "number": 2,
            "passed": False,
            "fingerprint": "x",
            "log": "attempt-2/output.log",
            "duration": 0.0,
        },
    )
    actual = (
        list(document)[:8],
        document["schema"],
        document["verdict"],
        [round(x, 4) for x in document["interval"]],
        document["fingerprints"],
        document["classification"]["category"],
        document["logs"],
        document["runs"][1],
    )
    assert expected == actual


def test_flake_report_round_trips_through_json() -> None:
    """A written report reads back into the same model through the strict converter."""
    report = _report()
    assert report == loads(
        dumps(flakes.flake_report_document(report)), flakes.FlakeReport, source="r.json"
    )
