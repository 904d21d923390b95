"""The CLI's words: text safe to print, and each subcommand's help line.

Names and messages from artifacts are data, not terminal input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from replay._cli import SUBCOMMANDS
from replay._core.redact import redact_text

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence


def printable(text: str) -> str:
    """`text` with control characters escaped: a hostile name must not drive the terminal."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def safe(text: str) -> str:
    """`text` redacted of secrets and with control characters escaped, ready to print."""
    return printable(redact_text(text))


def add_subcommand(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Callable[[argparse.Namespace], int],
    *,
    examples: Sequence[str] = (),
    **parser_options: Any,
) -> argparse.ArgumentParser:
    """Add subcommand `name`, run by `handler`, with its help line from `SUBCOMMANDS`.

    The help line has one copy: `replay --help` shows it whether or not the
    subcommand's module was imported. `examples` (command lines) end the
    subcommand's `--help`, and its description is then printed as written.
    """
    if examples:
        import argparse

        parser_options["formatter_class"] = argparse.RawDescriptionHelpFormatter
        parser_options["epilog"] = "examples:\n" + "\n".join(f"  {line}" for line in examples)
    parser = subparsers.add_parser(name, help=SUBCOMMANDS[name], **parser_options)
    parser.set_defaults(handler=handler)
    return parser
