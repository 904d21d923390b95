"""Planning is pure: selection, env and timeout precedence, reruns and carried targets."""

from __future__ import annotations

import pytest
from _support import make_summary, make_target
from hypothesis import given
from hypothesis import strategies as st

from replay._core.planning import Options, build_plan, rerun_plan, select_suites
from replay._model import models
from replay._model.config import Config, Profile
from replay._model.errors import ConfigError
from replay._model.models import ChainState, Granularity, RunStatus, TargetStatus, TestStatus

CONFIG = Config(
    root="/project",
    timeout=600.0,
    env={"GLOBAL": "1", "SHARED": "config"},
    debug_env={"RUST_LOG": "debug"},
    exec_prefix=("rch", "exec", "--"),
    profiles={"quick": Profile(kinds=("unit",)), "tui": Profile(suites=("e2e_tui",))},
    suites=(
        models.Suite("unit_a", ("cargo", "test", "--test", "unit_a"), kind="unit", adapter="cargo"),
        models.Suite(
            "e2e_tui",
            ("cargo", "test", "--test", "e2e_tui"),
            kind="e2e",
            timeout=60.0,
            env={"SHARED": "suite"},
            adapter="cargo",
        ),
        models.Suite("script", ("./check.sh",), kind="lint", cwd="/project/tools"),
    ),
)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (Options(), ["unit_a", "e2e_tui", "script"]),
        (Options(profile="quick"), ["unit_a"]),
        (Options(profile="tui"), ["e2e_tui"]),
        (Options(suites=("script", "unit_a")), ["unit_a", "script"]),
        (Options(kinds=("e2e", "lint")), ["e2e_tui", "script"]),
        (Options(profile="quick", kinds=("e2e",)), []),
    ],
)
def test_selection(options: Options, expected: list[str]) -> None:
    """Profiles, `--suite` and `--kind` select in config order."""
    assert expected == [s.name for s in select_suites(CONFIG, options)]


def test_env_precedence_and_prefix() -> None:
    """config env < suite env < debug env < `--env`; the exec prefix goes first."""
    plan = build_plan(CONFIG, Options(debug=True, env={"SHARED": "cli"}, suites=("e2e_tui",)))
    (job,) = plan.jobs
    assert {"GLOBAL": "1", "SHARED": "cli", "RUST_LOG": "debug"} == job.env
    assert ("rch", "exec", "--", "cargo", "test", "--test", "e2e_tui") == job.argv
    assert ("cargo", "test", "--test", "e2e_tui") == job.suite_command


@pytest.mark.parametrize(
    ("cli_timeout", "suite", "expected"),
    [(None, "e2e_tui", 60.0), (None, "unit_a", 600.0), (5.0, "e2e_tui", 5.0)],
)
def test_timeout_precedence(cli_timeout: float | None, suite: str, expected: float) -> None:
    """`--timeout` beats the suite's timeout, which beats the global one."""
    plan = build_plan(CONFIG, Options(timeout=cli_timeout, suites=(suite,)))
    assert expected == plan.jobs[0].timeout


def test_cwd_defaults_to_config_root() -> None:
    """A suite without cwd runs in the config's directory."""
    plan = build_plan(CONFIG, Options())
    assert ["/project", "/project", "/project/tools"] == [j.cwd for j in plan.jobs]


def test_unknown_profile() -> None:
    """An unknown profile lists the known ones."""
    with pytest.raises(ConfigError, match="quick, tui"):
        build_plan(CONFIG, Options(profile="nightly"))


def target(name: str, state: ChainState, **fields: object) -> models.TargetResult:
    """A unit target record decided by run `r1`, passed exactly when passing."""
    status = TargetStatus.PASSED if state is ChainState.PASSING else TargetStatus.FAILED
    unit = {"kind": "unit", "argv": ("run", name), "chain_state": state}
    return make_target(name, status, **{**unit, **fields})


def summary(*targets: models.TargetResult) -> models.Summary:
    """A failed summary of run `r1`."""
    return make_summary(*targets, status=RunStatus.FAILED)


def test_rerun_runs_outstanding_and_carries_the_rest() -> None:
    """Outstanding targets become jobs; passing ones are carried unchanged."""
    previous = summary(
        target("ok", ChainState.PASSING),
        target("bad", ChainState.OUTSTANDING, env={"X": "1"}, cwd="/elsewhere"),
    )
    plan = rerun_plan(previous, Config(root="/here"), Options(), summary_path="s.json")
    (job,) = plan.jobs
    assert ("bad", ("run", "bad"), {"X": "1"}, "/elsewhere") == (
        job.target,
        job.argv,
        job.env,
        job.cwd,
    )
    assert (previous.targets[0],) == plan.carried
    assert ("r1", "s.json") == (plan.parent_run_id, plan.rerun_from)


def test_rerun_prefers_the_current_config_definition() -> None:
    """A suite still in the config reruns as the config now defines it."""
    previous = summary(target("unit_a", ChainState.OUTSTANDING, argv=("old", "command")))
    plan = rerun_plan(previous, CONFIG, Options(exec_prefix=()), summary_path="s.json")
    assert ("cargo", "test", "--test", "unit_a") == plan.jobs[0].argv


def test_rerun_targets_failed_tests_where_the_adapter_can() -> None:
    """Failed tests of a cargo suite rerun alone, with `--exact`; `suite` granularity opts out."""
    tests = (
        models.TestResult("a::passes", TestStatus.PASSED),
        models.TestResult("a::fails", TestStatus.FAILED),
        models.TestResult("b; rm -rf /", TestStatus.FAILED),
    )
    previous = summary(
        target(
            "it",
            ChainState.OUTSTANDING,
            adapter="cargo",
            argv=("cargo", "test", "--test", "it", "--", "--nocapture"),
            tests=tests,
        )
    )
    by_test = rerun_plan(previous, Config(root="/"), Options(), summary_path="s")
    (job,) = by_test.jobs
    assert ("a::fails", "b; rm -rf /") == job.tests
    assert "--exact" in job.argv
    assert "b; rm -rf /" in job.argv
    by_suite = rerun_plan(
        previous, Config(root="/"), Options(granularity=Granularity.SUITE), summary_path="s"
    )
    assert () == by_suite.jobs[0].tests
    assert ("cargo", "test", "--test", "it", "--", "--nocapture") == by_suite.jobs[0].argv


@given(st.lists(st.sampled_from(list(ChainState)), max_size=12))
def test_rerun_partitions_targets(states: list[ChainState]) -> None:
    """Every target of the parent is either rerun or carried, never both, never lost."""
    previous = summary(*(target(f"t{i}", s) for i, s in enumerate(states)))
    plan = rerun_plan(previous, Config(root="/"), Options(), summary_path="s")
    rerun = [j.target for j in plan.jobs]
    carried = [t.name for t in plan.carried]
    assert sorted(rerun + carried) == sorted(t.name for t in previous.targets)
    assert [f"t{i}" for i, s in enumerate(states) if s is ChainState.OUTSTANDING] == rerun


def test_job_ids_are_unique_safe_directory_names() -> None:
    """Names with separators or dots become distinct, safe job ids."""
    previous = summary(
        target("../escape", ChainState.OUTSTANDING),
        target("a/b", ChainState.OUTSTANDING),
        target("a_b", ChainState.OUTSTANDING),
    )
    plan = rerun_plan(previous, Config(root="/"), Options(), summary_path="s")
    ids = [j.id for j in plan.jobs]
    assert len(set(ids)) == 3
    assert all("/" not in i and not i.startswith(".") for i in ids)
