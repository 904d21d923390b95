"""`replay flake` end to end with a deliberately flaky script driven by a counter file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from _support import replay

from replay._inputs.toml import tomllib

pytestmark = pytest.mark.slow

# Fails on the runs listed in FAIL_ON (1-based, by a counter file), with a message
# whose numbers change every run, so fingerprints must normalise them.
SCRIPT = """\
import fcntl, os, sys
with open("counter", "a+") as handle:
    fcntl.flock(handle, fcntl.LOCK_EX)
    handle.seek(0)
    n = len(handle.read()) + 1
    handle.write("x")
fail_on = os.environ.get("FAIL_ON", "")
if fail_on == "all" or str(n) in fail_on.split(","):
    print(f"thread 'it' panicked at src/lib.rs:{n}:5:")
    print(f"assertion `left == right` failed: left: {n * 7}, right: 0 (seed = {n * 1234})")
    sys.exit(101)
print("ok")
"""


def flake(tmp_path: Path, fail_on: str, *args: str) -> tuple[int, dict[str, Any], str]:
    """Run `replay flake job` with FAIL_ON; return exit code, report and stdout."""
    (tmp_path / "flaky.py").write_text(SCRIPT)
    (tmp_path / "replay.toml").write_text(
        "[[replay.suites]]\n"
        'name = "job"\n'
        f'command = ["{sys.executable}", "flaky.py"]\n'
        f'env = {{ FAIL_ON = "{fail_on}" }}\n'
    )
    result = replay(tmp_path, "flake", "job", "--out", "r", "-q", "--today", "2026-11-26", *args)
    report = orjson.loads((tmp_path / "r/flake_report.json").read_bytes())
    return result.returncode, report, result.stdout


def test_stable_pass(tmp_path: Path) -> None:
    """Ten passes: stable_pass, exit 0, an upper bound on the failure rate."""
    code, report, out = flake(tmp_path, "", "--runs", "10", "--parallel", "3")
    assert (0, "stable_pass", 10) == (code, report["verdict"], report["passed"])
    assert report["failure_rate_upper_bound"] < 0.35
    assert "quarantine" not in out


def test_deterministic_failure_with_one_fingerprint(tmp_path: Path) -> None:
    """Every run fails the same way (numbers aside): deterministic_failure, one fingerprint."""
    code, report, _ = flake(tmp_path, "all", "--runs", "10", "--parallel", "4")
    assert (1, "deterministic_failure") == (code, report["verdict"])
    assert 1 == len(report["fingerprints"])
    assert 10 == report["fingerprints"][0]["count"]


def test_flaky_with_category_and_quarantine_entry(tmp_path: Path) -> None:
    """Mixed results: flaky, a FLAKE-LOGIC category from the seed, a 9-field entry."""
    code, report, out = flake(tmp_path, "2", "--runs", "10", "--parallel", "1")
    assert (1, "flaky") == (code, report["verdict"])
    assert "FLAKE-LOGIC" == report["classification"]["category"]
    assert "[quarantine.job]" in out
    entry = tomllib.loads(report["quarantine_entry"])["quarantine"]["job"]
    nine = {"bead", "category", "evidence", "expires", "owner", "quarantined", "reason", "repro"}
    assert nine | {"remove_when"} == set(entry)
    assert 'expires = "2026-12-10"' in report["quarantine_entry"]


def test_until_fail_stops_at_the_first_failure(tmp_path: Path) -> None:
    """`--until-fail` with serial runs stops right after the first failure."""
    code, report, _ = flake(tmp_path, "3", "--runs", "20", "--parallel", "1", "--until-fail")
    assert 1 == code
    assert 3 == len(report["runs"])


def test_too_few_runs_are_inconclusive(tmp_path: Path) -> None:
    """Three passes prove little: inconclusive."""
    code, report, _ = flake(tmp_path, "", "--runs", "3")
    assert (0, "inconclusive") == (code, report["verdict"])


def test_write_adds_the_entry_keeping_comments(tmp_path: Path) -> None:
    """`--write` adds the entry to a classification file without losing its comments."""
    classification = tmp_path / "suite_classification.toml"
    original = '# keep me\n[suite.unit]\nfiles = ["job"]  # and me\n'
    classification.write_text(original)
    flake(tmp_path, "1", "--runs", "10", "--parallel", "1", "--write", str(classification))
    text = classification.read_text()
    assert text.startswith(original)
    assert "[quarantine.job]" in text


def test_flake_loop_of_one_pytest_test(tmp_path: Path) -> None:
    """`SUITE::TEST` loops over one test through the adapter's targeted command."""
    (tmp_path / "test_one.py").write_text("def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    (tmp_path / "replay.toml").write_text(
        '[[replay.suites]]\nname = "py"\nadapter = "pytest"\n'
        f'command = ["{sys.executable}", "-m", "pytest", "-q", "-p", "no:cacheprovider", '
        '"test_one.py"]\n'
    )
    result = replay(
        tmp_path, "flake", "py::test_one.py::test_b", "--runs", "2", "--out", "r", "-q", "--dry-run"
    )
    assert 0 == result.returncode, result.stderr
    jobs = orjson.loads(result.stdout)["jobs"]
    assert 2 == len(jobs)
    assert "test_one.py::test_b" == jobs[0]["argv"][-1]
    assert "test_one.py" not in jobs[0]["argv"][:-1]


@pytest.mark.parametrize(
    ("args", "rules", "expected"),
    [
        (("--runs", "3"), '["(unclosed"]', "flake_rules.FLAKE-NET: invalid regular expression"),
        (("--runs", "3", "--max-minutes", "-1"), "[]", "argument --max-minutes"),
        (("--runs", "3", "--max-minutes", "nan"), "[]", "argument --max-minutes"),
        (("--runs", "99999999999999999999"), "[]", "argument --runs"),
        (("--runs", "3", "--parallel", "99999999999999999999"), "[]", "argument --parallel"),
    ],
)
def test_bad_input_is_refused_before_any_run(
    tmp_path: Path, args: tuple[str, ...], rules: str, expected: str
) -> None:
    """A bad flake_rules pattern or an impossible number: exit 2 before the first run."""
    (tmp_path / "replay.toml").write_text(
        f"[replay.flake_rules]\nFLAKE-NET = {rules}\n"
        '[[replay.suites]]\nname = "job"\ncommand = ["sh", "-c", "echo run >> runs; exit 1"]\n'
    )
    result = replay(tmp_path, "flake", "job", "--out", "r", *args)
    assert "Traceback" not in result.stderr
    assert 2 == result.returncode, result.stderr
    assert expected in result.stderr.strip().splitlines()[-1]
    assert (False, False) == ((tmp_path / "runs").exists(), (tmp_path / "r").exists())
