"""`replay run --stress-duration D`: the summary and the verdicts hold only the runs made."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from _support import config_toml, load_json, replay

pytestmark = pytest.mark.slow

CONFIG = config_toml(
    suites=[
        {"name": "tick", "command": [sys.executable, "-c", "import time; time.sleep(0.05)"]},
        {"name": "steady", "command": [sys.executable, "-c", "pass"]},
    ]
)


def stress(cwd: Path, *flags: str) -> Path:
    """`replay run --out run FLAGS` as its own process in `cwd` (passing); the run directory."""
    (cwd / "replay.toml").write_text(CONFIG)
    done = replay(cwd, "run", "--out", "run", *flags, process=True)
    assert 0 == done.returncode, done.stderr
    return cwd / "run"


def test_a_duration_reports_only_the_runs_it_started(tmp_path: Path) -> None:
    """1,000 runs a target are planned; time ends the loop; no never-started run is recorded."""
    run = stress(tmp_path, "--stress-duration", "1s")
    summary = load_json(run / "summary.json")
    report = load_json(run / "stress_report.json")
    targets = summary["targets"]
    assert "passed" == summary["status"]
    assert all(t["attempts"] for t in targets)
    assert "not_run" not in {t["status"] for t in targets}
    made = {t["target"]: t["runs"] for t in report["targets"]}
    assert set(made) == {"tick", "steady"}
    assert 1 <= made["tick"] < 1000
    assert sum(made.values()) == len(targets)
    assert report["planned_runs"] is None
    # The never-started runs left no result files or directories behind.
    results = {p.parent.name for p in run.glob("*/result.json")}
    assert len(results) == len(targets)
    assert not (run / "tick-stress1000").exists()


def test_a_count_keeps_its_planned_runs(tmp_path: Path) -> None:
    """`--stress N` still plans and reports N runs a target (nothing dropped)."""
    run = stress(tmp_path, "--stress", "3")
    summary = load_json(run / "summary.json")
    report = load_json(run / "stress_report.json")
    assert 6 == len(summary["targets"])
    assert 3 == report["planned_runs"]
