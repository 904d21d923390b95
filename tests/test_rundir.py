"""The run directory holds: nothing read from it, a config, a summary or a verdict escapes it."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from _support import load_json, replay
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from replay._core.planning import Options, build_plan, rerun_plan
from replay._exec.executor import attempt_dir
from replay._exec.run import RunOptions, RunResult, Seams, run_with
from replay._inputs.readers import load_summary, read_input
from replay._model.config import Config
from replay._model.errors import ArtifactError, InputError, ReplayError
from replay._model.models import Job, Plan, Suite
from replay._model.names import CARRIED_DIR, LOCK_NAME, RESERVED_NAMES, safe_component
from replay._store.rundir import (
    carry_file,
    clean_run_dir,
    create_file,
    lock_run_dir,
    make_directory,
    remove_stale_report,
    report_refusal,
    write_json_atomic,
)

PY = sys.executable
ROOT_FILES = (Path("/result.json"), Path("/failure_digest.json"), Path("/output.log"))
"""Where an empty job name used to put its files (replay often runs as root in CI)."""


def run(plan: Plan, run_dir: Path, *, collect_environment: bool = True) -> RunResult:
    """A library run without signal handling or watchdog (the private seams)."""
    options = RunOptions(handle_signals=False, collect_environment=collect_environment)
    return run_with(plan, run_dir, options, Seams(watchdog=False))


def write_config(directory: Path, suites: list[dict[str, Any]]) -> None:
    """A replay.toml with `suites` (each a table of keys), written as TOML by hand."""
    lines = ["[replay]"]
    for suite in suites:
        lines.append("[[replay.suites]]")
        lines += [f"{key} = {orjson.dumps(value).decode()}" for key, value in suite.items()]
    (directory / "replay.toml").write_text("\n".join(lines) + "\n")


def snapshot(top: Path) -> dict[str, tuple[str, bytes | str | None]]:
    """Every entry under `top` (links not followed): its kind and content or link target."""
    entries: dict[str, tuple[str, bytes | str | None]] = {}
    for directory, dirs, files in os.walk(top):
        for name in dirs + files:
            path = Path(directory, name)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                entries[str(path)] = ("link", os.readlink(path))
            elif stat.S_ISREG(mode):
                entries[str(path)] = ("file", path.read_bytes())
            else:
                entries[str(path)] = ("dir" if stat.S_ISDIR(mode) else "other", None)
    return entries


def changed_outside(
    before: dict[str, tuple[str, bytes | str | None]],
    after: dict[str, tuple[str, bytes | str | None]],
    run_dir: Path,
) -> list[str]:
    """The paths, outside `run_dir`, that appeared, vanished or changed between two snapshots."""
    inside = str(run_dir) + os.sep
    return sorted(
        path
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path) and not (path + os.sep).startswith(inside)
    )


# --- 1. an empty name never writes at `/` ----------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["", ".", "..", "...", "/", "summary.json", "Events.JSONL", "carried", LOCK_NAME, "a/../.."],
)
def test_safe_component_is_a_real_component_never_a_run_file(name: str) -> None:
    """Empty, dot, separator and run-file names become a component of their own."""
    component = safe_component(name)
    assert (True, False, False) == (
        component not in ("", ".", ".."),
        "/" in component,
        component.casefold() in RESERVED_NAMES,
    )


@given(st.text(max_size=300))
def test_safe_component_is_one_component_and_stable(name: str) -> None:
    """Any name gives one component that stays inside a directory and maps to itself."""
    component = safe_component(name)
    base = Path("/run")
    inside = Path(os.path.normpath(base / component)).parent  # `..` taken as the OS takes it
    assert (base, component) == (inside, safe_component(component))


@given(st.one_of(st.sampled_from(["", ".", "..", "/", "summary.json"]), st.text(max_size=40)))
def test_attempt_dirs_are_strictly_inside_the_run_dir(job_id: str) -> None:
    """Whatever id a job has (or the model refuses), its attempt directories are in the run's."""
    run_dir = Path("/run")
    try:
        job = Job(id=job_id, target="t", kind="suite", adapter="generic", argv=("true",))
    except ReplayError:
        return
    assert [run_dir, run_dir] == [
        Path(os.path.normpath(attempt_dir(run_dir, job, 1))).parent,
        Path(os.path.normpath(attempt_dir(run_dir, job, 2))).parent.parent,
    ]


def test_empty_suite_name_writes_inside_the_run_dir(tmp_path: Path) -> None:
    """A suite named "" in a config is refused (one line, exit 2) or keeps its files in `--out`."""
    write_config(tmp_path, [{"name": "", "command": ["false"]}])
    before = snapshot(tmp_path)
    result = replay(tmp_path, "run", "--out", "r", "-q")
    assert ([], [False, False, False]) == (
        changed_outside(before, snapshot(tmp_path), tmp_path / "r"),
        [p.exists() for p in ROOT_FILES],
    )
    if result.returncode == 2:
        assert 1 == len(result.stderr.splitlines()), result.stderr
        return
    (target,) = load_json(tmp_path / "r/summary.json")["targets"]
    written = [target["log"], target["result"], target["digest"]]
    assert (1, [True, True, True]) == (
        result.returncode,
        [(tmp_path / "r" / p).resolve().is_relative_to(tmp_path / "r") for p in written],
    )


def test_gate_with_an_empty_id_writes_inside_the_run_dir(tmp_path: Path) -> None:
    """`gates --run` on a verdict whose gate id is "" keeps the gate's files inside `--out`."""
    verdict = orjson.loads(
        (Path(__file__).parent / "fixtures/gates/full_suite_verdict.json").read_bytes()
    )
    verdict["gates"] = [
        {**verdict["gates"][0], "id": "", "status": "fail", "reproduce_command": "false"}
    ]
    (tmp_path / "verdict.json").write_bytes(orjson.dumps(verdict))
    before = snapshot(tmp_path)
    result = replay(tmp_path, "gates", "verdict.json", "--run", "--out", "r", "-q")
    assert ([], [False, False, False]) == (
        changed_outside(before, snapshot(tmp_path), tmp_path / "r"),
        [p.exists() for p in ROOT_FILES],
    )
    assert result.returncode in (1, 2), result.stderr  # failed gate, or "" refused as bad input
    if result.returncode == 2:
        assert 1 == len(result.stderr.splitlines()), result.stderr
    else:
        (target,) = load_json(tmp_path / "r/summary.json")["targets"]
        assert (tmp_path / "r" / target["result"]).is_file()


def test_library_job_with_an_empty_id_writes_inside_the_run_dir(tmp_path: Path) -> None:
    """`run()` of a plan whose job id is "" writes its result inside the run directory."""
    with contextlib.suppress(ReplayError):  # refused at the model is fine too
        job = Job(id="", target="t", kind="suite", adapter="generic", argv=("false",))
        result = run(Plan(jobs=(job,)), tmp_path / "r")
        (target,) = result.summary.targets
        assert target.result is not None
        assert (tmp_path / "r" / target.result).is_file()
    assert [False, False, False] == [p.exists() for p in ROOT_FILES]


def test_library_jobs_named_like_run_files_do_not_collide(tmp_path: Path) -> None:
    """`run()` of jobs with ids `summary.json` and `events.jsonl` writes a whole summary."""
    jobs = tuple(
        Job(id=name, target=name, kind="suite", adapter="generic", argv=("true",))
        for name in ("summary.json", "events.jsonl", "carried")
    )
    result = run(Plan(jobs=jobs), tmp_path / "r")
    assert (0, ["summary.json", "events.jsonl", "carried"]) == (
        result.exit_code,
        [t["name"] for t in load_json(tmp_path / "r/summary.json")["targets"]],
    )


# --- 2. a reused --out: planted links and FIFOs are not followed -------------------------


def test_planted_links_in_a_reused_out_are_not_followed(tmp_path: Path) -> None:
    """Links at events.jsonl, summary.json, a log, a result and a job directory point nowhere."""
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("events", "log", "summary", "result", "environment"):
        (outside / name).write_text(f"precious {name}\n")
    run_dir = tmp_path / "r"
    (run_dir / "a").mkdir(parents=True)
    (run_dir / "events.jsonl").symlink_to(outside / "events")
    (run_dir / "summary.json").symlink_to(outside / "summary")
    (run_dir / "environment.json").symlink_to(outside / "environment")
    (run_dir / "a/output.log").symlink_to(outside / "log")
    (run_dir / "a/result.json").symlink_to(outside / "result")
    (run_dir / "b").symlink_to(outside, target_is_directory=True)
    (run_dir / CARRIED_DIR).symlink_to(outside, target_is_directory=True)
    write_config(
        tmp_path,
        [{"name": "a", "command": ["echo", "a-output"]}, {"name": "b", "command": ["false"]}],
    )
    before = snapshot(outside)
    result = replay(tmp_path, "run", "--out", "r", "-q")
    assert (1, before) == (result.returncode, snapshot(outside)), result.stderr
    assert [False, False, "a-output\n"] == [
        (run_dir / "b").is_symlink(),
        (run_dir / "summary.json").is_symlink(),
        (run_dir / "a/output.log").read_text(),
    ]
    assert 0 == replay(tmp_path, "verify", "r").returncode


@pytest.mark.parametrize("where", ["a/output.log", "events.jsonl", "a/attempt-2/output.log"])
def test_fifo_in_a_reused_out_does_not_block_the_run(tmp_path: Path, where: str) -> None:
    """A FIFO planted where replay writes is replaced, never opened: the run ends on its own."""
    (tmp_path / "r" / where).parent.mkdir(parents=True)
    os.mkfifo(tmp_path / "r" / where)
    write_config(tmp_path, [{"name": "a", "command": ["sh", "-c", "echo hi; exit 1"]}])
    result = replay(tmp_path, "run", "--out", "r", "-q", "--retries", "1", timeout=30)
    summary = load_json(tmp_path / "r/summary.json")
    assert (1, 2) == (result.returncode, len(summary["targets"][0]["attempts"])), result.stderr
    assert stat.S_ISREG((tmp_path / "r" / where).lstat().st_mode)


def test_a_link_planted_at_a_job_directory_is_replaced_by_a_real_one(tmp_path: Path) -> None:
    """`make_directory` removes a link where a directory belongs, never what it points to."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    (tmp_path / "r").mkdir()
    (tmp_path / "r/job").symlink_to(outside, target_is_directory=True)
    made = make_directory(tmp_path / "r", "job", "attempt-2")
    assert (False, True, ["keep"]) == (
        (tmp_path / "r/job").is_symlink(),
        made.is_dir(),
        sorted(os.listdir(outside)),
    )


@pytest.mark.parametrize("parts", [("",), (".",), ("..",), ("a/b",), ("ok", "..")])
def test_make_directory_refuses_parts_that_leave_the_base(
    tmp_path: Path, parts: tuple[str, ...]
) -> None:
    """A part that is empty, `.`, `..` or holds a separator is an `ArtifactError`."""
    with pytest.raises(ArtifactError, match="does not name a directory inside it"):
        make_directory(tmp_path, *parts)


def test_make_directory_refuses_a_file_in_the_way(tmp_path: Path) -> None:
    """A regular file where a job's directory belongs is an error, and it is kept."""
    (tmp_path / "job").write_text("mine")
    with pytest.raises(ArtifactError, match="not a directory"):
        make_directory(tmp_path, "job")
    assert "mine" == (tmp_path / "job").read_text()


def test_a_file_where_a_job_directory_belongs_is_refused_before_running(tmp_path: Path) -> None:
    """A regular file named like a suite in a reused `--out`: exit 2, nothing run, file kept."""
    (tmp_path / "r").mkdir()
    (tmp_path / "r/a").write_text("mine")
    write_config(tmp_path, [{"name": "a", "command": ["touch", "ran"]}])
    result = replay(tmp_path, "run", "--out", "r", "-q")
    assert (2, 1, "mine", False) == (
        result.returncode,
        len(result.stderr.splitlines()),
        (tmp_path / "r/a").read_text(),
        (tmp_path / "ran").exists(),
    ), result.stderr


def test_atomic_writer_refuses_a_link_at_the_parent(tmp_path: Path) -> None:
    """`write_json_atomic` into a directory reached through a link is refused, not followed."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "job").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ArtifactError, match="symbolic link"):
        write_json_atomic(tmp_path / "job/result.json", {"a": 1})
    assert [] == os.listdir(outside)


def test_atomic_writer_replaces_a_link_at_the_destination(tmp_path: Path) -> None:
    """A link at the destination is replaced by the file; what it pointed to is untouched."""
    (tmp_path / "victim").write_text("precious")
    (tmp_path / "summary.json").symlink_to(tmp_path / "victim")
    write_json_atomic(tmp_path / "summary.json", {"a": 1})
    assert ("precious", False, {"a": 1}) == (
        (tmp_path / "victim").read_text(),
        (tmp_path / "summary.json").is_symlink(),
        load_json(tmp_path / "summary.json"),
    )


def test_create_file_never_truncates_a_hard_linked_file(tmp_path: Path) -> None:
    """A hard link planted at a log's name is unlinked, so the other name keeps its content."""
    (tmp_path / "victim").write_text("precious")
    os.link(tmp_path / "victim", tmp_path / "output.log")
    os.close(create_file(tmp_path / "output.log"))
    assert ("precious", 0) == (
        (tmp_path / "victim").read_text(),
        (tmp_path / "output.log").stat().st_size,
    )


def test_clean_run_dir_removes_only_what_replay_writes(tmp_path: Path) -> None:
    """Run files and the planned jobs' files go; the jobs' own files and other names stay."""
    run_dir = tmp_path / "r"
    for name in ("events.jsonl", "index.json", "a/output.log", "a/junit.xml", "a/result.json"):
        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (run_dir / name).write_text("old")
    for name in (
        "summary.json",
        "notes.txt",
        "a/mine.txt",
        "a/attempt-2/output.log",
        "z/output.log",
    ):
        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (run_dir / name).write_text("old")
    clean_run_dir(run_dir, ["a"])
    assert ["a/mine.txt", "notes.txt", "summary.json", "z/output.log"] == sorted(
        p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()
    )


def test_stale_junit_in_a_reused_out_is_not_read_as_this_runs(tmp_path: Path) -> None:
    """A `junit.xml` an earlier run left in the job directory does not pass for this attempt's."""
    stale = '<testsuite tests="1"><testcase classname="t" name="test_old" file="t.py"/></testsuite>'
    (tmp_path / "r/a").mkdir(parents=True)
    (tmp_path / "r/a/junit.xml").write_text(stale)
    # pytest is visible in the argv (so the adapter asks for junit.xml) but never writes it.
    command = [PY, "-c", "import sys; sys.exit(3)", "-m", "pytest"]
    write_config(tmp_path, [{"name": "a", "command": command, "adapter": "pytest"}])
    result = replay(tmp_path, "run", "--out", "r", "-q")
    (target,) = load_json(tmp_path / "r/summary.json")["targets"]
    assert (1, []) == (result.returncode, [t["name"] for t in target["tests"]]), result.stderr


def test_replay_attempt_dir_is_absolute_in_the_jobs_own_cwd(tmp_path: Path) -> None:
    """REPLAY_ATTEMPT_DIR is absolute: a job in another cwd writes into its attempt directory."""
    (tmp_path / "sub").mkdir()
    script = 'echo "$REPLAY_ATTEMPT_DIR"; echo mine > "$REPLAY_ATTEMPT_DIR/mine.txt"'
    write_config(tmp_path, [{"name": "a", "command": ["sh", "-c", script], "cwd": "sub"}])
    result = replay(tmp_path, "run", "--out", "r", "-q")
    printed = (tmp_path / "r/a/output.log").read_text().splitlines()[0]
    assert (0, True, "mine\n") == (
        result.returncode,
        os.path.isabs(printed),
        (tmp_path / "r/a/mine.txt").read_text(),
    ), result.stderr


RUN_FILE_NAMES = [
    "events.jsonl",
    "summary.json",
    "carried",
    "environment.json",
    "replay_bundle.json",
    "index.json",
    "triage_diff.json",
    "failure_diagnostics_index.json",
    "Summary.JSON",
]


def test_suite_names_that_are_run_files_do_not_collide(tmp_path: Path) -> None:
    """Suites named like the run's own files get directories of their own; the run verifies."""
    write_config(tmp_path, [{"name": name, "command": ["true"]} for name in RUN_FILE_NAMES])
    result = replay(tmp_path, "run", "--out", "r", "-q")
    summary = load_json(tmp_path / "r/summary.json")
    assert (0, RUN_FILE_NAMES) == (
        result.returncode,
        [t["name"] for t in summary["targets"]],
    ), result.stderr
    assert 0 == replay(tmp_path, "verify", "r").returncode


# --- 3. a junit_path from a summary deletes and reads nothing outside ------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """`tmp/project` (the root, with `sub/`), `tmp/outside`, each holding a `report.xml`."""
    for where in ("project", "project/sub", "outside"):
        (tmp_path / where).mkdir()
        (tmp_path / where / "report.xml").write_text("<x/>")
    (tmp_path / "project/link.xml").symlink_to(tmp_path / "outside/report.xml")
    return tmp_path / "project"


@pytest.mark.parametrize(
    ("cwd", "report", "root", "removed"),
    [
        ("project", "report.xml", "project", "project/report.xml"),
        ("project/sub", "report.xml", "project", "project/sub/report.xml"),
        ("project", "sub/report.xml", "project", "project/sub/report.xml"),
        ("project/sub", "../report.xml", "project", None),
        ("project", "../outside/report.xml", "project", None),
        ("project", "{tmp}/outside/report.xml", "project", None),
        ("outside", "report.xml", "project", None),
        ("project", "link.xml", "project", None),
        ("project", "sub", "project", None),
        ("project", ".", "project", None),
        ("project", "", "project", None),
        ("project", "report.xml", "project/sub", None),
    ],
)
def test_remove_stale_report_only_inside_cwd_inside_root(
    project: Path, cwd: str, report: str, root: str, removed: str | None
) -> None:
    """A junit_path is unlinked only as a regular file inside the cwd, inside the project."""
    tmp = project.parent
    before = snapshot(tmp)
    did = remove_stale_report(str(tmp / cwd), report.format(tmp=tmp), str(tmp / root))
    gone = sorted(set(before) - set(snapshot(tmp)))
    assert (removed is not None, [str(tmp / removed)] if removed else []) == (did, gone)


@pytest.mark.parametrize(
    ("cwd", "report", "refused"),
    [
        ("project", "report.xml", None),
        ("project/sub", "../report.xml", None),
        ("project", "missing.xml", None),
        ("project", "../outside/report.xml", "resolves outside the project root"),
        ("outside", "report.xml", "resolves outside the project root"),
        ("project", "link.xml", "resolves outside the project root"),
        ("project", "/dev/zero", "resolves outside the project root"),
        ("project", "sub", "is not a regular file"),
        ("project", "", "names no file"),
    ],
)
def test_report_refusal_reads_only_regular_files_inside_the_project(
    project: Path, cwd: str, report: str, refused: str | None
) -> None:
    """A junit_path is read only as a regular file (or a missing one) inside the project."""
    tmp = project.parent
    reason = report_refusal(str(tmp / cwd), report, str(project)) or ""
    phrases = ("resolves outside the project root", "is not a regular file", "names no file")
    assert refused == next((phrase for phrase in phrases if phrase in reason), None)


def _hostile_summary(tmp_path: Path, **target: Any) -> Path:
    """A replay summary with one failed target whose fields are `target`."""
    record = {
        "name": "t",
        "kind": "suite",
        "adapter": "junit",
        "argv": ["true"],
        "status": "failed",
        "chain_state": "outstanding",
        "decided_by": "old",
        **target,
    }
    document = {
        "schema": "replay.summary.v1",
        "run_id": "old",
        "status": "failed",
        "started_at": "2026-01-01T00:00:00Z",
        "finished_at": "2026-01-01T00:00:01Z",
        "targets": [record],
    }
    path = tmp_path / "old/summary.json"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(orjson.dumps(document))
    return path


@pytest.mark.parametrize(
    ("cwd", "junit_path"),
    [
        ("{tmp}/outside", "report.xml"),
        ("{tmp}/project", "../outside/report.xml"),
        ("{tmp}/project", "{tmp}/outside/report.xml"),
        ("{tmp}/project", "link.xml"),
    ],
)
def test_rerun_of_a_hostile_summary_deletes_nothing_outside(
    project: Path, cwd: str, junit_path: str
) -> None:
    """`--rerun-from` a summary whose junit_path and cwd point outside deletes nothing there."""
    tmp = project.parent
    _hostile_summary(project, cwd=cwd.format(tmp=tmp), junit_path=junit_path.format(tmp=tmp))
    (project / "replay.toml").write_text("[replay]\n")
    before = snapshot(tmp)
    result = replay(project, "--rerun-from", "old/summary.json", "--out", "r", "-q")
    assert [] == changed_outside(before, snapshot(tmp), project / "r"), result.stderr


def test_rerun_of_a_summary_reads_no_report_outside_the_project(project: Path) -> None:
    """A summary's junit_path leading out of the project is not read: its tests stay out."""
    tmp = project.parent
    (tmp / "outside/report.xml").write_text(OUTSIDE_REPORT)
    _hostile_summary(project, cwd=str(project), junit_path="../outside/report.xml")
    (project / "replay.toml").write_text("[replay]\n")
    replay(project, "--rerun-from", "old/summary.json", "--out", "r", "-q")
    (target,) = load_json(project / "r/summary.json")["targets"]
    assert ([], True) == (
        target["tests"],
        "outside the project root" in str(target["attempts"][-1]["unseen"]),
    )


# --- 6. verify and show on untrusted files -----------------------------------------------


@pytest.fixture
def fifo_summary(tmp_path: Path) -> Path:
    """`run/summary.json` as a FIFO nobody writes to."""
    (tmp_path / "run").mkdir()
    os.mkfifo(tmp_path / "run/summary.json")
    return tmp_path / "run/summary.json"


@pytest.fixture
def zero_summary(tmp_path: Path) -> Path:
    """`run/summary.json` as a link to `/dev/zero`: endless bytes."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run/summary.json").symlink_to("/dev/zero")
    return tmp_path / "run/summary.json"


@pytest.mark.parametrize("kind", ["fifo_summary", "zero_summary"])
@pytest.mark.parametrize(
    "command",
    [
        ["show", "run/summary.json"],
        ["verify", "run"],
        ["diff", "run/summary.json", "run/summary.json"],
        ["--rerun-from", "run/summary.json", "--dry-run"],
    ],
)
def test_summary_that_is_not_a_regular_file_is_one_line_exit_2(
    tmp_path: Path, kind: str, command: list[str], request: pytest.FixtureRequest
) -> None:
    """A summary that is a FIFO or a link to /dev/zero is refused unread: one line, exit 2."""
    request.getfixturevalue(kind)
    (tmp_path / "replay.toml").write_text("[replay]\n")
    result = replay(tmp_path, *command, timeout=20)
    assert (2, 1) == (result.returncode, len(result.stderr.splitlines())), result.stderr
    assert "not a regular file" in result.stderr


def test_read_input_caps_what_it_reads(tmp_path: Path) -> None:
    """A file larger than the cap is an `InputError`, read no further than the cap."""
    (tmp_path / "big.json").write_bytes(b" " * 5000)
    with pytest.raises(InputError, match="larger than"):
        read_input(tmp_path / "big.json", what="a summary file", limit=4096)
    assert b" " * 4096 == read_input(tmp_path / "big.json", what="x", limit=5000)[:4096]


def test_load_summary_refuses_a_fifo_in_the_library(fifo_summary: Path) -> None:
    """`load_summary` on a FIFO raises `InputError` at once instead of waiting for a writer."""
    with pytest.raises(InputError, match="not a regular file"):
        load_summary(fifo_summary)


def test_verify_reports_a_fifo_the_summary_names_without_hanging(tmp_path: Path) -> None:
    """A FIFO named by the summary as a target's result is a problem, not a hang."""
    write_config(tmp_path, [{"name": "a", "command": ["true"]}])
    assert 0 == replay(tmp_path, "run", "--out", "r", "-q").returncode
    (tmp_path / "r/a/result.json").unlink()
    os.mkfifo(tmp_path / "r/a/result.json")
    result = replay(tmp_path, "verify", "r", timeout=20)
    assert (1, True) == (result.returncode, "a/result.json: not a regular file" in result.stdout)


# --- 7. one run at a time in a run directory ---------------------------------------------


@pytest.mark.slow
def test_second_run_on_the_same_out_is_refused_naming_the_holder(tmp_path: Path) -> None:
    """While a run holds `--out`, a second one exits 2 with one line naming the holder's pid."""
    write_config(tmp_path, [{"name": "slow", "command": ["sleep", "30"]}])
    first = subprocess.Popen(
        [PY, "-m", "replay", "run", "--out", "r", "-q", "--kill-grace", "0.2"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "r/slow/output.log").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        second = replay(tmp_path, "run", "--out", "r", "-q")
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=30)
    assert (2, 1) == (second.returncode, len(second.stderr.splitlines())), second.stderr
    assert f"pid {first.pid} " in second.stderr
    assert "interrupted" == load_json(tmp_path / "r/summary.json")["status"]
    # Released at the end, also of an interrupted run: the next one runs.
    write_config(tmp_path, [{"name": "slow", "command": ["true"]}])
    assert 0 == replay(tmp_path, "run", "--out", "r", "-q").returncode


def test_lock_in_the_library_refuses_a_second_holder(tmp_path: Path) -> None:
    """`lock_run_dir` twice: the second raises naming this pid; after `release` it is free."""
    first = lock_run_dir(tmp_path / "r", started_at="2026-01-01T00:00:00Z")
    with pytest.raises(ArtifactError, match=f"pid {os.getpid()} on .*, started 2026-01-01"):
        lock_run_dir(tmp_path / "r", started_at="later")
    first.release()
    second = lock_run_dir(tmp_path / "r", started_at="later")
    assert (False, True) == (first.held, second.held)
    second.release()


def test_a_planted_link_at_the_lock_is_replaced(tmp_path: Path) -> None:
    """A link at `.replay.lock` is removed, not written through."""
    (tmp_path / "victim").write_text("precious")
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / LOCK_NAME).symlink_to(tmp_path / "victim")
    lock = lock_run_dir(tmp_path / "r", started_at="now")
    lock.release()
    assert ("precious", False) == (
        (tmp_path / "victim").read_text(),
        (tmp_path / "r" / LOCK_NAME).is_symlink(),
    )


def test_run_releases_the_lock_when_it_ends(tmp_path: Path) -> None:
    """After `run()` returns, the run directory can be locked again."""
    job = Job(id="a", target="a", kind="suite", adapter="generic", argv=("true",))
    run(Plan(jobs=(job,)), tmp_path / "r")
    lock_run_dir(tmp_path / "r", started_at="now").release()


# --- 8. merge never overwrites its own input -------------------------------------------


@pytest.mark.slow
def test_merge_into_the_directory_of_an_input_is_refused(tmp_path: Path) -> None:
    """`merge --out` a shard's own directory exits 2 and writes nothing."""
    write_config(tmp_path, [{"name": "a", "command": ["true"]}, {"name": "b", "command": ["true"]}])
    for index in range(2):
        replay(
            tmp_path,
            "run",
            "--shard-index",
            str(index),
            "--shard-total",
            "2",
            "--out",
            f"s{index}",
            "-q",
        )
    (tmp_path / "link").symlink_to(tmp_path / "s0", target_is_directory=True)
    before = snapshot(tmp_path)
    for out in ("s0", "link", str(tmp_path / "s1") + "/"):
        result = replay(tmp_path, "merge", "s0/summary.json", "s1/summary.json", "--out", out)
        assert (2, 1) == (result.returncode, len(result.stderr.splitlines())), result.stderr
    assert [] == changed_outside(before, snapshot(tmp_path), tmp_path / "nothing")
    assert (
        0
        == replay(tmp_path, "merge", "s0/summary.json", "s1/summary.json", "--out", ".").returncode
    )


# --- the whole: nothing a config or a summary names escapes ------------------------------

HOSTILE_NAMES = st.one_of(
    st.sampled_from(
        ["", ".", "..", "../x", "/abs", "a/../../b", "summary.json", "Events.jsonl", "carried"]
    ),
    st.sampled_from([LOCK_NAME, "-rf", "x" * 300, "\u202e", "a\\b", "~", "$HOME", "*"]),
    st.text(min_size=0, max_size=12),
)
HOSTILE_PATHS = st.sampled_from(
    [
        None,
        "report.xml",
        "../outside/report.xml",
        "{tmp}/outside/report.xml",
        "link.xml",
        "sub/../../outside/report.xml",
        "..",
        ".",
        "",
    ]
)
HOSTILE_CWDS = st.sampled_from(
    [None, "{tmp}/project", "{tmp}/outside", "{tmp}", "/", "{tmp}/project/link-dir"]
)


MARKER = "OUTSIDE-4f1c9a"
OUTSIDE_REPORT = f'<testsuite tests="1"><testcase classname="x" name="{MARKER}"/></testsuite>'
"""A file outside the project whose content must never show up in the run directory."""


def _world(tmp: Path) -> None:
    """A project, an outside directory with files worth stealing, and links between them.

    The project holds no report of its own: removing one there would be allowed.
    """
    (tmp / "project").mkdir()
    (tmp / "outside").mkdir()
    (tmp / "outside/report.xml").write_text(OUTSIDE_REPORT)
    (tmp / "project/link.xml").symlink_to(tmp / "outside/report.xml")
    (tmp / "project/link-dir").symlink_to(tmp / "outside", target_is_directory=True)


# Fewer examples than the profile: every example runs a real `replay run` into a run directory.
@pytest.mark.slow
@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(HOSTILE_NAMES, min_size=1, max_size=3, unique=True),
    junit=HOSTILE_PATHS,
    cwd=HOSTILE_CWDS,
    log=st.sampled_from(["../outside/report.xml", "/etc/passwd", "link.xml", "x/../../y"]),
    from_summary=st.booleans(),
)
def test_no_name_or_path_escapes_the_run_dir(
    names: list[str], junit: str | None, cwd: str | None, log: str, from_summary: bool
) -> None:
    """Hostile suite names, junit paths, cwds and logs from a config or a summary: a run of
    `true` changes nothing outside its run directory, reads nothing from outside the
    project into it, and writes nothing at `/`."""
    with tempfile.TemporaryDirectory() as temporary:
        tmp = Path(temporary)
        _world(tmp)
        project = tmp / "project"
        run_dir = project / "r"
        fill = {"tmp": tmp}
        try:
            suites = tuple(
                Suite(
                    name=name,
                    command=("true",),
                    adapter="junit",
                    cwd=cwd.format(**fill) if cwd else None,
                    junit_path=junit.format(**fill) if junit is not None else None,
                )
                for name in names
            )
            config = Config(root=str(project), suites=() if from_summary else suites)
            if from_summary:
                records = [
                    {
                        "name": s.name or "empty",
                        "cwd": s.cwd,
                        "junit_path": s.junit_path,
                        "log": log,
                        "result": log,
                        "digest": log,
                    }
                    for s in suites
                ]
                path = _hostile_summary(project, **records[0])
                summary = load_summary(path)
                plan = rerun_plan(summary, config, Options(), summary_path=str(path))
            else:
                plan = build_plan(config, Options())
        except ReplayError as exc:
            event(f"refused: {type(exc).__name__}")
            return  # refused as bad input: nothing ran
        event("ran")
        before = snapshot(tmp)
        run(plan, run_dir, collect_environment=False)
        after = snapshot(tmp)
        read = [p for p, (_, content) in after.items() if MARKER.encode() in str(content).encode()]
        assert ([], []) == (
            changed_outside(before, after, run_dir),
            [p for p in read if p.startswith(str(run_dir))],
        )
    assert [False, False, False] == [p.exists() for p in ROOT_FILES]


def test_carried_file_paths_never_climb_out_of_the_run_dir(tmp_path: Path) -> None:
    """`carry_file` builds the new path from where the file lies: `..` cannot climb out."""
    source = tmp_path / "old"
    (source / "p/q").mkdir(parents=True)
    (source / "carried").symlink_to(source / "p/q", target_is_directory=True)
    (source / "a").mkdir()
    (source / "a/output.log").write_text("log")
    # In `old`, `carried/../../a` is `old/a` (the link goes two levels down); joined to
    # the new run directory as written, it would be `new/carried/../../a`: outside `new`.
    moved = carry_file(source, "carried/../../a/output.log", tmp_path / "new", "old")
    assert ("carried/old/a/output.log", False) == (moved, (tmp_path / "a").exists())
    assert "log" == (tmp_path / "new" / str(moved)).read_text()
