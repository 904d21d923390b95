"""`replay bisect --dry-run`: the plan, printed, with nothing run and nothing written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from _support import git, replay


@pytest.mark.slow
def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path: Path) -> None:
    """Every commit after --good, the steps and costs; no run, no --out, no worktree."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    marker = tmp_path / "ran"
    (repo / "replay.toml").write_text(
        f'[replay]\nout = "results"\n[[replay.suites]]\nname = "t"\n'
        f'command = ["{sys.executable}", "-c", "open({str(marker)!r}, \\"w\\")"]\n'
    )
    shas = []
    for number in range(4):
        (repo / "history.txt").write_text(f"commit {number}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"commit {number}")
        shas.append(git(repo, "rev-parse", "HEAD"))
    out = tmp_path / "b"
    done = replay(
        repo, "bisect", "t", "--good", shas[0], "--bad", "HEAD", "--out", str(out), "--dry-run"
    )
    assert 0 == done.returncode, done.stderr
    plan = json.loads(done.stdout)
    assert (shas[0], shas[-1], shas[1:]) == (plan["good"], plan["bad"], plan["commits"])
    assert (2, 0.95, 100) == (plan["steps"], plan["confidence"], plan["runs_max"])
    assert "failures in a row" in plan["bad_revision"]
    assert "one run" in plan["good_revision"]
    assert not marker.exists()
    assert not out.exists()
    assert not (repo / "results").exists()
    assert 1 == git(repo, "worktree", "list").count("\n") + 1


def test_dry_run_names_a_bad_revision(tmp_path: Path) -> None:
    """A --bad that is no commit: one line naming the option, exit 2."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "replay.toml").write_text('[[replay.suites]]\nname = "t"\ncommand = ["true"]\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    done = replay(repo, "bisect", "t", "--good", "HEAD", "--bad", "nosuch", "--dry-run")
    assert 2 == done.returncode
    assert "--bad 'nosuch': not a commit" in done.stderr
    assert 1 == len(done.stderr.strip().splitlines())


def test_a_failing_git_call_is_one_line_with_gits_words(tmp_path: Path) -> None:
    """`git` (through sh): stdout on success; on failure a ReplayError naming the call."""
    import pytest

    from replay._exec.bisect import git
    from replay._model.errors import ReplayError

    git(tmp_path, "init", "-q", "-b", "main")
    assert str(tmp_path.resolve()) == git(tmp_path, "rev-parse", "--show-toplevel")
    with pytest.raises(ReplayError) as caught:
        git(tmp_path, "frobnicate", "now")
    text = str(caught.value)
    assert text.startswith(f"git frobnicate now in {tmp_path}: ")
    assert "not a git command" in text
    assert "\n" not in text
