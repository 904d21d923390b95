"""Building plans: pure functions from a config or a summary to a `Plan`.

Nothing here runs anything, reads a clock or touches the file system, so
`--dry-run` prints exactly what a run would execute.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase

import attrs

from replay._adapters import get_adapter
from replay._core.chain import needs_rerun, rerun_tests
from replay._core.redact import REDACTED
from replay._model.config import Config, Override
from replay._model.convert import unstructure
from replay._model.errors import ConfigError, InputError, InvalidValue
from replay._model.models import (
    MAX_PARALLELISM,
    Granularity,
    Job,
    Plan,
    RetryPolicy,
    Shard,
    Suite,
    Summary,
    TargetResult,
)
from replay._model.models import _count as count_validator
from replay._model.models import _env as env_validator
from replay._model.models import _seconds as seconds_validator
from replay._model.models import _strings as strings_validator
from replay._model.names import safe_component


@attrs.frozen
class Options:
    """Everything from the command line that shapes a plan."""

    profile: str | None = None
    suites: tuple[str, ...] = attrs.field(default=(), validator=strings_validator)
    kinds: tuple[str, ...] = attrs.field(default=(), validator=strings_validator)
    parallelism: int | None = attrs.field(
        default=None, validator=count_validator(1, MAX_PARALLELISM, optional=True)
    )
    timeout: float | None = attrs.field(default=None, validator=seconds_validator)
    env: dict[str, str] = attrs.field(factory=dict, validator=env_validator)
    debug: bool = False
    exec_prefix: tuple[str, ...] | None = attrs.field(
        default=None, validator=attrs.validators.optional(strings_validator)
    )
    fail_fast: bool = False
    max_failures: int | None = None
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    granularity: Granularity = Granularity.TEST
    quarantined: frozenset[str] = frozenset()
    """Target names (suite, or `suite::test`) quarantined in the classification file."""
    fail_on_flaky: bool = False
    """A flaky target is outstanding, not passing (and a rerun runs it again)."""
    policy_failures: tuple[str, ...] = ()
    """Problems that fail the run whatever its jobs do (an expired quarantine entry)."""
    no_tests: str | None = None
    """What a suite whose adapter saw no test counts as (`--no-tests`); None: the config's."""
    signatures: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    """Suite name -> its quarantine entry's failure signatures (`signatures = [...]`)."""
    known_signatures: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    """Suite name -> the failure signatures of its flaky tests in the ledger."""


def select_suites(config: Config, options: Options) -> tuple[Suite, ...]:
    """The suites a run executes: by profile, then `--suite` and `--kind` filters."""
    suites = config.suites
    if options.profile is not None:
        profile = config.profiles.get(options.profile)
        if profile is None:
            known = ", ".join(sorted(config.profiles)) or "none defined"
            msg = f"unknown profile {options.profile!r}; profiles in the config: {known}"
            raise ConfigError(msg)
        if profile.kinds:
            suites = tuple(s for s in suites if s.kind in profile.kinds)
        if profile.suites:
            suites = tuple(s for s in suites if s.name in profile.suites)
    if options.suites:
        known_names = {s.name for s in config.suites}
        unknown = [n for n in options.suites if n not in known_names]
        if unknown:
            names = ", ".join(sorted(known_names)) or "none"
            msg = f"unknown suite {unknown[0]!r}; suites in the config: {names}"
            raise ConfigError(msg)
        suites = tuple(s for s in suites if s.name in options.suites)
    if options.kinds:
        suites = tuple(s for s in suites if s.kind in options.kinds)
    return suites


def _env(config: Config, suite_env: Mapping[str, str], options: Options) -> dict[str, str]:
    env = {**config.env, **suite_env}
    if options.debug:
        env.update(config.debug_env)
    env.update(options.env)
    return env


def _prefix(config: Config, options: Options) -> tuple[str, ...]:
    return config.exec_prefix if options.exec_prefix is None else options.exec_prefix


def _unique_id(name: str, taken: set[str]) -> str:
    base = safe_component(name)
    job_id, n = base, 2
    while job_id in taken:
        job_id, n = f"{base}-{n}", n + 1
    taken.add(job_id)
    return job_id


POSIX_ARG_MAX = 4096
"""The smallest ARG_MAX POSIX allows: the limit assumed when the system does not say."""


def _system_arg_max() -> int:
    try:
        limit = os.sysconf("SC_ARG_MAX")
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows) or no such name
        limit = -1
    return limit if limit > 0 else POSIX_ARG_MAX


ARGV_BUDGET = _system_arg_max() // 2
"""Bytes a test-targeted argv may take: half of ARG_MAX, which the environment shares
(CI environments run to tens of KiB) with the exec prefix and the adapter's own options."""

MAX_ARG_BYTES = 128 * 1024 - 1
"""The longest single argument: Linux refuses one of 32 pages or more (MAX_ARG_STRLEN) with
E2BIG whatever ARG_MAX says, and Go's `-run` pattern of many tests is one argument."""


def fits_command_line(argv: Sequence[str]) -> bool:
    """Whether `argv` can be exec'd: no NUL byte, within `ARGV_BUDGET` and `MAX_ARG_BYTES`.

    Each argument costs its UTF-8 bytes, a terminating NUL and a pointer, as the
    kernel counts them.
    """
    total = 0
    for arg in argv:
        size = len(arg.encode("utf-8", "surrogateescape")) + 1
        if size > MAX_ARG_BYTES or "\0" in arg:
            return False
        total += size + 8
    return total <= ARGV_BUDGET


def suite_job(
    suite: Suite, config: Config, options: Options, *, job_id: str, tests: tuple[str, ...] = ()
) -> Job:
    """The job that runs `suite` (only `tests` of it, when given and the adapter can).

    When the targeted command could never start (too long for the system, or a
    test id with a NUL byte), the job runs the whole suite instead.
    """
    suite = with_overrides(suite, config.overrides)
    argv = suite.command
    if tests:
        targeted = get_adapter(suite.adapter).targeted(argv, tests)
        if targeted is None or not fits_command_line((*_prefix(config, options), *targeted)):
            tests = ()
        else:
            argv = targeted
    return Job(
        id=job_id,
        target=suite.name,
        kind=suite.kind,
        adapter=suite.adapter,
        argv=(*_prefix(config, options), *argv),
        env=_env(config, suite.env, options),
        cwd=suite.cwd or config.root,
        timeout=options.timeout or suite.timeout or config.timeout,
        serial=suite.serial,
        tests=tests,
        junit_path=suite.junit_path,
        quarantined=suite.name in options.quarantined,
        suite_command=suite.command,
        retries=suite.retries,
        slow=suite.slow,
        terminate_after=suite.terminate_after,
        leak_timeout=suite.leak_timeout,
        leak_fail=bool(suite.leak_fail),
        group=suite.group,
        weight=suite.weight or 1,
        setup=suite.setup,
        signatures=options.signatures.get(suite.name, ()),
        known_signatures=options.known_signatures.get(suite.name, ()),
    )


_OVERRIDDEN = tuple(f.name for f in attrs.fields(Override) if f.name != "match")
"""The suite fields `[[replay.overrides]]` may set: every field of `Override` but its pattern."""


def overrides_for(suite: Suite, overrides: Sequence[Override]) -> tuple[Override, ...]:
    """The overrides whose pattern matches the suite's name or its kind, in config order."""
    return tuple(
        o for o in overrides if fnmatchcase(suite.name, o.match) or fnmatchcase(suite.kind, o.match)
    )


def with_overrides(suite: Suite, overrides: Sequence[Override]) -> Suite:
    """`suite` with what matching overrides set: the suite's own setting wins, then the first
    matching override that sets the field (as nextest: the first match applies)."""
    changes: dict[str, object] = {}
    for override in overrides_for(suite, overrides):
        for field in _OVERRIDDEN:
            value = getattr(override, field)
            if value is not None and getattr(suite, field) is None and field not in changes:
                changes[field] = value
    return attrs.evolve(suite, **changes) if changes else suite  # type: ignore[arg-type]


def _phase_jobs(
    phases: Sequence[Suite], config: Config, options: Options, taken: set[str]
) -> tuple[Job, ...]:
    return tuple(
        suite_job(p, config, options, job_id=_unique_id(f"{p.kind}-{p.name}", taken))
        for p in phases
    )


def _controls(config: Config, options: Options, jobs: Sequence[Job]) -> dict[str, object]:
    """The plan fields of the run's controls: groups, `--no-tests`, setup and teardown jobs.

    Only the setup jobs a planned job names are run; teardown runs whenever jobs do.
    """
    taken = {job.id for job in jobs}
    needed = {name for job in jobs for name in job.setup}
    setup = [p for p in config.setup if p.name in needed]
    # Setup and teardown commands take the CLI's timeout only from their own config.
    phase_options = attrs.evolve(options, timeout=None)
    return {
        "no_tests": options.no_tests or config.no_tests or "fail",
        "groups": dict(config.groups),
        "setup": _phase_jobs(setup, config, phase_options, taken),
        "teardown": _phase_jobs(config.teardown if jobs else (), config, phase_options, taken),
    }


def _plan(config: Config, options: Options, jobs: Sequence[Job], **fields: object) -> Plan:
    return Plan(
        jobs=tuple(jobs),
        parallelism=options.parallelism or config.parallelism,
        fail_fast=options.fail_fast,
        max_failures=options.max_failures,
        # `--retry-*` shape the policy; the config says which failures it retries.
        retry=options.retry
        if options.retry.retry_on is not None
        else attrs.evolve(options.retry, retry_on=config.retry_on),
        profile=options.profile,
        fail_on_flaky=options.fail_on_flaky,
        policy_failures=options.policy_failures,
        root=config.root,
        **_controls(config, options, jobs),  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )


def build_plan(config: Config, options: Options, *, shard: Shard | None = None) -> Plan:
    """The plan that runs the selected suites of `config`."""
    taken: set[str] = set()
    jobs = [
        suite_job(s, config, options, job_id=_unique_id(s.name, taken))
        for s in select_suites(config, options)
    ]
    return _plan(config, options, jobs, shard=shard)


def recorded_env(env: Mapping[str, str]) -> dict[str, str]:
    """A recorded job env without the values replay masked when it wrote them.

    A summary keeps the names of secret variables but not their values: a rerun
    takes the real value from the current environment (the executor starts jobs
    with it) or from the config's `[replay] env` and `--env` (`suite_job` adds
    them), and never passes the mask itself to a job.
    """
    return {name: value for name, value in env.items() if REDACTED not in value}


def masked_env_notes(
    summary: Summary, plan: Plan, config: Config, environ: Mapping[str, str]
) -> tuple[str, ...]:
    """One note per masked variable a rerun's job from a recorded suite runs without.

    Only suites the config no longer defines run from the recording; a variable
    the current environment, the config or `--env` sets is not missing.
    """
    recorded = {t.name: t.env for t in summary.targets}
    notes = []
    for job in plan.jobs:
        if config.suite(job.target) is not None:
            continue
        for name, value in recorded.get(job.target, {}).items():
            if REDACTED in value and name not in job.env and name not in environ:
                notes.append(
                    f"{job.target}: {name} was masked in the summary and is not set here; "
                    "the job runs without it"
                )
    return tuple(notes)


def _recorded_suite(target: TargetResult, config: Config) -> Suite:
    return Suite(
        name=target.name,
        command=target.argv,
        kind=target.kind,
        adapter=target.adapter,
        env=recorded_env(target.env),
        cwd=target.cwd or config.root,
        junit_path=target.junit_path,
        timeout=target.timeout,
    )


def rerun_plan(summary: Summary, config: Config, options: Options, *, summary_path: str) -> Plan:
    """The plan that reruns what `summary` left outstanding, carrying the rest forward.

    A suite still in `config` runs as the config now defines it; otherwise as
    recorded. What runs is the chain core's answer (`replay._core.chain.rerun_tests`):
    the failed tests where the adapter can target them (unless
    `options.granularity` is `suite`), else the whole suite. The plan holds the
    parent's records of what it reruns (`Plan.parent`), so running it settles each
    target against them: tests a targeted rerun does not run keep their results.
    """
    taken: set[str] = set()
    jobs = []
    carried = []
    rerun = []
    selected = set(options.suites)
    _check_suites(summary, options, summary_path)
    for index, target in enumerate(summary.targets):
        wanted = needs_rerun(target, fail_on_flaky=options.fail_on_flaky) and (
            not selected or target.name in selected
        )
        if options.kinds and target.kind not in options.kinds:
            wanted = False
        if not wanted:
            carried.append(target)
            continue
        suite = config.suite(target.name) or _recorded(target, index, config, summary_path)
        tests = rerun_tests(target) if options.granularity is Granularity.TEST else ()
        jobs.append(
            suite_job(suite, config, options, job_id=_unique_id(target.name, taken), tests=tests)
        )
        rerun.append(target)
    return _plan(
        config,
        options,
        jobs,
        shard=summary.shard,
        rerun_from=summary_path,
        parent_run_id=summary.run_id,
        carried=tuple(carried),
        parent=tuple(rerun),
    )


def plan_document(plan: Plan) -> dict[str, object]:
    """The plan as `--dry-run` prints it: the model, with the parent's records by name.

    A rerun's parent records hold every test the parent saw; the names say which
    targets they are without burying the jobs (`schemas/plan.schema.json`).
    """
    document: dict[str, object] = unstructure(plan)
    document["parent"] = [target.name for target in plan.parent]
    return document


SHOWN_NAMES = 20
"""Target names an error about `--suite` lists; a summary may hold thousands."""


def _check_suites(summary: Summary, options: Options, summary_path: str) -> None:
    """Refuse a `--suite` the summary does not hold: it would rerun nothing and say so green."""
    present = {t.name for t in summary.targets}
    names = sorted(present)
    unknown = [n for n in options.suites if n not in present]
    if unknown:
        known = ", ".join(repr(n) for n in names[:SHOWN_NAMES]) or "none"
        if len(names) > SHOWN_NAMES:
            known += f" and {len(names) - SHOWN_NAMES} more"
        msg = f"unknown suite {unknown[0]!r} for --suite; targets in {summary_path}: {known}"
        raise ConfigError(msg)


_RECORDED_AS = {"command": "argv"}
"""The summary's name for a `Suite` field where the two differ."""


def _recorded(target: TargetResult, index: int, config: Config, summary_path: str) -> Suite:
    """The suite a summary recorded, or an `InputError` naming the file and the field.

    A summary may come from anywhere: what it records is checked by `Suite`'s
    validators before anything runs (a NUL byte, a `KEY=` name, an adapter
    replay does not have).
    """
    try:
        return _recorded_suite(target, config)
    except InvalidValue as exc:
        field = _RECORDED_AS.get(exc.field, exc.field)
        msg = f"{summary_path}: $.targets[{index}].{field}: {exc.problem}"
        raise InputError(msg) from None


STRESS_DURATION_RUNS = 1_000
"""Runs of each selected suite `--stress-duration` plans without `--stress N` (time ends it)."""


def stress_plan(plan: Plan, times: int) -> Plan:
    """`plan` with each job `times` over, round by round (`--stress N`).

    Run `i` of target T is job `<id>-stress<i>` with target `T@i`, as `replay flake`
    names its runs, so every run is its own record; rounds come in order, so a
    time budget (`--stress-duration`) that ends the loop early leaves every target
    with as many runs as the others, give or take one. Setup and teardown run once.
    """
    jobs = tuple(
        attrs.evolve(job, id=f"{job.id}-stress{i}", target=f"{job.target}@{i}")
        for i in range(1, times + 1)
        for job in plan.jobs
    )
    return attrs.evolve(plan, jobs=jobs, carried=())


def stressed_target(name: str) -> tuple[str, int]:
    """`T@i` -> (T, i): the target and run number of a `stress_plan` job's record."""
    target, _, number = name.rpartition("@")
    return target, int(number)
