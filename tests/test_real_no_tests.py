"""`--no-tests fail` on a real runner filter that matched nothing: semver 1.0.14's cargo tests.

`replay run -- cargo test -- NoMatch` on Debian's `librust-semver-dev` sources: cargo exits 0
having run none of the crate's 35 tests, replay fails the suite (exit 1) and records why in the
attempt's `failed_by`. The fixture is that run's summary.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _support import fixture_path, replay

from replay._core.results import describe_end
from replay._exec.executor import judged
from replay._inputs.readers import load_summary
from replay._model.models import Attempt, Job, TargetStatus
from replay._model.outcomes import attempt_status

FIXTURE = fixture_path("real", "semver_no_tests_summary.json")
WHY = "no tests ran: the cargo adapter saw none (--no-tests fail)"


def test_the_run_failed_and_recorded_why() -> None:
    summary = load_summary(FIXTURE)
    (target,) = summary.targets
    assert ("failed", 0) == (summary.status.value, target.exit_code)
    assert WHY == target.attempts[-1].failed_by
    assert WHY == describe_end(target)  # what report.html shows


def test_show_says_no_tests_ran_not_exit_code_0(tmp_path: Path) -> None:
    shown = replay(tmp_path, "show", str(FIXTURE))
    assert 1 == shown.returncode, shown.stderr
    assert WHY in shown.stdout
    assert "why:    exit code 0" not in shown.stdout


PYTEST_FIXTURE = fixture_path("real", "toolz_no_tests_pass_summary.json")
"""`replay run --no-tests pass -- python -m pytest ... toolz/tests/test_curried.py -k nomatch`
on toolz 1.2.0: pytest deselects all 11 tests and exits 5 ("no tests collected"); replay
failed the run (exit 1) although the user asked for `--no-tests pass`."""


def _pytest_job_and_attempt() -> tuple[Job, Attempt]:
    (target,) = load_summary(PYTEST_FIXTURE).targets
    job = Job(id="python", target=target.name, kind=target.kind, adapter="pytest", argv=target.argv)
    return job, target.attempts[-1]


def test_pytest_exits_5_having_seen_no_test() -> None:
    job, attempt = _pytest_job_and_attempt()
    assert (5, ()) == (attempt.exit_code, attempt.tests)
    assert TargetStatus.FAILED is attempt_status(judged(job, attempt, "fail")[0])


@pytest.mark.parametrize("no_tests", ["pass", "warn"])
def test_no_tests_pass_and_warn_count_pytest_exit_5_as_no_tests(no_tests: str) -> None:
    job, attempt = _pytest_job_and_attempt()
    judged_attempt, warning = judged(job, attempt, no_tests)
    assert TargetStatus.PASSED is attempt_status(judged_attempt)
    assert (warning is None) == (no_tests == "pass")
