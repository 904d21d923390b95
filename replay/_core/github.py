"""GitHub Actions integration: `::error` annotations and a Markdown step summary (pure).

Workflow commands are one line each; their data and properties are escaped as
the runner expects (`%`, CR, LF, and in properties `:` and `,`), so a hostile
test name cannot inject a second command. In the step summary a name is an
inline code span and a reason is literal text, each on one line, so a backtick,
`|`, `<` or a newline in them cannot break the table. Everything goes through
the run's redactor (patterns only, unless the caller passes the run's).
"""

from __future__ import annotations

import re
import shlex
import string
from collections.abc import Mapping
from typing import Any

from replay._core.redact import PATTERNS, Redactor
from replay._model.models import Summary, TargetResult

MAX_ANNOTATIONS = 50
"""GitHub shows at most 10 error annotations per step and 50 per job; more is noise."""


def escape_data(text: str) -> str:
    """Escape a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _location(digest: Mapping[str, Any] | None) -> tuple[str | None, int | None, str | None]:
    if not digest:
        return None, None, None
    assertion = digest.get("first_failing_assertion")
    if not isinstance(assertion, dict):
        return None, None, None
    file, line, message = assertion.get("file"), assertion.get("line"), assertion.get("message")
    return (
        file if isinstance(file, str) else None,
        line if isinstance(line, int) and not isinstance(line, bool) else None,
        message if isinstance(message, str) else None,
    )


def annotation(
    target: TargetResult,
    digest: Mapping[str, Any] | None,
    why: str,
    redactor: Redactor = PATTERNS,
) -> str:
    """One `::error` (or `::warning` for quarantined targets) line for an outstanding target."""
    file, line, message = _location(digest)
    title = redactor.text(f"{target.name}: {target.status.value}")
    properties = [f"title={escape_property(title)}"]
    if file:
        properties.insert(0, f"file={escape_property(redactor.text(file))}")
        if line is not None:
            properties.insert(1, f"line={line}")
    cause = digest.get("root_cause_class") if digest else None
    text = f"{why}" + (f" ({cause})" if cause else "")
    if message:
        text += f"\n{message}"
    text += f"\nreplay: {shlex.join(redactor.argv(target.argv))}"
    level = "warning" if target.quarantined else "error"
    return f"::{level} {','.join(properties)}::{escape_data(redactor.text(text))}"


def annotation_lines(
    summary: Summary,
    digests: Mapping[str, Mapping[str, Any]],
    reasons: Mapping[str, str],
    redactor: Redactor = PATTERNS,
) -> list[str]:
    """Annotations for the outstanding targets this run decided, at most `MAX_ANNOTATIONS`."""
    lines = []
    for target in summary.outstanding:
        if target.decided_by != summary.run_id:
            continue
        lines.append(
            annotation(
                target, digests.get(target.name), reasons.get(target.name, "failed"), redactor
            )
        )
    return lines[:MAX_ANNOTATIONS]


_ESCAPABLE = frozenset(string.punctuation)
"""ASCII punctuation: CommonMark lets a backslash make any of it literal."""
_BACKTICKS = re.compile(r"`+")
_PIPE = re.compile(r"(\\*)\|")


def _escape_pipe(match: re.Match[str]) -> str:
    # GFM pairs a backslash with the character after it: an odd run before `|` escapes it.
    run = match.group(1)
    return run + ("\\" if len(run) % 2 == 0 else "") + "|"


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def markdown_text(text: str) -> str:
    """`text` as literal Markdown on one line (a table cell): all ASCII punctuation escaped.

    A backslash before `` ` ``, `|`, `<`, `*`, `[`, `&`... makes each a plain
    character: no code span, cell break, HTML, emphasis, link or entity.
    """
    return "".join("\\" + c if c in _ESCAPABLE else c for c in _one_line(text))


def markdown_code(text: str) -> str:
    """`text` as an inline code span on one line (a table cell).

    The fence is one backtick longer than the longest run inside, padded with a
    space each side (CommonMark strips them), so backticks in `text` cannot close
    it; `|` is escaped because a GFM table splits its row before reading spans.
    """
    inside = _PIPE.sub(_escape_pipe, _one_line(text))
    if not inside.strip(" "):
        # CommonMark keeps the spaces of an all-space span: nothing to mark up.
        return inside
    fence = "`" * (1 + max((len(run) for run in _BACKTICKS.findall(inside)), default=0))
    return f"{fence} {inside} {fence}"


def _code_block(text: str) -> list[str]:
    """A fenced `bash` block holding `text`: a fence longer than any run of backticks in it."""
    fence = "`" * max(3, 1 + max((len(run) for run in _BACKTICKS.findall(text)), default=0))
    return [f"{fence}bash", text, fence]


def step_summary(
    summary: Summary, reasons: Mapping[str, str], run_dir: str, redactor: Redactor = PATTERNS
) -> str:
    """The Markdown appended to `$GITHUB_STEP_SUMMARY`."""
    counts: dict[str, int] = {}
    for target in summary.targets:
        counts[target.status.value] = counts.get(target.status.value, 0) + 1
    icon = {"passed": "✅", "failed": "❌", "interrupted": "⏹️"}[summary.status.value]
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    out = [f"### {icon} replay: {summary.status.value}", "", parts or "no targets", ""]
    outstanding = summary.outstanding
    if outstanding:
        out += ["| target | status | why | log |", "|---|---|---|---|"]
        for target in outstanding[:MAX_ANNOTATIONS]:
            name = markdown_code(redactor.text(target.name))
            why = markdown_text(redactor.text(reasons.get(target.name, "")))
            log = markdown_code(redactor.text(f"{run_dir}/{target.log}")) if target.log else ""
            out.append(f"| {name} | {target.status.value} | {why} | {log} |")
        out += ["", "Replay what is outstanding:", ""]
        out += [*_code_block(redactor.text(summary.one_command_replay or "")), ""]
    return "\n".join(out) + "\n"
