"""GitHub Actions integration: `::error` annotations and a Markdown step summary (pure).

Workflow commands are one line each; their data and properties are escaped as
the runner expects (`%`, CR, LF, and in properties `:` and `,`), so a hostile
test name cannot inject a second command.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from replay._models import Summary, TargetResult
from replay._redact import redact_text

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


def annotation(target: TargetResult, digest: Mapping[str, Any] | None, why: str) -> str:
    """One `::error` (or `::warning` for quarantined targets) line for an outstanding target."""
    file, line, message = _location(digest)
    properties = [f"title={escape_property(f'{target.name}: {target.status.value}')}"]
    if file:
        properties.insert(0, f"file={escape_property(file)}")
        if line is not None:
            properties.insert(1, f"line={line}")
    cause = digest.get("root_cause_class") if digest else None
    text = f"{why}" + (f" ({cause})" if cause else "")
    if message:
        text += f"\n{message}"
    text += f"\nreplay: {shlex.join(target.argv)}"
    level = "warning" if target.quarantined else "error"
    return f"::{level} {','.join(properties)}::{escape_data(redact_text(text))}"


def annotation_lines(
    summary: Summary, digests: Mapping[str, Mapping[str, Any]], reasons: Mapping[str, str]
) -> list[str]:
    """Annotations for the outstanding targets this run decided, at most `MAX_ANNOTATIONS`."""
    lines = []
    for target in summary.outstanding:
        if target.decided_by != summary.run_id:
            continue
        lines.append(
            annotation(target, digests.get(target.name), reasons.get(target.name, "failed"))
        )
    return lines[:MAX_ANNOTATIONS]


def _cell(text: str) -> str:
    return redact_text(text).replace("|", "\\|").replace("\n", " ")


def step_summary(summary: Summary, reasons: Mapping[str, str], run_dir: str) -> str:
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
            log = f"`{run_dir}/{target.log}`" if target.log else ""
            why = reasons.get(target.name, "")
            out.append(f"| `{_cell(target.name)}` | {target.status.value} | {_cell(why)} | {log} |")
        out += ["", "Replay what is outstanding:", "", "```bash"]
        out += [summary.one_command_replay or "", "```", ""]
    return "\n".join(out) + "\n"
