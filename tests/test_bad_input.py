"""Bad input, through the CLI and the library: one line naming the file and the field, exit 2.

Every case of issue 12's "Bad input" list: unwritable output locations, NUL bytes and
`KEY=` names in configs, summaries and verdicts, numbers no run can use, hostile TOML.
Nothing already written may be lost, and no traceback may reach stderr.
"""

from __future__ import annotations

import errno
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from _support import replay, target_document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import replay as api
from replay._core.planning import Options, build_plan, rerun_plan
from replay._inputs.config import load_config
from replay._inputs.readers import parse_summary
from replay._model.errors import ConfigError, InputError, InvalidValue, ReplayError

CONFIG = '[[replay.suites]]\nname = "ok"\ncommand = ["true"]\n'
RUN_ID = "20260101T000000Z-abc123"
LINUX = pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")


def suite_config(*lines: str, top: tuple[str, ...] = ()) -> str:
    """A replay.toml with `[replay]` lines `top` and one suite `ok` with extra `lines`."""
    head = ["[replay]", *top] if top else []
    return "\n".join([*head, "[[replay.suites]]", 'name = "ok"', 'command = ["true"]', *lines])


def summary(**target: Any) -> str:
    """A replay summary whose one target `a` failed, with `target` fields overridden."""
    return orjson.dumps(summary_document(**target)).decode()


def summary_document(**target: Any) -> dict[str, Any]:
    """The document of `summary(**target)`."""
    record = target_document(**{"decided_by": RUN_ID, **target})
    document = {
        "schema": "replay.summary.v1",
        "run_id": RUN_ID,
        "status": "failed",
        "started_at": "2026-01-01T00:00:00.000Z",
        "finished_at": "2026-01-01T00:00:01.000Z",
        "targets": [record],
    }
    return document


def verdict(command: str) -> str:
    """A full-suite verdict with one failing blocking gate reproduced by `command`."""
    gate = {"id": "g", "name": "G", "status": "fail", "blocking": True}
    document = {
        "schema": "pi.ci.full_suite_gate.v1",
        "gates": [{**gate, "reproduce_command": command}],
    }
    return orjson.dumps(document).decode()


def unwritable_dir() -> str:
    """A directory even root cannot create entries in (sysfs), or skip."""
    probe = Path("/sys/replay-probe")
    try:
        probe.mkdir()
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return "/sys"
        pytest.skip(f"/sys: {exc.strerror}")
    probe.rmdir()
    pytest.skip("/sys is writable here")


CLASSIFICATION = "[suite.unit]\nfiles = []\n"
IN_WAY = "cannot make the directory (a file is in the way)"

Case = tuple[dict[str, str], list[str], str]


def bad_config(config: str, problem: str) -> Case:
    """A `replay.toml` holding `config`: `run --dry-run` refuses it, naming file and `problem`."""
    return {"replay.toml": config}, ["run", "--dry-run"], f"replay.toml: {problem}"


def bad_summary(problem: str, **target: Any) -> Case:
    """A summary whose target has `target` fields: `--rerun-from` refuses it, naming `problem`."""
    return (
        {"s.json": summary(**target)},
        ["--rerun-from", "s.json", "--dry-run"],
        f"s.json: {problem}",
    )


# (files to write, arguments, what the one error line must say)
CASES = [
    # Output locations: a file, under a file, /proc (no entries can be made there).
    ({"replay.toml": CONFIG, "afile": "keep"}, ["run", "--out", "afile"], f"--out afile: {IN_WAY}"),
    (
        {"replay.toml": CONFIG, "afile": "keep"},
        ["run", "--out", "afile/run"],
        f"--out afile/run: {IN_WAY}",
    ),
    pytest.param(
        {"replay.toml": CONFIG},
        ["run", "--out", "/proc/replay-x"],
        "--out /proc/replay-x: cannot make the directory",
        marks=LINUX,
    ),
    (
        {"replay.toml": CONFIG, "afile": "keep"},
        ["run", "--out", "r", "--junit", "afile/j.xml"],
        f"--junit afile/j.xml: afile: {IN_WAY}",
    ),
    (
        {"s.json": summary(), "afile": "keep"},
        ["diff", "s.json", "s.json", "--out", "afile"],
        "afile/triage_diff.json: cannot write",
    ),
    pytest.param(
        {"s.json": summary()},
        ["diff", "s.json", "s.json", "--out", "/proc/x"],
        "/proc/x/triage_diff.json: cannot write",
        marks=LINUX,
    ),
    (
        {"c.toml": CLASSIFICATION, "afile": "keep"},
        ["audit", "c.toml", "--out", "afile"],
        "afile/waiver_audit.json: cannot write",
    ),
    pytest.param(
        {"c.toml": CLASSIFICATION},
        ["audit", "c.toml", "--out", "/proc/x"],
        "/proc/x/waiver_audit.json: cannot write",
        marks=LINUX,
    ),
    (
        {"s.json": summary(), "afile": "keep"},
        ["merge", "s.json", "--out", "afile"],
        "afile/replay_bundle.json: cannot write",
    ),
    pytest.param(
        {"s.json": summary()},
        ["merge", "s.json", "--out", "/proc/x"],
        "/proc/x/replay_bundle.json: cannot write",
        marks=LINUX,
    ),
    # Configs: names no environment can hold, NUL bytes, impossible numbers, deep nesting.
    bad_config(
        suite_config('env = { "A=B" = "x" }'), "replay.suites[0].env: variable name 'A=B' holds '='"
    ),
    bad_config(
        suite_config('env = { "A\\u0000B" = "x" }'),
        "replay.suites[0].env: variable name 'A\\x00B' holds a NUL byte",
    ),
    bad_config(
        suite_config('env = { A = "x\\u0000y" }'),
        "replay.suites[0].env: the value of A holds a NUL byte",
    ),
    bad_config(
        '[[replay.suites]]\nname = "ok"\ncommand = ["tr\\u0000ue"]\n',
        "replay.suites[0].command: str 'tr\\x00ue' holds a NUL byte",
    ),
    bad_config(suite_config('cwd = "a\\u0000b"'), "replay.suites[0].cwd: holds a NUL byte"),
    bad_config(
        suite_config(top=('env = { "=X" = "1" }',)), "replay.env: variable name '=X' holds '='"
    ),
    bad_config(
        suite_config(top=('exec_prefix = ["rch\\u0000"]',)),
        "replay.exec_prefix: str 'rch\\x00' holds a NUL byte",
    ),
    bad_config(
        '[[replay.suites]]\nname = ""\ncommand = ["true"]\n',
        "replay.suites[0].name: must not be empty",
    ),
    bad_config(
        suite_config(top=("timeout = nan",)), "replay.timeout: must be a number of seconds, got nan"
    ),
    bad_config(suite_config("timeout = 1e308"), "replay.suites[0].timeout: must be at most a year"),
    bad_config(suite_config(top=('timeout = ""',)), "replay.timeout: '' is not a duration"),
    bad_config(
        suite_config(top=("parallelism = 99999999999999999999",)),
        "replay.parallelism: must be at most 4096",
    ),
    bad_config(
        suite_config(top=("x = " + "[" * 3000 + "]" * 3000,)),
        "invalid TOML (arrays or tables nested too deeply)",
    ),
    (
        {"replay.toml": suite_config(top=('flake_rules = { FLAKE-NET = ["("] }',))},
        ["flake", "ok", "--runs", "2", "--out", "r"],
        "replay.toml: replay.flake_rules.FLAKE-NET: invalid regular expression '('",
    ),
    # Summaries: the same rules, named by their JSON path.
    bad_summary("$.targets[0].env: variable name 'A=B' holds '='", env={"A=B": "x"}),
    bad_summary("$.targets[0].env: variable name 'A\\x00B' holds a NUL byte", env={"A\0B": "x"}),
    bad_summary("$.targets[0].argv: str 'tr\\x00ue' holds a NUL byte", argv=["tr\0ue"]),
    bad_summary("$.targets[0].argv: empty command", argv=[]),
    bad_summary("$.targets[0].cwd: holds a NUL byte", cwd="a\0b"),
    bad_summary("$.targets[0].timeout: expected 0 to", timeout=1e300),
    (
        {
            "s.json": orjson.dumps(
                {**summary_document(), "shard": {"index": 5, "total": 2}}
            ).decode()
        },
        ["show", "s.json"],
        "s.json: $.shard.index: shard 5 does not exist in 2 shard(s)",
    ),
    bad_summary("$.targets[0].adapter: unknown adapter 'maven'", adapter="maven"),
    (
        {"s.json": summary()},
        ["--rerun-from", "s.json", "--suite", "typo", "--dry-run"],
        "unknown suite 'typo' for --suite; targets in s.json: 'a'",
    ),
    # Verdicts: a command no argv can hold.
    (
        {"v.json": verdict("echo a\0b")},
        ["gates", "v.json"],
        "v.json: $.gates[0].reproduce_command: holds a NUL byte",
    ),
    # Options that are not numbers of anything, or cannot be split.
    ({"replay.toml": CONFIG}, ["run", "--exec-prefix", '"x', "--dry-run"], "--exec-prefix"),
]


@pytest.mark.parametrize(("files", "args", "expected"), CASES)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, files: dict[str, str], args: list[str], expected: str
) -> None:
    """Each bad input: exit 2, one line naming the file and field, no traceback, nothing lost."""
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    before = {name: (tmp_path / name).read_bytes() for name in files}
    result = replay(tmp_path, *args)
    assert "Traceback" not in result.stderr
    assert 2 == result.returncode, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("replay: error: ")
    assert expected in line
    assert before == {name: (tmp_path / name).read_bytes() for name in files}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "-j", "99999999999999999999"], "argument -j/--parallelism: must be at most 4096"),
        (["run", "--shard-index", "0", "--shard-total", "99999999999999999999"], "--shard-total"),
        (["run", "--retries", "99999999999999999999"], "argument --retries: must be at most"),
        (["run", "--timeout", "nan"], "argument --timeout"),
        (["run", "--timeout", "1e308"], "argument --timeout"),
        (["flake", "ok", "--max-minutes", "-1"], "argument --max-minutes"),
        (["flake", "ok", "--max-minutes", "nan"], "argument --max-minutes"),
        (["flake", "ok", "--runs", "99999999999999999999"], "argument --runs"),
        (
            ["matrix", "--shards", "99999999999999999999"],
            "argument --shards: must be at most 10000",
        ),
        (["diff", "a", "b", "--top", "-1"], "argument --top"),
        (["flake", "ok", "--today", "tomorrow"], "argument --today: 'tomorrow' is not a date"),
        (["audit", "c.toml", "--today", "2026-02-30"], "argument --today: '2026-02-30' is not"),
    ],
)
def test_impossible_numbers_are_usage_errors(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    """Numbers and dates no run can use are refused by the parser (exit 2), before anything runs."""
    (tmp_path / "replay.toml").write_text(CONFIG)
    result = replay(tmp_path, *args)
    assert "Traceback" not in result.stderr
    assert 2 == result.returncode, result.stderr
    assert expected in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "replay-results").exists()


@LINUX
@pytest.mark.parametrize("where", ["/proc/j.xml", "sys"])
def test_junit_that_cannot_be_written_keeps_the_summary(tmp_path: Path, where: str) -> None:
    """`--junit` where nothing can be written: one line naming it, and the run's summary stays."""
    target = f"{unwritable_dir()}/j.xml" if where == "sys" else where
    (tmp_path / "replay.toml").write_text(CONFIG)
    result = replay(tmp_path, "run", "--out", "r", "-q", "--junit", target)
    assert "Traceback" not in result.stderr
    assert 2 == result.returncode, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"replay: error: {target}: cannot write")
    assert line.endswith("the run is recorded in r/summary.json")
    assert "passed" == orjson.loads((tmp_path / "r/summary.json").read_bytes())["status"]


@LINUX
def test_out_on_a_read_only_file_system(tmp_path: Path) -> None:
    """`--out` where no directory can be made (sysfs): one line naming it, exit 2."""
    (tmp_path / "replay.toml").write_text(CONFIG)
    out = f"{unwritable_dir()}/replay-run"
    result = replay(tmp_path, "run", "--out", out)
    assert "Traceback" not in result.stderr
    assert 2 == result.returncode, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"replay: error: --out {out}: cannot make the directory")


def test_carried_attempt_dated_year_one_with_junit(tmp_path: Path) -> None:
    """A carried attempt dated year 1: the run's summary is written whatever the report does."""
    document = orjson.loads(summary())
    carried = {
        **document["targets"][0],
        "name": "b",
        "status": "passed",
        "chain_state": "passing",
        "attempts": [{"number": 1, "started_at": "0001-01-01T00:00:00+05:00"}],
    }
    document["targets"].append(carried)
    (tmp_path / "s.json").write_bytes(orjson.dumps(document))
    result = replay(tmp_path, "--rerun-from", "s.json", "--out", "r", "-q", "--junit", "j.xml")
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 2), result.stderr
    if result.returncode == 2:
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("replay: error: j.xml: cannot")
    else:
        assert (tmp_path / "j.xml").read_bytes().startswith(b"<?xml")
    written = orjson.loads((tmp_path / "r/summary.json").read_bytes())
    assert ["a", "b"] == sorted(t["name"] for t in written["targets"])


def test_durations_of_1e308_are_ignored(tmp_path: Path) -> None:
    """Durations no run takes (1e308 s) count as unknown: the matrix is still balanced."""
    document = summary_document(duration=1e308)
    document["targets"] += [
        {**document["targets"][0], "name": "b", "duration": 1e308},
        {**document["targets"][0], "name": "c", "duration": 5.0},
    ]
    (tmp_path / "s.json").write_bytes(orjson.dumps(document))
    result = replay(tmp_path, "matrix", "--shards", "3", "--from", "s.json")
    assert "Traceback" not in result.stderr
    assert 0 == result.returncode, result.stderr
    shards = orjson.loads(result.stdout)["include"]
    assert [(1, 5.0)] * 3 == [(s["targets"], s["estimated_seconds"]) for s in shards]


# --- the library ---------------------------------------------------------------------------


MODEL_CASES: list[tuple[Callable[[], object], str]] = [
    (lambda: api.Suite(name="s", command="echo hi"), "Suite.command: expected an argv tuple"),  # type: ignore[arg-type]
    (lambda: api.Suite(name="", command=("true",)), "Suite.name: must not be empty"),
    (lambda: api.Suite(name="s", command=()), "Suite.command: empty command"),
    (lambda: api.Suite(name="s", command=("true",), env={"A=B": "1"}), "Suite.env: variable name"),
    (lambda: api.Suite(name="s", command=("true",), timeout=math.nan), "Suite.timeout"),
    (lambda: api.Suite(name="s", command=("true",), adapter="maven"), "Suite.adapter: unknown"),
    (lambda: Options(parallelism=-5), "Options.parallelism: expected 1 to 4096, got -5"),
    (lambda: Options(env={"A\0": "1"}), "Options.env: variable name"),
    (lambda: api.Shard(index=5, total=2), "Shard.index: shard 5 does not exist in 2 shard(s)"),
    (lambda: api.Shard(index=0, total=10**20), "Shard.total: expected 1 to 10000"),
    (lambda: job(id=""), "Job.id: must not be empty"),
    (lambda: job(id="../x"), "Job.id: '../x' is not a directory name"),
    (lambda: job(adapter="maven"), "Job.adapter: unknown adapter 'maven'"),
    (lambda: job(argv=("a\0",)), "Job.argv: str 'a\\x00' holds a NUL byte"),
    (lambda: api.Plan(jobs=(job(), job())), "Plan.jobs: two jobs have the id 'j'"),
    (lambda: api.Plan(jobs=(), parallelism=0), "Plan.parallelism: expected 1 to 4096, got 0"),
    (lambda: api.RetryPolicy(retries=10**9), "RetryPolicy.retries: expected 0 to 100"),
]


def job(**fields: Any) -> api.Job:
    """A valid job `j`, with `fields` overridden."""
    values: dict[str, Any] = {
        "id": "j",
        "target": "j",
        "kind": "suite",
        "adapter": "generic",
        "argv": ("true",),
    }
    return api.Job(**{**values, **fields})


@pytest.mark.parametrize(("build", "message"), MODEL_CASES)
def test_models_refuse_what_no_run_can_use(build: Callable[[], object], message: str) -> None:
    """Models validate at construction: an `InvalidValue` (a ReplayError and a ValueError)."""
    with pytest.raises(InvalidValue) as info:
        build()
    assert isinstance(info.value, ReplayError)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(message)


def test_paths_may_be_str_or_path_like(tmp_path: Path) -> None:
    """`run`, `load_config` and `load_summary` take `str` and `os.PathLike` paths alike."""
    (tmp_path / "replay.toml").write_text(CONFIG)
    config = api.load_config(str(tmp_path / "replay.toml"))
    assert config == api.load_config(tmp_path / "replay.toml")
    plan = build_plan(config, Options())
    options = api.RunOptions(handle_signals=False, collect_environment=False)
    result = api.run(plan, str(tmp_path / "r"), options=options)
    assert 0 == result.exit_code
    path = os.fspath(result.summary_path)
    assert api.load_summary(path) == api.load_summary(Path(path))


def test_run_off_the_main_thread(tmp_path: Path) -> None:
    """`run()` in a thread works (no signal handling there); asking for signals is a ReplayError."""
    plan = api.Plan(jobs=(job(),))
    outcome: list[object] = []

    def worker() -> None:
        quiet = api.RunOptions(collect_environment=False)
        outcome.append(api.run(plan, tmp_path / "r", options=quiet).exit_code)
        try:
            api.run(plan, tmp_path / "r2", options=api.RunOptions(handle_signals=True))
        except ReplayError as exc:
            outcome.append(type(exc))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert [0, ReplayError] == outcome


def test_unknown_adapter_in_a_summary_is_a_plain_error(tmp_path: Path) -> None:
    """A summary naming an adapter replay lacks: an `InputError` naming it, never a group."""
    path = tmp_path / "s.json"
    path.write_text(summary(adapter="maven"))
    previous = api.load_summary(path)
    config = api.Config(root=str(tmp_path))
    with pytest.raises(InputError) as info:
        rerun_plan(previous, config, Options(), summary_path=str(path))
    assert f"{path}: $.targets[0].adapter: unknown adapter 'maven'" in str(info.value)


def test_a_group_around_a_replay_error_is_unwrapped(tmp_path: Path) -> None:
    """A ReplayError raised inside the run's task group comes out as itself."""

    class Refusing:
        def job_started(self, job: api.Job, number: int) -> None:
            msg = "refused by the listener"
            raise ConfigError(msg)

        def attempt_finished(self, job: api.Job, attempt: api.Attempt) -> None:
            """Nothing to do."""

        def job_finished(self, outcome: api.JobOutcome) -> None:
            """Nothing to do."""

    with pytest.raises(ConfigError, match="refused by the listener"):
        api.run(
            api.Plan(jobs=(job(),)),
            tmp_path / "r",
            options=api.RunOptions(
                listener=Refusing(), handle_signals=False, collect_environment=False
            ),
        )


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"shard": {"index": 5, "total": 2}}, "$.shard.index: shard 5 does not exist in 2"),
        ({"shard": {"index": 0, "total": 10**12}}, "$.shard.total: expected 1 to 10000"),
        ({"timeout": -1}, "$.targets[0].timeout: expected 0 to"),
        ({"env": {"": "x"}}, "$.targets[0].env: variable name '' is empty"),
        ({"argv": ["a", "\0"]}, "$.targets[0].argv: str '\\x00' holds a NUL byte"),
    ],
)
def test_summary_problems_name_file_and_path(document: dict[str, Any], problem: str) -> None:
    """What a rerun cannot use in a summary is reported as `file: path.field: problem`."""
    base = summary_document(**{k: v for k, v in document.items() if k != "shard"})
    if "shard" in document:
        base["shard"] = document["shard"]
    error = error_of(
        lambda: rerun_plan(
            parse_summary(orjson.dumps(base), source="s.json", base_dir=Path()),
            api.Config(root="/"),
            Options(),
            summary_path="s.json",
        )
    )
    assert (True, True) == (isinstance(error, InputError), f"s.json: {problem}" in str(error))


# --- arbitrary structure never crashes ------------------------------------------------------

SCALARS = (
    st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["", "\0", "A=B", "90s", "true", "generic", "pytest"])
)
KEYS = st.sampled_from(
    ["name", "command", "env", "timeout", "cwd", "adapter", "kind", "parallelism", "suites",
     "exec_prefix", "debug_env", "flake_rules", "FLAKE-NET", "out", "A=B", "\0", "x"]
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


def error_of(action: Callable[[], object]) -> ReplayError | None:
    """The `ReplayError` `action` raises, or None; anything else is a crash and propagates."""
    try:
        action()
    except ReplayError as exc:
        return exc
    return None


def toml_value(value: object) -> str:
    """`value` as a TOML inline value (strings as JSON strings, which TOML reads alike)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float, str)):
        return orjson.dumps(value).decode() if not isinstance(value, int) else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    items = (f"{orjson.dumps(k).decode()} = {toml_value(v)}" for k, v in value.items())
    return "{" + ", ".join(items) + "}"


@pytest.mark.slow
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(KEYS, VALUES, max_size=5),
    st.lists(st.dictionaries(KEYS, VALUES, max_size=6), max_size=3),
)
def test_configs_of_any_structure_never_crash(
    tmp_path: Path, top: dict[str, object], suites: list[dict[str, object]]
) -> None:
    """Any `[replay]` table and suites: a plan, or a ConfigError naming the file."""
    lines = ["[replay]", *(f"{orjson.dumps(k).decode()} = {toml_value(v)}" for k, v in top.items())]
    for suite in suites:
        lines += [
            "[[replay.suites]]",
            *(f"{orjson.dumps(k).decode()} = {toml_value(v)}" for k, v in suite.items()),
        ]
    path = tmp_path / "replay.toml"
    path.write_text("\n".join(lines) + "\n")
    error = error_of(lambda: build_plan(load_config(path), Options()))
    if error is not None:
        assert str(error).startswith(f"{path}: "), error
        assert 1 == len(str(error).splitlines())


TARGET_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "name": SCALARS,
        "argv": VALUES,
        "env": VALUES,
        "cwd": SCALARS,
        "adapter": SCALARS,
        "timeout": SCALARS,
        "status": st.sampled_from(["failed", "passed", "x"]),
        "tests": VALUES,
    },
)


@given(TARGET_FIELDS, st.none() | VALUES)
def test_summaries_of_any_structure_never_crash(target: dict[str, Any], shard: object) -> None:
    """Any target record and shard: a rerun plan, or one InputError line naming the file."""
    document = summary_document(**target)
    if shard is not None:
        document["shard"] = shard
    try:
        data = orjson.dumps(document)
    except (TypeError, orjson.JSONEncodeError):
        return  # not JSON at all (NaN, huge integers): the reader never sees it
    error = error_of(
        lambda: rerun_plan(
            parse_summary(data, source="s.json", base_dir=Path()),
            api.Config(root="/"),
            Options(),
            summary_path="s.json",
        )
    )
    if error is not None:
        assert str(error).startswith("s.json: "), error
        assert 1 == len(str(error).splitlines())


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("ci.toml", ("run", "--config", "ci.toml", "--dry-run"), "ci.toml: not a regular file"),
        ("verdict.json", ("gates", "verdict.json"), "verdict.json: not a regular file"),
    ],
)
def test_a_fifo_named_as_input_is_refused_without_waiting(
    tmp_path: Path, name: str, args: tuple[str, ...], expected: str
) -> None:
    """A config or verdict that is a FIFO is one line and exit 2, never a hang."""
    os.mkfifo(tmp_path / name)
    result = replay(tmp_path, *args, timeout=30)
    assert 2 == result.returncode
    assert expected in result.stderr
    assert 1 == len(result.stderr.strip().splitlines()), result.stderr
