"""The flake ledger on SQLite: identity, idempotent ingest, the questions, crash and concurrency."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest
from _history_support import flaky_series, summary, target, write
from _support import replay

from replay._cli._history import flaky_tests, ledger_prior
from replay._core.ledger import (
    FAILED,
    PASSED,
    Outcome,
    RunFacts,
    facts_from_environment,
    flaky_test,
    flip_rate,
    since_cutoff,
    summary_batch,
)
from replay._model.errors import ReplayError
from replay._model.models import Shard
from replay._store.ledger import MIGRATIONS, SCHEMA_VERSION, open_ledger


def _outcome(status: int, commit: str | None = "c1", *, retried: bool = False) -> Outcome:
    return Outcome("r", "2026-01-01", commit, status, 1.0, None, retried)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([PASSED, PASSED, PASSED], 0.0),
        ([FAILED, FAILED, FAILED], 0.0),
        ([PASSED, FAILED, PASSED, FAILED], 1.0),
        ([PASSED, PASSED, FAILED, FAILED], 1 / 3),
    ],
)
def test_flip_rate_counts_changes_between_consecutive_runs(
    statuses: list[int], expected: float
) -> None:
    """Flip rate is flips over consecutive pairs on one commit."""
    assert expected == pytest.approx(flip_rate([_outcome(s) for s in statuses]))


def test_flip_rate_ignores_a_change_across_commits() -> None:
    """A failure fixed by a new commit is not a flip."""
    outcomes = [_outcome(FAILED, "c1"), _outcome(FAILED, "c1"), _outcome(PASSED, "c2")]
    assert 0.0 == flip_rate(outcomes)


def test_deterministic_failure_is_not_flaky_and_a_retry_pass_is() -> None:
    """All-fail is not flaky; a pass on retry is flaky even on its own."""
    assert flaky_test("t", [_outcome(FAILED)] * 5) is None
    record = flaky_test("t", [_outcome(PASSED, retried=True)], ["boom <n>"])
    assert record is not None
    assert (1, 1.0) == (record.retried_passes, record.flip_rate)


def test_shard_and_merged_summaries_contribute_the_same_executions() -> None:
    """A merged summary's rows belong to the shard runs that executed them."""
    shard = summary("shard-0", (target("a", "shard-0", {"x": [True]}),), shard=Shard(0, 1, "suite"))
    merged = summary("merged", shard.targets)
    shard_rows = summary_batch(shard, RunFacts()).results
    merged_rows = summary_batch(merged, RunFacts()).results
    assert shard_rows == merged_rows
    assert {"shard-0"} == {row[0] for row in merged_rows}


def test_retried_pass_marks_the_final_attempt() -> None:
    """Attempt 1 failed, attempt 2 passed: the final row says it passed on retry."""
    model = summary("r1", (target("a", "r1", {"x": [False, True]}),))
    rows = sorted(summary_batch(model, RunFacts()).results, key=lambda r: r[3])
    assert [(1, FAILED, 0, 0), (2, PASSED, 1, 1)] == [(r[3], r[4], r[7], r[8]) for r in rows]
    assert "assert <n> == <n> at <addr> after <duration>" == rows[0][6]


def test_facts_come_from_environment_json() -> None:
    """Commit, branch, CI job and host are read from environment.json's keys."""
    document = {"git_sha": "abc", "git_branch": "HEAD", "host": "h", "env": {"GITHUB_JOB": "t"}}
    assert RunFacts("abc", None, "t", "h") == facts_from_environment(document)


@pytest.mark.parametrize("text", ["30", "d", "-1d", "1y", "9999999d"])
def test_since_refuses_what_it_cannot_read(text: str) -> None:
    """`--since` takes a count and one of s, m, h, d, w."""
    with pytest.raises(ReplayError, match="--since"):
        since_cutoff(text, datetime(2026, 1, 2, tzinfo=timezone.utc))


def test_since_counts_back_from_now() -> None:
    """`1d` at noon is noon the day before."""
    now = datetime(2026, 1, 2, 12, tzinfo=timezone.utc)
    assert "2026-01-01T12:00:00.000Z" == since_cutoff("1d", now)


def _counts(location: str) -> dict[str, int]:
    with open_ledger(location) as ledger:
        return ledger.counts()


def _flaky_json(tmp_path: Path, ledger: Path) -> list[dict[str, object]]:
    result = replay(tmp_path, "history", "flaky", "--history", str(ledger), "--json")
    assert 0 == result.returncode, result.stderr
    document: list[dict[str, object]] = orjson.loads(result.stdout)
    return document


def test_ingest_is_idempotent_and_flaky_finds_the_flaky_test(tmp_path: Path) -> None:
    """20 runs: the alternating test is flaky, the broken one is not; ingesting again changes
    no figure."""
    ledger = tmp_path / "ledger.db"
    paths = [str(p) for p in flaky_series(tmp_path / "runs", 20)]
    first = replay(tmp_path, "history", "ingest", "--history", str(ledger), *paths)
    assert 0 == first.returncode, first.stderr
    before = _flaky_json(tmp_path, ledger)
    counts = _counts(str(ledger))
    again = replay(tmp_path, "history", "ingest", "--history", str(ledger), *paths)
    assert 0 == again.returncode, again.stderr
    assert "already recorded" in again.stdout
    assert before == _flaky_json(tmp_path, ledger)
    assert counts == _counts(str(ledger))
    assert ["t::flaky"] == [t["test"] for t in before]
    assert 1.0 == before[0]["flip_rate"]
    assert (20, 10) == (before[0]["runs"], before[0]["failed"])
    assert 60 == counts["results"]


def test_merged_summary_after_its_shards_adds_nothing(tmp_path: Path) -> None:
    """Ingesting the shards and then their merge records each execution once."""
    a = summary("s0", (target("a", "s0", {"x": [True]}),), shard=Shard(0, 2, "suite"))
    b = summary("s1", (target("b", "s1", {"y": [False]}),), shard=Shard(1, 2, "suite"))
    merged = summary("m", (*a.targets, *b.targets))
    paths = [write(tmp_path / n, s) for n, s in (("s0", a), ("s1", b), ("m", merged))]
    location = str(tmp_path / "l.db")
    result = replay(tmp_path, "history", "ingest", "--history", location, *map(str, paths))
    assert 0 == result.returncode, result.stderr
    assert 2 == _counts(location)["results"]
    assert 3 == _counts(location)["runs"]


def test_bad_summary_is_refused_with_one_line_and_nothing_written(tmp_path: Path) -> None:
    """A malformed summary among good ones: exit 2, one line naming it, an empty ledger."""
    good = flaky_series(tmp_path / "runs", 2)
    bad = tmp_path / "bad" / "summary.json"
    bad.parent.mkdir()
    bad.write_text('{"schema": "replay.summary.v1", "run_id": 7}')
    location = tmp_path / "l.db"
    result = replay(
        tmp_path,
        "history",
        "ingest",
        "--history",
        str(location),
        str(good[0]),
        str(bad),
        str(good[1]),
    )
    assert 2 == result.returncode
    assert 1 == len(result.stderr.strip().splitlines())
    assert str(bad) in result.stderr
    assert not location.exists()


def test_show_slow_and_new_answer_in_text_and_json(tmp_path: Path) -> None:
    """`show` lists a test's attempts, `slow` its percentiles, `new` the tests first seen."""
    location = str(tmp_path / "l.db")
    paths = [str(p) for p in flaky_series(tmp_path / "runs", 4)]
    assert 0 == replay(tmp_path, "history", "ingest", "--history", location, *paths).returncode
    shown = replay(tmp_path, "history", "show", "t::flaky", "--history", location, "--json")
    timeline = orjson.loads(shown.stdout)["timeline"]
    assert ["passed", "failed", "passed", "failed"] == [r["status"] for r in timeline]
    assert "abc123" == timeline[0]["commit"]
    slow = orjson.loads(replay(tmp_path, "history", "slow", "--history", location, "--json").stdout)
    assert {"t"} == {s["name"] for s in slow["suites"]}
    assert 0.5 == slow["tests"][0]["p90"]
    new = replay(tmp_path, "history", "new", "--since", "100000d", "--history", location)
    assert "t::flaky: first seen 2026-01-01T00:00:00.000Z, 4 run(s), 2 failed" in new.stdout
    missing = replay(tmp_path, "history", "show", "nope", "--history", location)
    assert 2 == missing.returncode


def test_quarantine_drafts_entries_with_evidence(tmp_path: Path) -> None:
    """`history quarantine` drafts a [quarantine] block naming the flip rate."""
    location = str(tmp_path / "l.db")
    paths = [str(p) for p in flaky_series(tmp_path / "runs", 4)]
    assert 0 == replay(tmp_path, "history", "ingest", "--history", location, *paths).returncode
    result = replay(tmp_path, "history", "quarantine", "--history", location)
    assert 0 == result.returncode, result.stderr
    assert "[quarantine." in result.stdout
    assert "flip rate 100%" in result.stdout


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A ledger from a newer replay is refused, not misread."""
    location = tmp_path / "l.db"
    open_ledger(str(location)).close()
    with sqlite3.connect(location) as db:
        db.execute("UPDATE meta SET value = ?", (str(SCHEMA_VERSION + 1),))
    db.close()
    with pytest.raises(ReplayError, match="newer than this replay"):
        open_ledger(str(location))


def _ingest_process(location: str, paths: list[Path]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "replay",
            "history",
            "ingest",
            "--history",
            location,
            *map(str, paths),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_two_concurrent_ingests_lose_nothing(tmp_path: Path) -> None:
    """Two processes ingest 50 summaries each at once: all 100 runs' rows are there."""
    location = str(tmp_path / "l.db")
    first = flaky_series(tmp_path / "a", 50, prefix="a")
    second = flaky_series(tmp_path / "b", 50, prefix="b")
    procs = [_ingest_process(location, first), _ingest_process(location, second)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert 0 == proc.returncode, err
    counts = _counts(location)
    assert (100, 300) == (counts["runs"], counts["results"])


def _targets_recorded(location: str) -> int:
    """Target executions committed so far (0 before the schema exists), read without locking."""
    if not Path(location).exists():
        return 0
    db = sqlite3.connect(location, timeout=10)
    try:
        return int(db.execute("SELECT COUNT(*) FROM targets").fetchone()[0])
    except sqlite3.OperationalError:  # the first transaction has not created the tables yet
        return 0
    finally:
        db.close()


@pytest.mark.slow
def test_sigkilled_ingest_leaves_the_ledger_consistent(tmp_path: Path) -> None:
    """A SIGKILL mid-ingest leaves whole summaries only, and a later ingest completes it."""
    location = str(tmp_path / "l.db")
    count, tests = 300, 400
    # One summary written once; the others are copies under their own run ids (cheap to make).
    template = summary(
        "r-x", (target("big", "r-x", {f"test_{i}": [i % 7 != 0] for i in range(tests)}),)
    )
    first = write(tmp_path / "r0", template)
    document = first.read_bytes()
    paths = [first]
    for i in range(1, count):
        (tmp_path / f"r{i}").mkdir()
        paths.append(tmp_path / f"r{i}" / "summary.json")
        paths[-1].write_bytes(document.replace(b'"r-x"', f'"r{i}"'.encode()))
    proc = _ingest_process(location, paths)
    try:
        # One transaction per summary, hundreds of them: kill as soon as the first commits,
        # so the kill lands while the ingest is still going (inside a transaction or between).
        while proc.poll() is None and _targets_recorded(location) == 0:
            pass
        proc.kill()
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert -signal.SIGKILL == proc.returncode
    with open_ledger(location) as ledger:
        assert [] == ledger.check()
        counts = ledger.counts()
    assert 0 < counts["targets"] < count
    assert counts["results"] == counts["targets"] * tests
    again = replay(tmp_path, "history", "ingest", "--history", location, *map(str, paths))
    assert 0 == again.returncode, again.stderr
    assert count * tests == _counts(location)["results"]


PROJECT_TEST = """\
import os


def test_flaky():
    n = int(open("counter").read()) if os.path.exists("counter") else 0
    open("counter", "w").write(str(n + 1))
    assert n % 2 == 0, f"odd run {n}"


def test_broken():
    assert 1 == 2, "always broken"
"""

PROJECT_CONFIG = """\
[replay]
parallelism = 1
# Real pytest without the plugins this venv installs (hypothesis, ...): 0.4 s a run, not 3.
env = { PYTEST_DISABLE_PLUGIN_AUTOLOAD = "1" }

[replay.history]
path = "ledger.db"
record = true

[[replay.suites]]
name = "py"
adapter = "pytest"
command = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_x.py"]
"""


@pytest.mark.slow
def test_twenty_real_pytest_runs_record_themselves_and_flaky_names_the_flaky_test(
    tmp_path: Path,
) -> None:
    """20 `replay run`s of real pytest record themselves; `history flaky` lists the flaky test,
    not the deterministic failure, and re-ingesting every summary changes no figure."""
    (tmp_path / "test_x.py").write_text(PROJECT_TEST)
    (tmp_path / "replay.toml").write_text(PROJECT_CONFIG)
    for _ in range(20):
        assert 1 == replay(tmp_path, "run", "-q").returncode
    ledger = tmp_path / "ledger.db"
    flaky = _flaky_json(tmp_path, ledger)
    assert ["py::test_x.py::test_flaky"] == [t["test"] for t in flaky]
    assert (20, 10, 1.0) == (flaky[0]["runs"], flaky[0]["failed"], flaky[0]["flip_rate"])
    summaries = sorted(str(p) for p in tmp_path.glob("replay-results/*/summary.json"))
    assert 20 == len(summaries)
    again = replay(tmp_path, "history", "ingest", *summaries)
    assert 0 == again.returncode, again.stderr
    assert flaky == _flaky_json(tmp_path, ledger)


def test_a_version_1_ledger_is_migrated_with_its_rows(tmp_path: Path) -> None:
    """A ledger written by schema 1 (results keyed by test first) opens as the current schema,
    every row kept, and answers the questions as before."""
    location = tmp_path / "l.db"
    db = sqlite3.connect(location, isolation_level=None)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    for statement in MIGRATIONS[0][1]:
        db.execute(statement.format(id="INTEGER PRIMARY KEY", no_rowid=" WITHOUT ROWID"))
    db.execute("INSERT INTO runs (run_id, started_at, commit_sha) VALUES ('r1', '2026', 'c')")
    db.execute("INSERT INTO runs (run_id, started_at, commit_sha) VALUES ('r2', '2027', 'c')")
    db.execute("INSERT INTO names (name) VALUES ('t::x')")
    db.execute("INSERT INTO targets VALUES (1, 1, 'passed', 1.0, 1), (2, 1, 'failed', 1.0, 1)")
    db.execute(
        "INSERT INTO results VALUES (1, 1, 1, 0, 0.5, NULL, 1, 0), (1, 2, 1, 1, 0.5, NULL, 1, 0)"
    )
    db.close()
    with open_ledger(str(location)) as ledger:
        assert SCHEMA_VERSION == ledger.version() == 2
        assert 2 == ledger.counts()["results"]
        assert ["t::x"] == [t.test for t in flaky_tests(ledger, None)]
        assert ["t::x"] == ledger.failing_tests(None)


def test_matrix_and_flake_take_durations_and_a_prior_from_the_ledger(tmp_path: Path) -> None:
    """`replay matrix --from history` balances on the ledger's p90; `replay flake`'s prior
    names the failure rate the ledger recorded."""
    location = str(tmp_path / "l.db")
    paths = []
    for i in range(4):
        run_id = f"r{i}"
        targets = (
            target("slow", run_id, {"x": [False, True]}),  # two attempts: 2 s
            target("fast", run_id, {"y": [True]}),
            target("quick", run_id, {"z": [True]}),
        )
        paths.append(str(write(tmp_path / run_id, summary(run_id, targets))))
    assert 0 == replay(tmp_path, "history", "ingest", "--history", location, *paths).returncode
    result = replay(tmp_path, "matrix", "--shards", "2", "--from", "history", "--history", location)
    assert 0 == result.returncode, result.stderr
    shards = orjson.loads(result.stdout)["include"]
    assert [2.0, 2.0] == sorted(s["estimated_seconds"] for s in shards)
    prior = ledger_prior(location, "slow::x")
    assert prior is not None
    assert "failed 0 of 4 recorded runs" in prior
    assert ledger_prior(location, "nothing::here") is None
    assert ledger_prior(str(tmp_path / "absent.db"), "slow::x") is None


def test_shards_and_the_queue_take_one_set_of_durations_from_the_ledger(tmp_path: Path) -> None:
    """`--durations-from history` means the ledger's p90 for shards and the queue's order alike;
    a named summary overrides a target, and naming the ledger without one is one clear error."""
    from replay._cli._run import plan_durations
    from replay._model.errors import ReplayError

    location = str(tmp_path / "l.db")
    paths = []
    for i in range(3):
        run_id = f"r{i}"
        targets = (
            target("slow", run_id, {"x": [False, True]}),
            target("fast", run_id, {"y": [True]}),
        )
        paths.append(write(tmp_path / run_id, summary(run_id, targets)))
    assert (
        0
        == replay(tmp_path, "history", "ingest", "--history", location, *map(str, paths)).returncode
    )
    from_ledger = plan_durations([Path("history")], None, location)
    assert from_ledger["slow"] > from_ledger["fast"] > 0
    with pytest.raises(ReplayError, match="--durations-from history: no ledger"):
        plan_durations([Path("history")], None, None)
