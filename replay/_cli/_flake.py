"""`replay flake TARGET --runs K`: a flake loop as a plan, with a verdict and a quarantine entry."""

from __future__ import annotations

import argparse
import shlex
import sys
from datetime import date
from pathlib import Path

import attrs

from replay._adapters import get_adapter
from replay._cli._options import (
    add_execution_options,
    date_arg,
    load_run_config,
    number_arg,
    options_from_args,
    parallelism_arg,
    print_plan,
    whole_number_arg,
)
from replay._cli._run import execute
from replay._cli._text import add_subcommand, printable
from replay._core.flakes import (
    MIN_RUNS,
    FlakeReport,
    FlakeRun,
    FlakeVerdictKind,
    fingerprint,
    first_failure,
    flake_report,
    flake_report_document,
    should_stop,
)
from replay._core.planning import suite_job
from replay._core.redact import redact_text
from replay._exec.run import RunResult
from replay._model.clock import local_today
from replay._model.config import Config
from replay._model.errors import ReplayError
from replay._model.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from replay._model.models import MAX_SECONDS, Job, Plan, Suite, TestStatus
from replay._model.names import FLAKE_REPORT_NAME, safe_component
from replay._model.outcomes import JobOutcome
from replay._store.rundir import write_json_atomic

SEPARATOR = "::"

MAX_RUNS = 10_000
"""Runs of one flake loop, at most: 10,000 passing runs already bound the failure rate below
0.04%, and each run is a job with its own directory, so more is a typo."""


_minutes = number_arg(
    lambda minutes: 0 < minutes <= MAX_SECONDS / 60,
    f"expected a number of minutes from 0 to {MAX_SECONDS / 60:.0f}, got",
)
"""`--max-minutes`: a positive number of minutes, at most a year."""

_positive = whole_number_arg(1, MAX_RUNS)
"""`--runs` and `--min-runs`: a whole number of runs, 1 to `MAX_RUNS`."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `replay flake`."""
    parser = add_subcommand(
        subparsers,
        "flake",
        handle,
        description=(
            "Run TARGET (a suite, or SUITE::TEST where the adapter can target tests) "
            "K times, in parallel where safe, and judge it: stable_pass, deterministic_failure, "
            "flaky or inconclusive, with a 95% Wilson interval, failure fingerprints, a FLAKE-* "
            "category with its evidence and a ready [quarantine.<stem>] entry. Writes "
            f"{FLAKE_REPORT_NAME} into the run directory. Exit 0 unless it failed at least once."
        ),
        examples=(
            "replay flake e2e_tui --runs 20 --parallel 4",
            "replay flake 'it::network::reconnects' --runs 50 --until-fail",
            "replay flake e2e_tui --runs 30 --write tests/suite_classification.toml",
        ),
    )
    parser.add_argument("target", metavar="TARGET", help="a suite name, or SUITE::TEST")
    parser.add_argument(
        "--runs", type=_positive, default=MIN_RUNS, metavar="K", help="attempts (default: 10)"
    )
    parser.add_argument(
        "--parallel",
        type=parallelism_arg,
        metavar="J",
        help="attempts at once (default: 1 for `serial` suites, else the config's parallelism)",
    )
    parser.add_argument("--until-fail", action="store_true", help="stop at the first failure")
    parser.add_argument(
        "--max-minutes", type=_minutes, metavar="M", help="start no new attempt after M minutes"
    )
    parser.add_argument(
        "--min-runs",
        type=_positive,
        default=MIN_RUNS,
        metavar="N",
        help="runs needed before a verdict is more than inconclusive (default: 10)",
    )
    parser.add_argument(
        "--write", type=Path, metavar="FILE", help="add the quarantine entry to this TOML file"
    )
    parser.add_argument("--today", type=date_arg, help="the date the entry starts (default: today)")
    parser.add_argument("--owner", default="unassigned", help="owner of the quarantine entry")
    add_execution_options(parser)


def _resolve_target(target: str, config: Config) -> tuple[Suite, tuple[str, ...]]:
    suite_name, sep, test = target.partition(SEPARATOR)
    suite = config.suite(suite_name)
    if suite is None:
        known = ", ".join(s.name for s in config.suites) or "none"
        msg = f"unknown suite {suite_name!r} in {target!r}; suites in the config: {known}"
        raise ReplayError(msg)
    if not sep:
        return suite, ()
    if get_adapter(suite.adapter).targeted(suite.command, (test,)) is None:
        msg = (
            f"the {suite.adapter} adapter of suite {suite.name!r} cannot run a single test; "
            f"loop over the whole suite with `replay flake {suite.name}`"
        )
        raise ReplayError(msg)
    return suite, (test,)


def flake_jobs(
    target: str, config: Config, args: argparse.Namespace
) -> tuple[tuple[Job, ...], Suite]:
    """K identical jobs of TARGET, one per run, each its own summary target (`TARGET@i`)."""
    suite, tests = _resolve_target(target, config)
    options = options_from_args(args)
    base = suite_job(suite, config, options, job_id=safe_component(target), tests=tests)
    jobs = tuple(
        attrs.evolve(base, id=f"{base.id}-run{i}", target=f"{target}@{i}")
        for i in range(1, args.runs + 1)
    )
    return jobs, suite


def _run_of(outcome: JobOutcome, result: RunResult, number: int) -> tuple[FlakeRun, list[str]]:
    from replay._inputs.logscan import scan_log

    last = outcome.attempts[-1]
    passed = outcome.status.ok
    lines: list[str] = []
    mark = None
    if not passed:
        log = result.run_dir / last.log if last.log else result.run_dir / "-"
        lines = list(scan_log(log, last.tests).failure_lines)
        failed = [t for t in last.tests if t.status is TestStatus.FAILED and t.message]
        message = failed[0].message if failed else first_failure(lines)
        if message is None and last.timed_out:
            message = "timed out"
        mark = fingerprint(message) if message else None
    return (
        FlakeRun(
            number=number, passed=passed, fingerprint=mark, log=last.log, duration=last.duration
        ),
        lines,
    )


def build_report(
    target: str,
    result: RunResult,
    *,
    planned: int,
    min_runs: int,
    config: Config,
    today: date,
    owner: str,
    repro: str,
) -> FlakeReport:
    """Judge the finished loop and, for a flaky target, draft its quarantine entry."""
    from replay._core.taxonomy import classify_attempts
    from replay._inputs.quarantine import entry_toml, quarantine_entry

    runs: list[FlakeRun] = []
    evidence: list[list[str]] = []
    for number, outcome in enumerate(result.outcomes, start=1):
        if not outcome.finished:
            continue
        run, lines = _run_of(outcome, result, number)
        runs.append(run)
        if not run.passed:
            evidence.append(lines)
    classification = classify_attempts(evidence, config.flake_rules) if evidence else None
    from replay._inputs.logscan import runs_divergence

    report = flake_report(
        target,
        runs,
        planned=planned,
        classification=classification,
        min_runs=min_runs,
        divergence=runs_divergence(result.run_dir, runs),
    )
    if report.verdict is FlakeVerdictKind.FLAKY:
        entry = quarantine_entry(
            target,
            category=classification.category if classification else "unclassified",
            today=today,
            repro=repro,
            evidence=str(result.run_dir / FLAKE_REPORT_NAME),
            owner=owner,
        )
        report = attrs.evolve(report, quarantine_entry=entry_toml(entry, target))
    return report


def format_report(report: FlakeReport, run_dir: str) -> str:
    """The readable flake report."""
    low, high = report.interval
    lines = [
        f"flake report for {report.target}: {report.verdict.value}",
        f"  {report.reason}",
        f"  runs: {len(report.runs)} of {report.planned}, passed {report.passed}, "
        f"failed {report.failed}; pass rate {report.pass_rate:.1%} "
        f"(95% interval {low:.1%}-{high:.1%})",
    ]
    if len(report.runs) < report.planned:
        lines.append("  stopped early: the verdict was decided (or time ran out)")
    if report.failed == 0 and report.runs:
        lines.append(
            f"  failure rate is below {report.failure_rate_upper_bound:.1%} with 95% confidence"
        )
    for item in report.fingerprints:
        lines.append(f"  {item.count}x {redact_text(item.fingerprint)}")
    if report.classification is not None:
        c = report.classification
        lines.append(f"  category: {c.category} (confidence {c.confidence:.2f})")
        lines.extend(f"    evidence: {redact_text(e)}" for e in c.evidence[:5])
    failed_logs = [r.log for r in report.runs if not r.passed and r.log]
    lines.extend(f"  failed run log: {run_dir}/{log}" for log in failed_logs[:10])
    if report.quarantine_entry:
        lines.append("\nquarantine entry (add to suite_classification.toml, or use --write):\n")
        lines.append(report.quarantine_entry.rstrip())
    lines.append(f"\nreport: {run_dir}/{FLAKE_REPORT_NAME}")
    return "\n".join(lines)


def _print_prior(args: argparse.Namespace, config: Config) -> None:
    """The ledger's prior for the target (stderr), when a ledger records it."""
    from replay._cli._history import config_ledger, ledger_prior

    try:
        prior = ledger_prior(config_ledger(args.history, config), args.target)
    except ReplayError as exc:
        prior = f"history: {exc}"
    if prior is not None:
        print(f"replay: {printable(prior)}", file=sys.stderr)


def handle(args: argparse.Namespace) -> int:
    """Run `replay flake`."""
    config = load_run_config(args)
    jobs, suite = flake_jobs(args.target, config, args)
    parallel = args.parallel or args.parallelism or (1 if suite.serial else config.parallelism)
    if suite.serial and args.parallel and args.parallel > 1:
        print(f"replay: {suite.name} is `serial`; running one attempt at a time", file=sys.stderr)
        parallel = 1
    plan = Plan(jobs=jobs, parallelism=parallel, root=config.root)
    if args.dry_run:
        print_plan(plan)
        return EXIT_OK
    until_fail, planned = args.until_fail, args.runs
    _print_prior(args, config)

    def decided(finished: tuple[JobOutcome, ...]) -> bool:
        runs = [FlakeRun(number=i, passed=o.status.ok) for i, o in enumerate(finished, 1)]
        return should_stop(runs, until_fail=until_fail, planned=planned)

    result = execute(
        plan,
        args,
        config,
        stop_when=decided,
        stop_after=args.max_minutes * 60 if args.max_minutes else None,
    )
    report = build_report(
        args.target,
        result,
        planned=planned,
        min_runs=args.min_runs,
        config=config,
        today=args.today or local_today(),
        owner=args.owner,
        repro=shlex.join(jobs[0].argv),
    )
    write_json_atomic(result.run_dir / FLAKE_REPORT_NAME, flake_report_document(report))
    if args.write is not None and report.quarantine_entry:
        from replay._inputs.quarantine import quarantine_entry, write_entry

        entry = quarantine_entry(
            args.target,
            category=report.classification.category if report.classification else "unclassified",
            today=args.today or local_today(),
            repro=shlex.join(jobs[0].argv),
            evidence=str(result.run_dir / FLAKE_REPORT_NAME),
            owner=args.owner,
        )
        write_entry(args.write, args.target, entry)
        print(
            f"replay: wrote [quarantine] entry for {args.target} to {args.write}", file=sys.stderr
        )
    if args.json:
        import orjson

        sys.stdout.write(orjson.dumps(flake_report_document(report)).decode() + "\n")
    else:
        from replay._store.rundir import display_path

        print(format_report(report, display_path(result.run_dir)))
    if result.exit_code == EXIT_INTERRUPTED:
        return EXIT_INTERRUPTED
    return EXIT_OK if report.failed == 0 else EXIT_FAILED
