"""What a run shows while it runs: a line per job off a terminal, a live line on one."""

from __future__ import annotations

import io

import orjson
from _support import make_job as job

from replay._cli._progress import JsonLines, Progress
from replay._model.models import Attempt
from replay._model.outcomes import JobOutcome


def outcome(name: str, exit_code: int) -> JobOutcome:
    """A finished job with one attempt."""
    attempt = Attempt(number=1, exit_code=exit_code, duration=1.5, log=f"{name}/output.log")
    return JobOutcome(job=job(name), attempts=(attempt,))


def test_one_line_per_finished_job_off_a_terminal() -> None:
    """Without a terminal: a line per job, failures with their log path, no escape codes."""
    stream = io.StringIO()
    progress = Progress(2, stream=stream, live=False, run_dir="r")
    progress.job_started(job("a"), 1)
    progress.job_finished(outcome("a", 0))
    progress.job_started(job("b"), 1)
    progress.job_finished(outcome("b", 3))
    progress.close()
    lines = stream.getvalue().splitlines()
    assert ["PASSED    a  1.50s", "FAILED    b  1.50s  r/b/output.log"] == lines
    assert "\x1b" not in stream.getvalue()


def test_quiet_shows_only_failures() -> None:
    """`-q` leaves passing jobs out."""
    stream = io.StringIO()
    progress = Progress(2, stream=stream, live=False, verbosity=-1, run_dir="r")
    progress.job_finished(outcome("a", 0))
    progress.job_finished(outcome("b", 1))
    assert "" == stream.getvalue()


def test_live_line_counts_and_names_running_jobs() -> None:
    """On a terminal, the live line says how many are done and which are running."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

        def fileno(self) -> int:
            raise OSError

    stream = Terminal()
    progress = Progress(3, stream=stream, live=True, run_dir="r")
    progress.job_started(job("first"), 1)
    progress.job_finished(outcome("first", 1))
    assert "[1/3] 1 failed" in stream.getvalue()


def test_json_lines_are_one_object_each() -> None:
    """`--json`: every event is one JSON object on its own line."""
    stream = io.StringIO()
    lines = JsonLines(stream)
    lines.job_started(job("a"), 1)
    lines.attempt_finished(job("a"), outcome("a", 2).attempts[0])
    lines.job_finished(outcome("a", 2))
    events = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert ["attempt_started", "attempt_finished", "job_finished"] == [e["event"] for e in events]
    assert 2 == events[1]["exit_code"]
