"""The one interface every runner adapter implements."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import attrs

from replay._model.models import Job, TestResult


@attrs.frozen
class Report:
    """What one attempt's runner output showed: the tests, and what it could not show."""

    tests: tuple[TestResult, ...] = ()
    unseen: str | None = None
    """Why some tests the attempt was asked to run may never have run, in a few words.

    For example a test binary cargo skipped after a build error, a pytest session
    interrupted by a collection error or `-x`, a Go package that did not build.
    None when the runner reported on everything it was asked to run.
    """
    not_found: tuple[str, ...] = ()
    """Targeted test ids the runner said do not exist (renamed or deleted tests)."""


class Adapter(Protocol):
    """Knows one test runner: how to run it, read its results and target single tests.

    Adapters are pure except for `parse`, which reads the attempt's own files.
    """

    name: str
    no_tests_exit_codes: frozenset[int]
    """Exit codes by which the runner says it ran no test (pytest's 5); most exit 0."""

    def command(self, job: Job, attempt_dir: Path) -> tuple[str, ...]:
        """The argv to run for one attempt (e.g. pytest gets `--junitxml` into `attempt_dir`)."""
        ...

    def parse(self, log: Path, attempt_dir: Path, job: Job) -> Report:
        """Per-test results of one attempt, from its output log and files in `attempt_dir`.

        Must never raise on arbitrary content and must stream the log (it may be GBs).
        """
        ...

    def targeted(self, argv: tuple[str, ...], tests: tuple[str, ...]) -> tuple[str, ...] | None:
        """The argv that runs exactly `tests` of the suite run by `argv`, or None if unknown."""
        ...
