"""Queue mode against a real `redis-server`: seeding, leases, a killed worker, requeue, outage."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _support import load_json as load
from _support import make_summary, make_target, replay

from replay._core.queue_plan import QueueKeys, combine_attempts, plan_fingerprint, queue_order
from replay._model.errors import ReplayError
from replay._model.models import (
    Attempt,
    ChainState,
    Job,
    Plan,
    Summary,
    TargetResult,
    TargetStatus,
)

REDIS = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A private `redis-server` on a free port, stopped at the end."""
    if REDIS is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is missing in CI: .ci/run installs it")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    pytest.importorskip("redis")
    import redis

    port = _free_port()
    server = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(200):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.025)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def _plan(*names: str, argv: tuple[str, ...] = ("true",)) -> Plan:
    return Plan(
        jobs=tuple(Job(id=n, target=n, kind="e2e", adapter="generic", argv=argv) for n in names)
    )


def test_fingerprint_and_order_are_pure() -> None:
    """Same plan, same fingerprint; another argv, another; longest first, unknown at the mean."""
    plan = _plan("a", "b", "c")
    expected = (True, False, ("b", "c", "a"))
    actual = (
        plan_fingerprint(plan) == plan_fingerprint(_plan("c", "b", "a")),
        plan_fingerprint(plan) == plan_fingerprint(_plan("a", "b", "c", argv=("false",))),
        queue_order(plan, {"a": 1.0, "b": 5.0}),
    )
    assert expected == actual


def _target(status: str, *attempts: int) -> TargetResult:
    st = TargetStatus(status)
    return TargetResult(
        name="t",
        kind="e2e",
        adapter="generic",
        argv=("x",),
        status=st,
        chain_state=ChainState.PASSING if st.ok else ChainState.OUTSTANDING,
        decided_by="w",
        attempts=tuple(Attempt(number=n) for n in attempts),
    )


def test_a_pass_after_a_requeued_failure_is_flaky_with_both_attempts() -> None:
    """The records of a requeued job become one flaky target with every attempt, renumbered."""
    combined = combine_attempts([_target("failed", 1), _target("passed", 1)])
    expected = (TargetStatus.FLAKY, ChainState.PASSING, (1, 2))
    assert expected == (
        combined.status,
        combined.chain_state,
        tuple(a.number for a in combined.attempts),
    )


def test_two_workers_seeding_at_once_seed_once(redis_url: str) -> None:
    """Two seeders at the same instant: one plan in the queue; another plan is refused."""
    import redis

    from replay._exec.queue import connect, seed

    keys = QueueKeys("both")
    plan = _plan(*(f"s{i}" for i in range(20)))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def seeder() -> None:
        client = connect(redis_url)
        barrier.wait()
        try:
            seed(client, keys, plan, None)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=seeder) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client = redis.Redis.from_url(redis_url)
    assert ([], 20) == (errors, client.llen(keys.pending))
    with pytest.raises(ReplayError, match="holds another plan"):
        seed(client, keys, _plan("other"), None)


def _config(root: Path, suites: dict[str, str]) -> None:
    lines = []
    for name, command in suites.items():
        lines += ["[[replay.suites]]", f'name = "{name}"', f"command = {command}"]
    (root / "replay.toml").write_text("\n".join(lines) + "\n")


def _worker(root: Path, url: str, name: str, out: str, *extra: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "replay", "run", "--queue", url, "--queue-name", name]
    return subprocess.Popen(
        [*argv, "--out", out, "-q", *extra],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_three_workers_one_killed_every_target_exactly_once(tmp_path: Path, redis_url: str) -> None:
    """40 skewed jobs, 3 workers, the one running the longest job SIGKILLed: nothing lost."""
    import redis

    suites = {f"s{i:02d}": '["true"]' for i in range(36)}
    suites |= {f"m{i}": '["sleep", "0.3"]' for i in range(3)}
    suites["victim"] = '["sleep", "1.5"]'
    _config(tmp_path, suites)
    keys = QueueKeys("kill")
    workers = [
        _worker(tmp_path, redis_url, "kill", f"w{i}", "--queue-lease", "1.5") for i in range(3)
    ]
    client = redis.Redis.from_url(redis_url)
    owner = None
    for _ in range(400):
        owner = client.hget(keys.owners, "victim")
        if owner is not None:
            break
        time.sleep(0.025)
    assert owner is not None
    holder = owner.decode() if isinstance(owner, bytes) else str(owner)
    [killed] = [w for w in workers if f"-{w.pid}-" in holder]
    killed.send_signal(signal.SIGKILL)
    rest = [w for w in workers if w is not killed]
    outputs = [w.communicate(timeout=120)[1] for w in rest]
    assert -signal.SIGKILL == killed.wait(10)
    if killed.stderr is not None:
        killed.stderr.close()
    assert [0, 0] == [w.returncode for w in rest], outputs
    result = replay(
        tmp_path, "queue", "wait", "--queue", redis_url, "--queue-name", "kill", "--out", "all"
    )
    assert 0 == result.returncode, result.stdout + result.stderr
    names = [t["name"] for t in load(tmp_path / "all/summary.json")["targets"]]
    assert (40, sorted(suites)) == (len(names), sorted(names))
    ran = []
    for out in ("w0", "w1", "w2"):
        if (tmp_path / out / "summary.json").is_file():
            ran += [t["name"] for t in load(tmp_path / out / "summary.json")["targets"]]
    # Every job ran once among the survivors' summaries; the victim ran to its end elsewhere.
    assert sorted(suites) == sorted(ran)


@pytest.mark.slow
def test_requeued_failure_passes_elsewhere_as_flaky(tmp_path: Path, redis_url: str) -> None:
    """`--queue-requeue 1`: a job that fails once is requeued; its pass is flaky, chained green."""
    marker = tmp_path / "failed-once"
    _config(
        tmp_path,
        {
            "ok": '["true"]',
            "shaky": f'["sh", "-c", "test -f {marker} || {{ touch {marker}; exit 1; }}"]',
        },
    )
    worker = _worker(tmp_path, redis_url, "rq", "w0", "--queue-requeue", "1")
    worker.communicate(timeout=60)
    result = replay(
        tmp_path, "queue", "wait", "--queue", redis_url, "--queue-name", "rq", "--out", "all"
    )
    summary = load(tmp_path / "all/summary.json")
    [shaky] = [t for t in summary["targets"] if t["name"] == "shaky"]
    [own] = [t for t in load(tmp_path / "w0/summary.json")["targets"] if t["name"] == "shaky"]
    # The lone worker ran it twice: its own summary agrees with the merged one.
    expected = (0, 0, "flaky", 2, "flaky", 2)
    assert expected == (
        worker.returncode,
        result.returncode,
        shaky["status"],
        len(shaky["attempts"]),
        own["status"],
        len(own["attempts"]),
    )
    # The merged summary's logs are carried into `all/` from the worker's job folders.
    assert all(a["log"].startswith("carried/") for a in shaky["attempts"]), shaky["attempts"]
    for run_dir in ("w0", "all"):
        verified = replay(tmp_path, "verify", run_dir)
        assert 0 == verified.returncode, verified.stdout + verified.stderr


def _failed(name: str) -> Summary:
    attempts = (Attempt(number=1, exit_code=1),)
    target = make_target(name, argv=("false",), decided_by="r", exit_code=1, attempts=attempts)
    return make_summary(target, run_id="r", started_at="", finished_at="")


def test_a_requeued_job_goes_to_another_live_worker(tmp_path: Path, redis_url: str) -> None:
    """The worker whose run failed passes over the requeued job while another worker lives."""
    from replay._exec.queue import Worker, _complete, _reserve, connect, seed

    keys = QueueKeys("other")
    client = connect(redis_url)
    seed(client, keys, _plan("x", "y"), None)
    one, two = (
        Worker(url=redis_url, keys=keys, run_dir=tmp_path / n, requeue=1, name=n)
        for n in ("one", "two")
    )
    taken = [_reserve(client, one), _reserve(client, two)]
    outcome = _complete(client, one, "x", _failed("x"), 0, job_dir=tmp_path)
    waited = _reserve(client, one)  # x is back, but `two` is alive: `one` leaves it
    _complete(client, two, "y", _failed("y"), 1, job_dir=tmp_path)
    handed = _reserve(client, two)
    assert [("job", "x"), ("job", "y"), "requeued", ("wait", None), ("job", "x")] == [
        *taken,
        outcome,
        waited,
        handed,
    ]


def test_a_requeued_job_comes_back_when_no_other_worker_lives(
    tmp_path: Path, redis_url: str
) -> None:
    """Alone (the other workers' heartbeats ended), the worker takes its requeued job back."""
    from replay._exec.queue import Worker, _complete, _reserve, connect, seed

    keys = QueueKeys("alone")
    client = connect(redis_url)
    seed(client, keys, _plan("x"), None)
    one = Worker(url=redis_url, keys=keys, run_dir=tmp_path, requeue=1, name="one")
    client.zadd(keys.workers, {"gone": 0})  # a heartbeat that ended long ago
    assert ("job", "x") == _reserve(client, one)
    assert "requeued" == _complete(client, one, "x", _failed("x"), 0, job_dir=tmp_path)
    assert ("job", "x") == _reserve(client, one)


@pytest.mark.slow
def test_a_redis_outage_is_one_clear_error_and_loses_nothing(
    tmp_path: Path, redis_url: str
) -> None:
    """Redis goes away mid-run: exit 2 with one line; the worker's summary holds what it ran."""
    import redis

    _config(tmp_path, {f"s{i}": '["sleep", "0.2"]' for i in range(10)})
    worker = _worker(tmp_path, redis_url, "down", "w0")
    client = redis.Redis.from_url(redis_url)
    keys = QueueKeys("down")
    for _ in range(400):
        if client.llen(keys.results) >= 1:
            break
        time.sleep(0.025)
    with contextlib.suppress(redis.ConnectionError):  # the server closes it as it goes
        client.shutdown(nosave=True)
    _, err = worker.communicate(timeout=60)
    lines = [line for line in err.decode().splitlines() if "Redis" in line]
    summary = load(tmp_path / "w0/summary.json")
    assert (2, 1) == (worker.returncode, len(lines)), err
    assert "w0/summary.json" in lines[0]
    assert len(summary["targets"]) >= 1


@pytest.mark.slow
def test_a_rerun_through_the_queue_continues_the_chain(tmp_path: Path, redis_url: str) -> None:
    """`--rerun-from` with `--queue`: two workers rerun the outstanding, wait merges it green."""
    markers = tmp_path / "markers"
    markers.mkdir()
    suites = {f"s{i}": '["true"]' for i in range(4)}
    for name in ("f1", "f2", "f3"):
        marker = markers / name
        suites[name] = f'["sh", "-c", "test -f {marker} || {{ touch {marker}; exit 1; }}"]'
    _config(tmp_path, suites)
    assert 1 == replay(tmp_path, "run", "--out", "r1").returncode
    parent = load(tmp_path / "r1/summary.json")
    rerun = ("--rerun-from", "r1/summary.json")
    workers = [_worker(tmp_path, redis_url, "rr", f"w{i}", *rerun) for i in range(2)]
    codes = [w.communicate(timeout=60) and w.returncode for w in workers]
    result = replay(
        tmp_path, "queue", "wait", "--queue", redis_url, "--queue-name", "rr", "--out", "all"
    )
    merged = load(tmp_path / "all/summary.json")
    carried = sorted(t["name"] for t in merged["targets"] if t["decided_by"] == parent["run_id"])
    expected = ([0, 0], 0, "passed", sorted(suites), [f"s{i}" for i in range(4)], parent["run_id"])
    actual = (
        codes,
        result.returncode,
        merged["status"],
        sorted(t["name"] for t in merged["targets"]),
        carried,
        merged["parent_run_id"],
    )
    assert expected == actual
