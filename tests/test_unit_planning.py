"""Planning's edges (`_core.planning`), beside the behaviour tests of test_planning.py.

Each rule one at a time: error messages, argv limits, overrides, controls (setup, teardown,
groups, `--no-tests`), reruns of recorded suites, masked variables, stress plans.
"""

from __future__ import annotations

import os

import attrs
import pytest
from _support import make_summary, make_target, make_test

from replay._core import planning
from replay._core.planning import (
    MAX_ARG_BYTES,
    POSIX_ARG_MAX,
    SHOWN_NAMES,
    Options,
    build_plan,
    fits_command_line,
    masked_env_notes,
    overrides_for,
    plan_document,
    recorded_env,
    rerun_plan,
    select_suites,
    stress_plan,
    stressed_target,
    suite_job,
    with_overrides,
)
from replay._core.redact import REDACTED
from replay._model.config import Config, Override, Profile
from replay._model.errors import ConfigError, InputError
from replay._model.models import (
    Granularity,
    Plan,
    RetryPolicy,
    Shard,
    Suite,
    TargetResult,
    TargetStatus,
    TestStatus,
)

F = TestStatus.FAILED


def suite(name: str, *command: str, **fields: object) -> Suite:
    return Suite(name, command or ("true",), **fields)  # type: ignore[arg-type]


CONFIG = Config(
    root="/project",
    suites=(
        suite("a", "pytest", kind="unit", adapter="pytest"),
        suite("b", "./b.sh", kind="e2e"),
    ),
)


# --- selection ------------------------------------------------------------------------------


def test_unknown_profile_lists_the_profiles_sorted() -> None:
    config = attrs.evolve(CONFIG, profiles={"z": Profile(), "m": Profile()})
    with pytest.raises(ConfigError, match=r"^unknown profile 'x'; profiles in the config: m, z$"):
        select_suites(config, Options(profile="x"))
    with pytest.raises(ConfigError, match=r"profiles in the config: none defined$"):
        select_suites(CONFIG, Options(profile="x"))


def test_unknown_suite_names_the_first_unknown_and_the_suites() -> None:
    with pytest.raises(ConfigError, match=r"^unknown suite 'x'; suites in the config: a, b$"):
        select_suites(CONFIG, Options(suites=("a", "x", "y")))
    with pytest.raises(ConfigError, match=r"suites in the config: none$"):
        select_suites(Config(root="/"), Options(suites=("x",)))


def test_a_profile_with_both_kinds_and_suites_applies_both() -> None:
    config = attrs.evolve(CONFIG, profiles={"p": Profile(kinds=("unit", "e2e"), suites=("b",))})
    assert ["b"] == [s.name for s in select_suites(config, Options(profile="p"))]
    empty = attrs.evolve(CONFIG, profiles={"all": Profile()})
    assert ["a", "b"] == [s.name for s in select_suites(empty, Options(profile="all"))]


# --- jobs -----------------------------------------------------------------------------------


def test_env_debug_only_when_asked_and_cli_last() -> None:
    config = attrs.evolve(CONFIG, env={"A": "config"}, debug_env={"D": "1", "A": "debug"})
    (job, _) = build_plan(config, Options(env={"E": "cli"})).jobs
    assert {"A": "config", "E": "cli"} == job.env
    (job, _) = build_plan(config, Options(debug=True, env={"D": "cli"})).jobs
    assert {"A": "debug", "D": "cli"} == job.env


def test_exec_prefix_from_the_cli_replaces_the_config_one() -> None:
    config = attrs.evolve(CONFIG, exec_prefix=("nice",))
    assert ("nice", "pytest") == build_plan(config, Options()).jobs[0].argv
    assert ("pytest",) == build_plan(config, Options(exec_prefix=())).jobs[0].argv
    assert ("env", "pytest") == build_plan(config, Options(exec_prefix=("env",))).jobs[0].argv


def test_job_fields_come_from_the_suite() -> None:
    rich = suite(
        "r",
        "cargo",
        "test",
        kind="unit",
        adapter="cargo",
        serial=True,
        junit_path="out.xml",
        retries=2,
        slow=5.0,
        terminate_after=3,
        leak_timeout=1.5,
        leak_fail=True,
        group="db",
        weight=4,
        setup=("s",),
        cwd="/project/sub",
    )
    options = Options(quarantined=frozenset({"r"}))
    job = suite_job(rich, CONFIG, options, job_id="r-1")
    assert ("r-1", "r", "unit", "cargo") == (job.id, job.target, job.kind, job.adapter)
    assert ("cargo", "test") == job.suite_command
    assert "/project/sub" == job.cwd
    assert job.serial
    assert job.quarantined
    assert job.leak_fail
    assert ("out.xml", 2, 5.0, 3, 1.5) == (
        job.junit_path,
        job.retries,
        job.slow,
        job.terminate_after,
        job.leak_timeout,
    )
    assert ("db", 4, ("s",)) == (job.group, job.weight, job.setup)
    plain = suite_job(suite("p"), CONFIG, Options(), job_id="p")
    assert (False, False, 1, None) == (
        plain.quarantined,
        plain.leak_fail,
        plain.weight,
        plain.group,
    )


def test_targeted_tests_when_the_adapter_can() -> None:
    job = suite_job(CONFIG.suites[0], CONFIG, Options(), job_id="a", tests=("t::x",))
    assert ("pytest", "t::x") == job.argv
    assert ("t::x",) == job.tests
    generic = suite_job(CONFIG.suites[1], CONFIG, Options(), job_id="b", tests=("t::x",))
    assert ("./b.sh",) == generic.argv
    assert () == generic.tests


def test_a_targeted_argv_too_long_runs_the_whole_suite() -> None:
    for tests in (("x" * MAX_ARG_BYTES,), ("t::a", "t::\0")):
        job = suite_job(CONFIG.suites[0], CONFIG, Options(), job_id="a", tests=tests)
        assert ("pytest",) == job.argv
        assert () == job.tests


@pytest.mark.parametrize(
    ("argv", "fits"),
    [
        ((), True),
        (("a",), True),
        (("x" * (MAX_ARG_BYTES - 1),), True),
        (("x" * MAX_ARG_BYTES,), False),
        (("é" * (MAX_ARG_BYTES // 2),), True),
        (("é" * (MAX_ARG_BYTES // 2 + 1),), False),
        (("a\0b",), False),
        (("ok", "\0"), False),
    ],
)
def test_fits_command_line(argv: tuple[str, ...], fits: bool) -> None:
    """Each argument counts its UTF-8 bytes and a NUL; none may reach `MAX_ARG_BYTES`."""
    assert fits is fits_command_line(argv)


def test_the_argv_budget_counts_bytes_nul_and_pointer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two arguments of 10 bytes cost 2 * (10 + 1 + 8) = 38."""
    monkeypatch.setattr(planning, "ARGV_BUDGET", 38)
    assert fits_command_line(("x" * 10, "y" * 10))
    assert not fits_command_line(("x" * 11, "y" * 10))
    monkeypatch.setattr(planning, "ARGV_BUDGET", 19)
    assert fits_command_line(("é" * 5,))
    assert not fits_command_line(("é" * 5 + "x",))


def test_system_arg_max_falls_back_to_posix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sysconf", lambda name: 2_097_152)
    assert 2_097_152 == planning._system_arg_max()
    monkeypatch.setattr(os, "sysconf", lambda name: -1)
    assert POSIX_ARG_MAX == planning._system_arg_max()
    monkeypatch.setattr(os, "sysconf", lambda name: 0)
    assert POSIX_ARG_MAX == planning._system_arg_max()

    def missing(name: str) -> int:
        raise ValueError(name)

    monkeypatch.setattr(os, "sysconf", missing)
    assert POSIX_ARG_MAX == planning._system_arg_max()


def test_timeout_precedence() -> None:
    config = attrs.evolve(CONFIG, timeout=600.0, suites=(suite("a", timeout=60.0), suite("b")))
    assert [60.0, 600.0] == [j.timeout for j in build_plan(config, Options()).jobs]
    assert [5.0, 5.0] == [j.timeout for j in build_plan(config, Options(timeout=5.0)).jobs]


def test_job_ids_repeat_with_a_counter() -> None:
    config = attrs.evolve(CONFIG, suites=(suite("a"), suite("a-2")))
    taken = {"a"}
    assert "a-2" == planning._unique_id("a", taken)
    assert "a-3" == planning._unique_id("a", taken)
    assert {"a", "a-2", "a-3"} == taken
    assert ["a", "a-2"] == [j.id for j in build_plan(config, Options()).jobs]


# --- overrides ------------------------------------------------------------------------------


def test_overrides_match_name_or_kind_in_config_order() -> None:
    by_name, by_kind, other = Override("a*"), Override("unit"), Override("zzz")
    assert (by_name, by_kind) == overrides_for(CONFIG.suites[0], (by_name, other, by_kind))
    assert () == overrides_for(CONFIG.suites[1], (by_name, by_kind))


def test_the_suite_wins_then_the_first_matching_override() -> None:
    base = suite("e2e_x", kind="e2e", retries=1)
    overrides = (
        Override("e2e_*", retries=5, timeout=30.0),
        Override("e2e", timeout=99.0, group="db", weight=2),
        Override("nope", slow=1.0),
    )
    got = with_overrides(base, overrides)
    assert (1, 30.0, "db", 2, None) == (got.retries, got.timeout, got.group, got.weight, got.slow)
    assert base is with_overrides(base, ())
    assert base is with_overrides(base, (Override("e2e_*", retries=3),))


def test_overrides_reach_the_job() -> None:
    config = attrs.evolve(CONFIG, overrides=(Override("b", leak_fail=True, weight=3),))
    job = build_plan(config, Options(suites=("b",))).jobs[0]
    assert (True, 3) == (job.leak_fail, job.weight)


# --- controls -------------------------------------------------------------------------------


def test_controls_setup_only_when_named_teardown_when_jobs_run() -> None:
    config = attrs.evolve(
        CONFIG,
        suites=(suite("a", setup=("db",)), suite("b")),
        setup=(suite("db", timeout=7.0), suite("cache")),
        teardown=(suite("clean"),),
        groups={"g": 2},
        no_tests="warn",
    )
    plan = build_plan(config, Options(timeout=1.0))
    assert ["suite-db"] == [j.id for j in plan.setup]
    assert 7.0 == plan.setup[0].timeout
    assert ["suite-clean"] == [j.id for j in plan.teardown]
    assert plan.teardown[0].timeout is None
    assert {"g": 2} == plan.groups
    assert "warn" == plan.no_tests
    assert "pass" == build_plan(config, Options(no_tests="pass")).no_tests
    assert "fail" == build_plan(CONFIG, Options()).no_tests
    only_b = build_plan(config, Options(suites=("b",)))
    assert () == only_b.setup
    nothing = build_plan(config, Options(kinds=("none",)))
    assert () == nothing.teardown


def test_phase_job_ids_avoid_the_planned_ones() -> None:
    config = attrs.evolve(CONFIG, suites=(suite("suite-db", setup=("db",)),), setup=(suite("db"),))
    plan = build_plan(config, Options())
    assert ["suite-db"] == [j.id for j in plan.jobs]
    assert ["suite-db-2"] == [j.id for j in plan.setup]


def test_plan_fields_come_from_options_and_config() -> None:
    policy = RetryPolicy(retries=2)
    options = Options(
        parallelism=3,
        fail_fast=True,
        max_failures=4,
        retry=policy,
        profile="p",
        fail_on_flaky=True,
        policy_failures=("expired",),
    )
    config = attrs.evolve(CONFIG, parallelism=7, profiles={"p": Profile()})
    shard = Shard(index=1, total=2)
    plan = build_plan(config, options, shard=shard)
    assert (3, True, 4, policy, "p") == (
        plan.parallelism,
        plan.fail_fast,
        plan.max_failures,
        plan.retry,
        plan.profile,
    )
    assert (True, ("expired",), "/project", shard) == (
        plan.fail_on_flaky,
        plan.policy_failures,
        plan.root,
        plan.shard,
    )
    assert 7 == build_plan(config, Options()).parallelism


# --- reruns ---------------------------------------------------------------------------------


def recorded(name: str, **fields: object) -> TargetResult:
    defaults: dict[str, object] = {"kind": "unit", "adapter": "pytest", "argv": ("pytest",)}
    return make_target(name, TargetStatus.FAILED, **{**defaults, **fields})


def test_rerun_of_a_recorded_suite_runs_it_as_recorded() -> None:
    gone = recorded(
        "old",
        env={"A": "1", "S_TOKEN": REDACTED},
        cwd="/elsewhere",
        junit_path="j.xml",
        timeout=9.0,
        tests=(make_test("t::x", F),),
    )
    summary = make_summary(gone, make_target("b", TargetStatus.PASSED))
    plan = rerun_plan(summary, CONFIG, Options(), summary_path="r1/summary.json")
    (job,) = plan.jobs
    assert ("old", ("pytest", "t::x"), ("t::x",)) == (job.target, job.argv, job.tests)
    assert ({"A": "1"}, "/elsewhere", "j.xml", 9.0) == (
        job.env,
        job.cwd,
        job.junit_path,
        job.timeout,
    )
    assert ["b"] == [t.name for t in plan.carried]
    assert ["old"] == [t.name for t in plan.parent]
    assert ("r1/summary.json", "r1") == (plan.rerun_from, plan.parent_run_id)
    suite_wide = rerun_plan(
        summary, CONFIG, Options(granularity=Granularity.SUITE), summary_path="s"
    )
    assert () == suite_wide.jobs[0].tests
    no_cwd = rerun_plan(make_summary(recorded("old")), CONFIG, Options(), summary_path="s")
    assert "/project" == no_cwd.jobs[0].cwd


def test_rerun_filters_by_suite_and_kind_and_flaky() -> None:
    flaky = attrs.evolve(recorded("f"), status=TargetStatus.FLAKY)
    flaky = attrs.evolve(flaky, chain_state=make_target("x", TargetStatus.PASSED).chain_state)
    summary = make_summary(recorded("a"), recorded("b", kind="e2e"), flaky)

    def rerun(**options: object) -> list[str]:
        plan = rerun_plan(summary, CONFIG, Options(**options), summary_path="s")  # type: ignore[arg-type]
        return [j.target for j in plan.jobs]

    assert ["a", "b"] == rerun()
    assert ["b"] == rerun(suites=("b",))
    assert ["a"] == rerun(kinds=("unit",))
    assert ["a", "b", "f"] == rerun(fail_on_flaky=True)


def test_rerun_refuses_a_suite_the_summary_does_not_hold() -> None:
    many = [recorded(f"s{i:02}") for i in range(SHOWN_NAMES + 2)]
    summary = make_summary(*many)
    with pytest.raises(ConfigError) as caught:
        rerun_plan(summary, CONFIG, Options(suites=("s00", "x", "y")), summary_path="r/s.json")
    shown = ", ".join(repr(f"s{i:02}") for i in range(SHOWN_NAMES))
    assert f"unknown suite 'x' for --suite; targets in r/s.json: {shown} and 2 more" == str(
        caught.value
    )
    exact = make_summary(*many[:SHOWN_NAMES])
    with pytest.raises(ConfigError, match=r"'s19'$"):
        rerun_plan(exact, CONFIG, Options(suites=("x",)), summary_path="s")
    with pytest.raises(ConfigError, match=r"targets in s: none$"):
        rerun_plan(make_summary(), CONFIG, Options(suites=("x",)), summary_path="s")


def test_a_bad_recorded_suite_names_the_file_and_field() -> None:
    bad = attrs.evolve(recorded("ok"), argv=())
    summary = make_summary(recorded("fine"), bad)
    with pytest.raises(InputError, match=r"^r/summary\.json: \$\.targets\[1\]\.argv: "):
        rerun_plan(summary, CONFIG, Options(), summary_path="r/summary.json")
    env = attrs.evolve(recorded("ok"), env={"A=B": "1"})
    with pytest.raises(InputError, match=r"\$\.targets\[0\]\.env: "):
        rerun_plan(make_summary(env), CONFIG, Options(), summary_path="r/summary.json")


def test_recorded_env_drops_masked_values() -> None:
    env = {"A": "1", "B": REDACTED, "C": f"x{REDACTED}y"}
    assert {"A": "1"} == recorded_env(env)


def test_masked_env_notes_name_what_a_recorded_job_lacks() -> None:
    target = recorded("old", env={"X_TOKEN": REDACTED, "Y_TOKEN": REDACTED, "Z": "1"})
    current = recorded("a", env={"A_TOKEN": REDACTED})
    summary = make_summary(target, current)
    plan = rerun_plan(summary, CONFIG, Options(env={"Y_TOKEN": "v"}), summary_path="s")
    notes = masked_env_notes(summary, plan, CONFIG, {"OTHER": "1"})
    assert (
        "old: X_TOKEN was masked in the summary and is not set here; the job runs without it",
    ) == notes
    assert () == masked_env_notes(summary, plan, CONFIG, {"X_TOKEN": "v"})


def test_plan_document_names_the_parent_targets() -> None:
    summary = make_summary(recorded("a"))
    document = plan_document(rerun_plan(summary, CONFIG, Options(), summary_path="s"))
    assert ["a"] == document["parent"]
    assert "s" == document["rerun_from"]


# --- stress ---------------------------------------------------------------------------------


def test_stress_plan_runs_each_job_round_by_round() -> None:
    plan = build_plan(CONFIG, Options())
    stressed = stress_plan(attrs.evolve(plan, carried=(recorded("c"),)), 2)
    assert [
        ("a-stress1", "a@1"),
        ("b-stress1", "b@1"),
        ("a-stress2", "a@2"),
        ("b-stress2", "b@2"),
    ] == [(j.id, j.target) for j in stressed.jobs]
    assert () == stressed.carried
    assert isinstance(stressed, Plan)
    assert ("a@b", 12) == stressed_target("a@b@12")
