"""From job outcomes to target results and a summary: pure functions.

The chain rules (what is passing, what a rerun runs, the run status) are the
chain core's (`replay._core.chain`); this module assembles records and summaries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from replay._core.chain import (
    chain_state,
    passing,
    replay_command,
    root_relative,
    run_status,
    settle_tests,
    unseen_note,
)
from replay._model.models import (
    Attempt,
    Plan,
    Summary,
    TargetResult,
    TargetStatus,
)
from replay._model.outcomes import JobOutcome, could_not_start, signal_name


def _rebased(attempt: Attempt, cwd: str | None, root: str | None) -> Attempt:
    """`attempt` with its tests' file locations relative to the repository root."""
    if not root or not any(t.file for t in attempt.tests):
        return attempt
    tests = tuple(
        attrs.evolve(t, file=root_relative(t.file, cwd, root)) if t.file else t
        for t in attempt.tests
    )
    return attrs.evolve(attempt, tests=tests)


def target_result(
    outcome: JobOutcome,
    *,
    run_id: str,
    previous: TargetResult | None = None,
    fail_on_flaky: bool = False,
    root: str | None = None,
) -> TargetResult:
    """The summary record of one executed (or never started) job.

    It records the suite's whole command without exec prefix or targeting
    (what a later rerun starts from), so replay commands stay portable; the
    argv each attempt actually ran is on the attempt. Whether the target is
    passing is the chain core's decision (`replay._core.chain`).
    """
    job = outcome.job
    status = outcome.status
    attempts = tuple(_rebased(a, job.cwd, root) for a in outcome.attempts)
    last = attempts[-1] if attempts else None
    settled = settle_tests(job, attempts, previous)
    passed = passing(status, settled, finished=outcome.finished, fail_on_flaky=fail_on_flaky)
    return TargetResult(
        name=job.target,
        kind=job.kind,
        adapter=job.adapter,
        argv=job.suite_command or job.argv,
        status=status,
        chain_state=chain_state(passed),
        decided_by=run_id,
        env=job.env,
        cwd=job.cwd,
        exit_code=last.exit_code if last else None,
        signal=last.signal if last else None,
        duration=sum(a.duration for a in attempts),
        attempts=attempts,
        tests=settled.tests,
        log=last.log if last else None,
        quarantined=job.quarantined,
        junit_path=job.junit_path,
        retry_refused=outcome.retry_refused,
        timeout=job.timeout,
        unseen=settled.unseen,
        gone=settled.gone,
    )


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
            fail_on_flaky=plan.fail_on_flaky,
            root=plan.root,
        )
        for o in outcomes
    )
    targets = executed + plan.carried
    return Summary(
        run_id=run_id,
        status=run_status(targets, interrupted=interrupted, policy_failures=plan.policy_failures),
        started_at=started_at,
        finished_at=finished_at,
        targets=targets,
        parent_run_id=plan.parent_run_id,
        rerun_from=plan.rerun_from,
        profile=plan.profile,
        correlation_id=correlation_id or run_id,
        shard=plan.shard,
        one_command_replay=replay_command(summary_path, plan.config),
        config=plan.config,
        policy_failures=plan.policy_failures,
    )


def describe_end(target: TargetResult) -> str:
    """Why a target ended as it did, in a few words (and what of it went unrun).

    The one wording of it: `replay show`, `replay report` and report.html all say this.
    """
    text = _end(target)
    note = unseen_note(target)
    return f"{text}; not everything ran: {note}" if note else text


def _not_run(last: Attempt | None) -> str:
    if last is not None and last.interrupted:
        return "interrupted before it finished"
    reason = last and (last.not_run or last.error)
    return f"not run: {reason}" if reason else "not run (scheduled but never finished)"


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f}".removesuffix(".0") + "s"


def _stopped(target: TargetResult, last: Attempt | None) -> str | None:
    """Why the target was stopped from outside (timeout, interrupt, signal), if it was."""
    if target.status is TargetStatus.TIMED_OUT or (last is not None and last.timed_out):
        if last is not None and last.error:
            return last.error
        seconds = last.duration if last is not None and last.duration else target.duration
        return f"timed out after {_seconds(seconds)}" if seconds else "timed out"
    if last is not None and last.interrupted:
        return "interrupted before it finished"
    sig = last.signal if last is not None and last.signal is not None else target.signal
    return f"killed by signal {signal_name(sig)}" if sig is not None else None


def _end(target: TargetResult) -> str:
    last = target.attempts[-1] if target.attempts else None
    if target.status is TargetStatus.NOT_RUN:
        return _not_run(last)
    stopped = _stopped(target, last)
    if stopped is not None:
        return stopped
    if last is None:
        return _exit(target.exit_code, None) or target.status.value
    if could_not_start(last):
        return f"could not start: {last.error}"
    if target.status is TargetStatus.FLAKY:
        return f"flaky: passed on attempt {last.number} of {len(target.attempts)}"
    exit_code = last.exit_code if last.exit_code is not None else target.exit_code
    return last.failed_by or _exit(exit_code, last.error) or target.status.value


def _exit(exit_code: int | None, error: str | None) -> str | None:
    if exit_code is None:
        return None
    return f"exit code {exit_code}" + (f": {error}" if error else "")
