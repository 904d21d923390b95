"""Spawning overhead: N jobs through `replay` vs the same N jobs through `xargs -P`.

Both sides spawn every job as its own process (`seq N | xargs -P J -I{} CMD`
runs CMD once per line), so the difference is what replay adds per job: its
start-up (amortised), the run directory, one output.log per job, events,
result.json files and the summary.

Targets (issue 2): at most 3 ms per trivial job (`true`, `-j 2`), and a wall
ratio of at most 1.10 on sleeping jobs (`sleep 0.2`, `-j 8`).

    python scripts/bench_spawn.py            # 1000 true, 200 sleep 0.2, 3 repeats
    python scripts/bench_spawn.py --quick    # 200 true, 48 sleep 0.2, 1 repeat
"""

from __future__ import annotations

from _bench import (
    Row,
    guarded,
    ms,
    overhead_per_job,
    replay_vs_xargs,
    secs,
    sized_bench,
)

TRIVIAL_TARGET_MS = 3.0
"""Issue 2: replay may add at most 3 ms to a job that does nothing."""
SLEEP_TARGET_RATIO = 1.10
"""Issue 2: on jobs that do real (here: sleeping) work, replay's wall time is within 10%."""
FULL = {"trivial": 1000, "sleeping": 200, "repeats": 3}
QUICK = {"trivial": 200, "sleeping": 48, "repeats": 1}
SIZE_HELP = {
    "trivial": "`true` jobs",
    "sleeping": "`sleep 0.2` jobs",
    "repeats": "runs per side, medians",
}
"""What each size counts: the help of its `--<size> N` option."""


def trivial_jobs(jobs: int, repeats: int) -> list[Row]:
    """`true` at -j 2: replay's overhead per job over xargs."""
    return overhead_per_job("spawn", ["true"], jobs, 2, repeats, target_ms=TRIVIAL_TARGET_MS)


def sleeping_jobs(jobs: int, repeats: int) -> list[Row]:
    """`sleep 0.2` at -j 8: replay's wall time over xargs's."""
    replay_wall, xargs_wall = replay_vs_xargs("spawn-sleep", ["sleep", "0.2"], jobs, 8, repeats)
    ratio = replay_wall / xargs_wall
    met = ratio <= SLEEP_TARGET_RATIO
    print(
        f"spawn, {jobs} x `sleep 0.2` at -j 8: replay {secs(replay_wall)}, "
        f"xargs {secs(xargs_wall)}, ratio {ratio:.3f}, overhead "
        f"{ms((replay_wall - xargs_wall) / jobs)} per job "
        f"(target ratio <= {SLEEP_TARGET_RATIO:.2f}: {'met' if met else 'MISSED'})"
    )
    return [
        Row(
            name=f"spawn: {jobs} x sleep 0.2, -j 8",
            figure=secs(replay_wall),
            baseline=f"xargs {secs(xargs_wall)}",
            ratio=f"{ratio:.3f}",
            target=f"ratio <= {SLEEP_TARGET_RATIO:.2f}",
            met=met,
        )
    ]


def run(*, trivial: int, sleeping: int, repeats: int) -> list[Row]:
    """Both cases; a case whose command fails becomes an error row."""
    return guarded("spawn: true", lambda: trivial_jobs(trivial, repeats)) + guarded(
        "spawn: sleep", lambda: sleeping_jobs(sleeping, repeats)
    )


measure, main = sized_bench(__doc__, run, FULL, QUICK, helps=SIZE_HELP)

if __name__ == "__main__":
    raise SystemExit(main())
