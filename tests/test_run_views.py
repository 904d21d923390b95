"""The views of a run (`report.html`, `trace.json`) show the status its summary has."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from _support import signalled_while_finalising


def _views(run_dir: Path) -> tuple[str, str, str]:
    """The run's status as the summary, the trace and the page each tell it."""
    summary = orjson.loads((run_dir / "summary.json").read_bytes())
    trace = orjson.loads((run_dir / "trace.json").read_bytes())
    page = (run_dir / "report.html").read_text()
    shown = [s for s in ("interrupted", "failed", "passed") if f"verdict {s}" in page]
    return summary["status"], trace["otherData"]["status"], ",".join(shown)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_signal_during_the_digest_step_makes_every_view_interrupted(
    tmp_path: Path, backend: str
) -> None:
    """A signal after the digests: summary, trace and page all say `interrupted` (exit 130).

    The views used to be written with the digests, before the status was decided:
    the page said `passed` while the summary said `interrupted`.
    """
    completed = signalled_while_finalising(tmp_path / "run", backend)
    assert (0, "interrupted 130\n") == (completed.returncode, completed.stdout), completed.stderr
    assert ("interrupted", "interrupted", "interrupted") == _views(tmp_path / "run")


def test_a_plain_run_writes_its_views_from_the_final_summary(tmp_path: Path) -> None:
    """Without a signal every view says `passed`, as the summary does."""
    from replay import Job, Plan, run

    plan = Plan(jobs=(Job(id="ok", target="ok", kind="unit", adapter="generic", argv=("true",)),))
    result = run(plan, tmp_path / "run")
    assert 0 == result.exit_code
    assert ("passed", "passed", "passed") == _views(tmp_path / "run")
