"""The data replay works on: suites, plans, jobs, attempts, results, summaries.

Every model is a frozen attrs class; sequences are tuples and closed sets of
states are enums, so a plan or a summary can be compared, hashed into a
fingerprint, printed with `--dry-run` and round-tripped through JSON.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import Any, ClassVar, NoReturn

import attrs

from replay._model.errors import InvalidValue

SUMMARY_SCHEMA = "replay.summary.v1"
"""The schema tag of the summaries replay writes."""

UNIT_KINDS = frozenset({"unit", "vcr"})
"""Kinds the upstream script counted as "unit targets"; every other kind is a "suite"."""

MAX_PARALLELISM = 4096
"""Jobs at once, at most: far above any machine's cores; every running job holds pipes and a
process group, so a typo (`-j 99999999999999999999`) must not reach the executor."""

MAX_SHARDS = 10_000
"""Shards of one plan, at most: no CI system runs more parallel jobs of one step (GitHub 256,
GitLab 200), and a shard split allocates one list per shard."""

MAX_SECONDS = 366 * 24 * 3600.0
"""The longest timeout or delay, a year: no CI job runs longer, and beyond it a value is a typo
(`1e308`) that overflows deadline and backoff arithmetic."""

MAX_RETRIES = 100
"""Retries of one job, at most: exponential backoff doubles the delay each time."""


# --- validators: the model boundary -------------------------------------------------------
#
# Models are built by the planner, by cattrs from files, and by library callers; a validator
# refuses a value the rest of replay cannot use (`Suite(command="echo hi")` would run `e`)
# with an `InvalidValue` naming the model and the field. Readers of files put the file's
# name and the JSON path in front. Records of what happened (targets, attempts, tests) carry
# no validators: they are data, and what acts on them (a rerun's `Suite` and `Job`) checks.

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _refuse(instance: object, attribute: attrs.Attribute[Any], problem: str) -> NoReturn:
    raise InvalidValue(type(instance).__name__, attribute.name, problem)


def _shown(value: object) -> str:
    """`value` for a message: its type, and a short repr of a string."""
    if isinstance(value, str):
        text = repr(value)
        return f"str {text if len(text) <= 60 else text[:57] + '...'}"
    return "a boolean" if isinstance(value, bool) else type(value).__name__


def _checked_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> str:
    if not isinstance(value, str):
        _refuse(instance, attribute, f"expected a string, got {_shown(value)}")
    if "\0" in value:
        _refuse(instance, attribute, "holds a NUL byte, which no path, argument or name can")
    return value


def _text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A string without NUL (it may reach an argv, a path or a file name)."""
    _checked_text(instance, attribute, value)


def _optional_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """None, or a string without NUL."""
    if value is not None:
        _checked_text(instance, attribute, value)


def _name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A non-empty string: names key summaries (as data, made safe wherever they are used)."""
    if not isinstance(value, str):
        _refuse(instance, attribute, f"expected a string, got {_shown(value)}")
    if not value:
        _refuse(instance, attribute, "must not be empty")


def _job_id(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A job id is the name of the job's directory: one path component, inside the run."""
    if not _checked_text(instance, attribute, value):
        _refuse(instance, attribute, "must not be empty")
    if value in (".", "..") or "/" in str(value):
        _refuse(instance, attribute, f"{value!r} is not a directory name (no '/', '.' or '..')")


def _checked_texts(
    instance: object, attribute: attrs.Attribute[Any], value: object
) -> tuple[str, ...]:
    if not isinstance(value, tuple):
        _refuse(instance, attribute, f"expected a tuple of strings, got {_shown(value)}")
    for item in value:
        if not isinstance(item, str):
            _refuse(instance, attribute, f"expected strings, got {_shown(item)}")
    return value


def _texts(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A tuple of strings (names, test ids: data)."""
    _checked_texts(instance, attribute, value)


def _strings(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A tuple of strings without NUL (argv words, which reach `exec`)."""
    for item in _checked_texts(instance, attribute, value):
        if "\0" in item:
            _refuse(instance, attribute, f"{_shown(item)} holds a NUL byte, which no argv can")


def _argv(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An argv: a tuple of strings, never one string (which would run its first letter)."""
    if isinstance(value, str):
        problem = (
            f"expected an argv tuple such as ('echo', 'hi'), got {_shown(value)}; "
            "split a command line with shlex.split"
        )
        _refuse(instance, attribute, problem)
    _strings(instance, attribute, value)


def _command(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A suite's command: an argv that names a program."""
    _argv(instance, attribute, value)
    if not value:
        _refuse(instance, attribute, "empty command: name the program to run")


def _env(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Environment overrides: names without `=` or NUL, values without NUL."""
    if not isinstance(value, dict):
        _refuse(instance, attribute, f"expected a dict of strings, got {_shown(value)}")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            bad = key if not isinstance(key, str) else item
            _refuse(instance, attribute, f"expected strings, got {_shown(bad)}")
        flaw = "is empty" if not key else "holds '='" if "=" in key else "holds a NUL byte"
        if not key or "=" in key or "\0" in key:
            _refuse(instance, attribute, f"variable name {key!r} {flaw}; no environment has one")
        if "\0" in item:
            _refuse(instance, attribute, f"the value of {key} holds a NUL byte")


def _seconds(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """None, or seconds from 0 to `MAX_SECONDS` (a timeout of 0 means none)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _refuse(instance, attribute, f"expected seconds (a number), got {_shown(value)}")
    if not (math.isfinite(value) and 0 <= value <= MAX_SECONDS):
        _refuse(
            instance, attribute, f"expected 0 to {MAX_SECONDS:.0f} seconds (a year), got {value!r}"
        )


def _count(minimum: int, maximum: int | None = None, *, optional: bool = False) -> Validator:
    """A whole number in `minimum..maximum` (or None, when `optional`)."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            _refuse(instance, attribute, f"expected a whole number, got {_shown(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"at least {minimum}" if maximum is None else f"{minimum} to {maximum}"
            _refuse(instance, attribute, f"expected {bound}, got {value}")

    return check


ADAPTER_NAMES = ("cargo", "generic", "go", "junit", "pytest")
"""The runner adapters a suite may name (`replay._adapters` holds one module for each)."""


def _adapter(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in ADAPTER_NAMES:
        known = ", ".join(ADAPTER_NAMES)
        _refuse(instance, attribute, f"unknown adapter {value!r}; expected one of: {known}")


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


class RetryOn(str, enum.Enum):
    """Which failures a retry policy retries (`retry_on`; unset: any failure)."""

    KNOWN_FLAKY = "known-flaky"
    """Only failures whose signature is a known flaky one (a quarantine entry's, the ledger's)."""


RETRY_ON_RULES = tuple(r.value for r in RetryOn)
"""The values `retry_on` takes in a config."""


@attrs.frozen
class Suite:
    """One runnable suite as the config describes it: a command and how to read it."""

    name: str = attrs.field(validator=_name)
    command: tuple[str, ...] = attrs.field(validator=_command)
    kind: str = attrs.field(default="suite", validator=_text)
    adapter: str = attrs.field(default="generic", validator=_adapter)
    env: dict[str, str] = attrs.field(factory=dict, validator=_env)
    cwd: str | None = attrs.field(default=None, validator=_optional_text)
    timeout: float | None = attrs.field(default=None, validator=_seconds)
    serial: bool = False
    junit_path: str | None = attrs.field(default=None, validator=_optional_text)
    # Controls (issue 17). None: not set here, so an override or the default applies.
    retries: int | None = attrs.field(default=None, validator=_count(0, MAX_RETRIES, optional=True))
    slow: float | None = attrs.field(default=None, validator=_seconds)
    """Past this many seconds the job is reported slow (nextest's slow-timeout period)."""
    terminate_after: int | None = attrs.field(
        default=None, validator=_count(1, MAX_RETRIES, optional=True)
    )
    """Stop the job (`timed_out`) after this many slow periods."""
    leak_timeout: float | None = attrs.field(default=None, validator=_seconds)
    """How long descendants may outlive the job before it is marked leaky."""
    leak_fail: bool | None = None
    """Whether a leak fails the target (nextest's LEAK-FAIL) rather than only marking it."""
    group: str | None = attrs.field(default=None, validator=_optional_text)
    """The `[replay.groups]` entry that limits how many of its jobs run at once."""
    weight: int | None = attrs.field(
        default=None, validator=_count(1, MAX_PARALLELISM, optional=True)
    )
    """Slots of `-j` the job takes (nextest's threads-required)."""
    setup: tuple[str, ...] = attrs.field(default=(), validator=_texts)
    """Names of `[[replay.setup]]` jobs that must succeed before this suite runs."""


NO_TESTS_RULES = ("fail", "warn", "pass")
"""What a suite whose adapter saw no test counts as (`--no-tests`): nextest's choices."""


def _no_tests(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in NO_TESTS_RULES:
        _refuse(instance, attribute, f"expected one of {', '.join(NO_TESTS_RULES)}, got {value!r}")


def _groups(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Group limits: names to a whole number of jobs at once, at least 1."""
    if not isinstance(value, dict):
        _refuse(instance, attribute, f"expected a dict of group limits, got {_shown(value)}")
    for name, limit in value.items():
        if not isinstance(name, str) or not name:
            _refuse(instance, attribute, f"group names are non-empty strings, got {name!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            _refuse(instance, attribute, f"group {name!r}: max must be at least 1, got {limit!r}")


@attrs.frozen
class RetryPolicy:
    """When and how a failed job is attempted again."""

    retries: int = attrs.field(default=0, validator=_count(0, MAX_RETRIES))
    delay: float = attrs.field(default=0.0, validator=_seconds)
    backoff: Backoff = Backoff.FIXED
    max_failures: int | None = attrs.field(default=None, validator=_count(0, optional=True))
    """Refuse retries once more than this many targets failed (a broken build, not flakes)."""
    granularity: Granularity = Granularity.TEST
    """A retry runs only the failed tests where the adapter can target them, else the suite."""
    max_tests: int = attrs.field(default=100, validator=_count(1))
    """More failed tests than this in one attempt: the retry runs the whole suite."""
    retry_on: RetryOn | None = None
    """`known-flaky`: retry only failures whose signature is a known flaky one; None: any."""


@attrs.frozen
class Job:
    """One command to run, with everything needed to run it and read its results."""

    id: str = attrs.field(validator=_job_id)
    """Unique in its plan; also the name of the job's directory in the run directory."""
    target: str = attrs.field(validator=_name)
    """The target name that the summary records (a suite name)."""
    kind: str = attrs.field(validator=_text)
    adapter: str = attrs.field(validator=_adapter)
    argv: tuple[str, ...] = attrs.field(validator=_argv)
    env: dict[str, str] = attrs.field(factory=dict, validator=_env)
    """Overrides on top of the orchestrator's environment."""
    cwd: str | None = attrs.field(default=None, validator=_optional_text)
    timeout: float | None = attrs.field(default=None, validator=_seconds)
    serial: bool = False
    tests: tuple[str, ...] = attrs.field(default=(), validator=_texts)
    """The tests this job targets; empty means the whole suite."""
    junit_path: str | None = attrs.field(default=None, validator=_optional_text)
    quarantined: bool = False
    suite_command: tuple[str, ...] = attrs.field(default=(), validator=_strings)
    """The suite's whole command, without exec prefix or test targeting: what a summary records."""
    retries: int | None = attrs.field(default=None, validator=_count(0, MAX_RETRIES, optional=True))
    """Retries of this job; None: the plan's retry policy."""
    slow: float | None = attrs.field(default=None, validator=_seconds)
    """Seconds after which the job is reported slow, and again each period after."""
    terminate_after: int | None = attrs.field(
        default=None, validator=_count(1, MAX_RETRIES, optional=True)
    )
    """Slow periods after which the job is stopped and recorded `timed_out`."""
    leak_timeout: float | None = attrs.field(default=None, validator=_seconds)
    """Seconds descendants may outlive the job's exit before it is leaky (None: none)."""
    leak_fail: bool = False
    """A leaky attempt fails (LEAK-FAIL) instead of only being marked (LEAK)."""
    group: str | None = attrs.field(default=None, validator=_optional_text)
    weight: int = attrs.field(default=1, validator=_count(1, MAX_PARALLELISM))
    """Slots of the plan's parallelism this job takes while it runs."""
    setup: tuple[str, ...] = attrs.field(default=(), validator=_texts)
    """Names of the plan's setup jobs this job needs."""
    signatures: tuple[str, ...] = attrs.field(default=(), validator=_texts)
    """The quarantine entry's failure signatures: only these are spared (empty: any failure)."""
    known_signatures: tuple[str, ...] = attrs.field(default=(), validator=_texts)
    """Signatures of this target's flaky tests in the ledger (`retry_on = "known-flaky"`)."""


@attrs.frozen
class Shard:
    """A deterministic slice of a plan."""

    index: int = attrs.field(validator=_count(0, MAX_SHARDS - 1))
    total: int = attrs.field(validator=_count(1, MAX_SHARDS))
    kind: str = "suite"
    strategy: str = "round-robin"

    DERIVED: ClassVar[tuple[str, ...]] = ("name",)
    """Properties written into JSON beside the fields (and ignored when read back)."""

    def __attrs_post_init__(self) -> None:
        if self.index >= self.total:
            problem = f"shard {self.index} does not exist in {self.total} shard(s) (0-based)"
            _refuse(self, attrs.fields(Shard).index, problem)

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
    slow: bool = False
    """The attempt ran past its job's slow period."""
    leaked: bool = False
    """Descendants outlived the attempt past its leak timeout (they were stopped)."""
    failed_by: str | None = None
    """Why an attempt that exited 0 counts as failed (no tests ran, a leak with LEAK-FAIL)."""
    not_run: str | None = None
    """Why the attempt never started (a setup job it needs failed)."""
    passed_by: str | None = None
    """Why an attempt that exited non-zero counts as passed: its runner's "no tests ran"
    exit code (pytest's 5) under `--no-tests pass|warn`."""


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


def _unique_jobs(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A plan's jobs: a tuple of `Job`s with unique ids (each id is a directory)."""
    if not isinstance(value, tuple) or not all(isinstance(j, Job) for j in value):
        _refuse(instance, attribute, f"expected a tuple of Job, got {_shown(value)}")
    seen: set[str] = set()
    for job in value:
        if job.id in seen:
            _refuse(instance, attribute, f"two jobs have the id {job.id!r}; ids name directories")
        seen.add(job.id)


@attrs.frozen
class Plan:
    """Everything a run will do, as pure data: built without running anything."""

    jobs: tuple[Job, ...] = attrs.field(validator=_unique_jobs)
    parallelism: int = attrs.field(default=1, validator=_count(1, MAX_PARALLELISM))
    fail_fast: bool = False
    max_failures: int | None = None
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    profile: str | None = None
    shard: Shard | None = None
    rerun_from: str | None = None
    parent_run_id: str | None = None
    carried: tuple[TargetResult, ...] = ()
    """Targets of a rerun's parent that this run does not execute but reports."""
    parent: tuple[TargetResult, ...] = attrs.field(default=(), repr=False)
    """The parent's records of the targets this rerun runs again: a targeted rerun keeps
    the tests it does not run from them (`--dry-run` shows their names)."""
    config: str | None = None
    """The config file named with `--config`, so the replay command names it too."""
    fail_on_flaky: bool = False
    """A flaky target is outstanding, not passing (`--fail-on-flaky`)."""
    policy_failures: tuple[str, ...] = ()
    """Problems found while planning that fail the run whatever the jobs do (quarantine)."""
    root: str | None = None
    """The repository root (the config's directory): failure locations are relative to it."""
    no_tests: str = attrs.field(default="fail", validator=_no_tests)
    """What a whole-suite job whose adapter saw no test counts as: fail, warn or pass."""
    groups: dict[str, int] = attrs.field(factory=dict, validator=_groups)
    """Group name -> how many of its jobs may run at once."""
    setup: tuple[Job, ...] = attrs.field(default=(), validator=_unique_jobs)
    """Jobs run once before the jobs that name them; one failing leaves those `not_run`."""
    teardown: tuple[Job, ...] = attrs.field(default=(), validator=_unique_jobs)
    """Jobs run at the end of the run, however it ends (after an interrupt too)."""
