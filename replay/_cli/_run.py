"""`replay run`: build a plan (config, rerun, shard, ad-hoc), run it, report, exit."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import attrs
import orjson

from replay._cli._text import safe
from replay._config import Config, adhoc_config, find_config, load_config, parse_duration
from replay._errors import ReplayError
from replay._models import Backoff, Job, Plan, RetryPolicy, Shard, Summary, TargetStatus
from replay._planning import Granularity, Options, build_plan, rerun_plan
from replay._redact import redact_argv
from replay._results import describe_end
from replay._run import EXIT_EMPTY, EXIT_FAILED, EXIT_OK, RunResult, run, utc_now


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        msg = f"expected a whole number, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if value < 1:
        msg = f"must be at least 1, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        msg = f"expected a whole number, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if value < 0:
        msg = f"must not be negative, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ReplayError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _env_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        msg = f"expected KEY=VALUE, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return name, value


def add_execution_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that executes a plan (run, flake, gates --run)."""
    group = parser.add_argument_group("execution")
    group.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="config file (default: the nearest replay.toml or pyproject.toml with [tool.replay])",
    )
    group.add_argument(
        "--out", type=Path, metavar="DIR", help="the run directory (default: <config out>/<run id>)"
    )
    group.add_argument(
        "-j",
        "--parallelism",
        type=_positive_int,
        metavar="N",
        help="jobs at once (default: config, else CPU count)",
    )
    group.add_argument(
        "--timeout",
        type=_duration,
        metavar="DURATION",
        help="per-job timeout, e.g. 90s, 15m (overrides the config)",
    )
    group.add_argument(
        "--kill-grace",
        type=_duration,
        default=None,
        metavar="DURATION",
        help="wait between SIGTERM and SIGKILL of a stopped job (default: 3s)",
    )
    group.add_argument(
        "--env",
        type=_env_pair,
        action="append",
        default=[],
        metavar="K=V",
        help="set an environment variable for every job (repeatable)",
    )
    group.add_argument(
        "--debug", action="store_true", help="add the config's debug_env (e.g. RUST_LOG=debug)"
    )
    group.add_argument(
        "--exec-prefix", metavar="CMD", help='prefix every command, e.g. "rch exec --"'
    )
    group.add_argument(
        "--dry-run", action="store_true", help="print the plan as JSON and run nothing"
    )
    group.add_argument("--junit", type=Path, metavar="FILE", help="also write a JUnit XML report")
    group.add_argument("--json", action="store_true", help="machine output: JSON lines on stdout")
    group.add_argument(
        "--github",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="GitHub Actions annotations and step summary (default: on when GITHUB_ACTIONS=true)",
    )
    group.add_argument("-q", "--quiet", action="count", default=0, help="less output")
    group.add_argument("-v", "--verbose", action="count", default=0, help="more output")
    # Seconds before a quarantined target's retry (5 s by policy): a testing knob.
    group.add_argument("--quarantine-delay", type=float, default=None, help=argparse.SUPPRESS)
    # The anyio backend: a testing knob, so the CLI is exercised on asyncio and trio.
    group.add_argument(
        "--backend", choices=["asyncio", "trio"], default="asyncio", help=argparse.SUPPRESS
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `replay run`."""
    parser = subparsers.add_parser(
        "run",
        help="run suites from the config, a summary to rerun, or a command (the default)",
        description="Run the plan from the config (or rerun a summary's outstanding targets, "
        "or one ad-hoc command after `--`), write the run directory, exit 0/1.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  replay run --profile quick -j 8\n"
        "  replay run --suite e2e_tui --timeout 10m --debug\n"
        "  python -m replay --rerun-from replay-results/<run id>/summary.json\n"
        "  replay run --shard-index 0 --shard-total 4 --shard-strategy duration \\\n"
        "      --durations-from last/summary.json\n"
        "  replay run --retries 2 --retry-backoff exponential\n"
        "  replay run -- cargo test --test it -- --nocapture",
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
    select.add_argument(
        "--rerun-granularity",
        choices=[g.value for g in Granularity],
        default="test",
        help="rerun only failed tests where the adapter can (test), or whole suites",
    )
    select.add_argument(
        "--diff-from",
        type=Path,
        metavar="BASELINE",
        help="also write triage_diff.json against BASELINE",
    )
    shard = parser.add_argument_group("sharding")
    shard.add_argument(
        "--shard",
        choices=["auto"],
        help="read the shard from CI variables (GitLab, Buildkite, CircleCI)",
    )
    shard.add_argument("--shard-index", type=_non_negative_int, metavar="I")
    shard.add_argument("--shard-total", type=_positive_int, metavar="N")
    shard.add_argument(
        "--shard-kind",
        choices=["suite", "unit", "both"],
        default="both",
        help="which targets to spread over shards; the others all run on shard 0 (default: both)",
    )
    shard.add_argument(
        "--shard-strategy", choices=["round-robin", "hash", "duration"], default="round-robin"
    )
    shard.add_argument(
        "--durations-from",
        type=Path,
        action="append",
        default=[],
        metavar="SUMMARY",
        help="earlier summaries for --shard-strategy duration (repeatable)",
    )
    failures = parser.add_argument_group("failures and retries")
    failures.add_argument(
        "--fail-fast", action="store_true", help="start nothing new after the first failure"
    )
    failures.add_argument(
        "--max-failures", type=_positive_int, metavar="N", help="start nothing new after N failures"
    )
    failures.add_argument(
        "--retries",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help="retry a failed job up to N times; pass-after-fail is flaky",
    )
    failures.add_argument("--retry-delay", type=_duration, default=0.0, metavar="DURATION")
    failures.add_argument("--retry-backoff", choices=[b.value for b in Backoff], default="fixed")
    failures.add_argument(
        "--retry-max-failures",
        type=_non_negative_int,
        metavar="N",
        help="refuse retries once more than N targets failed",
    )
    failures.add_argument(
        "--fail-on-flaky", action="store_true", help="a flaky target fails the run"
    )
    parser.add_argument(
        "command", nargs=argparse.REMAINDER, help="after --: an ad-hoc command to run as one suite"
    )
    add_execution_options(parser)
    parser.set_defaults(handler=handle)


def load_run_config(args: argparse.Namespace, *, required: bool = True) -> Config:
    """The config named by `--config`, else the nearest one, else an empty one (if allowed)."""
    command = _adhoc_command(args)
    if command:
        return adhoc_config(tuple(command), Path.cwd())
    if args.config is not None:
        if not args.config.exists():
            msg = f"{args.config}: config file not found"
            raise ReplayError(msg)
        return load_config(args.config)
    found = find_config(Path.cwd())
    if found is not None:
        return load_config(found)
    if required:
        msg = (
            f"no replay.toml (or pyproject.toml with [tool.replay]) in {Path.cwd()} or its "
            "parents; write one (see README), pass --config FILE, or run one command with "
            "`replay run -- CMD ARGS...`"
        )
        raise ReplayError(msg)
    return Config(root=str(Path.cwd()), out=str(Path.cwd() / "replay-results"))


def _adhoc_command(args: argparse.Namespace) -> list[str]:
    command = list(getattr(args, "command", []) or [])
    if command and command[0] == "--":
        command = command[1:]
    return command


def options_from_args(args: argparse.Namespace, **extra: Any) -> Options:
    """The planning options the command line asks for."""
    prefix = shlex.split(args.exec_prefix) if args.exec_prefix is not None else None
    retry = RetryPolicy(
        retries=getattr(args, "retries", 0),
        delay=getattr(args, "retry_delay", 0.0),
        backoff=Backoff(getattr(args, "retry_backoff", "fixed")),
        max_failures=getattr(args, "retry_max_failures", None),
    )
    fields: dict[str, Any] = {
        "profile": getattr(args, "profile", None),
        "suites": tuple(getattr(args, "suite", ())),
        "kinds": tuple(getattr(args, "kind", ())),
        "parallelism": args.parallelism,
        "timeout": args.timeout,
        "env": dict(args.env),
        "debug": args.debug,
        "exec_prefix": prefix,
        "fail_fast": getattr(args, "fail_fast", False),
        "max_failures": getattr(args, "max_failures", None),
        "retry": retry,
        "granularity": Granularity(getattr(args, "rerun_granularity", "test")),
    }
    fields.update(extra)
    return Options(**fields)


def _shard(args: argparse.Namespace) -> Shard | None:
    import os

    if args.shard == "auto":
        from replay._shards import shard_from_env

        found = shard_from_env(os.environ)
        if found is None:
            msg = (
                "--shard auto: no CI shard variables found (CI_NODE_INDEX/CI_NODE_TOTAL, "
                "BUILDKITE_PARALLEL_JOB/_COUNT, CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL)"
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


def _apply_shard(plan: Plan, shard: Shard, durations_from: list[Path]) -> Plan:
    from replay._shards import durations_from as load_durations
    from replay._shards import shard_items

    durations = None
    if durations_from:
        from replay._readers import load_summary

        durations = load_durations([load_summary(p) for p in durations_from])

    def sharded(job: Job) -> bool:
        is_unit = job.kind in ("unit", "vcr")
        return shard.kind == "both" or (shard.kind == "unit") == is_unit

    eligible = [j.target for j in plan.jobs if sharded(j)]
    mine = set(shard_items(eligible, shard.index, shard.total, shard.strategy, durations))
    # Targets outside the sharded kind run on shard 0 only, so each runs exactly once.
    jobs = tuple(j for j in plan.jobs if (j.target in mine if sharded(j) else shard.index == 0))
    return attrs.evolve(plan, jobs=jobs, shard=shard)


def quarantine_state(config: Config) -> tuple[frozenset[str], tuple[str, ...]]:
    """Quarantined target names that apply, and problems (expired, invalid) that fail the run.

    Entries come from `[replay.discover] classification`; only suite-level stems
    apply to runs (a `suite::test` entry cannot spare the rest of its suite).
    """
    if config.discover is None or not config.discover.classification:
        return frozenset(), ()
    from datetime import date

    from replay._quarantine import QUARANTINE_POLICY, read_quarantine

    path = Path(config.discover.classification)
    if not path.is_file():
        return frozenset(), ()
    active: set[str] = set()
    problems: list[str] = []
    names = {s.name for s in config.suites}
    for entry in read_quarantine(path, today=date.today()):
        if entry.stem not in names:
            continue
        if entry.state in QUARANTINE_POLICY.failing_states:
            why = "; ".join(entry.problems or entry.missing) or entry.state.value
            problems.append(f"{path}: [quarantine.{entry.stem}] is {entry.state.value}: {why}")
        else:
            active.add(entry.stem)
    return frozenset(active), tuple(problems)


def build_run_plan(args: argparse.Namespace, config: Config) -> tuple[Plan, Summary | None]:
    """The plan `replay run` executes, and the summary it reruns from (if any)."""
    quarantined, _ = quarantine_state(config)
    options = options_from_args(args, quarantined=quarantined)
    previous = None
    if args.rerun_from is not None:
        from replay._readers import load_summary

        previous = load_summary(args.rerun_from)
        plan = rerun_plan(previous, config, options, summary_path=str(args.rerun_from))
    else:
        plan = build_plan(config, options)
    shard = _shard(args)
    if shard is not None:
        plan = _apply_shard(plan, shard, args.durations_from)
    if args.config is not None:
        plan = attrs.evolve(plan, config=str(args.config))
    return plan, previous


def print_plan(plan: Plan) -> None:
    """`--dry-run`: the plan as JSON on stdout."""
    from replay._artifacts import to_json_bytes

    sys.stdout.write(to_json_bytes(plan).decode())


def handle(args: argparse.Namespace) -> int:
    """Run `replay run`."""
    config = load_run_config(args, required=args.rerun_from is None)
    for note in config.notes:
        print(f"replay: note: {note}", file=sys.stderr)
    plan, previous = build_run_plan(args, config)
    if args.dry_run:
        print_plan(plan)
        return EXIT_OK
    if not plan.jobs and previous is None:
        if plan.shard is not None:
            print(
                f"replay: shard {plan.shard.name} has nothing to run; that is fine", file=sys.stderr
            )
            return EXIT_OK
        print("replay: the selection matched no suite; nothing to run", file=sys.stderr)
        return EXIT_EMPTY
    result = execute(plan, args, config, previous=previous)
    code = finish(result, args)
    _, problems = quarantine_state(config)
    for problem in problems:
        print(f"replay: quarantine: {problem}", file=sys.stderr)
    if problems and code == EXIT_OK:
        print("replay: failing the run: renew or remove the entries above", file=sys.stderr)
        return EXIT_FAILED
    return code


def execute(
    plan: Plan,
    args: argparse.Namespace,
    config: Config,
    *,
    previous: Summary | None = None,
    **run_options: Any,
) -> RunResult:
    """Run `plan` with progress on stderr (or JSON lines with `--json`)."""
    from replay._cli._progress import JsonLines, Progress

    run_dir = args.out
    if run_dir is None:
        from replay._run import default_run_dir

        run_dir, _ = default_run_dir(Path(config.out), utc_now())
    verbosity = args.verbose - args.quiet
    listener: Progress | JsonLines
    if args.json:
        listener = JsonLines()
    else:
        listener = Progress(len(plan.jobs), verbosity=verbosity, run_dir=_shown(run_dir))
    if previous is not None and not plan.jobs and verbosity >= 0 and not args.json:
        print(
            "replay: nothing outstanding in that summary; writing a green summary", file=sys.stderr
        )
    elif verbosity >= 0 and not args.json:
        jobs, at_once = len(plan.jobs), plan.parallelism
        print(
            f"replay: running {jobs} job(s), {at_once} at a time → {_shown(run_dir)}",
            file=sys.stderr,
        )
    kwargs: dict[str, Any] = {
        "listener": listener,
        "previous": previous,
        # The default run directory is named after the run id; with --out, a fresh id.
        "run_id": run_dir.name if args.out is None else None,
        "backend": args.backend,
    }
    if args.kill_grace is not None:
        kwargs["kill_grace"] = args.kill_grace
    if args.quarantine_delay is not None:
        kwargs["quarantine_delay"] = args.quarantine_delay
    kwargs.update(run_options)
    post = _post_process(args)
    if post:
        kwargs["post_process"] = post
    try:
        result = run(plan, run_dir, **kwargs)
    finally:
        listener.close()
    if args.junit is not None:
        _write_junit(args.junit, result)
    return result


def _post_process(args: argparse.Namespace) -> tuple[Any, ...]:
    from replay._postprocess import triage_step

    steps: list[Any] = []
    if getattr(args, "diff_from", None) is not None:
        from replay._readers import load_summary

        # Read the baseline before running anything: a bad baseline must not cost a run.
        steps.append(triage_step(load_summary(args.diff_from), str(args.diff_from)))
    return tuple(steps)


def _write_junit(path: Path, result: RunResult) -> None:
    from replay._artifacts import write_bytes_atomic
    from replay._junit import junit_report

    write_bytes_atomic(path, junit_report(result.summary))


def _shown(path: Path) -> str:
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path.absolute())


def report(result: RunResult, *, verbosity: int = 0) -> None:
    """The end of a run on stderr: totals, a table of failures, the replay command."""
    summary = result.summary
    counts: dict[str, int] = {}
    for target in summary.targets:
        counts[target.status.value] = counts.get(target.status.value, 0) + 1
    executed = [t for t in summary.targets if t.decided_by == summary.run_id]
    carried = len(summary.targets) - len(executed)
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    err = sys.stderr
    print(
        f"\nreplay: {summary.status.value}: {parts or 'no targets'}"
        + (f" ({carried} carried from earlier runs)" if carried else ""),
        file=err,
    )
    failing = [
        t
        for t in executed
        if (not t.status.ok and not t.quarantined) or t.status is TargetStatus.FLAKY
    ]
    spared = [t for t in executed if t.quarantined and not t.status.ok]
    if failing and verbosity >= -1:
        width = max(len(safe(t.name)) for t in failing)
        for target in failing:
            log = f"{_shown(result.run_dir)}/{target.log}" if target.log else "-"
            why = safe(describe_end(target))
            tag = f" · {target.root_cause}" if target.root_cause else ""
            tag += " [quarantined]" if target.quarantined else ""
            print(
                f"  {target.status.value:9} {safe(target.name):{width}}  {why}{tag}\n"
                f"  {'':9} {'':{width}}  log: {log}",
                file=err,
            )
            if target.retry_refused:
                print(f"  {'':9} {'':{width}}  no retry: {target.retry_refused}", file=err)
    if spared:
        print("quarantined, not failing the run:", file=err)
        for target in spared:
            why = safe(describe_end(target))
            print(f"  {target.status.value:9} {safe(target.name)}  {why}", file=err)
    print(f"summary: {_shown(result.summary_path)}", file=err)
    if summary.outstanding:
        print(
            f"replay what is outstanding with:\n  {safe(summary.one_command_replay or '')}",
            file=err,
        )


def _github_output(result: RunResult) -> None:
    """`::error` lines on stdout and a Markdown block in `$GITHUB_STEP_SUMMARY`."""
    from replay._artifacts import inside
    from replay._convert import parse_json
    from replay._errors import InputError
    from replay._github import annotation_lines, step_summary

    summary = result.summary
    digests: dict[str, dict[str, Any]] = {}
    for target in summary.outstanding:
        path = inside(result.run_dir, target.digest) if target.digest else None
        if path is None or not path.is_file():
            continue
        try:
            document = parse_json(path.read_bytes(), source=str(path))
        except (OSError, InputError):
            continue
        if isinstance(document, dict):
            digests[target.name] = document
    reasons = {t.name: describe_end(t) for t in summary.outstanding}
    for line in annotation_lines(summary, digests, reasons):
        print(line)
    step_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_file:
        try:
            with open(step_file, "a", encoding="utf-8") as handle:
                handle.write(step_summary(summary, reasons, _shown(result.run_dir)))
        except OSError as exc:
            print(f"replay: cannot append to GITHUB_STEP_SUMMARY ({exc.strerror})", file=sys.stderr)


def finish(result: RunResult, args: argparse.Namespace) -> int:
    """Report and choose the exit code (`--fail-on-flaky` turns flaky into failure)."""
    if args.json:
        sys.stdout.write(
            orjson.dumps(
                {
                    "event": "run_finished",
                    "status": result.summary.status.value,
                    "summary": str(result.summary_path),
                    "one_command_replay": result.summary.one_command_replay,
                    "exit_code": result.exit_code,
                }
            ).decode()
            + "\n"
        )
    else:
        report(result, verbosity=args.verbose - args.quiet)
    github = args.github if args.github is not None else os.environ.get("GITHUB_ACTIONS") == "true"
    if github:
        _github_output(result)
    code = result.exit_code
    flaky = any(t.status is TargetStatus.FLAKY for t in result.summary.targets)
    if code == EXIT_OK and getattr(args, "fail_on_flaky", False) and flaky:
        print("replay: failing because of flaky targets (--fail-on-flaky)", file=sys.stderr)
        return EXIT_FAILED
    return code


def redacted_command(argv: tuple[str, ...]) -> str:
    """A command for display: shell-quoted, secrets redacted."""
    return shlex.join(redact_argv(argv))


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
