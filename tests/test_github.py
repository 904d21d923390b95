"""GitHub Actions output: annotations that cannot be injected into, and a step summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from replay._github import annotation, annotation_lines, escape_data, step_summary
from replay._models import ChainState, RunStatus, Summary, TargetResult, TargetStatus


def target(name: str, **fields: object) -> TargetResult:
    """An outstanding failed target decided by run `r`."""
    values: dict[str, object] = {
        "kind": "e2e",
        "adapter": "cargo",
        "argv": ("cargo", "test", "--test", name),
        "status": TargetStatus.FAILED,
        "chain_state": ChainState.OUTSTANDING,
        "decided_by": "r",
    }
    values.update(fields)
    return TargetResult(name=name, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("a%b", "a%25b"), ("line\nnext", "line%0Anext"), ("cr\r", "cr%0D"), ("plain", "plain")],
)
def test_escape_data(text: str, escaped: str) -> None:
    """Workflow command data escapes %, CR and LF."""
    assert escaped == escape_data(text)


def test_annotation_points_at_the_failing_assertion() -> None:
    """The digest's first failing assertion gives file and line."""
    digest = {
        "root_cause_class": "assertion_failure",
        "first_failing_assertion": {"file": "tests/it.rs", "line": 42, "message": "left != right"},
    }
    line = annotation(target("it"), digest, "exit code 101")
    assert line.startswith("::error file=tests/it.rs,line=42,title=it%3A failed::")
    assert "exit code 101 (assertion_failure)%0Aleft != right" in line


def test_hostile_names_cannot_inject_commands() -> None:
    """A name with newlines and `::` stays inside one escaped annotation line."""
    hostile = "x\n::error::injected,title=y"
    line = annotation(target(hostile), None, "exit code 1")
    assert 1 == len(line.splitlines())
    assert "title=x%0A%3A%3Aerror%3A%3Ainjected%2Ctitle=y%3A failed::" in line


def test_quarantined_targets_are_warnings_and_only_this_run_counts() -> None:
    """Quarantined failures warn; targets carried from earlier runs are not annotated."""
    summary = Summary(
        run_id="r",
        status=RunStatus.FAILED,
        started_at="",
        finished_at="",
        targets=(target("q", quarantined=True), target("old", decided_by="r0")),
    )
    lines = annotation_lines(summary, {}, {})
    assert 1 == len(lines)
    assert lines[0].startswith("::warning ")


def test_step_summary_lists_failures_and_the_replay_command() -> None:
    """The Markdown names each outstanding target and ends with the replay command."""
    summary = Summary(
        run_id="r",
        status=RunStatus.FAILED,
        started_at="",
        finished_at="",
        targets=(target("a|b", log="a_b/output.log"),),
        one_command_replay="python -m replay --rerun-from r/summary.json",
    )
    text = step_summary(summary, {"a|b": "exit code 1"}, "r")
    assert "| `a\\|b` | failed | exit code 1 | `r/a_b/output.log` |" in text
    assert "python -m replay --rerun-from r/summary.json" in text


def test_github_mode_end_to_end(tmp_path: Path) -> None:
    """With GITHUB_ACTIONS=true a red run prints `::error` and appends the step summary."""
    step = tmp_path / "step.md"
    result = subprocess.run(
        [sys.executable, "-m", "replay", "run", "--out", "r", "-q", "--", "false"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step)},
    )
    assert 1 == result.returncode
    assert result.stdout.startswith("::error title=false%3A failed::")
    assert "replay: failed" in step.read_text()
