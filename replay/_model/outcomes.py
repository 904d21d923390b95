"""How attempts and jobs ended: the status rules, pure functions of the models.

The executor produces attempts; the results, the progress display and the
flake loop judge them. The rules live here, beside the models and below the
executor, so judging a run never imports anyio or the code that spawns it.
"""

from __future__ import annotations

import signal

import attrs

from replay._model.models import Attempt, Job, TargetStatus


def could_not_start(attempt: Attempt) -> bool:
    """Whether the attempt failed before its process existed (missing executable, bad cwd)."""
    return (
        attempt.error is not None
        and attempt.exit_code is None
        and attempt.signal is None
        and not attempt.timed_out
        and not attempt.interrupted
        and attempt.not_run is None
    )


def attempt_status(attempt: Attempt) -> TargetStatus:
    """How one attempt ended."""
    if attempt.interrupted or attempt.not_run is not None:
        return TargetStatus.NOT_RUN
    if attempt.timed_out:
        return TargetStatus.TIMED_OUT
    if could_not_start(attempt):
        return TargetStatus.FAILED
    if attempt.signal is not None:
        return TargetStatus.CRASHED
    if attempt.failed_by is not None:
        return TargetStatus.FAILED
    passed = attempt.exit_code == 0 or attempt.passed_by is not None
    return TargetStatus.PASSED if passed else TargetStatus.FAILED


def signal_name(number: int) -> str:
    """`SIGKILL` for 9, or the number as text when it has no name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


@attrs.frozen
class JobOutcome:
    """What happened to one job: its attempts, and whether it ever finished."""

    job: Job
    attempts: tuple[Attempt, ...] = ()
    retry_refused: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the last attempt ran to an end (not interrupted, not never started)."""
        return bool(self.attempts) and not self.attempts[-1].interrupted

    @property
    def status(self) -> TargetStatus:
        """The target status: the last attempt's, `flaky` for a pass after a failure."""
        if not self.attempts:
            return TargetStatus.NOT_RUN
        last = attempt_status(self.attempts[-1])
        if last is TargetStatus.PASSED and any(
            not attempt_status(a).ok for a in self.attempts[:-1]
        ):
            return TargetStatus.FLAKY
        return last
