"""Steps that enrich a finished run's summary from its directory before it is written.

Each step takes the summary and the run directory and returns the summary with
the fields it owns filled in (digest paths and root causes, the triage status),
writing its own artifact atomically on the way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs

from replay._artifacts import write_json_atomic
from replay._models import Summary

Step = Callable[[Summary, Path], Summary]


def triage_step(baseline: Summary, baseline_path: str) -> Step:
    """`--diff-from`: write `triage_diff.json` and put its status into the summary."""

    def step(summary: Summary, run_dir: Path) -> Summary:
        from replay._diff import triage_diff, triage_status

        diff = triage_diff(
            baseline,
            summary,
            baseline_path=baseline_path,
            current_path=str(run_dir / "summary.json"),
            generated_at=summary.finished_at,
        )
        write_json_atomic(run_dir / "triage_diff.json", diff)
        return attrs.evolve(
            summary,
            diff_from=baseline_path,
            triage_diff=triage_status(diff, "triage_diff.json"),
        )

    return step
