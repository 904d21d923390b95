"""A run's timeline: which attempt ran when, on which parallel slot.

`timeline` turns a summary (and the run's `events.jsonl`, already parsed) into
spans and marks; `trace_document` writes them in the Chrome trace-event format
(`trace.json`: it opens in Perfetto and chrome://tracing), and the HTML report
draws the same spans as SVG. Pure: the caller reads the files.

The executor does not record which slot ran an attempt, so slots are derived
here from the attempts' start and end times: each attempt takes the lowest slot
free when it starts (greedy interval partitioning), which needs as many slots
as attempts ever overlapped. Every run of a chain or a merge (`decided_by`)
gets its own track group, timed from its own first attempt.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from replay._model.clock import iso, parse_iso
from replay._model.models import Attempt, Summary, TargetResult
from replay._model.outcomes import attempt_status, signal_name

TRACE_SCHEMA = "replay.trace.v1"
"""Written into `otherData`, so a reader can tell replay's trace from another tool's."""

LIFECYCLE_EVENTS = frozenset(
    {"run_started", "run_finished", "attempt_started", "attempt_finished", "job_finished"}
)
"""Events the summary already holds; any other event naming a job is a mark on its span
(a slow warning, a leak), whatever the executor calls it."""

US = 1_000_000
"""Trace-event timestamps are microseconds."""


@attrs.frozen
class Mark:
    """Something that happened at one moment of an attempt: a retry, a kill, a slow warning."""

    name: str
    at: float
    """Seconds from the start of the span's run."""
    detail: str = ""


@attrs.frozen
class Span:
    """One attempt, placed on a slot of its run."""

    target: str
    attempt: int
    status: str
    start: float
    """Seconds from the start of its run (the run's first attempt)."""
    duration: float
    slot: int
    """0-based: the lowest slot free when the attempt started."""
    log: str | None = None
    marks: tuple[Mark, ...] = ()

    @property
    def end(self) -> float:
        """When the attempt ended, in the same seconds as `start`."""
        return self.start + self.duration


@attrs.frozen
class RunLane:
    """The spans of one run (this one, or one a chain or merge carried), and its slots."""

    run_id: str
    started_at: str
    """The ISO moment its first attempt started: zero of its spans' seconds."""
    spans: tuple[Span, ...]
    slots: int

    @property
    def length(self) -> float:
        """Seconds from the run's first start to its last end."""
        return max((s.end for s in self.spans), default=0.0)


def _marks(target: TargetResult, attempt: Attempt, start: float, end: float) -> list[Mark]:
    """The marks the summary itself implies: a retry's start, a kill or timeout at the end."""
    marks = []
    if attempt.number > 1:
        marks.append(Mark("retry", start, f"attempt {attempt.number} of {target.name}"))
    if attempt.timed_out:
        marks.append(Mark("timed out", end, f"killed after {attempt.duration:.1f}s"))
    elif attempt.interrupted:
        marks.append(Mark("interrupted", end, "stopped by Ctrl-C or SIGTERM"))
    elif attempt.signal is not None:
        marks.append(Mark("killed", end, f"killed by {signal_name(attempt.signal)}"))
    return marks


def _event_moment(event: Mapping[str, Any], zero: datetime, start: float, end: float) -> float:
    """When an event happened, in run seconds: its `at`, else its offset, else the span's end."""
    at = event.get("at")
    moment = parse_iso(at) if isinstance(at, str) else None
    if moment is not None:
        return (moment - zero).total_seconds()
    for key in ("elapsed", "after", "seconds"):
        offset = event.get(key)
        if isinstance(offset, (int, float)) and not isinstance(offset, bool):
            return start + float(offset)
    return end


def _event_detail(event: Mapping[str, Any]) -> str:
    skip = {"event", "job", "target", "attempt", "at"}
    return ", ".join(f"{k}={event[k]}" for k in sorted(event) if k not in skip)


def _job_events(events: Iterable[Mapping[str, Any]]) -> dict[tuple[str, int | None], list[Any]]:
    """Non-lifecycle events by (target or job, attempt number or None)."""
    found: dict[tuple[str, int | None], list[Any]] = {}
    for event in events:
        name = event.get("event")
        if not isinstance(name, str) or name in LIFECYCLE_EVENTS:
            continue
        attempt = event.get("attempt")
        number = attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else None
        for key in {event.get("target"), event.get("job")}:
            if isinstance(key, str):
                found.setdefault((key, number), []).append(event)
    return found


def _assign_slots(starts_ends: Sequence[tuple[float, float]]) -> list[int]:
    """The lowest free slot for each interval, in the order given (sorted by start)."""
    free: list[int] = []
    busy: list[tuple[float, int]] = []  # (end, slot)
    slots = []
    for start, end in starts_ends:
        while busy and busy[0][0] <= start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        slot = heapq.heappop(free) if free else len(busy)
        heapq.heappush(busy, (end, slot))
        slots.append(slot)
    return slots


def _run_lane(
    run_id: str,
    attempts: list[tuple[datetime, TargetResult, Attempt]],
    events: Mapping[tuple[str, int | None], list[Any]],
) -> RunLane:
    attempts.sort(key=lambda item: (item[0], item[1].name, item[2].number))
    zero = attempts[0][0]
    intervals = []
    for moment, _, attempt in attempts:
        start = (moment - zero).total_seconds()
        intervals.append((start, start + max(attempt.duration, 0.0)))
    slots = _assign_slots(intervals)
    last = {t.name: max(a.number for a in t.attempts) for _, t, _ in attempts}
    spans = []
    for (_, target, attempt), (start, end), slot in zip(attempts, intervals, slots, strict=True):
        marks = _marks(target, attempt, start, end)
        mine = events.get((target.name, attempt.number), [])
        if attempt.number == last[target.name]:
            mine = [*mine, *events.get((target.name, None), [])]
        marks += [
            Mark(str(e["event"]), _event_moment(e, zero, start, end), _event_detail(e))
            for e in mine
        ]
        spans.append(
            Span(
                target=target.name,
                attempt=attempt.number,
                status=attempt_status(attempt).value,
                start=start,
                duration=end - start,
                slot=slot,
                log=attempt.log,
                marks=tuple(sorted(marks, key=lambda m: m.at)),
            )
        )
    started_at = iso(zero)
    return RunLane(run_id, started_at, tuple(spans), max(slots) + 1)


def timeline(summary: Summary, events: Iterable[Mapping[str, Any]] = ()) -> tuple[RunLane, ...]:
    """The summary's attempts as spans on slots, one `RunLane` per deciding run.

    This run's lane comes first, then the others in order of their first start.
    An attempt without a start time (one that never started) has no span.
    `events` are `events.jsonl`'s objects: those that are not lifecycle events
    and name a target (or job) become marks on its attempt (the attempt they
    name, else the last one); only this run's events are in its file.
    """
    by_run: dict[str, list[tuple[datetime, TargetResult, Attempt]]] = {}
    for target in summary.targets:
        for attempt in target.attempts:
            moment = parse_iso(attempt.started_at) if attempt.started_at else None
            if moment is not None:
                by_run.setdefault(target.decided_by, []).append((moment, target, attempt))
    job_events = _job_events(events)
    lanes = [
        _run_lane(run_id, attempts, job_events if run_id == summary.run_id else {})
        for run_id, attempts in by_run.items()
    ]
    lanes.sort(key=lambda lane: (lane.run_id != summary.run_id, lane.started_at, lane.run_id))
    return tuple(lanes)


def _us(seconds: float) -> int:
    return round(seconds * US)


def trace_document(summary: Summary, events: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """`trace.json`: the Chrome trace-event form of `timeline(summary, events)`.

    One process per deciding run (`pid` 1 is this run when it executed
    anything), one thread per slot, one complete ("X") event per attempt and
    an instant ("i") event per mark. Times are microseconds from the run's
    first attempt; `otherData` says when that was.
    """
    trace: list[dict[str, Any]] = []
    starts = {}
    for pid, lane in enumerate(timeline(summary, events), start=1):
        starts[lane.run_id] = lane.started_at
        label = lane.run_id if lane.run_id != summary.run_id else f"{lane.run_id} (this run)"
        trace.append(_meta("process_name", pid, 0, f"run {label}"))
        trace.append(
            {"name": "process_sort_index", "ph": "M", "pid": pid, "args": {"sort_index": pid}}
        )
        trace += [
            _meta("thread_name", pid, slot + 1, f"slot {slot + 1}") for slot in range(lane.slots)
        ]
        for span in lane.spans:
            tid = span.slot + 1
            args: dict[str, Any] = {"attempt": span.attempt, "status": span.status}
            if span.log is not None:
                args["log"] = span.log
            trace.append(
                {
                    "name": span.target,
                    "cat": "attempt",
                    "ph": "X",
                    "ts": _us(span.start),
                    "dur": _us(span.duration),
                    "pid": pid,
                    "tid": tid,
                    "args": args,
                }
            )
            trace += [
                {
                    "name": mark.name,
                    "cat": "mark",
                    "ph": "i",
                    "s": "t",
                    "ts": _us(mark.at),
                    "pid": pid,
                    "tid": tid,
                    "args": {"target": span.target, "attempt": span.attempt, "detail": mark.detail},
                }
                for mark in span.marks
            ]
    return {
        "traceEvents": trace,
        "displayTimeUnit": "ms",
        "otherData": {
            "schema": TRACE_SCHEMA,
            "run_id": summary.run_id,
            "status": summary.status.value,
            "run_starts": starts,
        },
    }


def _meta(kind: str, pid: int, tid: int, name: str) -> dict[str, Any]:
    return {"name": kind, "ph": "M", "pid": pid, "tid": tid, "args": {"name": name}}
