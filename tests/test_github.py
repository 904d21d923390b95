"""GitHub Actions output: annotations that cannot be injected into, and a step summary."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
from _support import make_summary, make_target, replay
from hypothesis import given
from hypothesis import strategies as st

from replay._core.github import (
    annotation,
    annotation_lines,
    escape_data,
    markdown_code,
    markdown_text,
    step_summary,
)
from replay._core.redact import REDACTED, Redactor
from replay._model.models import Summary, TargetResult


def run_r(*targets: TargetResult, **changes: Any) -> Summary:
    """A summary of run `r` holding `targets`."""
    return make_summary(*targets, run_id="r", **changes)


def target(name: str, **fields: Any) -> TargetResult:
    """An outstanding failed cargo target decided by run `r`."""
    cargo = {"adapter": "cargo", "argv": ("cargo", "test", "--test", name), "decided_by": "r"}
    return make_target(name, **{**cargo, **fields})


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
    summary = run_r(target("q", quarantined=True), target("old", decided_by="r0"))
    lines = annotation_lines(summary, {}, {})
    assert 1 == len(lines)
    assert lines[0].startswith("::warning ")


def test_step_summary_lists_failures_and_the_replay_command() -> None:
    """The Markdown names each outstanding target and ends with the replay command."""
    summary = run_r(
        target("a|b", log="a_b/output.log"),
        one_command_replay="python -m replay --rerun-from r/summary.json",
    )
    text = step_summary(summary, {"a|b": "exit code 1"}, "r")
    assert "| ` a\\|b ` | failed | exit code 1 | ` r/a_b/output.log ` |" in text
    assert "python -m replay --rerun-from r/summary.json" in text


def gfm_cells(row: str) -> list[str]:
    """A table row's cells as GFM splits them: a backslash and the punctuation after it pair up."""
    cells, cell, index = [], "", 0
    while index < len(row):
        char = row[index]
        if char == "\\" and index + 1 < len(row) and row[index + 1] in string.punctuation:
            cell += row[index : index + 2]
            index += 2
            continue
        if char == "|":
            cells.append(cell)
            cell = ""
        else:
            cell += char
        index += 1
    cells.append(cell)
    return [c.strip() for c in cells[1:-1]]


def code_span(cell: str) -> str:
    """The text a cell holding one CommonMark code span shows (GFM unescapes `\\|` first)."""
    cell = cell.replace("\\|", "|")
    fence = len(cell) - len(cell.lstrip("`"))
    assert cell.endswith("`" * fence)
    inside = cell[fence:-fence]
    assert "`" * fence not in inside.replace("`" * (fence + 1), "")
    if inside.startswith(" ") and inside.endswith(" ") and inside.strip(" "):
        inside = inside[1:-1]
    return inside


def literal(cell: str) -> str:
    """The text a cell of backslash-escaped punctuation shows."""
    out, index = "", 0
    while index < len(cell):
        if cell[index] == "\\" and index + 1 < len(cell) and cell[index + 1] in string.punctuation:
            index += 1
        out += cell[index]
        index += 1
    return out


HOSTILE_NAMES = [
    "a`b",
    "``double``",
    "`starts",
    "ends`",
    "pipe|inside",
    "two\nlines",
    "<script>alert(1)</script>",
    "*emph* [link](x) &amp;",
    "back\\slash\\|pipe",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_step_summary_row_survives_hostile_names(name: str) -> None:
    """A backtick, `|`, newline or `<` in a name or reason keeps the row at four cells."""
    summary = run_r(target(name, log="x/output.log"))
    text = step_summary(summary, {name: f"why {name}"}, "r")
    (row,) = [line for line in text.splitlines() if line.startswith("| ") and "failed" in line]
    cells = gfm_cells(row)
    assert 4 == len(cells)
    assert "failed" == cells[1]
    assert f"why {' '.join(name.splitlines())}" == literal(cells[2])


@pytest.mark.parametrize("name", [n for n in HOSTILE_NAMES if "\\|" not in n])
def test_step_summary_shows_hostile_names_as_they_are(name: str) -> None:
    """The name's code span shows the name itself (on one line)."""
    assert " ".join(name.splitlines()) == code_span(markdown_code(name))


@given(st.text())
def test_markdown_code_is_one_cell_that_shows_the_text(text: str) -> None:
    """Any text becomes one table cell; without a backslash before `|` it shows as it was."""
    row = f"| {markdown_code(text)} |"
    assert 1 == len(row.splitlines())
    cells = gfm_cells(row)
    assert 1 == len(cells)
    shown = " ".join(text.splitlines())
    if "\\|" not in shown and shown.strip(" ") and shown == shown.strip():
        assert shown == code_span(cells[0])


@given(st.text())
def test_markdown_text_is_one_literal_cell(text: str) -> None:
    """Any text becomes one table cell of literal characters."""
    cells = gfm_cells(f"| {markdown_text(text)} |")
    assert [" ".join(text.splitlines()).strip()] == [literal(c) for c in cells]


def test_replay_command_block_outlasts_backticks() -> None:
    """The replay command's fence is longer than any run of backticks in it."""
    summary = run_r(target("t"), one_command_replay="replay --config '```x````'")
    lines = step_summary(summary, {}, "r").splitlines()
    start = lines.index("`````bash")
    assert ["replay --config '```x````'", "`````"] == lines[start + 1 : start + 3]


def test_annotation_masks_secret_values_and_patterns() -> None:
    """The run's redactor masks a secret value and `AWS_SECRET_ACCESS_KEY=` in an annotation."""
    redactor = Redactor.from_environments({"DEPLOY_TOKEN": "s3cr3t-value-42"})
    digest = {
        "first_failing_assertion": {
            "file": "t.py",
            "line": 1,
            "message": "got s3cr3t-value-42 with AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG",
        }
    }
    line = annotation(target("t"), digest, "exit code 1", redactor)
    assert "s3cr3t-value-42" not in line
    assert "wJalrXUtnFEMI" not in line
    assert f"got {REDACTED} with AWS_SECRET_ACCESS_KEY={REDACTED}" in line


def test_github_mode_end_to_end(tmp_path: Path) -> None:
    """With GITHUB_ACTIONS=true a red run prints `::error` and appends the step summary."""
    step = tmp_path / "step.md"
    result = replay(
        tmp_path,
        *("run", "--out", "r", "-q", "--", "false"),
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step)},
    )
    assert 1 == result.returncode
    assert result.stdout.startswith("::error title=false%3A failed::")
    assert "replay: failed" in step.read_text()
