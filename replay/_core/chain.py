"""The chain core: what a run leaves outstanding, decided once, as pure functions.

A chain is a run and the `--rerun-from` runs that follow it. Its one invariant:

    a target is *passing* only when every test it holds has passed in this
    chain and nothing it holds went unrun since its last full run.

Everything that asks "is this target done?", "which tests does a rerun (or a
retry) run?", "did the run pass?" or "what command continues the chain?"
calls this module: the run, the merge, the bundle, `show`, the digest and the
diff. Two copies of a status rule drift; one cannot.

What the runner could not show is outstanding, never absent: an adapter sets
`Attempt.unseen` when part of the suite did not run (a test binary cargo
skipped, a pytest session interrupted by a collection error, a Go package that
did not build), and the target then reruns as a whole. A targeted test id the
runner no longer has (renamed, deleted) is recorded as *gone*, not failed, and
its target reruns as a whole once, so a fix that renames a test never leaves
the chain stuck.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Iterable, Sequence

import attrs

from replay._model.models import (
    Attempt,
    ChainState,
    Granularity,
    Job,
    RetryPolicy,
    RunStatus,
    TargetResult,
    TargetStatus,
    TestResult,
    TestStatus,
)

REPLAY = ("python", "-m", "replay")
"""How printed commands start: works wherever replay is installed, console script or not."""

MAX_GONE_SHOWN = 3
"""Gone test ids named in an `unseen` reason; the full list is in `gone`."""


def replay_command(summary_path: str, config: str | None = None) -> str:
    """The one command that reruns what the summary at `summary_path` leaves outstanding."""
    extra = ("--config", config) if config else ()
    return shlex.join((*REPLAY, "--rerun-from", summary_path, *extra))


def suite_command(suite: str, config: str | None = None) -> str:
    """The command that runs one suite of the config afresh."""
    extra = ("--config", config) if config else ()
    return shlex.join((*REPLAY, "run", "--suite", suite, *extra))


def failed_tests(target: TargetResult) -> tuple[str, ...]:
    """Tests of `target` that are failing in the chain, in first-seen order."""
    return tuple(dict.fromkeys(t.name for t in target.tests if t.status is TestStatus.FAILED))


def rerun_tests(target: TargetResult) -> tuple[str, ...]:
    """The tests a rerun of `target` runs; empty means the whole suite.

    The whole suite when part of it went unrun (`unseen`) or when it failed
    without naming a failed test (a build error, a crash before any result).
    """
    if target.unseen is not None:
        return ()
    return failed_tests(target)


def complete(attempt: Attempt) -> bool:
    """Whether the runner ran to its end and reported on everything it was asked to run."""
    return (
        attempt.unseen is None
        and not attempt.interrupted
        and not attempt.timed_out
        and attempt.signal is None
        and attempt.exit_code is not None
    )


def retry_tests(attempt: Attempt, policy: RetryPolicy) -> tuple[str, ...]:
    """The tests a retry of `attempt` runs; empty means the job as planned (the whole suite).

    Failed tests only, as gotestsum's `--rerun-fails` does, unless the policy
    asks for suites, the attempt did not show everything, or more tests
    failed than `policy.max_tests` (then it is not a flake: run it all again).
    """
    if policy.granularity is Granularity.SUITE or not complete(attempt):
        return ()
    failed = tuple(dict.fromkeys(t.name for t in attempt.tests if t.status is TestStatus.FAILED))
    return failed if len(failed) <= policy.max_tests else ()


def _scope(job: Job, attempt: Attempt) -> tuple[str, ...]:
    """The tests an attempt was narrowed to; empty means the whole suite."""
    return attempt.targeted or job.tests


def _describe(attempt: Attempt) -> str:
    """Why an attempt that is not complete may have left tests unrun."""
    if attempt.unseen is not None:
        return attempt.unseen
    if attempt.interrupted:
        return "the run was interrupted before the runner reported every test"
    if attempt.timed_out:
        return "the attempt timed out before the runner reported every test"
    if attempt.signal is not None:
        return "the runner was killed before it reported every test"
    return "the runner could not start"


def _gone_reason(gone: Sequence[str]) -> str:
    shown = ", ".join(gone[:MAX_GONE_SHOWN])
    more = f" and {len(gone) - MAX_GONE_SHOWN} more" if len(gone) > MAX_GONE_SHOWN else ""
    return f"targeted tests no longer exist ({shown}{more}); the suite runs whole once"


@attrs.frozen
class Settled:
    """A target's tests and gaps after one run's attempts, on top of what the chain knew."""

    tests: tuple[TestResult, ...]
    unseen: str | None
    gone: tuple[str, ...]


def settle_tests(job: Job, attempts: Sequence[Attempt], previous: TargetResult | None) -> Settled:
    """Fold a run's attempts of `job` into the chain's knowledge of its tests.

    A complete whole-suite attempt replaces what the chain knew (its tests are
    the suite now); an incomplete one adds to it and leaves the suite unseen.
    A targeted attempt updates the tests it ran; the ids it targeted that a
    complete run did not report (or that the runner said it does not have)
    are gone, and an earlier gap stays open until a whole run closes it.
    """
    known: dict[str, TestResult] = {}
    unseen: str | None = None
    if previous is not None and (job.tests or not attempts):
        known = {t.name: t for t in previous.tests}
        unseen = previous.unseen
    gone: list[str] = []
    seen: set[str] = set()  # `gone` as a set: a rename of 100,000 ids stays linear
    for attempt in attempts:
        scope = _scope(job, attempt)
        if not scope:
            if complete(attempt):
                known, unseen = {}, None
            else:
                unseen = _describe(attempt)
            known.update((t.name, t) for t in attempt.tests)
            continue
        reported = {t.name for t in attempt.tests}
        missing = set(attempt.not_found)
        if complete(attempt) or attempt.not_found:
            missing |= {name for name in scope if name not in reported}
        lost = [name for name in dict.fromkeys(scope) if name in missing and name not in seen]
        for name in lost:
            known.pop(name, None)
        gone += lost
        seen.update(lost)
        known.update((t.name, t) for t in attempt.tests)
        # Targeted tests that never reported (a timeout) keep their failed record in `known`.
        if lost and unseen is None:
            unseen = _gone_reason(lost)
    return Settled(tests=tuple(known.values()), unseen=unseen, gone=tuple(gone))


def passing(
    status: TargetStatus,
    settled: Settled,
    *,
    finished: bool,
    fail_on_flaky: bool = False,
) -> bool:
    """Whether a target is passing in the chain: the invariant of this module."""
    if not finished or not status.ok or settled.unseen is not None:
        return False
    if fail_on_flaky and status is TargetStatus.FLAKY:
        return False
    return not any(t.status is TestStatus.FAILED for t in settled.tests)


def chain_state(passed: bool) -> ChainState:
    """`passing` or `outstanding`."""
    return ChainState.PASSING if passed else ChainState.OUTSTANDING


def needs_rerun(target: TargetResult, *, fail_on_flaky: bool = False) -> bool:
    """Whether a rerun of the summary holding `target` runs it again."""
    return target.outstanding or (fail_on_flaky and target.status is TargetStatus.FLAKY)


def run_status(
    targets: Iterable[TargetResult],
    *,
    interrupted: bool,
    policy_failures: Sequence[str] = (),
) -> RunStatus:
    """`interrupted` beats `failed` beats `passed`.

    A run fails when a target that is not quarantined is outstanding, or a
    policy failed it (an expired quarantine entry). The exit code is a
    function of this status alone.
    """
    if interrupted:
        return RunStatus.INTERRUPTED
    if policy_failures:
        return RunStatus.FAILED
    blocking = any(t.outstanding and not t.quarantined for t in targets)
    return RunStatus.FAILED if blocking else RunStatus.PASSED


def unseen_note(target: TargetResult) -> str | None:
    """What went unrun, when that adds to how the target ended (for reports), else None.

    A timeout or a kill already says the runner stopped; the note matters when the
    runner ran to its end yet could not show everything (an adapter's reason), when
    test ids are gone, or when the target passed what it ran and is still outstanding.
    """
    if target.unseen is None or target.status is TargetStatus.NOT_RUN:
        return None
    last = target.attempts[-1] if target.attempts else None
    said = last is not None and last.unseen is not None
    if said or target.gone or target.status.ok:
        return target.unseen
    return None


def root_relative(file: str | None, cwd: str | None, root: str | None) -> str | None:
    """A failure location relative to the repository root, when it lies inside it.

    Adapters report files relative to the job's directory; annotations and
    digests want them relative to the config's directory (the repository root).
    """
    if file is None or not cwd or not root or posixpath.isabs(file):
        return _inside(file, root)
    joined = posixpath.normpath(posixpath.join(cwd, file))
    return _inside(joined, root) or file


def _inside(path: str | None, root: str | None) -> str | None:
    if path is None or not root or not posixpath.isabs(path):
        return path
    relative = posixpath.relpath(path, root)
    return path if relative == ".." or relative.startswith("../") else relative
