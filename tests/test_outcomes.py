"""The status rules (`_model.outcomes`): how an attempt ended, and what that makes its job."""

from __future__ import annotations

import signal

import pytest

from replay._model.models import Attempt, Job, TargetStatus
from replay._model.outcomes import JobOutcome, attempt_status, could_not_start, signal_name

JOB = Job(id="s", target="s", kind="unit", adapter="generic", argv=("true",))


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        (Attempt(number=1, exit_code=0), TargetStatus.PASSED),
        (Attempt(number=1, exit_code=1), TargetStatus.FAILED),
        (Attempt(number=1, signal=9), TargetStatus.CRASHED),
        (Attempt(number=1, timed_out=True, signal=15), TargetStatus.TIMED_OUT),
        (Attempt(number=1, interrupted=True, timed_out=True), TargetStatus.NOT_RUN),
        (Attempt(number=1, error="no such file: pytest"), TargetStatus.FAILED),
    ],
)
def test_attempt_status(attempt: Attempt, expected: TargetStatus) -> None:
    """Interrupted beats timed out, which beats a signal, which beats the exit code."""
    assert expected == attempt_status(attempt)


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        (Attempt(number=1, error="no such file: pytest"), True),
        (Attempt(number=1, error="no such file: pytest", exit_code=1), False),
        (Attempt(number=1, error="timed out", timed_out=True), False),
        (Attempt(number=1, error="interrupted", interrupted=True), False),
        (Attempt(number=1, exit_code=127), False),
    ],
)
def test_could_not_start(attempt: Attempt, expected: bool) -> None:
    """Only an error with no exit, no signal, no timeout and no interrupt never started."""
    assert expected == could_not_start(attempt)


@pytest.mark.parametrize(
    ("exit_codes", "expected"),
    [
        ((), TargetStatus.NOT_RUN),
        ((0,), TargetStatus.PASSED),
        ((1,), TargetStatus.FAILED),
        ((1, 0), TargetStatus.FLAKY),
        ((0, 1), TargetStatus.FAILED),
    ],
)
def test_job_status(exit_codes: tuple[int, ...], expected: TargetStatus) -> None:
    """A job has its last attempt's status, `flaky` for a pass after a failure."""
    attempts = tuple(Attempt(number=n, exit_code=c) for n, c in enumerate(exit_codes, 1))
    assert expected == JobOutcome(job=JOB, attempts=attempts).status


def test_interrupted_job_is_not_finished() -> None:
    """A job whose last attempt was interrupted has not finished; one never started neither."""
    assert not JobOutcome(job=JOB).finished
    assert not JobOutcome(job=JOB, attempts=(Attempt(number=1, interrupted=True),)).finished
    assert JobOutcome(job=JOB, attempts=(Attempt(number=1, exit_code=1),)).finished


@pytest.mark.parametrize(
    ("number", "expected"),
    [(int(signal.SIGKILL), "SIGKILL"), (int(signal.SIGTERM), "SIGTERM"), (250, "250")],
)
def test_signal_name(number: int, expected: str) -> None:
    """A signal's name, or its number when it has none."""
    assert expected == signal_name(number)
