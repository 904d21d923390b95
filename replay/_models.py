"""The data replay works on: suites, plans, jobs, attempts, results, summaries.

Every model is a frozen attrs class; sequences are tuples and closed sets of
states are enums, so a plan or a summary can be compared, hashed into a
fingerprint, printed with `--dry-run` and round-tripped through JSON.
"""

from __future__ import annotations

import enum
from typing import ClassVar

import attrs

SUMMARY_SCHEMA = "replay.summary.v1"
"""The schema tag of the summaries replay writes."""

UNIT_KINDS = frozenset({"unit", "vcr"})
"""Kinds the upstream script counted as "unit targets"; every other kind is a "suite"."""


class TargetStatus(str, enum.Enum):
    """How a target ended in one run."""

    PASSED = "passed"
    FAILED = "failed"
    FLAKY = "flaky"
    TIMED_OUT = "timed_out"
    CRASHED = "crashed"
    NOT_RUN = "not_run"
    SKIPPED = "skipped"

    @property
    def ok(self) -> bool:
        """Whether the target counts as passing (a flaky pass is a pass)."""
        return self in (TargetStatus.PASSED, TargetStatus.FLAKY, TargetStatus.SKIPPED)


class TestStatus(str, enum.Enum):
    """How one test inside a suite ended, as the adapter read it."""

    __test__ = False  # not a pytest test class

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    XFAILED = "xfailed"
    """Failed as the suite expects (pytest's xfail): not a failure, not a pass either."""


class RunStatus(str, enum.Enum):
    """How a whole run ended."""

    PASSED = "passed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class ChainState(str, enum.Enum):
    """Where a target stands across a chain of `--rerun-from` runs."""

    PASSING = "passing"
    OUTSTANDING = "outstanding"


class Granularity(str, enum.Enum):
    """What a rerun or a retry executes for a failed suite."""

    TEST = "test"
    """Only its failed tests, where the adapter knows them and can target them."""
    SUITE = "suite"
    """The whole suite."""


class Backoff(str, enum.Enum):
    """How the delay between retries grows."""

    FIXED = "fixed"
    EXPONENTIAL = "exponential"


@attrs.frozen
class Suite:
    """One runnable suite as the config describes it: a command and how to read it."""

    name: str
    command: tuple[str, ...]
    kind: str = "suite"
    adapter: str = "generic"
    env: dict[str, str] = attrs.field(factory=dict)
    cwd: str | None = None
    timeout: float | None = None
    serial: bool = False
    junit_path: str | None = None


@attrs.frozen
class RetryPolicy:
    """When and how a failed job is attempted again."""

    retries: int = 0
    delay: float = 0.0
    backoff: Backoff = Backoff.FIXED
    max_failures: int | None = None
    """Refuse retries once more than this many targets failed (a broken build, not flakes)."""
    granularity: Granularity = Granularity.TEST
    """A retry runs only the failed tests where the adapter can target them, else the suite."""
    max_tests: int = 100
    """More failed tests than this in one attempt: the retry runs the whole suite."""


@attrs.frozen
class Job:
    """One command to run, with everything needed to run it and read its results."""

    id: str
    """Unique in its plan; also the name of the job's directory in the run directory."""
    target: str
    """The target name that the summary records (a suite name)."""
    kind: str
    adapter: str
    argv: tuple[str, ...]
    env: dict[str, str] = attrs.field(factory=dict)
    """Overrides on top of the orchestrator's environment."""
    cwd: str | None = None
    timeout: float | None = None
    serial: bool = False
    tests: tuple[str, ...] = ()
    """The tests this job targets; empty means the whole suite."""
    junit_path: str | None = None
    quarantined: bool = False
    suite_command: tuple[str, ...] = ()
    """The suite's whole command, without exec prefix or test targeting: what a summary records."""


@attrs.frozen
class Shard:
    """A deterministic slice of a plan."""

    index: int
    total: int
    kind: str = "suite"
    strategy: str = "round-robin"

    DERIVED: ClassVar[tuple[str, ...]] = ("name",)
    """Properties written into JSON beside the fields (and ignored when read back)."""

    @property
    def name(self) -> str:
        """Upstream's shard name, `{kind}-{index}-of-{total}`."""
        return f"{self.kind}-{self.index}-of-{self.total}"


@attrs.frozen
class TestResult:
    """One test as an adapter saw it in one attempt."""

    __test__ = False  # not a pytest test class

    name: str
    status: TestStatus
    duration: float | None = None
    attempt: int = 1
    message: str | None = None
    file: str | None = None
    line: int | None = None


@attrs.frozen
class Attempt:
    """One execution of a job."""

    number: int
    exit_code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    error: str | None = None
    """Why the job could not start (missing executable, bad cwd) or was stopped."""
    started_at: str = ""
    duration: float = 0.0
    log: str | None = None
    """Path of the output log, relative to the run directory."""
    tests: tuple[TestResult, ...] = ()
    interrupted: bool = False
    argv: tuple[str, ...] = ()
    """The argv that actually ran (with the adapter's options and test targeting)."""
    targeted: tuple[str, ...] = ()
    """The failed tests a retry was narrowed to; empty: the job's own selection."""
    unseen: str | None = None
    """Why the runner could not show every test it was asked to run (the adapter says)."""
    not_found: tuple[str, ...] = ()
    """Targeted test ids the runner said do not exist."""


@attrs.frozen
class TargetResult:
    """One target's record in a summary: what ran, how it ended, where it stands."""

    name: str
    kind: str
    adapter: str
    argv: tuple[str, ...]
    status: TargetStatus
    chain_state: ChainState
    decided_by: str
    """The run id of the run that last executed this target."""
    env: dict[str, str] = attrs.field(factory=dict)
    cwd: str | None = None
    exit_code: int | None = None
    signal: int | None = None
    duration: float = 0.0
    attempts: tuple[Attempt, ...] = ()
    tests: tuple[TestResult, ...] = ()
    log: str | None = None
    result: str | None = None
    digest: str | None = None
    root_cause: str | None = None
    quarantined: bool = False
    junit_path: str | None = None
    retry_refused: str | None = None
    """Why retries were refused, when they were."""
    timeout: float | None = None
    """The per-job timeout it ran with (reused by a rerun when the config no longer has it)."""
    unseen: str | None = None
    """Why part of the suite went unrun since its last full run; the next rerun runs it whole."""
    gone: tuple[str, ...] = ()
    """Targeted test ids the runner no longer has (renamed, deleted): neither passed nor failed."""

    @property
    def outstanding(self) -> bool:
        """Whether the chain still owes this target a passing run."""
        return self.chain_state is ChainState.OUTSTANDING

    @property
    def is_unit(self) -> bool:
        """Whether upstream would count this target as a "unit target"."""
        return self.kind in UNIT_KINDS


@attrs.frozen
class TriageStatus:
    """The short form of a triage diff that a summary carries."""

    status: str
    regression_count: int = 0
    new_failure_count: int = 0
    fixed_count: int = 0
    unresolved_count: int = 0
    path: str | None = None


@attrs.frozen
class Summary:
    """A run's result: self-contained enough to replay from."""

    run_id: str
    status: RunStatus
    started_at: str
    finished_at: str
    targets: tuple[TargetResult, ...] = ()
    parent_run_id: str | None = None
    rerun_from: str | None = None
    diff_from: str | None = None
    profile: str | None = None
    correlation_id: str | None = None
    shard: Shard | None = None
    one_command_replay: str | None = None
    triage_diff: TriageStatus | None = None
    config: str | None = None
    """The config file the run was given with `--config`, if any."""
    policy_failures: tuple[str, ...] = ()
    """Why the run failed beyond its targets (an expired quarantine entry, `--fail-on-flaky`)."""
    schema: str = SUMMARY_SCHEMA

    @property
    def outstanding(self) -> tuple[TargetResult, ...]:
        """Targets the chain still owes a passing run."""
        return tuple(t for t in self.targets if t.outstanding)


@attrs.frozen
class Plan:
    """Everything a run will do, as pure data: built without running anything."""

    jobs: tuple[Job, ...]
    parallelism: int = 1
    fail_fast: bool = False
    max_failures: int | None = None
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    profile: str | None = None
    shard: Shard | None = None
    rerun_from: str | None = None
    parent_run_id: str | None = None
    carried: tuple[TargetResult, ...] = ()
    """Targets of a rerun's parent that this run does not execute but reports."""
    config: str | None = None
    """The config file named with `--config`, so the replay command names it too."""
    fail_on_flaky: bool = False
    """A flaky target is outstanding, not passing (`--fail-on-flaky`)."""
    policy_failures: tuple[str, ...] = ()
    """Problems found while planning that fail the run whatever the jobs do (quarantine)."""
    root: str | None = None
    """The repository root (the config's directory): failure locations are relative to it."""
