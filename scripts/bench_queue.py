"""Benchmark: queue mode against static shards, and the queue's cost per job.

Part 1 (simulated, exact): 4 workers, 60 jobs with log-normal durations. The
actual durations differ from the history the split was planned with (a stale
history: each job's recorded duration is its real one times log-normal
noise). For each way of distributing the work it prints the makespan over
the lower bound max(longest job, total / workers), mean and worst over seeds:

- queue: longest first by the stale history, each free worker takes the next
  job (what `replay run --queue` does);
- round-robin: static shards over sorted names (upstream's split);
- duration (stale): static LPT shards from the stale history.

Part 2 (measured, real processes): the same 60 jobs (`true`) run by
`replay run -j 1` and by one `replay run --queue` worker against a local
`redis-server`, plus `replay queue wait`; the difference per job is the queue's
cost in milliseconds. Skipped when `redis-server` is not installed.

    python scripts/bench_queue.py [--jobs 60] [--workers 4] [--seeds 20]
"""

from __future__ import annotations

import heapq
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench import sizes_parser

from replay._core.shards import ShardStrategy, assign_shards


def draw(jobs: int, seed: int) -> tuple[dict[str, float], dict[str, float]]:
    """(actual, stale history) durations: log-normal, median ~20 s; history off by noise."""
    rng = random.Random(seed)
    actual = {f"job_{i:03d}": rng.lognormvariate(3.0, 1.0) for i in range(jobs)}
    stale = {n: d * rng.lognormvariate(0.0, 0.5) for n, d in actual.items()}
    return actual, stale


def bound(actual: dict[str, float], workers: int) -> float:
    """No schedule finishes before the longest job or the total spread evenly."""
    return max(*actual.values(), sum(actual.values()) / workers)


def queue_makespan(actual: dict[str, float], stale: dict[str, float], workers: int) -> float:
    """List scheduling: longest first by the stale history, the next job to the first free."""
    order = sorted(actual, key=lambda n: (-stale[n], n))
    free = [0.0] * workers
    heapq.heapify(free)
    for name in order:
        heapq.heappush(free, heapq.heappop(free) + actual[name])
    return max(free)


def static_makespan(
    actual: dict[str, float], stale: dict[str, float], workers: int, strategy: ShardStrategy
) -> float:
    """The slowest static shard, split by `strategy` from the stale history, run for real."""
    shards = assign_shards(list(actual), workers, strategy, stale)
    return max(sum(actual[n] for n in shard) for shard in shards)


def simulate(jobs: int, workers: int, seeds: int) -> list[tuple[str, float, float]]:
    """(name, mean ratio, worst ratio) per way of distributing the work."""
    ratios: dict[str, list[float]] = {"queue": [], "round-robin": [], "duration (stale)": []}
    for seed in range(seeds):
        actual, stale = draw(jobs, seed)
        low = bound(actual, workers)
        ratios["queue"].append(queue_makespan(actual, stale, workers) / low)
        rr = static_makespan(actual, stale, workers, ShardStrategy.ROUND_ROBIN)
        ratios["round-robin"].append(rr / low)
        lpt = static_makespan(actual, stale, workers, ShardStrategy.DURATION)
        ratios["duration (stale)"].append(lpt / low)
    return [(name, statistics.fmean(r), max(r)) for name, r in ratios.items()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        msg = f"{argv} exited {done.returncode}: {done.stderr.decode()[-400:]}"
        raise RuntimeError(msg)
    return elapsed


def queue_cost(jobs: int, server: str) -> tuple[float, float]:
    """Seconds for `jobs` trivial jobs run locally (-j 1) and by one queue worker + wait."""
    py = [sys.executable, "-m", "replay"]
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as scratch:
        root = Path(scratch)
        suites = "".join(
            f'[[replay.suites]]\nname = "j{i:03d}"\ncommand = ["true"]\n' for i in range(jobs)
        )
        (root / "replay.toml").write_text(suites)
        redis = subprocess.Popen(
            [
                server,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=root,
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.3)
            local = _timed([*py, "run", "-j", "1", "-q", "--out", "local"], root)
            queued = _timed(
                [*py, "run", "-q", "--queue", url, "--queue-name", "b", "--out", "w"], root
            )
            queued += _timed(
                [*py, "queue", "wait", "--queue", url, "--queue-name", "b", "--out", "m"], root
            )
        finally:
            redis.terminate()
            redis.wait(10)
    return local, queued


def main() -> int:
    """Print the makespan table and the queue's cost per job."""
    args = sizes_parser(__doc__, jobs=60, workers=4, seeds=20).parse_args()
    print(f"{args.jobs} jobs, {args.workers} workers, {args.seeds} seeds: makespan / lower bound")
    for name, mean, worst in simulate(args.jobs, args.workers, args.seeds):
        print(f"  {name:<18} mean {mean:.3f}  worst {worst:.3f}")
    server = shutil.which("redis-server")
    if server is None:
        print("queue cost: skipped (redis-server is not installed)")
        return 0
    local, queued = queue_cost(args.jobs, server)
    per_job = (queued - local) / args.jobs * 1000
    print(
        f"queue cost: {args.jobs} trivial jobs: local -j 1 {local:.2f} s, one queue worker + "
        f"wait {queued:.2f} s: {per_job:+.1f} ms per job"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
