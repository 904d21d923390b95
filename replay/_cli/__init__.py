"""The command line: parse, dispatch to a subcommand, turn errors into exit codes.

This package is the only place that prints or exits. Each subcommand lives in
its own module with a `register(subparsers)` function.

Its import is kept to the standard library's cheapest modules: `main` takes
SIGINT and SIGTERM before anything heavy is imported (a Ctrl-C inside a C
extension's import could crash the interpreter).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from replay._exec.interrupts import SIGNALS, interrupt_pending
from replay._model.exits import EXIT_INTERRUPTED, EXIT_USAGE

if TYPE_CHECKING:
    import argparse

SUBCOMMANDS = {
    "run": "run suites from the config, a summary to rerun, or a command (the default)",
    "show": "what failed in a summary, why, and the command to replay each",
    "flake": "run a suite or one test K times: verdict, FLAKE-* category, quarantine entry",
    "bisect": "find the commit that made a test fail or flake: a flake loop per probed commit",
    "diff": "triage diff of two summaries: regressions, new failures, fixed, ranked",
    "merge": "merge shard summaries into one summary",
    "matrix": "CI matrix JSON (GitHub Actions `include` form) with balanced shards",
    "queue": "queue mode on Redis: wait for the workers and merge their results",
    "gates": "list (and replay) the failing gates of a full_suite_verdict.json",
    "audit": "audit a suite_classification.toml (suites, waivers, quarantine)",
    "verify": "check that a run directory's artifacts exist, stay inside it and parse",
    "history": "the flake ledger: ingest summaries; which tests flake, how slow, since when",
    "report": "write a summary's HTML report: verdict, timeline, failures, flaky targets, chain",
}
"""Subcommand name -> its one-line help; each is implemented by `replay._cli._<name>`.

The one copy of each help line: a module's `register` adds its subcommand with
`_text.add_subcommand`, which takes the line from here.

`MODULES` names the exceptions (`_report` is the end-of-run table of `run`).
Only the chosen subcommand's module is imported (each pulls in its own
dependencies); the others appear in `--help` by name and help line only.
"""

MODULES = {"report": "_html"}
"""Subcommands whose module is not `_<name>`."""

DESCRIPTION = """\
Run CI test suites as executable plans, capture every attempt, and chain reruns.

  replay                          run the suites of ./replay.toml (same as `replay run`)
  replay --rerun-from S.json      rerun what summary S left outstanding
  replay run -- pytest -x tests   ad-hoc: one suite from the command line, read by the
                                  adapter its command names (cargo test, go test, pytest),
                                  else generic; choose one with `run --adapter NAME -- CMD`
  replay show S.json              what failed, why, and how to replay it

Exit codes: 0 nothing outstanding, 1 failures, 2 bad usage or input,
4 nothing selected, 130 interrupted.
"""


def _version() -> str:
    from replay._version import __version__

    return __version__


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser: `chosen` (or every subcommand, when None) fully registered."""
    import argparse
    import importlib

    parser = argparse.ArgumentParser(
        prog="replay",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"replay {_version()}")
    subparsers = parser.add_subparsers(dest="subcommand", metavar="COMMAND")
    for name, help_line in SUBCOMMANDS.items():
        if chosen is None or name == chosen:
            module = MODULES.get(name, f"_{name}")
            importlib.import_module(f"replay._cli.{module}").register(subparsers)
        else:
            subparsers.add_parser(name, help=help_line)
    return parser


def _with_default_subcommand(argv: list[str]) -> list[str]:
    """`replay --rerun-from S` means `replay run --rerun-from S`; `replay -- CMD` too.

    Only options (and `--`) select the default: a first word that is not a
    subcommand is a `ReplayError`, so a typo (`replay shwo S`) or a command
    without `--` (`replay rm -rf build`) is never run.
    """
    if not argv:
        return ["run"]
    first = argv[0]
    if first in SUBCOMMANDS or first in ("-h", "--help", "--version"):
        return argv
    if first.startswith("-"):
        return ["run", *argv]
    from replay._model.errors import ReplayError

    raise ReplayError(_unknown_command(argv))


def _unknown_command(argv: list[str]) -> str:
    """The message for `replay WORD ...`: the nearest subcommand, and the ad-hoc spelling."""
    import difflib
    import shlex

    word = argv[0]
    nearest = difflib.get_close_matches(word, SUBCOMMANDS, n=1)
    hint = f"did you mean {nearest[0]!r}?" if nearest else f"commands: {', '.join(SUBCOMMANDS)}"
    return (
        f"unknown command {word!r} ({hint}); "
        f"to run a command ad hoc use: replay run -- {shlex.join(argv)}"
    )


def _interrupted(signum: int, frame: object) -> None:
    """Outside a run, a signal ends replay at once: one line, exit 130.

    Nothing needs cleaning up here: a run takes the signals for itself (its jobs
    are stopped and its summary written), and artifacts are written atomically (an
    exit halfway leaves the previous file, never half of one). Exiting from the
    handler, rather than raising KeyboardInterrupt, cannot unwind through a
    half-imported C extension (a segfault) or print a traceback.
    """
    # On a terminal, first erase the progress line a run may have left.
    prefix = "\r\x1b[2K" if os.isatty(2) else ""
    # os.write, not print: the handler may run in the middle of a write to sys.stderr.
    os.write(2, f"{prefix}replay: interrupted\n".encode())
    os._exit(EXIT_INTERRUPTED)


def _take_signals() -> dict[int, Any]:
    """Make SIGINT and SIGTERM end replay with exit 130; the handlers they replace."""
    saved: dict[int, Any] = {}
    try:
        for signum in SIGNALS:
            saved[signum] = signal.signal(signum, _interrupted)
    except ValueError:  # not the main thread (main() called from a library's thread)
        pass
    return saved


def _give_back_signals(saved: dict[int, Any]) -> None:
    for signum, handler in saved.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code.

    SIGINT and SIGTERM end replay with exit 130 from the first line to the last.
    Called with `argv` (in-process: tests, scripts) it hands the signal handlers
    back and returns. Without (the program, reading sys.argv) it ends the
    process itself once stdout and stderr are flushed: Python's shutdown puts
    the default handlers back before it is done, and a SIGTERM then would be
    an exit 143.
    """
    # First, before any heavy import: from here on a signal means exit 130 and one line.
    # A run replaces these handlers with its own for as long as it lasts.
    saved = _take_signals()
    from replay._core.redact import redact_text
    from replay._model.errors import ReplayError

    try:
        code = _dispatch(list(sys.argv[1:] if argv is None else argv))
    except ReplayError as exc:
        print(f"replay: error: {redact_text(str(exc))}", file=sys.stderr)
        code = EXIT_USAGE
    except KeyboardInterrupt:  # where the handlers could not be taken (not the main thread)
        print("replay: interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        # `replay show S | head`: the reader went away; not an error worth a traceback.
        code = 0
    finally:
        if argv is not None:
            _give_back_signals(saved)
    if argv is None:
        _end_process(code)
    return code


def _end_process(code: int) -> None:
    """Flush stdout and stderr, then exit with `code`, skipping the interpreter's shutdown.

    Nothing of replay's needs that shutdown: every artifact is closed, and
    threads still asking git or a runner for its version have nothing to finish.
    """
    import contextlib

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader gone away, a closed stream
            stream.flush()
    if interrupt_pending():  # came too late for a handler to run, not too late to count
        _interrupted(signal.SIGTERM, None)
    os._exit(code)


def _dispatch(argv: list[str]) -> int:
    """Parse `argv` and run the chosen subcommand; errors are left to `main`."""
    args_list = _with_default_subcommand(argv)
    # Fast path: `--version` should not import the whole program.
    if args_list == ["--version"]:
        print(f"replay {_version()}")
        return 0
    chosen = args_list[0] if args_list[0] in SUBCOMMANDS else None
    parser = build_parser(chosen)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    code: int = args.handler(args)
    return code
