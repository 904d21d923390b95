"""Options shared by the commands that execute plans, and turning them into planning input.

Every argparse type of the CLI (numbers, durations, dates) lives here.
"""

from __future__ import annotations

import argparse
import errno
import math
import shlex
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from replay._adapters import adapter_names, infer_adapter
from replay._cli import SUBCOMMANDS
from replay._cli._text import printable
from replay._core.planning import Options
from replay._core.redact import Redactor, redact_argv
from replay._inputs.locate import find_config
from replay._model.config import Config, adhoc_config, parse_duration
from replay._model.errors import ReplayError
from replay._model.models import (
    MAX_PARALLELISM,
    MAX_RETRIES,
    MAX_SHARDS,
    Backoff,
    Granularity,
    Plan,
    RetryPolicy,
)

if TYPE_CHECKING:
    from collections.abc import Callable

ADHOC_HELP = (
    "ad-hoc runs only (replay run --adapter NAME -- CMD): the adapter that reads CMD's "
    "results. Default: inferred from CMD: cargo test -> cargo, go test -> go, pytest, "
    "py.test or python -m pytest -> pytest, anything else -> generic (one result for the "
    "whole command, reruns run it whole)"
)
"""`--adapter`'s help: where `--help` says which adapter an ad-hoc command gets."""

_NOT_ADHOC = {
    "junit": "the junit adapter reads the XML at a suite's junit_path, which only a config "
    "suite can set; describe the suite in replay.toml",
}
"""Adapters an ad-hoc command cannot use, and why."""


MAX_COUNT = 1_000_000
"""The largest number a count option takes (failures, tests, runs): far beyond real use, so a
typo (`99999999999999999999`) is refused instead of overflowing a JSON writer."""


def _whole_number(text: str, minimum: int, maximum: int = MAX_COUNT) -> int:
    try:
        value = int(text)
    except ValueError:  # also a number of more than 4,300 digits
        msg = f"expected a whole number, got {text[:40]!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if value < minimum:
        msg = f"must be at least {minimum}, got {value}"
        raise argparse.ArgumentTypeError(msg)
    if value > maximum:
        msg = f"must be at most {maximum}, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number from 1 to `MAX_COUNT`."""
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number from 0 to `MAX_COUNT`."""
    return _whole_number(text, 0)


def parallelism_arg(text: str) -> int:
    """An argparse type: jobs at once, 1 to `MAX_PARALLELISM`."""
    return _whole_number(text, 1, MAX_PARALLELISM)


def shard_total_arg(text: str) -> int:
    """An argparse type: a number of shards, 1 to `MAX_SHARDS`."""
    return _whole_number(text, 1, MAX_SHARDS)


def retries_arg(text: str) -> int:
    """An argparse type: retries of a job, 0 to `MAX_RETRIES`."""
    return _whole_number(text, 0, MAX_RETRIES)


def whole_number_arg(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `minimum` to `maximum` (as `positive_int`)."""

    def parse(text: str) -> int:
        return _whole_number(text, minimum, maximum)

    return parse


def number_arg(accepts: Callable[[float], bool], refusal: str) -> Callable[[str], float]:
    """An argparse type: a number that `accepts` takes, else the error `refusal` and the text.

    Text that is not a number reaches `accepts` as NaN, which a chained comparison refuses.
    """

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not accepts(value):
            msg = f"{refusal} {text[:40]!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return parse


def duration_arg(text: str) -> float:
    """An argparse type: a duration such as 90s, 15m or 1h, in seconds."""
    try:
        return parse_duration(text)
    except ReplayError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def date_arg(text: str) -> date:
    """An argparse type: a date such as 2026-11-26."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        msg = f"{text[:40]!r} is not a date; use YYYY-MM-DD"
        raise argparse.ArgumentTypeError(msg) from None


def env_pair(text: str) -> tuple[str, str]:
    """An argparse type: KEY=VALUE."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        msg = f"expected KEY=VALUE, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return name, value


def adapter_arg(text: str) -> str:
    """An argparse type: an adapter an ad-hoc command can use."""
    if text in _NOT_ADHOC:
        raise argparse.ArgumentTypeError(_NOT_ADHOC[text])
    known = [name for name in adapter_names() if name not in _NOT_ADHOC]
    if text not in known:
        msg = f"unknown adapter {text!r}; expected one of: {', '.join(known)}"
        raise argparse.ArgumentTypeError(msg)
    return text


def add_adhoc_options(parser: argparse.ArgumentParser) -> None:
    """`replay run`'s ad-hoc options (outside an ad-hoc run `load_run_config` refuses them)."""
    parser.add_argument("--adapter", type=adapter_arg, metavar="NAME", help=ADHOC_HELP)


def add_queue_options(parser: argparse.ArgumentParser) -> None:
    """`replay run`'s queue mode: drain one plan from a Redis server with any number of workers."""
    group = parser.add_argument_group("queue mode (Redis)")
    group.add_argument(
        "--queue",
        metavar="URL",
        help="work from a Redis queue (redis://HOST:PORT/DB): the first worker seeds it with the "
        "plan, every worker runs one reserved job at a time until it is drained",
    )
    group.add_argument(
        "--queue-name",
        metavar="NAME",
        help="the queue's name, the same for every worker of one build (e.g. the commit and run)",
    )
    group.add_argument(
        "--queue-requeue",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="a failed job goes back to the queue up to N times; a later pass is flaky",
    )
    # Seconds a reservation holds without renewal (30 s): a testing knob.
    group.add_argument("--queue-lease", type=float, default=None, help=argparse.SUPPRESS)


def add_config_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, help_text: str
) -> None:
    """`--config FILE`, the config to read instead of the nearest one; `help_text` says which."""
    parser.add_argument("--config", type=Path, metavar="FILE", help=help_text)


def add_execution_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that executes a plan (run, flake, gates --run)."""
    group = parser.add_argument_group("execution")
    add_config_option(
        group, "config file (default: the nearest replay.toml or pyproject.toml with [tool.replay])"
    )
    group.add_argument(
        "--out", type=Path, metavar="DIR", help="the run directory (default: <config out>/<run id>)"
    )
    group.add_argument(
        "-j",
        "--parallelism",
        type=parallelism_arg,
        metavar="N",
        help="jobs at once (default: config, else CPU count)",
    )
    group.add_argument(
        "--timeout",
        type=duration_arg,
        metavar="DURATION",
        help="per-job timeout, e.g. 90s, 15m (overrides the config)",
    )
    group.add_argument(
        "--kill-grace",
        type=duration_arg,
        default=None,
        metavar="DURATION",
        help="wait between SIGTERM and SIGKILL of a stopped job (default: 3s)",
    )
    group.add_argument(
        "--env",
        type=env_pair,
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
        "--no-tests",
        choices=("fail", "warn", "pass"),
        default=None,
        help="what a suite whose runner saw no test counts as (default: config, else fail)",
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
    group.add_argument(
        "--history",
        metavar="PATH|URL",
        help="the history ledger for --record (default: the config's [replay.history] path)",
    )
    group.add_argument(
        "--record",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="ingest the run's summary into the history ledger at its end "
        "(default: the config's [replay.history] record)",
    )
    # Seconds before a quarantined target's retry (5 s by policy): a testing knob.
    group.add_argument("--quarantine-delay", type=float, default=None, help=argparse.SUPPRESS)
    # The anyio backend: a testing knob, so the CLI is exercised on asyncio and trio.
    group.add_argument(
        "--backend", choices=["asyncio", "trio"], default="asyncio", help=argparse.SUPPRESS
    )


def load_run_config(args: argparse.Namespace, *, required: bool = True) -> Config:
    """The config named by `--config`, else the nearest one, else an empty one (if allowed)."""
    command = _adhoc_command(args)
    adapter: str | None = getattr(args, "adapter", None)
    if command:
        return _adhoc(command, adapter)
    if adapter is not None:
        msg = (
            "--adapter applies to an ad-hoc command (replay run --adapter NAME -- CMD ARGS...); "
            "a suite in the config names its adapter there"
        )
        raise ReplayError(msg)
    # The reader (TOML, raw models) is imported only when there is a file to read.
    from replay._inputs.config import load_config

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


def _adhoc_command(args: argparse.Namespace) -> tuple[str, ...]:
    """The ad-hoc command given after `--`, or () when there is none."""
    given = tuple(getattr(args, "command", None) or ())
    if not given:
        return ()
    # argparse's REMAINDER also takes words that follow no `--` (`replay run rm -rf build`);
    # only an explicit `--` makes the rest a command to run.
    if given[0] in SUBCOMMANDS:
        msg = f"unexpected argument {given[0]!r}; the subcommand goes first: replay {given[0]} ..."
        raise ReplayError(msg)
    if given[0] != "--":
        msg = (
            f"unexpected argument {given[0]!r}; to run a command ad hoc put it after `--`: "
            f"replay run -- {shlex.join(given)}"
        )
        raise ReplayError(msg)
    if len(given) == 1:
        msg = "nothing after `--`; name the command to run: replay run -- CMD ARGS..."
        raise ReplayError(msg)
    return given[1:]


def _adhoc(command: tuple[str, ...], adapter: str | None) -> Config:
    """The one-suite config of an ad-hoc command, read by `adapter` or the inferred one."""
    config = adhoc_config(command, Path.cwd())
    chosen = adapter or infer_adapter(command)
    notes = config.notes
    if chosen == "generic" and adapter is None:
        shown = printable(shlex.join(redact_argv(command)))
        notes += (
            f"no adapter recognised `{shown}`; per-test results need --adapter "
            "(cargo, go or pytest)",
        )
    suites = tuple(attrs.evolve(suite, adapter=chosen) for suite in config.suites)
    return attrs.evolve(config, suites=suites, notes=notes)


def options_from_args(args: argparse.Namespace, **extra: Any) -> Options:
    """The planning options the command line asks for."""
    prefix = _exec_prefix(args.exec_prefix)
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
        "no_tests": getattr(args, "no_tests", None),
    }
    fields.update(extra)
    return Options(**fields)


def make_directory(path: Path, what: str) -> None:
    """Make `path` (and its parents) now, or say in one line why it cannot be made.

    Before a run, so that `--out` at a file, under a file or somewhere nothing can
    be created (/proc, a read-only file system) costs no run and prints nothing else.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = exc.strerror or str(exc)
        if exc.errno in (errno.EEXIST, errno.ENOTDIR):
            why = "a file is in the way"
        msg = f"{what} {path}: cannot make the directory ({why})"
        raise ReplayError(msg) from None


def _exec_prefix(text: str | None) -> tuple[str, ...] | None:
    """`--exec-prefix`'s words (split as a shell would, never given to one)."""
    if text is None:
        return None
    try:
        words = shlex.split(text)
    except ValueError as exc:  # an unclosed quote, a trailing backslash
        msg = f"--exec-prefix: cannot split {text!r} into words ({exc})"
        raise ReplayError(msg) from None
    return tuple(words)


def print_plan(plan: Plan, redactor: Redactor | None = None) -> None:
    """`--dry-run`: the plan as JSON on stdout, redacted (job envs keep names, not secrets).

    Without the run's `redactor`: the jobs' and carried targets' envs and replay's own.
    """
    import orjson

    from replay._core.planning import plan_document
    from replay._core.redact import current_redactor

    if redactor is None:
        redactor = current_redactor(*(j.env for j in plan.jobs), *(t.env for t in plan.carried))
    document = redactor.data(plan_document(plan))
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
