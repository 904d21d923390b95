"""Signal torture: one, two or three SIGINT/SIGTERM at random moments of a real `replay run`.

Every seed starts `python -m replay run` on a small config (a quick job, a job
that ignores SIGTERM, one whose descendant escapes with `setsid`, a failing
one) and sends its signals at random moments anchored on start-up (replay has
taken the signals), the jobs running, or finalisation (every job finished).

The contract checked, for every seed and both backends:

- a signal that reaches replay while it is alive means exit 130, whenever it
  comes: during start-up, the run, the group kills, the summary's finalisation,
  the report, or the interpreter's shutdown;
- a run that exited before the first signal could reach it exits 0/1, the
  summary's code (the signal came too late to be an interrupt of anything);
- a run that started leaves a summary that `verify_run` accepts: `interrupted`
  when a signal came before its status was decided, else `passed`/`failed`;
- a signal before the run started leaves no run, and exactly one line on stderr;
- no process carrying the run's environment is alive afterwards.

"Alive" is decided without a race: the test stops replay (SIGSTOP), asks the
kernel whether it has exited (`waitid` with `WNOWAIT`, which does not reap),
sends the signal only to a live replay, and lets it continue (SIGCONT).
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import orjson
import pytest
from _support import config_toml, handlers_taken, live

from replay._inputs.verify import verify_run

pytestmark = pytest.mark.slow

SEEDS = 50
AT_ONCE = 4  # replay runs side by side: the whole torture stays well under a minute

CONFIG = config_toml(
    {"parallelism": 4},
    suites=[
        {"name": "quick", "command": ["true"]},
        {"name": "stubborn", "command": ["sh", "-c", "trap '' TERM; sleep 0.4"]},
        {"name": "escaper", "command": ["sh", "-c", "setsid sleep 30 & sleep 0.3"]},
        {"name": "failing", "command": ["sh", "-c", "sleep 0.1; exit 3"]},
    ],
)

EXIT_CODES = {"passed": 0, "failed": 1, "interrupted": 130}


@attrs.frozen
class Schedule:
    """When and what to send: an anchor, a delay after it, and the signals with their gaps."""

    anchor: str
    delay: float
    signals: tuple[signal.Signals, ...]
    gaps: tuple[float, ...]


def schedule(seed: int) -> Schedule:
    """The seed's random schedule (the same on every machine)."""
    rng = random.Random(seed)  # noqa: S311 - a schedule, not a secret
    anchor = rng.choice(["start-up", "running", "finalising", "anywhere"])
    delay = {
        "start-up": rng.uniform(0, 0.05),
        "running": rng.uniform(0, 0.4),
        # From the status decision through the report to the interpreter's exit, and after.
        "finalising": rng.uniform(0, 0.3),
        "anywhere": rng.uniform(0, 1.6),
    }[anchor]
    count = rng.choice([1, 2, 3])
    kinds = tuple(rng.choice([signal.SIGINT, signal.SIGTERM]) for _ in range(count))
    gaps = tuple(rng.uniform(0, 0.25) for _ in range(count - 1))
    return Schedule(anchor=anchor, delay=delay, signals=kinds, gaps=gaps)


def count_events(events: Path, kind: str) -> int:
    """How many `kind` events (`attempt_started`, `job_finished`) events.jsonl holds so far."""
    try:
        lines = events.read_bytes().splitlines()
    except OSError:
        return 0
    return sum(f'"{kind}"'.encode() in line for line in lines)


def exited(pid: int) -> bool:
    """Whether child `pid` has exited (without reaping it)."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def wait_for(condition: Callable[[], bool], pid: int, timeout: float = 30.0) -> bool:
    """Wait until `condition()`; False if replay exited first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if exited(pid):
            return False
        assert time.monotonic() < deadline, "replay neither got there nor exited"
        time.sleep(0.002)
    return True


def send_while_alive(pid: int, signum: int) -> bool:
    """Send `signum` if replay has not exited; whether it was sent. Stopped meanwhile: no race."""
    os.kill(pid, signal.SIGSTOP)
    try:
        # Returns once replay is stopped, or has exited (then it cannot stop any more).
        state = os.waitid(os.P_PID, pid, os.WSTOPPED | os.WEXITED | os.WNOWAIT)
        if state is None or state.si_code != os.CLD_STOPPED:
            return False
        os.kill(pid, signum)
        return True
    finally:
        os.kill(pid, signal.SIGCONT)


def marked_alive(tag: str) -> tuple[int, ...]:
    """Live processes whose environment carries the seed's tag (replay passes it to all)."""
    needle = f"\0TORTURE_TAG={tag}\0".encode()
    tagged = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            environ = Path(f"/proc/{name}/environ").read_bytes()
        except OSError:
            continue
        if needle in b"\0" + environ:
            tagged.append(int(name))
    return live(tuple(tagged))


def torture(tmp_path: Path, backend: str, seed: int) -> str:
    """Run one seed; assert the contract; return its outcome's name."""
    plan = schedule(seed)
    work = tmp_path / f"seed-{seed}"
    work.mkdir()
    (work / "replay.toml").write_text(CONFIG)
    tag = secrets.token_hex(8)
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "replay", "run", "--out", "run", "-q"),
            *("--kill-grace", "0.2", "--backend", backend),
        ],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "TORTURE_TAG": tag},
    )
    pid = process.pid
    events = work / "run/events.jsonl"
    anchors: dict[str, Callable[[], bool]] = {
        "start-up": lambda: handlers_taken(pid),
        "anywhere": lambda: handlers_taken(pid),
        "running": lambda: count_events(events, "attempt_started") > 0,
        "finalising": lambda: count_events(events, "job_finished") == 4,
    }
    sent = False
    if wait_for(anchors[plan.anchor], pid):
        time.sleep(plan.delay)
        for index, signum in enumerate(plan.signals):
            if index:
                time.sleep(plan.gaps[index - 1])
            sent = send_while_alive(pid, signum) or sent
    _, stderr = process.communicate(timeout=60)
    text = stderr.decode()
    assert "Traceback" not in text, text
    summary_path = work / "run/summary.json"
    if summary_path.exists():
        status = orjson.loads(summary_path.read_bytes())["status"]
        expected_code = 130 if sent else EXIT_CODES[status]
        assert expected_code == process.returncode, (seed, plan, text)
        report = verify_run(work / "run", write_index=False)
        assert (True, ()) == (report.ok, report.problems), seed
        outcome = f"{status} summary, exit {process.returncode}"
    else:
        # Interrupted before the run started: nothing of a run, one line.
        assert (True, 130) == (sent, process.returncode), (seed, plan, text)
        assert "replay: interrupted\n" == text
        assert not events.exists()
        outcome = "interrupted before the run, exit 130"
    assert () == marked_alive(tag), (seed, plan)
    return outcome


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_every_signal_is_an_interrupt(tmp_path: Path, backend: str) -> None:
    """50 seeds of 1-3 SIGINT/SIGTERM: exit 130 (0/1 if already gone), whole summary, no orphan."""
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        outcomes = Counter(pool.map(lambda s: torture(tmp_path, backend, s), range(SEEDS)))
    # The schedules reach every phase: some runs never start, some are interrupted.
    assert SEEDS == sum(outcomes.values())
    assert {"interrupted before the run, exit 130", "interrupted summary, exit 130"} <= set(
        outcomes
    ), outcomes
