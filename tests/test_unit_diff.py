"""The triage diff's edges (`_core.diff`), beside the behaviour tests of test_diff.py.

Each test pins a rule `scripts/mutation.py diff` showed unchecked: the class of a name on
neither side, duplicate records, equal attempts, what a ranked diagnostic carries, and the
runner command's `--config`.
"""

from __future__ import annotations

import attrs
import pytest
from _support import make_summary, make_target, make_test

from replay._core import diff
from replay._core.diff import (
    PendingDiagnostic,
    Surface,
    TriageClass,
    final_tests,
    triage_class,
)
from replay._model.models import TargetStatus, TestStatus


def test_a_name_on_neither_side_has_no_class() -> None:
    with pytest.raises(ValueError, match=r"^a name absent on both sides has no class$"):
        triage_class(None, None)


def test_a_duplicate_name_is_spoken_for_by_its_failing_record() -> None:
    passed = make_target("a", TargetStatus.PASSED, log="p.log")
    failed = make_target("a", TargetStatus.FAILED, log="f.log")
    other = make_target("a", TargetStatus.CRASHED, log="c.log")
    assert "f.log" == diff._index(make_summary(passed, failed, other))["a"].log
    assert "f.log" == diff._index(make_summary(failed, passed))["a"].log
    assert "p.log" == diff._index(make_summary(passed, attrs.evolve(passed, log="q")))["a"].log


def test_final_tests_take_the_later_record_of_an_equal_attempt() -> None:
    target = make_target(
        "a",
        tests=(
            make_test("t", TestStatus.FAILED, attempt=2),
            make_test("t", TestStatus.PASSED, attempt=2),
            make_test("u", TestStatus.PASSED, attempt=2),
            make_test("u", TestStatus.FAILED, attempt=1),
        ),
    )
    final = final_tests(target)
    assert {"t": TestStatus.PASSED, "u": TestStatus.PASSED} == {
        n: r.status for n, r in final.items()
    }


def _pending(test: str | None) -> PendingDiagnostic:
    base = make_target("s", TargetStatus.PASSED, kind="unit", exit_code=0, log="b.log")
    cur = make_target(
        "s", TargetStatus.FAILED, kind="unit", exit_code=3, log="c.log", root_cause="boom"
    )
    return PendingDiagnostic(
        severity=TriageClass.REGRESSION,
        surface=Surface.UNIT,
        name="s" if test is None else f"s::{test}",
        suite="s",
        test=test,
        either=cur,
        baseline=base,
        current=cur,
        baseline_status="passed",
        current_status="failed",
        argv=("pytest", "x y"),
    )


def test_a_ranked_diagnostic_carries_both_sides() -> None:
    ranked = _pending(None).ranked(4)
    assert (4, "unit", "passed", "failed") == (
        ranked.rank,
        ranked.kind,
        ranked.baseline_status,
        ranked.current_status,
    )
    assert (0, 3, "b.log", "c.log") == (
        ranked.baseline_exit_code,
        ranked.current_exit_code,
        ranked.baseline_log_file,
        ranked.current_log_file,
    )
    assert "boom" == ranked.root_cause
    assert "pytest 'x y'" == ranked.recommended_command
    assert _pending("t").ranked(1).root_cause is None
    one_sided = attrs.evolve(_pending(None), baseline=None, current=None).ranked(1)
    assert (None, None, None, None) == (
        one_sided.baseline_exit_code,
        one_sided.current_exit_code,
        one_sided.baseline_log_file,
        one_sided.current_log_file,
    )


def test_runner_command_keeps_the_config() -> None:
    failed = make_target("a", TargetStatus.FAILED)
    other = make_target("b", TargetStatus.FAILED)
    current = make_summary(failed, other, config="ci/replay.toml")
    assert "python -m replay --rerun-from cur.json --config ci/replay.toml" == (
        diff._runner_command({"a", "b"}, current, "cur.json")
    )
    assert (
        "python -m replay run --rerun-from cur.json --suite a --config ci/replay.toml"
        == diff._runner_command({"a"}, current, "cur.json")
    )
    assert "python -m replay run --suite a --suite z --config ci/replay.toml" == (
        diff._runner_command({"a", "z"}, current, "cur.json")
    )
    assert "" == diff._runner_command(set(), current, "cur.json")
