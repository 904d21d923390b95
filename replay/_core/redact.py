"""Redacting secrets from everything replay writes or prints (never from a job's own log).

One `Redactor` per run, built once from the environments the run knows (replay's own,
the config's and `--env`), masks three ways:

- by value: every value of a secret-named variable, wherever it appears (and its first
  characters where replay cut a string, see `CUT_MARK`);
- by pattern: `Bearer ...`, `NAME=value` / `NAME: value` where NAME is secret-named
  (`token=`, `password=`, `AWS_SECRET_ACCESS_KEY=`), JWTs, AWS access key ids, GitHub
  and GitLab tokens, passwords in URLs;
- by name, in environment mappings: the whole value of a secret-named variable,
  however short (the name stays: a rerun needs to know which variables to set).

It works on plain data at the edges, after the models are unstructured: the document
builders (summary, results, bundle, environment, digests, triage, JUnit) and the CLI's
print helpers. The models keep what ran. `REDACTED` in a recorded value means "masked":
a rerun never passes it to a job (see `replay._core.planning.recorded_env`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs

REDACTED = "[REDACTED]"

MIN_VALUE_CHARS = 6
"""Shorter values are masked by name only, never by value: `true`, `1234` or `admin` occur
in ordinary text everywhere (test names, counts, paths); masking them would garble every
artifact while hiding nothing that a guess would not find."""
MAX_PASSES = 3
"""Masking can form a value anew at a mask's edge (`]abcde` after `[REDACTED`); a string
still holding one after this many passes is masked whole."""
CUT_MARK = "…"
"""How replay marks a string it cut (log lines, messages, evidence): the first characters
of a value before the mark are masked too (at least `MIN_VALUE_CHARS` of them)."""

_WORD = re.compile(r"[^A-Z0-9]+")
_SECRET_WORDS = frozenset(
    {
        "TOKEN",
        "SECRET",
        "SECRETS",
        "PASSWORD",
        "PASSWORDS",
        "PASSWD",
        "PASSPHRASE",
        "JWT",
        "AUTHORIZATION",
        "CREDENTIAL",
        "CREDENTIALS",
        "CREDS",
        "APIKEY",
        "COOKIE",
    }
)
"""Words (a name split at every character but letters and digits) that make it secret."""
_QUALIFIED_WORDS = frozenset({"PASS", "PAT", "PWD", "AUTH", "KEY"})
"""Words that make a name secret only beside another word (`DB_PASS`, `GITHUB_PAT`, `*_KEY`):
alone they are the shell's `PWD`, or Go's `--- PASS: TestX` and `key: value` in a log."""
_SECRET_ENDINGS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY")
"""Words glued to a prefix (`GHTOKEN`, `clientSecret`) that still make a name secret."""
_SECRET_PAIRS = ("ACCESS_KEY", "PRIVATE_KEY", "API_KEY")
"""Word pairs that make a name secret anywhere (`AWS_ACCESS_KEY_ID`)."""


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's (or a `NAME=value` pair's) name says it holds a secret.

    `*_TOKEN`, `*_SECRET`, `*_PASSWORD`, `*_PASS`, `*_KEY`, `*_API_KEY`, `*_JWT`,
    `GITHUB_PAT`, `*_AUTH`, `*_CREDENTIALS`...; not `PWD` (the shell's working
    directory), nor words that only contain one (`TOKENIZERS_PARALLELISM`, `AUTHOR`,
    `MAX_TOKENS`), nor `KEY_ID`s other than AWS's.
    """
    words = [w for w in _WORD.split(name.upper()) if w]
    if any(w in _SECRET_WORDS or w.endswith(_SECRET_ENDINGS) for w in words):
        return True
    if len(words) > 1 and (
        words[-1] == "KEY" or any(w in _QUALIFIED_WORDS and w != "KEY" for w in words)
    ):
        return True
    joined = "_".join(words)
    return any(pair in joined for pair in _SECRET_PAIRS)


_ASSIGNMENT = re.compile(
    # NAME=value, NAME: value, "name": "value", --name=value, quoted values whole. The value
    # may carry an HTTP auth scheme (`Authorization: Bearer x`); `==`, `::`, `:=` assign nothing.
    r"(?<![A-Za-z0-9_.-])-{0,2}(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)[\"']?[ \t]*[=:][ \t]*(?![=:])"
    r"(?:\"(?P<dq>[^\"\r\n]+)\"|'(?P<sq>[^'\r\n]+)'"
    r"|[\"']?(?P<value>(?:(?i:bearer|basic|token)[ \t]+)?[^\s\"'&,;<>(){}\[\]]+))"
)
_ASSIGNMENT_HINT = re.compile(r"[=:]")
_LOCATION = re.compile(r"[\d:]+")
_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    # (pattern, replacement): the prefix kept says what kind of secret it was.
    (re.compile(r"(?i)\b(bearer[ \t]+)[A-Za-z0-9._~+/-]{6,}=*"), rf"\g<1>{REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"\b(gh[pousr]_)[A-Za-z0-9]{20,}"), rf"\g<1>{REDACTED}"),
    (re.compile(r"\b(github_pat_)[A-Za-z0-9_]{20,}"), rf"\g<1>{REDACTED}"),
    (re.compile(r"\b(glpat-)[A-Za-z0-9_-]{20,}"), rf"\g<1>{REDACTED}"),
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(://[^/\s:@]+:)[^@\s/]+(@)"), rf"\g<1>{REDACTED}\g<2>"),
)
_MASK_HINT = re.compile(r"(?i:bearer)|eyJ|gh[pousr]_|github_pat_|glpat-|AKIA|ASIA|://")
"""One search that rules out every `_MASKS` pattern for most strings."""


def _mask_assignment(match: re.Match[str]) -> str:
    if not is_secret_name(match.group("name")):
        return match.group()
    value, after = match.group("value"), match.string[match.end() : match.end() + 1]
    if value is not None and (
        after == "(" or ("=" not in match.group() and _LOCATION.fullmatch(value))
    ):
        # Code (`token = make_token()`) or a location (`src/token.rs:12:5`), not a secret.
        return match.group()
    group = next(g for g in ("dq", "sq", "value") if match.group(g) is not None)
    whole, (start, end) = match.group(), match.span(group)
    return whole[: start - match.start()] + REDACTED + whole[end - match.start() :]


def _mask_patterns(text: str) -> str:
    if _ASSIGNMENT_HINT.search(text):
        text = _ASSIGNMENT.sub(_mask_assignment, text)
    if _MASK_HINT.search(text):
        for pattern, replacement in _MASKS:
            text = pattern.sub(replacement, text)
    return text


def _candidates(value: str) -> Iterator[str]:
    """The strings that stand for `value` in text: itself, its lines, its shell-quoted form."""
    yield value
    yield value.strip()
    for line in value.splitlines():
        yield line
        yield line.strip()
    if "'" in value:
        # `shlex.join` quotes a `'` inside an argument as `'"'"'`.
        yield value.replace("'", "'\"'\"'")


@attrs.frozen
class Redactor:
    """Masks secrets in text, argv, environment mappings and JSON-like documents.

    Pure: the secret values are given (`from_environments`); `Redactor()` masks
    patterns only.
    """

    values: tuple[str, ...] = ()
    """Secret values, longest first, none shorter than `MIN_VALUE_CHARS` or part of `REDACTED`."""

    @classmethod
    def from_environments(cls, *envs: Mapping[str, str]) -> Redactor:
        """The redactor of every value of a secret-named variable in `envs`."""
        found = {
            candidate
            for env in envs
            for name, value in env.items()
            if is_secret_name(name)
            for candidate in _candidates(value)
            if len(candidate) >= MIN_VALUE_CHARS and candidate not in REDACTED
        }
        return cls(values=tuple(sorted(found, key=lambda v: (-len(v), v))))

    def text(self, text: str) -> str:
        """`text` with every secret value and secret-looking pattern masked."""
        if not text:
            return text
        masked = _mask_patterns(text)
        if not self.values:
            return masked
        if masked.endswith(CUT_MARK):
            masked = self._mask_cut(masked)
        for _ in range(MAX_PASSES):
            if not any(value in masked for value in self.values):
                return masked
            masked = self._mask_values(masked)
        return masked if not any(value in masked for value in self.values) else REDACTED

    def _mask_values(self, text: str) -> str:
        """Every occurrence of every value (overlapping ones as one) replaced by `REDACTED`."""
        spans: list[tuple[int, int]] = []
        for value in self.values:
            start = text.find(value)
            while start != -1:
                spans.append((start, start + len(value)))
                start = text.find(value, start + 1)
        if not spans:
            return text
        spans.sort()
        pieces: list[str] = []
        kept, end = 0, 0
        for start, stop in spans:
            if start >= end:
                if end:
                    pieces.append(REDACTED)
                pieces.append(text[kept:start])
            end = max(end, stop)
            kept = end
        pieces += [REDACTED, text[kept:]]
        return "".join(pieces)

    def _mask_cut(self, text: str) -> str:
        """`text` (cut, marked `CUT_MARK`) without a value's first characters at the cut."""
        body = text[: -len(CUT_MARK)]
        for value in self.values:
            head = value[:MIN_VALUE_CHARS]
            at = body.find(head, max(0, len(body) - len(value) + 1))
            while at != -1:
                if value.startswith(body[at:]):
                    return body[:at] + REDACTED + CUT_MARK
                at = body.find(head, at + 1)
        return text

    def argv(self, argv: Sequence[str]) -> tuple[str, ...]:
        """`argv` with each argument masked."""
        return tuple(self.text(a) for a in argv)

    def env(self, env: Mapping[str, str]) -> dict[str, str]:
        """`env` with its names kept and the values of secret-named variables masked whole."""
        return {k: REDACTED if is_secret_name(k) else self.text(v) for k, v in env.items()}

    def data(self, document: Any) -> Any:
        """A JSON-like document (dicts, lists, strings) with every string masked.

        A mapping under a key named `env` is an environment (`env` above): replay
        writes every environment it records under that key. Only exact `str`s are
        masked: a str-valued enum (a status) is a fixed word and stays an enum.
        """
        memo: dict[str, str] = {}
        mask = self.text

        def string(value: str) -> str:
            masked = memo.get(value)
            if masked is None:
                masked = memo[value] = mask(value)
            return masked

        def item(value: Any) -> Any:
            # Inlined type tests: a 100,000-test summary holds millions of scalars.
            kind = type(value)
            if kind is str:
                return string(value)
            if kind is int or kind is float or kind is bool or value is None:
                return value
            return walk(value)

        def walk(value: Any) -> Any:
            if isinstance(value, str):
                return string(value) if type(value) is str else value
            if isinstance(value, dict):
                return {
                    (string(k) if type(k) is str else k): (
                        self.env(v) if k == "env" and _is_env(v) else item(v)
                    )
                    for k, v in value.items()
                }
            if isinstance(value, (list, tuple)):
                return [item(v) for v in value]
            return value

        return walk(document)


def _is_env(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


PATTERNS = Redactor()
"""The redactor that knows no values: patterns only (text read from elsewhere, errors)."""


def current_redactor(*envs: Mapping[str, str]) -> Redactor:
    """The redactor of replay's own environment and `envs` (the job envs a summary or plan holds).

    The one place that reads `os.environ` for redaction: the default of the edges
    whose caller did not hand them the run's redactor.
    """
    return Redactor.from_environments(os.environ, *envs)


def redact_text(text: str) -> str:
    """`text` with secret-looking patterns masked (no values known)."""
    return PATTERNS.text(text)


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """A copy of `env` with secret-named values and secret-looking text masked."""
    return PATTERNS.env(env)


def redact_argv(argv: Sequence[str]) -> tuple[str, ...]:
    """`argv` with secret-looking arguments masked (for display only)."""
    return PATTERNS.argv(argv)
