"""Scale: a plan of 5,000 suites (dry run and real `true` jobs), a summary of 100,000 tests.

- dry run: `replay run --dry-run` of 5,000 suites vs the same of 1 suite (the
  difference is what planning and printing 5,000 jobs cost);
- real run: 5,000 `true` jobs at `-j 8` vs `seq 5000 | xargs -P 8 -I{} true`;
- summary: 1,000 targets x 100 tests, each test in the attempt and in the
  target as replay writes them; writing it (`summary_document` + orjson) vs
  `orjson.dumps` of the finished document, and reading it back with
  `replay._inputs.readers.load_summary` (what `--rerun-from`, `show` and `diff` do) vs
  plain `orjson.loads`, with the reader's steps timed apart;
- summary size: 640 targets x 100 tests (64,000 tests) as `summary.json` is
  written (indented), each test stored once, vs the earlier encoding that stored
  each test in its target and in its attempt (issue 13: <= 20 MB).

The issue sets no numbers here; the targets below are this script's own
(marked "own") and say why.

    python scripts/bench_scale.py              # 5,000 suites, 1,000 x 100 tests
    python scripts/bench_scale.py --quick      # 1,000 suites, 200 x 100 tests
"""

from __future__ import annotations

import orjson
from _bench import (
    Row,
    Size,
    guarded,
    median,
    median_of,
    overhead_per_job,
    per_item_row,
    progress,
    ratio_row,
    scratch,
    secs,
    sized_bench,
    target_note,
    time_replay,
    us,
    write_config,
)
from _summaries import case_result, target_result

from replay._core.summary import summary_document, summary_model
from replay._inputs.readers import load_summary
from replay._model.convert import parse_json, structure, unstructure
from replay._model.models import Attempt, RunStatus, Summary

DRY_RUN_TARGET_MS_PER_SUITE = 0.2
"""Own: planning 5,000 suites should cost at most 1 s over planning one (0.2 ms a suite)."""
JOB_TARGET_MS = 3.0
"""Issue 2's per-job target (3 ms over xargs), held at 5,000 jobs: no cost grows with the plan."""
LOAD_TARGET_S = 1.0
"""Own: `--rerun-from` / `show` on a 100,000-test summary should start within a second."""
SIZE_TARGET_MB = 20.0
"""Issue 13: a 64,000-test `summary.json` is at most 20 MB."""
SIZE_TESTS = 64_000
TESTS_PER_TARGET = 100
SIZES = {
    "suites": Size(5000, quick=1000, counts="suites / jobs"),
    "targets": Size(1000, quick=200, counts=f"summary targets x {TESTS_PER_TARGET} tests"),
    "repeats": Size(3, quick=1, counts="medians of this many runs"),
}


def dry_run(suites: int, repeats: int) -> list[Row]:
    """`--dry-run` of `suites` suites vs of one suite."""
    walls: dict[int, list[float]] = {1: [], suites: []}
    with scratch("scale-plan") as tmp:
        configs = {n: write_config(tmp / f"{n}.toml", [["true"]] * n) for n in walls}
        for repeat in range(repeats):
            for n, config in configs.items():
                progress(f"scale: --dry-run of {n} suites (repeat {repeat + 1})")
                walls[n].append(time_replay("run", "--config", str(config), "--dry-run"))
    many, one = median(walls[suites]), median(walls[1])
    row = per_item_row(
        f"scale: --dry-run, {suites} suites (own target)",
        many,
        one,
        against="1 suite",
        items=suites - 1,
        item="suite",
        at_most=DRY_RUN_TARGET_MS_PER_SUITE / 1000,
        unit=us,
    )
    print(
        f"scale, --dry-run of {suites} suites: {secs(many)}, of 1 suite {secs(one)}, "
        f"{us((many - one) / (suites - 1))} per suite, own{target_note(row)}"
    )
    return [row]


def real_run(jobs: int, repeats: int) -> list[Row]:
    """`jobs` x `true` at -j 8 through replay vs xargs."""
    return overhead_per_job("scale", ["true"], jobs, 8, repeats, target_ms=JOB_TARGET_MS)


def big_summary(targets: int) -> Summary:
    """A summary of `targets` targets of 100 tests, a few failing, as replay writes them."""
    records = []
    for t in range(targets):
        failing = t % 50 == 0
        tests = tuple(
            case_result(
                f"tests/test_module_{t:04d}.py::test_case_{i:03d}",
                failed=failing and i == 7,
                duration=0.001 * (i + 1),
                message="assert 1 == 2",
                file=f"tests/test_module_{t:04d}.py",
                line=42,
            )
            for i in range(TESTS_PER_TARGET)
        )
        name = f"suite_{t:04d}"
        attempt = Attempt(
            number=1,
            exit_code=1 if failing else 0,
            started_at="2026-11-26T22:10:58.123Z",
            duration=1.5,
            log=f"{name}/output.log",
            tests=tests,
        )
        records.append(
            target_result(
                name,
                tests,
                failed=failing,
                kind="unit" if t % 2 else "e2e",
                adapter="pytest",
                argv=("pytest", f"tests/test_module_{t:04d}.py"),
                decided_by="20261126T221058Z-abc123",
                env={"PYTHONHASHSEED": "0"},
                cwd="/work/project",
                exit_code=attempt.exit_code,
                duration=1.5,
                attempts=(attempt,),
                log=attempt.log,
                result=f"{name}/result.json",
            )
        )
    return Summary(
        run_id="20261126T221058Z-abc123",
        status=RunStatus.FAILED,
        started_at="2026-11-26T22:10:58.123Z",
        finished_at="2026-11-26T22:20:58.123Z",
        targets=tuple(records),
        one_command_replay="python -m replay --rerun-from replay-results/x/summary.json",
    )


def summary_load(targets: int, repeats: int) -> list[Row]:
    """Write and read a summary of `targets` x 100 tests, against plain orjson."""
    tests = targets * TESTS_PER_TARGET
    progress(f"scale: building a summary of {targets} targets x {TESTS_PER_TARGET} tests")
    summary = big_summary(targets)
    document = summary_document(summary)
    option = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
    with scratch("scale-summary") as tmp:
        path = tmp / "summary.json"
        progress("scale: writing and loading the summary")
        write = median_of(repeats, lambda: orjson.dumps(summary_document(summary), option=option))
        plain_write = median_of(repeats, lambda: orjson.dumps(document, option=option))
        data = orjson.dumps(document, option=option)
        path.write_bytes(data)
        load = median_of(repeats, lambda: load_summary(path))
        plain = median_of(repeats, lambda: orjson.loads(path.read_bytes()))
        parse = median_of(repeats, lambda: parse_json(data, source=str(path)))
        model = summary_model(orjson.loads(data))
        convert = median_of(repeats, lambda: structure(model, Summary, source=str(path)))
        loaded = load_summary(path)
    same = loaded.targets[0].tests == summary.targets[0].tests
    met = load <= LOAD_TARGET_S
    size = len(data) / 1e6
    print(
        f"scale, summary of {tests} tests ({targets} targets, {size:.0f} MB): "
        f"load_summary {secs(load)} vs orjson.loads {secs(plain)} = {load / plain:.1f}x "
        f"(own target <= {LOAD_TARGET_S:g} s: {'met' if met else 'MISSED'}); "
        f"of which parse_json (orjson + depth check) {secs(parse)}, "
        f"cattrs structure {secs(convert)}; round trip equal: {same}"
    )
    print(
        f"scale, writing it: summary_document + orjson.dumps {secs(write)} "
        f"vs orjson.dumps of the finished document {secs(plain_write)} = {write / plain_write:.1f}x"
    )
    return [
        Row(
            name=f"scale: load summary, {tests} tests",
            figure=secs(load),
            baseline=f"orjson.loads {secs(plain)}",
            ratio=f"{load / plain:.1f}",
            target=f"own: <= {LOAD_TARGET_S:g} s",
            met=met,
        ),
        ratio_row(
            f"scale: write summary, {tests} tests",
            write,
            plain_write,
            against="orjson.dumps",
            digits=1,
        ),
    ]


def summary_size() -> list[Row]:
    """Bytes of a 64,000-test `summary.json`, each test once vs in target and attempt."""
    progress(f"scale: the size of a summary of {SIZE_TESTS} tests")
    summary = big_summary(SIZE_TESTS // TESTS_PER_TARGET)
    option = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
    document = summary_document(summary)
    new = len(orjson.dumps(document, option=option))
    # The earlier encoding: the same document with every attempt's tests written out.
    old = len(orjson.dumps({**document, "targets": unstructure(summary.targets)}, option=option))
    met = new <= SIZE_TARGET_MB * 1e6
    print(
        f"scale, summary.json of {SIZE_TESTS} tests: {new / 1e6:.1f} MB ({new} bytes), "
        f"earlier encoding {old / 1e6:.1f} MB ({old} bytes), ratio {new / old:.2f} "
        f"(target <= {SIZE_TARGET_MB:g} MB: {'met' if met else 'MISSED'})"
    )
    return [
        Row(
            name=f"scale: summary.json, {SIZE_TESTS} tests",
            figure=f"{new / 1e6:.1f} MB",
            baseline=f"earlier encoding {old / 1e6:.1f} MB",
            ratio=f"{new / old:.2f}",
            target=f"<= {SIZE_TARGET_MB:g} MB",
            met=met,
        )
    ]


def run(*, suites: int, targets: int, repeats: int) -> list[Row]:
    """All four measurements; the table rows."""
    return (
        guarded("scale: dry run", lambda: dry_run(suites, repeats))
        + guarded("scale: real run", lambda: real_run(suites, repeats))
        + guarded("scale: summary", lambda: summary_load(targets, repeats))
        + guarded("scale: summary size", summary_size)
    )


measure, main = sized_bench(__doc__, run, SIZES)

if __name__ == "__main__":
    raise SystemExit(main())
