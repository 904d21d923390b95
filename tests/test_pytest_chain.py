"""A real pytest suite through replay: per-test results, a digest, a node-id rerun, and chains
that stay honest when pytest cannot run what it was asked (collection errors, renamed ids)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

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


def suite(project: Path, files: dict[str, str]) -> None:
    """A pytest project in `project`: its own rootdir, `files` under tests/, one replay suite."""
    (project / "tests").mkdir(parents=True, exist_ok=True)
    (project / "pytest.ini").write_text("[pytest]\n")
    for name, text in files.items():
        (project / "tests" / name).write_text(text)
    (project / "replay.toml").write_text(
        "[[replay.suites]]\n"
        'name = "unit"\n'
        'adapter = "pytest"\n'
        f'command = ["{sys.executable}", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]\n'
    )


def target_of(project: Path, run: str) -> dict[str, Any]:
    """The one target of the summary in `run`."""
    (target,) = load(project / run / "summary.json")["targets"]
    assert isinstance(target, dict)
    return target


def green_tests(project: Path, run: str) -> dict[str, str]:
    """The statuses of the tests of the one target of `run`, which must be passed and passing."""
    target = target_of(project, run)
    assert ("passed", "passing") == (target["status"], target["chain_state"])
    return {t["name"]: t["status"] for t in target["tests"]}


def rerun_until_green(project: Path, previous: str, most: int) -> list[str]:
    """Rerun the chain from `previous` until a rerun exits 0, at most `most` times; their dirs."""
    runs = [previous]
    for number in range(1, most + 1):
        runs.append(f"{previous}-rerun{number}")
        result = replay(project, "--rerun-from", f"{runs[-2]}/summary.json", "--out", runs[-1])
        if result.returncode != 1:
            break
    assert 0 == result.returncode, result.stderr
    return runs[1:]


def test_a_collection_error_makes_the_rerun_run_the_whole_suite(tmp_path: Path) -> None:
    """An import error hides test_b's failure; fixing only the import must not turn it green."""
    suite(
        tmp_path,
        {
            "test_a.py": "import module_that_is_not_there\n\n\ndef test_a():\n    pass\n",
            "test_b.py": (
                "import pathlib\n\n\ndef test_b_passes():\n    pass\n\n\n"
                "def test_b_fails():\n"
                '    assert pathlib.Path("b_fixed").exists(), "test_b is broken"\n'
            ),
        },
    )
    first = replay(tmp_path, "run", "--out", "r1")
    assert 1 == first.returncode, first.stderr
    target = target_of(tmp_path, "r1")
    assert {"tests/test_a.py": "failed"} == {t["name"]: t["status"] for t in target["tests"]}
    unseen = target["attempts"][-1]["unseen"]
    assert "pytest stopped early: Interrupted: 1 error during collection" == unseen

    (tmp_path / "tests" / "test_a.py").write_text("def test_a():\n    pass\n")
    second = replay(tmp_path, "--rerun-from", "r1/summary.json", "--out", "r2")
    assert 1 == second.returncode, second.stderr
    rerun = target_of(tmp_path, "r2")
    last = rerun["attempts"][-1]
    # An attempt that ran exactly the target's tests stores a marker, not a second copy.
    ran_tests = rerun["tests"] if last.get("tests_as_target") else last["tests"]
    ran = {t["name"]: t["status"] for t in ran_tests}
    tests = [
        "tests/test_a.py::test_a",
        "tests/test_b.py::test_b_passes",
        "tests/test_b.py::test_b_fails",
    ]
    assert {**dict.fromkeys(tests, "passed"), tests[2]: "failed"} == ran

    (tmp_path / "b_fixed").touch()
    runs = rerun_until_green(tmp_path, "r2", most=2)
    assert dict.fromkeys(tests, "passed") == green_tests(tmp_path, runs[-1])


DOUBLE = """\
import pytest


@pytest.mark.parametrize(("value", "expected"), [(1, 2), (2, {expected})])
def test_double(value, expected):
    assert 2 * value == expected


def test_other():
    pass
"""


def test_a_renamed_parametrization_is_gone_and_the_chain_turns_green(tmp_path: Path) -> None:
    """Fixing `test_double[2-5]` renames it `test_double[2-4]`: no exit-4 loop, the old id gone."""
    suite(tmp_path, {"test_x.py": DOUBLE.format(expected=5)})
    first = replay(tmp_path, "run", "--out", "r1")
    assert 1 == first.returncode, first.stderr
    failed = [t["name"] for t in target_of(tmp_path, "r1")["tests"] if t["status"] == "failed"]
    assert ["tests/test_x.py::test_double[2-5]"] == failed

    (tmp_path / "tests" / "test_x.py").write_text(DOUBLE.format(expected=4))
    runs = rerun_until_green(tmp_path, "r1", most=2)
    targeted = target_of(tmp_path, runs[0])
    old_id = "tests/test_x.py::test_double[2-5]"
    assert [old_id] == targeted["attempts"][-1]["not_found"]
    assert old_id in targeted["gone"]
    tests = [
        "tests/test_x.py::test_double[1-2]",
        "tests/test_x.py::test_double[2-4]",
        "tests/test_x.py::test_other",
    ]
    assert dict.fromkeys(tests, "passed") == green_tests(tmp_path, runs[-1])


REASONS = """\
import pytest


@pytest.mark.skip(reason="needs a GPU")
def test_skipped():
    pass


@pytest.mark.xfail(reason="bug #12: rounding")
def test_expected_to_fail():
    assert round(2.5) == 3


def test_passes():
    pass
"""


def test_xfail_and_skip_reasons_reach_the_summary(tmp_path: Path) -> None:
    """An xfail is `xfailed` with its reason, a skip keeps its reason, and the run is green."""
    suite(tmp_path, {"test_r.py": REASONS})
    result = replay(tmp_path, "run", "--out", "r1")
    assert 0 == result.returncode, result.stderr
    tests = {t["name"]: (t["status"], t.get("message")) for t in target_of(tmp_path, "r1")["tests"]}
    assert {
        "tests/test_r.py::test_skipped": ("skipped", "needs a GPU"),
        "tests/test_r.py::test_expected_to_fail": ("xfailed", "bug #12: rounding"),
        "tests/test_r.py::test_passes": ("passed", None),
    } == tests
