"""The shard core's edges (`_core.shards`), beside the properties of test_shards.py.

Each test pins a rule `scripts/mutation.py shards` showed unchecked: boundaries, messages,
Kubernetes indexes, which kind a shard spreads, durations passed through.
"""

from __future__ import annotations

import pytest
from _support import make_summary, make_target

from replay._core.shards import (
    KUBERNETES_INDEX,
    assign_shards,
    check_shard,
    durations_from,
    interpolated_percentile,
    shard_from_env,
    shard_items,
    shard_plan,
    stable_hash,
    weights,
)
from replay._model.errors import ReplayError
from replay._model.models import MAX_SECONDS, MAX_SHARDS, Job, Plan, Shard, TargetStatus


@pytest.mark.parametrize(
    ("index", "total", "message"),
    [
        (0, 1.5, "shard total must be a whole number >= 1, got 1.5; use --shard-total N"),
        (0, True, "shard total must be a whole number >= 1, got True; use --shard-total N"),
        (0, MAX_SHARDS + 1, f"shard total must be at most {MAX_SHARDS}, got {MAX_SHARDS + 1}"),
        (
            1.0,
            3,
            "shard index 1.0 is out of range for 3 shard(s): expected 0 to 2 (indexes count "
            "from 0; for GitLab's 1-based CI_NODE_INDEX use --shard auto)",
        ),
        (False, 3, "shard index False is out of range"),
    ],
)
def test_check_shard_refuses_with_the_fix(index: object, total: object, message: str) -> None:
    with pytest.raises(ReplayError) as caught:
        check_shard(index, total)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_check_shard_accepts_the_largest_total() -> None:
    check_shard(MAX_SHARDS - 1, MAX_SHARDS)
    assert (("a",),) + ((),) * (MAX_SHARDS - 1) == assign_shards(["a"], MAX_SHARDS)


def test_durations_of_zero_and_of_a_year_are_usable() -> None:
    """0 s and exactly `MAX_SECONDS` are known durations; the mean of 0.0 and 0.5 is 0.25."""
    got = weights(["a", "b", "c", "d"], {"a": 0.0, "b": 0.5, "c": MAX_SECONDS})
    assert {"a": 0.0, "b": 0.5, "c": MAX_SECONDS, "d": (0.5 + MAX_SECONDS) / 3} == got


def test_stable_hash_is_sha256_big_endian_and_takes_lone_surrogates() -> None:
    assert 0xE3B0C44298FC1C14 == stable_hash("")
    assert isinstance(stable_hash("\ud800"), int)
    assert stable_hash("\ud800") != stable_hash("\ud801")


def test_duration_shards_take_the_longest_first() -> None:
    durations = {"a": 1.0, "b": 5.0, "c": 2.0}
    assert (("b",), ("c", "a")) == assign_shards(["a", "b", "c"], 2, "duration", durations)
    assert ("c", "a") == shard_items(["a", "b", "c"], 1, 2, "duration", durations)


def test_percentile_interpolates_within_its_two_ranks() -> None:
    assert 15.0 == interpolated_percentile([100.0, 0.0, 20.0, 10.0], 0.5)
    assert 100.0 == interpolated_percentile([100.0, 0.0], 1.0)
    with pytest.raises(ValueError, match=r"^percentile of no values$"):
        interpolated_percentile([], 0.5)


def test_durations_from_accepts_percentiles_0_and_1() -> None:
    runs = [make_summary(make_target("a", TargetStatus.PASSED, duration=d)) for d in (1.0, 3.0)]
    assert {"a": 1.0} == durations_from(runs, 0.0)
    assert {"a": 3.0} == durations_from(runs, 1.0)
    with pytest.raises(
        ReplayError, match=r"^duration percentile must be between 0 and 1, got 1.5$"
    ):
        durations_from(runs, 1.5)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CIRCLE_NODE_INDEX": "10", "CIRCLE_NODE_TOTAL": "12"}, (10, 12)),
        ({"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": str(MAX_SHARDS)}, (0, MAX_SHARDS)),
        ({KUBERNETES_INDEX: "0"}, (0, 3)),
        ({KUBERNETES_INDEX: "2"}, (2, 3)),
        ({KUBERNETES_INDEX: " "}, None),
    ],
)
def test_shard_from_env_with_a_given_total(
    env: dict[str, str], expected: tuple[int, int] | None
) -> None:
    assert expected == shard_from_env(env, 3)


@pytest.mark.parametrize(
    ("env", "total", "message"),
    [
        (
            {KUBERNETES_INDEX: "1"},
            None,
            "--shard auto: JOB_COMPLETION_INDEX=1 (Kubernetes Indexed Job) gives no total; "
            "pass --shard-total N (the Job's completions)",
        ),
        (
            {KUBERNETES_INDEX: "3"},
            3,
            "--shard auto: JOB_COMPLETION_INDEX=3 (Kubernetes Indexed Job) is out of range "
            "for --shard-total 3: expected 0 to 2",
        ),
        (
            {KUBERNETES_INDEX: "-1"},
            3,
            "--shard auto: JOB_COMPLETION_INDEX=-1 (Kubernetes Indexed Job) is out of range",
        ),
        (
            {KUBERNETES_INDEX: "x"},
            3,
            "--shard auto: JOB_COMPLETION_INDEX='x' (Kubernetes Indexed Job) is not a whole number",
        ),
        (
            {"CI_NODE_INDEX": "4", "CI_NODE_TOTAL": "3"},
            None,
            "--shard auto: CI_NODE_INDEX=4 (GitLab CI) is out of range for CI_NODE_TOTAL=3: "
            "expected 1 to 3",
        ),
        (
            {"CIRCLE_NODE_INDEX": "5", "CIRCLE_NODE_TOTAL": "5"},
            None,
            "--shard auto: CIRCLE_NODE_INDEX=5 (CircleCI) is out of range for "
            "CIRCLE_NODE_TOTAL=5: expected 0 to 4",
        ),
        (
            {"CI_NODE_INDEX": "x", "CI_NODE_TOTAL": "3"},
            None,
            "--shard auto: CI_NODE_INDEX='x' (GitLab CI) is not a whole number",
        ),
        (
            {"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "y"},
            None,
            "--shard auto: CI_NODE_TOTAL='y' (GitLab CI) is not a whole number",
        ),
        (
            {"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": str(MAX_SHARDS + 1)},
            None,
            f"--shard auto: CI_NODE_TOTAL={MAX_SHARDS + 1} (GitLab CI) must be 1 to {MAX_SHARDS}",
        ),
    ],
)
def test_shard_from_env_messages(env: dict[str, str], total: int | None, message: str) -> None:
    with pytest.raises(ReplayError) as caught:
        shard_from_env(env, total)
    assert str(caught.value).startswith(message)


PLAN = Plan(
    jobs=tuple(
        Job(id=name, target=name, kind=kind, adapter="generic", argv=("true",))
        for name, kind in (
            ("u1", "unit"),
            ("u2", "unit"),
            ("v", "vcr"),
            ("e1", "e2e"),
            ("e2", "lint"),
        )
    )
)


def targets(kind: str, index: int, total: int = 2, **fields: object) -> list[str]:
    shard = Shard(index, total, kind, **fields)  # type: ignore[arg-type]
    plan = shard_plan(PLAN, shard)
    assert shard is plan.shard
    return [j.target for j in plan.jobs]


def test_a_unit_shard_spreads_unit_kinds_and_shard_0_runs_the_rest() -> None:
    assert ["u1", "v", "e1", "e2"] == targets("unit", 0)
    assert ["u2"] == targets("unit", 1)


def test_a_suite_shard_spreads_the_other_kinds_and_shard_0_runs_unit_kinds() -> None:
    assert ["u1", "u2", "v", "e1"] == targets("suite", 0)
    assert ["e2"] == targets("suite", 1)


def test_a_both_shard_spreads_everything() -> None:
    assert ["u1", "v", "e1"] == targets("both", 0)
    assert ["u2", "e2"] == targets("both", 1)


def test_shard_plan_uses_the_durations_given() -> None:
    durations = {"u1": 1.0, "u2": 9.0, "v": 1.0}
    shard = Shard(1, 2, "unit", "duration")
    assert ["u1", "v"] == [j.target for j in shard_plan(PLAN, shard, durations).jobs]
