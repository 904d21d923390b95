"""The chain core (`_core.chain`): what is passing, what a rerun or a retry runs, run status."""

from __future__ import annotations

import attrs
import pytest
from _support import make_attempt as attempt
from _support import pytest_job as job
from _support import pytest_target as target
from hypothesis import given
from hypothesis import strategies as st

from replay._core.chain import (
    Settled,
    needs_rerun,
    passing,
    replay_command,
    rerun_tests,
    retry_tests,
    root_relative,
    run_status,
    settle_tests,
    unseen_note,
)
from replay._model import models
from replay._model.models import ChainState, Granularity, RunStatus, TargetStatus, TestStatus
from replay._model.outcomes import attempt_status

P, F, S = TestStatus.PASSED, TestStatus.FAILED, TestStatus.SKIPPED


def names(settled: Settled) -> dict[str, TestStatus]:
    return {t.name: t.status for t in settled.tests}


def test_complete_whole_run_replaces_what_the_chain_knew() -> None:
    """A full run defines the suite: a stale failure of a test it no longer has is dropped."""
    previous = target(("old", F), ("a", F))
    settled = settle_tests(job(), [attempt(("a", P), ("b", P))], previous)
    assert {"a": P, "b": P} == names(settled)
    assert settled.unseen is None


def test_incomplete_whole_run_leaves_the_suite_unseen() -> None:
    """A collection error or a skipped binary: what ran is kept, the rest is outstanding."""
    settled = settle_tests(job(), [attempt(("a", F), exit_code=2, unseen="collection error")], None)
    assert "collection error" == settled.unseen
    assert not passing(TargetStatus.FAILED, settled, finished=True)


def test_targeted_rerun_merges_with_the_chain() -> None:
    """A targeted rerun updates the tests it ran and keeps the others' results."""
    previous = target(("a", F), ("b", P))
    settled = settle_tests(job("a"), [attempt(("a", P))], previous)
    assert {"a": P, "b": P} == names(settled)
    assert passing(TargetStatus.PASSED, settled, finished=True)


def test_targeted_id_the_runner_no_longer_has_is_gone() -> None:
    """A renamed test is neither passed nor failed: gone, and the suite reruns whole once."""
    previous = target(("t[2-5]", F), ("b", P))
    settled = settle_tests(job("t[2-5]"), [attempt(exit_code=0)], previous)
    assert ("t[2-5]",) == settled.gone
    assert {"b": P} == names(settled)
    assert settled.unseen is not None
    assert not passing(TargetStatus.PASSED, settled, finished=True)


def test_not_found_ids_are_gone_even_when_the_runner_fails() -> None:
    """pytest's exit 4 (`not found`) names the ids: they are gone, not failed forever."""
    previous = target(("t[2-5]", F))
    failed = attempt(exit_code=4, unseen="pytest ran nothing", not_found=("t[2-5]",))
    settled = settle_tests(job("t[2-5]"), [failed], previous)
    assert ("t[2-5]",) == settled.gone
    assert {} == names(settled)


def test_an_open_gap_survives_a_targeted_rerun() -> None:
    """Only a complete whole run closes `unseen`; a targeted pass does not."""
    previous = target(("a", F), unseen="binary b did not run")
    settled = settle_tests(job("a"), [attempt(("a", P))], previous)
    assert "binary b did not run" == settled.unseen


def test_a_timed_out_targeted_attempt_keeps_its_tests_failed() -> None:
    """Tests that never reported in a killed attempt are not gone: they stay failed."""
    previous = target(("a", F), ("b", P))
    settled = settle_tests(job("a"), [attempt(exit_code=None, timed_out=True)], previous)
    assert {"a": F, "b": P} == names(settled)
    assert () == settled.gone


def test_a_never_started_job_keeps_what_the_chain_knew() -> None:
    """An interrupt before a job started teaches nothing: the previous record stays."""
    previous = target(("a", F), unseen="gap")
    settled = settle_tests(job(), [], previous)
    assert {"a": F} == names(settled)
    assert "gap" == settled.unseen


def test_retry_narrowed_to_failed_tests_completes_the_whole_run() -> None:
    """Attempt 1 ran the suite, attempt 2 only its failure: together the suite passed."""
    first = attempt(("a", F), ("b", P), exit_code=1)
    second = attrs.evolve(attempt(("a", P)), number=2, targeted=("a",))
    settled = settle_tests(job(), [first, second], None)
    assert {"a": P, "b": P} == names(settled)
    assert passing(TargetStatus.FLAKY, settled, finished=True)


def test_fail_on_flaky_makes_a_flaky_target_outstanding() -> None:
    """`--fail-on-flaky` is a chain rule, so a rerun runs the flaky target again."""
    settled = Settled(tests=(models.TestResult(name="a", status=P),), unseen=None, gone=())
    assert passing(TargetStatus.FLAKY, settled, finished=True)
    assert not passing(TargetStatus.FLAKY, settled, finished=True, fail_on_flaky=True)
    flaky = attrs.evolve(target(("a", P)), status=TargetStatus.FLAKY)
    assert needs_rerun(flaky, fail_on_flaky=True)
    assert not needs_rerun(flaky)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (target(("a", F), ("b", P), ("c", F)), ("a", "c")),
        (target(("a", F), unseen="binary b did not run"), ()),
        (target(("a", P)), ()),
    ],
    ids=["failed tests", "unseen runs whole", "no failed test runs whole"],
)
def test_rerun_tests(record: models.TargetResult, expected: tuple[str, ...]) -> None:
    """A rerun targets failed tests unless part of the suite went unrun."""
    assert expected == rerun_tests(record)


@pytest.mark.parametrize(
    ("policy", "last", "expected"),
    [
        (models.RetryPolicy(retries=1), attempt(("a", F), ("b", P), exit_code=1), ("a",)),
        (
            models.RetryPolicy(retries=1, granularity=Granularity.SUITE),
            attempt(("a", F), exit_code=1),
            (),
        ),
        (models.RetryPolicy(retries=1, max_tests=1), attempt(("a", F), ("b", F), exit_code=1), ()),
        (models.RetryPolicy(retries=1), attempt(("a", F), exit_code=2, unseen="stopped"), ()),
        (models.RetryPolicy(retries=1), attempt(("a", F), exit_code=None, timed_out=True), ()),
    ],
    ids=["failed tests", "suite granularity", "above the threshold", "unseen", "timed out"],
)
def test_retry_tests(
    policy: models.RetryPolicy, last: models.Attempt, expected: tuple[str, ...]
) -> None:
    """Retries run only the failed tests, with the same fallbacks as reruns."""
    assert expected == retry_tests(last, policy)


def test_run_status_is_one_rule() -> None:
    """Interrupted beats failed; quarantine spares a target; a policy failure fails the run."""
    failed = target(("a", F))
    spared = attrs.evolve(failed, quarantined=True)
    assert RunStatus.INTERRUPTED == run_status([failed], interrupted=True)
    assert RunStatus.FAILED == run_status([failed], interrupted=False)
    assert RunStatus.PASSED == run_status([spared], interrupted=False)
    assert RunStatus.FAILED == run_status([spared], interrupted=False, policy_failures=("x",))


def test_replay_command_names_the_config() -> None:
    """The one replay command keeps `--config`, quoted for a shell."""
    assert "python -m replay --rerun-from 'r 1/summary.json' --config ci/replay.toml" == (
        replay_command("r 1/summary.json", "ci/replay.toml")
    )


@pytest.mark.parametrize(
    ("file", "cwd", "root", "expected"),
    [
        ("pkg/a_test.go", "/repo/go", "/repo", "go/pkg/a_test.go"),
        ("tests/it.rs", "/repo", "/repo", "tests/it.rs"),
        ("/repo/src/x.py", "/repo/sub", "/repo", "src/x.py"),
        ("/elsewhere/x.py", "/repo", "/repo", "/elsewhere/x.py"),
        ("../lib/x.rs", "/repo/a", "/repo", "lib/x.rs"),
        ("x.rs", None, "/repo", "x.rs"),
    ],
)
def test_root_relative(file: str, cwd: str | None, root: str, expected: str) -> None:
    """Failure locations are relative to the repository root when they lie inside it."""
    assert expected == root_relative(file, cwd, root)


# --- the invariant, over arbitrary chains ------------------------------------------------

_UNIVERSE = ("t0", "t1", "t2", "t3")


@st.composite
def _steps(draw: st.DrawFn) -> list[tuple[dict[str, bool], bool, int, bool]]:
    """Per run: each test's outcome, whether the runner stops early, where, whether to rename."""
    count = draw(st.integers(min_value=1, max_value=8))
    return [
        (
            {name: draw(st.booleans()) for name in _UNIVERSE},
            draw(st.booleans()),
            draw(st.integers(min_value=0, max_value=len(_UNIVERSE))),
            draw(st.booleans()),
        )
        for _ in range(count)
    ]


def _simulate(
    universe: list[str], scope: tuple[str, ...], outcome: dict[str, bool], stops: bool, stop_at: int
) -> models.Attempt:
    """A runner: runs `scope` (or everything), maybe stopping early, reporting what ran."""
    wanted = [t for t in universe if not scope or t in scope]
    ran = wanted[:stop_at] if stops else wanted
    results = tuple(
        models.TestResult(name=t, status=P if outcome[t.split("~")[0]] else F) for t in ran
    )
    failed = any(r.status is F for r in results) or (stops and ran != wanted)
    return models.Attempt(
        number=1,
        exit_code=1 if failed else 0,
        tests=results,
        unseen="stopped early" if stops and ran != wanted else None,
    )


@given(_steps())
def test_green_only_when_every_test_last_passed(
    steps: list[tuple[dict[str, bool], bool, int, bool]],
) -> None:
    """For any sequence of outcomes, a green chain means every test's last result is a pass."""
    universe = list(_UNIVERSE)
    last: dict[str, TestStatus] = {}
    previous: models.TargetResult | None = None
    for outcome, stops, stop_at, rename in steps:
        if previous is not None and not previous.outstanding:
            break
        scope = rerun_tests(previous) if previous is not None else ()
        if rename and scope and scope[0] in universe:
            # The fix renames the failing test (a parametrize id): the old id is gone and
            # the new one has never run. (A rename outside what the chain reruns cannot be
            # seen without a whole run; the chain knows only the tests it has seen.)
            old = scope[0]
            universe[universe.index(old)] = f"{old.split('~')[0]}~{len(last)}"
            last.pop(old, None)
        run = _simulate(universe, scope, outcome, stops, stop_at)
        for test in run.tests:
            last[test.name] = test.status
        settled = settle_tests(job(*scope), [run], previous)
        status = attempt_status(run)
        passed = passing(status, settled, finished=True)
        previous = models.TargetResult(
            name="s",
            kind="unit",
            adapter="pytest",
            argv=("pytest",),
            status=status,
            chain_state=ChainState.PASSING if passed else ChainState.OUTSTANDING,
            decided_by="r",
            tests=settled.tests,
            unseen=settled.unseen,
            gone=settled.gone,
        )
        if passed:
            assert all(last.get(t) is P for t in universe), (universe, last)


@given(st.lists(st.sampled_from(_UNIVERSE), unique=True), st.booleans())
def test_a_fixed_suite_turns_green_within_two_reruns(failing: list[str], renamed: bool) -> None:
    """Once the suite passes, the chain is green within two reruns, renamed tests or not."""
    universe = list(_UNIVERSE)
    outcome = {t: t not in failing for t in _UNIVERSE}
    first = _simulate(universe, (), outcome, stops=False, stop_at=0)
    settled = settle_tests(job(), [first], None)
    record = target(*((t.name, t.status) for t in settled.tests))
    if renamed:
        universe = [f"{t}~fixed" if t in failing else t for t in universe]
    fixed = dict.fromkeys(_UNIVERSE, True)
    for _ in range(2):
        if not record.outstanding:
            break
        scope = rerun_tests(record)
        run = _simulate(universe, scope, fixed, stops=False, stop_at=0)
        settled = settle_tests(job(*scope), [run], record)
        passed = passing(attempt_status(run), settled, finished=True)
        record = attrs.evolve(
            record,
            tests=settled.tests,
            unseen=settled.unseen,
            gone=settled.gone,
            status=attempt_status(run),
            chain_state=ChainState.PASSING if passed else ChainState.OUTSTANDING,
        )
    assert ChainState.PASSING == record.chain_state


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (target(("a", F), unseen="binary b did not run"), None),
        (
            attrs.evolve(
                target(("a", F), unseen="binary b did not run"),
                attempts=(attempt(("a", F), exit_code=101, unseen="binary b did not run"),),
            ),
            "binary b did not run",
        ),
        (
            attrs.evolve(target(unseen="gone ids"), status=TargetStatus.PASSED, gone=("x",)),
            "gone ids",
        ),
        (
            attrs.evolve(
                target(unseen="timed out"),
                status=TargetStatus.TIMED_OUT,
                attempts=(attempt(exit_code=None, timed_out=True),),
            ),
            None,
        ),
    ],
    ids=["no attempt said so", "the adapter said so", "gone ids", "a timeout says it already"],
)
def test_unseen_note_only_where_it_adds(record: models.TargetResult, expected: str | None) -> None:
    """Reports name what went unrun when the end of the run does not already say it."""
    assert expected == unseen_note(record)
