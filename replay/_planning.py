"""Building plans: pure functions from a config or a summary to a `Plan`.

Nothing here runs anything, reads a clock or touches the file system, so
`--dry-run` prints exactly what a run would execute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from replay._adapters import get_adapter
from replay._artifacts import safe_component
from replay._chain import needs_rerun, rerun_tests
from replay._config import Config
from replay._errors import ConfigError
from replay._models import (
    Granularity,
    Job,
    Plan,
    RetryPolicy,
    Shard,
    Suite,
    Summary,
    TargetResult,
)


@attrs.frozen
class Options:
    """Everything from the command line that shapes a plan."""

    profile: str | None = None
    suites: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    parallelism: int | None = None
    timeout: float | None = None
    env: dict[str, str] = attrs.field(factory=dict)
    debug: bool = False
    exec_prefix: tuple[str, ...] | None = None
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


def suite_job(
    suite: Suite, config: Config, options: Options, *, job_id: str, tests: tuple[str, ...] = ()
) -> Job:
    """The job that runs `suite` (only `tests` of it, when given and the adapter can)."""
    argv = suite.command
    if tests:
        targeted = get_adapter(suite.adapter).targeted(argv, tests)
        if targeted is None:
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
    )


def _plan(config: Config, options: Options, jobs: Sequence[Job], **fields: object) -> Plan:
    return Plan(
        jobs=tuple(jobs),
        parallelism=options.parallelism or config.parallelism,
        fail_fast=options.fail_fast,
        max_failures=options.max_failures,
        retry=options.retry,
        profile=options.profile,
        fail_on_flaky=options.fail_on_flaky,
        policy_failures=options.policy_failures,
        root=config.root,
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


def _recorded_suite(target: TargetResult, config: Config) -> Suite:
    return Suite(
        name=target.name,
        command=target.argv,
        kind=target.kind,
        adapter=target.adapter,
        env=target.env,
        cwd=target.cwd or config.root,
        junit_path=target.junit_path,
        timeout=target.timeout,
    )


def rerun_plan(summary: Summary, config: Config, options: Options, *, summary_path: str) -> Plan:
    """The plan that reruns what `summary` left outstanding, carrying the rest forward.

    A suite still in `config` runs as the config now defines it; otherwise as
    recorded. What runs is the chain core's answer (`replay._chain.rerun_tests`):
    the failed tests where the adapter can target them (unless
    `options.granularity` is `suite`), else the whole suite.
    """
    taken: set[str] = set()
    jobs = []
    carried = []
    selected = set(options.suites)
    for target in summary.targets:
        wanted = needs_rerun(target, fail_on_flaky=options.fail_on_flaky) and (
            not selected or target.name in selected
        )
        if options.kinds and target.kind not in options.kinds:
            wanted = False
        if not wanted:
            carried.append(target)
            continue
        suite = config.suite(target.name) or _recorded_suite(target, config)
        tests = rerun_tests(target) if options.granularity is Granularity.TEST else ()
        jobs.append(
            suite_job(suite, config, options, job_id=_unique_id(target.name, taken), tests=tests)
        )
    return _plan(
        config,
        options,
        jobs,
        shard=summary.shard,
        rerun_from=summary_path,
        parent_run_id=summary.run_id,
        carried=tuple(carried),
    )
