"""Shared helpers of the `bench_*.py` scripts: scratch space, configs, timing, peak RSS, rows.

Every benchmark runs `replay` the way a user does (`python -m replay ...` in a
fresh process, start-up included) and compares it with a baseline measured in
the same run, so the figures are ratios that survive a slower or faster machine.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import attrs

REPO = Path(__file__).resolve().parent.parent
"""The repository root: put on PYTHONPATH so `python -m replay` works from a source tree."""

if str(REPO) not in sys.path:
    # Benchmarks that time library calls import `replay` from this tree, installed or not.
    sys.path.insert(1, str(REPO))

RSS_POLL_INTERVAL = 0.005
"""Seconds between reads of /proc/<pid>/status: VmHWM is a high-water mark, so the
samples only miss growth during the last interval before the process exits."""


class BenchError(RuntimeError):
    """A benchmarked command failed in a way that makes its figure meaningless."""


@attrs.frozen
class Row:
    """One line of the results table."""

    name: str
    figure: str
    baseline: str
    ratio: str
    target: str
    met: bool | None
    """None when the issue sets no target (the figure is informative)."""


@attrs.frozen
class Measured:
    """How one process ran: wall time, exit code and memory."""

    wall: float
    returncode: int
    peak_rss_kib: int | None
    """VmHWM of the process itself (not its children), last value polled before it exited."""
    tree_maxrss_kib: int
    """`ru_maxrss` from wait4: the largest of the process and its reaped descendants."""


def replay_argv(*args: str) -> list[str]:
    """`python -m replay ARGS`, with the interpreter running this script."""
    return [sys.executable, "-m", "replay", *args]


_PYCACHE: list[str] = []
"""The bytecode cache directory of this benchmark process, made on first use."""


def _pycache() -> str:
    if not _PYCACHE:
        _PYCACHE.append(tempfile.mkdtemp(prefix="replay-bench-pycache-"))
        atexit.register(shutil.rmtree, _PYCACHE[0], ignore_errors=True)
    return _PYCACHE[0]


def child_env(extra: Mapping[str, str] | None = None, *, bytecode: bool = True) -> dict[str, str]:
    """The environment of benchmarked commands: ours, with the source tree importable.

    With `bytecode`, Python may cache compiled modules (in a temporary
    PYTHONPYCACHEPREFIX, so the source tree stays clean) even where
    PYTHONDONTWRITEBYTECODE is set: an installed replay has its bytecode (pip
    compiles on install), and compiling ~40 modules on every start would
    measure the sandbox, not replay.
    """
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{path}" if path else str(REPO)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = _pycache()
    env.update(extra or {})
    return env


_WARM: list[bool] = []


def warm_up() -> None:
    """Fill the bytecode cache once: every module `replay run` imports is compiled."""
    if _WARM:
        return
    _WARM.append(True)
    with scratch("warm-up") as tmp:
        subprocess.run(
            replay_argv("run", "--help"), env=child_env(), capture_output=True, check=False
        )
        subprocess.run(
            replay_argv("run", "-q", "--out", str(tmp / "run"), "--", "true"),
            env=child_env(),
            capture_output=True,
            check=False,
        )


@contextlib.contextmanager
def scratch(label: str, parent: Path | None = None) -> Iterator[Path]:
    """A temporary directory (in `parent`, else the system's) removed afterwards, however
    the benchmark ends."""
    with tempfile.TemporaryDirectory(prefix=f"replay-bench-{label}-", dir=parent) as name:
        yield Path(name)


def unique_run_dir(parent: Path) -> Path:
    """A run directory whose name (replay's run id) no other run on this host shares.

    replay takes the run id from `--out`'s last component and marks every job's
    environment with it; two runs with the same id (say `--out .../run` in
    parallel tests) must not be able to mistake each other's jobs for their own.
    """
    return parent / f"bench-{secrets.token_hex(6)}"


def toml_string(text: str) -> str:
    """`text` as a TOML basic string (JSON's escapes are a subset TOML accepts)."""
    return json.dumps(text, ensure_ascii=True)


def write_config(
    path: Path,
    commands: Sequence[Sequence[str]],
    *,
    parallelism: int | None = None,
    timeout: str | None = None,
) -> Path:
    """Write a `replay.toml` with one suite per command (named `s00000`, `s00001`, ...)."""
    lines = ["[replay]"]
    if parallelism is not None:
        lines.append(f"parallelism = {parallelism}")
    if timeout is not None:
        lines.append(f"timeout = {toml_string(timeout)}")
    lines.append(f"out = {toml_string(str(path.parent / 'replay-results'))}")
    width = max(5, len(str(len(commands))))
    for index, command in enumerate(commands):
        argv = ", ".join(toml_string(part) for part in command)
        lines += ["", "[[replay.suites]]", f'name = "s{index:0{width}d}"', f"command = [{argv}]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_timed(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    ok_codes: tuple[int, ...] = (0,),
) -> float:
    """Wall seconds of `argv` (stdout discarded); `BenchError` on an unexpected exit code."""
    warm_up()
    start = time.perf_counter()
    completed = subprocess.run(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else child_env(),
        input=stdin,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    wall = time.perf_counter() - start
    _check(argv, completed.returncode, completed.stderr, ok_codes)
    return wall


def time_replay(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> float:
    """Wall seconds of `python -m replay ARGS` (as `run_timed`)."""
    return run_timed(replay_argv(*args), cwd=cwd, env=env)


def run_measured(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    ok_codes: tuple[int, ...] = (0,),
) -> Measured:
    """Run `argv`, polling its own VmHWM until it exits; wall time and both RSS figures.

    The process is reaped with `wait4`, not `Popen.wait`, to also get its
    `ru_maxrss` (which includes reaped descendants, so it is only a cross-check:
    the VmHWM samples are the process's own peak).
    """
    warm_up()
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        status_file = Path(f"/proc/{process.pid}/status")
        peak: int | None = None
        while True:
            sampled = _vm_hwm_kib(status_file)
            if sampled is not None:
                peak = sampled if peak is None else max(peak, sampled)
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(RSS_POLL_INTERVAL)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        _check(argv, process.returncode, errors.read(), ok_codes)
    return Measured(
        wall=wall,
        returncode=process.returncode,
        peak_rss_kib=peak,
        tree_maxrss_kib=usage.ru_maxrss,
    )


def _vm_hwm_kib(status_file: Path) -> int | None:
    """VmHWM in KiB; None once the process is a zombie (no memory left to report) or gone."""
    try:
        text = status_file.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def _check(argv: Sequence[str], code: int, stderr: bytes, ok_codes: tuple[int, ...]) -> None:
    if code in ok_codes:
        return
    tail = stderr.decode("utf-8", "replace").strip().splitlines()[-15:]
    shown = " ".join(argv[:6]) + (" ..." if len(argv) > 6 else "")
    msg = f"`{shown}` exited {code} (expected {ok_codes}):\n" + "\n".join(tail)
    raise BenchError(msg)


def guarded(label: str, part: Callable[[], list[Row]]) -> list[Row]:
    """Run one part of a benchmark; a failed command becomes an error row, not a lost table."""
    try:
        return part()
    except BenchError as exc:
        print(f"{label}: error: {exc}")
        summary = str(exc).splitlines()[0]
        return [Row(f"{label}: error", summary[:60], "-", "-", "-", met=False)]


@attrs.frozen
class Size:
    """One size a benchmark runs at, set on its command line with `--<name> N`."""

    full: int
    quick: int
    """The size with `--quick` (and in `bench.py --quick`)."""
    counts: str
    """What the size counts: the help of its option."""


def sizes_for(sizes: Mapping[str, Size], *, quick: bool) -> dict[str, int]:
    """Each size's full or `--quick` value, by name."""
    return {name: size.quick if quick else size.full for name, size in sizes.items()}


def pick_sizes(args: argparse.Namespace, sizes: Mapping[str, Size]) -> dict[str, int]:
    """The sizes a bench runs at: full or `--quick`, then any size given on the command line."""
    picked = sizes_for(sizes, quick=args.quick)
    picked.update({k: v for k, v in vars(args).items() if k in picked and v is not None})
    return picked


def median(values: Sequence[float]) -> float:
    """The median (the figure every repeated measurement reports)."""
    return statistics.median(values)


def call_times(repeats: int, work: Callable[[], object]) -> list[float]:
    """Wall seconds of each of `repeats` calls of `work`, in this process."""
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        walls.append(time.perf_counter() - start)
    return walls


def best_of(repeats: int, work: Callable[[], object]) -> float:
    """The fastest of `repeats` timed calls of `work`, in seconds."""
    return min(call_times(repeats, work))


def median_of(repeats: int, work: Callable[[], object]) -> float:
    """The median of `repeats` timed calls of `work`, in seconds."""
    return median(call_times(repeats, work))


def sizes_parser(doc: str | None, **defaults: int) -> argparse.ArgumentParser:
    """The command line of a benchmark that prints its own table: `--<name> N` for each
    whole-number default (`runs_max` is `--runs-max`), described by `doc`'s first line."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    for name, default in defaults.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    return parser


def ms(seconds: float) -> str:
    """Seconds shown as milliseconds."""
    return f"{seconds * 1000:.1f} ms"


def us(seconds: float) -> str:
    """Seconds shown as whole microseconds."""
    return f"{seconds * 1e6:.0f} us"


def secs(seconds: float) -> str:
    """Seconds shown with millisecond precision."""
    return f"{seconds:.3f} s"


def verdict(met: bool | None) -> str:
    """`yes`, `NO` (loud: a missed target must stand out) or `-` for no target."""
    if met is None:
        return "-"
    return "yes" if met else "NO"


def ratio_row(
    name: str,
    figure: float,
    baseline: float,
    *,
    against: str,
    at_most: float | None = None,
    unit: Callable[[float], str] = secs,
    digits: int = 2,
) -> Row:
    """The row of `figure` against `baseline` measured in the same run, both shown by `unit`
    (the baseline after `against`, what it is); met when their ratio is at most `at_most`
    (None: no target, the ratio is informative)."""
    if baseline <= 0:
        msg = f"{name}: the baseline is {baseline}, no ratio to report"
        raise BenchError(msg)
    ratio = figure / baseline
    return Row(
        name,
        unit(figure),
        f"{against} {unit(baseline)}",
        f"{ratio:.{digits}f}",
        "-" if at_most is None else f"ratio <= {at_most:g}",
        None if at_most is None else ratio <= at_most,
    )


def per_item_row(
    name: str,
    wall: float,
    baseline: float,
    *,
    against: str,
    items: int,
    item: str,
    at_most: float,
    unit: Callable[[float], str] = ms,
) -> Row:
    """The row of what each of `items` adds to `baseline` (both wall seconds, the baseline after
    `against`), shown by `unit` per `item`: met when it is at most `at_most` seconds."""
    each = (wall - baseline) / items
    return Row(
        name,
        f"{unit(each)}/{item} ({secs(wall)})",
        f"{against} {secs(baseline)}",
        f"{wall / baseline:.2f}",
        f"<= {unit(at_most)}/{item}",
        each <= at_most,
    )


def target_note(row: Row) -> str:
    """` (target T: met)` (or `MISSED`) for a line of detail; empty when the row has no target."""
    if row.met is None:
        return ""
    return f" (target {row.target}: {'met' if row.met else 'MISSED'})"


def format_table(rows: Sequence[Row]) -> str:
    """The rows as an aligned text table with a header."""
    header = ("benchmark", "figure", "baseline", "ratio", "target", "met?")
    cells = [header] + [
        (r.name, r.figure, r.baseline, r.ratio, r.target, verdict(r.met)) for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def report(rows: Sequence[Row]) -> int:
    """Print the table; exit code 1 when a target was missed (so CI can notice)."""
    print(format_table(rows))
    missed = [r.name for r in rows if r.met is False]
    if missed:
        print(f"\ntargets missed: {', '.join(missed)}")
        return 1
    print("\nevery target met")
    return 0


def progress(message: str) -> None:
    """A line about what is being measured now (on stderr, so stdout stays the figures)."""
    sys.stdout.flush()
    print(f"... {message}", file=sys.stderr, flush=True)


def replay_vs_xargs(
    label: str, command: Sequence[str], jobs: int, parallelism: int, repeats: int
) -> tuple[float, float]:
    """Median wall seconds of (replay, xargs) running `command` `jobs` times, `parallelism` at
    once: replay from a config of `jobs` suites, xargs from `jobs` input lines."""
    replay_walls: list[float] = []
    xargs_walls: list[float] = []
    with scratch(label) as tmp:
        config = write_config(tmp / "replay.toml", [command] * jobs)
        lines = "".join(f"{i}\n" for i in range(jobs)).encode()
        xargs = ["xargs", "-P", str(parallelism), "-I{}", *command]
        for repeat in range(repeats):
            progress(f"{label}: xargs, {jobs} jobs at -P {parallelism} (repeat {repeat + 1})")
            xargs_walls.append(run_timed(xargs, stdin=lines))
            progress(f"{label}: replay, {jobs} jobs at -j {parallelism} (repeat {repeat + 1})")
            out = str(unique_run_dir(tmp))
            replay_walls.append(
                time_replay(
                    "run", "--config", str(config), "-j", str(parallelism), "-q", "--out", out
                )
            )
    return median(replay_walls), median(xargs_walls)


def overhead_per_job(
    bench: str,
    command: Sequence[str],
    jobs: int,
    parallelism: int,
    repeats: int,
    *,
    target_ms: float,
) -> list[Row]:
    """What replay adds to each of `jobs` x `command` over xargs, against `target_ms`: one row."""
    shown = " ".join(command)
    replay_wall, xargs_wall = replay_vs_xargs(
        f"{bench}-{command[0]}", command, jobs, parallelism, repeats
    )
    row = per_item_row(
        f"{bench}: {jobs} x {shown}, -j {parallelism}",
        replay_wall,
        xargs_wall,
        against="xargs",
        items=jobs,
        item="job",
        at_most=target_ms / 1000,
    )
    print(
        f"{bench}, {jobs} x `{shown}` at -j {parallelism}: replay {secs(replay_wall)}, "
        f"xargs {secs(xargs_wall)}, ratio {row.ratio}, overhead "
        f"{ms((replay_wall - xargs_wall) / jobs)} per job{target_note(row)}"
    )
    return [row]


def sized_bench(
    doc: str | None, run: Callable[..., list[Row]], sizes: Mapping[str, Size]
) -> tuple[Callable[..., list[Row]], Callable[..., int]]:
    """A benchmark's `measure(quick=...)` (what `bench.py` calls) and `main(argv=None)` (its
    command line: `--<size> N` for each of `sizes`, and `--quick`), from its `run(**sizes)`.
    """

    def measure(*, quick: bool) -> list[Row]:
        return run(**sizes_for(sizes, quick=quick))

    def main(argv: Sequence[str] | None = None) -> int:
        """Parse the sizes, run, print the table; exit 1 if a target is missed."""
        parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
        for name, size in sizes.items():
            parser.add_argument(f"--{name}", type=int, help=f"{size.counts} (default {size.full})")
        quick = sizes_for(sizes, quick=True)
        parser.add_argument("--quick", action="store_true", help=f"smaller: {quick}")
        rows = run(**pick_sizes(parser.parse_args(argv), sizes))
        print()
        return report(rows)

    return measure, main
