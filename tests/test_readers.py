"""Tests for replay._inputs.readers: every accepted summary format, and hostile ones."""

from __future__ import annotations

import contextlib
import copy
import tempfile
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest
from _support import fixture_path, refusal
from hypothesis import given
from hypothesis import strategies as st

from replay._core.summary import SHARED_TESTS_KEY, summary_document
from replay._inputs.readers import (
    cargo_argv,
    load_summary,
    parse_summary,
    read_summary,
    safe_relative,
)
from replay._model import models
from replay._model.convert import unstructure
from replay._model.errors import InputError
from replay._model.models import ChainState, RunStatus, TargetStatus, TestStatus, TriageStatus

FIXTURES = fixture_path("summaries")
LEGACY = FIXTURES / "pi_legacy_20260206T212320Z.json"
PI_V1 = FIXTURES / "pi_v1_only_units_failed.json"
REPLAY_V1 = FIXTURES / "replay_v1_failed.json"

HOSTILE_NAME = "it's; rm -rf ~ $(id) `reboot` | cat > /etc/passwd"


def _pi_doc(**extra: Any) -> dict[str, Any]:
    """A minimal upstream document; keyword arguments add or replace keys."""
    document: dict[str, Any] = {"schema": "pi.e2e.summary.v1", "timestamp": "20260214T101500Z"}
    document.update(extra)
    return document


def _replay_doc() -> dict[str, Any]:
    return orjson.loads(REPLAY_V1.read_bytes())  # type: ignore[no-any-return]


def _target(name: str, **changes: Any) -> models.TargetResult:
    fields: dict[str, Any] = {
        "name": name,
        "kind": "e2e",
        "adapter": "generic",
        "argv": ("sh", "-c", "exit 1"),
        "status": TargetStatus.FAILED,
        "chain_state": ChainState.OUTSTANDING,
        "decided_by": "run-1",
    }
    fields.update(changes)
    return models.TargetResult(**fields)


def _summary(*targets: models.TargetResult) -> models.Summary:
    return models.Summary(
        run_id="run-1",
        status=RunStatus.FAILED,
        started_at="2026-03-01T12:00:00Z",
        finished_at="2026-03-01T12:01:00Z",
        targets=targets,
    )


# --- the real and hand-made fixtures ---------------------------------------------------


def test_legacy_fixture_becomes_one_outstanding_cargo_target() -> None:
    """pi's real schema-less summary reads as one failed e2e target decided by its timestamp."""
    log = "e2e_rpc/output.log"
    expected = models.Summary(
        run_id="20260206T212320Z",
        status=RunStatus.FAILED,
        started_at="2026-02-06T21:23:20Z",
        finished_at="",
        targets=(
            models.TargetResult(
                name="e2e_rpc",
                kind="e2e",
                adapter="cargo",
                argv=("cargo", "test", "--test", "e2e_rpc", "--", "--nocapture"),
                status=TargetStatus.FAILED,
                chain_state=ChainState.OUTSTANDING,
                decided_by="20260206T212320Z",
                exit_code=101,
                duration=47.863,
                attempts=(models.Attempt(number=1, exit_code=101, duration=47.863, log=log),),
                log=log,
            ),
        ),
    )
    assert expected == load_summary(LEGACY)


def test_only_unit_failures_are_outstanding() -> None:
    """failed_unit_names counts: a pi summary whose only failures are unit targets is red."""
    summary = load_summary(PI_V1)
    expected = (
        ("node_http_shim", "unit", TargetStatus.FAILED),
        ("sdk_unit", "unit", TargetStatus.FAILED),
        ("config_edge_cases", "unit", TargetStatus.NOT_RUN),
    )
    actual = tuple((t.name, t.kind, t.status) for t in summary.outstanding), summary.status
    assert (expected, RunStatus.FAILED) == actual


def test_pi_v1_fixture_passing_targets_and_run_fields() -> None:
    """Passing suites and units are passing in the chain; run-level fields are kept."""
    summary = load_summary(PI_V1)
    passing = tuple((t.name, t.kind) for t in summary.targets if not t.outstanding)
    expected = (
        (("e2e_tui", "e2e"), ("e2e_rpc", "e2e"), ("model_serialization", "unit")),
        "20260214T101500Z",
        "ci",
        "e2e-20260214T101500Z",
        None,
        TriageStatus(status="known_failures_only"),
        None,
    )
    actual = (
        passing,
        summary.run_id,
        summary.profile,
        summary.correlation_id,
        summary.shard,
        summary.triage_diff,
        summary.one_command_replay,
    )
    assert expected == actual


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sdk_unit", (1, "result file missing", None)),
        ("config_edge_cases", (None, "listed in failed_unit_names without a result record", None)),
        ("node_http_shim", (101, None, "unit/node_http_shim/output.log")),
        ("e2e_tui", (0, None, "e2e_tui/output.log")),
    ],
)
def test_pi_v1_fixture_records(name: str, expected: tuple[Any, ...]) -> None:
    """Missing results, names without records and re-based logs read as documented."""
    target = {t.name: t for t in load_summary(PI_V1).targets}[name]
    assert expected == (target.exit_code, target.attempts[0].error, target.log)


def test_replay_fixture_outstanding() -> None:
    """replay's own summary reads back with its chain states and derived keys dropped."""
    summary = load_summary(REPLAY_V1)
    expected = ("e2e_rpc", "sdk_unit", "node_http_shim", "lint", "it's; rm -rf ~ $(id)")
    assert expected == tuple(t.name for t in summary.outstanding)


@pytest.mark.parametrize(
    "summary",
    [
        _summary(),
        _summary(_target("a"), _target("b", kind="unit", status=TargetStatus.PASSED)),
        _summary(_target(HOSTILE_NAME, argv=("cargo", "test", "--test", HOSTILE_NAME))),
        _summary(_target("a", log="a/output.log", digest="a/failure_digest.json")),
        attrs.evolve(
            _summary(_target("a")),
            triage_diff=TriageStatus(status="regression", regression_count=2, path="t.json"),
            one_command_replay="python -m replay --rerun-from x/summary.json",
        ),
    ],
)
def test_replay_document_round_trips(summary: models.Summary, tmp_path: Path) -> None:
    """summary_document and read_summary are inverses for summaries with inside paths."""
    document = orjson.loads(orjson.dumps(summary_document(summary)))
    assert summary == read_summary(document, source="s.json", base_dir=tmp_path)


# --- each test stored once -------------------------------------------------------------


def _retried() -> models.Summary:
    """A target retried whole: its tests are the second attempt's; the first differs."""
    failed = models.TestResult(name="t::a", status=TestStatus.FAILED, message="boom")
    passed = models.TestResult(name="t::a", status=TestStatus.PASSED, attempt=2)
    other = models.TestResult(name="t::b", status=TestStatus.PASSED, duration=0.5, attempt=2)
    attempts = (
        models.Attempt(number=1, exit_code=1, tests=(failed, other)),
        models.Attempt(number=2, exit_code=0, tests=(passed, other)),
    )
    target = _target(
        "a",
        status=TargetStatus.FLAKY,
        chain_state=ChainState.PASSING,
        attempts=attempts,
        tests=(passed, other),
    )
    return _summary(target, _target("b"))


def test_an_attempt_with_its_targets_tests_stores_a_marker() -> None:
    """Only the attempt whose tests equal the target's drops them for the marker."""
    document = summary_document(_retried())
    first, second = document["targets"][0]["attempts"]
    assert len(first["tests"]) == 2
    assert SHARED_TESTS_KEY not in first
    assert "tests" not in second
    assert second[SHARED_TESTS_KEY] is True


def test_shared_tests_read_back_into_the_same_summary(tmp_path: Path) -> None:
    """A summary with markers reads into the model it was written from (each attempt's tests)."""
    summary = _retried()
    path = tmp_path / "summary.json"
    path.write_bytes(orjson.dumps(summary_document(summary)))
    assert summary == load_summary(path)


def test_summaries_written_with_both_copies_still_read(tmp_path: Path) -> None:
    """The earlier encoding (every attempt lists its tests) reads into the same summary."""
    summary = _retried()
    document = summary_document(summary)
    document["targets"] = unstructure(summary.targets)
    assert SHARED_TESTS_KEY not in orjson.dumps(document).decode()
    assert summary == read_summary(document, source="s.json", base_dir=tmp_path)


def test_a_single_attempt_summary_shrinks_by_about_half() -> None:
    """A suite run once holds its tests once: the document is about half the old one."""
    tests = tuple(
        models.TestResult(name=f"tests/test_x.py::test_{i}", status=TestStatus.PASSED)
        for i in range(200)
    )
    target = _target("a", attempts=(models.Attempt(number=1, tests=tests),), tests=tests)
    summary = _summary(target)
    document = summary_document(summary)
    old = {**document, "targets": unstructure(summary.targets)}
    assert len(orjson.dumps(document)) < 0.55 * len(orjson.dumps(old))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({SHARED_TESTS_KEY: False}, "tests_as_target"),
        ({SHARED_TESTS_KEY: "yes"}, "tests_as_target"),
        ({"tests": []}, "tests_as_target"),
    ],
)
def test_a_bad_marker_names_its_attempt(change: dict[str, Any], expected: str) -> None:
    """A marker that is not `true`, or beside a `tests` list, is refused at its path."""
    document = orjson.loads(orjson.dumps(summary_document(_retried())))
    document["targets"][0]["attempts"][1].update(change)
    with pytest.raises(InputError, match=r"^s\.json: \$\.targets\[0\]\.attempts\[1\].*") as info:
        read_summary(document, source="s.json", base_dir=Path())
    assert expected in str(info.value)


# --- schemas -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            "replay.summary.v2",
            "s.json: was written by a newer replay (schema replay.summary.v2); upgrade replay",
        ),
        (
            "replay.summary.v10",
            "s.json: was written by a newer replay (schema replay.summary.v10); upgrade replay",
        ),
        (
            "replay.something.v1",
            "s.json: was written by a newer replay (schema replay.something.v1); upgrade replay",
        ),
        (
            "pi.e2e.replay_bundle.v1",
            "s.json: $.schema: unknown schema 'pi.e2e.replay_bundle.v1'; expected "
            "replay.summary.v1, pi.e2e.summary.v1, or pi's legacy summary without a `schema` key",
        ),
        (
            "",
            "s.json: $.schema: unknown schema ''; expected "
            "replay.summary.v1, pi.e2e.summary.v1, or pi's legacy summary without a `schema` key",
        ),
        (3, "s.json: $.schema: expected str, got int"),
        (["replay.summary.v1"], "s.json: $.schema: expected str, got list"),
    ],
)
def test_unknown_schemas_are_refused(schema: object, expected: str, tmp_path: Path) -> None:
    """Newer replay schemas say to upgrade; other schemas list what is accepted."""
    with pytest.raises(InputError) as info:
        read_summary({"schema": schema}, source="s.json", base_dir=tmp_path)
    assert expected == str(info.value)


# --- wrong types and bad documents ------------------------------------------------------


def _with(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A deep copy of `document` with the value at `path` replaced."""
    changed = copy.deepcopy(document)
    node: Any = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return changed


_REPLAY_CASES = [
    (("targets", 0, "status"), 7, "$.targets[0].status: expected a string, got int"),
    (("targets", 0, "status"), "exploded", "$.targets[0].status: 'exploded' is not one of"),
    (("targets", 1, "exit_code"), "101", "$.targets[1].exit_code: expected int, got str"),
    (("targets", 1, "exit_code"), True, "$.targets[1].exit_code: expected int, got a boolean"),
    (("targets", 0, "argv"), "cargo test", "$.targets[0].argv: expected a list, got str"),
    (("targets", 0, "argv"), [], "$.targets[0].argv: empty command, nothing to replay"),
    (("targets", 2, "name"), "e2e_tui", "$.targets[2].name: duplicate target 'e2e_tui'"),
    (("targets", 0, "name"), "", "$.targets[0].name: empty name"),
    (("targets", 0, "surprise"), 1, "$.targets[0]: extra fields found (surprise)"),
    (("run_id",), None, "$.run_id: expected str, got NoneType"),
    (("targets",), {}, "$.targets: expected a list, got dict"),
]


@pytest.mark.parametrize(("path", "value", "problem"), _REPLAY_CASES)
def test_replay_wrong_types_name_file_and_path(
    path: tuple[Any, ...], value: object, problem: str, tmp_path: Path
) -> None:
    """A replay summary with a wrong value is refused naming the file and the JSON path."""
    document = _with(_replay_doc(), path, value)
    with pytest.raises(InputError) as info:
        read_summary(document, source="s.json", base_dir=tmp_path)
    assert str(info.value).startswith(f"s.json: {problem}")


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], "s.json: $: expected a JSON object, got list"),
        ("summary", "s.json: $: expected a JSON object, got str"),
        (None, "s.json: $: expected a JSON object, got null"),
        ({}, "s.json: $.timestamp: required field missing"),
        (_pi_doc(timestamp=5), "s.json: $.timestamp: expected str, got int"),
        (_pi_doc(suites={}), "s.json: $.suites: expected a list, got object"),
        (_pi_doc(suites=["e2e_tui"]), "s.json: $.suites[0]: expected a JSON object, got str"),
        (_pi_doc(suites=[{"exit_code": 0}]), "s.json: $.suites[0].suite: required field missing"),
        (
            _pi_doc(unit_targets=[{"target": "a"}]),
            "s.json: $.unit_targets[0].exit_code: required field missing",
        ),
        (
            _pi_doc(unit_targets=[{"target": "a", "exit_code": "1"}]),
            "s.json: $.unit_targets[0].exit_code: expected int, got str",
        ),
        (
            _pi_doc(unit_targets=[{"target": "a", "exit_code": False}]),
            "s.json: $.unit_targets[0].exit_code: expected int, got boolean",
        ),
        (
            _pi_doc(suites=[{"suite": "a", "exit_code": 0, "duration_ms": "9"}]),
            "s.json: $.suites[0].duration_ms: expected a number, got str",
        ),
        (
            _pi_doc(suites=[{"suite": "a", "exit_code": 0, "duration_ms": -1}]),
            "s.json: $.suites[0].duration_ms: expected a non-negative number, got -1",
        ),
        (
            _pi_doc(suites=[{"suite": "a", "exit_code": 0, "log_file": ["x"]}]),
            "s.json: $.suites[0].log_file: expected str, got list",
        ),
        (
            _pi_doc(suites=[{"suite": "", "exit_code": 0}]),
            "s.json: $.suites[0].suite: empty name",
        ),
        (_pi_doc(failed_names="e2e_rpc"), "s.json: $.failed_names: expected a list, got str"),
        (
            _pi_doc(failed_unit_names=["a", 3]),
            "s.json: $.failed_unit_names[1]: expected str, got int",
        ),
        (_pi_doc(failed_names=[""]), "s.json: $.failed_names[0]: empty name"),
        (
            _pi_doc(
                suites=[{"suite": "a", "exit_code": 0}],
                unit_targets=[{"target": "a", "exit_code": 1}],
            ),
            "s.json: $.unit_targets[0]: duplicate target 'a' (also $.suites[0])",
        ),
        (_pi_doc(profile=1), "s.json: $.profile: expected str, got int"),
    ],
)
def test_bad_documents_name_file_and_path(document: object, expected: str, tmp_path: Path) -> None:
    """Wrong shapes in any format are refused naming the file and the JSON path."""
    with pytest.raises(InputError) as info:
        read_summary(document, source="s.json", base_dir=tmp_path)
    assert expected == str(info.value)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty file, expected JSON"),
        (b"  \n\t", "empty file, expected JSON"),
        (b'{"schema": "replay.summary.v1", "run_', "not valid JSON"),
        (b"\xff\xfe\x00binary\x00", "not UTF-8 text (byte 0xff at offset 0)"),
        (b'{"timestamp": "x\xe9"}', "not UTF-8 text (byte 0xe9 at offset 16)"),
        (b"[" * 1100 + b"]" * 1100, "JSON nested deeper than 1024 levels"),
    ],
)
def test_unreadable_files_name_the_path(content: bytes, problem: str, tmp_path: Path) -> None:
    """Empty, whitespace, truncated, binary and too deep files are refused naming the path."""
    path = tmp_path / "summary.json"
    assert refusal(load_summary, path, content).startswith(f"{path}: {problem}")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    """A summary that does not exist is an InputError naming it."""
    path = tmp_path / "nope" / "summary.json"
    with pytest.raises(InputError) as info:
        load_summary(path)
    assert f"{path}: no such file" == str(info.value)


def test_directory_instead_of_file_names_the_path(tmp_path: Path) -> None:
    """A directory given as the summary is refused with a hint at the file inside it."""
    with pytest.raises(InputError) as info:
        load_summary(tmp_path)
    expected = (
        f"{tmp_path}: is a directory, expected a summary file (try {tmp_path / 'summary.json'})"
    )
    assert expected == str(info.value)


# --- paths stay inside the run ------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("a/output.log", "a/output.log"),
        ("./a/./output.log", "a/output.log"),
        ("a/../b/output.log", "b/output.log"),
        ("/etc/passwd", None),
        ("../outside.log", None),
        ("a/../../outside.log", None),
        ("", None),
        (".", None),
        ("a/..", None),
        ("a\0b", None),
        (None, None),
        (7, None),
    ],
)
def test_safe_relative_keeps_only_paths_inside(rel: object, expected: str | None) -> None:
    """Absolute paths, `..` escapes, the directory itself and non-strings are dropped."""
    with tempfile.TemporaryDirectory() as base:
        assert expected == safe_relative(Path(base), rel)


@pytest.mark.parametrize(
    ("link", "points_to", "rel", "expected"),
    [
        ("out", "{outside}", "out/secret.log", None),
        ("loop", "loop", "loop/x.log", None),
        ("alias", "{base}/real", "alias/output.log", "real/output.log"),
    ],
)
def test_safe_relative_follows_symlinks(
    link: str, points_to: str, rel: str, expected: str | None, tmp_path: Path
) -> None:
    """A symlink that leads out (or loops) is dropped; one that stays inside resolves."""
    base, outside = tmp_path / "run", tmp_path / "elsewhere"
    (base / "real").mkdir(parents=True)
    outside.mkdir()
    (base / link).symlink_to(points_to.format(base=base, outside=outside))
    assert expected == safe_relative(base, rel)


def test_replay_paths_outside_the_run_are_dropped(tmp_path: Path) -> None:
    """log, result, digest, attempt logs and the triage path that escape become None."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    base = tmp_path / "run"
    base.mkdir()
    (base / "link").symlink_to(outside)
    escaping = _target(
        "a",
        log="/etc/passwd",
        result="../../result.json",
        digest="link/failure_digest.json",
        attempts=(
            models.Attempt(number=1, log="a/../../x.log"),
            models.Attempt(number=2, log="a/ok.log"),
        ),
    )
    summary = attrs.evolve(
        _summary(escaping), triage_diff=TriageStatus(status="stable", path="/tmp/t.json")
    )
    document = orjson.loads(orjson.dumps(summary_document(summary)))
    expected = attrs.evolve(
        summary,
        targets=(
            attrs.evolve(
                escaping,
                log=None,
                result=None,
                digest=None,
                attempts=(models.Attempt(number=1), models.Attempt(number=2, log="a/ok.log")),
            ),
        ),
        triage_diff=TriageStatus(status="stable"),
    )
    assert expected == read_summary(document, source="s.json", base_dir=base)


@pytest.mark.parametrize(
    ("artifact_dir", "log_file", "expected"),
    [
        ("/ci/results/T", "/ci/results/T/e2e_tui/output.log", "e2e_tui/output.log"),
        ("/ci/results/T", "/ci/results/T/../../../etc/passwd", None),
        ("/ci/results/T", "/elsewhere/output.log", None),
        (None, "/ci/results/T/e2e_tui/output.log", None),
        ("relative/T", "relative/T/e2e_tui/output.log", "relative/T/e2e_tui/output.log"),
        (None, "e2e_tui/output.log", "e2e_tui/output.log"),
        (None, "../e2e_tui/output.log", None),
        (None, "{base}/e2e_tui/output.log", "e2e_tui/output.log"),
        (None, "a\0b", None),
        (None, None, None),
    ],
)
def test_pi_logs_are_used_only_inside_the_summary_directory(
    artifact_dir: str | None, log_file: str | None, expected: str | None, tmp_path: Path
) -> None:
    """Upstream absolute logs are re-based from artifact_dir, else used only when inside."""
    record: dict[str, Any] = {"suite": "e2e_tui", "exit_code": 1}
    if log_file is not None:
        record["log_file"] = log_file.format(base=tmp_path)
    document = _pi_doc(suites=[record])
    if artifact_dir is not None:
        document["artifact_dir"] = artifact_dir
    target = read_summary(document, source="s.json", base_dir=tmp_path).targets[0]
    assert (expected, expected) == (target.log, target.attempts[0].log)


# --- upstream semantics -----------------------------------------------------------------------

_NO_RECORD = "without a result record"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (_pi_doc(), ()),
        (
            _pi_doc(suites=[{"suite": "a", "exit_code": 0}], failed_names=["a"]),
            (("a", "e2e", TargetStatus.FAILED, "upstream listed it as failed"),),
        ),
        (
            _pi_doc(unit_targets=[{"target": "u", "exit_code": 101}]),
            (("u", "unit", TargetStatus.FAILED, None),),
        ),
        (
            _pi_doc(failed_names=["gone", "gone"], failed_unit_names=["gone", "u"]),
            (
                ("gone", "e2e", TargetStatus.NOT_RUN, f"listed in failed_names {_NO_RECORD}"),
                ("u", "unit", TargetStatus.NOT_RUN, f"listed in failed_unit_names {_NO_RECORD}"),
            ),
        ),
        (
            _pi_doc(suites=[{"name": "x", "exit_code": 1, "error": "no result.json"}]),
            (("x", "e2e", TargetStatus.FAILED, "no result.json"),),
        ),
    ],
)
def test_pi_outstanding_targets(document: dict[str, Any], expected: tuple[Any, ...]) -> None:
    """Non-zero exits, failed_names and failed_unit_names all make a target outstanding."""
    summary = read_summary(document, source="s.json", base_dir=Path("/nonexistent"))
    actual = tuple((t.name, t.kind, t.status, t.attempts[0].error) for t in summary.outstanding)
    assert expected == actual
    assert (RunStatus.FAILED if expected else RunStatus.PASSED) == summary.status


@pytest.mark.parametrize(
    ("shard", "expected"),
    [
        ({"kind": "unit", "index": 1, "total": 4}, ("unit", 1, 4)),
        ({"kind": "none", "index": None, "total": None}, None),
        ({"kind": "suite", "index": 4, "total": 4}, None),
        ({"kind": "suite", "index": True, "total": 4}, None),
        ("suite-0-of-2", None),
    ],
)
def test_pi_shard(shard: object, expected: tuple[str, int, int] | None) -> None:
    """A real upstream shard is kept; unsharded runs and unusable shapes are no shard."""
    summary = read_summary(_pi_doc(shard=shard), source="s.json", base_dir=Path("/nonexistent"))
    shard_ = summary.shard
    actual = None if shard_ is None else (shard_.kind, shard_.index, shard_.total)
    assert expected == actual


@pytest.mark.parametrize(
    ("timestamp", "started_at"),
    [("20260206T212320Z", "2026-02-06T21:23:20Z"), ("run-7", "run-7")],
)
def test_pi_timestamp_is_run_id_and_start(timestamp: str, started_at: str) -> None:
    """The upstream timestamp is the run id; when it parses, it is also the start time."""
    summary = read_summary(
        _pi_doc(timestamp=timestamp), source="s.json", base_dir=Path("/nonexistent")
    )
    assert (timestamp, started_at) == (summary.run_id, summary.started_at)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("e2e_tui", ("cargo", "test", "--test", "e2e_tui", "--", "--nocapture")),
        (HOSTILE_NAME, ("cargo", "test", "--test", HOSTILE_NAME, "--", "--nocapture")),
        (
            "--config=build.rustc-wrapper='/tmp/x'",
            ("cargo", "test", "--test=--config=build.rustc-wrapper='/tmp/x'", "--", "--nocapture"),
        ),
    ],
)
def test_cargo_argv_keeps_names_as_one_argument(name: str, expected: tuple[str, ...]) -> None:
    """Shell metacharacters stay in one argv element; a leading dash cannot become an option."""
    assert expected == cargo_argv(name)


def test_hostile_names_are_data(tmp_path: Path) -> None:
    """A name full of shell metacharacters loads unchanged, as one argv element."""
    document = _pi_doc(suites=[{"suite": HOSTILE_NAME, "exit_code": 1}])
    target = read_summary(document, source="s.json", base_dir=tmp_path).targets[0]
    assert (HOSTILE_NAME, cargo_argv(HOSTILE_NAME)) == (target.name, target.argv)


# --- never anything but InputError -------------------------------------------------------------

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what JSON parsers return
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)
_SCHEMAS = st.sampled_from(["replay.summary.v1", "pi.e2e.summary.v1", None])
_KEYS = st.sampled_from(
    [
        "timestamp",
        "suites",
        "unit_targets",
        "failed_names",
        "failed_unit_names",
        "artifact_dir",
        "shard",
        "run_id",
        "status",
        "started_at",
        "finished_at",
        "targets",
        "triage_diff",
    ]
)
_RECORD_KEYS = st.sampled_from(
    ["suite", "target", "name", "exit_code", "duration_ms", "log_file", "error", "status", "argv"]
)
_RECORDS = st.lists(st.dictionaries(_RECORD_KEYS, _JSON, max_size=6), max_size=3)
_SHAPED = st.builds(
    lambda schema, top, lists: {
        **({"schema": schema} if schema is not None else {}),
        **top,
        **lists,
    },
    _SCHEMAS,
    st.dictionaries(_KEYS, _JSON, max_size=6),
    st.dictionaries(st.sampled_from(["suites", "unit_targets", "targets"]), _RECORDS, max_size=3),
)


@pytest.mark.slow
@given(st.one_of(_JSON, _SHAPED))
def test_arbitrary_json_raises_only_input_error(document: object) -> None:
    """Any JSON value, free or summary-shaped, reads or fails with an InputError."""
    with contextlib.suppress(InputError):
        read_summary(document, source="s.json", base_dir=Path("/nonexistent/run"))


@pytest.mark.slow
@given(st.binary(max_size=200) | _SHAPED.map(orjson.dumps).map(lambda b: b[: len(b) // 2]))
def test_arbitrary_bytes_raise_only_input_error(data: bytes) -> None:
    """Any bytes, including truncated summaries, parse or fail with an InputError."""
    with contextlib.suppress(InputError):
        parse_summary(data, source="s.json", base_dir=Path("/nonexistent/run"))


def test_relative_summary_path_keeps_paths_relative_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading through a relative path keeps artifact paths relative to the summary."""
    monkeypatch.chdir(FIXTURES.parent)
    summary = load_summary(Path("summaries") / REPLAY_V1.name)
    expected = "e2e_rpc/output.log"
    assert expected == summary.targets[1].log
