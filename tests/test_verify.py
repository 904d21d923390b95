"""`replay verify`: a run directory's evidence is present, contained and well-formed."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest
from _support import make_summary, make_target, replay
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replay._cli import main
from replay._core.summary import summary_document
from replay._inputs.verify import verify_run
from replay._model.errors import InputError
from replay._model.models import (
    Attempt,
    ChainState,
    Summary,
    TargetResult,
    TargetStatus,
    TriageStatus,
)
from replay._model.names import INDEX_NAME
from replay._store.rundir import write_json_atomic

RUN_ID = "20260217T000000Z-abc123"


def _target(name: str, status: TargetStatus, *, kind: str = "unit") -> TargetResult:
    failed = status is not TargetStatus.PASSED
    return make_target(
        name,
        status,
        kind=kind,
        argv=("cargo", "test", "--test", name),
        chain_state=ChainState.OUTSTANDING if failed else ChainState.PASSING,
        decided_by=RUN_ID,
        exit_code=1 if failed else 0,
        attempts=(Attempt(number=1, exit_code=1 if failed else 0, log=f"{name}/attempt-1.log"),),
        log=f"{name}/output.log",
        result=f"{name}/result.json",
        digest=f"{name}/failure_digest.json" if failed else None,
    )


def _summary() -> Summary:
    return make_summary(
        _target("unit_math", TargetStatus.PASSED),
        _target("e2e_tui", TargetStatus.FAILED, kind="e2e"),
        run_id=RUN_ID,
        started_at="2026-02-17T00:00:00Z",
        finished_at="2026-02-17T00:01:00Z",
        one_command_replay="python -m replay --rerun-from summary.json",
    )


def _write_summary(run_dir: Path, document: Any) -> None:
    write_json_atomic(run_dir / "summary.json", document)


def _make_run(tmp_path: Path, summary: Summary | None = None) -> Path:
    """A minimal run directory, written by hand the way a run lays it out."""
    run_dir = tmp_path / "run"
    summary = summary or _summary()
    for target in summary.targets:
        (run_dir / target.name).mkdir(parents=True)
        (run_dir / target.name / "output.log").write_bytes(b"test x ... ok\n\xff not utf-8\n")
        (run_dir / target.name / "attempt-1.log").write_text("attempt 1\n")
        (run_dir / target.name / "result.json").write_text(f'{{"target": "{target.name}"}}\n')
        if target.digest:
            (run_dir / target.digest).write_text('{"schema": "pi.e2e.failure_digest.v1"}\n')
    (run_dir / "events.jsonl").write_text('{"event": "run_started"}\n{"event": "run_finished"}\n')
    (run_dir / "environment.json").write_text('{"git_sha": "8fbe3320"}\n')
    _write_summary(run_dir, summary_document(summary))
    return run_dir


def test_complete_run_is_ok_and_indexed(tmp_path: Path) -> None:
    """A complete run verifies clean; `index.json` lists each file with size and sha256."""
    run_dir = _make_run(tmp_path)
    report = verify_run(run_dir)
    index = orjson.loads((run_dir / INDEX_NAME).read_bytes())
    log = run_dir / "e2e_tui" / "output.log"
    by_path = {f["path"]: f for f in index["files"]}
    assert (True, (), RUN_ID) == (report.ok, report.problems, report.run_id)
    assert "replay.evidence_index.v1" == index["schema"]
    expected_paths = [
        "e2e_tui/attempt-1.log",
        "e2e_tui/failure_digest.json",
        "e2e_tui/output.log",
        "e2e_tui/result.json",
        "environment.json",
        "events.jsonl",
        "summary.json",
        "unit_math/attempt-1.log",
        "unit_math/output.log",
        "unit_math/result.json",
    ]
    assert expected_paths == [f["path"] for f in index["files"]]
    expected_log = {
        "path": "e2e_tui/output.log",
        "size": log.stat().st_size,
        "sha256": hashlib.sha256(log.read_bytes()).hexdigest(),
        "schema": None,
    }
    assert expected_log == by_path["e2e_tui/output.log"]
    assert ("replay.summary.v1", "pi.e2e.failure_digest.v1") == (
        by_path["summary.json"]["schema"],
        by_path["e2e_tui/failure_digest.json"]["schema"],
    )


def _delete_log(run_dir: Path) -> None:
    (run_dir / "e2e_tui" / "output.log").unlink()


def _truncate_result(run_dir: Path) -> None:
    path = run_dir / "unit_math" / "result.json"
    path.write_bytes(path.read_bytes()[:7])


def _truncate_events(run_dir: Path) -> None:
    with (run_dir / "events.jsonl").open("a") as handle:
        handle.write('{"event": "job_sta')


def _retarget(**paths: Any) -> Callable[[Path], None]:
    def change(run_dir: Path) -> None:
        summary = _summary()
        first = attrs.evolve(summary.targets[1], **paths)
        _write_summary(
            run_dir,
            summary_document(attrs.evolve(summary, targets=(summary.targets[0], first))),
        )

    return change


def _symlink_out(run_dir: Path) -> None:
    outside = run_dir.parent / "outside.log"
    outside.write_text("secret\n")
    log = run_dir / "e2e_tui" / "output.log"
    log.unlink()
    log.symlink_to(outside)


def _tamper_failed_names(run_dir: Path) -> None:
    document = summary_document(_summary())
    document["failed_names"] = []
    _write_summary(run_dir, document)


def _bad_summary_type(run_dir: Path) -> None:
    document = summary_document(_summary())
    document["targets"][0]["exit_code"] = "0"
    _write_summary(run_dir, document)


def _triage_missing(run_dir: Path) -> None:
    triage = TriageStatus(status="regression", regression_count=1, path="triage_diff.json")
    _write_summary(run_dir, summary_document(attrs.evolve(_summary(), triage_diff=triage)))


def _bad_junit(run_dir: Path) -> None:
    (run_dir / "junit.xml").write_text("<testsuites><testsuite>")


def _symlink_loop(run_dir: Path) -> None:
    log = run_dir / "e2e_tui" / "output.log"
    log.unlink()
    log.symlink_to(log)


def _directory_for_a_file(run_dir: Path) -> None:
    path = run_dir / "unit_math" / "result.json"
    path.unlink()
    path.mkdir()


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            _delete_log,
            ["e2e_tui/output.log: missing (named by $.targets[1].log)"],
        ),
        (
            _truncate_result,
            ["unit_math/result.json: not valid JSON"],
        ),
        (
            _truncate_events,
            ["events.jsonl: line 3: not valid JSON"],
        ),
        (
            _retarget(log="../outside.log"),
            ["../outside.log: resolves outside the run directory (named by $.targets[1].log)"],
        ),
        (
            _retarget(digest="/etc/passwd"),
            ["/etc/passwd: resolves outside the run directory (named by $.targets[1].digest)"],
        ),
        (
            _symlink_out,
            ["e2e_tui/output.log: resolves outside the run directory (named by $.targets[1].log)"],
        ),
        (
            _tamper_failed_names,
            ["summary.json: $.failed_names: does not match the targets (expected ['e2e_tui'])"],
        ),
        (
            _bad_summary_type,
            ["summary.json: $.targets[0].exit_code: expected int"],
        ),
        (
            _triage_missing,
            ["triage_diff.json: missing (named by $.triage_diff.path)"],
        ),
        (
            _bad_junit,
            ["junit.xml: not well-formed XML"],
        ),
        (
            _directory_for_a_file,
            ["unit_math/result.json: not a regular file (named by $.targets[0].result)"],
        ),
        (
            _retarget(log="x" * 5000),
            [
                f"{'x' * 200}... (5000 characters): cannot be looked up (File name too long) "
                "(named by $.targets[1].log)"
            ],
        ),
        (
            _retarget(log="x/" * 3000),
            [f"{'x/' * 100}... (6000 characters): cannot be looked up (File name too long)"],
        ),
        (
            _symlink_loop,
            ["e2e_tui/output.log: cannot be looked up (Symlink loop from"],
        ),
    ],
)
def test_problems_are_caught(
    tmp_path: Path, damage: Callable[[Path], None], expected: list[str]
) -> None:
    """Each kind of damage to a run directory is one problem naming the file and the cause."""
    run_dir = _make_run(tmp_path)
    damage(run_dir)
    report = verify_run(run_dir)
    actual = [p[: len(e)] for p, e in zip(report.problems, expected, strict=False)]
    assert (False, expected, len(expected)) == (report.ok, actual, len(report.problems))


def test_index_written_even_with_problems(tmp_path: Path) -> None:
    """`index.json` records the problems and the files that are there."""
    run_dir = _make_run(tmp_path)
    _delete_log(run_dir)
    verify_run(run_dir)
    index = orjson.loads((run_dir / INDEX_NAME).read_bytes())
    assert (False, 1, 9) == (index["ok"], len(index["problems"]), len(index["files"]))


def test_index_is_written_atomically(tmp_path: Path) -> None:
    """No temporary file is left next to `index.json`."""
    run_dir = _make_run(tmp_path)
    verify_run(run_dir)
    leftovers = [p.name for p in run_dir.iterdir() if p.name.startswith(".")]
    assert [] == leftovers


def test_no_write_leaves_the_directory_alone(tmp_path: Path) -> None:
    """`write_index=False` only checks."""
    run_dir = _make_run(tmp_path)
    verify_run(run_dir, write_index=False)
    assert not (run_dir / INDEX_NAME).exists()


def test_foreign_summary_schema(tmp_path: Path) -> None:
    """A summary that is not `replay.summary.v1` is a problem, not a crash."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "summary.json").write_text('{"schema": "pi.e2e.summary.v1", "suites": []}')
    report = verify_run(run_dir)
    expected = ("summary.json: $.schema: expected 'replay.summary.v1', got 'pi.e2e.summary.v1'",)
    assert expected == report.problems


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p, "not a directory"),
        (lambda p: (p.mkdir(), p)[1], "no summary.json"),
    ],
)
def test_not_a_run_directory(tmp_path: Path, make: Callable[[Path], Any], expected: str) -> None:
    """A path that is not a run directory is an `InputError`, not a list of problems."""
    run_dir = make(tmp_path / "missing")
    with pytest.raises(InputError, match=expected):
        verify_run(run_dir)


def test_cli_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`replay verify` exits 0 on a complete run."""
    run_dir = _make_run(tmp_path)
    code = main(["verify", str(run_dir)])
    assert (0, f"{run_dir}: ok, 10 file(s) indexed in index.json\n") == (
        code,
        capsys.readouterr().out,
    )


def test_cli_problems_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`replay verify` lists the problems and exits 1."""
    run_dir = _make_run(tmp_path)
    _delete_log(run_dir)
    code = main(["verify", str(run_dir)])
    lines = capsys.readouterr().out.splitlines()
    assert (1, "  - e2e_tui/output.log: missing (named by $.targets[1].log)") == (code, lines[1])


def test_cli_not_a_run_dir_exits_2(tmp_path: Path) -> None:
    """A directory without a summary is bad input: exit 2."""
    assert 2 == main(["verify", os.fspath(tmp_path)])


NUL_PATHS = [
    (("targets", 1, "log"), "$.targets[1].log"),
    (("targets", 0, "result"), "$.targets[0].result"),
    (("targets", 1, "digest"), "$.targets[1].digest"),
    (("targets", 1, "attempts", 0, "log"), "$.targets[1].attempts[0].log"),
]


def _set(document: Any, where: tuple[str | int, ...], value: Any) -> None:
    """Set `document[where[0]][where[1]]...` to `value`."""
    for key in where[:-1]:
        document = document[key]
    document[where[-1]] = value


@pytest.mark.parametrize(("where", "field"), NUL_PATHS)
def test_cli_nul_byte_in_a_path_exits_2_naming_file_and_field(
    tmp_path: Path, where: tuple[str | int, ...], field: str
) -> None:
    """A summary path holding a NUL byte: exit 2, one line naming the file and the field."""
    run_dir = _make_run(tmp_path)
    document = summary_document(_summary())
    _set(document, where, "e2e_tui/output.log\x00../../etc/passwd")
    _write_summary(run_dir, document)
    result = replay(tmp_path, "verify", "run")
    expected = [
        f"replay: error: run/summary.json: {field}: a path with a NUL byte cannot name a file"
    ]
    assert (2, expected) == (result.returncode, result.stderr.splitlines())


def test_cli_run_dir_name_too_long_exits_2(tmp_path: Path) -> None:
    """A run directory argument too long to look up is bad input: exit 2, no traceback."""
    result = replay(tmp_path, "verify", "r" * 5000)
    expected = (2, 1, True)
    actual = (
        result.returncode,
        len(result.stderr.splitlines()),
        result.stderr.endswith("cannot be looked up (File name too long)\n"),
    )
    assert expected == actual


_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
HOSTILE_PATHS = st.one_of(
    _TEXT,
    st.builds(lambda t, n: "x" * n + t, _TEXT, st.integers(200, 5000)),
    st.builds(lambda t, n: "../" * n + t, _TEXT, st.integers(1, 30)),
    st.builds(lambda t: "/" + t, _TEXT),
    st.builds(lambda a, b: f"{a}\x00{b}", _TEXT, _TEXT),
    st.sampled_from(["", ".", "..", "/", "e2e_tui", "e2e_tui/output.log", "summary.json"]),
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.lists(_TEXT, max_size=3),
    st.dictionaries(_TEXT, _TEXT, max_size=2),
)
FIELDS = st.sampled_from([where for where, _ in NUL_PATHS] + [("triage_diff",)])


@pytest.mark.slow
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=FIELDS, value=HOSTILE_PATHS)
def test_cli_never_crashes_on_hostile_paths(
    capsys: pytest.CaptureFixture[str], where: tuple[str | int, ...], value: Any
) -> None:
    """Whatever a summary's path fields hold, verify exits 0, 1 or 2: never a traceback."""
    with tempfile.TemporaryDirectory() as directory:
        run_dir = _make_run(Path(directory))
        document = summary_document(_summary())
        _set(
            document,
            where,
            {"status": "regression", "path": value} if where == ("triage_diff",) else value,
        )
        _write_summary(run_dir, document)
        code = main(["verify", str(run_dir)])
    err = capsys.readouterr().err
    assert code in (0, 1, 2)
    assert (code == 2) == err.startswith("replay: error: ")


@pytest.mark.parametrize("plant", ["fifo", "dev-zero", "directory"])
def test_summary_that_is_not_a_regular_file_is_an_input_error(tmp_path: Path, plant: str) -> None:
    """A summary.json that is a FIFO, a link to /dev/zero or a directory is refused unread."""
    run_dir = _make_run(tmp_path)
    summary = run_dir / "summary.json"
    summary.unlink()
    if plant == "fifo":
        os.mkfifo(summary)
    elif plant == "dev-zero":
        summary.symlink_to("/dev/zero")
    else:
        summary.mkdir()
    with pytest.raises(InputError, match="not a regular file"):
        verify_run(run_dir)


def test_summary_linked_outside_is_a_problem_and_not_read(tmp_path: Path) -> None:
    """A summary.json linking out of the run is reported, and its content is not judged."""
    run_dir = _make_run(tmp_path)
    (tmp_path / "elsewhere.json").write_text('{"schema": "not-replay"}')
    (run_dir / "summary.json").unlink()
    (run_dir / "summary.json").symlink_to(tmp_path / "elsewhere.json")
    report = verify_run(run_dir, write_index=False)
    assert ("summary.json: resolves outside the run directory (named by the run)",) == (
        report.problems
    )


def test_index_is_written_into_a_run_dir_reached_through_a_link(tmp_path: Path) -> None:
    """`replay verify LINK` (the user's own link to a run) writes index.json in the run."""
    run_dir = _make_run(tmp_path)
    (tmp_path / "latest").symlink_to(run_dir, target_is_directory=True)
    assert (True, True) == (verify_run(tmp_path / "latest").ok, (run_dir / INDEX_NAME).is_file())
