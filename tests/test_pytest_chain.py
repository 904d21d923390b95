"""A real pytest suite through replay: per-test results, a digest, a node-id rerun."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from _support import load_json as load
from _support import replay

pytestmark = pytest.mark.slow

TESTS = """\
import pathlib


def test_passes():
    assert 1 + 1 == 2


def test_fails_until_fixed():
    assert pathlib.Path("fixed").exists(), "expected the fix to be in place"


def test_also_passes():
    pass
"""


def test_pytest_suite_chain(tmp_path: Path) -> None:
    """Failed tests are known by node id, digested, and rerun alone until fixed."""
    (tmp_path / "test_sample.py").write_text(TESTS)
    (tmp_path / "replay.toml").write_text(
        "[[replay.suites]]\n"
        'name = "sample"\n'
        'adapter = "pytest"\n'
        f'command = ["{sys.executable}", "-m", "pytest", "-q", "-p", "no:cacheprovider", '
        '"test_sample.py"]\n'
    )
    first = replay(tmp_path, "run", "--out", "r1")
    assert 1 == first.returncode, first.stderr
    summary = load(tmp_path / "r1/summary.json")
    (target,) = summary["targets"]
    statuses = {t["name"]: t["status"] for t in target["tests"]}
    assert {
        "test_sample.py::test_passes": "passed",
        "test_sample.py::test_fails_until_fixed": "failed",
        "test_sample.py::test_also_passes": "passed",
    } == statuses
    digest = load(tmp_path / "r1" / target["digest"])
    assert ["test_sample.py::test_fails_until_fixed"] == digest["impacted_scenario_ids"]
    assert "assertion_failure" == digest["root_cause_class"]
    targeted = digest["remediation_pointer"]["targeted_test_replay_command"]
    assert targeted.endswith("test_sample.py::test_fails_until_fixed")

    (tmp_path / "fixed").touch()
    second = replay(tmp_path, "--rerun-from", "r1/summary.json", "--out", "r2")
    assert 0 == second.returncode, second.stderr
    rerun = load(tmp_path / "r2/summary.json")["targets"][0]
    ran = [t["name"] for t in rerun["attempts"][-1]["tests"]]
    assert ["test_sample.py::test_fails_until_fixed"] == ran
    assert {"passed"} == {t["status"] for t in rerun["tests"]}
    assert 3 == len(rerun["tests"])
    assert ("passed", "passing") == (rerun["status"], rerun["chain_state"])
