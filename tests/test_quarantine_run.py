"""The quarantine policy applied in runs, and cargo discovery from the config."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from _support import quarantine_entry, replay

from replay._inputs.config import load_config

pytestmark = pytest.mark.slow


def setup(tmp_path: Path, entry: str) -> None:
    """A cargo-style project: tests/flaky.rs and tests/solid.rs, a classification file."""
    tests = tmp_path / "tests"
    tests.mkdir()
    for stem in ("flaky", "solid"):
        (tests / f"{stem}.rs").write_text("")
    (tests / "suite_classification.toml").write_text(
        '[suite.unit]\nfiles = ["flaky", "solid"]\n' + entry
    )
    (tmp_path / "replay.toml").write_text(
        '[replay.discover]\ncargo_tests_dir = "tests"\n'
        'classification = "tests/suite_classification.toml"\n'
        # The listed suites replace the discovered cargo commands (no cargo needed).
        '[[replay.suites]]\nname = "flaky"\nkind = "unit"\ncommand = ["false"]\n'
        '[[replay.suites]]\nname = "solid"\nkind = "unit"\ncommand = ["true"]\n'
    )


def run(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`replay run` with a short quarantine retry delay."""
    result = replay(tmp_path, "run", "--out", "r", "--quarantine-delay", "0.05", timeout=60)
    return result, orjson.loads((tmp_path / "r/summary.json").read_bytes())


def test_quarantined_failure_does_not_fail_the_run(tmp_path: Path) -> None:
    """An active quarantine: the target runs, gets one retry, fails, and the run passes."""
    from datetime import date, timedelta

    today = date.today()
    setup(tmp_path, quarantine_entry("flaky", today, today + timedelta(days=10)))
    result, summary = run(tmp_path)
    assert 0 == result.returncode, result.stderr
    flaky = next(t for t in summary["targets"] if t["name"] == "flaky")
    assert (True, 2, "outstanding") == (
        flaky["quarantined"],
        len(flaky["attempts"]),
        flaky["chain_state"],
    )
    assert "quarantined, not failing the run" in result.stderr
    assert "passed" == summary["status"]


def test_expired_quarantine_fails_the_run(tmp_path: Path) -> None:
    """An expired entry no longer spares its target and fails the run with a message."""
    setup(tmp_path, quarantine_entry("flaky", "2026-01-01", "2026-01-10"))
    result, _ = run(tmp_path)
    assert 1 == result.returncode
    assert "[quarantine.flaky] is expired" in result.stderr


def test_discovery_adds_suites_and_reports_unclassified(tmp_path: Path) -> None:
    """Each tests/<stem>.rs is a suite with its kind; a file in no suite is a note."""
    setup(tmp_path, "")
    (tmp_path / "tests" / "e2e_new.rs").write_text("")
    config = load_config(tmp_path / "replay.toml")
    by_name = {s.name: s for s in config.suites}
    assert ("cargo", "test", "--test", "e2e_new") == by_name["e2e_new"].command[:4]
    assert "unclassified" == by_name["e2e_new"].kind
    assert ("false",) == by_name["flaky"].command
    assert any("e2e_new" in note for note in config.notes)
