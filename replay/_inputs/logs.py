"""Reading jobs' output logs back, bounded, for comparisons between runs (flake divergence)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from replay._core.flakes import Divergence, FlakeRun, divergence
from replay._store.rundir import inside

MAX_LOG_LINES = 20_000
"""Lines read from one log: where runs part is near the start of a failure, not deep in a dump."""

MAX_LINE_CHARS = 2_000
"""A longer line is cut: a minified blob in a log must not cost the memory of the whole file."""

MAX_LOGS = 50
"""Logs of each kind (passing, failing) compared: more runs add time, not insight."""


def read_log_lines(path: Path, *, max_lines: int = MAX_LOG_LINES) -> tuple[str, ...]:
    """The first `max_lines` lines of the log at `path`; () when it is missing or unreadable.

    Bytes that are not UTF-8 are replaced, not refused: a log is evidence, whatever it holds.
    """
    lines: list[str] = []
    try:
        with path.open("rb") as handle:
            for raw in handle:
                lines.append(raw[:MAX_LINE_CHARS].decode("utf-8", "replace").rstrip("\r\n"))
                if len(lines) >= max_lines:
                    break
    except OSError:
        return ()
    return tuple(lines)


def runs_divergence(run_dir: Path, runs: Sequence[FlakeRun]) -> Divergence | None:
    """Where the failing runs' logs part from the passing runs' logs (None without both)."""
    passing: list[tuple[str, ...]] = []
    failing: list[tuple[str, ...]] = []
    for run in runs:
        path = inside(run_dir, run.log) if run.log else None
        if path is None:
            continue
        bucket = passing if run.passed else failing
        if len(bucket) < MAX_LOGS:
            bucket.append(read_log_lines(path))
    return divergence(passing, failing)
