"""Tests for `replay._core.shards`: deterministic splits, duration balancing, CI variables."""

from __future__ import annotations

import math

import pytest
from _support import make_summary, make_target
from hypothesis import given
from hypothesis import strategies as st

from replay._core.shards import (
    ShardStrategy,
    assign_shards,
    durations_from,
    interpolated_percentile,
    shard_from_env,
    shard_items,
    shard_loads,
    stable_hash,
    weights,
)
from replay._model.errors import ReplayError
from replay._model.models import (
    MAX_SHARDS,
    RunStatus,
    Summary,
    TargetResult,
    TargetStatus,
)

STRATEGIES = list(ShardStrategy)


def _target(name: str, duration: float, status: TargetStatus = TargetStatus.PASSED) -> TargetResult:
    return make_target(name, status, argv=("true",), duration=duration)


def _summary(*targets: TargetResult) -> Summary:
    return make_summary(*targets)


@pytest.mark.parametrize(
    ("names", "total", "expected"),
    [
        (["c", "a", "b", "a"], 2, (("a", "c"), ("b",))),
        (["e", "d", "c", "b", "a"], 3, (("a", "d"), ("b", "e"), ("c",))),
        (["only"], 3, (("only",), (), ())),
        ([], 2, ((), ())),
        # LC_ALL=C order: uppercase, then `_`, then lowercase.
        (["a", "_x", "B"], 3, (("B",), ("_x",), ("a",))),
    ],
)
def test_round_robin_is_upstreams_split(
    names: list[str], total: int, expected: tuple[tuple[str, ...], ...]
) -> None:
    """Round-robin sorts unique names in byte order and deals item i to shard i mod N."""
    assert expected == assign_shards(names, total, "round-robin")


@pytest.mark.parametrize(
    ("durations", "total", "expected"),
    [
        # LPT: a(10)->0, b(7)->1, c(5)->1 (7<10), d(4)->0 (10<12), e(3)->1 (12<14).
        ({"a": 10, "b": 7, "c": 5, "d": 4, "e": 3}, 2, (("a", "d"), ("b", "c", "e"))),
        # Equal durations: ties by name, the lower shard index first.
        ({"a": 1, "b": 1, "c": 1, "d": 1}, 2, (("a", "c"), ("b", "d"))),
        # One giant: it gets a shard of its own.
        ({"big": 100, "x": 1, "y": 1, "z": 1}, 2, (("big",), ("x", "y", "z"))),
    ],
)
def test_duration_is_longest_first_onto_lightest(
    durations: dict[str, float], total: int, expected: tuple[tuple[str, ...], ...]
) -> None:
    """Duration sharding places the longest target first, each on the lightest shard."""
    assert expected == assign_shards(list(durations), total, "duration", durations)


@pytest.mark.parametrize(
    ("names", "durations", "expected"),
    [
        (["a", "b", "c"], {"a": 10.0, "b": 2.0}, {"a": 10.0, "b": 2.0, "c": 6.0}),
        (["a", "b"], None, {"a": 1.0, "b": 1.0}),
        (["a", "b"], {"zzz": 5.0}, {"a": 1.0, "b": 1.0}),
        (["a", "b", "c"], {"a": 4.0, "b": math.nan, "c": -1.0}, {"a": 4.0, "b": 4.0, "c": 4.0}),
        (["a", "b"], {"a": math.inf, "b": 3.0}, {"a": 3.0, "b": 3.0}),
    ],
)
def test_unknown_weights_are_the_mean_of_known(
    names: list[str], durations: dict[str, float] | None, expected: dict[str, float]
) -> None:
    """Unknown or unusable durations count as the mean of the known ones (1.0 if none)."""
    assert expected == weights(names, durations)


def test_durations_beyond_a_year_are_unknown() -> None:
    """1e308 s (hand-edited or hostile) counts as unknown: it cannot overflow the sums."""
    expected = {"a": 4.0, "b": 4.0, "c": 4.0}
    assert expected == weights(["a", "b", "c"], {"a": 1e308, "b": 1.7e308, "c": 4.0})
    summary = Summary(
        run_id="r",
        status=RunStatus.PASSED,
        started_at="",
        finished_at="",
        targets=(_target("a", 1e308), _target("b", 1.7e308), _target("c", 4.0)),
    )
    assert {"c": 4.0} == durations_from([summary])
    assert (4.0, 8.0) == shard_loads((("a",), ("b", "c")), durations_from([summary]))


def test_shard_loads_sum_weights() -> None:
    """A shard's load is the sum of its targets' weights, unknown ones at the mean."""
    expected = (12.0, 6.0)
    assert expected == shard_loads((("a", "b"), ("c",)), {"a": 10.0, "b": 2.0})


def test_hash_uses_a_process_independent_hash() -> None:
    """The hash is sha256-based: a fixed value, not Python's salted `hash()`."""
    expected = 0x2CF24DBA5FB0A30E  # int.from_bytes(sha256(b"hello").digest()[:8], "big")
    assert expected == stable_hash("hello")


@pytest.mark.parametrize(
    ("index", "total", "fragment"),
    [
        (3, 3, "expected 0 to 2"),
        (-1, 3, "expected 0 to 2"),
        (0, 0, "shard total must be a whole number >= 1"),
        (0, -2, "shard total must be a whole number >= 1"),
        (0, MAX_SHARDS + 1, f"shard total must be at most {MAX_SHARDS}"),
        (0, 99999999999999999999, f"shard total must be at most {MAX_SHARDS}"),
    ],
)
def test_impossible_shards_are_refused_with_the_fix(index: int, total: int, fragment: str) -> None:
    """An index outside [0, total) or a total below 1 is a ReplayError that says what is valid."""
    with pytest.raises(ReplayError) as caught:
        shard_items(["a"], index, total)
    assert fragment in str(caught.value)


def test_unknown_strategy_is_refused() -> None:
    """An unknown strategy name lists the known ones."""
    with pytest.raises(ReplayError) as caught:
        assign_shards(["a"], 2, "random")
    assert "expected one of: round-robin, hash, duration" in str(caught.value)


names_strategy = st.lists(st.text(min_size=1, max_size=12), max_size=60)
durations_strategy = st.dictionaries(
    st.text(min_size=1, max_size=12),
    st.floats(allow_nan=True, allow_infinity=True),
    max_size=30,
)


@pytest.mark.parametrize("strategy", STRATEGIES)
@given(names=names_strategy, total=st.integers(1, 9), durations=durations_strategy)
def test_shards_partition_the_plan(
    strategy: ShardStrategy, names: list[str], total: int, durations: dict[str, float]
) -> None:
    """For every strategy the shards hold each unique name exactly once, and nothing else."""
    shards = assign_shards(names, total, strategy, durations)
    flat = [name for shard in shards for name in shard]
    assert (total, sorted(set(names))) == (len(shards), sorted(flat))


@pytest.mark.parametrize("strategy", STRATEGIES)
@given(
    names=names_strategy,
    total=st.integers(1, 9),
    durations=durations_strategy,
    seed=st.randoms(use_true_random=False),
)
def test_shards_ignore_input_order(
    strategy: ShardStrategy,
    names: list[str],
    total: int,
    durations: dict[str, float],
    seed: object,
) -> None:
    """Every machine gets the same split whatever order it listed the targets in."""
    shuffled = list(names)
    seed.shuffle(shuffled)  # type: ignore[attr-defined]
    expected = assign_shards(names, total, strategy, durations)
    assert expected == assign_shards(shuffled, total, strategy, durations)


@given(names=names_strategy, extra=st.text(min_size=1, max_size=12), total=st.integers(1, 9))
def test_hash_moves_only_the_added_item(names: list[str], extra: str, total: int) -> None:
    """Adding a target to a hash-sharded plan leaves every other target on its shard."""
    before = assign_shards(names, total, "hash")
    after = assign_shards([*names, extra], total, "hash")
    expected = [tuple(n for n in shard if n != extra) for shard in after]
    assert expected == [tuple(n for n in shard if n != extra) for shard in before]


@given(names=names_strategy, total=st.integers(1, 5))
def test_shard_items_is_one_of_assign_shards(names: list[str], total: int) -> None:
    """`shard_items` returns exactly shard `index` of `assign_shards`."""
    expected = assign_shards(names, total, "round-robin")
    assert expected == tuple(shard_items(names, i, total) for i in range(total))


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([5.0], 0.9, 5.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 0.5, 3.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 0.9, 4.6),
        ([4.0, 1.0], 0.0, 1.0),
        ([4.0, 1.0], 1.0, 4.0),
    ],
)
def test_percentile_interpolates_between_ranks(
    values: list[float], fraction: float, expected: float
) -> None:
    """The percentile interpolates linearly between ranks, like numpy's default."""
    assert expected == pytest.approx(interpolated_percentile(values, fraction))


def test_durations_from_takes_a_percentile_per_target() -> None:
    """Durations come from every summary; targets that did not run or took 0 s count nothing."""
    summaries = [
        _summary(_target("a", 10.0), _target("b", 1.0), _target("c", 0.0, TargetStatus.NOT_RUN)),
        _summary(_target("a", 20.0), _target("b", 3.0, TargetStatus.FAILED), _target("c", 0.0)),
        _summary(_target("a", 30.0), _target("d", 2.0, TargetStatus.SKIPPED)),
    ]
    expected = {"a": 20.0, "b": 2.0}
    assert expected == durations_from(summaries, 0.5)


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan])
def test_durations_from_refuses_a_bad_percentile(bad: float) -> None:
    """A percentile outside 0..1 is a ReplayError."""
    with pytest.raises(ReplayError):
        durations_from([], bad)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"PATH": "/bin"}, None),
        ({"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "3"}, (0, 3)),
        ({"CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "3"}, (2, 3)),
        ({"CI_NODE_TOTAL": "1"}, (0, 1)),
        ({"BUILDKITE_PARALLEL_JOB": "0", "BUILDKITE_PARALLEL_JOB_COUNT": "4"}, (0, 4)),
        ({"BUILDKITE_PARALLEL_JOB": "3", "BUILDKITE_PARALLEL_JOB_COUNT": "4"}, (3, 4)),
        ({"CIRCLE_NODE_INDEX": "2", "CIRCLE_NODE_TOTAL": "5"}, (2, 5)),
        ({"CIRCLE_NODE_INDEX": "0", "CIRCLE_NODE_TOTAL": "1"}, (0, 1)),
        ({"CI_NODE_INDEX": "", "CI_NODE_TOTAL": ""}, None),
        ({"CI_NODE_INDEX": " 2 ", "CI_NODE_TOTAL": "2"}, (1, 2)),
        # GitLab first, whatever else is set.
        ({"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "2", "CIRCLE_NODE_INDEX": "0"}, (1, 2)),
    ],
)
def test_shard_from_env_reads_ci_variables(
    env: dict[str, str], expected: tuple[int, int] | None
) -> None:
    """`--shard auto` reads GitLab (1-based), Buildkite and CircleCI (0-based) variables."""
    assert expected == shard_from_env(env)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CI_NODE_INDEX": "0", "CI_NODE_TOTAL": "3"}, "CI_NODE_INDEX=0"),
        ({"CI_NODE_INDEX": "4", "CI_NODE_TOTAL": "3"}, "CI_NODE_INDEX=4"),
        ({"CI_NODE_INDEX": "one", "CI_NODE_TOTAL": "3"}, "CI_NODE_INDEX='one'"),
        ({"CI_NODE_INDEX": "1"}, "CI_NODE_TOTAL is not"),
        ({"CI_NODE_TOTAL": "3"}, "CI_NODE_INDEX is not"),
        ({"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "0"}, "CI_NODE_TOTAL=0"),
        ({"BUILDKITE_PARALLEL_JOB": "4", "BUILDKITE_PARALLEL_JOB_COUNT": "4"}, "JOB=4"),
        ({"BUILDKITE_PARALLEL_JOB": "0", "BUILDKITE_PARALLEL_JOB_COUNT": "x"}, "COUNT='x'"),
        ({"CIRCLE_NODE_INDEX": "-1", "CIRCLE_NODE_TOTAL": "2"}, "CIRCLE_NODE_INDEX=-1"),
        ({"CIRCLE_NODE_INDEX": "1.5", "CIRCLE_NODE_TOTAL": "2"}, "CIRCLE_NODE_INDEX='1.5'"),
        ({"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "99999999999999999999"}, "must be 1 to 10000"),
    ],
)
def test_shard_from_env_names_the_bad_variable(env: dict[str, str], variable: str) -> None:
    """A malformed or out-of-range CI variable is a ReplayError that names it."""
    with pytest.raises(ReplayError) as caught:
        shard_from_env(env)
    assert variable in str(caught.value)


@given(st.dictionaries(st.sampled_from(["CI_NODE_INDEX", "CI_NODE_TOTAL"]), st.text()))
def test_shard_from_env_never_crashes(env: dict[str, str]) -> None:
    """Arbitrary variable values give a valid shard, None, or a ReplayError."""
    try:
        found = shard_from_env(env)
    except ReplayError:
        return
    assert found is None or 0 <= found[0] < found[1]


@given(
    kinds=st.lists(st.sampled_from(["unit", "vcr", "e2e", "lint"]), min_size=0, max_size=25),
    total=st.integers(1, 6),
    shard_kind=st.sampled_from(["suite", "unit", "both"]),
    strategy=st.sampled_from(["round-robin", "hash", "duration"]),
)
def test_shard_plans_cover_every_job_once(
    kinds: list[str], total: int, shard_kind: str, strategy: str
) -> None:
    """Across all shards of a plan, every job runs exactly once, whatever is sharded."""
    from replay._core.shards import shard_plan
    from replay._model.models import Job, Plan, Shard

    jobs = tuple(
        Job(id=f"j{i}", target=f"t{i}", kind=kind, adapter="generic", argv=("true",))
        for i, kind in enumerate(kinds)
    )
    plan = Plan(jobs=jobs)
    ran = [
        job.target
        for index in range(total)
        for job in shard_plan(plan, Shard(index, total, shard_kind, strategy)).jobs
    ]
    assert sorted(j.target for j in jobs) == sorted(ran)
