"""Rerun chains end to end with real processes: run, rerun, rerun again, until green."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from _support import config_toml, load_json, spawn
from _support import replay as run_replay

pytestmark = pytest.mark.slow

SUITES = [
    {"name": "always", "kind": "unit", "command": ["true"]},
    {
        "name": "second_time",
        "kind": "unit",
        "command": ["sh", "-c", "if [ -f ran_once ]; then exit 0; fi; touch ran_once; exit 1"],
    },
    {"name": "broken", "kind": "e2e", "command": ["sh", "-c", "test -f fixed_broken"]},
    {
        "name": "hangs",
        "kind": "e2e",
        "command": ["sh", "-c", "test -f fixed_hangs && exit 0; echo $$ > hang.pid; sleep 100"],
    },
]
CONFIG = config_toml({"parallelism": 4}, suites=SUITES)


def replay(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m replay ARGS` in `cwd`, with a short kill grace."""
    return run_replay(cwd, *args, "--kill-grace", "0.2", timeout=60)


def summary(path: Path) -> dict[str, Any]:
    """A summary document."""
    return load_json(path)


def states(document: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Target name -> (status, chain_state)."""
    return {t["name"]: (t["status"], t["chain_state"]) for t in document["targets"]}


def finished_jobs(events: Path) -> set[str]:
    """Targets with a `job_finished` event so far."""
    if not events.exists():
        return set()
    return {
        e["target"]
        for e in map(orjson.loads, events.read_bytes().splitlines())
        if e["event"] == "job_finished"
    }


def test_three_step_chain(tmp_path: Path) -> None:
    """Each rerun runs only what is outstanding; totals and states are right at every step."""
    (tmp_path / "replay.toml").write_text(CONFIG)

    # Step 1: two failures, one interrupted.
    first = spawn(tmp_path, "run", "--out", "r1", "--kill-grace", "0.2", stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not (
        (tmp_path / "hang.pid").exists()
        and {"always", "second_time", "broken"} <= finished_jobs(tmp_path / "r1/events.jsonl")
    ):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    first.send_signal(signal.SIGINT)
    assert 130 == first.wait(timeout=30)
    s1 = summary(tmp_path / "r1/summary.json")
    assert "interrupted" == s1["status"]
    after_first = {
        "always": ("passed", "passing"),
        "second_time": ("failed", "outstanding"),
        "broken": ("failed", "outstanding"),
        "hangs": ("not_run", "outstanding"),
    }
    assert after_first == states(s1)
    assert (1, 1, ["second_time"]) == (
        s1["passed_units"],
        s1["failed_units"],
        s1["failed_unit_names"],
    )
    assert (0, 2, ["broken", "hangs"]) == (
        s1["passed_suites"],
        s1["failed_suites"],
        s1["failed_names"],
    )
    assert "python -m replay --rerun-from r1/summary.json" == s1["one_command_replay"]

    # Step 2: the interrupted one and the second-timer pass now; broken still fails.
    (tmp_path / "fixed_hangs").touch()
    second = replay(tmp_path, "--rerun-from", "r1/summary.json", "--out", "r2")
    assert 1 == second.returncode, second.stderr
    s2 = summary(tmp_path / "r2/summary.json")
    fixed = ("passed", "passing")
    assert {**after_first, "second_time": fixed, "hangs": fixed} == states(s2)
    decided = {t["name"]: t["decided_by"] for t in s2["targets"]}
    assert s1["run_id"] == decided["always"]
    assert {s2["run_id"]} == {decided[n] for n in ("second_time", "broken", "hangs")}
    assert (s1["run_id"], "r1/summary.json") == (s2["parent_run_id"], s2["rerun_from"])
    assert ["broken"] == s2["failed_names"]
    assert [] == s2["failed_unit_names"]
    assert "python -m replay --rerun-from r2/summary.json" in second.stderr

    # Step 3: only the still-failing one runs.
    third = replay(tmp_path, "--rerun-from", "r2/summary.json", "--out", "r3")
    assert 1 == third.returncode
    s3 = summary(tmp_path / "r3/summary.json")
    ran = [t["name"] for t in s3["targets"] if t["decided_by"] == s3["run_id"]]
    assert ["broken"] == ran
    assert ["broken"] == s3["failed_names"]

    # Step 4: fixed; the chain turns green.
    (tmp_path / "fixed_broken").touch()
    fourth = replay(tmp_path, "--rerun-from", "r3/summary.json", "--out", "r4")
    assert 0 == fourth.returncode, fourth.stderr
    s4 = summary(tmp_path / "r4/summary.json")
    assert "passed" == s4["status"]
    assert all(state == "passing" for _, state in states(s4).values())

    # Step 5: a rerun of a green chain runs nothing, writes a summary and exits 0.
    fifth = replay(tmp_path, "--rerun-from", "r4/summary.json", "--out", "r5")
    assert 0 == fifth.returncode, fifth.stderr
    s5 = summary(tmp_path / "r5/summary.json")
    assert [] == [t for t in s5["targets"] if t["decided_by"] == s5["run_id"]]
    assert (4, "passed") == (len(s5["targets"]), s5["status"])


def test_rerun_uses_recorded_command_when_suite_left_the_config(tmp_path: Path) -> None:
    """A suite no longer in the config reruns with its recorded argv, env and cwd."""
    (tmp_path / "replay.toml").write_text(
        '[[replay.suites]]\nname = "gone"\ncommand = ["sh", "-c", "echo $WHO > who; exit 1"]\n'
        'env = { WHO = "recorded" }\ntimeout = "45s"\n'
    )
    assert 1 == replay(tmp_path, "run", "--out", "r1").returncode
    (tmp_path / "replay.toml").write_text('[[replay.suites]]\nname = "other"\ncommand = ["true"]\n')
    (tmp_path / "who").unlink()
    assert 1 == replay(tmp_path, "--rerun-from", "r1/summary.json", "--out", "r2").returncode
    assert "recorded" == (tmp_path / "who").read_text().strip()
    (target,) = summary(tmp_path / "r2/summary.json")["targets"]
    assert 45.0 == target["timeout"]


def test_hostile_name_stays_one_argument(tmp_path: Path) -> None:
    """A suite name full of shell syntax is one argv element, shown shell-quoted."""
    name = "x; touch pwned #"
    (tmp_path / "replay.toml").write_text(
        f'[[replay.suites]]\nname = "{name}"\ncommand = ["sh", "-c", "exit 1", "{name}"]\n'
    )
    result = replay(tmp_path, "run", "--out", "r1")
    assert 1 == result.returncode
    bundle = orjson.loads((tmp_path / "r1/replay_bundle.json").read_bytes())
    entry = bundle["failed_suites"][0]
    assert ["sh", "-c", "exit 1", name] == entry["argv"]
    assert "'x; touch pwned #'" in entry["command"]
    assert not (tmp_path / "pwned").exists()
    job_dirs = [p.name for p in (tmp_path / "r1").iterdir() if p.is_dir()]
    assert all("/" not in d and ";" not in d and " " not in d for d in job_dirs)


def test_rerun_directory_stands_alone_and_verifies(tmp_path: Path) -> None:
    """Carried targets' artifacts are brought into the rerun directory: verify and show agree."""
    (tmp_path / "replay.toml").write_text(
        '[[replay.suites]]\nname = "ok"\ncommand = ["sh", "-c", "echo fine"]\n'
        '[[replay.suites]]\nname = "bad"\ncommand = ["sh", "-c", "test -f fixed"]\n'
    )
    assert 1 == replay(tmp_path, "run", "--out", "r1").returncode
    assert 1 == replay(tmp_path, "--rerun-from", "r1/summary.json", "--out", "r2").returncode
    s2 = summary(tmp_path / "r2/summary.json")
    carried = next(t for t in s2["targets"] if t["name"] == "ok")
    for key in ("log", "result"):
        path = tmp_path / "r2" / carried[key]
        assert path.is_file(), carried[key]
    assert "fine\n" == (tmp_path / "r2" / carried["log"]).read_text()
    verified = run_replay(tmp_path, "verify", "r2")
    assert 0 == verified.returncode, verified.stdout + verified.stderr
    (tmp_path / "fixed").touch()
    assert 0 == replay(tmp_path, "--rerun-from", "r2/summary.json", "--out", "r3").returncode
    verified = run_replay(tmp_path, "verify", "r3")
    assert 0 == verified.returncode, verified.stdout + verified.stderr


def test_fail_on_flaky_is_in_the_summary(tmp_path: Path) -> None:
    """`--fail-on-flaky`: the summary says failed, the exit code follows; a rerun reruns it."""
    head = config_toml({"parallelism": 4}, suites=SUITES[:2])  # always, second_time
    (tmp_path / "replay.toml").write_text(head)
    first = replay(tmp_path, "run", "--out", "r1", "--retries", "1", "--fail-on-flaky")
    s1 = summary(tmp_path / "r1/summary.json")
    assert (1, "failed") == (first.returncode, s1["status"])
    assert ("flaky", "outstanding") == states(s1)["second_time"]
    second = replay(tmp_path, "--rerun-from", "r1/summary.json", "--out", "r2", "--fail-on-flaky")
    s2 = summary(tmp_path / "r2/summary.json")
    assert (0, "passed") == (second.returncode, s2["status"])
    assert ("passed", "passing") == states(s2)["second_time"]


def test_expired_quarantine_entry_fails_the_summary(tmp_path: Path) -> None:
    """A failing quarantine entry is part of the run status written to summary.json."""
    (tmp_path / "classification.toml").write_text(
        '[quarantine.ok]\ncategory = "FLAKE-TIMING"\nowner = "me"\nquarantined = "2020-01-01"\n'
        'expires = "2020-01-10"\nbead = "b-1"\nevidence = "e"\nrepro = "r"\nreason = "x"\n'
        'remove_when = "fixed"\n'
    )
    (tmp_path / "replay.toml").write_text(
        '[replay.discover]\nclassification = "classification.toml"\n'
        '[[replay.suites]]\nname = "ok"\ncommand = ["true"]\n'
    )
    result = replay(tmp_path, "run", "--out", "r1")
    s1 = summary(tmp_path / "r1/summary.json")
    assert (1, "failed") == (result.returncode, s1["status"])
    assert 1 == len(s1["policy_failures"])
    assert "quarantine.ok" in s1["policy_failures"][0]


def test_attempt_records_the_argv_that_ran_and_bundle_names_the_config(tmp_path: Path) -> None:
    """result.json holds each attempt's real argv; bundle commands keep `--config`."""
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "replay.toml").write_text(
        '[[replay.suites]]\nname = "bad"\ncommand = ["sh", "-c", "exit 3"]\n'
    )
    result = replay(tmp_path, "run", "--config", "ci/replay.toml", "--out", "r1", "-v")
    assert 1 == result.returncode
    target = load_json(tmp_path / "r1/bad/result.json")
    assert ["sh", "-c", "exit 3"] == target["attempts"][0]["argv"]
    assert "sh -c 'exit 3'" in result.stderr
    bundle = load_json(tmp_path / "r1/replay_bundle.json")
    (entry,) = bundle["failed_suites"]
    assert "python -m replay run --suite bad --config ci/replay.toml" == entry["runner_replay"]
    assert bundle["one_command_replay"].endswith("--config ci/replay.toml")


def test_failure_locations_are_relative_to_the_repository_root(tmp_path: Path) -> None:
    """A suite run in a subdirectory annotates `sub/tests/...`, where GitHub finds the file."""
    (tmp_path / "py" / "tests").mkdir(parents=True)
    (tmp_path / "py" / "tests" / "test_x.py").write_text("def test_x():\n    assert 1 == 2\n")
    (tmp_path / "replay.toml").write_text(
        '[[replay.suites]]\nname = "py"\nadapter = "pytest"\ncwd = "py"\n'
        f'command = ["{sys.executable}", "-m", "pytest", "-p", "no:cacheprovider", "tests"]\n'
    )
    result = run_replay(tmp_path, "run", "--out", "r1", "--github")
    assert 1 == result.returncode, result.stderr
    (test,) = load_json(tmp_path / "r1/py/result.json")["tests"]
    assert ("py/tests/test_x.py", 2) == (test["file"], test["line"])
    digest = load_json(tmp_path / "r1/py/failure_digest.json")
    assert "py/tests/test_x.py" == digest["first_failing_assertion"]["file"]
    assert "file=py/tests/test_x.py,line=2" in result.stdout
