"""The generic adapter: a suite is one command and its exit code is all there is."""

from __future__ import annotations

from pathlib import Path

from replay._adapters._base import Report
from replay._model.models import Job


class GenericAdapter:
    """Exit code only: no per-test results, no targeted reruns."""

    name = "generic"
    no_tests_exit_codes: frozenset[int] = frozenset()

    def command(self, job: Job, attempt_dir: Path) -> tuple[str, ...]:
        """The job's argv, unchanged."""
        return job.argv

    def parse(self, log: Path, attempt_dir: Path, job: Job) -> Report:
        """No per-test results."""
        return Report()

    def targeted(self, argv: tuple[str, ...], tests: tuple[str, ...]) -> tuple[str, ...] | None:
        """A generic command cannot be narrowed to single tests."""
        return None
