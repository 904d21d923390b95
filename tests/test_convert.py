"""The strict converter: no coercion, `path: problem` errors, exact round trips."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from _support import target_document
from hypothesis import given
from hypothesis import strategies as st

from replay._model import models
from replay._model.convert import dumps, loads, parse_json, structure
from replay._model.errors import InputError
from replay._model.models import ChainState, RunStatus, TargetStatus, TestStatus, TriageStatus

text = st.text(max_size=20)
maybe_text = st.none() | text
# What reaches an argv, a path or an environment holds no NUL (the models refuse it).
words = st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=20)
env_names = st.text(st.characters(codec="utf-8", exclude_characters="\0="), min_size=1, max_size=20)
seconds = st.floats(min_value=0, max_value=1e6, allow_nan=False)

tests = st.builds(
    models.TestResult,
    name=text,
    status=st.sampled_from(TestStatus),
    duration=st.none() | seconds,
    attempt=st.integers(1, 5),
    message=maybe_text,
    file=maybe_text,
    line=st.none() | st.integers(0, 10**6),
)
attempts = st.builds(
    models.Attempt,
    number=st.integers(1, 9),
    exit_code=st.none() | st.integers(0, 255),
    signal=st.none() | st.integers(1, 64),
    timed_out=st.booleans(),
    error=maybe_text,
    started_at=text,
    duration=seconds,
    log=maybe_text,
    tests=st.lists(tests, max_size=3).map(tuple),
    interrupted=st.booleans(),
)
targets = st.builds(
    models.TargetResult,
    name=words,
    kind=text,
    adapter=text,
    argv=st.lists(words, max_size=4).map(tuple),
    status=st.sampled_from(TargetStatus),
    chain_state=st.sampled_from(ChainState),
    decided_by=text,
    env=st.dictionaries(env_names, words, max_size=3),
    cwd=st.none() | words,
    exit_code=st.none() | st.integers(-1, 255),
    signal=st.none() | st.integers(1, 64),
    duration=seconds,
    attempts=st.lists(attempts, max_size=2).map(tuple),
    tests=st.lists(tests, max_size=3).map(tuple),
    log=maybe_text,
    root_cause=maybe_text,
    quarantined=st.booleans(),
    retry_refused=maybe_text,
)
summaries = st.builds(
    models.Summary,
    run_id=text,
    status=st.sampled_from(RunStatus),
    started_at=text,
    finished_at=text,
    targets=st.lists(targets, max_size=3).map(tuple),
    parent_run_id=maybe_text,
    rerun_from=maybe_text,
    shard=st.none()
    | st.integers(1, 10).flatmap(
        lambda total: st.builds(models.Shard, index=st.integers(0, total - 1), total=st.just(total))
    ),
    one_command_replay=maybe_text,
    triage_diff=st.none() | st.builds(TriageStatus, status=text),
)


@pytest.mark.slow
@given(summaries)
def test_summary_round_trip(summary: models.Summary) -> None:
    """Any summary model -> JSON -> model is equal."""
    assert summary == loads(dumps(summary), models.Summary, source="s.json")


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("run_id", 7, "$.run_id: expected str, got int"),
        ("status", "done", "$.status: 'done' is not one of: passed, failed, interrupted"),
        ("status", 1, "$.status: expected a string, got int"),
        ("targets", "abc", "$.targets: expected a list, got str"),
        ("targets", [{"name": "x"}], "$.targets[0].kind: required field missing"),
        ("shard", {"index": "1", "total": 2}, "$.shard.index: expected int, got str"),
        ("shard", {"index": True, "total": 2}, "$.shard.index: expected int, got a boolean"),
        ("surprise", 1, "$: extra fields found (surprise)"),
    ],
)
def test_wrong_types_are_named_by_path(field: str, value: Any, problem: str) -> None:
    """cattrs' coercions are off: each wrong value is reported at its path."""
    document: dict[str, Any] = {
        "run_id": "r",
        "status": "passed",
        "started_at": "",
        "finished_at": "",
    }
    document[field] = value
    with pytest.raises(InputError) as info:
        structure(document, models.Summary, source="s.json")
    assert f"s.json: {problem}" in str(info.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"  \n", "empty file"),
        (b'{"a": ', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[" * 1100 + b"]" * 1100, "nested deeper"),
    ],
)
def test_unparseable_json(data: bytes, message: str) -> None:
    """Empty, truncated, binary and absurdly deep inputs name the source."""
    with pytest.raises(InputError, match=message) as info:
        parse_json(data, source="x.json")
    assert str(info.value).startswith("x.json: ")


def test_floats_accept_integers() -> None:
    """A JSON integer is a valid float (durations written as 1)."""
    attempt = structure({"number": 1, "duration": 1}, models.Attempt, source="a")
    assert 1.0 == attempt.duration
    assert orjson.loads(dumps(attempt))["duration"] == 1.0


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"name": "t", "status": "nope"}, "$.status: 'nope' is not one of"),
        ({"name": "t", "status": "passed", "line": "7"}, "$.line: expected int"),
        ({"name": 1, "status": "passed"}, "$.name: expected str, got int"),
        ({"name": "t", "status": "passed", "extra": 1}, "extra fields found (extra)"),
        ({"status": "passed"}, "$.name: required field missing"),
    ],
)
def test_fast_test_records_keep_exact_errors(document: dict[str, Any], problem: str) -> None:
    """The fast path for test records hands anything unusual to the checked path."""
    with pytest.raises(InputError, match=re.escape(problem)):
        structure(document, models.TestResult, source="t.json")


@given(tests)
def test_fast_test_records_equal_the_model(test: models.TestResult) -> None:
    """A valid test record comes back equal through the fast path."""
    assert test == structure(orjson.loads(dumps(test)), models.TestResult, source="t.json")


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"shard": {"index": 2, "total": 2}}, "$.shard.index: shard 2 does not exist in 2"),
        ({"shard": {"index": -1, "total": 2}}, "$.shard.index: expected 0 to 9999, got -1"),
        ({"shard": {"index": 0, "total": 10**6}}, "$.shard.total: expected 1 to 10000"),
        (
            {"shard": {"index": 9, "total": 2}, "targets": [target_document(status="x")]},
            "$.targets[0].status: 'x' is not one of",
        ),
    ],
)
def test_model_validators_are_named_by_path(document: dict[str, Any], problem: str) -> None:
    """What a model's validator refuses is reported at its field's path, like a wrong type."""
    base: dict[str, Any] = {"run_id": "r", "status": "passed", "started_at": "", "finished_at": ""}
    with pytest.raises(InputError) as info:
        structure({**base, **document}, models.Summary, source="s.json")
    assert f"s.json: {problem}" == str(info.value)[: len(problem) + 8]
