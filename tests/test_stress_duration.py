"""`replay run --stress-duration D`: the summary and the verdicts hold only the runs made."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

pytestmark = pytest.mark.slow

CONFIG = """\
[[replay.suites]]
name = "tick"
command = ["{python}", "-c", "import time; time.sleep(0.05)"]

[[replay.suites]]
name = "steady"
command = ["{python}", "-c", "pass"]
"""


def test_a_duration_reports_only_the_runs_it_started(tmp_path: Path) -> None:
    """1,000 runs a target are planned; time ends the loop; no never-started run is recorded."""
    (tmp_path / "replay.toml").write_text(CONFIG.format(python=sys.executable))
    done = subprocess.run(
        [sys.executable, "-m", "replay", "run", "--out", "run", "--stress-duration", "1s"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert 0 == done.returncode, done.stderr.decode()
    run = tmp_path / "run"
    summary = orjson.loads((run / "summary.json").read_bytes())
    report = orjson.loads((run / "stress_report.json").read_bytes())
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
    (tmp_path / "replay.toml").write_text(CONFIG.format(python=sys.executable))
    done = subprocess.run(
        [sys.executable, "-m", "replay", "run", "--out", "run", "--stress", "3"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert 0 == done.returncode, done.stderr.decode()
    summary = orjson.loads((tmp_path / "run/summary.json").read_bytes())
    report = orjson.loads((tmp_path / "run/stress_report.json").read_bytes())
    assert 6 == len(summary["targets"])
    assert 3 == report["planned_runs"]
