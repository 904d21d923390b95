"""Benchmark: how close each shard strategy gets to the best possible makespan.

300 suites with log-normal durations (a few slow suites, many quick ones, as
real test suites are) over 8 shards. For each strategy it prints the makespan
(the slowest shard) divided by the lower bound max(longest suite, total / 8):
1.00 is perfect, and no split can do better than the bound. Several seeds,
so one lucky draw does not decide. Target: duration <= 1.05.

    python scripts/bench_shards.py [--suites 300] [--shards 8] [--seeds 20]
"""

from __future__ import annotations

import random
import statistics

from _bench import sizes_parser

from replay._core.shards import ShardStrategy, assign_shards, shard_loads

TARGET = 1.05
"""The issue's bar for duration sharding."""


def durations(count: int, seed: int) -> dict[str, float]:
    """`count` suites with log-normal durations (median ~30 s, a long tail of slow ones)."""
    rng = random.Random(seed)
    return {f"suite_{i:03d}": rng.lognormvariate(3.4, 1.0) for i in range(count)}


def ratio(times: dict[str, float], shards: int, strategy: ShardStrategy) -> float:
    """Makespan over the lower bound for one split."""
    split = assign_shards(list(times), shards, strategy, times)
    makespan = max(shard_loads(split, times))
    bound = max(*times.values(), sum(times.values()) / shards)
    return makespan / bound


def main() -> int:
    """Print mean and worst makespan ratio per strategy; exit 1 if duration misses the target."""
    args = sizes_parser(__doc__, suites=300, shards=8, seeds=20).parse_args()

    print(f"{args.suites} suites, log-normal durations, {args.shards} shards, {args.seeds} seeds")
    print("makespan / max(longest, total/shards)   (1.00 = perfect)")
    print(f"{'strategy':<12} {'mean':>6} {'worst':>6}")
    worst_duration = 0.0
    for strategy in ShardStrategy:
        ratios = [
            ratio(durations(args.suites, seed), args.shards, strategy) for seed in range(args.seeds)
        ]
        worst = max(ratios)
        if strategy is ShardStrategy.DURATION:
            worst_duration = worst
        print(f"{strategy.value:<12} {statistics.fmean(ratios):>6.3f} {worst:>6.3f}")
    verdict = "meets" if worst_duration <= TARGET else "MISSES"
    print(f"duration: worst {worst_duration:.3f} {verdict} the target <= {TARGET}")
    return 0 if worst_duration <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
