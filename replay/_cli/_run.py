"""`replay run`: build a plan (config, rerun, shard, ad-hoc), run it, report, exit."""

from __future__ import annotations

import argparse
import enum
import os
import sys
from pathlib import Path
from typing import Any

import attrs

from replay._cli._options import (
    add_adhoc_options,
    add_execution_options,
    add_queue_options,
    duration_arg,
    load_run_config,
    make_directory,
    non_negative_int,
    options_from_args,
    positive_int,
    print_plan,
    retries_arg,
    shard_total_arg,
)
from replay._cli._report import finish
from replay._cli._stress import add_stress_options, run_stress
from replay._cli._text import add_subcommand, safe
from replay._core.planning import build_plan, rerun_plan
from replay._exec.run import (
    PostProcess,
    RunOptions,
    RunResult,
    Seams,
    StopWhen,
    run_with,
)
from replay._model.clock import local_today, utc_now
from replay._model.config import Config
from replay._model.errors import ArtifactError, ReplayError
from replay._model.exits import EXIT_EMPTY, EXIT_OK
from replay._model.models import Backoff, Granularity, Job, Plan, RetryPolicy, Shard, Summary
from replay._model.names import SUMMARY_NAME, TRIAGE_NAME
from replay._store.rundir import display_path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `replay run`."""
    parser = add_subcommand(
        subparsers,
        "run",
        handle,
        description=(
            "Run the plan from the config, or rerun what a summary left outstanding,\n"
            "or one ad-hoc command given after `--`; write the run directory; exit 0 when\n"
            "nothing is outstanding, 1 on failures, 130 when interrupted."
        ),
        examples=(
            "replay run --profile quick -j 8",
            "replay run --suite e2e_tui --timeout 10m --debug",
            f"python -m replay --rerun-from replay-results/<run id>/{SUMMARY_NAME}",
            "replay run --shard-index 0 --shard-total 4 --shard-strategy duration \\\n"
            f"      --durations-from last/{SUMMARY_NAME}",
            "replay run --retries 2 --retry-backoff exponential",
            "replay run -- cargo test --test it -- --nocapture",
            "replay run --adapter pytest -- make test",
        ),
    )
    select = parser.add_argument_group("selection")
    select.add_argument("--profile", help="a profile from the config")
    select.add_argument(
        "--suite", action="append", default=[], metavar="NAME", help="only this suite (repeatable)"
    )
    select.add_argument(
        "--kind",
        action="append",
        default=[],
        metavar="KIND",
        help="only suites of this kind (repeatable)",
    )
    select.add_argument(
        "--rerun-from",
        type=Path,
        metavar="SUMMARY",
        help="rerun what SUMMARY left outstanding (replay or upstream pi summaries)",
    )
    _add_enum_option(
        select,
        "--rerun-granularity",
        Granularity.TEST,
        "rerun only failed tests where the adapter can (test), or whole suites",
    )
    select.add_argument(
        "--diff-from",
        type=Path,
        metavar="BASELINE",
        help=f"also write {TRIAGE_NAME} against BASELINE",
    )
    add_stress_options(parser)
    shard = parser.add_argument_group("sharding")
    shard.add_argument(
        "--shard",
        choices=["auto"],
        help="read the shard from CI variables (GitLab, Buildkite, CircleCI; Kubernetes "
        "Indexed Jobs' JOB_COMPLETION_INDEX with --shard-total N)",
    )
    shard.add_argument(
        "--shard-index", type=non_negative_int, metavar="I", help="this shard, 0-based"
    )
    shard.add_argument("--shard-total", type=shard_total_arg, metavar="N", help="number of shards")
    shard.add_argument(
        "--shard-kind",
        choices=["suite", "unit", "both"],
        default="both",
        help="which targets to spread over shards; the others all run on shard 0 (default: both)",
    )
    shard.add_argument(
        "--shard-strategy",
        choices=["round-robin", "hash", "duration"],
        default="round-robin",
        help="round-robin over sorted names (upstream's), hash (stable as suites come and go), "
        "or duration (balanced by --durations-from); default: round-robin",
    )
    shard.add_argument(
        "--durations-from",
        type=Path,
        action="append",
        default=[],
        metavar="SUMMARY",
        help="earlier summaries for --shard-strategy duration (repeatable), or `history`: "
        "each target's p90 in the history ledger",
    )
    failures = parser.add_argument_group("failures and retries")
    failures.add_argument(
        "--fail-fast", action="store_true", help="start nothing new after the first failure"
    )
    failures.add_argument(
        "--max-failures", type=positive_int, metavar="N", help="start nothing new after N failures"
    )
    failures.add_argument(
        "--retries",
        type=retries_arg,
        default=0,
        metavar="N",
        help="retry a failed job up to N times; pass-after-fail is flaky",
    )
    failures.add_argument(
        "--retry-delay",
        type=duration_arg,
        default=0.0,
        metavar="DURATION",
        help="wait before a retry (default: none)",
    )
    _add_enum_option(
        failures,
        "--retry-backoff",
        Backoff.FIXED,
        "fixed delay, or doubling it each retry (with up to 10%% jitter); default: fixed",
    )
    failures.add_argument(
        "--retry-max-failures",
        type=non_negative_int,
        metavar="N",
        help="refuse retries once more than N targets failed",
    )
    _add_enum_option(
        failures,
        "--retry-granularity",
        Granularity.TEST,
        "retry only the failed tests where the adapter can (test, as gotestsum's "
        "--rerun-fails), or the whole suite; default: test",
    )
    failures.add_argument(
        "--retry-max-tests",
        type=positive_int,
        default=RetryPolicy().max_tests,
        metavar="N",
        help="retry the whole suite when more than N tests failed (default: %(default)s)",
    )
    failures.add_argument(
        "--fail-on-flaky",
        action="store_true",
        help="a flaky target is outstanding: the run fails and a rerun runs it again",
    )
    parser.add_argument(
        "command", nargs=argparse.REMAINDER, help="after --: an ad-hoc command to run as one suite"
    )
    add_adhoc_options(parser)
    add_execution_options(parser)
    add_queue_options(parser)


def _add_enum_option(
    group: argparse._ArgumentGroup, flag: str, default: enum.Enum, help_text: str
) -> None:
    """An option that takes one of the values of `default`'s enum (given as its value)."""
    choices = [member.value for member in type(default)]
    group.add_argument(flag, choices=choices, default=default.value, help=help_text)


def _shard(args: argparse.Namespace) -> Shard | None:

    if args.shard == "auto":
        from replay._core.shards import shard_from_env

        found = shard_from_env(os.environ, args.shard_total)
        if found is None:
            msg = (
                "--shard auto: no CI shard variables found (CI_NODE_INDEX/CI_NODE_TOTAL, "
                "BUILDKITE_PARALLEL_JOB/_COUNT, CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL, "
                "JOB_COMPLETION_INDEX with --shard-total)"
            )
            raise ReplayError(msg)
        index, total = found
    elif args.shard_index is None and args.shard_total is None:
        return None
    elif args.shard_index is None or args.shard_total is None:
        msg = "--shard-index and --shard-total go together"
        raise ReplayError(msg)
    else:
        index, total = args.shard_index, args.shard_total
    if not 0 <= index < total:
        msg = f"--shard-index must be in 0..{total - 1} for --shard-total {total}, got {index}"
        raise ReplayError(msg)
    return Shard(index=index, total=total, kind=args.shard_kind, strategy=args.shard_strategy)


def plan_durations(
    durations_from: list[Path], previous: Summary | None, ledger: str | None
) -> dict[str, float]:
    """Each target's expected duration, for shards and the queue's order (longest first).

    `--durations-from history` is the ledger's p90 per target; named summaries
    override it; a rerun's own summary is a source too, as `replay matrix
    --rerun-from` counts it.
    """
    from replay._cli._history import ledger_durations, split_sources
    from replay._core.matrix import rerun_durations
    from replay._inputs.readers import load_summary

    paths, from_ledger = split_sources(durations_from)
    if from_ledger and not ledger:
        msg = "--durations-from history: no ledger; set [replay.history] path or --history"
        raise ReplayError(msg)
    durations = ledger_durations(ledger) if from_ledger and ledger else {}
    durations |= rerun_durations(previous, [load_summary(p) for p in paths])
    return durations


def _apply_shard(
    plan: Plan,
    shard: Shard,
    durations_from: list[Path],
    previous: Summary | None = None,
    ledger: str | None = None,
) -> Plan:
    from replay._core.shards import shard_plan

    return shard_plan(plan, shard, plan_durations(durations_from, previous, ledger) or None)


@attrs.frozen
class QuarantineRead:
    """What a run takes from the classification file, read once."""

    active: frozenset[str] = frozenset()
    """Quarantined target names that apply."""
    problems: tuple[str, ...] = ()
    """Entries that fail the run (expired, invalid), one line each."""
    signatures: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    """Active target -> the failure signatures its entry covers (`signatures = [...]`)."""


def quarantine_state(config: Config) -> QuarantineRead:
    """The quarantine entries that apply to a run, the problems that fail it, and signatures.

    Entries come from `[replay.discover] classification`; only suite-level stems
    apply to runs (a `suite::test` entry cannot spare the rest of its suite).
    """
    if config.discover is None or not config.discover.classification:
        return QuarantineRead()
    from replay._inputs.quarantine import read_quarantine
    from replay._model.quarantine import QUARANTINE_POLICY

    path = Path(config.discover.classification)
    if not path.is_file():
        return QuarantineRead()
    active: set[str] = set()
    problems: list[str] = []
    signatures: dict[str, tuple[str, ...]] = {}
    names = {s.name for s in config.suites}
    for entry in read_quarantine(path, today=local_today()):
        if entry.stem not in names:
            continue
        if entry.state in QUARANTINE_POLICY.failing_states:
            why = "; ".join(entry.problems or entry.missing) or entry.state.value
            problems.append(f"{path}: [quarantine.{entry.stem}] is {entry.state.value}: {why}")
        else:
            active.add(entry.stem)
            if entry.signatures:
                signatures[entry.stem] = entry.signatures
    return QuarantineRead(frozenset(active), tuple(problems), signatures)


def ledger_signatures(
    args: argparse.Namespace, config: Config, wanted: bool
) -> dict[str, tuple[str, ...]]:
    """Target -> the failure fingerprints of its flaky tests in the ledger, when one is
    configured (`[replay.history]` or `--history`) and signatures matter to this run."""
    explicit = getattr(args, "history", None)
    if not wanted or (config.history is None and not explicit):
        return {}
    from replay._cli._history import config_ledger, flaky_tests
    from replay._core.ledger import test_name_of
    from replay._store.ledger import is_url, open_ledger

    location = config_ledger(explicit, config)
    if not is_url(location) and not os.path.exists(location):
        return {}
    try:
        with open_ledger(location) as ledger:
            flaky = flaky_tests(ledger, None)
    except ReplayError as exc:
        note = f"replay: note: history: {safe(str(exc))}; no known flaky signatures from it"
        print(note, file=sys.stderr)
        return {}
    known: dict[str, set[str]] = {}
    for test in flaky:
        marks = known.setdefault(test_name_of(test.test)[0], set())
        marks.update(seen.fingerprint for seen in test.fingerprints)
    return {target: tuple(sorted(marks)) for target, marks in known.items()}


def build_run_plan(
    args: argparse.Namespace,
    config: Config,
    quarantine: QuarantineRead | None = None,
) -> tuple[Plan, Summary | None]:
    """The plan `replay run` executes, and the summary it reruns from (if any).

    Quarantine problems and `--fail-on-flaky` go into the plan, so the run's
    status (and with it the exit code) is decided once, in the summary.
    """
    quarantine = quarantine or QuarantineRead()
    options = options_from_args(
        args,
        quarantined=quarantine.active,
        fail_on_flaky=args.fail_on_flaky,
        policy_failures=quarantine.problems,
    )
    # Signatures are read here, at the edge, and reach the jobs as data.
    wanted = bool(quarantine.signatures) or config.retry_on is not None
    options = attrs.evolve(
        options,
        signatures=quarantine.signatures,
        known_signatures=ledger_signatures(args, config, wanted),
        retry=attrs.evolve(
            options.retry,
            granularity=Granularity(args.retry_granularity),
            max_tests=args.retry_max_tests,
        ),
    )
    previous = None
    if args.rerun_from is not None:
        from replay._inputs.readers import load_summary

        previous = load_summary(args.rerun_from)
        plan = rerun_plan(previous, config, options, summary_path=str(args.rerun_from))
    else:
        plan = build_plan(config, options)
    shard = _shard(args)
    if shard is not None:
        from replay._cli._history import config_ledger

        ledger = config_ledger(args.history, config)
        plan = _apply_shard(plan, shard, args.durations_from, previous, ledger)
    if args.config is not None:
        plan = attrs.evolve(plan, config=str(args.config))
    return plan, previous


def handle(args: argparse.Namespace) -> int:
    """Run `replay run`."""
    config = load_run_config(args, required=args.rerun_from is None)
    for note in config.notes:
        print(f"replay: note: {note}", file=sys.stderr)
    # The classification file is read once: the plan spares its targets and fails on problems.
    plan, previous = build_run_plan(args, config, quarantine_state(config))
    if previous is not None:
        from replay._core.planning import masked_env_notes

        for note in masked_env_notes(previous, plan, config, os.environ):
            print(f"replay: note: {safe(note)}", file=sys.stderr)
    if args.dry_run:
        print_plan(plan)
        return EXIT_OK
    if args.queue is not None or args.queue_name is not None:
        from replay._cli._queue import run_worker

        return run_worker(plan, args, config)
    if not plan.jobs and previous is None:
        if plan.shard is not None:
            print(
                f"replay: shard {plan.shard.name} has nothing to run; that is fine", file=sys.stderr
            )
            return EXIT_OK
        print("replay: the selection matched no suite; nothing to run", file=sys.stderr)
        return EXIT_EMPTY
    if args.stress or args.stress_duration:
        return run_stress(plan, args, config, execute)
    return finish(execute(plan, args, config), args)


def execute(
    plan: Plan,
    args: argparse.Namespace,
    config: Config,
    *,
    stop_when: StopWhen | None = None,
    stop_after: float | None = None,
    drop_unstarted: bool = False,
) -> RunResult:
    """Run `plan` with progress on stderr (or JSON lines with `--json`).

    `drop_unstarted`: the summary leaves out the jobs never started (`RunOptions`).

    A rerun's plan carries its parent's records (`Plan.parent`): nothing else to pass.
    """
    from replay._cli._progress import JsonLines, Progress

    run_dir = args.out
    if run_dir is None:
        from replay._exec.run import default_run_dir

        run_dir, _ = default_run_dir(Path(config.out), utc_now())
    # Before the run and its first line: a directory that cannot be made should not cost one.
    make_directory(run_dir, "--out" if args.out is not None else "run directory")
    if args.junit is not None:
        make_directory(args.junit.parent, f"--junit {args.junit}:")
    verbosity = args.verbose - args.quiet
    listener: Progress | JsonLines
    if args.json:
        listener = JsonLines()
    else:
        listener = Progress(len(plan.jobs), verbosity=verbosity, run_dir=display_path(run_dir))
    if plan.rerun_from is not None and not plan.jobs and verbosity >= 0 and not args.json:
        print(
            "replay: nothing outstanding in that summary; writing a green summary", file=sys.stderr
        )
    elif verbosity >= 0 and not args.json:
        jobs, at_once = len(plan.jobs), plan.parallelism
        print(
            f"replay: running {jobs} job(s), {at_once} at a time → {display_path(run_dir)}",
            file=sys.stderr,
        )
    options = RunOptions(
        listener=listener,
        # The default run directory is named after the run id; with --out, a fresh id.
        run_id=run_dir.name if args.out is None else None,
        post_process=_post_process(args),
        stop_when=stop_when,
        stop_after=stop_after,
        drop_unstarted=drop_unstarted,
    )
    seams = Seams()
    if args.kill_grace is not None:
        seams = attrs.evolve(seams, kill_grace=args.kill_grace)
    if args.quarantine_delay is not None:
        seams = attrs.evolve(seams, quarantine_delay=args.quarantine_delay)
    try:
        # A `ReplayError` a task group wrapped comes out as itself (one line, exit 2).
        result = run_with(plan, run_dir, options, seams, backend=args.backend)
    finally:
        listener.close()
    if args.junit is not None:
        _write_junit(args.junit, result)
    _record(result, args, config)
    return result


def _record(result: RunResult, args: argparse.Namespace, config: Config) -> None:
    """`--record`: ingest the finished run's summary; a failure is one line, the run stands."""
    history = config.history
    record = args.record if args.record is not None else bool(history and history.record)
    if not record or not result.summary_path.is_file():
        return
    from replay._cli._history import ingest_paths, ledger_location

    try:
        location = args.history or (history.path if history and history.path else None)
        location = location or ledger_location(None, Path(config.path) if config.path else None)
        ingest_paths(location, [result.summary_path], args)
    except ReplayError as exc:
        note = f"replay: history: {safe(str(exc))}; the run is recorded in its summary"
        print(note, file=sys.stderr)


def _post_process(args: argparse.Namespace) -> tuple[PostProcess, ...]:
    from replay._exec.postprocess import triage_step

    steps: list[PostProcess] = []
    if getattr(args, "diff_from", None) is not None:
        from replay._inputs.readers import load_summary

        # Read the baseline before running anything: a bad baseline must not cost a run.
        steps.append(triage_step(load_summary(args.diff_from), str(args.diff_from)))
    return tuple(steps)


def _write_junit(path: Path, result: RunResult) -> None:
    """Write the JUnit report; a failure is one line that says the summary is safe."""
    from replay._core.junit import junit_report
    from replay._store.rundir import write_bytes_atomic

    kept = f"the run is recorded in {display_path(result.summary_path)}"
    try:
        report = junit_report(result.summary)
    except (ValueError, OverflowError) as exc:
        # A date no calendar arithmetic can hold, carried from an earlier summary.
        msg = f"{path}: cannot build the JUnit report ({exc}); {kept}"
        raise ArtifactError(msg) from None
    try:
        write_bytes_atomic(path, report)
    except ReplayError as exc:
        msg = f"{exc}; {kept}"
        raise ArtifactError(msg) from None


def run_jobs(jobs: tuple[Job, ...], args: argparse.Namespace, **plan_fields: Any) -> int:
    """Run ready-made jobs (gates, flake loops) as a plan, like any other run."""
    config = load_run_config(args, required=False)
    options = options_from_args(args)
    plan = Plan(
        jobs=jobs,
        parallelism=options.parallelism or config.parallelism,
        fail_fast=options.fail_fast,
        max_failures=options.max_failures,
        retry=options.retry,
        root=config.root,
        **plan_fields,
    )
    if args.dry_run:
        print_plan(plan)
        return EXIT_OK
    if not plan.jobs:
        print("replay: nothing to run", file=sys.stderr)
        return EXIT_EMPTY
    return finish(execute(plan, args, config), args)


def run_gate_jobs(jobs: tuple[Job, ...], args: argparse.Namespace) -> int:
    """`replay gates --run`: the replayable gates as a plan (summary, bundle, chainable)."""
    return run_jobs(jobs, args)
