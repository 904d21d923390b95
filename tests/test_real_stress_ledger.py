"""A `--stress` run recorded in the ledger, from a real run of toolz's pytest suite.

`replay run --stress 5 --suite curried` on toolz 1.2.0 (sdist) with a test that fails on odd
pids: the test passed 2 of 5 runs on one commit, and `record = true` ingested the run. The
fixture keeps runs 1 (failed) and 3 (passed), with two tests each.
"""

from __future__ import annotations

from pathlib import Path

import attrs
from _support import fixture_path

from replay._cli._history import flaky_tests
from replay._core.ledger import RunFacts, summary_batch
from replay._inputs.readers import load_summary
from replay._store.ledger import open_ledger

FIXTURE = fixture_path("real", "toolz_stress_summary.json")
FLAKY = "toolz/tests/test_curried.py::test_flaky_w8"


def test_the_fixture_holds_a_pass_and_a_failure_of_one_test() -> None:
    summary = load_summary(FIXTURE)
    statuses = {
        t.name: next(x.status.value for x in t.tests if x.name == FLAKY) for t in summary.targets
    }
    assert {"curried@1": "failed", "curried@3": "passed"} == statuses


def test_stress_runs_are_recorded_under_their_suite(tmp_path: Path) -> None:
    batch = summary_batch(load_summary(FIXTURE), RunFacts(commit="c1"))
    assert {"curried"} == {row[1] for row in batch.targets}
    assert all("@" not in row[2].split("::")[0] for row in batch.results)


def test_history_flaky_finds_the_test_a_stress_run_saw_flip(tmp_path: Path) -> None:
    location = str(tmp_path / "history.db")
    with open_ledger(location) as ledger:
        ledger.ingest(summary_batch(load_summary(FIXTURE), RunFacts(commit="c1")), str(FIXTURE))
        found = flaky_tests(ledger, None)
    assert [f"curried::{FLAKY}"] == [t.test for t in found]
    assert (2, 1) == (found[0].runs, found[0].failed)


def test_only_a_stress_round_suffix_is_split(tmp_path: Path) -> None:
    """`T@i` with i a run number is round i of T; other names with `@` stay whole."""
    summary = load_summary(FIXTURE)
    names = ("x@0", "y@a")
    renamed = [attrs.evolve(t, name=n) for t, n in zip(summary.targets, names, strict=True)]
    batch = summary_batch(attrs.evolve(summary, targets=tuple(renamed)), RunFacts(commit="c1"))
    assert {("x@0", summary.run_id), ("y@a", summary.run_id)} == {
        (row[1], row[0]) for row in batch.targets
    }
