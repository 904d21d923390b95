"""Faults around a run: signals at random moments, a full disk, odd jobs, hostile files."""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from _support import replay, spawn

from replay._exec.procs import group_members

pytestmark = pytest.mark.slow

PY = sys.executable


def config(directory: Path, suites: list[tuple[str, list[str]]], **extra: str) -> None:
    """Write a replay.toml with `suites` (name, command) and `[replay]` settings."""
    lines = ["[replay]"] + [f"{k} = {v}" for k, v in extra.items()]
    for name, command in suites:
        lines += [
            "[[replay.suites]]",
            f'name = "{name}"',
            f"command = {orjson.dumps(command).decode()}",
        ]
    (directory / "replay.toml").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("seed", range(8))
def test_signal_at_a_random_moment(tmp_path: Path, seed: int) -> None:
    """SIGINT/SIGTERM anywhere in a run: no job survives, the summary is whole or absent,
    events are whole lines, and a rerun plans exactly the unfinished targets (seeds
    alternate between the asyncio and trio backends)."""
    rng = random.Random(seed)  # noqa: S311 - a test schedule, not a secret
    pids = tmp_path / "pids"
    pids.mkdir()
    suites = [
        (
            f"s{i}",
            ["sh", "-c", f"echo $$ >> {pids}/all; sleep {rng.choice(['0', '0.05', '0.3', '2'])}"],
        )
        for i in range(12)
    ]
    config(tmp_path, suites, parallelism="4")
    backend = "trio" if seed % 2 else "asyncio"
    args = ("--out", "r", "-q", "--kill-grace", "0.3", "--backend", backend)
    process = spawn(tmp_path, "run", *args, stderr=subprocess.DEVNULL)
    # The random moment falls inside the run (a job has started, so the run holds the
    # signals): every such moment must end with a summary. A signal before the run (exit 130,
    # one line, nothing written) is tests/test_signals.py's subject.
    deadline = time.monotonic() + 60
    while not (pids / "all").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 1.5))
    process.send_signal(rng.choice([signal.SIGINT, signal.SIGTERM]))
    code = process.wait(timeout=30)
    assert code in (0, 130)
    started = (pids / "all").read_text().split()
    assert [] == [p for p in started if group_members(int(p))]
    events = (tmp_path / "r/events.jsonl").read_bytes()
    assert all(isinstance(orjson.loads(x), dict) for x in events.splitlines())
    summary = orjson.loads((tmp_path / "r/summary.json").read_bytes())
    assert 12 == len(summary["targets"])
    unfinished = [t["name"] for t in summary["targets"] if t["chain_state"] == "outstanding"]
    assert (code == 130) == (summary["status"] == "interrupted")
    dry = replay(tmp_path, "--rerun-from", "r/summary.json", "--dry-run")
    assert unfinished == [j["target"] for j in orjson.loads(dry.stdout)["jobs"]]


def _limit_file_size(size: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_full_disk_is_a_clear_error_keeping_what_was_written(tmp_path: Path, backend: str) -> None:
    """When summary.json cannot be written (file too large), exit 2 with the path named;
    the previous summary.json and the logs stay intact."""
    config(tmp_path, [(f"suite_{i:03d}", ["true"]) for i in range(150)], parallelism="8")
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "summary.json").write_text('{"previous": true}\n')
    result = subprocess.run(
        [sys.executable, "-m", "replay", "run", "--out", "r", "-q", "--backend", backend],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        preexec_fn=lambda: _limit_file_size(64 * 1024),
    )
    assert 2 == result.returncode, result.stderr
    assert "cannot write" in result.stderr
    assert "Traceback" not in result.stderr
    assert '{"previous": true}\n' == (run_dir / "summary.json").read_text()
    assert (run_dir / "suite_000/result.json").is_file()
    assert (run_dir / "events.jsonl").stat().st_size > 0


@pytest.mark.parametrize(
    ("name", "command", "status"),
    [
        ("closes_stdout", ["sh", "-c", "exec >&- 2>&-; sleep 0.1; exit 0"], "passed"),
        ("binary", [PY, "-c", "import os; os.write(1, os.urandom(1 << 16))"], "passed"),
        (
            "long_line",
            [PY, "-c", "import sys; sys.stdout.write('x' * (100 << 20))"],
            "passed",
        ),
        ("daemon", ["sh", "-c", "(sleep 60 &) ; echo started"], "passed"),
        (
            "segfault",
            [PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"],
            "crashed",
        ),
    ],
)
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_odd_jobs_are_handled(
    tmp_path: Path, name: str, command: list[str], status: str, backend: str
) -> None:
    """Jobs that close stdout, print binary or a 100 MB line, fork a daemon or crash."""
    (tmp_path / "replay.toml").write_text(
        f'[[replay.suites]]\nname = "{name}"\nadapter = "cargo"\n'
        f'command = {orjson.dumps(command).decode()}\ntimeout = "60s"\n'
    )
    start = time.monotonic()
    # None of these runs a cargo test: `--no-tests pass` keeps the point on the odd output.
    result = replay(tmp_path, "run", "--out", "r", "-q", "--backend", backend, "--no-tests", "pass")
    assert (0 if status == "passed" else 1) == result.returncode, result.stderr
    summary = orjson.loads((tmp_path / "r/summary.json").read_bytes())
    assert status == summary["targets"][0]["status"]
    assert time.monotonic() - start >= 0  # the run ended (the daemon did not hold it open)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"schema": "replay.summary.v1", "run_id": ' + b"9" * 5000 + b"}", "not valid JSON"),
        (b"[" * 5000, "nested deeper"),
        (b'{"schema": "replay.summary.v9"}', "newer replay"),
        (b"\x00\x01\x02binary", "not valid JSON"),
        (b'{"timestamp": "t", "suites": [{"suite": 7}]}', "$.suites[0]"),
    ],
)
def test_hostile_summaries_exit_2(tmp_path: Path, content: bytes, message: str) -> None:
    """Huge numbers, deep nesting, future schemas, binary and wrong types: one line, exit 2."""
    (tmp_path / "s.json").write_bytes(content)
    for args in (("--rerun-from", "s.json"), ("show", "s.json"), ("diff", "s.json", "s.json")):
        result = replay(tmp_path, *args)
        assert 2 == result.returncode, (args, result.stderr)
        assert message in result.stderr
        assert "s.json" in result.stderr
        assert 1 == len(result.stderr.strip().splitlines())


def test_secrets_never_reach_environment_or_output(tmp_path: Path) -> None:
    """Secret-looking variables are redacted in environment.json and in what replay prints."""
    secret = "hunter2-very-secret"  # noqa: S105 - a fake secret to look for
    env = {
        **os.environ,
        "CI_API_TOKEN": secret,
        "GITHUB_TOKEN": secret,
        "CI_DATABASE_URL": f"postgres://user:{secret}@db/x",
    }
    result = replay(
        tmp_path,
        "run",
        "--out",
        "r",
        "--",
        "sh",
        "-c",
        f"echo password={secret}; exit 1",
        env=env,
    )
    assert 1 == result.returncode
    assert secret not in (tmp_path / "r/environment.json").read_text()
    assert secret not in result.stderr + result.stdout
    shown = replay(tmp_path, "show", "r/summary.json")
    assert secret not in shown.stdout + shown.stderr


@pytest.mark.parametrize(
    ("args", "content", "message"),
    [
        (("gates",), b'{"schema": "pi.ci.full_suite_gate.v1", "gates": [{"id": 1}]}', "$.gates[0]"),
        (("gates",), b"[" * 2000, "nested deeper"),
        (("audit",), b"[suite.unit\nfiles = [", "invalid TOML"),
        (("audit",), b'[suite.unit]\nfiles = "not a list"\n', "suite.unit"),
        (("audit",), b"\xff\xfe\x00binary", "not UTF-8"),
    ],
)
def test_hostile_verdicts_and_classifications_exit_2(
    tmp_path: Path, args: tuple[str, ...], content: bytes, message: str
) -> None:
    """Broken or hostile verdict and classification files: one line naming the file, exit 2."""
    (tmp_path / "input").write_bytes(content)
    result = replay(tmp_path, *args, "input")
    assert 2 == result.returncode, result.stdout + result.stderr
    assert message in result.stderr
    assert "input" in result.stderr
    assert "Traceback" not in result.stderr


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<testsuite><testcase name="&lol3;"/></testsuite>
"""


def test_junit_entity_bomb_is_data_not_a_crash(tmp_path: Path) -> None:
    """A JUnit file with an entity bomb is refused as a report; the run goes on by exit code."""
    (tmp_path / "bomb.xml").write_bytes(BOMB)
    (tmp_path / "replay.toml").write_text(
        '[[replay.suites]]\nname = "x"\nadapter = "junit"\njunit_path = "report.xml"\n'
        'command = ["sh", "-c", "cp bomb.xml report.xml; exit 1"]\n'
    )
    result = replay(tmp_path, "run", "--out", "r", "-q")
    assert 1 == result.returncode, result.stderr
    summary = orjson.loads((tmp_path / "r/summary.json").read_bytes())
    (target,) = summary["targets"]
    assert ("failed", []) == (target["status"], target["tests"])


def test_rerun_too_long_for_one_command_line_runs_the_whole_suite(tmp_path: Path) -> None:
    """40,000 failed test ids (2.4 MB of argv, over ARG_MAX's budget): the rerun runs the
    whole suite instead of a command that could never start."""
    (tmp_path / "t").mkdir()
    (tmp_path / "t/test_x.py").write_text("def test_ok():\n    pass\n")
    command = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "t"]
    (tmp_path / "replay.toml").write_text(
        '[[replay.suites]]\nname = "py"\nadapter = "pytest"\n'
        f"command = {orjson.dumps(command).decode()}\n"
    )
    failed = [
        {"name": f"t/test_x.py::test_{'n' * 40}_{i}", "status": "failed"} for i in range(40_000)
    ]
    target = {
        "name": "py",
        "kind": "suite",
        "adapter": "pytest",
        "argv": command,
        "status": "failed",
        "chain_state": "outstanding",
        "decided_by": "r0",
        "tests": failed,
    }
    document = {
        "schema": "replay.summary.v1",
        "run_id": "r0",
        "status": "failed",
        "started_at": "",
        "finished_at": "",
        "targets": [target],
    }
    (tmp_path / "s.json").write_bytes(orjson.dumps(document))
    dry = replay(tmp_path, "--rerun-from", "s.json", "--dry-run")
    (job,) = orjson.loads(dry.stdout)["jobs"]
    assert (command, []) == (job["argv"], job.get("tests", []))
    result = replay(tmp_path, "--rerun-from", "s.json", "--out", "r", "-q")
    assert 0 == result.returncode, result.stderr
    summary = orjson.loads((tmp_path / "r/summary.json").read_bytes())
    assert ["passed"] == [t["status"] for t in summary["targets"]]
