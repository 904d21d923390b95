"""Tests for `replay._cli._report`: the end-of-run report as rows, as lines, then printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _support import make_summary, make_target

from replay._cli._report import (
    FailingRow,
    RunReport,
    SparedRow,
    policy_lines,
    report,
    report_lines,
    run_report,
)
from replay._core.redact import Redactor
from replay._exec.run import RunResult
from replay._model.models import ChainState, TargetResult

RUN = "run2"
RUN_DIR = Path("runs/run2")


def target(name: str, status: str = "passed", **fields: Any) -> TargetResult:
    """A target of run `run2` without attempts; outstanding unless it passed."""
    defaults = {"argv": ("sh", "-c", "true"), "decided_by": RUN, "log": f"{name}/output.log"}
    return make_target(name, status, **{**defaults, **fields})


def result(*targets: TargetResult, **fields: Any) -> RunResult:
    """A finished run holding `targets`, failed if any is outstanding."""
    summary = make_summary(*targets, run_id=RUN, **fields)
    return RunResult(
        summary=summary, run_dir=RUN_DIR, summary_path=RUN_DIR / "summary.json", outcomes=()
    )


def rows(*targets: TargetResult, **fields: object) -> RunReport:
    """The report rows of a run holding `targets`, with a pattern-only redactor."""
    return run_report(result(*targets, **fields), Redactor())


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        ((), "replay: passed: no targets"),
        ((target("a"), target("b")), "replay: passed: 2 passed"),
        ((target("a"), target("b", "failed")), "replay: failed: 1 failed, 1 passed"),
        (
            (target("a", chain_state=ChainState.OUTSTANDING, unseen="3 tests unrun"),),
            "replay: failed: 1 passed; 1 of them outstanding with tests unrun",
        ),
        (
            (target("a"), target("b", decided_by="run1"), target("c", "failed", decided_by="run1")),
            "replay: failed: 1 failed, 2 passed (2 carried from earlier runs)",
        ),
    ],
)
def test_headline(targets: tuple[TargetResult, ...], expected: str) -> None:
    """Counts by status, the outstanding-but-passed note and the carried count."""
    assert expected == rows(*targets).headline


@pytest.mark.parametrize(
    ("targets", "expected_failing", "expected_spared"),
    [
        # Passed what ran but left tests unrun: listed with the reason.
        (
            (target("s", chain_state=ChainState.OUTSTANDING, unseen="3 tests unrun"),),
            ("s",),
            (),
        ),
        # Quarantined and outstanding: set apart, not in the table of failures.
        ((target("q", "failed", quarantined=True),), (), ("q",)),
        # Flaky: listed though it passed.
        ((target("f", "flaky"),), ("f",), ()),
        # Carried from an earlier run: neither listed nor set apart.
        ((target("c", "failed", decided_by="run1"),), (), ()),
        ((target("c", "failed", decided_by="run1", quarantined=True),), (), ()),
        # Passed, or quarantined and passed: nothing to say.
        ((target("p"), target("qp", quarantined=True)), (), ()),
    ],
)
def test_which_targets_are_listed(
    targets: tuple[TargetResult, ...],
    expected_failing: tuple[str, ...],
    expected_spared: tuple[str, ...],
) -> None:
    """The table lists outstanding and flaky targets of this run; quarantined ones apart."""
    report_rows = rows(*targets)
    actual = (
        tuple(row.name for row in report_rows.failing),
        tuple(row.name for row in report_rows.spared),
    )
    assert (expected_failing, expected_spared) == actual


def test_failing_row_fields() -> None:
    """A row carries why it ended, root cause and quarantine tag, log and refused retry."""
    flaky = target(
        "f",
        "flaky",
        root_cause="panic",
        quarantined=True,
        retry_refused="suspected panic",
    )
    unseen = target("s", chain_state=ChainState.OUTSTANDING, unseen="3 tests unrun", log=None)
    expected = (
        FailingRow(
            status="flaky",
            name="f",
            why="flaky",
            tag=" · panic [quarantined]",
            log="runs/run2/f/output.log",
            no_retry="suspected panic",
        ),
        FailingRow(
            status="passed",
            name="s",
            why="passed; not everything ran: 3 tests unrun",
            tag="",
            log="-",
            no_retry=None,
        ),
    )
    assert expected == rows(flaky, unseen).failing


def test_spared_row_fields() -> None:
    """A quarantined outstanding target keeps its status and why it ended."""
    expected = (SparedRow(status="failed", name="q", why="failed"),)
    assert expected == rows(target("q", "failed", quarantined=True)).spared


@pytest.mark.parametrize(
    ("outstanding", "expected"),
    [
        (True, "python -m replay --rerun-from runs/run2/summary.json"),
        (False, None),
    ],
)
def test_replay_command_only_when_outstanding(outstanding: bool, expected: str | None) -> None:
    """The replay command is offered only when something is outstanding."""
    status = "failed" if outstanding else "passed"
    command = "python -m replay --rerun-from runs/run2/summary.json"
    report_rows = rows(target("a", status), one_command_replay=command)
    assert (expected, "runs/run2/summary.json") == (
        report_rows.replay_command,
        report_rows.summary_path,
    )


def test_rows_are_redacted_and_printable() -> None:
    """Names and reasons pass through the run's redactor and lose control characters."""
    secret = "s3cret-value-1234"  # noqa: S105 - a made-up secret the redactor must mask
    redactor = Redactor.from_environments({"API_TOKEN": secret})
    hostile = target(f"x{secret}\x1b[2J", "failed", retry_refused=f"saw {secret}")
    [row] = run_report(result(hostile), redactor).failing
    leaks = (secret in row.name, "\x1b" in row.name, secret in (row.no_retry or secret))
    assert (False, False, False) == leaks


LINES_REPORT = RunReport(
    headline="replay: failed: 1 failed, 1 flaky",
    failing=(
        FailingRow("failed", "long_name", "exit code 1", " · panic", "runs/r/a.log", None),
        FailingRow("flaky", "b", "flaky: passed on attempt 2 of 2", "", "-", "suspected panic"),
    ),
    spared=(SparedRow("failed", "q", "exit code 1"),),
    summary_path="runs/r/summary.json",
    replay_command="python -m replay --rerun-from runs/r/summary.json",
)


@pytest.mark.parametrize(
    ("verbosity", "expected"),
    [
        (
            0,
            (
                "",
                "replay: failed: 1 failed, 1 flaky",
                "  failed    long_name  exit code 1 · panic",
                "                       log: runs/r/a.log",
                "  flaky     b          flaky: passed on attempt 2 of 2",
                "                       log: -",
                "                       no retry: suspected panic",
                "quarantined, not failing the run:",
                "  failed    q  exit code 1",
                "summary: runs/r/summary.json",
                "replay what is outstanding with:",
                "  python -m replay --rerun-from runs/r/summary.json",
            ),
        ),
        (
            -2,
            (
                "",
                "replay: failed: 1 failed, 1 flaky",
                "quarantined, not failing the run:",
                "  failed    q  exit code 1",
                "summary: runs/r/summary.json",
                "replay what is outstanding with:",
                "  python -m replay --rerun-from runs/r/summary.json",
            ),
        ),
    ],
)
def test_report_lines(verbosity: int, expected: tuple[str, ...]) -> None:
    """The table aligns names to the longest; `-qq` drops it, the rest stays."""
    assert expected == report_lines(LINES_REPORT, verbosity)


def test_report_lines_without_problems() -> None:
    """A green run: the headline and where the summary is, nothing else."""
    quiet = RunReport("replay: passed: 1 passed", (), (), "runs/r/summary.json", None)
    expected = ("", "replay: passed: 1 passed", "summary: runs/r/summary.json")
    assert expected == report_lines(quiet)


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        ((), ()),
        (
            ("entry q expired on 2026-01-01", "entry r has no owner"),
            (
                "replay: quarantine: entry q expired on 2026-01-01",
                "replay: quarantine: entry r has no owner",
                "replay: failing the run: renew or remove the entries above",
            ),
        ),
    ],
)
def test_policy_lines(failures: tuple[str, ...], expected: tuple[str, ...]) -> None:
    """Each quarantine policy failure is a line, then what to do about them."""
    summary = result(target("a"), policy_failures=failures).summary
    assert expected == policy_lines(summary, Redactor())


def test_report_prints_the_lines_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """`report` prints exactly `report_lines` of `run_report`, on stderr only."""
    run = result(target("a", "failed"), target("q", "failed", quarantined=True))
    report(run, redactor=Redactor())
    captured = capsys.readouterr()
    expected = "".join(f"{line}\n" for line in report_lines(run_report(run, Redactor())))
    assert (expected, "") == (captured.err, captured.out)
