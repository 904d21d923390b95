"""Tests for `replay._core.trace`: attempts as spans on slots, in the Chrome trace-event form."""

from __future__ import annotations

import signal
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
from _support import make_summary, make_target, replay
from hypothesis import given
from hypothesis import strategies as st

from replay._core.trace import _assign_slots, timeline, trace_document
from replay._model import models
from replay._model.clock import iso
from replay._model.models import RunStatus

ZERO = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def _at(seconds: float) -> str:
    return iso(ZERO + timedelta(seconds=seconds))


def _attempt(number: int, start: float, duration: float, **changes: Any) -> models.Attempt:
    fields: dict[str, Any] = {
        "number": number,
        "exit_code": 0,
        "started_at": _at(start),
        "duration": duration,
        "log": f"job/attempt-{number}/output.log",
    }
    return models.Attempt(**{**fields, **changes})


def _target(name: str, *attempts: models.Attempt, decided_by: str = "run-1") -> models.TargetResult:
    return make_target(
        name, "passed", kind="suite", argv=("true",), decided_by=decided_by, attempts=attempts
    )


def _summary(*targets: models.TargetResult) -> models.Summary:
    return make_summary(
        *targets, run_id="run-1", status=RunStatus.FAILED, started_at=_at(0), finished_at=_at(10)
    )


def _complete(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in document["traceEvents"] if e["ph"] == "X"]


def _instants(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in document["traceEvents"] if e["ph"] == "i"]


def test_one_complete_span_per_attempt_with_microsecond_times() -> None:
    """Every attempt is one "X" event: its target, start and duration in microseconds."""
    summary = _summary(
        _target("a", _attempt(1, 0.0, 1.5, exit_code=1), _attempt(2, 2.0, 0.25)),
        _target("b", _attempt(1, 0.5, 3.0)),
    )
    document = orjson.loads(orjson.dumps(trace_document(summary)))
    spans = sorted(
        (e["name"], e["args"]["attempt"], e["ts"], e["dur"]) for e in _complete(document)
    )
    assert [
        ("a", 1, 0, 1_500_000),
        ("a", 2, 2_000_000, 250_000),
        ("b", 1, 500_000, 3_000_000),
    ] == spans


def test_overlapping_attempts_take_different_slots_and_a_free_slot_is_reused() -> None:
    """`a` and `b` overlap (two slots); `c` starts after `a` ended and takes slot 1 again."""
    summary = _summary(
        _target("a", _attempt(1, 0.0, 1.0)),
        _target("b", _attempt(1, 0.5, 3.0)),
        _target("c", _attempt(1, 1.0, 1.0)),
    )
    document = trace_document(summary)
    tids = {e["name"]: e["tid"] for e in _complete(document)}
    assert {"a": 1, "b": 2, "c": 1} == tids
    names = [e["args"]["name"] for e in document["traceEvents"] if e["name"] == "thread_name"]
    assert ["slot 1", "slot 2"] == names


def test_retries_kills_and_timeouts_are_instant_events() -> None:
    """A retry marks its start; a signal or a timeout marks the end of its attempt."""
    summary = _summary(
        _target(
            "a",
            _attempt(1, 0.0, 1.0, exit_code=None, signal=int(signal.SIGKILL)),
            _attempt(2, 1.5, 2.0, exit_code=None, timed_out=True),
        )
    )
    marks = sorted(
        (e["name"], e["ts"], e["args"]["attempt"]) for e in _instants(trace_document(summary))
    )
    assert [("killed", 1_000_000, 1), ("retry", 1_500_000, 2), ("timed out", 3_500_000, 2)] == marks


def test_other_events_of_a_job_are_marks_at_their_moment() -> None:
    """A slow warning in events.jsonl lands on its attempt at its `at`; lifecycle events do not."""
    summary = _summary(_target("a", _attempt(1, 0.0, 5.0)))
    events: list[dict[str, Any]] = [
        {"event": "attempt_started", "job": "a", "target": "a", "attempt": 1},
        {"event": "job_slow", "job": "a", "target": "a", "attempt": 1, "at": _at(2), "period": 2},
        {"event": "job_leaked", "job": "a", "elapsed": 4.5},
        {"event": "job_slow", "job": "other", "at": _at(1)},
    ]
    marks = [
        (e["name"], e["ts"], e["args"]["detail"])
        for e in _instants(trace_document(summary, events))
    ]
    assert [("job_slow", 2_000_000, "period=2"), ("job_leaked", 4_500_000, "elapsed=4.5")] == marks


def test_each_deciding_run_is_its_own_process_timed_from_its_start() -> None:
    """A carried target's attempts go to the run that decided it, this run first."""
    summary = _summary(
        _target("old", _attempt(1, -3600.0, 1.0), decided_by="run-0"),
        _target("new", _attempt(1, 0.0, 1.0)),
    )
    document = trace_document(summary)
    pids = {e["name"]: (e["pid"], e["ts"]) for e in _complete(document)}
    assert {"new": (1, 0), "old": (2, 0)} == pids
    processes = [e["args"]["name"] for e in document["traceEvents"] if e["name"] == "process_name"]
    assert ["run run-1 (this run)", "run run-0"] == processes


def test_an_attempt_that_never_started_has_no_span() -> None:
    """No start time (a job interrupted before it ran): nothing to draw."""
    summary = _summary(_target("a", models.Attempt(number=1, interrupted=True)))
    assert [] == _complete(trace_document(summary))
    assert () == timeline(summary)


# Positive lengths: a zero-length attempt inside another's still takes a slot of its own
# (it is drawn), which the overlap count below would not see.
intervals = st.lists(
    st.tuples(st.floats(0, 100, allow_nan=False), st.floats(0.001, 10)),
    max_size=40,
)


@given(intervals)
def test_slots_never_hold_two_overlapping_attempts_and_are_as_few_as_the_overlap(
    raw: list[tuple[float, float]],
) -> None:
    """Greedy assignment: no slot runs two attempts at once; slots used == most at once."""
    spans = sorted((start, start + length) for start, length in raw)
    slots = _assign_slots(spans)
    for i, (start, end) in enumerate(spans):
        for j in range(i):
            other_start, other_end = spans[j]
            if slots[i] == slots[j]:
                assert other_end <= start or end <= other_start
    most = max((sum(s <= t < e for s, e in spans) for t, _ in spans), default=0)
    assert most == (max(slots) + 1 if slots else 0)


def test_every_run_directory_gets_a_trace_with_one_span_per_attempt(tmp_path: Path) -> None:
    """A real run with a retry: trace.json loads and holds one complete span per attempt."""
    flaky = "import os,sys; e=os.path.exists('flag'); open('flag','w').close(); sys.exit(not e)"
    result = replay(
        tmp_path, "run", "--out", "r", "--retries", "1", "--", sys.executable, "-c", flaky
    )
    assert 0 == result.returncode, result.stderr
    document = orjson.loads((tmp_path / "r/trace.json").read_bytes())
    summary = orjson.loads((tmp_path / "r/summary.json").read_bytes())
    attempts = sum(len(t["attempts"]) for t in summary["targets"])
    assert 2 == attempts
    spans = _complete(document)
    assert attempts == len(spans)
    assert all({"name", "ts", "dur", "pid", "tid"} <= span.keys() for span in spans)
    assert ["retry"] == [e["name"] for e in _instants(document)]
