"""Interrupting and killing `replay` itself: exit 130, whole summaries, no orphans."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from _support import (
    config_toml,
    handlers_taken,
    live,
    make_job,
    signalled_while_finalising,
    spawn,
)

from replay._exec.procs import group_members

pytestmark = pytest.mark.slow


def sleepers_config(pids: Path) -> str:
    """One quick suite and two that write their pid to `pids` and sleep (`b` ignores SIGTERM)."""
    return config_toml(
        {"parallelism": 4},
        suites=[
            {"name": "quick", "command": ["true"]},
            {"name": "sleeper_a", "command": ["sh", "-c", f"echo $$ > {pids}/a; {SLEEPS}"]},
            {
                "name": "sleeper_b",
                "kind": "unit",
                "command": ["sh", "-c", f"trap '' TERM; echo $$ > {pids}/b; {SLEEPS}"],
            },
        ],
    )


SLEEPS = "sleep 100 & sleep 100"


def start(tmp_path: Path, backend: str, *extra: str) -> subprocess.Popen[bytes]:
    """Start `replay run` on a config of one quick and two sleeping suites."""
    pids = tmp_path / "pids"
    pids.mkdir(exist_ok=True)
    return start_on(tmp_path, sleepers_config(pids), backend, *extra)


def one_suite(name: str, script: str) -> str:
    """A config of one suite `name` running `sh -c SCRIPT`."""
    return config_toml(suites=[{"name": name, "command": ["sh", "-c", script]}])


def start_on(
    tmp_path: Path, config: str, backend: str, *extra: str, grace: str = "0.5"
) -> subprocess.Popen[bytes]:
    """Start `replay run --out run` on `config` in `tmp_path`, with a kill grace of `grace` s."""
    (tmp_path / "replay.toml").write_text(config)
    return spawn(
        tmp_path, "run", "--out", "run", "--kill-grace", grace, "--backend", backend, *extra
    )


def wait_for(path: Path, timeout: float = 20.0) -> None:
    """Wait until `path` exists and is not empty."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def wait_finished(events: Path, target: str, timeout: float = 20.0) -> None:
    """Wait until events.jsonl says `target` finished."""
    deadline = time.monotonic() + timeout
    while True:
        lines = events.read_bytes().splitlines() if events.exists() else []
        if any(
            e.get("event") == "job_finished" and e.get("target") == target
            for e in map(orjson.loads, lines)
        ):
            return
        assert time.monotonic() < deadline, f"{target} never finished"
        time.sleep(0.02)


def alive_groups(pids: Path) -> dict[str, tuple[int, ...]]:
    """Live members of each sleeper's process group."""
    return {f.name: group_members(int(f.read_text())) for f in pids.iterdir() if f.read_text()}


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_run_writes_interrupted_summary(
    tmp_path: Path, backend: str, signum: signal.Signals
) -> None:
    """SIGINT/SIGTERM: exit 130, an `interrupted` summary, sleepers outstanding, no orphans."""
    process = start(tmp_path, backend)
    wait_for(tmp_path / "pids/a")
    wait_for(tmp_path / "pids/b")
    wait_finished(tmp_path / "run/events.jsonl", "quick")
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert 130 == process.returncode, stderr.decode()
    summary = orjson.loads((tmp_path / "run/summary.json").read_bytes())
    assert "interrupted" == summary["status"]
    states = {t["name"]: (t["status"], t["chain_state"]) for t in summary["targets"]}
    assert ("passed", "passing") == states["quick"]
    assert ("not_run", "outstanding") == states["sleeper_a"]
    assert ("not_run", "outstanding") == states["sleeper_b"]
    assert ["sleeper_a"] == summary["failed_names"]
    assert ["sleeper_b"] == summary["failed_unit_names"]
    assert {"a": (), "b": ()} == alive_groups(tmp_path / "pids")


def test_rerun_of_an_interrupted_summary_runs_only_the_unfinished(tmp_path: Path) -> None:
    """`--rerun-from` an interrupted summary plans exactly the unfinished targets."""
    process = start(tmp_path, "asyncio")
    wait_for(tmp_path / "pids/a")
    wait_for(tmp_path / "pids/b")
    wait_finished(tmp_path / "run/events.jsonl", "quick")
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    dry = subprocess.run(
        [sys.executable, "-m", "replay", "--rerun-from", "run/summary.json", "--dry-run"],
        cwd=tmp_path,
        capture_output=True,
        check=True,
    )
    plan = orjson.loads(dry.stdout)
    assert ["sleeper_a", "sleeper_b"] == [j["target"] for j in plan["jobs"]]
    assert ["quick"] == [t["name"] for t in plan["carried"]]


@pytest.mark.parametrize("seed", range(6))
def test_sigkill_never_leaves_a_truncated_summary(tmp_path: Path, seed: int) -> None:
    """Killed at a random moment, replay leaves a whole summary.json or none, whole events."""
    lines = ["[replay]", "parallelism = 8"]
    for i in range(40):
        lines += ["[[replay.suites]]", f'name = "s{i}"', 'command = ["true"]']
    (tmp_path / "replay.toml").write_text("\n".join(lines) + "\n")
    process = spawn(tmp_path, "run", "--out", "run", "-q", stderr=subprocess.DEVNULL)
    moment = random.Random(seed).uniform(0.2, 1.2)  # noqa: S311 - a schedule, not a secret
    time.sleep(moment)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    summary = tmp_path / "run/summary.json"
    if summary.exists():
        document = orjson.loads(summary.read_bytes())
        assert 40 == len(document["targets"])
    events = tmp_path / "run/events.jsonl"
    if events.exists():
        for line in events.read_bytes().splitlines():
            assert isinstance(orjson.loads(line), dict)
    leftovers = [p for p in (tmp_path / "run").glob("**/.*.tmp")] if summary.parent.exists() else []
    assert len(leftovers) <= 1


def test_sigkill_of_replay_leaves_no_orphans(tmp_path: Path) -> None:
    """Even a SIGKILLed replay (no cleanup possible) leaves no job running: the watchdog acts."""
    process = start(tmp_path, "asyncio")
    wait_for(tmp_path / "pids/a")
    wait_for(tmp_path / "pids/b")
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=10)
    deadline = time.monotonic() + 10
    while any(alive_groups(tmp_path / "pids").values()):
        assert time.monotonic() < deadline, alive_groups(tmp_path / "pids")
        time.sleep(0.05)
    assert not (tmp_path / "run/summary.json").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_at_start_up_is_one_line_and_130(tmp_path: Path, signum: signal.Signals) -> None:
    """A signal as soon as replay runs its first line: exit 130, one line, no run, no traceback."""
    (tmp_path / "replay.toml").write_text(sleepers_config(tmp_path))
    process = spawn(tmp_path, "run", "--out", "run")
    deadline = time.monotonic() + 20
    while not handlers_taken(process.pid):
        assert process.poll() is None, "replay exited before taking the signals"
        assert time.monotonic() < deadline
        time.sleep(0.001)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert (130, "replay: interrupted\n") == (process.returncode, stderr.decode())
    assert not (tmp_path / "run/summary.json").exists()


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("second", [signal.SIGINT, signal.SIGTERM])
def test_second_signal_kills_a_job_that_ignores_sigterm(
    tmp_path: Path, backend: str, second: signal.Signals
) -> None:
    """Ctrl-C, then a second signal during a 60 s grace: SIGKILL now, a summary, exit 130."""
    d = tmp_path
    stubborn = f"trap 'echo t > {d}/termed' TERM; echo $$ > {d}/pid; while :; do sleep 0.05; done"
    process = start_on(tmp_path, one_suite("stubborn", stubborn), backend, grace="60")
    wait_for(tmp_path / "pid")
    process.send_signal(signal.SIGINT)
    wait_for(tmp_path / "termed")  # the job got SIGTERM from the first signal, and shrugged
    process.send_signal(second)
    _, stderr = process.communicate(timeout=20)
    assert 130 == process.returncode, stderr.decode()
    summary = orjson.loads((tmp_path / "run/summary.json").read_bytes())
    assert ("interrupted", ["stubborn"]) == (summary["status"], summary["failed_names"])
    assert () == group_members(int((tmp_path / "pid").read_text()))


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("name", ["INT", "TERM"])
def test_signal_while_the_summary_is_finalised(tmp_path: Path, backend: str, name: str) -> None:
    """A signal while the summary is finalised: the summary says `interrupted`, exit 130."""
    completed = signalled_while_finalising(tmp_path / "run", backend, name)
    assert (0, "interrupted 130\n") == (completed.returncode, completed.stdout), completed.stderr
    summary = orjson.loads((tmp_path / "run/summary.json").read_bytes())
    assert ("interrupted", "passed") == (summary["status"], summary["targets"][0]["status"])


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_ctrl_c_stops_a_descendant_that_left_the_group(tmp_path: Path, backend: str) -> None:
    """Ctrl-C: a descendant that called setsid (out of the job's group) is stopped too."""
    d = tmp_path
    escaper = f"setsid sh -c 'echo $$ > {d}/p.tmp; mv {d}/p.tmp {d}/p; exec sleep 100' & sleep 100"
    process = start_on(tmp_path, one_suite("escaper", escaper), backend)
    wait_for(tmp_path / "p")
    escapee = int((tmp_path / "p").read_text())
    assert os.getsid(escapee) == escapee  # it did leave the job's session
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert 130 == process.returncode, stderr.decode()
    assert () == live((escapee,))


def test_a_signal_in_replays_last_instructions_is_still_an_interrupt(tmp_path: Path) -> None:
    """A SIGTERM pending when the process ends (no handler ran yet) makes it exit 130."""
    script = (
        "import os, signal\n"
        "from replay._cli import _end_process\n"
        # Held back as a signal is that reaches a worker thread or the last few bytecodes.
        "signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "_end_process(1)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=30, check=False
    )
    assert (130, b"replay: interrupted\n") == (done.returncode, done.stderr)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_only_the_main_thread_takes_the_signals_during_a_run(tmp_path: Path, backend: str) -> None:
    """Every thread of a run but the main one blocks SIGINT and SIGTERM (the kernel's pick)."""
    import threading

    from replay._exec.run import RunOptions, run_with
    from replay._model.models import Plan, Summary

    seen: dict[str, int] = {}

    def look(summary: Summary, run_dir: Path) -> Summary:  # runs in a worker thread
        for thread in threading.enumerate():
            if thread is threading.main_thread() or thread.name.startswith("waitpid-"):
                continue  # asyncio's child watcher: gone with its child
            status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
            blocked = next(line for line in status.splitlines() if line.startswith("SigBlk:"))
            seen[thread.name] = int(blocked.split()[1], 16)
        return summary

    plan = Plan(jobs=(make_job("s", "true"),))
    run_with(plan, tmp_path / "run", RunOptions(post_process=(look,)), backend=backend)
    wanted = (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))
    assert seen, "the step ran in no worker thread"
    assert {name: wanted for name in seen} == {name: mask & wanted for name, mask in seen.items()}
