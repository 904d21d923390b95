"""Flake loop throughput: `replay flake` of a 0.1 s test, 100 runs, 8 at a time.

The ideal is 100 x 0.1 s / 8 = 1.25 s; the baseline measured in the same run is
`xargs -P 8` running the same 100 commands (what a hand-written loop would do at
best). Target (issue 6): replay at most 1.5 x the ideal.

    python scripts/bench_flake.py              # 100 runs of 0.1 s at -P 8
    python scripts/bench_flake.py --quick      # 40 runs
"""

from __future__ import annotations

from _bench import (
    Row,
    Size,
    progress,
    ratio_row,
    run_timed,
    scratch,
    secs,
    sized_bench,
    target_note,
    time_replay,
    unique_run_dir,
    write_config,
)

SLEEP = 0.1
PARALLEL = 8
TARGET_RATIO = 1.5
"""Issue 6: the loop finishes in at most 1.5 x the ideal runs x 0.1 s / parallel."""
SIZES = {"runs": Size(100, quick=40, counts="loop runs")}


def run(*, runs: int) -> list[Row]:
    """Measure the flake loop and the xargs baseline; return the table rows."""
    ideal = runs * SLEEP / PARALLEL
    with scratch("flake") as tmp:
        config = write_config(tmp / "replay.toml", [["sleep", str(SLEEP)]])
        progress(f"flake: replay flake s00000 --runs {runs} --parallel {PARALLEL}")
        out = str(unique_run_dir(tmp))
        replay_wall = time_replay(
            "flake", "s00000", "--runs", str(runs), "--parallel", str(PARALLEL),
            "--config", str(config), "--out", out, "-q",
            cwd=tmp,
        )  # fmt: skip
        progress(f"flake: xargs -P {PARALLEL} baseline")
        xargs_wall = run_timed(
            ["xargs", "-P", str(PARALLEL), "-n", "1", "sleep"],
            stdin=("\n".join([str(SLEEP)] * runs) + "\n").encode(),
        )
    name = f"flake {runs}x{SLEEP}s -P{PARALLEL}"
    against = f"xargs {secs(xargs_wall)}, ideal"
    row = ratio_row(name, replay_wall, ideal, against=against, at_most=TARGET_RATIO)
    print(
        f"flake loop: replay {replay_wall:.2f}s, xargs {xargs_wall:.2f}s, ideal {ideal:.2f}s; "
        f"replay/ideal {row.ratio}, replay/xargs {replay_wall / xargs_wall:.2f}{target_note(row)}"
    )
    return [row]


measure, main = sized_bench(__doc__, run, SIZES)

if __name__ == "__main__":
    raise SystemExit(main())
