"""Tests and targets for the synthetic summaries that benchmarks time replay's code on.

Each benchmark shapes its own run (how many targets, which of them fail); these
helpers hold the rules all of them follow, as replay writes results: a failed
test carries its message and place, a passed one neither; a failed target is
outstanding in the chain, a passed one passing.
"""

from __future__ import annotations

from typing import Any

import _bench  # noqa: F401 - puts this source tree on sys.path before `replay` is imported

from replay._model.models import ChainState, TargetResult, TargetStatus, TestResult, TestStatus


def case_result(
    name: str,
    *,
    failed: bool,
    duration: float | None = None,
    message: str | None = None,
    file: str | None = None,
    line: int | None = None,
    attempt: int = 1,
) -> TestResult:
    """A test that passed, or failed with `message` (at `file`:`line` when given)."""
    if not failed:
        return TestResult(name, TestStatus.PASSED, duration=duration, attempt=attempt)
    return TestResult(
        name,
        TestStatus.FAILED,
        duration=duration,
        attempt=attempt,
        message=message,
        file=file,
        line=line,
    )


def target_result(
    name: str,
    tests: tuple[TestResult, ...],
    *,
    failed: bool,
    status: TargetStatus | None = None,
    **fields: Any,
) -> TargetResult:
    """A target of `tests` that failed (outstanding) or passed (passing in the chain); its
    status is failed or passed to match, unless given (a flaky target passed)."""
    if status is None:
        status = TargetStatus.FAILED if failed else TargetStatus.PASSED
    chain_state = ChainState.OUTSTANDING if failed else ChainState.PASSING
    return TargetResult(name=name, tests=tests, status=status, chain_state=chain_state, **fields)
