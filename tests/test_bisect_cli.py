"""`replay bisect` end to end on a real git repository of 30 commits."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _support import git, load_json, replay

pytestmark = pytest.mark.slow

BROKEN_AT = 21
"""Commit number (1-based after the good one) whose change breaks the test."""
UNBUILDABLE = 14
"""The commit whose build fails: the first the search would probe after the bad revision."""

# The run number replay gives each job of a flake loop ends its REPLAY_JOB (`t-run7`):
# failing is decided by it, so every probe of a commit sees the same sequence of outcomes.
CHECK = """\
import os, random, sys
from state import BROKEN
run = int(os.environ["REPLAY_JOB"].rsplit("run", 1)[1])
print("connecting to the server")
if BROKEN and (os.environ.get("ALWAYS") or random.Random(run).random() < 0.4):
    print(f"lost the race at step {run}")
    sys.exit(1)
print("all good")
"""

BUILD = "import os, sys\nsys.exit(1 if os.path.exists('nobuild') else 0)\n"


def _repository(tmp_path: Path) -> tuple[Path, list[str]]:
    """Commit 0 is good; commit BROKEN_AT breaks the test; commit UNBUILDABLE does not build."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "replay.toml").write_text(
        f'[replay]\nout = "results"\n[[replay.suites]]\nname = "t"\n'
        f'command = ["{sys.executable}", "check.py"]\n'
    )
    (repo / "check.py").write_text(CHECK)
    (repo / "build.py").write_text(BUILD)
    shas = []
    for number in range(30):
        (repo / "state.py").write_text(f"BROKEN = {number >= BROKEN_AT}\n")
        (repo / "history.txt").write_text(f"commit {number}\n")
        nobuild = repo / "nobuild"
        if number == UNBUILDABLE:
            nobuild.write_text("x")
        elif nobuild.exists():
            nobuild.unlink()
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"commit {number}")
        shas.append(git(repo, "rev-parse", "HEAD"))
    return repo, shas


def _bisect(good: str, out: Path) -> tuple[str, ...]:
    """`replay bisect t` from commit `good` to HEAD, writing to `out`."""
    return ("bisect", "t", "--good", good, "--bad", "HEAD", "--out", str(out))


def _worktrees(repo: Path) -> int:
    return git(repo, "worktree", "list").count("\n") + 1


def test_a_flaky_break_is_named(tmp_path: Path) -> None:
    """A test failing ~40% of the time from commit k: bisect names k; worktrees are gone."""
    repo, shas = _repository(tmp_path)
    done = replay(
        repo,
        *_bisect(shas[0], tmp_path / "b"),
        "--confidence",
        "0.9",
        "-j",
        "2",
        timeout=900,
    )
    report = load_json(tmp_path / "b/bisect_report.json")
    assert (0, shas[BROKEN_AT], "flaky") == (done.returncode, report["first_bad"], report["mode"])
    assert report["confidence"] >= 0.9
    assert 1 == _worktrees(repo)
    assert "" == git(repo, "status", "--porcelain", "--untracked-files=no")
    first = next(p for p in report["probes"] if p["commit"] == shas[BROKEN_AT])
    assert first["failed"] >= 1
    assert "lost the race at step <n>" in report["divergence"]["first_line"]


def test_deterministic_break_skip_and_resume_after_ctrl_c(tmp_path: Path) -> None:
    """One run per probe; the unbuildable commit is skipped; SIGINT then --resume finishes."""
    repo, shas = _repository(tmp_path)
    out = tmp_path / "b"
    args = [
        *_bisect(shas[0], out),
        "--setup",
        f"{sys.executable} build.py",
        "--env",
        "ALWAYS=1",
    ]
    child = subprocess.Popen(
        [sys.executable, "-m", "replay", *args],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    state = out / "bisect_state.json"
    deadline = time.monotonic() + 300
    while not state.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=120)
    assert 130 == child.returncode, err
    assert state.exists()
    assert 1 == _worktrees(repo)
    saved = load_json(state)
    done = replay(repo, *args, "--resume", timeout=600)
    assert 0 == done.returncode, done.stderr
    assert "resuming after" in done.stderr
    report = load_json(out / "bisect_report.json")
    assert (shas[BROKEN_AT], "deterministic") == (report["first_bad"], report["mode"])
    assert report["confidence"] > 0.99  # 21 failures in a row: no flake passing 1 in 5
    assert (shas[-1], shas[0]) == (report["probes"][0]["commit"], report["probes"][1]["commit"])
    bad, good = report["probes"][:2]
    assert ("bad", 0, "good", 1) == (bad["verdict"], bad["passed"], good["verdict"], good["runs"])
    assert bad["failed"] >= 21  # runs in flight when the 21st failed end too
    verdicts = {p["commit"]: p["verdict"] for p in report["probes"]}
    assert "skipped" == verdicts[shas[UNBUILDABLE]]
    assert all(p["runs"] == 1 for p in report["probes"][1:] if p["verdict"] != "skipped")
    assert report["probes"][: len(saved["probes"]) + 1][0]["commit"] == shas[-1]
    assert 1 == _worktrees(repo)
