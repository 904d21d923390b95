"""From job outcomes to target results and a summary: pure functions.

This is where chain semantics live: a rerun's targets are merged with what the
parent summary knew, tests that were not rerun keep their state, and targets
that never finished stay outstanding.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

from replay._executor import JobOutcome, could_not_start
from replay._models import (
    Attempt,
    ChainState,
    Plan,
    RunStatus,
    Summary,
    TargetResult,
    TargetStatus,
    TestResult,
)

RERUN_COMMAND = ("python", "-m", "replay", "--rerun-from")


def one_command_replay(summary_path: str, config: str | None = None) -> str:
    """The one command that reruns what a summary leaves outstanding."""
    extra = ("--config", config) if config else ()
    return shlex.join((*RERUN_COMMAND, summary_path, *extra))


def merge_tests(
    previous: Sequence[TestResult], latest: Sequence[TestResult]
) -> tuple[TestResult, ...]:
    """Tests of a target across a chain: the latest result of each, previous order first."""
    merged: dict[str, TestResult] = {t.name: t for t in previous}
    merged.update({t.name: t for t in latest})
    return tuple(merged.values())


def _last_tests(attempts: Sequence[Attempt]) -> tuple[TestResult, ...]:
    """Each test's result in its latest attempt that reported it."""
    seen: dict[str, TestResult] = {}
    for attempt in attempts:
        for test in attempt.tests:
            seen[test.name] = test
    return tuple(seen.values())


def target_result(
    outcome: JobOutcome,
    *,
    run_id: str,
    previous: TargetResult | None = None,
) -> TargetResult:
    """The summary record of one executed (or never started) job.

    It records the suite's whole command without exec prefix or targeting
    (what a later rerun starts from), so replay commands stay portable.
    """
    job = outcome.job
    status = outcome.status
    last = outcome.attempts[-1] if outcome.attempts else None
    tests = _last_tests(outcome.attempts)
    if previous is not None and job.tests:
        tests = merge_tests(previous.tests, tests)
    passing = status.ok and outcome.finished
    return TargetResult(
        name=job.target,
        kind=job.kind,
        adapter=job.adapter,
        argv=job.suite_command or job.argv,
        status=status,
        chain_state=ChainState.PASSING if passing else ChainState.OUTSTANDING,
        decided_by=run_id,
        env=job.env,
        cwd=job.cwd,
        exit_code=last.exit_code if last else None,
        signal=last.signal if last else None,
        duration=sum(a.duration for a in outcome.attempts),
        attempts=outcome.attempts,
        tests=tests,
        log=last.log if last else None,
        quarantined=job.quarantined,
        junit_path=job.junit_path,
        retry_refused=outcome.retry_refused,
        timeout=job.timeout,
    )


def run_status(targets: Sequence[TargetResult], *, interrupted: bool) -> RunStatus:
    """`interrupted` beats `failed` beats `passed`; quarantined failures do not fail a run."""
    if interrupted:
        return RunStatus.INTERRUPTED
    blocking = [t for t in targets if t.outstanding and not t.quarantined]
    return RunStatus.FAILED if blocking else RunStatus.PASSED


def build_summary(
    plan: Plan,
    outcomes: Sequence[JobOutcome],
    *,
    run_id: str,
    started_at: str,
    finished_at: str,
    interrupted: bool,
    summary_path: str,
    previous: Mapping[str, TargetResult] | None = None,
    correlation_id: str | None = None,
) -> Summary:
    """The summary of a run: executed targets in plan order, then carried ones."""
    previous = previous or {}
    executed = tuple(
        target_result(
            o,
            run_id=run_id,
            previous=previous.get(o.job.target),
        )
        for o in outcomes
    )
    targets = executed + plan.carried
    return Summary(
        run_id=run_id,
        status=run_status(targets, interrupted=interrupted),
        started_at=started_at,
        finished_at=finished_at,
        targets=targets,
        parent_run_id=plan.parent_run_id,
        rerun_from=plan.rerun_from,
        profile=plan.profile,
        correlation_id=correlation_id or run_id,
        shard=plan.shard,
        one_command_replay=one_command_replay(summary_path, plan.config),
        config=plan.config,
    )


def describe_end(target: TargetResult) -> str:
    """Why a target ended as it did, in a few words."""
    from replay._executor import signal_name

    last = target.attempts[-1] if target.attempts else None
    if target.status is TargetStatus.NOT_RUN:
        return "interrupted" if last and last.interrupted else "not run"
    if last is None:
        return str(target.status.value)
    if last.timed_out:
        return last.error or "timed out"
    if could_not_start(last):
        return last.error or "could not start"
    if last.signal is not None:
        return f"killed by {signal_name(last.signal)}"
    text = f"exit code {last.exit_code}"
    if target.status is TargetStatus.FLAKY:
        text = f"flaky: passed on attempt {last.number} of {len(target.attempts)}"
    return text
