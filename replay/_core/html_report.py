"""`report.html`: one self-contained page a person opens from the CI artifacts.

The verdict and totals, the timeline of attempts across slots (inline SVG,
drawn from `trace.timeline`), each failure with its first failing assertion, a
log excerpt and the replay command, the flaky targets, and the chain (which run
decided each target). Pure: the caller reads the digests and logs into
`FailureEvidence` and writes the string.

The page loads nothing: no script, no font, no image but inline SVG, and a
Content-Security-Policy that forbids any fetch, so it renders the same from a
CI artifact, an air-gapped laptop or a mail attachment. Every text from the
summary, a log or a digest is escaped; the caller redacts it first.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from replay._core.chain import failed_tests, replay_command
from replay._core.results import describe_end
from replay._core.trace import RunLane, Span, timeline
from replay._model.models import Summary, TargetResult, TargetStatus, TestStatus

MAX_FAILURES = 200
"""Failures shown in full; the rest are listed by name (a broken build fails every suite)."""
MAX_TESTS = 20
"""Failed tests named per failure."""
MAX_CHAIN_ROWS = 5000
"""Rows of the chain table; past it the counts per deciding run still tell the story."""
SVG_WIDTH = 1100
"""The timeline's width in CSS pixels; its height follows its slots."""
ROW = 14
"""Height of one slot's row in the timeline."""
LABEL = 90
"""Room at the left of the timeline for the slot labels."""

STATUS_COLOURS = {
    "passed": "#2da44e",
    "flaky": "#bf8700",
    "failed": "#cf222e",
    "timed_out": "#8250df",
    "crashed": "#a40e26",
    "not_run": "#8c959f",
    "skipped": "#8c959f",
}

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#1f2328;
background:#fff;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
.verdict{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600}
.passed{background:#2da44e}.failed{background:#cf222e}.interrupted{background:#8250df}
table{border-collapse:collapse}td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
th{font-weight:600}.num{text-align:right}
pre,code{font:12px/1.4 ui-monospace,monospace;background:#f6f8fa}
pre{padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all;margin:4px 0}
.failure{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;margin:10px 0}
.failure h3{font-size:15px;margin:0 0 4px}.muted{color:#656d76}
svg text{font:11px system-ui,sans-serif;fill:#1f2328}
"""


@attrs.frozen
class FailureEvidence:
    """What the run directory says about one failed target, read by the caller."""

    root_cause: str | None = None
    assertion: str | None = None
    """The first failing assertion as one text: test, place and message."""
    evidence: tuple[str, ...] = ()
    """The log lines that decided the root cause (the digest's)."""
    excerpt: tuple[str, ...] = ()
    """The last lines of the target's log."""
    targeted_command: str | None = None
    """The command that reruns only the failed tests, when the adapter can target them."""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _seconds(value: float) -> str:
    return f"{value:.2f}s" if value < 60 else f"{int(value // 60)}m{value % 60:04.1f}s"


def count_tests(summary: Summary) -> dict[str, int]:
    """Each test's latest result counted by status, over every target of the summary."""
    counts = {status.value: 0 for status in TestStatus}
    for target in summary.targets:
        latest: dict[str, Any] = {}
        for result in target.tests:
            held = latest.get(result.name)
            if held is None or result.attempt >= held.attempt:
                latest[result.name] = result
        for result in latest.values():
            counts[result.status.value] += 1
    return counts


def _header(summary: Summary, command: str) -> list[str]:
    status = summary.status.value
    parts = [
        f"<h1>replay run {_e(summary.run_id)} <span class='verdict {status}'>{status}</span></h1>",
        f"<p class='muted'>started {_e(summary.started_at)} · finished {_e(summary.finished_at)}",
    ]
    if summary.shard is not None:
        parts.append(f" · shard {_e(summary.shard.name)}")
    parts.append("</p>")
    if summary.policy_failures:
        items = "".join(f"<li>{_e(p)}</li>" for p in summary.policy_failures)
        parts.append(f"<p>The run failed beyond its targets:</p><ul>{items}</ul>")
    if summary.outstanding:
        parts.append(f"<p>Replay what is outstanding: <code>{_e(command)}</code></p>")
    return parts


def _totals(summary: Summary) -> list[str]:
    by_status: dict[str, int] = {}
    for target in summary.targets:
        by_status[target.status.value] = by_status.get(target.status.value, 0) + 1
    attempts = sum(len(t.attempts) for t in summary.targets)
    rows = [("targets", len(summary.targets)), ("outstanding", len(summary.outstanding))]
    rows += [(f"targets {status}", count) for status, count in sorted(by_status.items())]
    rows += [("attempts", attempts)]
    rows += [(f"tests {status}", n) for status, n in count_tests(summary).items() if n]
    cells = "".join(f"<tr><th>{_e(k)}</th><td class='num'>{v}</td></tr>" for k, v in rows)
    return ["<h2>Totals</h2>", f"<table id='totals'>{cells}</table>"]


def _ticks(length: float) -> list[float]:
    """Five to ten round tick values from 0 to `length` seconds."""
    if length <= 0:
        return [0.0]
    step = 1e-3
    while length / step > 10:
        for factor in (2, 2.5, 2):
            step *= factor
            if length / step <= 10:
                break
    return [i * step for i in range(int(length / step) + 1)]


def _span_svg(span: Span, scale: float, y: int) -> str:
    x = LABEL + span.start * scale
    width = max(span.duration * scale, 1.0)
    colour = STATUS_COLOURS.get(span.status, "#8c959f")
    title = f"{span.target} · attempt {span.attempt} · {span.status} · {_seconds(span.duration)}"
    marks = "".join(
        f"<path d='M{LABEL + m.at * scale:.1f} {y - 1}l3 -4h-6z' fill='#1f2328'>"
        f"<title>{_e(m.name)}: {_e(m.detail)}</title></path>"
        for m in span.marks
    )
    return (
        f"<rect x='{x:.1f}' y='{y}' width='{width:.1f}' height='{ROW - 3}' fill='{colour}'>"
        f"<title>{_e(title)}</title></rect>{marks}"
    )


def _lane_svg(lane: RunLane, this_run: str) -> str:
    length = max(lane.length, 1e-3)
    scale = (SVG_WIDTH - LABEL - 10) / length
    top = 22
    height = top + lane.slots * ROW + 6
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{SVG_WIDTH}' height='{height}' "
        f"viewBox='0 0 {SVG_WIDTH} {height}' role='img' class='timeline'>",
        f"<title>{_e(lane.run_id)}: {len(lane.spans)} attempts on {lane.slots} slots</title>",
    ]
    for tick in _ticks(length):
        x = LABEL + tick * scale
        parts.append(
            f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{top - 4}' y2='{height}' stroke='#d0d7de'/>"
            f"<text x='{x + 2:.1f}' y='{top - 8}'>{_e(_seconds(tick))}</text>"
        )
    for slot in range(lane.slots):
        parts.append(f"<text x='0' y='{top + slot * ROW + ROW - 4}'>slot {slot + 1}</text>")
    parts += [_span_svg(span, scale, top + span.slot * ROW) for span in lane.spans]
    parts.append("</svg>")
    name = "this run" if lane.run_id == this_run else "run"
    caption = f"{name} {_e(lane.run_id)}, from {_e(lane.started_at)}, {_seconds(lane.length)}"
    return f"<figure><figcaption>{caption}</figcaption>{''.join(parts)}</figure>"


def _timeline(lanes: Sequence[RunLane], this_run: str) -> list[str]:
    parts = ["<h2>Timeline</h2>"]
    if not lanes:
        return [*parts, "<p class='muted'>No attempt started.</p>"]
    legend = " ".join(
        f"<span style='color:{colour}'>■</span> {status}"
        for status, colour in STATUS_COLOURS.items()
        if status != "skipped"
    )
    parts.append(f"<p class='muted'>{legend} · ▼ retry, kill or warning</p>")
    return parts + [_lane_svg(lane, this_run) for lane in lanes]


def _failure(target: TargetResult, evidence: FailureEvidence | None, run_id: str) -> str:
    found = evidence or FailureEvidence(root_cause=target.root_cause)
    rows = [("why", describe_end(target))]
    if target.decided_by != run_id:
        rows.append(("decided by", target.decided_by))
    if found.root_cause or target.root_cause:
        rows.append(("root cause", found.root_cause or target.root_cause or ""))
    tests = failed_tests(target)
    if tests:
        more = f", and {len(tests) - MAX_TESTS} more" if len(tests) > MAX_TESTS else ""
        rows.append(("failed tests", ", ".join(tests[:MAX_TESTS]) + more))
    if target.log:
        rows.append(("log", target.log))
    cells = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    parts = [
        "<div class='failure'>",
        f"<h3>{_e(target.name)} <span class='muted'>({_e(target.kind)}) "
        f"{_e(target.status.value)}</span></h3><table>{cells}</table>",
    ]
    blocks = (
        ("First failing assertion:", "assertion", (found.assertion,) if found.assertion else ()),
        ("Lines that decided the cause:", "evidence", found.evidence),
        ("End of the log:", "excerpt", found.excerpt),
    )
    parts += [
        f"<p>{title}</p><pre class='{kind}'>{_e(chr(10).join(lines))}</pre>"
        for title, kind, lines in blocks
        if lines
    ]
    if found.targeted_command:
        parts.append(f"<p>Rerun its failed tests: <code>{_e(found.targeted_command)}</code></p>")
    parts.append("</div>")
    return "".join(parts)


def _failures(summary: Summary, evidence: Mapping[str, FailureEvidence], command: str) -> list[str]:
    outstanding = summary.outstanding
    parts = [f"<h2>Failures ({len(outstanding)})</h2>"]
    if not outstanding:
        return [*parts, "<p>Nothing is outstanding.</p>"]
    parts.append(f"<p>Replay them all: <code class='replay'>{_e(command)}</code></p>")
    parts += [_failure(t, evidence.get(t.name), summary.run_id) for t in outstanding[:MAX_FAILURES]]
    rest = outstanding[MAX_FAILURES:]
    if rest:
        names = ", ".join(t.name for t in rest)
        parts.append(f"<p>And {len(rest)} more: {_e(names)}</p>")
    return parts


def _flaky(summary: Summary) -> list[str]:
    flaky = [t for t in summary.targets if t.status is TargetStatus.FLAKY]
    parts = [f"<h2>Flaky targets ({len(flaky)})</h2>"]
    if not flaky:
        return [*parts, "<p>None: every target passed or failed on its first attempt.</p>"]
    rows = []
    for target in flaky:
        flaked = sorted({r.name for r in target.tests if r.status is TestStatus.FAILED})
        shown = ", ".join(flaked[:MAX_TESTS]) + (" ..." if len(flaked) > MAX_TESTS else "")
        rows.append(
            f"<tr><td>{_e(target.name)}</td><td class='num'>{len(target.attempts)}</td>"
            f"<td>{_e(shown)}</td></tr>"
        )
    head = "<tr><th>target</th><th>attempts</th><th>tests that failed first</th></tr>"
    return [*parts, f"<table id='flaky'>{head}{''.join(rows)}</table>"]


def _chain(summary: Summary) -> list[str]:
    parts = ["<h2>Chain</h2>"]
    if summary.rerun_from or summary.parent_run_id:
        parts.append(
            f"<p>Rerun of {_e(summary.rerun_from or '-')} "
            f"(run {_e(summary.parent_run_id or '-')}).</p>"
        )
    by_run: dict[str, int] = {}
    for target in summary.targets:
        by_run[target.decided_by] = by_run.get(target.decided_by, 0) + 1
    counts = "".join(
        f"<li>{_e(run)}{' (this run)' if run == summary.run_id else ''}: {n} target(s)</li>"
        for run, n in by_run.items()
    )
    parts.append(f"<p>Which run decided each target:</p><ul>{counts}</ul>")
    rows = [
        f"<tr><td>{_e(t.name)}</td><td>{_e(t.status.value)}</td><td>{_e(t.chain_state.value)}</td>"
        f"<td>{_e(t.decided_by)}</td></tr>"
        for t in summary.targets[:MAX_CHAIN_ROWS]
    ]
    head = "<tr><th>target</th><th>status</th><th>chain</th><th>decided by</th></tr>"
    parts.append(f"<table id='chain'>{head}{''.join(rows)}</table>")
    if len(summary.targets) > MAX_CHAIN_ROWS:
        parts.append(f"<p class='muted'>{len(summary.targets) - MAX_CHAIN_ROWS} more rows.</p>")
    return parts


def render_report(
    summary: Summary,
    *,
    summary_path: str,
    evidence: Mapping[str, FailureEvidence] | None = None,
    events: Iterable[Mapping[str, Any]] = (),
) -> str:
    """The whole page for `summary`, found at `summary_path` (the replay command names it).

    `evidence` maps an outstanding target's name to what its digest and log say;
    `events` are `events.jsonl`'s objects (their slow and leak marks go on the timeline).
    """
    command = summary.one_command_replay or replay_command(summary_path, summary.config)
    body = [
        *_header(summary, command),
        *_totals(summary),
        *_timeline(timeline(summary, events), summary.run_id),
        *_failures(summary, evidence or {}, command),
        *_flaky(summary),
        *_chain(summary),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' "
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<link rel='icon' href='data:,'>"
        f"<title>replay {_e(summary.run_id)}: {_e(summary.status.value)}</title>"
        f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
