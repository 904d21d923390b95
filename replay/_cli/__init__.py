"""The command line: parse, dispatch to a subcommand, turn errors into exit codes.

This package is the only place that prints or exits. Each subcommand lives in
its own module with a `register(subparsers)` function.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Sequence

from replay._errors import ReplayError
from replay._redact import redact_text

SUBCOMMANDS = {
    "run": "run suites from the config, a summary to rerun, or a command (the default)",
    "show": "what failed in a summary, why, and the command to replay each",
    "flake": "run a suite or one test K times: verdict, FLAKE-* category, quarantine entry",
    "diff": "triage diff of two summaries: regressions, new failures, fixed, ranked",
    "merge": "merge shard summaries into one summary",
    "matrix": "CI matrix JSON (GitHub Actions `include` form) with balanced shards",
    "gates": "list (and replay) the failing gates of a full_suite_verdict.json",
    "audit": "audit a suite_classification.toml (suites, waivers, quarantine)",
    "verify": "check that a run directory's artifacts exist, stay inside it and parse",
}
"""Subcommand name -> its one-line help; each is implemented by `replay._cli._<name>`.

Only the chosen subcommand's module is imported (each pulls in its own
dependencies); the others appear in `--help` by name and help line only.
"""

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

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
    parser = argparse.ArgumentParser(
        prog="replay",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"replay {_version()}")
    subparsers = parser.add_subparsers(dest="subcommand", metavar="COMMAND")
    for name, help_line in SUBCOMMANDS.items():
        if chosen is None or name == chosen:
            importlib.import_module(f"replay._cli._{name}").register(subparsers)
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


def _terminate_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    # Until a run installs its own handlers, SIGTERM ends replay like Ctrl-C (exit 130)
    # instead of killing it outright.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        return _dispatch(list(sys.argv[1:] if argv is None else argv))
    except ReplayError as exc:
        print(f"replay: error: {redact_text(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("replay: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `replay show S | head`: the reader went away; not an error worth a traceback.
        return 0


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
