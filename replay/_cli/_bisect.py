"""`replay bisect TARGET --good REV --bad REV`: the commit that made a test fail, flaky or not."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

import attrs

from replay._cli._flake import build_report, flake_jobs
from replay._cli._options import (
    add_execution_options,
    make_directory,
    number_arg,
    positive_int,
)
from replay._cli._run import execute
from replay._cli._text import add_subcommand
from replay._core.bisect import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RUNS_MAX,
    BisectReport,
    BisectState,
    Probe,
    ProbeVerdict,
    conclude,
    decide,
    last_good,
    make_probe,
    plan_document,
    probe_alpha,
    probe_reason,
    report_document,
)
from replay._core.flakes import divergence, flake_report_document
from replay._core.redact import redact_text
from replay._exec.bisect import (
    Worktrees,
    commits_between,
    drive,
    load_state,
    probe_logs,
    resolve,
    save_state,
    setup_plan,
    toplevel,
    worktree_config,
)
from replay._inputs.config import load_config
from replay._inputs.locate import find_config
from replay._model.clock import local_today, run_id_stamp, utc_now
from replay._model.errors import ReplayError
from replay._model.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from replay._model.models import Plan
from replay._model.names import (
    BISECT_PROBES_DIR,
    BISECT_REPORT_NAME,
    BISECT_STATE_NAME,
    FLAKE_REPORT_NAME,
)
from replay._model.outcomes import JobOutcome, could_not_start
from replay._store.rundir import display_path, write_json_atomic


class _Interrupted(Exception):
    """A probe's run was interrupted (its summary says so): stop, keep the state, exit 130."""


_confidence = number_arg(
    lambda confidence: 0.5 <= confidence < 1,
    "expected a confidence from 0.5 to below 1, such as 0.95; got",
)
"""`--confidence`: of the answer as a whole, from 0.5 to below 1."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `replay bisect`."""
    parser = add_subcommand(
        subparsers,
        "bisect",
        handle,
        description=(
            "Bisect between --good and --bad for the first commit where TARGET (a "
            "suite, or SUITE::TEST) fails, even one time in five. Each probed commit gets its own "
            "git worktree (your checkout is never touched), an optional --setup build, and a flake "
            "loop that stops as soon as the commit is clearly good or bad at --confidence. "
            f"Writes {BISECT_REPORT_NAME} into --out; Ctrl-C leaves {BISECT_STATE_NAME} there for "
            "--resume. Exit 0 when the first bad commit is named, 1 when it cannot be."
        ),
        examples=(
            "replay bisect e2e_tui --good v1.2.0 --bad HEAD",
            "replay bisect 'it::reconnects' --good HEAD~40 --bad HEAD --setup 'cargo build'",
            "replay bisect e2e_tui --good v1.2.0 --bad HEAD --out bisect-1 --resume",
        ),
    )
    parser.add_argument("target", metavar="TARGET", help="a suite name, or SUITE::TEST")
    parser.add_argument("--good", required=True, metavar="REV", help="a commit where it passes")
    parser.add_argument("--bad", required=True, metavar="REV", help="a commit where it fails")
    parser.add_argument(
        "--runs-max",
        type=positive_int,
        default=DEFAULT_RUNS_MAX,
        metavar="N",
        help=f"runs of one commit, at most (default: {DEFAULT_RUNS_MAX})",
    )
    parser.add_argument(
        "--confidence",
        type=_confidence,
        default=DEFAULT_CONFIDENCE,
        help="confidence of the answer as a whole (default: 0.95)",
    )
    parser.add_argument(
        "--setup", metavar="CMD", help="a shell command run in each worktree first (a build)"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help=f"continue the bisection in --out's {BISECT_STATE_NAME}",
    )
    add_execution_options(parser)


def _config_path(args: argparse.Namespace) -> Path:
    if args.config is not None:
        if not args.config.is_file():
            msg = f"{args.config}: config file not found"
            raise ReplayError(msg)
        return Path(args.config).resolve()
    found = find_config(Path.cwd())
    if found is None:
        msg = (
            f"no replay.toml (or pyproject.toml with [tool.replay]) in {Path.cwd()} or its parents"
        )
        raise ReplayError(msg)
    return found.resolve()


def _start(args: argparse.Namespace, repo: Path, out: Path) -> BisectState:
    good = resolve(repo, args.good, "--good")
    bad = resolve(repo, args.bad, "--bad")
    if args.resume:
        state = load_state(out)
        if (state.target, state.good, state.bad) != (args.target, good, bad):
            msg = (
                f"{out / BISECT_STATE_NAME} bisects {state.target} from {state.good[:12]} to "
                f"{state.bad[:12]}, not what the command line asks; use another --out"
            )
            raise ReplayError(msg)
        return state
    if (out / BISECT_STATE_NAME).exists():
        msg = f"{out} already holds a bisection; continue it with --resume, or choose another --out"
        raise ReplayError(msg)
    return BisectState(
        target=args.target,
        good=good,
        bad=bad,
        commits=commits_between(repo, good, bad),
        confidence=args.confidence,
        runs_max=args.runs_max,
    )


class _Prober:
    """One probe: worktree, setup, config, a flake loop with sequential stopping, its verdict."""

    def __init__(
        self, args: argparse.Namespace, out: Path, trees: Worktrees, config: tuple[Path, Path]
    ) -> None:
        self.args, self.out, self.trees = args, out, trees
        self.relative, self.current = config

    def __call__(self, state: BisectState, commit: str) -> Probe:
        number = len(state.probes) + (state.bad_probe is not None) + (state.good_probe is not None)
        run_dir = f"{BISECT_PROBES_DIR}/{number:02d}-{commit[:12]}"
        which = {state.bad: "the bad revision", state.good: "the good revision"}
        self._say(f"probing {commit[:12]} ({which.get(commit, str(number))})")
        try:
            tree = self.trees.add(commit)
        except ReplayError as exc:
            return make_probe(commit, ProbeVerdict.SKIPPED, f"no worktree: {exc}")
        try:
            return self._probe(state, commit, tree, run_dir)
        finally:
            self.trees.remove(tree)

    def _say(self, text: str) -> None:
        if self.args.verbose - self.args.quiet >= 0 and not self.args.json:
            print(f"replay: bisect: {text}", file=sys.stderr)

    def _namespace(self, directory: Path, runs: int) -> argparse.Namespace:
        values = dict(vars(self.args))
        values.update(out=directory, runs=runs, junit=None, quiet=self.args.quiet + 1)
        return argparse.Namespace(**values)

    def _probe(self, state: BisectState, commit: str, tree: Path, run_dir: str) -> Probe:
        directory = self.out / run_dir
        if self.args.setup:
            skipped = self._setup(commit, tree, directory / "setup")
            if skipped is not None:
                return skipped
        args = self._namespace(directory, state.runs_max)
        try:
            config = load_config(worktree_config(tree, self.relative, self.current))
            jobs, suite = flake_jobs(state.target, config, args)
        except ReplayError as exc:
            return make_probe(commit, ProbeVerdict.SKIPPED, f"cannot load the target: {exc}")
        parallel = args.parallelism or (1 if suite.serial else config.parallelism)
        if state.failure_rate == 1.0 or commit == state.good:
            parallel = 1  # one run decides: a second would be waste
        plan = Plan(jobs=jobs, parallelism=parallel, root=config.root)
        is_bad = state.bad_probe is None

        def decided(finished: tuple[JobOutcome, ...]) -> bool:
            return decide(state, commit, *_counts(finished)) is not None

        # The runs a decided probe never started are not in its summary (nor digested).
        result = execute(plan, args, config, stop_when=decided, drop_unstarted=True)
        if result.exit_code == EXIT_INTERRUPTED:
            raise _Interrupted
        finished = tuple(o for o in result.outcomes if o.finished)
        if finished and all(could_not_start(o.attempts[-1]) for o in finished):
            return make_probe(commit, ProbeVerdict.SKIPPED, "the target could not start")
        report = build_report(
            state.target,
            result,
            planned=state.runs_max,
            min_runs=1,
            config=config,
            today=local_today(),
            owner="unassigned",
            repro=shlex.join(jobs[0].argv),
        )
        write_json_atomic(directory / FLAKE_REPORT_NAME, flake_report_document(report))
        passed, failed = report.passed, report.failed
        verdict = decide(state, commit, passed, failed) or ProbeVerdict.UNDECIDED
        if is_bad or commit == state.good:
            reason = f"failed {failed} of {passed + failed} run(s)"
        else:
            alpha = probe_alpha(state.confidence, len(state.commits))
            rate = state.failure_rate or 1.0
            reason = probe_reason(verdict, passed, failed, failure_rate=rate, alpha=alpha)
        self._say(f"{commit[:12]} is {verdict.value}: {reason}")
        return make_probe(
            commit,
            verdict,
            reason,
            passed=passed,
            failed=failed,
            confidence=state.confidence,
            run_dir=run_dir,
        )

    def _setup(self, commit: str, tree: Path, directory: Path) -> Probe | None:
        """Run `--setup`; a failure skips the commit (None: it built)."""
        from replay._exec.run import RunOptions, run

        make_directory(directory, "setup directory")
        plan = setup_plan(self.args.setup, tree, self.args.timeout)
        options = RunOptions(collect_environment=False)
        result = run(plan, directory, options=options, backend=self.args.backend)
        if result.exit_code == EXIT_INTERRUPTED:
            raise _Interrupted
        if result.exit_code == EXIT_OK:
            return None
        log = display_path(directory / "setup" / "output.log")
        return make_probe(commit, ProbeVerdict.SKIPPED, f"--setup failed (see {log})")


def _counts(outcomes: tuple[JobOutcome, ...]) -> tuple[int, int]:
    passed = sum(1 for o in outcomes if o.finished and o.status.ok)
    failed = sum(1 for o in outcomes if o.finished and not o.status.ok)
    return passed, failed


def _divergence(out: Path, state: BisectState, report: BisectReport) -> Any:
    """Where the first bad commit's failures part from its passes and the last good commit's."""
    if report.first_bad is None:
        return None
    ends = (state.bad_probe, state.good_probe)
    by_commit = {p.commit: p for p in (*state.probes, *(p for p in ends if p is not None))}
    good = last_good(state) or state.good
    passing, failing = probe_logs(out, by_commit.get(report.first_bad))
    passing += probe_logs(out, by_commit.get(good))[0]
    return divergence(passing, failing)


def format_report(report: BisectReport, out: str) -> str:
    """The readable bisect report."""
    lines = [
        f"bisect {report.target}: {report.good[:12]} (good) .. {report.bad[:12]} (bad), "
        f"{report.commits} commit(s), {report.total_runs} run(s), mode {report.mode}"
    ]
    for probe in report.probes:
        low, high = probe.interval
        lines.append(
            f"  {probe.commit[:12]}  {probe.verdict.value:9}  runs {probe.runs:3}  "
            f"pass rate {probe.pass_rate:6.1%} ({low:.0%}-{high:.0%})  {redact_text(probe.reason)}"
        )
    if report.first_bad is not None:
        lines.append(f"first bad commit: {report.first_bad} (confidence {report.confidence:.3f})")
    else:
        lines.append(f"first bad commit: unknown: {report.reason}")
        lines.extend(f"  maybe {commit}" for commit in report.candidates)
    if report.divergence is not None and report.divergence.first_line is not None:
        d = report.divergence
        lines.append(
            f"failing runs part from passing ones at line {d.line_number} "
            f"({d.first_line_runs} of {d.failing_runs}): {redact_text(d.first_line or '')}"
        )
        lines.extend(
            f"  only in failures ({item.runs}x): {redact_text(item.line)}"
            for item in d.only_in_failures[:5]
        )
    lines.append(f"report: {out}/{BISECT_REPORT_NAME}")
    return "\n".join(lines)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _is_interrupt(exc: BaseException) -> bool:
    """A Ctrl-C, a probe's interrupted run, or an event loop's group holding one of them."""
    if isinstance(exc, (KeyboardInterrupt, _Interrupted)):
        return True
    return any(_is_interrupt(inner) for inner in getattr(exc, "exceptions", ()))


def _bisect(state: BisectState, args: argparse.Namespace, out: Path, config: Path) -> BisectState:
    """Probe until done; every worktree is removed at the end, and on Ctrl-C.

    Raises `_Interrupted` on Ctrl-C (or SIGTERM) once the state file is saved.
    """
    repo = toplevel(config.parent)
    saved = {s: signal.signal(s, _raise_interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    trees = Worktrees(repo)
    prober = _Prober(args, out, trees, (config.relative_to(repo.resolve()), config))
    progress = [state]

    def save(current: BisectState) -> None:
        progress[0] = current
        save_state(out, current)

    try:
        return drive(state, prober, save)
    except BaseException as exc:
        if not _is_interrupt(exc):
            raise
        save_state(out, progress[0])
        raise _Interrupted from None
    finally:
        # A second Ctrl-C must not leave worktrees behind: cleaning up takes a moment.
        for signum in saved:
            signal.signal(signum, signal.SIG_IGN)
        trees.close()
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def handle(args: argparse.Namespace) -> int:
    """Run `replay bisect`."""
    config_path = _config_path(args)
    repo = toplevel(config_path.parent)
    if repo.resolve() not in config_path.parents:
        msg = f"{config_path}: the config must be inside the repository {repo}"
        raise ReplayError(msg)
    if args.resume and args.out is None:
        msg = "--resume needs --out DIR: the directory of the bisection to continue"
        raise ReplayError(msg)
    config = load_config(config_path)
    out = args.out or Path(config.out) / f"bisect-{run_id_stamp(utc_now())}"
    state = _start(args, repo, out)
    if args.dry_run:
        import orjson

        document = plan_document(state)
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    make_directory(out, "--out")
    if args.resume:
        done = len(state.probes) + (state.bad_probe is not None) + (state.good_probe is not None)
        print(f"replay: bisect: resuming after {done} probe(s)", file=sys.stderr)
    try:
        state = _bisect(state, args, out, config_path)
    except _Interrupted:
        print(
            f"replay: bisect interrupted; continue with --out {display_path(out)} --resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    report = conclude(state)
    report = attrs.evolve(report, divergence=_divergence(out, state, report))
    write_json_atomic(out / BISECT_REPORT_NAME, report_document(report))
    if args.json:
        import orjson

        sys.stdout.write(orjson.dumps(report_document(report)).decode() + "\n")
    else:
        print(format_report(report, display_path(out)))
    return EXIT_OK if report.first_bad else EXIT_FAILED
