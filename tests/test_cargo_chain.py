"""A real cargo crate through replay: per-test statuses, a digest naming file and line,
a rerun that runs exactly the failed tests, every test binary run even after one fails,
and counts equal to cargo's own. Skipped where cargo is absent."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from _support import ADAPTER_FIXTURES, config_toml
from _support import load_json as load
from _support import replay as run_replay

pytestmark = pytest.mark.slow

CRATE = ADAPTER_FIXTURES / "cargo_project"
TWO_BINARIES = ADAPTER_FIXTURES / "cargo_two_binaries"
FAILED = {"a::b::nested_fails", "fails_assert_eq", "panics_plain"}
FAIL_FAST = "cargo stopped after a failing test binary; later binaries did not run"
needs_cargo = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")


@needs_cargo
def test_cargo_suite_chain(tmp_path: Path) -> None:
    """Statuses per test, a digest with the right test, file and line, a targeted rerun."""
    command = ["cargo", "test", "--offline", "--test", "it", "--", "--test-threads=1"]
    project = cargo_project(tmp_path, CRATE, "it", command)

    def replay(*args: str) -> subprocess.CompletedProcess[str]:
        return run_replay(project, *args, timeout=900)

    first = replay("run", "--out", "r1")
    assert 1 == first.returncode, first.stderr
    (target,) = load(project / "r1/summary.json")["targets"]
    statuses = {t["name"]: t["status"] for t in target["tests"]}
    assert FAILED == {n for n, s in statuses.items() if s == "failed"}
    assert "passed" == statuses["passes"]
    assert "skipped" == statuses["ignored_plain"]

    digest = load(project / "r1" / target["digest"])
    assert FAILED == set(digest["impacted_scenario_ids"])
    assertion = digest["first_failing_assertion"]
    assert (assertion["file"], assertion["line"]) in {
        ("tests/it.rs", 9),
        ("tests/it.rs", 36),
        ("tests/it.rs", 15),
    }
    assert "--exact" in digest["remediation_pointer"]["targeted_test_replay_command"]

    second = replay("--rerun-from", "r1/summary.json", "--out", "r2")
    assert 1 == second.returncode
    rerun = load(project / "r2/summary.json")["targets"][0]
    assert FAILED == {t["name"] for t in rerun["attempts"][-1]["tests"]}
    assert statuses.keys() == {t["name"] for t in rerun["tests"]}


def cargo_project(tmp_path: Path, fixture: Path, suite: str, command: list[str]) -> Path:
    """`fixture` copied into tmp_path/crate with a config of one cargo unit suite `suite`
    running `command` (10 minutes at most, its build in tmp_path/target)."""
    project = tmp_path / "crate"
    shutil.copytree(fixture, project)
    env = {"CARGO_TARGET_DIR": str(tmp_path / "target"), "RUST_BACKTRACE": "0"}
    suite_table = {"name": suite, "kind": "unit", "adapter": "cargo", "command": command}
    config = config_toml(suites=[{**suite_table, "env": env, "timeout": "10m"}])
    (project / "replay.toml").write_text(config)
    return project


def two_binaries(tmp_path: Path, command: list[str]) -> Path:
    """`cargo_two_binaries` copied into tmp_path with a config running `command` as suite "two".

    Its test `a_only` (binary `a`) fails while the file `break_a` exists, `b_only` (binary
    `b`) while `break_b` does; `shared` is in both, passing in `a` and ignored in `b`.
    """
    return cargo_project(tmp_path, TWO_BINARIES, "two", command)


def outcome(project: Path, run: str) -> tuple[str, dict[str, str]]:
    """The suite's chain state after `run`, and its tests' statuses."""
    (target,) = load(project / run / "summary.json")["targets"]
    return target["chain_state"], {t["name"]: t["status"] for t in target["tests"]}


def cargo_totals(log: Path) -> int:
    """Tests cargo reported in `log`: passed, failed and ignored, summed over its binaries."""
    totals = re.findall(
        r"^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored", log.read_text(), re.M
    )
    return sum(int(passed) + int(failed) + int(ignored) for passed, failed, ignored in totals)


@needs_cargo
def test_every_binary_runs_and_the_chain_stays_red_until_both_are_fixed(tmp_path: Path) -> None:
    """A failure in `a` does not hide `b`'s: fixing `a` alone leaves the chain failing."""
    project = two_binaries(tmp_path, ["cargo", "test", "--offline"])
    (project / "break_a").touch()
    (project / "break_b").touch()

    first = run_replay(project, "run", "--out", "r1", timeout=900)
    assert 1 == first.returncode, first.stderr
    expected = {"a shared": "passed", "a_only": "failed", "b shared": "skipped", "b_only": "failed"}
    assert ("outstanding", expected) == outcome(project, "r1")

    (project / "break_a").unlink()
    second = run_replay(
        project, "run", "--rerun-from", "r1/summary.json", "--out", "r2", timeout=900
    )
    assert 1 == second.returncode, second.stderr
    assert ("outstanding", {**expected, "a_only": "passed"}) == outcome(project, "r2")

    (project / "break_b").unlink()
    third = run_replay(
        project, "run", "--rerun-from", "r2/summary.json", "--out", "r3", timeout=900
    )
    assert 0 == third.returncode, third.stderr
    passing = {**expected, "a_only": "passed", "b_only": "passed"}
    assert ("passing", passing) == outcome(project, "r3")

    env = {**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target")}
    cargo = subprocess.run(
        ["cargo", "test", "--offline"],
        check=False,
        cwd=project,
        env=env,
        capture_output=True,
        timeout=900,
    )
    assert 0 == cargo.returncode, cargo.stdout


@needs_cargo
def test_a_wrapper_that_stops_after_a_failed_binary_keeps_the_rest_outstanding(
    tmp_path: Path,
) -> None:
    """`sh -c "cargo test"` gets no `--no-fail-fast`: the binaries cargo skipped are unseen."""
    project = two_binaries(tmp_path, ["sh", "-c", "cargo test --offline"])
    (project / "break_a").touch()
    (project / "break_b").touch()

    first = run_replay(project, "run", "--out", "r1", timeout=900)
    assert 1 == first.returncode, first.stderr
    (target,) = load(project / "r1/summary.json")["targets"]
    expected = ("outstanding", FAIL_FAST, {"shared": "passed", "a_only": "failed"})
    statuses = {t["name"]: t["status"] for t in target["tests"]}
    assert expected == (target["chain_state"], target["unseen"], statuses)

    (project / "break_a").unlink()
    second = run_replay(
        project, "run", "--rerun-from", "r1/summary.json", "--out", "r2", timeout=900
    )
    assert 1 == second.returncode, second.stderr
    state, statuses = outcome(project, "r2")
    assert ("outstanding", "passed", "failed") == (state, statuses["a_only"], statuses["b_only"])

    (project / "break_b").unlink()
    third = run_replay(
        project, "run", "--rerun-from", "r2/summary.json", "--out", "r3", timeout=900
    )
    assert 0 == third.returncode, third.stderr
    assert "passing" == outcome(project, "r3")[0]


@needs_cargo
def test_same_named_tests_in_two_binaries_count_as_cargo_counts(tmp_path: Path) -> None:
    """`shared` passes in `a` and is ignored in `b`: two records, and cargo's own total."""
    project = two_binaries(tmp_path, ["cargo", "test", "--offline"])

    run = run_replay(project, "run", "--out", "r1", timeout=900)
    assert 0 == run.returncode, run.stderr
    (target,) = load(project / "r1/summary.json")["targets"]
    statuses = {t["name"]: t["status"] for t in target["tests"]}
    expected = {"a shared": "passed", "a_only": "passed", "b shared": "skipped", "b_only": "passed"}
    assert expected == statuses
    assert cargo_totals(project / "r1" / target["log"]) == len(target["tests"])
