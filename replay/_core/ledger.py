"""The flake ledger's pure side: what a summary contributes, and the answers to its questions.

`replay._store.ledger` keeps the rows in SQLite or PostgreSQL; this module
turns a summary into rows and turns rows read back into answers (flaky, slow,
show, new). Nothing here reads a file, a database or the clock.

Identity, and why nothing is counted twice:

- A target's execution belongs to the run that executed it, `decided_by`,
  not to the summary that reports it. A shard's summary and the merged
  summary of its shards report the same executions with the same
  `decided_by`; a rerun carries targets of its parent with the parent's
  `decided_by`. So the ledger keys executions by `(decided_by, target)` and
  keeps the first it sees: ingesting any of these summaries, in any order,
  any number of times, records each execution once.
- A test's key is `TARGET::TEST` (the form `replay flake` takes); a target
  whose attempts report no tests (the generic adapter) is one "test" named
  after the target.
- Round `i` of a `--stress` run (target `T@i`) is run `RUN@i` of target `T`,
  one run per round, so rounds that disagree make the test flaky.
- Only what ran is recorded: the tests of each attempt, never a target's
  settled `tests`, which may hold results carried from earlier runs.

The questions:

- *flaky*: a test is flaky when it both passed and failed on one commit (runs
  without a known commit count as one commit), or passed on a retry. Its
  flip rate is flips / chances: consecutive runs on the same commit whose
  outcomes differ, plus passes on retry (each also a chance). Its failure
  rate is failed runs / runs, with a 95% Wilson interval (the one
  `replay flake` reports).
- *slow*: p50/p90/max of each test's and suite's durations, and the trend:
  the p50 of the newer half of its runs against the older half.
- *show*: one test's timeline; *new*: tests first seen after a moment.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from replay._core.flakes import NO_FINGERPRINT, fingerprint, wilson_interval
from replay._core.planning import stressed_target
from replay._core.shards import interpolated_percentile
from replay._core.signatures import attempt_failure
from replay._model.clock import iso
from replay._model.errors import ReplayError
from replay._model.models import Summary, TargetResult, TargetStatus, TestStatus
from replay._model.outcomes import attempt_status

SEPARATOR = "::"
"""Between a target and a test in a test key (as `replay flake SUITE::TEST`)."""

STATUS_CODES = {
    TestStatus.PASSED: 0,
    TestStatus.FAILED: 1,
    TestStatus.SKIPPED: 2,
    TestStatus.XFAILED: 3,
}
"""Test statuses as small integers: a million rows of text would cost megabytes."""
STATUS_NAMES = {code: status.value for status, code in STATUS_CODES.items()}
PASSED, FAILED = STATUS_CODES[TestStatus.PASSED], STATUS_CODES[TestStatus.FAILED]

CI_JOB_VARIABLES = ("GITHUB_JOB", "CI_JOB_NAME", "BUILDKITE_LABEL", "CIRCLE_JOB")
"""Where each CI system names the job (kept in environment.json's `env`)."""

_UNRUN = frozenset({TargetStatus.NOT_RUN, TargetStatus.SKIPPED})


@attrs.frozen
class RunFacts:
    """Where and on what a run happened (from its environment.json, or the command line)."""

    commit: str | None = None
    branch: str | None = None
    ci_job: str | None = None
    host: str | None = None


@attrs.frozen
class RunRow:
    """One run as the ledger keeps it."""

    run_id: str
    started_at: str
    status: str | None
    commit: str | None
    branch: str | None
    ci_job: str | None
    shard: str | None
    host: str | None


ResultRow = tuple[str, str, str, int, int, "float | None", "str | None", int, int]
"""(run_id, target, test key, attempt, status code, duration, fingerprint, final, retried)."""


@attrs.frozen
class Batch:
    """What one summary contributes: its runs, target executions and test attempts.

    `targets` rows: (run_id, target, status, duration, attempts).
    `results` rows: (run_id, target, test key, attempt, status code, duration,
    fingerprint or None, final, retried): `final` marks the test's last attempt
    in its run, `retried` a final pass after a failed attempt.
    """

    summary_run: str
    runs: tuple[RunRow, ...]
    targets: tuple[tuple[str, str, str, float, int], ...]
    results: tuple[ResultRow, ...]


def facts_from_environment(document: Mapping[str, Any]) -> RunFacts:
    """The run facts an `environment.json` holds (unknown or odd values are None)."""

    def text(value: object) -> str | None:
        return value if isinstance(value, str) and value else None

    env = document.get("env")
    env = env if isinstance(env, dict) else {}
    ci_job = next((text(env.get(v)) for v in CI_JOB_VARIABLES if text(env.get(v))), None)
    branch = text(document.get("git_branch"))
    return RunFacts(
        commit=text(document.get("git_sha")),
        branch=None if branch == "HEAD" else branch,
        ci_job=ci_job,
        host=text(document.get("host")),
    )


def failure_fingerprint(message: str | None) -> str:
    """The fingerprint of a failure message, as `replay flake` computes it."""
    return fingerprint(message) if message else NO_FINGERPRINT


def _test_rows(run_id: str, name: str, target: TargetResult) -> list[ResultRow]:
    """One row per test per attempt of `target`, recorded as target `name`.

    A target without tests is one test of its own.
    """
    seen: dict[tuple[str, int], tuple[int, float | None, str | None]] = {}
    for attempt in target.attempts:
        if attempt.tests:
            for test in attempt.tests:
                code = STATUS_CODES[test.status]
                mark = failure_fingerprint(test.message) if code == FAILED else None
                key = f"{name}{SEPARATOR}{test.name}"
                seen[(key, attempt.number)] = (code, test.duration, mark)
        elif not attempt.interrupted and (attempt.exit_code is not None or attempt.error):
            passed = attempt_status(attempt) is TargetStatus.PASSED
            mark = None if passed else attempt_failure(attempt)
            seen[(name, attempt.number)] = (
                PASSED if passed else FAILED,
                attempt.duration,
                mark,
            )
    last: dict[str, int] = {}
    failed_before: set[str] = set()
    for key, number in sorted(seen, key=lambda k: k[1]):
        if key in last and seen[(key, last[key])][0] == FAILED:
            failed_before.add(key)
        last[key] = number
    rows = []
    for (key, number), (code, duration, mark) in seen.items():
        final = int(last[key] == number)
        retried = int(bool(final) and code == PASSED and key in failed_before)
        rows.append((run_id, name, key, number, code, duration, mark, final, retried))
    return rows


_STRESSED = re.compile(r"^.+@[1-9][0-9]{0,8}$")
"""A `--stress` run's record: target `T@i` (`planning.stress_plan`)."""


def _execution(target: TargetResult, summary_run: str) -> tuple[str, str]:
    """`(run_id, target name)` the ledger records `target`'s execution under.

    Round `i` of a `--stress` run, target `T@i`, is run `{run_id}@{i}` of target
    `T`: each round is a run of its own on the run's commit, so a test that
    passed in one round and failed in another is seen flaky.
    """
    run_id = target.decided_by or summary_run
    if _STRESSED.match(target.name) is None:
        return run_id, target.name
    name, number = stressed_target(target.name)
    return f"{run_id}@{number}", name


def summary_batch(summary: Summary, facts: RunFacts) -> Batch:
    """The rows one summary contributes (see the module docstring for the identity rules)."""
    shard = summary.shard.name if summary.shard is not None else None
    runs: dict[str, RunRow] = {
        summary.run_id: RunRow(
            summary.run_id,
            summary.started_at,
            summary.status.value,
            facts.commit,
            facts.branch,
            facts.ci_job,
            shard,
            facts.host,
        )
    }
    targets = []
    results = []
    for target in summary.targets:
        if target.status in _UNRUN or not target.attempts:
            continue
        run_id, name = _execution(target, summary.run_id)
        if run_id not in runs:
            started = target.attempts[0].started_at or summary.started_at
            runs[run_id] = RunRow(
                run_id, started, None, facts.commit, facts.branch, facts.ci_job, None, facts.host
            )
        targets.append((run_id, name, target.status.value, target.duration, len(target.attempts)))
        results.extend(_test_rows(run_id, name, target))
    return Batch(summary.run_id, tuple(runs.values()), tuple(targets), tuple(results))


# --- questions ----------------------------------------------------------------------------

_SINCE = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def since_cutoff(text: str | None, now: datetime) -> str | None:
    """The ISO time `--since 30d` means at `now` (None: no limit)."""
    if text is None:
        return None
    match = _SINCE.match(text)
    if match is None:
        msg = f"--since: expected a count and a unit such as 30d, 12h or 2w, got {text[:40]!r}"
        raise ReplayError(msg)
    moment = now - timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])
    return iso(moment)


@attrs.frozen
class Outcome:
    """A test's final result in one run, as the ledger returns it for the questions."""

    run_id: str
    started_at: str
    commit: str | None
    status: int
    duration: float | None
    fingerprint: str | None
    retried: bool = False
    attempt: int = 1


@attrs.frozen
class FingerprintSeen:
    """A failure fingerprint of a test and how many failed attempts had it."""

    fingerprint: str
    count: int


@attrs.frozen
class FlakyTest:
    """One flaky test and the evidence."""

    test: str
    runs: int
    passed: int
    failed: int
    retried_passes: int
    flip_rate: float
    failure_rate: float
    interval: tuple[float, float]
    """95% Wilson interval of the failure rate."""
    fingerprints: tuple[FingerprintSeen, ...]
    first_seen: str
    last_seen: str
    commits: int
    """Commits on which it both passed and failed."""


def flip_rate(outcomes: Sequence[Outcome]) -> float:
    """Flips / chances (see the module docstring); outcomes in time order."""
    flips = chances = 0
    previous: dict[str | None, int] = {}
    for o in outcomes:
        if o.status not in (PASSED, FAILED):
            continue
        if o.commit in previous:
            chances += 1
            flips += previous[o.commit] != o.status
        previous[o.commit] = o.status
        if o.retried:
            chances += 1
            flips += 1
    return flips / chances if chances else 0.0


def flaky_test(
    test: str, outcomes: Sequence[Outcome], failures: Iterable[str | None] = ()
) -> FlakyTest | None:
    """The flaky record of `test` from its final outcomes (time order), or None if it is not.

    `failures` are the fingerprints of all its failed attempts (retries too).
    """
    decided = [o for o in outcomes if o.status in (PASSED, FAILED)]
    by_commit: dict[str | None, set[int]] = {}
    for o in decided:
        by_commit.setdefault(o.commit, set()).add(o.status)
    mixed = sum(1 for statuses in by_commit.values() if len(statuses) == 2)
    retried = sum(1 for o in decided if o.retried)
    if not decided or (not mixed and not retried):
        return None
    failed = sum(1 for o in decided if o.status == FAILED)
    counts = Counter(f or NO_FINGERPRINT for f in failures)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return FlakyTest(
        test=test,
        runs=len(decided),
        passed=len(decided) - failed,
        failed=failed,
        retried_passes=retried,
        flip_rate=flip_rate(decided),
        failure_rate=failed / len(decided),
        interval=wilson_interval(failed, len(decided)),
        fingerprints=tuple(FingerprintSeen(f, n) for f, n in ordered),
        first_seen=min(o.started_at for o in decided),
        last_seen=max(o.started_at for o in decided),
        commits=mixed,
    )


def rank_flaky(tests: Iterable[FlakyTest]) -> list[FlakyTest]:
    """Flakiest first: flip rate, then failure rate, then name."""
    return sorted(tests, key=lambda t: (-t.flip_rate, -t.failure_rate, t.test))


class Trend(str, enum.Enum):
    """Where a duration is heading: the newer half of the runs against the older half."""

    SLOWER = "slower"
    FASTER = "faster"
    STEADY = "steady"
    UNKNOWN = "unknown"


TREND_THRESHOLD = 0.2
"""A p50 that moved by less than 20% is steady: CI machines vary that much run to run."""


@attrs.frozen
class SlowEntry:
    """Duration figures of one test or suite."""

    name: str
    runs: int
    p50: float
    p90: float
    max: float
    trend: Trend
    change: float | None
    """Newer half's p50 / older half's p50 - 1; None with fewer than 4 runs."""


def slow_entry(name: str, durations: Sequence[float]) -> SlowEntry:
    """The figures of one name from its durations in time order."""
    ordered = sorted(durations)
    change: float | None = None
    trend = Trend.UNKNOWN
    if len(durations) >= 4:
        half = len(durations) // 2
        older = interpolated_percentile(durations[:half], 0.5)
        newer = interpolated_percentile(durations[half:], 0.5)
        if older > 0:
            change = newer / older - 1
            trend = (
                Trend.SLOWER
                if change > TREND_THRESHOLD
                else Trend.FASTER
                if change < -TREND_THRESHOLD
                else Trend.STEADY
            )
    return SlowEntry(
        name=name,
        runs=len(ordered),
        p50=interpolated_percentile(ordered, 0.5),
        p90=interpolated_percentile(ordered, 0.9),
        max=ordered[-1],
        trend=trend,
        change=change,
    )


def slow_entries(series: Mapping[str, Sequence[float]], limit: int) -> list[SlowEntry]:
    """The `limit` slowest by p90 (then name)."""
    entries = [slow_entry(n, d) for n, d in series.items() if d]
    return sorted(entries, key=lambda e: (-e.p90, e.name))[:limit]


@attrs.frozen
class NewTest:
    """A test first seen recently."""

    test: str
    first_seen: str
    runs: int
    failed: int


def test_name_of(key: str) -> tuple[str, str | None]:
    """`(target, test)` of a test key; test is None for a whole target."""
    target, sep, test = key.partition(SEPARATOR)
    return target, (test if sep else None)
