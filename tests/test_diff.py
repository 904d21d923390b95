"""Tests for `_core.diff` and `replay diff`: classes, status, ranking, commands, semantics."""

from __future__ import annotations

import shlex
from pathlib import Path

import orjson
import pytest
from _support import make_summary, make_target, make_test
from hypothesis import given
from hypothesis import strategies as st

from replay._core.diff import (
    ClassCounts,
    DiffStatus,
    FailingAssertion,
    PendingDiagnostic,
    SectionCounts,
    SemanticDiff,
    Surface,
    TriageClass,
    TriageDiff,
    assemble,
    classify,
    diff_status,
    rank,
    triage_class,
    triage_diff,
    triage_status,
)
from replay._core.summary import summary_document
from replay._model import models
from replay._model.convert import unstructure
from replay._model.models import ChainState, TargetStatus, TestStatus, TriageStatus

P = TestStatus.PASSED
F = TestStatus.FAILED


def target(
    name: str,
    status: str = "passed",
    *,
    kind: str = "e2e",
    tests: tuple[models.TestResult, ...] = (),
    root_cause: str | None = None,
    adapter: str = "generic",
    decided_by: str = "cur",
    chain_state: ChainState | None = None,
) -> models.TargetResult:
    """A cargo target as a summary records it; outstanding unless it passed."""
    ok = TargetStatus(status).ok
    return make_target(
        name,
        status,
        kind=kind,
        adapter=adapter,
        argv=("cargo", "test", "--test", name, "--", "--nocapture"),
        chain_state=chain_state or (ChainState.PASSING if ok else ChainState.OUTSTANDING),
        decided_by=decided_by,
        exit_code=0 if ok else 101,
        tests=tests,
        root_cause=root_cause,
        log=f"{name}/output.log",
    )


def summary(*targets: models.TargetResult, run_id: str = "cur", **fields: object) -> models.Summary:
    """A summary of run `cur` holding `targets`, failed if any is outstanding."""
    return make_summary(*targets, run_id=run_id, started_at="2026-02-06T21:23:20Z", **fields)


def diff(
    baseline: models.Summary, current: models.Summary, current_path: str = "cur/summary.json"
) -> TriageDiff:
    """The triage diff with fixed paths and time."""
    return triage_diff(
        baseline,
        current,
        baseline_path="base/summary.json",
        current_path=current_path,
        generated_at="2026-02-07T00:00:00Z",
    )


def tr(name: str, status: TestStatus, attempt: int = 1, **fields: object) -> models.TestResult:
    """One test result."""
    return make_test(name, status, attempt=attempt, **fields)


@pytest.mark.parametrize(
    ("baseline_ok", "current_ok", "expected"),
    [
        (None, True, TriageClass.ADDED_PASS),
        (None, False, TriageClass.NEW_FAILURE),
        (True, None, TriageClass.REMOVED),
        (False, None, TriageClass.REMOVED),
        (True, False, TriageClass.REGRESSION),
        (False, True, TriageClass.FIXED),
        (False, False, TriageClass.UNRESOLVED_FAILURE),
        (True, True, TriageClass.STABLE_PASS),
    ],
)
def test_classify_is_upstreams_table(
    baseline_ok: bool | None, current_ok: bool | None, expected: TriageClass
) -> None:
    """Each (baseline, current) pair of pass/fail/absent maps to upstream's class."""
    assert expected == triage_class(baseline_ok, current_ok)


@pytest.mark.parametrize(
    ("baseline", "current", "expected"),
    [
        (None, "passed", TriageClass.ADDED_PASS),
        (None, "failed", TriageClass.NEW_FAILURE),
        ("passed", None, TriageClass.REMOVED),
        ("passed", "failed", TriageClass.REGRESSION),
        ("passed", "timed_out", TriageClass.REGRESSION),
        ("passed", "crashed", TriageClass.REGRESSION),
        ("passed", "not_run", TriageClass.REGRESSION),
        ("failed", "passed", TriageClass.FIXED),
        ("failed", "flaky", TriageClass.FIXED),
        ("timed_out", "failed", TriageClass.UNRESOLVED_FAILURE),
        ("passed", "passed", TriageClass.STABLE_PASS),
        ("skipped", "flaky", TriageClass.STABLE_PASS),
    ],
)
def test_target_classes(baseline: str | None, current: str | None, expected: TriageClass) -> None:
    """A target's class follows its status on each side (flaky and skipped count as passing)."""
    base = summary(*([target("s", baseline)] if baseline else []), run_id="base")
    cur = summary(*([target("s", current)] if current else []))
    [entry] = diff(base, cur).ranked_diagnostics
    assert (expected, expected.priority) == (entry.severity, entry.priority_score)


@pytest.mark.parametrize(
    ("classes", "expected"),
    [
        ([], DiffStatus.STABLE),
        ([TriageClass.STABLE_PASS, TriageClass.FIXED, TriageClass.REMOVED], DiffStatus.STABLE),
        ([TriageClass.ADDED_PASS], DiffStatus.STABLE),
        ([TriageClass.UNRESOLVED_FAILURE, TriageClass.FIXED], DiffStatus.KNOWN_FAILURES_ONLY),
        ([TriageClass.UNRESOLVED_FAILURE, TriageClass.REGRESSION], DiffStatus.REGRESSION),
        ([TriageClass.NEW_FAILURE], DiffStatus.REGRESSION),
        ([TriageClass.REGRESSION], DiffStatus.REGRESSION),
    ],
)
def test_status_rules(classes: list[TriageClass], expected: DiffStatus) -> None:
    """Regression if anything regressed or newly fails; else known failures; else stable."""
    assert expected == diff_status(classes)


@pytest.mark.parametrize(
    ("baseline", "current", "expected"),
    [
        ({"a": "passed"}, {"a": "passed"}, DiffStatus.STABLE),
        ({"a": "failed"}, {"a": "passed"}, DiffStatus.STABLE),
        ({"a": "failed"}, {}, DiffStatus.STABLE),
        ({"a": "failed"}, {"a": "failed"}, DiffStatus.KNOWN_FAILURES_ONLY),
        ({"a": "failed", "b": "passed"}, {"a": "failed", "b": "failed"}, DiffStatus.REGRESSION),
        ({"a": "failed"}, {"a": "failed", "b": "failed"}, DiffStatus.REGRESSION),
    ],
)
def test_status_of_whole_diffs(
    baseline: dict[str, str], current: dict[str, str], expected: DiffStatus
) -> None:
    """The diff's status applies the rules to every target."""
    base = summary(*(target(n, s) for n, s in baseline.items()), run_id="base")
    cur = summary(*(target(n, s) for n, s in current.items()))
    assert expected == diff(base, cur).status


def test_ranking_order() -> None:
    """Entries rank by priority, then surface (suite < test < unit), then name, from 1."""
    suites = {  # name: (baseline status, current status), None where the run lacks it
        "z_reg": ("passed", "failed"),
        "a_reg": ("passed", "failed"),
        "fixed": ("failed", "passed"),
        "gone": ("passed", None),
        "same": ("passed", "passed"),
        "new": (None, "failed"),
        "added": (None, "passed"),
    }
    base = summary(
        *(target(name, was) for name, (was, _) in suites.items() if was),
        target("u_reg", "passed", kind="unit"),
        target("still", "failed", tests=(tr("t1", F), tr("t2", P))),
        run_id="base",
    )
    cur = summary(
        *(target(name, now) for name, (_, now) in suites.items() if now),
        target("u_reg", "failed", kind="unit"),
        target("still", "failed", tests=(tr("t1", F), tr("t2", F))),
    )
    expected = [
        (1, "regression", "suite", "a_reg"),
        (2, "regression", "suite", "z_reg"),
        (3, "regression", "test", "still::t2"),
        (4, "regression", "unit", "u_reg"),
        (5, "new_failure", "suite", "new"),
        (6, "unresolved_failure", "suite", "still"),
        (7, "unresolved_failure", "test", "still::t1"),
        (8, "fixed", "suite", "fixed"),
        (9, "removed", "suite", "gone"),
        (10, "added_pass", "suite", "added"),
        (11, "stable_pass", "suite", "same"),
    ]
    actual = [
        (d.rank, d.severity.value, d.surface.value, d.name)
        for d in diff(base, cur).ranked_diagnostics
    ]
    assert expected == actual


@pytest.mark.parametrize(
    ("baseline_tests", "current_tests", "expected"),
    [
        ((tr("a", P),), (tr("a", F),), {"s::a": "regression"}),
        ((tr("a", F),), (tr("a", P),), {"s::a": "fixed"}),
        ((tr("a", F),), (tr("a", F),), {"s::a": "unresolved_failure"}),
        ((tr("a", P),), (tr("a", P), tr("b", F)), {"s::b": "new_failure"}),
        ((tr("a", P),), (tr("a", P), tr("b", P)), {"s::b": "added_pass"}),
        ((tr("a", P), tr("b", P)), (tr("a", P),), {"s::b": "removed"}),
        # The last attempt decides: failed then passed is a pass.
        ((tr("a", P),), (tr("a", F, 1), tr("a", P, 2)), {}),
        ((tr("a", P),), (tr("a", P, 1), tr("a", F, 2)), {"s::a": "regression"}),
        # A skipped test is not a failure.
        ((tr("a", F),), (tr("a", TestStatus.SKIPPED),), {"s::a": "fixed"}),
    ],
)
def test_test_level_classes(
    baseline_tests: tuple[models.TestResult, ...],
    current_tests: tuple[models.TestResult, ...],
    expected: dict[str, str],
) -> None:
    """Tests are compared by `suite::test` with the same classes; stable passes are not listed."""
    base = summary(target("s", "failed", tests=baseline_tests), run_id="base")
    cur = summary(target("s", "failed", tests=current_tests))
    entries = [d for d in diff(base, cur).ranked_diagnostics if d.surface is Surface.TEST]
    assert expected == {d.name: d.severity.value for d in entries}


def test_test_level_counts_include_stable_passes() -> None:
    """Stable passing tests are counted though not listed."""
    tests = tuple(tr(f"t{i}", P) for i in range(5))
    base = summary(target("s", "passed", tests=tests), run_id="base")
    cur = summary(target("s", "passed", tests=(*tests[:4], tr("t4", F))))
    counts = diff(base, cur).tests
    expected = (5, 5, 4, 1)
    assert expected == (
        counts.baseline_total,
        counts.current_total,
        counts.counts.stable_pass,
        counts.counts.regression,
    )


def test_new_suite_lists_its_tests() -> None:
    """A suite absent from the baseline brings its tests as new failures and added passes."""
    base = summary(run_id="base")
    cur = summary(target("s", "failed", tests=(tr("a", P), tr("b", F))))
    expected = {"s": "new_failure", "s::a": "added_pass", "s::b": "new_failure"}
    assert expected == {d.name: d.severity.value for d in diff(base, cur).ranked_diagnostics}


def test_upstream_baseline_without_tests() -> None:
    """An upstream summary (no per-test results) on one side: targets compared, tests not."""
    upstream = summary(
        target("e2e_rpc", "failed", adapter="cargo", decided_by="20260206T212320Z"),
        target("e2e_tui", "passed", adapter="cargo", decided_by="20260206T212320Z"),
        target("lib", "passed", kind="unit", adapter="cargo", decided_by="20260206T212320Z"),
        run_id="20260206T212320Z",
    )
    cur = summary(
        target("e2e_rpc", "failed", tests=(tr("rpc_a", F), tr("rpc_b", P))),
        target("e2e_tui", "failed", tests=(tr("tui_a", F),)),
        target("lib", "passed", kind="unit"),
    )
    result = diff(upstream, cur)
    expected = [
        ("regression", "suite", "e2e_tui"),
        ("unresolved_failure", "suite", "e2e_rpc"),
        ("stable_pass", "unit", "lib"),
    ]
    actual = [(d.severity.value, d.surface.value, d.name) for d in result.ranked_diagnostics]
    assert (expected, DiffStatus.REGRESSION) == (actual, result.status)


def test_upstream_current_without_tests() -> None:
    """An upstream summary as current: a baseline's tests are not "removed"."""
    base = summary(target("s", "failed", tests=(tr("a", F),)), run_id="base")
    cur = summary(target("s", "failed", adapter="cargo"))
    expected = [("unresolved_failure", "s")]
    assert expected == [(d.severity.value, d.name) for d in diff(base, cur).ranked_diagnostics]


def test_rerun_summary_as_current() -> None:
    """A rerun summary (carried targets, parent run) diffs against the run it was rerun from."""
    base = summary(
        target("a", "failed", decided_by="run1"),
        target("b", "failed", decided_by="run1"),
        target("c", "passed", decided_by="run1"),
        run_id="run1",
    )
    rerun = summary(
        target("a", "passed", decided_by="run2"),
        target("b", "failed", decided_by="run2"),
        target("c", "passed", decided_by="run1"),
        run_id="run2",
        parent_run_id="run1",
        rerun_from="run1/summary.json",
    )
    result = diff(base, rerun, current_path="run2/summary.json")
    expected = (
        DiffStatus.KNOWN_FAILURES_ONLY,
        {"a": "fixed", "b": "unresolved_failure", "c": "stable_pass"},
        "python -m replay --rerun-from run2/summary.json",
    )
    actual = (
        result.status,
        {d.name: d.severity.value for d in result.ranked_diagnostics},
        result.recommended_commands.runner_repro_command,
    )
    assert expected == actual


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        # Outstanding == failing: the chain command, no config needed.
        (
            summary(target("a", "failed"), target("b", "passed")),
            "python -m replay --rerun-from 'cur dir/summary.json'",
        ),
        # Nothing fails: nothing to rerun (upstream's empty string).
        (summary(target("a", "passed")), ""),
        # More outstanding than failing: the rerun, filtered to the failing targets.
        (
            summary(
                target("a", "failed"),
                target("q", "passed", chain_state=ChainState.OUTSTANDING),
            ),
            "python -m replay run --rerun-from 'cur dir/summary.json' --suite a",
        ),
        # A failing target the chain does not owe: run it from the config.
        (
            summary(target("a", "failed", chain_state=ChainState.PASSING), target("b", "failed")),
            "python -m replay run --suite a --suite b",
        ),
    ],
)
def test_runner_repro_command(current: models.Summary, expected: str) -> None:
    """One replay command reruns every failing target, by the chain when it can."""
    base = summary(target("a", "passed"), target("b", "passed"), run_id="base")
    result = diff(base, current, current_path="cur dir/summary.json")
    assert expected == result.recommended_commands.runner_repro_command


def test_ranked_repro_commands_are_failing_and_deduplicated() -> None:
    """Commands of failing entries, in rank order, each once; hostile names stay quoted."""
    base = summary(target("a; rm -rf /", "passed"), target("b", "failed"), run_id="base")
    cur = summary(
        target("a; rm -rf /", "failed"),
        target("b", "failed", tests=(tr("x", F),)),
        target("c", "passed"),
    )
    result = diff(base, cur)
    expected = (
        "cargo test --test 'a; rm -rf /' -- --nocapture",
        "cargo test --test b -- --nocapture",
    )
    assert expected == result.recommended_commands.ranked_repro_commands


def test_target_commands_name_surface_and_target() -> None:
    """`target_commands` maps `surface:name` of each failing entry to its command."""
    base = summary(target("lib", "passed", kind="unit"), run_id="base")
    cur = summary(target("lib", "failed", kind="unit"))
    expected = {"unit:lib": "cargo test --test lib -- --nocapture"}
    assert expected == diff(base, cur).recommended_commands.target_commands


def test_test_entry_command_falls_back_to_the_suite() -> None:
    """Without an adapter that targets single tests, a test's command is its suite's."""
    base = summary(target("s", "passed", adapter="no-such-adapter"), run_id="base")
    cur = summary(target("s", "failed", adapter="no-such-adapter", tests=(tr("x", F),)))
    entries = diff(base, cur).ranked_diagnostics
    assert {shlex.join(cur.targets[0].argv)} == {d.recommended_command for d in entries}


def test_test_entry_command_is_targeted_when_the_adapter_can() -> None:
    """With an adapter that targets single tests, a test's command runs just that test."""
    cur = summary(target("s", "failed", adapter="cargo", tests=(tr("x", F),)))
    [entry] = [d for d in diff(summary(run_id="base"), cur).ranked_diagnostics if d.test]
    expected = "cargo test --test s -- --nocapture --exact x"
    assert (expected, ("cargo", "test", "--test", "s", "--", "--nocapture", "--exact", "x")) == (
        entry.recommended_command,
        entry.argv,
    )


def _both_failing(
    base_target: models.TargetResult, cur_target: models.TargetResult
) -> tuple[object, ...]:
    [sem] = diff(summary(base_target, run_id="base"), summary(cur_target)).semantic_diffs
    return (
        sem.changed,
        sem.root_cause_changed,
        sem.impacted_tests_changed,
        sem.first_failing_assertion_changed,
    )


@pytest.mark.parametrize(
    ("base_target", "cur_target", "expected"),
    [
        (
            target("s", "failed", root_cause="panic", tests=(tr("a", F, message="x"),)),
            target("s", "failed", root_cause="panic", tests=(tr("a", F, message="x"),)),
            (False, False, False, False),
        ),
        (
            target("s", "failed", root_cause="panic"),
            target("s", "failed", root_cause="timeout"),
            (True, True, None, None),
        ),
        (
            target("s", "failed"),
            target("s", "failed", root_cause="timeout"),
            (False, None, None, None),
        ),
        (
            target("s", "failed", tests=(tr("a", F), tr("b", P))),
            target("s", "failed", tests=(tr("a", F), tr("b", F))),
            (True, None, True, False),
        ),
        (
            target("s", "failed", tests=(tr("a", F, file="x.rs", line=3),)),
            target("s", "failed", tests=(tr("a", F, file="x.rs", line=9),)),
            (True, None, False, True),
        ),
        (
            target("s", "failed", tests=(tr("a", F, message="left == right"),)),
            target("s", "failed", tests=(tr("a", F, message="index out of bounds"),)),
            (True, None, False, True),
        ),
    ],
)
def test_semantic_diffs(
    base_target: models.TargetResult, cur_target: models.TargetResult, expected: tuple[object, ...]
) -> None:
    """For a target failing in both runs: root cause, impacted tests, first assertion changed?"""
    assert expected == _both_failing(base_target, cur_target)


def test_semantic_diff_records_both_sides() -> None:
    """A semantic diff carries what each side saw, for the operator to compare."""
    base = target("s", "failed", tests=(tr("b", P), tr("a", F, message="m", file="f", line=1)))
    cur = target("s", "failed", tests=(tr("c", F), tr("a", F, message="m", file="f", line=1)))
    expected = SemanticDiff(
        surface=Surface.SUITE,
        name="s",
        changed=True,
        root_cause_changed=None,
        baseline_root_cause=None,
        current_root_cause=None,
        impacted_tests_changed=True,
        baseline_impacted_tests=("a",),
        current_impacted_tests=("a", "c"),
        first_failing_assertion_changed=True,
        baseline_first_failing_assertion=FailingAssertion(test="a", message="m", file="f", line=1),
        current_first_failing_assertion=FailingAssertion(test="c"),
    )
    assert (expected,) == diff(summary(base, run_id="base"), summary(cur)).semantic_diffs


def test_summary_counts_and_triage_status() -> None:
    """Counts add up over surfaces; the summary's short form carries them."""
    base = summary(
        target("a", "passed"),
        target("b", "failed"),
        target("c", "failed", tests=(tr("x", P),)),
        target("u", "passed", kind="unit"),
        run_id="base",
    )
    cur = summary(
        target("a", "failed"),
        target("b", "passed"),
        target("c", "failed", tests=(tr("x", F),)),
        target("u", "failed", kind="unit"),
        target("n", "failed"),
    )
    result = diff(base, cur)
    s = result.summary
    expected_counts = (3, 1, 1, 1, 1, 1, 1)
    actual_counts = (
        s.regression_count,
        s.new_failure_count,
        s.unresolved_failure_count,
        s.fixed_count,
        s.unit_regression_count,
        s.suite_regression_count,
        s.test_regression_count,
    )
    expected_status = TriageStatus(
        status="regression",
        regression_count=3,
        new_failure_count=1,
        fixed_count=1,
        unresolved_count=1,
        path="out/triage_diff.json",
    )
    assert (expected_counts, expected_status) == (
        actual_counts,
        triage_status(result, "out/triage_diff.json"),
    )


def test_document_has_upstreams_fields() -> None:
    """The JSON document carries upstream's schema, status, summary, ranking and commands."""
    base = summary(target("a", "passed"), run_id="base")
    doc = unstructure(diff(base, summary(target("a", "failed"))))
    expected = {
        "schema": "pi.e2e.triage_diff.v1",
        "status": "regression",
        "regression_count": 1,
        "severity": "regression",
        "priority_score": 100,
        "rank": 1,
        "runner_repro_command": "python -m replay --rerun-from cur/summary.json",
        "ranked_repro_commands": ("cargo test --test a -- --nocapture",),
    }
    entry = doc["ranked_diagnostics"][0]
    commands = doc["recommended_commands"]
    actual = {
        "schema": doc["schema"],
        "status": doc["status"],
        "regression_count": doc["summary"]["regression_count"],
        "severity": entry["severity"],
        "priority_score": entry["priority_score"],
        "rank": entry["rank"],
        "runner_repro_command": commands["runner_repro_command"],
        "ranked_repro_commands": tuple(commands["ranked_repro_commands"]),
    }
    assert expected == actual


statuses = st.sampled_from(list(TargetStatus))
test_lists = st.lists(
    st.builds(
        models.TestResult,
        name=st.sampled_from(["t1", "t2", "t3"]),
        status=st.sampled_from(list(TestStatus)),
        attempt=st.integers(1, 3),
    ),
    max_size=5,
).map(tuple)
sides = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d"]),
    st.tuples(statuses, st.sampled_from(["e2e", "unit"]), test_lists),
    max_size=4,
)


def _side(
    spec: dict[str, tuple[TargetStatus, str, tuple[models.TestResult, ...]]],
) -> models.Summary:
    return summary(*(target(n, s.value, kind=k, tests=t) for n, (s, k, t) in spec.items()))


@given(baseline=sides, current=sides)
def test_diff_invariants(
    baseline: dict[str, tuple[TargetStatus, str, tuple[models.TestResult, ...]]],
    current: dict[str, tuple[TargetStatus, str, tuple[models.TestResult, ...]]],
) -> None:
    """Any pair of summaries: every target ranked once, ranks 1..n, status matches the counts."""
    result = diff(_side(baseline), _side(current))
    targets = [d.name for d in result.ranked_diagnostics if d.surface is not Surface.TEST]
    s = result.summary
    if s.regression_count or s.new_failure_count:
        expected_status = DiffStatus.REGRESSION
    elif s.unresolved_failure_count:
        expected_status = DiffStatus.KNOWN_FAILURES_ONLY
    else:
        expected_status = DiffStatus.STABLE
    expected = (
        sorted(baseline.keys() | current.keys()),
        list(range(1, len(result.ranked_diagnostics) + 1)),
        expected_status,
    )
    actual = (sorted(targets), [d.rank for d in result.ranked_diagnostics], result.status)
    assert expected == actual


# --- the three stages: classify, rank, assemble -------------------------------------


def _counts(**counts: int) -> ClassCounts:
    return ClassCounts(**counts)


@pytest.mark.parametrize(
    ("baseline", "current", "expected_pending", "expected_sections"),
    [
        (
            summary(run_id="base"),
            summary(),
            [],
            {s: SectionCounts(0, 0, _counts()) for s in Surface},
        ),
        (
            summary(target("a"), target("u", kind="unit"), run_id="base"),
            summary(target("a", "failed"), target("u", kind="unit")),
            [("suite", "a", "regression"), ("unit", "u", "stable_pass")],
            {
                Surface.SUITE: SectionCounts(1, 1, _counts(regression=1)),
                Surface.TEST: SectionCounts(0, 0, _counts()),
                Surface.UNIT: SectionCounts(1, 1, _counts(stable_pass=1)),
            },
        ),
        # Tests compared: the stable pass is counted, not listed.
        (
            summary(target("s", "failed", tests=(tr("a", P), tr("b", F))), run_id="base"),
            summary(target("s", "failed", tests=(tr("a", P), tr("b", F), tr("c", F)))),
            [
                ("suite", "s", "unresolved_failure"),
                ("test", "s::b", "unresolved_failure"),
                ("test", "s::c", "new_failure"),
            ],
            {
                Surface.SUITE: SectionCounts(1, 1, _counts(unresolved_failure=1)),
                Surface.TEST: SectionCounts(
                    2, 3, _counts(unresolved_failure=1, new_failure=1, stable_pass=1)
                ),
                Surface.UNIT: SectionCounts(0, 0, _counts()),
            },
        ),
        # A side that ran the target without per-test results: tests totalled, not compared.
        (
            summary(target("s", "passed", tests=(tr("a", P),)), run_id="base"),
            summary(target("s", "passed")),
            [("suite", "s", "stable_pass")],
            {
                Surface.SUITE: SectionCounts(1, 1, _counts(stable_pass=1)),
                Surface.TEST: SectionCounts(1, 0, _counts()),
                Surface.UNIT: SectionCounts(0, 0, _counts()),
            },
        ),
        # A removed suite takes its tests with it.
        (
            summary(target("s", "failed", tests=(tr("a", F),)), run_id="base"),
            summary(),
            [("suite", "s", "removed"), ("test", "s::a", "removed")],
            {
                Surface.SUITE: SectionCounts(1, 0, _counts(removed=1)),
                Surface.TEST: SectionCounts(1, 0, _counts(removed=1)),
                Surface.UNIT: SectionCounts(0, 0, _counts()),
            },
        ),
    ],
)
def test_classify_table(
    baseline: models.Summary,
    current: models.Summary,
    expected_pending: list[tuple[str, str, str]],
    expected_sections: dict[Surface, SectionCounts],
) -> None:
    """`classify` lists each target and each non-stable test, and counts every one per surface."""
    result = classify(baseline, current)
    actual = [(p.surface.value, p.name, p.severity.value) for p in result.pending]
    assert (expected_pending, expected_sections) == (actual, result.sections)


def test_classify_keeps_semantic_diffs_of_unresolved_targets() -> None:
    """Only a target failing on both sides gets a semantic diff, in name order."""
    base = summary(target("b", "failed"), target("a", "failed"), target("c"), run_id="base")
    cur = summary(target("b", "failed"), target("a", "failed"), target("c", "failed"))
    assert ["a", "b"] == [sem.name for sem in classify(base, cur).semantics]


def _pending(severity: TriageClass, surface: Surface, name: str) -> PendingDiagnostic:
    either = target(name.split("::", maxsplit=1)[0])
    return PendingDiagnostic(
        severity=severity,
        surface=surface,
        name=name,
        suite=either.name,
        test=name.split("::")[1] if "::" in name else None,
        either=either,
        baseline=None,
        current=either,
        baseline_status=None,
        current_status="passed",
        argv=either.argv,
    )


@pytest.mark.parametrize(
    ("pending", "expected"),
    [
        ([], []),
        (
            [
                (TriageClass.STABLE_PASS, Surface.SUITE, "a"),
                (TriageClass.REGRESSION, Surface.UNIT, "a"),
                (TriageClass.REGRESSION, Surface.TEST, "a::t"),
                (TriageClass.REGRESSION, Surface.SUITE, "b"),
                (TriageClass.REGRESSION, Surface.SUITE, "a"),
            ],
            [
                (1, "regression", "suite", "a"),
                (2, "regression", "suite", "b"),
                (3, "regression", "test", "a::t"),
                (4, "regression", "unit", "a"),
                (5, "stable_pass", "suite", "a"),
            ],
        ),
        (
            [(c, Surface.SUITE, c.value) for c in TriageClass],
            [(i, c.value, "suite", c.value) for i, c in enumerate(TriageClass, start=1)],
        ),
        (
            [(c, Surface.SUITE, c.value) for c in reversed(TriageClass)],
            [(i, c.value, "suite", c.value) for i, c in enumerate(TriageClass, start=1)],
        ),
    ],
)
def test_rank_table(
    pending: list[tuple[TriageClass, Surface, str]], expected: list[tuple[int, str, str, str]]
) -> None:
    """`rank` orders by priority, surface, then name, whatever the input order; ranks from 1."""
    ranked = rank(_pending(*p) for p in pending)
    assert expected == [(d.rank, d.severity.value, d.surface.value, d.name) for d in ranked]


def test_rank_carries_priority_and_command() -> None:
    """A ranked entry carries its class's priority and the shell-quoted command of its argv."""
    [entry] = rank([_pending(TriageClass.NEW_FAILURE, Surface.SUITE, "a; b")])
    expected = (90, "cargo test --test 'a; b' -- --nocapture")
    assert expected == (entry.priority_score, entry.recommended_command)


@pytest.mark.parametrize(
    ("baseline", "current", "expected"),
    [
        (
            summary(target("a"), run_id="base"),
            summary(target("a")),
            ("stable", (), (), (), "", ()),
        ),
        (
            summary(target("a"), target("s", "failed", tests=(tr("x", F),)), run_id="base"),
            summary(
                target("a", "failed"),
                target("s", "failed", tests=(tr("x", F),)),
                target("u", "failed", kind="unit"),
            ),
            (
                "regression",
                ("u",),
                ("a", "s"),
                ("s::x",),
                "python -m replay --rerun-from cur/summary.json",
                ("a", "u", "s", "s::x"),
            ),
        ),
        (
            summary(target("a", "failed"), run_id="base"),
            summary(target("a", "failed")),
            (
                "known_failures_only",
                (),
                ("a",),
                (),
                "python -m replay --rerun-from cur/summary.json",
                ("a",),
            ),
        ),
    ],
)
def test_assemble_table(
    baseline: models.Summary, current: models.Summary, expected: tuple[object, ...]
) -> None:
    """`assemble` takes status, focus and commands from the classes and the ranking."""
    classification = classify(baseline, current)
    ranked = rank(classification.pending)
    result = assemble(
        baseline,
        current,
        classification,
        ranked,
        baseline_path="base/summary.json",
        current_path="cur/summary.json",
        generated_at="2026-02-07T00:00:00Z",
    )
    commands = result.recommended_commands
    actual = (
        result.status.value,
        result.focus.unit_targets,
        result.focus.suites,
        result.focus.tests,
        commands.runner_repro_command,
        tuple(name.split(":", 1)[1] for name in commands.target_commands),
    )
    assert expected == actual


def test_assemble_sums_every_surface() -> None:
    """The summary block adds the surfaces' counts; the sections are classify's."""
    base = summary(target("a"), target("s", "passed", tests=(tr("x", P),)), run_id="base")
    cur = summary(target("a", "failed"), target("s", "passed", tests=(tr("x", F),)))
    classification = classify(base, cur)
    result = assemble(
        base,
        cur,
        classification,
        rank(classification.pending),
        baseline_path="b",
        current_path="c",
        generated_at="g",
    )
    expected = (2, 1, 1, 1, classification.sections[Surface.TEST])
    actual = (
        result.summary.regression_count,
        result.summary.suite_regression_count,
        result.summary.test_regression_count,
        result.summary.stable_pass_count,
        result.tests,
    )
    assert expected == actual


# --- the CLI ------------------------------------------------------------------------


def _write(path: Path, value: models.Summary) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(summary_document(value)))
    return path


@pytest.mark.parametrize(
    ("current_status", "expected_code", "expected_status"),
    [
        ("failed", 1, "regression"),
        ("passed", 0, "stable"),
    ],
)
def test_cli_writes_triage_diff_and_exits_on_regression(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    current_status: str,
    expected_code: int,
    expected_status: str,
) -> None:
    """`replay diff` writes triage_diff.json into --out and exits 1 only on a regression."""
    from replay._cli import main

    base = _write(tmp_path / "base" / "summary.json", summary(target("a"), run_id="base"))
    cur = _write(tmp_path / "cur" / "summary.json", summary(target("a", current_status)))
    out = tmp_path / "out"
    code = main(["diff", str(base), str(cur), "--out", str(out)])
    written = orjson.loads((out / "triage_diff.json").read_bytes())
    printed = capsys.readouterr().out
    assert (expected_code, expected_status, True) == (
        code,
        written["status"],
        f"triage: {expected_status}" in printed,
    )


def test_cli_json_prints_the_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`replay diff --json` prints the document it writes; --out defaults to the cwd."""
    from replay._cli import main

    base = _write(tmp_path / "base.json", summary(target("a", "failed"), run_id="base"))
    cur = _write(tmp_path / "cur.json", summary(target("a", "failed")))
    monkeypatch.chdir(tmp_path)
    code = main(["diff", str(base), str(cur), "--json"])
    printed = orjson.loads(capsys.readouterr().out)
    written = orjson.loads((tmp_path / "triage_diff.json").read_bytes())
    assert (0, "known_failures_only", written) == (code, printed["status"], printed)


def test_cli_bad_input_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed summary is exit 2 with the file named, and nothing written."""
    from replay._cli import main

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    good = _write(tmp_path / "good.json", summary(target("a")))
    code = main(["diff", str(bad), str(good), "--out", str(tmp_path / "out")])
    expected = (2, True, False)
    assert expected == (
        code,
        str(bad) in capsys.readouterr().err,
        (tmp_path / "out" / "triage_diff.json").exists(),
    )
