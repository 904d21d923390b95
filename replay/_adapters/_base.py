"""The one interface every runner adapter implements."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from replay._models import Job, TestResult


class Adapter(Protocol):
    """Knows one test runner: how to run it, read its results and target single tests.

    Adapters are pure except for `parse`, which reads the attempt's own files.
    """

    name: str

    def command(self, job: Job, attempt_dir: Path) -> tuple[str, ...]:
        """The argv to run for one attempt (e.g. pytest gets `--junitxml` into `attempt_dir`)."""
        ...

    def parse(self, log: Path, attempt_dir: Path, job: Job) -> tuple[TestResult, ...]:
        """Per-test results of one attempt, from its output log and files in `attempt_dir`.

        Must never raise on arbitrary content and must stream the log (it may be GBs).
        """
        ...

    def targeted(self, argv: tuple[str, ...], tests: tuple[str, ...]) -> tuple[str, ...] | None:
        """The argv that runs exactly `tests` of the suite run by `argv`, or None if unknown."""
        ...
