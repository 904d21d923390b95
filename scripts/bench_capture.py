"""Output capture: a job printing 1 GiB through `replay` vs `sh -c 'JOB > file'`.

replay hands the job a file as its stdout and stderr, so the bytes never pass
through replay; this checks that the wall time stays close to a plain
redirect and that replay's memory does not grow with the output.

Memory method: the benchmark starts `python -m replay` itself (no shell in
between) and polls `/proc/<replay pid>/status` every 5 ms for `VmHWM`, the
kernel's high-water mark of that process's resident set, until the process is
a zombie; the largest sample is replay's own peak RSS, the job's memory is not
in it. `ru_maxrss` from `wait4` is printed too as a cross-check: it is the
largest of replay and every descendant it reaped (the job, `git`, ...).

Targets (issue 8): wall ratio at most 1.3, replay's peak RSS at most 100 MB.
The wall time includes replay's start-up, as a user sees it; the job's own
duration from summary.json is printed too, to tell the cost of capturing
(none expected) from replay's fixed cost per run. Outputs go to /dev/shm when
it has room (`--dir` to choose): see `default_dir`.

    python scripts/bench_capture.py               # 1024 MiB, 3 repeats
    python scripts/bench_capture.py --size 64     # a quick look
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import orjson
from _bench import (
    BenchError,
    Row,
    Size,
    median,
    pick_sizes,
    progress,
    ratio_row,
    replay_argv,
    report,
    run_measured,
    run_timed,
    scratch,
    sizes_for,
    target_note,
    unique_run_dir,
)

RATIO_TARGET = 1.3
"""Issue 8: capturing through replay costs at most 30% over a redirect."""
RSS_TARGET_MB = 100.0
"""Issue 8: replay's own peak RSS stays under 100 MB however much a job prints."""
BLOCK = 1 << 20
SIZES = {
    "mib": Size(1024, quick=128, counts="MiB to print"),
    "repeats": Size(5, quick=1, counts="runs per side, medians"),
}


def writer(kind: str, mib: int) -> list[str]:
    """A command that writes `mib` MiB to stdout."""
    if kind == "head":
        return ["head", "-c", f"{mib}M", "/dev/zero"]
    script = (
        "import sys\n"
        f"block = b'replay capture benchmark line\\n' * ({BLOCK} // 30) + b'.' * ({BLOCK} % 30)\n"
        f"for _ in range({mib}):\n"
        "    sys.stdout.buffer.write(block)\n"
    )
    return [sys.executable, "-c", script]


def default_dir(mib: int) -> Path | None:
    """The shared-memory tmpfs when it has room for two outputs, else None (the temp dir).

    In memory, both sides write at the same speed every time; on a disk, the
    kernel's writeback of an earlier gigabyte makes either side 1-5x slower at
    random (seen on this project's CI VM), which hides what replay costs.
    """
    shm = Path("/dev/shm")  # noqa: S108 - only a parent: scratch() makes a private mkdtemp in it
    if shm.is_dir() and os.access(shm, os.W_OK):
        stats = os.statvfs(shm)
        if stats.f_bavail * stats.f_frsize > 2 * mib * BLOCK:
            return shm
    return None


def run(
    *, mib: int, repeats: int, kind: str = "python", directory: Path | None = None
) -> list[Row]:
    """Measure; print the figures; return the table rows."""
    directory = directory or default_dir(mib)
    print(f"capture: writing into {directory or tempfile.gettempdir()}")
    command = writer(kind, mib)
    expected = mib * BLOCK
    replay_walls: list[float] = []
    plain_walls: list[float] = []
    peaks: list[int] = []
    tree_peaks: list[int] = []
    job_walls: list[float] = []
    with scratch("capture", directory) as tmp:
        for repeat in range(repeats):
            target = tmp / "plain.out"
            progress(f"capture: sh redirect, {mib} MiB ({kind}, repeat {repeat + 1})")
            plain_walls.append(
                run_timed(["sh", "-c", f"{shlex.join(command)} > {shlex.quote(str(target))}"])
            )
            _check_size(target.stat().st_size, expected, "redirect")
            target.unlink()
            progress(f"capture: replay, {mib} MiB ({kind}, repeat {repeat + 1})")
            out = unique_run_dir(tmp)
            measured = run_measured(replay_argv("run", "-q", "--out", str(out), "--", *command))
            logs = list(out.glob("*/output.log"))
            _check_size(sum(p.stat().st_size for p in logs), expected, "replay output.log")
            summary = orjson.loads((out / "summary.json").read_bytes())
            job_walls.append(float(summary["targets"][0]["duration"]))
            shutil.rmtree(out)
            replay_walls.append(measured.wall)
            if measured.peak_rss_kib is None:
                msg = "could not read VmHWM of the replay process (is /proc mounted?)"
                raise BenchError(msg)
            peaks.append(measured.peak_rss_kib)
            tree_peaks.append(measured.tree_maxrss_kib)
    replay_wall, plain_wall, job_wall = median(replay_walls), median(plain_walls), median(job_walls)
    wall = ratio_row(
        f"capture: {mib} MiB, wall",
        replay_wall,
        plain_wall,
        against="redirect",
        at_most=RATIO_TARGET,
    )
    peak_mb = max(peaks) * 1024 / 1e6
    rss_ok = peak_mb <= RSS_TARGET_MB
    print(
        f"capture, {mib} MiB ({kind}): replay {replay_wall:.3f} s, redirect {plain_wall:.3f} s, "
        f"ratio {wall.ratio}{target_note(wall)}"
    )
    print(
        f"capture, the job's own duration inside replay (summary.json): {job_wall:.3f} s, "
        f"{job_wall / plain_wall:.2f}x the redirect; replay's fixed cost (start-up, "
        f"environment.json, artifacts) is the rest: {replay_wall - job_wall:.3f} s"
    )
    print(
        f"capture, replay peak RSS (VmHWM of the replay process, max of {repeats} runs): "
        f"{peak_mb:.1f} MB (target <= {RSS_TARGET_MB:g} MB: {'met' if rss_ok else 'MISSED'}); "
        f"wait4 ru_maxrss of replay and its descendants: {max(tree_peaks) * 1024 / 1e6:.1f} MB"
    )
    return [
        wall,
        ratio_row(
            f"capture: {mib} MiB, job inside replay", job_wall, plain_wall, against="redirect"
        ),
        Row(
            name=f"capture: {mib} MiB, replay RSS",
            figure=f"{peak_mb:.1f} MB",
            baseline="-",
            ratio="-",
            target=f"<= {RSS_TARGET_MB:g} MB",
            met=rss_ok,
        ),
    ]


def _check_size(actual: int, expected: int, where: str) -> None:
    if actual != expected:
        msg = f"{where}: captured {actual} bytes, expected {expected}; the figure would be wrong"
        raise BenchError(msg)


def measure(*, quick: bool) -> list[Row]:
    """The benchmark at its full or its quick size (what `bench.py` calls)."""
    sizes = sizes_for(SIZES, quick=quick)
    return run(mib=sizes["mib"], repeats=sizes["repeats"])


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the size, run, print the table; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    for option, (name, size) in zip(("--size", "--repeats"), SIZES.items(), strict=True):
        parser.add_argument(option, type=int, dest=name, help=f"{size.counts} ({size.full})")
    parser.add_argument(
        "--writer",
        choices=["python", "head"],
        default="python",
        help="the job: a Python loop writing 1 MiB blocks (default) or head -c N /dev/zero",
    )
    parser.add_argument(
        "--dir", type=Path, help="where the outputs go (default: /dev/shm if it has room)"
    )
    quick = sizes_for(SIZES, quick=True)
    parser.add_argument("--quick", action="store_true", help=f"smaller: {quick}")
    args = parser.parse_args(argv)
    sizes = pick_sizes(args, SIZES)
    rows = run(mib=sizes["mib"], repeats=sizes["repeats"], kind=args.writer, directory=args.dir)
    print()
    return report(rows)


if __name__ == "__main__":
    raise SystemExit(main())
