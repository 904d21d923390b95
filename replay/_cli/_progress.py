"""What a run shows while it runs: a live line on a terminal, a line per job otherwise.

Names, commands and errors go through the run's redactor (by default: replay's own
environment's secrets and the patterns) before they are printed.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from typing import TextIO

import orjson

from replay._cli._text import printable
from replay._core.redact import Redactor, current_redactor
from replay._model.models import Attempt, Job, TargetStatus
from replay._model.outcomes import JobOutcome, attempt_status

_COLORS = {
    TargetStatus.PASSED: "32",
    TargetStatus.FLAKY: "33",
    TargetStatus.SKIPPED: "36",
    TargetStatus.NOT_RUN: "36",
}
_FAILED_COLOR = "31"

LIVE_REFRESH = 0.1
"""Seconds between redraws of the live line: smooth enough, cheap with 1,000s of jobs."""


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


class Progress:
    """A `Listener` that reports jobs as they start and finish, on stderr."""

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        verbosity: int = 0,
        live: bool | None = None,
        run_dir: str = "",
        redactor: Redactor | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.redactor = current_redactor() if redactor is None else redactor
        self.total = total
        self.verbosity = verbosity
        self.live = self.stream.isatty() if live is None else live
        self.color = use_color(self.stream)
        self.run_dir = run_dir
        self.running: dict[str, float] = {}
        self.done = 0
        self.counts: dict[TargetStatus, int] = {}
        self._last_draw = 0.0

    def _safe(self, text: str) -> str:
        return printable(self.redactor.text(text))

    def _paint(self, text: str, status: TargetStatus) -> str:
        if not self.color:
            return text
        code = _COLORS.get(status, _FAILED_COLOR)
        return f"\x1b[{code}m{text}\x1b[0m"

    def _clear(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[2K")

    def _draw(self, *, force: bool = False) -> None:
        if not self.live or self.verbosity < 0:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < LIVE_REFRESH:
            return
        self._last_draw = now
        failed = sum(n for s, n in self.counts.items() if not s.ok)
        names = self._safe(", ".join(list(self.running)[:3]))
        more = f" +{len(self.running) - 3}" if len(self.running) > 3 else ""
        line = f"[{self.done}/{self.total}] {failed} failed · running: {names}{more}"
        try:
            width = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError):  # not a real terminal after all
            width = 120
        self.stream.write("\r\x1b[2K" + line[: max(20, width - 1)])
        self.stream.flush()

    def job_started(self, job: Job, number: int) -> None:
        """Note a starting attempt."""
        self.running[job.id] = time.monotonic()
        if self.verbosity > 0 and not self.live:
            again = f" (attempt {number})" if number > 1 else ""
            self.stream.write(f"START {self._safe(job.id)}{again}\n")
        self._draw()

    def attempt_finished(self, job: Job, attempt: Attempt) -> None:
        """Note a retry when an attempt failed and another may follow."""
        self.running.pop(job.id, None)
        if self.verbosity > 0:
            # The argv that actually ran: with the adapter's options and test targeting.
            self._clear()
            ran = shlex.join(self.redactor.argv(attempt.argv)) if attempt.argv else "-"
            self.stream.write(
                f"      {self._safe(job.id)} attempt {attempt.number}: "
                f"{attempt_status(attempt).value} · {printable(ran)}\n"
            )
        self._draw()

    def job_slow(self, job: Job, number: int, elapsed: float) -> None:
        """Say that a job ran past another slow period (nextest's SLOW), on its own line."""
        if self.verbosity >= 0:
            self._clear()
            label = self._paint(f"{'SLOW':9}", TargetStatus.FLAKY)
            self.stream.write(f"{label} {self._safe(job.id)}  {elapsed:.2f}s\n")
            self._draw(force=True)

    def warning(self, job: Job, text: str) -> None:
        """A warning about a job that fails nothing (`--no-tests warn`)."""
        if self.verbosity >= 0:
            self._clear()
            label = self._paint(f"{'WARN':9}", TargetStatus.FLAKY)
            self.stream.write(f"{label} {self._safe(job.id)}  {self._safe(text)}\n")
            self._draw(force=True)

    def job_finished(self, outcome: JobOutcome) -> None:
        """Print one line for the finished job."""
        self.running.pop(outcome.job.id, None)
        self.done += 1
        status = outcome.status
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.verbosity >= 0 and (self.verbosity > 0 or not status.ok or not self.live):
            last = outcome.attempts[-1]
            label = self._paint(f"{status.value.upper():9}", status)
            where = f"  {self.run_dir}/{last.log}" if not status.ok and last.log else ""
            self._clear()
            name = self._safe(outcome.job.id)
            self.stream.write(f"{label} {name}  {last.duration:.2f}s{self._safe(where)}\n")
        self._draw(force=True)

    def close(self) -> None:
        """Erase the live line."""
        if self.live:
            self._clear()
            self.stream.flush()


class JsonLines:
    """A `Listener` for `--json`: one JSON object a line on stdout, for other tools."""

    def __init__(self, stream: TextIO | None = None, redactor: Redactor | None = None) -> None:
        self.stream = stream or sys.stdout
        self.redactor = current_redactor() if redactor is None else redactor

    def _emit(self, **fields: object) -> None:
        self.stream.write(orjson.dumps(self.redactor.data(fields)).decode() + "\n")
        self.stream.flush()

    def job_started(self, job: Job, number: int) -> None:
        """Emit `attempt_started`."""
        self._emit(event="attempt_started", job=job.id, attempt=number)

    def attempt_finished(self, job: Job, attempt: Attempt) -> None:
        """Emit `attempt_finished`."""
        self._emit(
            event="attempt_finished",
            job=job.id,
            attempt=attempt.number,
            status=attempt_status(attempt).value,
            exit_code=attempt.exit_code,
            log=attempt.log,
            error=attempt.error,
        )

    def job_finished(self, outcome: JobOutcome) -> None:
        """Emit `job_finished`."""
        self._emit(event="job_finished", job=outcome.job.id, status=outcome.status.value)

    def close(self) -> None:
        """Nothing to clean up."""
