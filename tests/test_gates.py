"""Failing gates of a full-suite verdict, their argv, and the jobs that replay them."""

from __future__ import annotations

import argparse
import copy
import shlex
from pathlib import Path
from typing import Any

import orjson
import pytest
from _support import fixture_path, refusal
from hypothesis import given
from hypothesis import strategies as st

import replay._cli._run
from replay._cli import main
from replay._core.gates import (
    GateFinding,
    GateStatus,
    failing_gates,
    gate_jobs,
    parse_verdict,
    split_command,
    split_words,
)
from replay._inputs.readers import load_verdict
from replay._model.errors import InputError
from replay._model.models import Job

FIXTURE = fixture_path("gates", "full_suite_verdict.json")
HOSTILE = "cargo test -- 'a; rm -rf /'"


def _document() -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(FIXTURE.read_bytes())
    return document


def _with_gate(**changes: Any) -> dict[str, Any]:
    """The real verdict with its first gate (`non_mock_unit`, blocking) changed."""
    document = _document()
    gate = document["gates"][0]
    for key, value in changes.items():
        if value is None:
            gate.pop(key, None)
        else:
            gate[key] = value
    return document


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "full_suite_verdict.json"
    path.write_bytes(orjson.dumps(document))
    return path


def test_real_verdict_has_no_failing_gates() -> None:
    """The real upstream verdict (15 gates, all pass) lists nothing, even with warnings."""
    verdict = load_verdict(FIXTURE)
    assert (15, (), ()) == (
        len(verdict.gates),
        failing_gates(verdict),
        failing_gates(verdict, include_warn=True),
    )


@pytest.mark.parametrize(
    ("status", "blocking", "include_warn", "expected"),
    [
        ("fail", True, False, (True, True)),
        ("fail", False, False, (True, False)),
        ("skip", True, False, (True, True)),
        ("skip", False, False, (False, False)),
        ("warn", True, False, (True, True)),
        ("warn", False, False, (False, False)),
        ("warn", False, True, (True, False)),
        ("pass", True, True, (False, False)),
    ],
)
def test_which_gates_fail(status: str, blocking: bool, include_warn: bool, expected: Any) -> None:
    """(listed, blocks): fail, or blocking and not pass (upstream rule); warn only when asked."""
    verdict = parse_verdict(_with_gate(status=status, blocking=blocking), source="v.json")
    findings = failing_gates(verdict, include_warn=include_warn)
    listed = [f for f in findings if f.id == "non_mock_unit"]
    actual = (bool(listed), bool(listed) and listed[0].blocks)
    assert expected == actual


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            "cargo test --test non_mock_compliance_gate -- --nocapture",
            (("cargo", "test", "--test", "non_mock_compliance_gate", "--", "--nocapture"), None),
        ),
        (None, (None, "the verdict gives no reproduce_command")),
        (HOSTILE, (("cargo", "test", "--", "a; rm -rf /"), None)),
    ],
)
def test_failed_gate_argv(command: str | None, expected: Any) -> None:
    """A failed gate carries its command split with shlex, or says why it cannot be replayed."""
    verdict = parse_verdict(_with_gate(status="fail", reproduce_command=command), source="v")
    (finding,) = failing_gates(verdict)
    assert expected == (finding.argv, finding.reason)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("python3 scripts/check.py", (("python3", "scripts/check.py"), {}, None)),
        (HOSTILE, (("cargo", "test", "--", "a; rm -rf /"), {}, None)),
        ("cargo test -- $(reboot)", (None, {}, "needs a shell ('$(reboot)')")),
        (
            "RUST_LOG=debug RUST_BACKTRACE=1 cargo test",
            (("cargo", "test"), {"RUST_LOG": "debug", "RUST_BACKTRACE": "1"}, None),
        ),
        ("cargo test && rm -rf /", (None, {}, "needs a shell ('&&')")),
        ("cargo test | tee log", (None, {}, "needs a shell ('|')")),
        ("cargo test > out.log", (None, {}, "needs a shell ('>')")),
        ("echo $HOME", (None, {}, "needs a shell ('$HOME')")),
        ("", (None, {}, "names no program")),
        ("FOO=1", (None, {}, "names no program")),
        ("cargo test 'unclosed", (None, {}, "cannot be split (No closing quotation)")),
    ],
)
def test_split_command(command: str, expected: Any) -> None:
    """Commands become argv lists; anything that needs a shell is refused with the reason."""
    argv, env, reason = split_command(command)
    expected_argv, expected_env, expected_reason = expected
    short = None if reason is None else reason.partition("reproduce_command ")[2]
    assert (expected_argv, expected_env) == (argv, env)
    assert (expected_reason is None) == (reason is None)
    if expected_reason is not None:
        assert short is not None
        assert short.startswith(expected_reason)


@given(st.text())
def test_split_command_never_crashes(command: str) -> None:
    """Any text gives an argv or a reason, never an exception; an argv is shlex's own split."""
    argv, env, reason = split_command(command)
    assert (argv is None) == (reason is not None)
    if argv is not None:
        assert shlex.split(command)[len(env) :] == list(argv)


SHELL_TEXT = st.text(st.sampled_from(["a", "b", " ", "\t", "\n", "'", '"', "\\", "$", "=", "é"]))


@given(SHELL_TEXT | st.text())
def test_split_words_is_shlex_split(command: str) -> None:
    """`split_words` gives shlex.split's words, or raises its ValueError with the same message."""

    def outcome(split: Any) -> Any:
        try:
            return split(command)
        except ValueError as exc:
            return ("ValueError", str(exc))

    assert outcome(shlex.split) == outcome(split_words)


def test_multi_megabyte_commands_split() -> None:
    """A 3 MB reproduce_command splits (shlex grows tokens char by char: over a minute)."""
    quoted = "x" * 3_000_000
    assignments = " ".join(f"V{i}=1" for i in range(10_000))
    argv, env, reason = split_command(f'{assignments} echo \'{quoted}\' "q\\"" end')
    assert (("echo", quoted, 'q"', "end"), 10_000, None) == (argv, len(env), reason)


def test_nul_in_a_reproduce_command_names_the_field(tmp_path: Path) -> None:
    """A NUL byte no argv can hold is refused when the verdict is read, naming file and field."""
    path = _write(tmp_path, _with_gate(status="fail", reproduce_command="echo a\0b"))
    with pytest.raises(InputError) as info:
        load_verdict(path)
    assert f"{path}: $.gates[0].reproduce_command: holds a NUL byte" in str(info.value)


def test_cli_escapes_terminal_controls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ids, names and commands from the verdict cannot drive the terminal (ANSI, OSC)."""
    osc, csi = "\x1b]0;owned\x07", "\x1b[2J"
    document = _with_gate(
        status="fail", id=f"g{osc}", name=f"n{csi}", reproduce_command=f"echo {csi}"
    )
    document["gates"][1].update(status="fail", reproduce_command=f"echo '{osc}' |")
    path = _write(tmp_path, document)
    code = main(["gates", str(path)])
    out = capsys.readouterr().out
    assert (1, False) == (code, "\x1b" in out or "\x07" in out)
    assert "g\\x1b]0;owned\\x07" in out
    assert "echo '\\x1b[2J'" in out


def _finding(gate_id: str, argv: tuple[str, ...] | None) -> GateFinding:
    return GateFinding(
        id=gate_id,
        name=gate_id,
        blocking=True,
        status=GateStatus.FAIL,
        reproduce_command=None if argv is None else shlex.join(argv),
        argv=argv,
        reason=None if argv is not None else "no command",
    )


def test_gate_jobs() -> None:
    """Replayable findings become gate jobs: safe ids, unique, cargo adapter for `cargo test`."""
    findings = (
        _finding("cross_platform", ("cargo", "test", "--test", "x")),
        _finding("not_replayable", None),
        _finding("../evil id", ("python3", "check.py")),
        _finding("cross_platform", ("cargo", "build")),
    )
    jobs = gate_jobs(findings)
    actual = [(j.id, j.target, j.kind, j.adapter, j.argv) for j in jobs]
    expected = [
        ("cross_platform", "cross_platform", "gate", "cargo", ("cargo", "test", "--test", "x")),
        (jobs[1].id, "../evil id", "gate", "generic", ("python3", "check.py")),
        ("cross_platform-2", "cross_platform", "gate", "generic", ("cargo", "build")),
    ]
    assert expected == actual
    assert ("/" in jobs[1].id, jobs[1].id.startswith(".")) == (False, False)


def test_hostile_command_stays_one_argument_in_the_job() -> None:
    """`'a; rm -rf /'` reaches the job as one argv element, for an argv-only executor."""
    verdict = parse_verdict(_with_gate(status="fail", reproduce_command=HOSTILE), source="v")
    (job,) = gate_jobs(failing_gates(verdict))
    assert ("cargo", "test", "--", "a; rm -rf /") == job.argv


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], "$: expected a JSON object, got list"),
        ({"schema": "pi.e2e.summary.v1", "gates": []}, "$.schema: expected one of"),
        ({"schema": "pi.ci.full_suite_gate.v1"}, "$.gates: required field missing"),
        (
            {"schema": "pi.ci.full_suite_gate.v1", "gates": [{"id": 1}]},
            "$.gates[0].id: expected str, got int",
        ),
    ],
)
def test_bad_documents(document: Any, expected: str) -> None:
    """Malformed verdicts are an `InputError` naming the file and the JSON path."""
    with pytest.raises(InputError) as caught:
        parse_verdict(document, source="verdict.json")
    message = str(caught.value)
    assert message.startswith("verdict.json: ")
    assert expected in message


def test_bad_gate_status_names_the_gate(tmp_path: Path) -> None:
    """A wrong status in the fourth gate is reported at `$.gates[3].status`, with the file."""
    document = _document()
    document["gates"][3]["status"] = "green"
    path = _write(tmp_path, document)
    with pytest.raises(InputError) as caught:
        load_verdict(path)
    expected = f"{path}: $.gates[3].status: 'green' is not one of: pass, fail, warn, skip"
    assert expected == str(caught.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(lane="full", waivers_applied=[]), None),
        (lambda d: d["summary"].update(waived=0), None),
        (lambda d: d["gates"][2].update(colour="red"), "$.gates[2]: extra fields found (colour)"),
        (lambda d: d["gates"][4].update(blocking="yes"), "$.gates[4].blocking: expected bool"),
        (lambda d: d["gates"][5].update(id="non_mock_unit"), "$.gates[5].id: duplicate gate id"),
        (lambda d: d["summary"].update(failed="0"), "$.summary.failed: expected int"),
    ],
)
def test_extra_keys_only_where_upstream_adds_them(change: Any, expected: str | None) -> None:
    """Top level and summary take upstream's optional extras; gate records stay strict."""
    document = copy.deepcopy(_document())
    change(document)
    if expected is None:
        assert 15 == len(parse_verdict(document, source="v.json").gates)
        return
    with pytest.raises(InputError) as caught:
        parse_verdict(document, source="v.json")
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty file, expected JSON"),
        (b'{"schema": "pi.ci.full_suite_gate.v1", "gates": [', "not valid JSON"),
        (None, "is a directory"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes | None, expected: str) -> None:
    """Empty, truncated and directory inputs are an `InputError` naming the path."""
    path = tmp_path / "verdict.json"
    message = refusal(load_verdict, path, content)
    assert str(path) in message
    assert expected in message


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
_gate = st.fixed_dictionaries(
    {"id": st.text(max_size=5), "name": st.text(max_size=5)},
    optional={
        "status": st.sampled_from(["pass", "fail", "warn", "skip", "x"]) | _json,
        "blocking": st.booleans() | _json,
        "reproduce_command": st.text(max_size=20) | _json,
    },
)


@given(st.lists(_gate | _json, max_size=4), st.booleans())
def test_parse_never_crashes(gates: list[Any], include_warn: bool) -> None:
    """Arbitrary gate records give a verdict or an `InputError`, never another exception."""
    document = {"schema": "pi.ci.full_suite_gate.v1", "gates": gates}
    try:
        verdict = parse_verdict(document, source="v.json")
    except InputError:
        return
    jobs = gate_jobs(failing_gates(verdict, include_warn=include_warn))
    assert len({j.id for j in jobs}) == len(jobs)


# ── the CLI ──────────────────────────────────────────────────────────────────


def test_cli_real_verdict_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    """`replay gates` on the real verdict says there is nothing failing and exits 0."""
    code = main(["gates", str(FIXTURE)])
    assert (0, f"{FIXTURE}: no failing gates (15 gates)\n") == (code, capsys.readouterr().out)


def test_cli_lists_failing_gates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The table shows id, name, blocking, status and the command or why there is none."""
    document = _with_gate(status="fail", reproduce_command=HOSTILE)
    document["gates"][1]["status"] = "fail"  # e2e_log_contract: non-blocking, no command
    code = main(["gates", str(_write(tmp_path, document))])
    lines = capsys.readouterr().out.splitlines()
    assert 1 == code
    assert ["ID", "NAME", "BLOCKING", "STATUS", "COMMAND"] == lines[0].split()
    assert lines[1].split()[:5] == ["non_mock_unit", "Non-mock", "unit", "compliance", "yes"]
    assert lines[1].endswith("cargo test -- 'a; rm -rf /'")
    assert lines[2].endswith("not replayable: the verdict gives no reproduce_command")


def test_cli_non_blocking_failure_exits_0(tmp_path: Path) -> None:
    """Only a blocking gate fails the command, as only it fails upstream's verdict."""
    document = _document()
    document["gates"][1]["status"] = "fail"
    assert 0 == main(["gates", str(_write(tmp_path, document))])


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--json` prints the findings with their argv lists."""
    path = _write(tmp_path, _with_gate(status="skip"))
    code = main(["gates", str(path), "--json"])
    document = orjson.loads(capsys.readouterr().out)
    finding = document["findings"][0]
    actual = (code, document["blocking_failed"], finding["id"], finding["status"], finding["argv"])
    argv = ["cargo", "test", "--test", "non_mock_compliance_gate", "--", "--nocapture"]
    assert (1, True, "non_mock_unit", "skip", argv) == actual


def test_cli_dry_run_prints_jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--run --dry-run` prints the jobs as JSON and runs nothing."""
    path = _write(tmp_path, _with_gate(status="fail", reproduce_command=HOSTILE))
    code = main(["gates", str(path), "--run", "--dry-run"])
    jobs = orjson.loads(capsys.readouterr().out)
    expected = [
        {
            "id": "non_mock_unit",
            "target": "non_mock_unit",
            "kind": "gate",
            "adapter": "cargo",
            "argv": ["cargo", "test", "--", "a; rm -rf /"],
        }
    ]
    assert (0, expected) == (code, [{k: j[k] for k in expected[0]} for j in jobs])


def test_cli_run_prints_then_hands_jobs_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--run` prints the commands first, then gives the argv jobs to `run_gate_jobs`."""
    received: list[tuple[Job, ...]] = []

    def run_gate_jobs(jobs: tuple[Job, ...], args: argparse.Namespace) -> int:
        received.append(jobs)
        print("RUNNING", flush=True)
        return 7

    # The seam the executor glue provides; stand in for it so no process starts.
    monkeypatch.setattr(replay._cli._run, "run_gate_jobs", run_gate_jobs, raising=False)
    path = _write(tmp_path, _with_gate(status="fail", reproduce_command=HOSTILE))
    code = main(["gates", str(path), "--run"])
    captured = capsys.readouterr()
    assert 7 == code
    assert [("cargo", "test", "--", "a; rm -rf /")] == [j.argv for j in received[0]]
    assert "  non_mock_unit: cargo test -- 'a; rm -rf /'" in captured.err.splitlines()


def test_cli_bad_verdict_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed verdict is one line on stderr and exit 2."""
    path = tmp_path / "v.json"
    path.write_text('{"schema": "nope", "gates": []}')
    code = main(["gates", str(path)])
    err = capsys.readouterr().err
    assert (2, 1) == (code, len(err.splitlines()))
    assert "$.schema" in err
