"""Total runs of a flake bisection: sequential stopping against a fixed number of runs per probe.

    python scripts/bench_bisect.py [--trials 200] [--commits 30] [--rates 0.05,0.2,0.5]

Simulated: `commits` commits, the first bad one drawn at random, failing at rate
5%, 20% or 50% from there on. Both bisections measure the bad revision the same
way; the fixed one then gives every probe the runs a good verdict needs at the
same confidence (`runs_to_clear`), the sequential one stops at the first failure
or at that bound. Prints total runs per bisection and how often each was right.
"""

from __future__ import annotations

import random
import statistics

from _bench import sizes_parser

from replay._core.bisect import (
    failure_rate_to_detect,
    probe_alpha,
    runs_to_clear,
    simulate,
)

RATES = (0.05, 0.2, 0.5)


def _trial(rate: float, commits: int, seed: int, *, fixed: bool, runs_max: int) -> tuple[int, bool]:
    rng = random.Random(seed)
    first = rng.randrange(commits)
    bad = [i >= first for i in range(commits)]

    def draw(i: int) -> bool:
        return not bad[i] or rng.random() >= rate

    fixed_runs = None
    if fixed:
        # The runs a good verdict needs at this confidence, for the rate the bad revision shows
        # on average (5 failures in 5/rate runs): what a fixed-count bisection must spend.
        shown = failure_rate_to_detect(round(5 / rate) - 5, 5, 0.95) or 1.0
        fixed_runs = runs_to_clear(shown, probe_alpha(0.95, commits))
    report = simulate(bad, draw, runs_max=runs_max, fixed_runs=fixed_runs)
    return report.total_runs, report.first_bad == f"c{first:04d}"


def main() -> None:
    """Print the table."""
    parser = sizes_parser(__doc__, trials=200, commits=30, runs_max=1000)
    parser.add_argument("--rates", default=",".join(map(str, RATES)), help="failure rates")
    args = parser.parse_args()
    rates = [float(rate) for rate in args.rates.split(",")]
    print(f"{args.commits} commits, confidence 0.95, {args.trials} trials per rate")
    print("rate  sequential runs (right)   fixed runs (right)   fixed/sequential")
    for rate in rates:
        results = {}
        for fixed in (False, True):
            trials = [
                _trial(rate, args.commits, seed, fixed=fixed, runs_max=args.runs_max)
                for seed in range(args.trials)
            ]
            runs = statistics.mean(t[0] for t in trials)
            right = sum(t[1] for t in trials) / len(trials)
            results[fixed] = (runs, right)
        (seq, seq_right), (fix, fix_right) = results[False], results[True]
        print(
            f"{rate:4.0%}  {seq:10.1f} ({seq_right:6.1%})      {fix:10.1f} ({fix_right:6.1%})"
            f"      {fix / seq:5.2f}x"
        )


if __name__ == "__main__":
    main()
