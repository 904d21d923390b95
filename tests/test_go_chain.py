"""A real Go module through replay: qualified names and counts equal to go's, a build failure
located, and chains that turn green after a fix, a rename and a build fix. Skipped without go."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from _support import load_json as load
from _support import replay as run_replay

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed"),
]

MAX_RERUNS = 2
"""A chain must be green this many reruns after the fix: a targeted one, then the whole suite."""

SHARED_IN_A = """\
package a

import "testing"

func TestShared(t *testing.T) {}

func TestOnlyA(t *testing.T) {}
"""

SHARED_IN_B = """\
package b

import "testing"

func TestShared(t *testing.T) {
	t.Skip("not in b")
}

func TestBroken(t *testing.T) {
	if got := 1 + 1; got != 3 {
		t.Errorf("got %d, want 3", got)
	}
}
"""

B_FIXED = SHARED_IN_B.replace("got != 3", "got != 2")
B_RENAMED = B_FIXED.replace("TestBroken", "TestRepaired")
B_UNBUILDABLE = SHARED_IN_B.replace("got := 1 + 1", "got := undefinedHelper()")
"""`undefinedHelper` on line 10 of b/b_test.go: a compile error."""


def module(tmp_path: Path, b_test: str) -> Path:
    """A module `example.com/m` with packages a and b, and a replay.toml running `go test`."""
    project = tmp_path / "module"
    (project / "a").mkdir(parents=True)
    (project / "b").mkdir()
    (project / "go.mod").write_text("module example.com/m\n\ngo 1.19\n")
    (project / "a" / "a_test.go").write_text(SHARED_IN_A)
    (project / "b" / "b_test.go").write_text(b_test)
    (project / "replay.toml").write_text(
        "[[replay.suites]]\n"
        'name = "go"\n'
        'kind = "unit"\n'
        'adapter = "go"\n'
        'command = ["go", "test", "./..."]\n'
        'timeout = "10m"\n'
    )
    return project


def go_env(tmp_path: Path) -> dict[str, str]:
    """No network and private caches: the module has no dependencies."""
    return {
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",
        "GOTOOLCHAIN": "local",
        "GOCACHE": str(tmp_path / "gocache"),
        "GOPATH": str(tmp_path / "gopath"),
    }


def replay(tmp_path: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m replay ARGS` in the module; a traceback fails the test with its text."""
    done = run_replay(project, *args, env=go_env(tmp_path), timeout=900)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def only_target(project: Path, run: str) -> dict[str, Any]:
    """The one target of a run's summary."""
    (target,) = load(project / run / "summary.json")["targets"]
    assert isinstance(target, dict)
    return target


def go_counts(log: Path) -> Counter[str]:
    """What `go test -json` itself reported: its test-level pass, fail and skip events."""
    statuses = {"pass": "passed", "fail": "failed", "skip": "skipped"}
    counts: Counter[str] = Counter()
    for line in log.read_bytes().splitlines():
        if line.startswith(b"{"):
            event = orjson.loads(line)
            if event.get("Test") and event["Action"] in statuses:
                counts[statuses[event["Action"]]] += 1
    return counts


def rerun_until_green(tmp_path: Path, project: Path) -> list[int]:
    """Exit codes of up to `MAX_RERUNS` `--rerun-from` runs after r1, stopping at the first 0."""
    codes: list[int] = []
    for number in range(2, MAX_RERUNS + 2):
        done = replay(
            tmp_path, project, "run", "--rerun-from", f"r{number - 1}/summary.json",
            "--out", f"r{number}",
        )  # fmt: skip
        assert done.returncode in (0, 1), done.stderr
        codes.append(done.returncode)
        if done.returncode == 0:
            break
    return codes


def go_test_passes(tmp_path: Path, project: Path) -> bool:
    """Whether a plain `go test ./...` passes: green in replay must be green in go."""
    done = subprocess.run(
        ["go", "test", "-count=1", "./..."], cwd=project, check=False, capture_output=True,
        env={**os.environ, **go_env(tmp_path)}, timeout=600,
    )  # fmt: skip
    return done.returncode == 0


def test_same_named_tests_count_as_go_does_and_a_fix_turns_the_chain_green(
    tmp_path: Path,
) -> None:
    """`TestShared` of a and b are two records; counts equal go's; the fixed test goes green."""
    project = module(tmp_path, SHARED_IN_B)
    first = replay(tmp_path, project, "run", "--out", "r1")
    assert 1 == first.returncode, first.stderr
    target = only_target(project, "r1")
    assert {
        "example.com/m/a TestShared": "passed",
        "TestOnlyA": "passed",
        "example.com/m/b TestShared": "skipped",
        "TestBroken": "failed",
    } == {t["name"]: t["status"] for t in target["tests"]}
    assert go_counts(project / "r1" / target["log"]) == Counter(
        t["status"] for t in target["tests"]
    )

    (project / "b" / "b_test.go").write_text(B_FIXED)
    codes = rerun_until_green(tmp_path, project)
    assert 0 == codes[-1], codes
    assert go_test_passes(tmp_path, project)


def test_a_test_renamed_while_fixed_does_not_leave_the_chain_stuck(tmp_path: Path) -> None:
    """`TestBroken` fixed as `TestRepaired`: its targeted rerun finds nothing, the suite reruns."""
    project = module(tmp_path, SHARED_IN_B)
    first = replay(tmp_path, project, "run", "--out", "r1")
    assert 1 == first.returncode, first.stderr

    (project / "b" / "b_test.go").write_text(B_RENAMED)
    codes = rerun_until_green(tmp_path, project)
    assert 0 == codes[-1], codes
    last = only_target(project, f"r{len(codes) + 1}")
    assert "passing" == last["chain_state"]
    assert go_test_passes(tmp_path, project)


def test_a_package_that_does_not_build_is_located_and_rerun_whole(tmp_path: Path) -> None:
    """b does not compile while a passes: the digest names b_test.go:10; the build fix is green."""
    project = module(tmp_path, B_UNBUILDABLE)
    first = replay(tmp_path, project, "run", "--out", "r1")
    assert 1 == first.returncode, first.stderr
    target = only_target(project, "r1")
    unbuilt = next(t for t in target["tests"] if t["name"] == "example.com/m/b")
    assert ("failed", "b/b_test.go", 10) == (unbuilt["status"], unbuilt["file"], unbuilt["line"])
    assert "package example.com/m/b did not build" == target["unseen"]
    digest = load(project / "r1" / target["digest"])
    assertion = digest["first_failing_assertion"]
    assert ("b/b_test.go", 10) == (assertion["file"], assertion["line"])

    (project / "b" / "b_test.go").write_text(B_FIXED)
    codes = rerun_until_green(tmp_path, project)
    assert 0 == codes[-1], codes
    assert go_test_passes(tmp_path, project)
