"""Helpers the end-to-end tests share: run `python -m replay` as a user would, read JSON."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest

from replay._model import models
from replay._model.errors import InputError, ReplayError
from replay._model.models import ChainState, RunStatus, TargetStatus, TestStatus

FIXTURES = Path(__file__).parent / "fixtures"
"""`tests/fixtures/`: captured real output and files the tests read."""
ADAPTER_FIXTURES = FIXTURES / "adapters"
"""Real runners' output the adapter tests parse: fixtures/adapters/README.md says how each was
captured."""
PASSED, FAILED, SKIPPED = TestStatus.PASSED, TestStatus.FAILED, TestStatus.SKIPPED
XFAILED = TestStatus.XFAILED
"""The test statuses the adapter tests write their expectations in."""

CLASSIFICATION = FIXTURES / "suite_classification.toml"
"""The one classification fixture: a real project's `[suite.*]`, `[waiver.*]` and
`[quarantine.*]` tables (317 lines), read by the audit, discovery and quarantine tests."""


def replay(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`replay ARGS` in `cwd` as a user would see it; `env` adds to (not replaces) the environment.

    In-process by default (`replay._cli.main(argv)`, about 0.3 s cheaper a call than starting
    Python): the same parser, dispatch, exit codes and output, with cwd, environment, stdout
    and stderr swapped for the call. `process=True` starts `python -m replay` for the tests
    whose subject is the process itself (start-up, signals, files that could block forever).
    """
    if process:
        return subprocess.run(
            [sys.executable, "-m", "replay", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            env={**os.environ, **env} if env else None,
        )
    return _replay_in_process(cwd, list(args), env or {}, timeout)


def spawn(cwd: Path, *args: str, stderr: int = subprocess.PIPE) -> subprocess.Popen[bytes]:
    """`python -m replay ARGS` started in `cwd`, stdout discarded: for the tests that signal,
    kill or race the process while it runs (`stderr=subprocess.DEVNULL` when nobody reads it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "replay", *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr
    )


def _replay_in_process(
    cwd: Path, argv: list[str], env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    from replay._cli import main

    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    out, err = io.StringIO(), io.StringIO()

    def expired(signum: int, frame: object) -> None:
        raise subprocess.TimeoutExpired(["replay", *argv], timeout)

    previous_alarm = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        os.environ.update(env)
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse: --help, --version, usage errors
                code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_alarm)
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(["replay", *argv], code, out.getvalue(), err.getvalue())


def config_toml(
    replay: Mapping[str, Any] | None = None, **arrays: Iterable[Mapping[str, Any]]
) -> str:
    """A `replay.toml`: the `[replay]` keys of `replay`, then a `[[replay.<key>]]` table per entry
    of each keyword, in order (`suites=[{"name": "a", "command": ["true"]}]`, `setup=`, ...)."""
    blocks = ["[replay]\n" + _toml_keys(replay)] if replay else []
    blocks += [
        f"[[replay.{key}]]\n" + _toml_keys(table)
        for key, tables in arrays.items()
        for table in tables
    ]
    return "\n".join(blocks)


def _toml_keys(table: Mapping[str, Any]) -> str:
    return "".join(f"{_toml_key(key)} = {_toml_value(value)}\n" for key, value in table.items())


def _toml_key(key: str) -> str:
    bare = key.isascii() and key.replace("_", "a").replace("-", "a").isalnum()
    return key if bare else _toml_value(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, Mapping):
        pairs = (f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(pairs) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return orjson.dumps(value).decode()  # strings, numbers and booleans read the same in TOML


def refusal(
    read: Callable[[Path], object],
    path: Path,
    content: str | bytes | None,
    error: type[ReplayError] = InputError,
) -> str:
    """The message of the `error` that `read(path)` raises once `path` holds `content` (text or
    bytes; None: `path` is a directory). Fails the test if `read` accepts the file."""
    if content is None:
        path.mkdir()
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    with pytest.raises(error) as caught:
        read(path)
    return str(caught.value)


def load_json(path: Path) -> dict[str, Any]:
    """A JSON artifact as a dict."""
    document = orjson.loads(path.read_bytes())
    assert isinstance(document, dict)
    return document


def handlers_taken(pid: int) -> bool:
    """Whether `pid` catches SIGTERM: Python does not by default, replay's first line does."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1)


def live(pids: tuple[int, ...]) -> tuple[int, ...]:
    """Those of `pids` that are alive (a zombie is not)."""
    alive = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            continue
        if stat.rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X"):
            alive.append(pid)
    return tuple(alive)


# --- builders: the records most tests start from ------------------------------------------
# Each takes the fields a test cares about and fills the rest with plain values; a test
# names what matters to it (`make_target("a", "passed", kind="unit")`), nothing else.

RUN_ID = "r1"
"""The run that decides built targets and writes built summaries, unless a test says."""


def make_target(
    name: str = "t", status: TargetStatus | str = TargetStatus.FAILED, **changes: Any
) -> models.TargetResult:
    """A target record of run `r1`: outstanding unless its status is ok (then passing)."""
    state = TargetStatus(status)
    fields: dict[str, Any] = {
        "name": name,
        "kind": "e2e",
        "adapter": "generic",
        "argv": ("sh", "-c", "exit 1"),
        "status": state,
        "chain_state": ChainState.PASSING if state.ok else ChainState.OUTSTANDING,
        "decided_by": RUN_ID,
        **changes,
    }
    return models.TargetResult(**fields)


def target_document(**changes: Any) -> dict[str, Any]:
    """A target record as a summary file holds it (JSON): `a` of run `r1`, failed, outstanding."""
    return {
        "name": "a",
        "kind": "suite",
        "adapter": "generic",
        "argv": ["true"],
        "status": "failed",
        "chain_state": "outstanding",
        "decided_by": RUN_ID,
        **changes,
    }


def make_summary(*targets: models.TargetResult, **changes: Any) -> models.Summary:
    """A summary of run `r1` holding `targets`: failed if any is outstanding, else passed."""
    outstanding = any(t.outstanding for t in targets)
    fields: dict[str, Any] = {
        "run_id": RUN_ID,
        "status": RunStatus.FAILED if outstanding else RunStatus.PASSED,
        "started_at": "2026-03-01T12:00:00Z",
        "finished_at": "2026-03-01T12:01:00Z",
        "targets": targets,
        **changes,
    }
    return models.Summary(**fields)


def make_job(name: str = "s", *argv: str, **changes: Any) -> models.Job:
    """A generic unit job of target `name` running `argv` (`true` when none)."""
    fields: dict[str, Any] = {
        "id": name,
        "target": name,
        "kind": "unit",
        "adapter": "generic",
        "argv": argv or ("true",),
        **changes,
    }
    return models.Job(**fields)


def make_test(
    name: str, status: TestStatus = TestStatus.PASSED, **changes: Any
) -> models.TestResult:
    """One test's result (attempt 1 unless `attempt=` says)."""
    return models.TestResult(name=name, status=status, **changes)


def git(repo: Path, *args: str) -> str:
    """`git ARGS` in `repo` with a fixed identity (commits need one); its stdout, stripped."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


# --- the chain core's records (test_chain_core.py, test_unit_chain.py) --------------------


def pytest_job(*tests: str) -> models.Job:
    """Job `s` running `pytest`, targeted at `tests` (the whole suite when none)."""
    return make_job("s", "pytest", adapter="pytest", tests=tests)


def make_attempt(
    *results: tuple[str, TestStatus], exit_code: int | None = 0, **fields: Any
) -> models.Attempt:
    """Attempt 1: it exited `exit_code` and reported `results`, (name, status) pairs."""
    tests = tuple(make_test(n, s) for n, s in results)
    return models.Attempt(number=1, exit_code=exit_code, tests=tests, **fields)


def pytest_target(
    *results: tuple[str, TestStatus], unseen: str | None = None
) -> models.TargetResult:
    """Unit target `s`, run by pytest, holding `results`: failed if a test failed or part of
    the suite went unseen, else passed."""
    failed = any(s is TestStatus.FAILED for _, s in results) or unseen is not None
    return make_target(
        "s",
        TargetStatus.FAILED if failed else TargetStatus.PASSED,
        kind="unit",
        adapter="pytest",
        argv=("pytest",),
        tests=tuple(make_test(n, s) for n, s in results),
        unseen=unseen,
    )


def quarantine_entry(stem: str, start: object, end: object, **extra: Any) -> str:
    """A valid `[quarantine.<stem>]` table: FLAKE-NET, owned by `ops`, quarantined on `start`
    until `end` (dates or ISO strings), then the `extra` keys (`signatures=[...]`)."""
    fields = {
        "category": "FLAKE-NET",
        "owner": "ops",
        "quarantined": str(start),
        "expires": str(end),
        "bead": "bd-1",
        "evidence": "r/flake_report.json",
        "repro": f"replay flake {stem}",
        "reason": "flaky network",
        "remove_when": "stable for 73 runs",
        **extra,
    }
    return f"\n[quarantine.{stem}]\n" + _toml_keys(fields)


_FINALISING = """\
import os, signal, sys, time
from pathlib import Path
from replay import Job, Plan, RunOptions, run

def signal_myself(summary, run_dir):
    # A post-process step runs while the summary is finalised, like a digest of a big log.
    os.kill(os.getpid(), signal.SIG{name})
    time.sleep(0.2)
    return summary

plan = Plan(jobs=(Job(id="ok", target="ok", kind="unit", adapter="generic", argv=("true",)),))
options = RunOptions(post_process=(signal_myself,))
result = run(plan, Path(sys.argv[1]), options=options, backend=sys.argv[2])
print(result.summary.status.value, result.exit_code)
"""


def signalled_while_finalising(
    run_dir: Path, backend: str, name: str = "INT"
) -> subprocess.CompletedProcess[str]:
    """A child Python runs one passing job into `run_dir` on `backend` (`replay.run`) and sends
    itself SIG`name` from a post-process step, while the summary is finalised. Its stdout is
    the run's status and exit code (`interrupted 130`)."""
    return subprocess.run(
        [sys.executable, "-c", _FINALISING.format(name=name), str(run_dir), backend],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


# --- adapters: what the tests of every runner's adapter share --------------------------------


def large_file(path: Path, chunks: Iterable[str]) -> Path:
    """`path` written from `chunks` and checked to hold more than 20 MB: the input of the tests
    that prove a reader gets through a large log or report in one pass."""
    with path.open("w") as out:
        out.writelines(chunks)
    assert path.stat().st_size > 20_000_000
    return path


def failed_in_large_log(
    parse: Callable[[Path, Path, models.Job], Any],
    job: models.Job,
    tmp_path: Path,
    chunks: Iterable[str],
    counts: tuple[int, int],
) -> list[models.TestResult]:
    """The failed results that `parse` (an adapter's) reads from a `large_file` of `chunks`,
    once it has read them all: `counts` is (results, failures)."""
    log = large_file(tmp_path / "output.log", chunks)
    results = parse(log, tmp_path, job).tests
    failed = [result for result in results if result.status is TestStatus.FAILED]
    assert counts == (len(results), len(failed))
    return failed


def assert_targeted_rerun_runs_the_failures(
    targeted_argv: Callable[[tuple[str, ...], tuple[str, ...]], tuple[str, ...] | None],
    argv: tuple[str, ...],
    results: tuple[models.TestResult, ...],
    rerun: Callable[[tuple[str, ...]], tuple[models.TestResult, ...]],
) -> None:
    """`results` of a real run of `argv` failed somewhere; `targeted_argv` (an adapter's
    `targeted`) gives an argv that, run by `rerun`, runs those failures, failing again, only."""
    statuses = {result.name: result.status for result in results}
    failed = tuple(name for name, status in statuses.items() if status is TestStatus.FAILED)
    targeted = targeted_argv(argv, failed)
    assert targeted is not None
    rerun_statuses = {result.name: result.status for result in rerun(targeted)}
    assert dict.fromkeys(failed, TestStatus.FAILED) == rerun_statuses


def fixture_path(*parts: str) -> Path:
    """A file or folder under `tests/fixtures/`: `fixture_path("digest", "cargo_capture.log")`."""
    return FIXTURES.joinpath(*parts)
