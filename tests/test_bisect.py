"""The pure flake bisection: stopping rules, the search over commits, skips and the report."""

from __future__ import annotations

import random

import pytest

from replay._core.bisect import (
    BAD_FAILURES,
    BisectState,
    ProbeVerdict,
    add_probe,
    bad_revision_done,
    conclude,
    failure_rate_to_detect,
    judge,
    make_probe,
    next_commit,
    probe_alpha,
    runs_to_clear,
    simulate,
    state_document,
)
from replay._exec.bisect import drive
from replay._model.convert import dumps, loads


@pytest.mark.parametrize(
    ("rate", "alpha", "runs"),
    [(1.0, 0.05, 1), (0.5, 0.05, 5), (0.2, 0.05, 14), (0.05, 0.05, 59), (0.4, 0.01, 10)],
)
def test_runs_to_clear(rate: float, alpha: float, runs: int) -> None:
    """Passes in a row that rule out a failure rate: the smallest n with (1 - p)^n <= alpha."""
    assert runs == runs_to_clear(rate, alpha)


def test_one_failure_is_bad_and_passes_are_good_only_at_the_bound() -> None:
    """A failure decides bad at once; passes decide good once (1 - p1)^n <= alpha."""
    kwargs = {"failure_rate": 0.5, "alpha": 0.05, "runs_max": 100}
    assert ProbeVerdict.BAD == judge(0, 1, **kwargs)  # type: ignore[arg-type]
    assert judge(4, 0, **kwargs) is None  # type: ignore[arg-type]
    assert ProbeVerdict.GOOD == judge(5, 0, **kwargs)  # type: ignore[arg-type]
    assert ProbeVerdict.UNDECIDED == judge(3, 0, failure_rate=0.1, alpha=0.05, runs_max=3)


def test_the_bad_revision_measures_until_enough_failures() -> None:
    """The bad revision runs until BAD_FAILURES failures, or runs_max."""
    assert not bad_revision_done(10, BAD_FAILURES - 1, 100)
    assert bad_revision_done(10, BAD_FAILURES, 100)
    assert bad_revision_done(100, 0, 100)


def test_failure_rate_to_detect() -> None:
    """All failures: a deterministic break (1.0); mixed: the Wilson lower bound; none: None."""
    assert 1.0 == failure_rate_to_detect(0, 5, 0.95)
    assert failure_rate_to_detect(10, 0, 0.95) is None
    low = failure_rate_to_detect(7, 5, 0.95)
    assert low is not None
    assert 0.15 < low < 5 / 12


def test_alpha_is_split_over_the_steps() -> None:
    """Thirty commits take five steps: each good verdict may err 1 - 0.95^(1/5)."""
    assert abs(probe_alpha(0.95, 30) - (1 - 0.95**0.2)) < 1e-12


def _state(count: int) -> BisectState:
    commits = tuple(f"{i:040x}" for i in range(1, count + 1))
    return BisectState(target="t", good=f"{0:040x}", bad=commits[-1], commits=commits)


def test_the_bad_revision_is_probed_first_then_the_middle() -> None:
    """The first probe measures the bad revision; the next is the middle commit."""
    state = _state(7)
    assert state.bad == next_commit(state)
    state = add_probe(state, make_probe(state.bad, ProbeVerdict.BAD, "x", failed=5))
    assert 1.0 == state.failure_rate
    assert state.commits[2] == next_commit(state)


def test_a_bad_revision_that_never_fails_ends_the_search() -> None:
    """Nothing to bisect when the bad revision passed every run: first_bad is null."""
    state = _state(5)
    state = add_probe(state, make_probe(state.bad, ProbeVerdict.UNDECIDED, "x", passed=100))
    assert next_commit(state) is None
    report = conclude(state)
    assert (None, "unknown") == (report.first_bad, report.mode)
    assert "never failed" in report.reason


def _fake_probe(first_bad: int, skip: frozenset[int] = frozenset()):  # type: ignore[no-untyped-def]
    def probe(state: BisectState, commit: str):  # type: ignore[no-untyped-def]
        index = state.commits.index(commit)
        if index in skip:
            return make_probe(commit, ProbeVerdict.SKIPPED, "does not build")
        if index >= first_bad:
            failed = BAD_FAILURES if state.bad_probe is None else 1
            return make_probe(commit, ProbeVerdict.BAD, "failed", failed=failed)
        return make_probe(commit, ProbeVerdict.GOOD, "passed", passed=1)

    return probe


@pytest.mark.parametrize("first_bad", [0, 1, 13, 14, 27, 28])
def test_a_deterministic_break_is_found_with_one_run_per_probe(first_bad: int) -> None:
    """Through the `drive` seam: the first bad commit, one run per probe, confidence 1."""
    saved: list[BisectState] = []
    state = drive(_state(29), _fake_probe(first_bad), saved.append)
    report = conclude(state)
    assert (state.commits[first_bad], 1.0, "deterministic") == (
        report.first_bad,
        report.confidence,
        report.mode,
    )
    assert all(p.runs == 1 for p in report.probes[1:])
    assert len(report.probes) <= 1 + 5
    assert len(saved) == len(report.probes)


def test_a_skipped_commit_is_stepped_around() -> None:
    """A commit that does not build is skipped and the search still names the first bad one."""
    state = drive(_state(29), _fake_probe(20, frozenset({13})), lambda _: None)
    report = conclude(state)
    assert state.commits[20] == report.first_bad
    assert ProbeVerdict.SKIPPED in {p.verdict for p in report.probes}


def test_only_skipped_commits_left_gives_candidates() -> None:
    """When the boundary hides behind skipped commits, first_bad is null with every candidate."""
    state = drive(_state(10), _fake_probe(5, frozenset({3, 4})), lambda _: None)
    report = conclude(state)
    assert report.first_bad is None
    assert (state.commits[3], state.commits[4], state.commits[5]) == report.candidates


def test_the_state_round_trips_through_json() -> None:
    """The state file reads back into the same state (what --resume relies on)."""
    state = drive(_state(9), _fake_probe(4), lambda _: None)
    assert state == loads(dumps(state_document(state)), BisectState, source="state.json")


@pytest.mark.parametrize("rate", [0.2, 0.4, 1.0])
def test_simulated_flaky_breaks_are_found(rate: float) -> None:
    """Over seeded simulations, the sequential bisection names the first bad commit."""
    right = 0
    for seed in range(20):
        rng = random.Random(seed)  # noqa: S311 - a simulation, not a secret
        first = rng.randrange(30)
        commits = [i >= first for i in range(30)]

        def draw(i: int, commits: list[bool] = commits, rng: random.Random = rng) -> bool:
            return not commits[i] or rng.random() >= rate

        report = simulate(commits, draw)
        right += report.first_bad == f"c{first:04d}"
    assert right >= 19
