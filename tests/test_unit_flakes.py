"""The flake statistics' edges (`_core.flakes`), beside test_flakes.py and the divergence tests.

Each test pins a rule `scripts/mutation.py flakes` showed unchecked: exact interval ends,
`runs_needed` on an exact bound, a panic header on the last line, reasons, report fields.
"""

from __future__ import annotations

from replay._core.flakes import (
    Divergence,
    FlakeRun,
    first_failure,
    flake_report,
    runs_needed,
    verdict,
    wilson_interval,
)


def test_no_success_has_a_lower_bound_of_exactly_zero() -> None:
    """At 0 successes the bound is 0.0, not the float error of centre - half (n = 3)."""
    assert all(0.0 == wilson_interval(0, n)[0] for n in range(1, 50))


def test_runs_needed_on_an_exact_bound_is_not_one_more() -> None:
    """z = 1, rate 1/2: z²(1 - r)/r is exactly 1 run."""
    assert 1 == runs_needed(0.5, z=1.0)
    assert 4 == runs_needed(0.2, z=1.0)


def test_a_panic_header_on_the_last_line_stands_alone() -> None:
    header = "thread 'x' panicked at src/a.rs:1:2:"
    assert header == first_failure([header])
    assert f"{header} boom" == first_failure([header, "  boom  "])
    assert f"{header} boom" == first_failure(["test x ... FAILED", header, "boom", "more"])


def runs(outcomes: str) -> list[FlakeRun]:
    return [
        FlakeRun(number=i, passed=c == "P", fingerprint=None if c == "P" else "f")
        for i, c in enumerate(outcomes, start=1)
    ]


def test_too_few_runs_say_how_they_ended() -> None:
    assert "all 3 runs failed, but a verdict needs at least 10 runs" == verdict(runs("FFF")).reason
    assert "all 2 runs passed, but a verdict needs at least 4 runs" == (
        verdict(runs("PP"), min_runs=4).reason
    )


def test_no_run_has_a_pass_rate_of_zero() -> None:
    judged = verdict([])
    assert (0.0, 0, "no run finished") == (judged.pass_rate, judged.runs, judged.reason)


def test_flake_report_keeps_what_it_was_given() -> None:
    found = Divergence(
        passing_runs=1, failing_runs=1, first_line="x", line_number=2, first_line_runs=1
    )
    report = flake_report(
        "t",
        runs("FF")[::-1],
        planned=5,
        min_runs=2,
        quarantine_entry="[quarantine.t]",
        divergence=found,
    )
    assert "deterministic_failure" == report.verdict.value
    assert (1, 2) == tuple(r.number for r in report.runs)
    assert ("[quarantine.t]", found, 5) == (
        report.quarantine_entry,
        report.divergence,
        report.planned,
    )
    assert "inconclusive" == flake_report("t", runs("FF"), planned=5).verdict.value
