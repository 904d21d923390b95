"""Tests for `replay show`: the report rows, the text and JSON forms, the exit code."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest
from _support import fixture_path, make_summary, make_target, refusal

from replay._cli._show import (
    ShowReport,
    ShowRow,
    ShowTotals,
    format_report,
    register,
    replay_line,
    show_report,
    show_rows,
    why,
)
from replay._core.chain import failed_tests
from replay._core.summary import summary_document
from replay._inputs.readers import load_summary
from replay._model.convert import unstructure
from replay._model.errors import InputError
from replay._model.models import (
    Attempt,
    ChainState,
    RunStatus,
    TargetResult,
    TargetStatus,
    TestResult,
    TestStatus,
)

FIXTURES = fixture_path("summaries")
BASE = Path("/runs/r1")
HERE = Path("/work/project")
"""The directory the text report is printed in, for the pure tests."""


def _run(argv: list[str]) -> int:
    """Parse `argv` with only `show` registered and call its handler."""
    parser = argparse.ArgumentParser(prog="replay")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


# --- why ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (make_target(exit_code=101), "exit code 101"),
        (make_target(attempts=(Attempt(number=1, exit_code=3),)), "exit code 3"),
        (
            make_target(attempts=(Attempt(number=1, exit_code=1, error="result file missing"),)),
            "exit code 1: result file missing",
        ),
        (
            make_target(
                status=TargetStatus.TIMED_OUT, attempts=(Attempt(1, signal=9, duration=600),)
            ),
            "timed out after 600s",
        ),
        (
            make_target(attempts=(Attempt(number=1, timed_out=True, duration=12.25),)),
            "timed out after 12.2s",
        ),
        (make_target(status=TargetStatus.TIMED_OUT), "timed out"),
        (make_target(status=TargetStatus.CRASHED, signal=11), "killed by signal SIGSEGV"),
        (make_target(attempts=(Attempt(number=1, signal=15),)), "killed by signal SIGTERM"),
        (make_target(attempts=(Attempt(number=1, signal=250),)), "killed by signal 250"),
        (
            make_target(attempts=(Attempt(number=1, interrupted=True, signal=2),)),
            "interrupted before it finished",
        ),
        (
            make_target(attempts=(Attempt(number=1, error="executable not found: cargo"),)),
            "could not start: executable not found: cargo",
        ),
        (make_target(status=TargetStatus.NOT_RUN), "not run (scheduled but never finished)"),
        (
            make_target(status=TargetStatus.NOT_RUN, attempts=(Attempt(1, error="listed"),)),
            "not run: listed",
        ),
        (make_target(status=TargetStatus.FAILED), "failed"),
        (
            make_target(exit_code=1, attempts=(Attempt(1, exit_code=101), Attempt(2, exit_code=1))),
            "exit code 1",
        ),
    ],
)
def test_why(target: TargetResult, expected: str) -> None:
    """Timeouts, interrupts, signals, exit codes and start errors are said in words."""
    assert expected == why(target)


# --- failed tests -------------------------------------------------------------------------


def _test(name: str, status: TestStatus, attempt: int = 1) -> TestResult:
    return TestResult(name=name, status=status, attempt=attempt)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (make_target(), ()),
        (
            make_target(
                tests=(
                    _test("a", TestStatus.PASSED),
                    _test("b", TestStatus.FAILED),
                    _test("c", TestStatus.SKIPPED),
                    _test("d", TestStatus.FAILED),
                )
            ),
            ("b", "d"),
        ),
    ],
)
def test_failed_tests(target: TargetResult, expected: tuple[str, ...]) -> None:
    """show lists the chain core's failed tests: the target's tests that are failing."""
    assert expected == failed_tests(target)


def cargo_row(
    name: str, kind: str, cwd: str | None, failed_tests: tuple[str, ...], root_cause: str
) -> ShowRow:
    """The row of `cargo test --test NAME` that exited 101 in run r1 (decided by r0), with the
    log and digest it left under /runs/r1/NAME/."""
    return ShowRow(
        name=name,
        kind=kind,
        status=TargetStatus.FAILED,
        why="exit code 101",
        command=f"cargo test --test {name}",
        argv=("cargo", "test", "--test", name),
        cwd=cwd,
        decided_by="r0",
        failed_tests=failed_tests,
        log=f"/runs/r1/{name}/output.log",
        root_cause=root_cause,
        digest=f"/runs/r1/{name}/failure_digest.json",
    )


# --- rows and report -----------------------------------------------------------------------


def test_show_rows_only_outstanding_with_absolute_paths() -> None:
    """Rows cover outstanding targets only; inside paths become absolute under base_dir."""
    summary = make_summary(
        make_target("ok", status=TargetStatus.PASSED, chain_state=ChainState.PASSING),
        make_target(
            "bad",
            kind="unit",
            argv=("cargo", "test", "--test", "bad"),
            exit_code=101,
            log="bad/output.log",
            digest="bad/failure_digest.json",
            root_cause="panic",
            decided_by="r0",
            tests=(_test("bad::one", TestStatus.FAILED),),
        ),
    )
    expected = (cargo_row("bad", "unit", None, ("bad::one",), "panic"),)
    assert expected == show_rows(summary, BASE)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("cargo", "test", "--test", "a b"), "cargo test --test 'a b'"),
        (("sh", "run.sh", "x; rm -rf ~"), "sh run.sh 'x; rm -rf ~'"),
        (("sh", "run.sh", "$(id)`id`"), "sh run.sh '$(id)`id`'"),
        (("sh", "run.sh", "it's"), "sh run.sh 'it'\"'\"'s'"),
        (("curl", "--token=abc123secret"), "curl '--token=[REDACTED]'"),
    ],
)
def test_commands_are_shell_quoted(argv: tuple[str, ...], expected: str) -> None:
    """Names with shell metacharacters are quoted as one word; secrets are redacted."""
    (row,) = show_rows(make_summary(make_target(argv=argv)), BASE)
    assert expected == row.command


@pytest.mark.parametrize(
    ("one_command_replay", "summary_path", "expected"),
    [
        (None, "out/summary.json", "python -m replay --rerun-from out/summary.json"),
        (None, "my runs/summary.json", "python -m replay --rerun-from 'my runs/summary.json'"),
        ("python -m replay --rerun-from x.json", "y.json", "python -m replay --rerun-from x.json"),
    ],
)
def test_one_command_replay(
    one_command_replay: str | None, summary_path: str, expected: str
) -> None:
    """The summary's own one command is shown; without one, a rerun of the shown file."""
    summary = make_summary(make_target(), one_command_replay=one_command_replay)
    report = show_report(summary, summary_path=summary_path, base_dir=BASE)
    assert expected == report.one_command_replay


def test_show_report_totals() -> None:
    """Totals count every target, the passing ones and the outstanding ones."""
    summary = make_summary(
        make_target("a", status=TargetStatus.PASSED, chain_state=ChainState.PASSING),
        make_target("b", status=TargetStatus.FLAKY, chain_state=ChainState.PASSING),
        make_target("c"),
    )
    report = show_report(summary, summary_path="s.json", base_dir=BASE)
    assert ShowTotals(total=3, passing=2, outstanding=1) == report.totals


# --- text form ------------------------------------------------------------------------------


def test_format_report_text() -> None:
    """The text form lists each outstanding target with why, tests, cause, log and command."""
    report = ShowReport(
        path="out/summary.json",
        run_id="r1",
        status=RunStatus.FAILED,
        outstanding=(
            cargo_row(
                "e2e_rpc",
                "e2e",
                "/work/project/crates/rpc",
                ("rpc::a", "rpc::b"),
                "assertion_failure",
            ),
            ShowRow(
                name="lint",
                kind="lint",
                status=TargetStatus.FAILED,
                why="could not start: executable not found: ruff",
                command="ruff check",
                argv=("ruff", "check"),
                cwd=None,
                decided_by="r1",
            ),
        ),
        totals=ShowTotals(total=3, passing=1, outstanding=2),
        one_command_replay="python -m replay --rerun-from out/summary.json",
    )
    expected = """\
out/summary.json: run r1 failed, 2 of 3 targets outstanding

e2e_rpc (e2e): failed
  why:    exit code 101
  run:    r0
  failed: rpc::a, rpc::b
  cause:  assertion_failure
  digest: /runs/r1/e2e_rpc/failure_digest.json
  log:    /runs/r1/e2e_rpc/output.log
  replay: cd crates/rpc && cargo test --test e2e_rpc

lint (lint): failed
  why:    could not start: executable not found: ruff
  log:    (none inside the run)
  replay: ruff check

totals: 3 targets, 1 passing, 2 outstanding
replay all: python -m replay --rerun-from out/summary.json
"""
    assert expected == format_report(report, HERE)


def test_format_report_green() -> None:
    """A green summary says so and prints no replay line."""
    summary = make_summary(
        make_target(status=TargetStatus.PASSED, chain_state=ChainState.PASSING),
        status=RunStatus.PASSED,
    )
    report = show_report(summary, summary_path="s.json", base_dir=BASE)
    expected = (
        "s.json: run r1 passed, 0 of 1 targets outstanding\n"
        "\n"
        "totals: 1 targets, 1 passing, 0 outstanding\n"
    )
    assert expected == format_report(report, HERE)


def test_format_report_caps_failed_tests() -> None:
    """Long lists of failed tests are cut in the text form and counted."""
    tests = tuple(_test(f"t{i}", TestStatus.FAILED) for i in range(25))
    report = show_report(make_summary(make_target(tests=tests)), summary_path="s", base_dir=BASE)
    failed_line = next(
        line for line in format_report(report, HERE).splitlines() if "failed:" in line
    )
    expected = "  failed: " + ", ".join(f"t{i}" for i in range(20)) + ", and 5 more"
    assert expected == failed_line


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("evil\x1b[2J\x1b[31m", "evil\\x1b[2J\\x1b[31m (e2e): failed"),
        ("two\nlines", "two\\nlines (e2e): failed"),
        ("csi\x9b31m", "csi\\x9b31m (e2e): failed"),
    ],
)
def test_format_report_escapes_control_characters(name: str, expected: str) -> None:
    """A name cannot drive the terminal: control characters are printed escaped."""
    report = show_report(make_summary(make_target(name)), summary_path="s", base_dir=BASE)
    lines = format_report(report, HERE).splitlines()
    assert expected == lines[2]


# --- where the replay command runs -------------------------------------------------------------


@pytest.mark.parametrize(
    ("cwd", "expected"),
    [
        (None, "cargo test"),
        ("/work/project", "cargo test"),
        ("/work/project/crates/rpc", "cd crates/rpc && cargo test"),
        ("/work/project/my crate", "cd 'my crate' && cargo test"),
        ("/work/other", "cd /work/other && cargo test"),
        ("/work/projectile", "cd /work/projectile && cargo test"),
        ("/work", "cd /work && cargo test"),
        ("crates/rpc", "cd crates/rpc && cargo test"),
        ("/tmp/it's; rm -rf ~", "cd '/tmp/it'\"'\"'s; rm -rf ~' && cargo test"),
    ],
)
def test_replay_line_changes_directory(cwd: str | None, expected: str) -> None:
    """The replay line enters the target's directory: relative inside HERE, quoted always."""
    (row,) = show_rows(make_summary(make_target(argv=("cargo", "test"), cwd=cwd)), BASE)
    assert expected == replay_line(row, HERE)


def test_printed_replay_line_runs_in_the_recorded_directory(tmp_path: Path) -> None:
    """Pasted into a shell where `show` ran, the replay line runs the command where it ran."""
    where = tmp_path / "a dir; with $(stuff)"
    where.mkdir()
    target = make_target(argv=("sh", "-c", "pwd > ran-here.txt"), cwd=str(where))
    report = show_report(make_summary(target), summary_path="s.json", base_dir=BASE)
    line = next(
        line.removeprefix("  replay: ")
        for line in format_report(report, tmp_path).splitlines()
        if line.startswith("  replay: ")
    )
    subprocess.run(["sh", "-c", line], cwd=tmp_path, check=True)
    assert f"{where}\n" == (where / "ran-here.txt").read_text()


def test_show_json_carries_the_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`show --json` gives each row the directory its command ran in, as recorded."""
    summary = make_summary(make_target("a", cwd="/srv/app"), make_target("b"))
    path = tmp_path / "summary.json"
    path.write_bytes(orjson.dumps(summary_document(summary)))
    _run(["show", "--json", str(path)])
    document = orjson.loads(capsys.readouterr().out)
    assert ["/srv/app", None] == [row["cwd"] for row in document["outstanding"]]


# --- the command ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "expected_code", "expected_names"),
    [
        (
            "replay_v1_failed.json",
            1,
            ["e2e_rpc", "sdk_unit", "node_http_shim", "lint", "it's; rm -rf ~ $(id)"],
        ),
        ("pi_v1_only_units_failed.json", 1, ["node_http_shim", "sdk_unit", "config_edge_cases"]),
        ("pi_legacy_20260206T212320Z.json", 1, ["e2e_rpc"]),
    ],
)
def test_show_json_on_fixtures(
    fixture: str,
    expected_code: int,
    expected_names: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`show --json` prints one document naming every outstanding target; exit 1 if any."""
    path = tmp_path / "summary.json"
    shutil.copy(FIXTURES / fixture, path)
    code = _run(["show", "--json", str(path)])
    document = orjson.loads(capsys.readouterr().out)
    actual = (code, [row["name"] for row in document["outstanding"]])
    assert (expected_code, expected_names) == actual


def test_show_json_is_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The JSON form carries exactly the report the text form is made from."""
    path = tmp_path / "summary.json"
    shutil.copy(FIXTURES / "replay_v1_failed.json", path)
    _run(["show", "--json", str(path)])
    printed = orjson.loads(capsys.readouterr().out)
    report = show_report(load_summary(path), summary_path=str(path), base_dir=tmp_path)
    assert unstructure(report) == printed


def test_show_text_replay_commands_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every printed replay command splits back into the summary's argv."""
    path = tmp_path / "summary.json"
    shutil.copy(FIXTURES / "replay_v1_failed.json", path)
    _run(["show", str(path)])
    commands = [
        line.removeprefix("  replay: ")
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("  replay: ")
    ]
    expected = [
        ["cargo", "test", "--test", "e2e_rpc", "--", "--nocapture"],
        ["cargo", "test", "--test", "sdk_unit", "--", "--nocapture"],
        ["cargo", "test", "--test", "node_http_shim", "--", "--nocapture"],
        ["no-such-linter", "--check"],
        ["sh", "tests/run.sh", "it's; rm -rf ~ $(id)"],
    ]
    assert expected == [shlex.split(command) for command in commands]


def test_show_green_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A summary with nothing outstanding exits 0."""
    summary = make_summary(
        make_target(status=TargetStatus.PASSED, chain_state=ChainState.PASSING),
        status=RunStatus.PASSED,
    )
    path = tmp_path / "summary.json"
    path.write_bytes(orjson.dumps(summary_document(summary)))
    code = _run(["show", str(path)])
    assert (0, f"{path}: run r1 passed") == (code, capsys.readouterr().out.split(",")[0])


def test_show_does_not_print_paths_outside_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hostile log or digest path is never printed: the row says there is none."""
    summary = make_summary(
        make_target(log="../../etc/passwd", digest="/etc/shadow", root_cause="panic")
    )
    path = tmp_path / "summary.json"
    path.write_bytes(orjson.dumps(summary_document(summary)))
    _run(["show", str(path)])
    out = capsys.readouterr().out
    expected = (False, False, True)
    assert expected == ("passwd" in out, "shadow" in out, "  log:    (none inside the run)" in out)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty file, expected JSON"),
        (b'{"schema": "replay.summary.v1"', "not valid JSON"),
        (b"\x89PNG\r\n\x1a\n", "not UTF-8 text"),
        (b'{"schema": "replay.summary.v9"}', "was written by a newer replay"),
    ],
)
def test_show_bad_input_raises_input_error(content: bytes, problem: str, tmp_path: Path) -> None:
    """Bad files raise InputError naming the path (the dispatcher turns it into exit 2)."""
    path = tmp_path / "summary.json"
    message = refusal(lambda p: _run(["show", str(p)]), path, content)
    assert (True, True) == (message.startswith(str(path)), problem in message)


@pytest.mark.parametrize("plant", ["fifo", "dev-zero"])
def test_show_refuses_a_summary_that_is_not_a_regular_file(tmp_path: Path, plant: str) -> None:
    """`show` on a FIFO or a link to /dev/zero raises InputError at once, reading nothing."""
    path = tmp_path / "summary.json"
    if plant == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    with pytest.raises(InputError, match="not a regular file"):
        _run(["show", str(path)])
