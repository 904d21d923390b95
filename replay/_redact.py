"""Redacting secrets from what replay writes about the environment and prints."""

from __future__ import annotations

import re
from collections.abc import Mapping

REDACTED = "[REDACTED]"

_SECRET_NAME = re.compile(
    r"(TOKEN|SECRET|PASSWORD|PASSWD|_API_KEY|APIKEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL|AUTH)",
    re.IGNORECASE,
)
_SECRET_TEXT = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"),
    re.compile(r"(?i)((?:password|passwd|pwd|token|secret|api[_-]?key)\s*[=:]\s*)[^\s&'\"]+"),
    re.compile(r"\b(gh[pousr]_)[A-Za-z0-9]{20,}"),
    re.compile(r"\b(AKIA)[A-Z0-9]{16}\b"),
    re.compile(r"(://[^/\s:@]+:)[^@\s/]+(@)"),
)


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says it holds a secret."""
    return bool(_SECRET_NAME.search(name))


def redact_text(text: str) -> str:
    """`text` with tokens, passwords and `Bearer ...` values replaced."""
    for pattern in _SECRET_TEXT:
        groups = pattern.groups
        text = pattern.sub(
            (lambda m: m.group(1) + REDACTED + m.group(2))
            if groups == 2
            else (lambda m: m.group(1) + REDACTED),
            text,
        )
    return text


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """A copy of `env` with secret-named values and secret-looking text redacted."""
    return {k: REDACTED if is_secret_name(k) else redact_text(v) for k, v in env.items()}


def redact_argv(argv: tuple[str, ...]) -> tuple[str, ...]:
    """`argv` with secret-looking arguments redacted (for display only)."""
    return tuple(redact_text(a) for a in argv)
