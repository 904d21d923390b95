"""Issue 17's controls: groups and weights, slow jobs, leaks, setup/teardown, `--no-tests`.

Real child processes where the point is what processes do (they record their own
start and end times, so a group's limit is shown without asserting on wall-clock
durations); the executor's spawn seam where the point is a rule.
"""

from __future__ import annotations

import io
import itertools
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import anyio
import attrs
import orjson
import pytest
from _support import config_toml, spawn

from replay._cli._progress import Progress
from replay._cli._report import run_report
from replay._core.planning import Options, build_plan, stress_plan, stressed_target, with_overrides
from replay._core.redact import Redactor
from replay._exec.executor import Executor, _Capacity, judged
from replay._exec.run import RunOptions, RunResult, Seams, run_with
from replay._inputs.config import load_config
from replay._model.config import Override
from replay._model.errors import ConfigError, InvalidValue
from replay._model.models import Attempt, Job, Plan, Suite, TargetStatus, TestResult, TestStatus
from replay._model.outcomes import attempt_status

BACKENDS = ["asyncio", "trio"]


def job(name: str, *argv: str, **fields: object) -> Job:
    """A generic job running `argv`."""
    return Job(id=name, target=name, kind="unit", adapter="generic", argv=argv, **fields)  # type: ignore[arg-type]


def execute(tmp_path: Path, backend: str, plan: Plan) -> RunResult:
    """Run `plan` in `tmp_path/run`, without signal handling or tool probing."""
    options = RunOptions(handle_signals=False, collect_environment=False)
    return run_with(plan, tmp_path / "run", options, Seams(kill_grace=0.5), backend=backend)


def events(result: RunResult) -> list[dict[str, object]]:
    """The run's events.jsonl."""
    lines = (result.run_dir / "events.jsonl").read_bytes().splitlines()
    return [orjson.loads(line) for line in lines]


def by_name(result: RunResult) -> dict[str, str]:
    """Target name -> status value."""
    return {t.name: t.status.value for t in result.summary.targets}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each process test runs on asyncio and on trio."""
    return str(request.param)


def recorder(times: Path, name: str, hold: str = "0.1") -> tuple[str, ...]:
    """A job that records its own start and end (ns since the epoch) in `times/name`."""
    script = f"date +%s%N > {times}/{name}.start; sleep {hold}; date +%s%N > {times}/{name}.end"
    return ("sh", "-c", script)


WAIT_FOR = (
    "touch {d}/{me}; i=0; "
    "while [ ! -e {d}/{other} ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done; "
    "[ -e {d}/{other} ]"
)
"""Shell: mark `me` as started, then wait (at most ~5 s) for `other`; fail if it never came."""


def spans(times: Path, names: Sequence[str]) -> list[tuple[int, int]]:
    """The recorded (start, end) of each job, sorted by start."""
    read = [
        (int((times / f"{n}.start").read_text()), int((times / f"{n}.end").read_text()))
        for n in names
    ]
    return sorted(read)


def overlapping(intervals: Sequence[tuple[int, int]]) -> bool:
    """Whether any two of the sorted intervals overlap."""
    return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(intervals))


# --- groups and weights ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_groups_limit_holds_while_other_jobs_run(tmp_path: Path, backend: str) -> None:
    """`db = { max = 1 }`: the group's jobs never overlap; a later job outside it runs meanwhile.

    db1 waits for `free` to have started: had the group's waiting jobs held up the
    line, `free` would start only after db1, which would fail.
    """
    db1 = job(
        "db1",
        "sh",
        "-c",
        WAIT_FOR.format(d=tmp_path, me="db1", other="free") + f"; touch {tmp_path}/db1.end",
        group="db",
    )
    recorded = [job(n, *recorder(tmp_path, n), group="db") for n in ("db2", "db3")]
    free = job("free", "touch", str(tmp_path / "free"))
    plan = Plan(jobs=(db1, *recorded, free), parallelism=4, groups={"db": 1})
    result = execute(tmp_path, backend, plan)
    assert {"db1": "passed", "db2": "passed", "db3": "passed", "free": "passed"} == by_name(result)
    db1_end = (tmp_path / "db1.end").stat().st_mtime_ns
    assert not overlapping(spans(tmp_path, ["db2", "db3"]))
    assert all(start >= db1_end for start, _ in spans(tmp_path, ["db2", "db3"]))


@pytest.mark.slow
def test_a_group_of_two_lets_two_jobs_meet(tmp_path: Path, backend: str) -> None:
    """The control of the test above: jobs that wait for each other meet when the limit is 2."""
    a = job("a", "sh", "-c", WAIT_FOR.format(d=tmp_path, me="a", other="b"), group="db")
    b = job("b", "sh", "-c", WAIT_FOR.format(d=tmp_path, me="b", other="a"), group="db")
    assert {"a": "passed", "b": "passed"} == by_name(
        execute(tmp_path, backend, Plan(jobs=(a, b), parallelism=2, groups={"db": 2}))
    )


@pytest.mark.slow
def test_a_weight_counts_against_parallelism(tmp_path: Path, backend: str) -> None:
    """`weight = 2` with `-j 2`: the heavy job runs alone; the light ones then run together."""
    heavy = job("heavy", *recorder(tmp_path, "heavy", "0.2"), weight=2)
    light = [
        job(
            me,
            "sh",
            "-c",
            f"date +%s%N > {tmp_path}/{me}.start; "
            + WAIT_FOR.format(d=tmp_path, me=me, other=other)
            + f"; date +%s%N > {tmp_path}/{me}.end",
        )
        for me, other in (("l1", "l2"), ("l2", "l1"))
    ]
    result = execute(tmp_path, backend, Plan(jobs=(heavy, *light), parallelism=2))
    assert {"heavy": "passed", "l1": "passed", "l2": "passed"} == by_name(result)
    (h_start, h_end) = spans(tmp_path, ["heavy"])[0]
    assert all(s >= h_end or e <= h_start for s, e in spans(tmp_path, ["l1", "l2"]))


def test_capacity_lets_a_job_pass_one_held_by_its_group_but_not_one_held_by_weight() -> None:
    """Plan order, except that a job waiting for its group does not hold up the line."""
    capacity = _Capacity(2, {"db": 1})
    db1, db2 = job("db1", "true", group="db"), job("db2", "true", group="db")
    other, heavy = job("other", "true"), job("heavy", "true", weight=5)
    capacity.take(db1)
    assert 1 == capacity.next_job([db2, other])
    capacity.take(other)
    assert capacity.next_job([db2, heavy]) is None  # db full, heavy needs both slots
    capacity.give(other)
    capacity.give(db1)
    assert (0, 2) == (capacity.next_job([db2, heavy]), capacity.weight(heavy))
    capacity.take(db2)
    assert capacity.next_job([heavy, other]) is None  # heavy waits for both: `other` waits too


# --- --no-tests -----------------------------------------------------------------------------

NO_TESTS_RULES = pytest.mark.parametrize(
    ("rule", "expected", "warned"),
    [("fail", "failed", False), ("warn", "passed", True), ("pass", "passed", False)],
)
"""Each `--no-tests` rule: the status it gives a suite that ran no test, whether it warns."""


@NO_TESTS_RULES
def test_no_tests_decides_what_an_empty_suite_counts_as(
    tmp_path: Path, rule: str, expected: str, warned: bool
) -> None:
    """A test-aware suite that exits 0 having run no test: failed by default, as nextest."""
    empty = attrs.evolve(job("empty", "true"), adapter="pytest")
    result = execute(tmp_path, "asyncio", Plan(jobs=(empty,), no_tests=rule))
    target = result.summary.targets[0]
    assert expected == target.status.value
    assert warned == any(e["event"] == "warning" for e in events(result))
    assert (rule == "fail") == ("no tests ran" in (target.attempts[-1].failed_by or ""))
    assert (rule == "fail") == (result.summary.status.value == "failed")


@pytest.mark.slow
@NO_TESTS_RULES
def test_no_tests_applies_to_pytest_exiting_5_for_no_tests(
    tmp_path: Path, rule: str, expected: str, warned: bool
) -> None:
    """A real pytest whose `-k` matches nothing exits 5: `--no-tests` decides, exit code kept."""
    (tmp_path / "test_one.py").write_text("def test_one():\n    pass\n")
    argv = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "nomatch")
    empty = attrs.evolve(job("empty", *argv, "test_one.py", cwd=str(tmp_path)), adapter="pytest")
    result = execute(tmp_path, "asyncio", Plan(jobs=(empty,), no_tests=rule))
    target = result.summary.targets[0]
    last = target.attempts[-1]
    assert (expected, 5) == (target.status.value, last.exit_code)
    assert warned == any(e["event"] == "warning" for e in events(result))
    assert (rule == "fail") == ("no tests ran" in (last.failed_by or ""))
    assert (rule != "fail") == (f"(--no-tests {rule})" in (last.passed_by or ""))


def test_no_tests_spares_generic_suites_targeted_runs_and_failures() -> None:
    """Only a whole-suite, test-aware attempt that passed is judged; a leak fails on request."""
    passed, failed = Attempt(number=1, exit_code=0), Attempt(number=1, exit_code=1)
    pytest_job = attrs.evolve(job("p", "true"), adapter="pytest")
    one_test = attrs.evolve(passed, tests=(TestResult("t", TestStatus.PASSED),))
    assert (passed, None) == judged(job("g", "true"), passed, "fail")
    assert (failed, None) == judged(pytest_job, failed, "fail")
    assert (one_test, None) == judged(pytest_job, one_test, "fail")
    assert (passed, None) == judged(attrs.evolve(pytest_job, tests=("t",)), passed, "fail")
    leaky = attrs.evolve(passed, leaked=True)
    assert (leaky, None) == judged(job("g", "true"), leaky, "fail")
    failing, _ = judged(job("g", "true", leak_fail=True), leaky, "fail")
    assert "leaked" in (failing.failed_by or "")


@pytest.mark.parametrize("rule", ["pass", "warn", "fail"])
@pytest.mark.parametrize("exit_code", [0, 5])
def test_a_retry_that_sees_no_test_where_an_earlier_attempt_did_fails(
    rule: str, exit_code: int
) -> None:
    """Whatever `--no-tests` says: an empty retry cannot show that the earlier failure passes."""
    first = Attempt(number=1, exit_code=1, tests=(TestResult("t", TestStatus.FAILED),))
    retry = Attempt(number=2, exit_code=exit_code)
    pytest_job = attrs.evolve(job("p", "true"), adapter="pytest")
    judged_retry, warning = judged(pytest_job, retry, rule, (first,))
    assert (TargetStatus.FAILED, None) == (attempt_status(judged_retry), warning)
    assert "where attempt 1 saw 1" in (judged_retry.failed_by or "")
    assert judged_retry.passed_by is None


def test_a_bad_no_tests_rule_is_refused() -> None:
    """The plan refuses a rule it does not know, naming the field."""
    with pytest.raises(InvalidValue, match="no_tests"):
        Plan(jobs=(), no_tests="maybe")


# --- slow jobs ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_slow_job_is_reported_each_period(tmp_path: Path, backend: str) -> None:
    """Past its slow period a job is `slow` in events.jsonl and on its attempt, and passes."""
    slow = job("slow", "sleep", "0.5", slow=0.1)
    result = execute(tmp_path, backend, Plan(jobs=(slow, job("quick", "true", slow=5.0))))
    reported = [e for e in events(result) if e["event"] == "slow"]
    assert {"slow": "passed", "quick": "passed"} == by_name(result)
    assert 2 <= len(reported)
    assert {"slow"} == {e["job"] for e in reported}
    assert [True, False] == [t.attempts[-1].slow for t in result.summary.targets]


@pytest.mark.slow
def test_terminate_after_stops_a_slow_job_as_timed_out(tmp_path: Path, backend: str) -> None:
    """`terminate_after = 2`: stopped after two slow periods, recorded `timed_out`."""
    stuck = job("stuck", "sleep", "30", slow=0.2, terminate_after=2)
    result = execute(tmp_path, backend, Plan(jobs=(stuck,)))
    target = result.summary.targets[0]
    assert TargetStatus.TIMED_OUT is target.status
    assert "terminate_after = 2" in (target.attempts[-1].error or "")
    assert 2 == sum(1 for e in events(result) if e["event"] == "slow")


# --- leaks ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("leak_fail", "expected"), [(False, "passed"), (True, "failed")])
def test_a_leak_is_marked_and_fails_only_when_asked(
    tmp_path: Path, backend: str, leak_fail: bool, expected: str
) -> None:
    """A descendant still running a leak timeout after the exit: LEAK, or LEAK-FAIL."""
    leaky = job("leaky", "sh", "-c", "sleep 30 & exit 0", leak_timeout=0.1, leak_fail=leak_fail)
    result = execute(tmp_path, backend, Plan(jobs=(leaky,)))
    target = result.summary.targets[0]
    assert (expected, True) == (target.status.value, target.attempts[-1].leaked)


def test_a_descendant_that_ends_within_the_leak_timeout_is_no_leak(
    tmp_path: Path, backend: str
) -> None:
    """A short-lived background process, done before the leak timeout: not leaky."""
    brief = job("brief", "sh", "-c", "sleep 0.1 & exit 0", leak_timeout=5.0, leak_fail=True)
    target = execute(tmp_path, backend, Plan(jobs=(brief,))).summary.targets[0]
    assert ("passed", False) == (target.status.value, target.attempts[-1].leaked)


# --- setup and teardown, from a config ------------------------------------------------------


def write_config(tmp_path: Path, *, setup_exit: int = 0, body: str = "true") -> Path:
    """A config of one setup, one teardown, two suites that need the setup, one that does not."""
    d = tmp_path
    build = sh(f"echo built >> {d}/setup.log; exit {setup_exit}")
    path = tmp_path / "replay.toml"
    path.write_text(
        config_toml(
            {"parallelism": 2},
            setup=[{"name": "build", "command": build}],
            teardown=[{"name": "stop-db", "command": sh(f"echo down >> {d}/teardown.log")}],
            suites=[
                {"name": "e2e_a", "command": sh(f"touch {d}/started; {body}"), "setup": ["build"]},
                {"name": "e2e_b", "command": ["true"], "setup": ["build"]},
                {"name": "unit", "command": ["true"]},
            ],
        )
    )
    return path


def sh(script: str) -> list[str]:
    """The argv that runs `script` in sh."""
    return ["sh", "-c", script]


def test_setup_runs_once_before_its_suites_and_teardown_at_the_end(
    tmp_path: Path, backend: str
) -> None:
    """Both e2e suites name `build`: it runs once; teardown runs once after the suites."""
    plan = build_plan(load_config(write_config(tmp_path)), Options())
    result = execute(tmp_path, backend, plan)
    assert {"e2e_a": "passed", "e2e_b": "passed", "unit": "passed"} == by_name(result)
    assert ("built\n", "down\n") == (
        (tmp_path / "setup.log").read_text(),
        (tmp_path / "teardown.log").read_text(),
    )
    kinds = [e["event"] for e in events(result)]
    assert kinds.index("setup_finished") < kinds.index("job_finished")
    assert kinds.index("teardown_finished") > max(
        i for i, k in enumerate(kinds) if k == "job_finished"
    )


def test_a_failed_setup_leaves_its_suites_not_run_and_fails_the_run(
    tmp_path: Path, backend: str
) -> None:
    """`build` exits 3: e2e_a and e2e_b are `not_run` with the reason; unit runs; run fails."""
    plan = build_plan(load_config(write_config(tmp_path, setup_exit=3)), Options())
    result = execute(tmp_path, backend, plan)
    assert {"e2e_a": "not_run", "e2e_b": "not_run", "unit": "passed"} == by_name(result)
    e2e_a = result.summary.targets[0]
    assert "setup 'build' failed: exit code 3" == e2e_a.attempts[-1].not_run
    assert not (tmp_path / "started").exists()
    assert "failed" == result.summary.status.value
    assert "down\n" == (tmp_path / "teardown.log").read_text()


def test_only_the_setups_of_selected_suites_are_planned(tmp_path: Path) -> None:
    """`--suite unit` needs no setup: none is planned; the teardown still is."""
    config = load_config(write_config(tmp_path))
    plan = build_plan(config, Options(suites=("unit",)))
    assert ((), ("stop-db",)) == (plan.setup, tuple(j.target for j in plan.teardown))
    assert ("build",) == tuple(j.target for j in build_plan(config, Options()).setup)


@pytest.mark.slow
def test_teardown_runs_after_ctrl_c(tmp_path: Path) -> None:
    """SIGINT mid-run: exit 130, and the teardown job still ran."""
    write_config(tmp_path, body="sleep 30")
    process = spawn(tmp_path, "run", "--out", "run", "--kill-grace", "0.5")
    deadline = time.monotonic() + 20
    while not (tmp_path / "started").exists():
        assert time.monotonic() < deadline, "the suite never started"
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert 130 == process.returncode, stderr.decode()
    assert "down\n" == (tmp_path / "teardown.log").read_text()


def test_teardown_runs_when_the_executor_is_cancelled(tmp_path: Path) -> None:
    """A cancelled run (the library's Ctrl-C) still runs its teardown, through the spawn seam."""
    ran: list[str] = []

    async def spawn(j: Job, number: int, earlier: Sequence[Attempt]) -> Attempt:
        ran.append(j.target)
        if j.target == "hang":
            await anyio.sleep(30)
        return Attempt(number=number, exit_code=0)

    teardown = attrs.evolve(job("teardown-down", "true"), target="down", kind="teardown")
    plan = Plan(jobs=(job("hang", "x"),), teardown=(teardown,))
    executor = Executor(plan, tmp_path, spawn=spawn)

    async def main() -> None:
        with anyio.move_on_after(0.2):
            await executor.run()

    anyio.run(main)
    assert (["hang", "down"], True) == (ran, executor.interrupted)


# --- per-job retries and overrides ----------------------------------------------------------


def test_a_jobs_own_retries_beat_the_plans(tmp_path: Path) -> None:
    """`retries = 2` on the job (from an override) while the plan retries nothing: 3 attempts."""
    count: list[int] = []

    async def spawn(j: Job, number: int, earlier: Sequence[Attempt]) -> Attempt:
        count.append(number)
        return Attempt(number=number, exit_code=1)

    async def no_sleep(seconds: float) -> None:
        return None

    plan = Plan(jobs=(job("j", "x", retries=2),))
    anyio.run(Executor(plan, tmp_path, spawn=spawn, sleep=no_sleep).run)
    assert [1, 2, 3] == count


def test_overrides_fill_what_a_suite_leaves_unset_first_match_first() -> None:
    """By name or kind glob; the suite's own setting wins; the first matching override next."""
    suite = Suite(name="e2e_db", command=("true",), kind="e2e", slow=60.0)
    overrides = (
        Override(match="unit_*", retries=9),
        Override(match="e2e_*", retries=2, slow=1.0, group="db"),
        Override(match="e2e", retries=5, timeout=600.0, weight=2),
    )
    got = with_overrides(suite, overrides)
    assert (2, 60.0, "db", 600.0, 2) == (got.retries, got.slow, got.group, got.timeout, got.weight)
    assert suite is with_overrides(suite, (Override(match="other"),))


ISSUE_CONFIG = """\
[replay.groups]
db = { max = 1 }

[[replay.setup]]
name = "build"
command = ["cargo", "build", "--tests"]

[[replay.teardown]]
name = "stop-db"
command = ["sh", "-c", "docker compose down"]

[[replay.suites]]
name = "e2e_db"
command = ["cargo", "test", "--test", "e2e_db"]
group = "db"
weight = 2
slow = "60s"
terminate_after = 3
leak_timeout = "100ms"
setup = ["build"]

[[replay.overrides]]
match = "e2e_*"
retries = 2
timeout = "10m"
"""


def test_the_issues_config_plans_every_control(tmp_path: Path) -> None:
    """The example of issue 17 loads, and its plan carries every control to the job."""
    (tmp_path / "replay.toml").write_text(ISSUE_CONFIG)
    plan = build_plan(load_config(tmp_path / "replay.toml"), Options(parallelism=4))
    (j,) = plan.jobs
    assert ("db", 2, 60.0, 3, 0.1, ("build",), 2, 600.0) == (
        j.group,
        j.weight,
        j.slow,
        j.terminate_after,
        j.leak_timeout,
        j.setup,
        j.retries,
        j.timeout,
    )
    assert ({"db": 1}, "fail", ("build",), ("stop-db",)) == (
        plan.groups,
        plan.no_tests,
        tuple(s.target for s in plan.setup),
        tuple(t.target for t in plan.teardown),
    )


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (('group = "db"', 'group = "nope"'), "replay.suites[0].group: unknown group 'nope'"),
        (('setup = ["build"]', 'setup = ["nope"]'), "replay.suites[0].setup: unknown setup"),
        (("weight = 2", "weight = 0"), "weight"),
        (("terminate_after = 3", "terminate_after = -1"), "terminate_after"),
        (('slow = "60s"', 'slow = "soon"'), "replay.suites[0].slow"),
        (("db = { max = 1 }", "db = { max = 0 }"), "max"),
        (('match = "e2e_*"', 'match = ""'), "match"),
        (("[replay.groups]", '[replay]\nno_tests = "maybe"\n[replay.groups]'), "no_tests"),
    ],
)
def test_bad_controls_are_one_clear_config_error(
    tmp_path: Path, edit: tuple[str, str], field: str
) -> None:
    """Each mistake names the file and the field."""
    path = tmp_path / "replay.toml"
    path.write_text(ISSUE_CONFIG.replace(*edit))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value)
    assert field in str(caught.value)


# --- stress ---------------------------------------------------------------------------------


def test_a_stress_plan_repeats_the_selection_round_by_round() -> None:
    """Round 1 of every job, then round 2...; each run its own record, `T@i`."""
    plan = stress_plan(Plan(jobs=(job("a", "true"), job("b", "true"))), 2)
    assert ["a@1", "b@1", "a@2", "b@2"] == [j.target for j in plan.jobs]
    assert ["a-stress1", "b-stress1", "a-stress2", "b-stress2"] == [j.id for j in plan.jobs]
    assert ("a", 2) == stressed_target("a@2")


STRESS_CONFIG = """\
[[replay.suites]]
name = "flip"
command = ["sh", "{d}/flip.sh"]

[[replay.suites]]
name = "steady"
command = ["true"]
"""


def test_stress_gives_each_target_the_flake_verdict(tmp_path: Path) -> None:
    """`replay run --stress 4 -j 1`: the flip-flopping suite is flaky, the run fails (exit 1)."""
    (tmp_path / "replay.toml").write_text(STRESS_CONFIG.format(d=tmp_path))
    (tmp_path / "flip.sh").write_text(
        f"n=$(cat {tmp_path}/count 2>/dev/null || echo 0)\n"
        f"echo $((n+1)) > {tmp_path}/count\n"
        "[ $((n % 2)) -eq 0 ]\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "replay", "run", "--out", "run", "--stress", "4", "-j", "1"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        timeout=60,
    )
    report = orjson.loads((tmp_path / "run/stress_report.json").read_bytes())
    verdicts = {t["target"]: (t["verdict"], t["passed"], t["runs"]) for t in report["targets"]}
    assert 1 == done.returncode, done.stderr.decode()
    assert {"flip": ("flaky", 2, 4), "steady": ("inconclusive", 4, 4)} == verdicts
    assert b"stress: flip: flaky" in done.stderr


# --- what a person sees ---------------------------------------------------------------------


def test_the_live_display_says_slow_and_warns() -> None:
    """`SLOW` and `WARN` lines while the run goes on (not only at its end)."""
    stream = io.StringIO()
    progress = Progress(1, stream=stream, live=False)
    progress.job_slow(job("e2e", "true"), 1, 60.0)
    progress.warning(job("e2e", "true"), "no tests ran")
    assert [
        "SLOW      e2e  60.00s",
        "WARN      e2e  no tests ran",
    ] == stream.getvalue().splitlines()


@pytest.mark.slow
def test_the_end_of_run_table_lists_slow_and_leaky_targets(tmp_path: Path) -> None:
    """SLOW for a slow target, LEAK or LEAK-FAIL for a leaky one (as nextest prints them)."""
    plan = Plan(
        jobs=(
            job("slow", "sleep", "0.3", slow=0.1),
            job("leak", "sh", "-c", "sleep 30 & exit 0", leak_timeout=0.05),
            job("fail", "sh", "-c", "sleep 30 & exit 0", leak_timeout=0.05, leak_fail=True),
        )
    )
    rows = run_report(execute(tmp_path, "asyncio", plan), Redactor.from_environments({}))
    assert ["SLOW slow", "LEAK leak", "LEAK-FAIL fail"] == [
        " ".join(line.split()[:2]) for line in rows.marked
    ]
