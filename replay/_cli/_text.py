"""Text that is safe to print: names and messages from artifacts are data, not terminal input."""

from __future__ import annotations

from replay._core.redact import redact_text


def printable(text: str) -> str:
    """`text` with control characters escaped: a hostile name must not drive the terminal."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def safe(text: str) -> str:
    """`text` redacted of secrets and with control characters escaped, ready to print."""
    return printable(redact_text(text))
