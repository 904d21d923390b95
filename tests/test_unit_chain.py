"""The chain core's edges, one rule at a time (kills what `scripts/mutation.py chain` showed).

The invariant and the chain's larger behaviour are in test_chain_core.py; these pin each
rule's boundary: messages, `<=` limits, missing config/root/file, gone ids across attempts.
"""

from __future__ import annotations

import attrs
import pytest
from _support import FAILED as F
from _support import PASSED as P
from _support import SKIPPED as S
from _support import make_attempt as attempt
from _support import pytest_job as job
from _support import pytest_target as target

from replay._core.chain import (
    Settled,
    chain_state,
    passing,
    replay_command,
    retry_tests,
    root_relative,
    settle_tests,
    suite_command,
    unseen_note,
)
from replay._model.models import ChainState, RetryPolicy, TargetStatus, TestResult, TestStatus


def names(settled: Settled) -> dict[str, TestStatus]:
    return {t.name: t.status for t in settled.tests}


def test_commands_add_config_only_when_given() -> None:
    """Without a config the printed commands carry no `--config`."""
    assert "python -m replay --rerun-from r1/summary.json" == replay_command("r1/summary.json")
    assert "python -m replay run --suite unit" == suite_command("unit")
    assert "python -m replay run --suite 'a b' --config c.toml" == suite_command("a b", "c.toml")


def test_chain_state_names_the_two_states() -> None:
    assert ChainState.PASSING is chain_state(True)
    assert ChainState.OUTSTANDING is chain_state(False)


def test_retry_targets_failed_tests_up_to_max_tests_inclusive() -> None:
    """Exactly `max_tests` failures is still a flake retry of those tests."""
    last = attempt(("a", F), ("b", F), exit_code=1)
    assert ("a", "b") == retry_tests(last, RetryPolicy(retries=1, max_tests=2))


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"interrupted": True}, "the run was interrupted before the runner reported every test"),
        ({"timed_out": True}, "the attempt timed out before the runner reported every test"),
        ({"signal": 9}, "the runner was killed before it reported every test"),
        ({}, "the runner could not start"),
    ],
    ids=["interrupted", "timed out", "killed", "never started"],
)
def test_an_incomplete_whole_run_says_why_it_is_unseen(
    fields: dict[str, object], reason: str
) -> None:
    """The gap's reason names how the attempt ended."""
    settled = settle_tests(job(), [attempt(("a", P), exit_code=None, **fields)], None)
    assert reason == settled.unseen
    assert {"a": P} == names(settled)


def test_gone_reason_names_the_first_ids_and_counts_the_rest() -> None:
    """A long rename names three ids and counts the others."""
    one = settle_tests(job("a"), [attempt(exit_code=0)], None)
    assert "targeted tests no longer exist (a); the suite runs whole once" == one.unseen
    ids = ("a", "b", "c")
    three = settle_tests(job(*ids), [attempt(exit_code=0)], None)
    assert "targeted tests no longer exist (a, b, c); the suite runs whole once" == three.unseen
    five = settle_tests(job(*ids, "d", "e"), [attempt(exit_code=0)], None)
    assert (
        "targeted tests no longer exist (a, b, c and 2 more); the suite runs whole once"
        == five.unseen
    )
    assert ("a", "b", "c", "d", "e") == five.gone


def test_a_first_targeted_run_that_passes_leaves_no_gap() -> None:
    """With no previous record, a complete targeted pass is passing (no gap, no crash)."""
    settled = settle_tests(job("a"), [attempt(("a", P))], None)
    assert settled.unseen is None
    assert passing(TargetStatus.PASSED, settled, finished=True)


def test_ids_gone_across_attempts_accumulate() -> None:
    """Each attempt's lost ids add to `gone`, each once."""
    first = attrs.evolve(attempt(exit_code=0), targeted=("a",))
    second = attrs.evolve(attempt(exit_code=0), number=2, targeted=("b", "a"))
    settled = settle_tests(job("a", "b"), [first, second], None)
    assert ("a", "b") == settled.gone


def test_the_runner_saying_an_id_does_not_exist_wins() -> None:
    """An id the runner names as not found is gone even if it also reported a line for it."""
    odd = attempt(("a", S), ("b", P), exit_code=0, not_found=("a",))
    settled = settle_tests(job("a", "b"), [odd], None)
    assert ("a",) == settled.gone


def test_passing_needs_a_finished_ok_target() -> None:
    """An unfinished run, or a status that is not ok, is never passing."""
    clean = Settled(tests=(TestResult(name="a", status=P),), unseen=None, gone=())
    assert passing(TargetStatus.PASSED, clean, finished=True)
    assert not passing(TargetStatus.PASSED, clean, finished=False)
    assert not passing(TargetStatus.CRASHED, clean, finished=True)
    assert not passing(TargetStatus.PASSED, attrs.evolve(clean, unseen="gap"), finished=True)


def test_unseen_note_of_a_target_that_never_ran_is_none() -> None:
    """A target that did not run says so by its status; no note."""
    never = attrs.evolve(target(unseen="setup failed"), status=TargetStatus.NOT_RUN, gone=("x",))
    assert unseen_note(never) is None


def test_unseen_note_names_gone_ids_of_a_failed_target() -> None:
    """Gone ids matter even when the target failed."""
    record = attrs.evolve(target(("a", F), unseen="ids gone"), gone=("x",))
    assert "ids gone" == unseen_note(record)


@pytest.mark.parametrize(
    ("file", "cwd", "root", "expected"),
    [
        ("x.rs", "/repo/a", None, "x.rs"),
        ("x.rs", None, "/", "x.rs"),
        (None, "/repo", "/repo", None),
        ("/repo", None, "/repo/sub", "/repo"),
        ("/repo/sub/../x.py", None, "/repo", "x.py"),
        ("/elsewhere/../other/x.py", "/repo", "/repo", "/elsewhere/../other/x.py"),
    ],
    ids=["no root", "relative, no cwd", "no file", "root's parent", "normalised", "outside"],
)
def test_root_relative_edges(
    file: str | None, cwd: str | None, root: str | None, expected: str | None
) -> None:
    """Without a root or a file the location is left as it is; outside the root too."""
    assert expected == root_relative(file, cwd, root)
