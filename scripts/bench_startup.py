"""Start-up: `python -m replay --version` (and `run --help`) vs `python -c pass`.

Every CI step pays replay's start-up, so `--version` must not import the
program; `run --help` builds the whole parser and shows what importing every
subcommand costs. Runs are interleaved (pass, --version, --help, pass, ...)
so a noisy neighbour hits all alike; medians are reported. replay's bytecode
is cached as for an installed package (see `_bench.child_env`); one more row
shows `--version` without it, as a source checkout under
PYTHONDONTWRITEBYTECODE=1 pays on every start.

Target (issue 8): `--version` at most 150 ms more than `python -c pass`.
For the time spent importing, run `python -X importtime -m replay run --help`.

The fixed cost of a run (issue 13): `replay run -q -- true` (plan, executor,
watchdog, summary and artifacts for one job that does nothing) at most 1.5x
`python -c "import anyio, attrs, cattrs, sh"`, the libraries it cannot run
without. Both are timed interleaved in the same loop; the ratio of the medians
is reported. Profile it with `python -X importtime -m replay run -- true`
and `python -m cProfile -s cumtime -m replay run -- true`.

    python scripts/bench_startup.py              # 20 runs each
"""

from __future__ import annotations

import sys
from pathlib import Path

from _bench import (
    Row,
    Size,
    child_env,
    median,
    ms,
    progress,
    ratio_row,
    replay_argv,
    run_timed,
    scratch,
    sized_bench,
    target_note,
    unique_run_dir,
)

EXTRA_TARGET_MS = 150.0
"""Issue 8: `replay --version` costs at most 150 ms over a bare interpreter."""
COLD = "--version, no bytecode"
"""`--version` with no cached bytecode for replay (a source tree under PYTHONDONTWRITEBYTECODE)."""
RUN_TARGET_RATIO = 1.5
"""Issue 13: `replay run -- true` costs at most 1.5x importing anyio, attrs, cattrs and sh."""
LIBRARIES = "import anyio, attrs, cattrs, sh"
"""What a run cannot do without: the baseline of the fixed cost of a run."""
RUN_TRUE = "run -- true"
SIZES = {"runs": Size(20, quick=10, counts="runs of each command")}


def run(*, runs: int) -> list[Row]:
    """Measure; print the figures; return the table rows."""
    return startup(runs) + fixed_cost(runs)


def fixed_cost(runs: int) -> list[Row]:
    """`replay run -q -- true` vs importing the libraries it needs, interleaved."""
    walls: dict[str, list[float]] = {LIBRARIES: [], RUN_TRUE: []}
    progress(f"startup: {runs} runs of each of {', '.join(walls)}")
    with scratch("startup-run") as tmp:
        for _ in range(runs):
            walls[LIBRARIES].append(run_timed([sys.executable, "-c", LIBRARIES]))
            walls[RUN_TRUE].append(run_timed(_run_true(tmp), cwd=tmp))
    base, figure = median(walls[LIBRARIES]), median(walls[RUN_TRUE])
    name = f"startup: replay {RUN_TRUE}"
    row = ratio_row(name, figure, base, against=LIBRARIES, at_most=RUN_TARGET_RATIO, unit=ms)
    print(
        f"startup, python -m replay {RUN_TRUE}: {ms(figure)} median of {runs}, "
        f'python -c "{LIBRARIES}" {ms(base)}, ratio {row.ratio}{target_note(row)}'
    )
    return [row]


def _run_true(tmp: Path) -> list[str]:
    """`replay run -q --out <a fresh run directory> -- true`."""
    return replay_argv("run", "-q", "--out", str(unique_run_dir(tmp)), "--", "true")


def startup(runs: int) -> list[Row]:
    """`--version`, `run --help` and `--version` without bytecode vs `python -c pass`."""
    commands = {
        "pass": [sys.executable, "-c", "pass"],
        "--version": replay_argv("--version"),
        "run --help": replay_argv("run", "--help"),
    }
    walls: dict[str, list[float]] = {name: [] for name in (*commands, COLD)}
    progress(f"startup: {runs} runs of each of {', '.join(walls)}")
    cold_env = child_env(bytecode=False)
    for _ in range(runs):
        for name, argv in commands.items():
            walls[name].append(run_timed(argv))
        walls[COLD].append(run_timed(commands["--version"], env=cold_env))
    base = median(walls["pass"])
    rows = []
    for name in ("--version", "run --help", COLD):
        figure = median(walls[name])
        extra = (figure - base) * 1000
        met = extra <= EXTRA_TARGET_MS if name == "--version" else None
        target = f"<= +{EXTRA_TARGET_MS:g} ms" if met is not None else "-"
        shown = "" if met is None else f" (target {target}: {'met' if met else 'MISSED'})"
        print(
            f"startup, python -m replay {name}: {ms(figure)} median of {runs}, "
            f"python -c pass {ms(base)}, +{extra:.1f} ms{shown}"
        )
        rows.append(
            Row(
                name=f"startup: replay {name}",
                figure=f"{ms(figure)} (+{extra:.0f} ms)",
                baseline=f"python -c pass {ms(base)}",
                ratio=f"{figure / base:.1f}",
                target=target,
                met=met,
            )
        )
    return rows


measure, main = sized_bench(__doc__, run, SIZES)

if __name__ == "__main__":
    raise SystemExit(main())
