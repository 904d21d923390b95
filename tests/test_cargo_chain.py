"""A real cargo crate through replay: per-test statuses, a digest naming file and line,
and a rerun that runs exactly the failed tests. Skipped where cargo is absent."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from _support import load_json as load
from _support import replay as run_replay

pytestmark = pytest.mark.slow

CRATE = Path(__file__).parent / "fixtures" / "adapters" / "cargo_project"
FAILED = {"a::b::nested_fails", "fails_assert_eq", "panics_plain"}


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")
def test_cargo_suite_chain(tmp_path: Path) -> None:
    """Statuses per test, a digest with the right test, file and line, a targeted rerun."""
    project = tmp_path / "crate"
    shutil.copytree(CRATE, project)
    (project / "replay.toml").write_text(
        "[[replay.suites]]\n"
        'name = "it"\n'
        'kind = "unit"\n'
        'adapter = "cargo"\n'
        'command = ["cargo", "test", "--offline", "--test", "it", "--", "--test-threads=1"]\n'
        f'env = {{ CARGO_TARGET_DIR = "{tmp_path / "target"}", RUST_BACKTRACE = "0" }}\n'
        'timeout = "10m"\n'
    )

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
