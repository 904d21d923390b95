"""Run every replay benchmark and print one table: figure, baseline, ratio, target, met?

Each benchmark also prints its own lines of detail as it goes; the table at
the end collects them. A benchmark that breaks (a command that failed) shows
as an `error` row instead of hiding the others. Exit 1 if a target is missed.

    python scripts/bench.py --quick                 # smaller sizes, about a minute
    python scripts/bench.py                         # the issue's sizes (several minutes)
    python scripts/bench.py --only spawn --only timeout

Pure-function benchmarks print their own tables: `bench_shards.py` (makespan per
strategy), `bench_diff.py` (load and diff two 100,000-test summaries) and
`bench_parsers.py` (adapter parsers on a 100 MB log vs `wc -l`).
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable, Sequence

import bench_capture
import bench_flake
import bench_retry
import bench_scale
import bench_spawn
import bench_startup
import bench_timeout
from _bench import Row, guarded, report

BENCHES: dict[str, Callable[..., list[Row]]] = {
    "startup": bench_startup.measure,
    "spawn": bench_spawn.measure,
    "capture": bench_capture.measure,
    "timeout": bench_timeout.measure,
    "scale": bench_scale.measure,
    "flake": bench_flake.measure,
    "retry": bench_retry.measure,
}
"""Name: the benchmark's `measure(quick=...)`, cheapest first."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks, print the table; exit 1 on a missed target or an error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="each benchmark's smaller sizes")
    parser.add_argument(
        "--only", action="append", choices=list(BENCHES), help="run only these (repeatable)"
    )
    args = parser.parse_args(argv)
    rows: list[Row] = []
    for name in args.only or BENCHES:
        print(f"\n== {name}")
        rows += guarded(name, functools.partial(BENCHES[name], quick=args.quick))
    print()
    return report(rows)


if __name__ == "__main__":
    raise SystemExit(main())
