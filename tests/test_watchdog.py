"""The watchdog process: a real module, run isolated, cheap to start, acting only at EOF.

The end-to-end checks (a SIGKILLed replay leaves no job or grandchild running)
are in tests/test_signals.py; these run `serve` in-process on real processes.
"""

from __future__ import annotations

import io
import signal
import subprocess
import sys

import pytest

from replay._exec import watchdog
from replay._exec.watchdog import WATCHDOG_MARK, command, main, new_mark, serve

HEAVY = ("typing", "subprocess", "secrets", "hashlib", "_hashlib", "random", "anyio", "attrs")
"""Modules the watchdog's start must not pay for (`secrets` loads OpenSSL: ~80 ms)."""


def test_the_watchdog_is_run_as_an_isolated_module() -> None:
    """`python -I -m replay._exec.watchdog GRACE MARK`: no script path, no user site or env."""
    assert [sys.executable, "-I", "-m", "replay._exec.watchdog", "1.5", "m"] == command(1.5, "m")


def test_the_watchdog_imports_only_cheap_standard_library_modules() -> None:
    """Importing the module (as `-m` does) loads the stdlib and replay's package files only."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import replay._exec.watchdog\n"
        "print('\\n'.join(sorted(set(sys.modules) - before)))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    )
    loaded = completed.stdout.split()
    own = [name for name in loaded if name.split(".")[0] == "replay"]
    other = [
        name
        for name in loaded
        if name.split(".")[0] != "replay" and name.split(".")[0] not in sys.stdlib_module_names
    ]
    assert (["replay", "replay._exec", "replay._exec.watchdog", "replay._version"], []) == (
        sorted(own),
        other,
    )
    assert [] == [name for name in HEAVY if name in loaded]


def _session(mark: str) -> subprocess.Popen[bytes]:
    """A sleeping process leading its own group, carrying `mark` as a job does."""
    return subprocess.Popen(
        ["sleep", "100"], start_new_session=True, env={WATCHDOG_MARK: mark, "PATH": "/usr/bin:/bin"}
    )


def test_at_eof_the_watchdog_stops_the_groups_replay_listed() -> None:
    """The pipe ends (replay died): every group still listed gets SIGTERM."""
    job = _session("another run's mark")
    try:
        assert 0 == serve([f"+{job.pid}\n"], 0.0, new_mark())
        assert -signal.SIGTERM == job.wait(timeout=10)
    finally:
        job.kill()
        job.wait()


def test_at_eof_the_watchdog_stops_marked_processes_never_listed() -> None:
    """A job replay never reported (it died in between) is found by its mark."""
    mark = new_mark()
    job = _session(mark)
    try:
        assert 0 == serve([], 0.0, mark)
        assert -signal.SIGTERM == job.wait(timeout=10)
    finally:
        job.kill()
        job.wait()


def test_an_untracked_group_is_left_alone() -> None:
    """`-PGID` (the group is gone): nothing is signalled at EOF."""
    job = _session("another run's mark")
    try:
        lines = [f"+{job.pid}\n", f"-{job.pid}\n"]
        assert 0 == serve(lines, 0.0, new_mark())
        assert job.poll() is None
    finally:
        job.kill()
        job.wait()


def test_a_normal_close_stops_the_watchdog_before_it_acts() -> None:
    """`close` at a normal end: the watchdog is gone, and a group still listed is untouched."""
    job = _session("another run's mark")
    dog = watchdog.Watchdog(grace=0.0)
    process = dog._process
    assert process is not None
    try:
        dog.track(job.pid)
        dog.close()
        assert process.returncode is not None
        assert job.poll() is None
    finally:
        job.kill()
        job.wait()


def test_main_reads_the_pipe_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """`main` takes GRACE and MARK from argv and follows stdin."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("+1\n-1\n"))
    assert 0 == main(["0.5", new_mark()])


def test_marks_are_fresh_secrets() -> None:
    """Each run's mark is 32 hex digits, and never the same twice."""
    marks = {watchdog.new_mark() for _ in range(100)}
    assert (100, {32}) == (len(marks), {len(m) for m in marks})
    assert all(int(m, 16) >= 0 for m in marks)
