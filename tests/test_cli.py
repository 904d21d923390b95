"""The command line: help, exit codes, errors as one line, dry runs, ad-hoc mode, the demo."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import orjson
import pytest
from _support import replay

from replay._cli import SUBCOMMANDS, main

ROOT = Path(__file__).resolve().parent.parent


def write_config(directory: Path, body: str) -> Path:
    """Write `replay.toml` into `directory`."""
    path = directory / "replay.toml"
    path.write_text(body)
    return path


TWO_SUITES = """\
[replay.profiles.quick]
kinds = ["unit"]

[[replay.suites]]
name = "fast"
kind = "unit"
command = ["true"]

[[replay.suites]]
name = "slow"
kind = "e2e"
command = ["sh", "-c", "exit 1"]
"""


def test_help_explains_the_tool(capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` lists the commands and the exit codes."""
    assert 0 == main(["--help"])
    out = capsys.readouterr().out
    for word in ("run", "show", "--rerun-from", "Exit codes", "130"):
        assert word in out


def test_run_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    """`replay run --help` shows options and worked examples."""
    assert 0 == main(["run", "--help"])
    out = capsys.readouterr().out
    assert "--shard-strategy" in out
    assert "examples:" in out


def test_version(tmp_path: Path) -> None:
    """`--version` prints the version and exits 0."""
    result = replay(tmp_path, "--version")
    assert 0 == result.returncode
    assert result.stdout.startswith("replay ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "-j", "0"], "must be at least 1"),
        (["run", "--timeout", "soon"], "not a duration"),
        (["run", "--env", "NOEQUALS"], "expected KEY=VALUE"),
        (["run", "--retry-backoff", "random"], "invalid choice"),
    ],
)
def test_bad_usage_exits_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """Bad flags exit 2 with argparse's message."""
    assert 2 == main(args)
    assert message in capsys.readouterr().err


def test_malformed_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    """A config with an unknown key: exit 2, one line naming file and key, no traceback."""
    write_config(
        tmp_path, '[replay]\nparalellism = 4\n[[replay.suites]]\nname="a"\ncommand=["true"]\n'
    )
    result = replay(tmp_path, "run")
    assert 2 == result.returncode
    lines = result.stderr.strip().splitlines()
    assert 1 == len(lines)
    assert "replay.toml" in lines[0]
    assert "paralellism" in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_config_says_what_to_do(tmp_path: Path) -> None:
    """No config anywhere: exit 2 and a hint about `replay run -- CMD`."""
    result = replay(tmp_path, "run")
    assert 2 == result.returncode
    assert "replay run -- CMD" in result.stderr


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path: Path) -> None:
    """`--dry-run` prints the plan as JSON; no run directory appears."""
    write_config(tmp_path, TWO_SUITES)
    result = replay(tmp_path, "--dry-run", "--exec-prefix", "rch exec --", "--env", "A=1")
    assert 0 == result.returncode, result.stderr
    plan = orjson.loads(result.stdout)
    assert ["fast", "slow"] == [j["target"] for j in plan["jobs"]]
    assert ["rch", "exec", "--", "true"] == plan["jobs"][0]["argv"]
    assert {"A": "1"} == plan["jobs"][0]["env"]
    assert not (tmp_path / "replay-results").exists()


def test_profile_and_kind_selection(tmp_path: Path) -> None:
    """A profile selects by kind; `--suite` and `--kind` narrow further."""
    write_config(tmp_path, TWO_SUITES)
    quick = orjson.loads(replay(tmp_path, "--profile", "quick", "--dry-run").stdout)
    assert ["fast"] == [j["target"] for j in quick["jobs"]]
    e2e = orjson.loads(replay(tmp_path, "--kind", "e2e", "--dry-run").stdout)
    assert ["slow"] == [j["target"] for j in e2e["jobs"]]


def test_unknown_profile_and_suite_exit_2(tmp_path: Path) -> None:
    """Unknown profile or suite names are errors listing what exists."""
    write_config(tmp_path, TWO_SUITES)
    profile = replay(tmp_path, "--profile", "nightly")
    assert 2 == profile.returncode
    assert "profiles in the config: quick" in profile.stderr
    suite = replay(tmp_path, "--suite", "nope")
    assert 2 == suite.returncode
    assert "suites in the config: fast, slow" in suite.stderr


def test_empty_selection_exits_4(tmp_path: Path) -> None:
    """A selection that matches nothing exits 4."""
    write_config(tmp_path, TWO_SUITES)
    result = replay(tmp_path, "--kind", "vcr")
    assert 4 == result.returncode
    assert "matched no suite" in result.stderr


@pytest.mark.slow
def test_run_exit_codes_and_report(tmp_path: Path) -> None:
    """A red run exits 1, names the failure with its log and prints the replay command.

    The program itself (`python -m replay`), where most tests call the CLI in-process."""
    write_config(tmp_path, TWO_SUITES)
    result = replay(tmp_path, "run", "--out", "r", process=True)
    assert 1 == result.returncode
    assert "slow" in result.stderr
    assert "r/slow/output.log" in result.stderr
    assert "python -m replay --rerun-from r/summary.json" in result.stderr
    green = replay(tmp_path, "run", "--out", "g", "--suite", "fast", process=True)
    assert 0 == green.returncode


def test_default_out_is_a_timestamped_run_dir(tmp_path: Path) -> None:
    """Without `--out`, the run lands in `replay-results/<UTC timestamp>-<suffix>`."""
    write_config(tmp_path, TWO_SUITES)
    replay(tmp_path, "run", "--suite", "fast")
    (run_dir,) = (tmp_path / "replay-results").iterdir()
    assert run_dir.name[:8].isdigit()
    assert run_dir.name[8] == "T"
    document = orjson.loads((run_dir / "summary.json").read_bytes())
    assert run_dir.name == document["run_id"]


def test_adhoc_command_needs_no_config(tmp_path: Path) -> None:
    """`replay run -- CMD ARGS` runs one suite with no config."""
    result = replay(tmp_path, "run", "--out", "r", "--", "sh", "-c", "echo hi; exit 7")
    assert 1 == result.returncode
    document = orjson.loads((tmp_path / "r/summary.json").read_bytes())
    (target,) = document["targets"]
    assert (7, ["sh", "-c", "echo hi; exit 7"]) == (target["exit_code"], target["argv"])
    assert "hi" == (tmp_path / "r/sh/output.log").read_text().strip()


def test_json_mode_streams_events(tmp_path: Path) -> None:
    """`--json` prints one JSON object a line on stdout, ending with `run_finished`."""
    result = replay(tmp_path, "run", "--json", "--out", "r", "--", "true")
    events = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert ["attempt_started", "attempt_finished", "job_finished", "run_finished"] == [
        e["event"] for e in events
    ]
    assert 0 == events[-1]["exit_code"]


def test_artifacts_of_a_run(tmp_path: Path) -> None:
    """A run writes summary, bundle, environment, events and per-target results."""
    write_config(tmp_path, TWO_SUITES)
    replay(tmp_path, "run", "--out", "r", env={"MY_API_KEY": "sekrit", "CI_TOKEN": "x"})
    run_dir = tmp_path / "r"
    for name in ("summary.json", "replay_bundle.json", "environment.json", "events.jsonl"):
        assert (run_dir / name).is_file(), name
    summary = orjson.loads((run_dir / "summary.json").read_bytes())
    assert "replay.summary.v1" == summary["schema"]
    assert (1, 1, 1, 1) == (
        summary["total_suites"],
        summary["failed_suites"],
        summary["total_units"],
        summary["passed_units"],
    )
    assert ["slow"] == summary["failed_names"]
    assert "slow/result.json" == summary["targets"][1]["result"]
    result = orjson.loads((run_dir / "slow/result.json").read_bytes())
    assert "failed" == result["status"]
    environment = (run_dir / "environment.json").read_text()
    assert "sekrit" not in environment
    bundle = orjson.loads((run_dir / "replay_bundle.json").read_bytes())
    assert summary["one_command_replay"] == bundle["one_command_replay"]
    assert ["slow"] == [e["suite"] for e in bundle["failed_suites"]]


@pytest.mark.slow
def test_demo_plan_runs(tmp_path: Path) -> None:
    """The demo shipped in examples/ shows pass, fail, timeout and flaky, and exits 1."""
    demo = tmp_path / "demo"
    shutil.copytree(ROOT / "examples" / "demo", demo)
    result = replay(
        tmp_path,
        "--config",
        "demo/replay.toml",
        "--retries",
        "1",
        "--out",
        "r",
        "--junit",
        "junit.xml",
    )
    assert 1 == result.returncode, result.stderr
    junit = (tmp_path / "junit.xml").read_text()
    assert "<flakyFailure" in junit
    assert "<rerunFailure" in junit
    summary = orjson.loads((tmp_path / "r/summary.json").read_bytes())
    statuses = {t["status"] for t in summary["targets"]}
    assert {"passed", "failed", "timed_out", "flaky"} <= statuses
    expected = "python -m replay --rerun-from r/summary.json --config demo/replay.toml"
    assert expected == summary["one_command_replay"]
    rerun = orjson.loads(replay(tmp_path, *expected.split()[3:], "--dry-run").stdout)
    timeouts = {j["target"]: j["timeout"] for j in rerun["jobs"]}
    assert 2.0 == timeouts["e2e_slow_network"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_environment_records_git_and_tools(tmp_path: Path) -> None:
    """Inside a git repository, environment.json names the commit, branch and git's version."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "trunk"], cwd=tmp_path, check=True)
    (tmp_path / "f").write_text("x")
    subprocess.run([*git, "add", "f"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=tmp_path, check=True)
    sha = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    replay(tmp_path, "run", "--out", "r", "--", "true")
    environment = orjson.loads((tmp_path / "r/environment.json").read_bytes())
    assert (sha, "trunk") == (environment["git_sha"], environment["git_branch"])
    assert environment["tools"]["git"].startswith("git version")


# --- what a first word means ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["shwo", "x.json"],
            "replay: error: unknown command 'shwo' (did you mean 'show'?); "
            "to run a command ad hoc use: replay run -- shwo x.json",
        ),
        (
            ["rnu", "--suite", "a"],
            "replay: error: unknown command 'rnu' (did you mean 'run'?); "
            "to run a command ad hoc use: replay run -- rnu --suite a",
        ),
        (
            ["touch", "ran; twice"],
            f"replay: error: unknown command 'touch' (commands: {', '.join(SUBCOMMANDS)}); "
            "to run a command ad hoc use: "
            "replay run -- touch 'ran; twice'",
        ),
        (
            ["run", "touch", "ran"],
            "replay: error: unexpected argument 'touch'; to run a command ad hoc put it after "
            "`--`: replay run -- touch ran",
        ),
        (
            ["--out", "r", "touch", "ran"],
            "replay: error: unexpected argument 'touch'; to run a command ad hoc put it after "
            "`--`: replay run -- touch ran",
        ),
        (
            ["-q", "show", "x.json"],
            "replay: error: unexpected argument 'show'; the subcommand goes first: replay show ...",
        ),
        (
            ["run", "--"],
            "replay: error: nothing after `--`; name the command to run: replay run -- CMD ARGS...",
        ),
    ],
)
def test_a_word_that_is_no_subcommand_is_never_run(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    """A typo or a command without `--`: exit 2, one line saying what to type, nothing runs."""
    write_config(tmp_path, TWO_SUITES)
    result = replay(tmp_path, *args)
    actual = (
        result.returncode,
        result.stderr.splitlines(),
        sorted(p.name for p in tmp_path.iterdir()),
    )
    assert (2, [expected], ["replay.toml"]) == actual


@pytest.mark.parametrize(
    ("args", "expected_code"),
    [
        (["--config", "replay.toml", "--dry-run"], 0),
        (["--kind", "unit", "--out", "r"], 0),
        (["--out", "r", "--", "sh", "-c", "exit 3"], 1),
        (["run", "--out", "r", "--", "true"], 0),
        (["--rerun-from", "missing.json"], 2),
    ],
)
def test_options_first_still_mean_run(tmp_path: Path, args: list[str], expected_code: int) -> None:
    """`run` stays the default for options and a bare `--`: `replay --config F`, `replay -- CMD`."""
    write_config(tmp_path, TWO_SUITES)
    result = replay(tmp_path, *args)
    assert expected_code == result.returncode, result.stderr


# --- help text ---------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [[], *([name] for name in sorted(SUBCOMMANDS))])
def test_help_prints_percent_signs_once(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    """No help text shows an argparse escape (`%%`) to the reader."""
    assert 0 == main([*args, "--help"])
    assert "%%" not in capsys.readouterr().out


def test_flake_help_states_the_confidence(capsys: pytest.CaptureFixture[str]) -> None:
    """`replay flake --help` names the 95% Wilson interval."""
    main(["flake", "--help"])
    assert "95% Wilson interval" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["run", "--help"],
            "Default: inferred from CMD: cargo test -> cargo, go test -> go, pytest, py.test or "
            "python -m pytest -> pytest, anything else -> generic",
        ),
        (["run", "--help"], "ad-hoc runs only (replay run --adapter NAME -- CMD)"),
        (["--help"], "else generic; choose one with `run --adapter NAME -- CMD`"),
    ],
)
def test_help_says_which_adapter_an_adhoc_command_gets(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    """The help says how an ad-hoc command's adapter is inferred and how to choose one."""
    main(args)
    assert expected in " ".join(capsys.readouterr().out.split())
