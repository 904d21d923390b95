"""Suite classification guard, waiver and quarantine lifecycle audits."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import orjson
import pytest
from _support import CLASSIFICATION, fixture_path
from hypothesis import given
from hypothesis import strategies as st

from replay._cli import main
from replay._inputs.audit import (
    QUARANTINE_STATUS,
    AuditReport,
    FindingKind,
    Severity,
    audit_classification,
    audit_document,
)
from replay._inputs.discover import discover_cargo_suites
from replay._inputs.quarantine import read_classification, read_quarantine
from replay._inputs.toml import tomllib
from replay._model.convert import unstructure
from replay._model.errors import InputError
from replay._model.quarantine import QUARANTINE_POLICY, EntryState

FIXTURES = fixture_path("audit")
TODAY = dt.date(2026, 2, 17)

WAIVER = {
    "owner": "TopazForest",
    "created": "2026-02-10",
    "expires": "2026-02-24",
    "bead": "bd-1f42.4.4",
    "reason": "QuickJS bug",
    "scope": "both",
    "remove_when": "QuickJS fix merged",
}
QUARANTINE = {
    "category": "FLAKE-TIMING",
    "owner": "TopazFalcon",
    "quarantined": "2026-02-10",
    "expires": "2026-02-24",
    "bead": "bd-XXXX",
    "evidence": "https://ci.example.com/run/12345",
    "repro": "cargo test example_flaky_test -- --nocapture",
    "reason": "thread scheduling variance",
    "remove_when": "two green CI runs",
}


def _real_stems() -> list[str]:
    document = tomllib.loads(CLASSIFICATION.read_text())
    return [stem for suite in document["suite"].values() for stem in suite["files"]]


def _tests_dir(tmp_path: Path, stems: list[str]) -> Path:
    directory = tmp_path / "tests"
    directory.mkdir()
    for stem in stems:
        (directory / f"{stem}.rs").write_text("")
    return directory


def _audit(document: dict[str, Any], stems: list[str] | None = None) -> AuditReport:
    return audit_document(
        document, source="c.toml", test_stems=stems, today=TODAY, generated_at="G"
    )


def _kinds(report: AuditReport) -> list[tuple[str, str, str]]:
    return [(f.severity.value, f.kind.value, f.subject) for f in report.findings]


# ── the real upstream file ───────────────────────────────────────────────────


def test_real_classification_only_warns_unsorted(tmp_path: Path) -> None:
    """The real file, with a tests dir of its own stems: three unsorted warnings, nothing blocks."""
    tests_dir = _tests_dir(tmp_path, _real_stems())
    report = audit_classification(CLASSIFICATION, tests_dir=tests_dir, today=TODAY)
    expected = [
        ("warning", "unsorted", "suite.unit"),
        ("warning", "unsorted", "suite.vcr"),
        ("warning", "unsorted", "suite.e2e"),
    ]
    assert expected == _kinds(report)
    assert ({"unit": 75, "vcr": 125, "e2e": 34}, 234, ()) == (
        report.suites,
        report.test_files,
        report.blocking,
    )


def test_real_classification_waiver_audit_matches_upstream() -> None:
    """With no waivers, the waiver audit is upstream's document but for the timestamp."""
    report = audit_classification(
        CLASSIFICATION, tests_dir=None, today=TODAY, generated_at="2026-02-17T03:25:22.443Z"
    )
    upstream = orjson.loads((FIXTURES / "waiver_audit.json").read_bytes())
    assert upstream == unstructure(report.waiver_audit)


# ── suite classification guard ───────────────────────────────────────────────


@pytest.mark.parametrize(
    ("suites", "stems", "expected"),
    [
        ({"unit": ["a", "b"], "e2e": ["c"]}, ["a", "b", "c"], []),
        ({"unit": ["a", "b"]}, None, []),
        (
            {"unit": ["a"], "e2e": []},
            ["a", "new_test"],
            [("blocking", "unclassified", "new_test")],
        ),
        ({"unit": ["a", "gone"]}, ["a"], [("blocking", "missing_file", "gone")]),
        (
            {"unit": ["a", "b"], "vcr": ["b"]},
            ["a", "b"],
            [("blocking", "duplicate", "b")],
        ),
        ({"unit": ["a", "a"]}, ["a"], [("blocking", "duplicate", "a")]),
        ({"unit": ["b", "a"]}, ["a", "b"], [("warning", "unsorted", "suite.unit")]),
        (
            {"unit": ["e2e-dashed", "x.y"]},
            ["e2e-dashed", "x.y"],
            [],
        ),
    ],
)
def test_classification_guard(
    suites: dict[str, list[str]], stems: list[str] | None, expected: list[tuple[str, str, str]]
) -> None:
    """Every test file in exactly one suite, no suite naming a missing file; order only warns."""
    document = {"suite": {name: {"files": files} for name, files in suites.items()}}
    assert expected == _kinds(_audit(document, stems))


def test_unsorted_names_the_first_offender() -> None:
    """The unsorted warning says which entry is out of place and how many more are."""
    report = _audit({"suite": {"unit": {"files": ["b", "a", "d", "c"]}}})
    expected = (
        "[suite.unit] is not in alphabetical order: 'a' comes after 'b' (and 1 more); "
        "sorting is recommended, not required"
    )
    assert expected == report.findings[0].message


def test_unknown_top_level_table_warns() -> None:
    """A table the audit does not know is reported as a warning, not an error."""
    assert [("warning", "unknown_table", "meta")] == _kinds(_audit({"meta": {"x": 1}}))


# ── waivers ──────────────────────────────────────────────────────────────────


def _waiver_case(
    changes: dict[str, Any],
) -> tuple[str, int | None, tuple[str, ...], tuple[str, ...], list[tuple[str, str, str]]]:
    entry = {k: v for k, v in {**WAIVER, **changes}.items() if v is not None}
    report = _audit({"waiver": {"ext_must_pass": entry}})
    (validation,) = report.waiver_audit.waivers
    return (
        validation.status.value,
        validation.days_remaining,
        validation.missing_fields,
        validation.problems,
        _kinds(report),
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, ("active", 7, (), (), [])),
        (
            {"expires": "2026-02-20"},
            ("expiring_soon", 3, (), (), [("warning", "waiver_expiring", "waiver.ext_must_pass")]),
        ),
        ({"expires": "2026-02-21"}, ("active", 4, (), (), [])),
        (
            {"created": "2026-02-01", "expires": "2026-02-17"},
            ("expiring_soon", 0, (), (), [("warning", "waiver_expiring", "waiver.ext_must_pass")]),
        ),
        (
            {"created": "2026-02-01", "expires": "2026-02-16"},
            ("expired", -1, (), (), [("blocking", "waiver_expired", "waiver.ext_must_pass")]),
        ),
        ({"created": "2026-01-25", "expires": "2026-02-24"}, ("active", 7, (), (), [])),
        (
            {"created": "2026-01-24", "expires": "2026-02-24"},
            (
                "invalid",
                7,
                (),
                ("span of 31 days exceeds the 30-day maximum",),
                [("blocking", "waiver_invalid", "waiver.ext_must_pass")],
            ),
        ),
        (
            {"bead": None, "remove_when": None},
            (
                "invalid",
                7,
                ("bead", "remove_when"),
                ("missing required fields: bead, remove_when",),
                [("blocking", "waiver_invalid", "waiver.ext_must_pass")],
            ),
        ),
        (
            {"owner": "  "},
            (
                "invalid",
                7,
                ("owner",),
                ("missing required fields: owner",),
                [("blocking", "waiver_invalid", "waiver.ext_must_pass")],
            ),
        ),
        (
            {"scope": "nightly"},
            (
                "invalid",
                7,
                (),
                ("scope: 'nightly' is not one of: full, preflight, both",),
                [("blocking", "waiver_invalid", "waiver.ext_must_pass")],
            ),
        ),
        (
            {"expires": "next week"},
            (
                "invalid",
                None,
                (),
                ("expires: 'next week' is not a date (YYYY-MM-DD)",),
                [("blocking", "waiver_invalid", "waiver.ext_must_pass")],
            ),
        ),
        (
            {"created": "2026-02-24", "expires": "2026-02-10"},
            (
                "invalid",
                -7,
                (),
                ("expires (2026-02-10) is before created (2026-02-24)",),
                [("blocking", "waiver_invalid", "waiver.ext_must_pass")],
            ),
        ),
        (
            {"created": dt.date(2026, 2, 10), "expires": dt.date(2026, 2, 24)},
            ("active", 7, (), (), []),
        ),
        (
            {"owner": 7},
            (
                "invalid",
                7,
                (),
                ("owner: expected a string, got int",),
                [("blocking", "waiver_invalid", "waiver.ext_must_pass")],
            ),
        ),
        (
            {"gate": "x"},
            ("active", 7, (), (), [("warning", "unknown_field", "waiver.ext_must_pass")]),
        ),
    ],
)
def test_waiver_lifecycle(changes: dict[str, Any], expected: Any) -> None:
    """(state, days left, missing, problems, findings) of one waiver as of 2026-02-17."""
    assert expected == _waiver_case(changes)


def test_incomplete_waiver_is_counted() -> None:
    """Upstream dropped incomplete waivers from its counts; here they are total and invalid."""
    report = _audit({"waiver": {"a": {"owner": "x"}, "b": dict(WAIVER), "c": "not a table"}})
    audit = report.waiver_audit
    assert (3, 1, 2) == (audit.total_waivers, audit.active, audit.invalid)
    assert ["a", "b", "c"] == [r.gate_id for r in audit.raw_waivers]
    assert ("", "x") == (audit.raw_waivers[0].created, audit.raw_waivers[0].owner)
    assert EntryState.INVALID is audit.waivers[2].status
    assert ("expected a table, got string",) == audit.waivers[2].problems


def test_waiver_detail_mirrors_upstream() -> None:
    """`detail` reads like upstream's for expired and expiring waivers and is null when active."""
    report = _audit(
        {
            "waiver": {
                "a": {**WAIVER, "created": "2026-02-01", "expires": "2026-02-15"},
                "b": {**WAIVER, "expires": "2026-02-19"},
                "c": dict(WAIVER),
            }
        }
    )
    expected = [
        "Expired 2 day(s) ago (owner: TopazForest, bead: bd-1f42.4.4)",
        "Expires in 2 day(s) — action required (owner: TopazForest, bead: bd-1f42.4.4)",
        None,
    ]
    assert expected == [w.detail for w in report.waiver_audit.waivers]


# ── quarantine ───────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, ("active", 7, 14, (), [])),
        (
            {"expires": "2026-02-19"},
            ("expiring-soon", 2, 9, (), [("warning", "quarantine_expiring", "quarantine.t")]),
        ),
        ({"expires": "2026-02-20"}, ("active", 3, 10, (), [])),
        (
            {"quarantined": "2026-02-01", "expires": "2026-02-14"},
            ("expired", -3, 13, (), [("blocking", "quarantine_expired", "quarantine.t")]),
        ),
        (
            {"quarantined": "2026-02-09"},
            (
                "invalid",
                7,
                15,
                ("span of 15 days exceeds the 14-day maximum",),
                [("blocking", "quarantine_invalid", "quarantine.t")],
            ),
        ),
        (
            {"category": "FLAKE-COSMIC"},
            (
                "invalid",
                7,
                14,
                (
                    "category: 'FLAKE-COSMIC' is not one of: FLAKE-TIMING, FLAKE-ENV, "
                    "FLAKE-NET, FLAKE-RES, FLAKE-EXT, FLAKE-LOGIC",
                ),
                [("blocking", "quarantine_invalid", "quarantine.t")],
            ),
        ),
        (
            {"evidence": None, "repro": ""},
            (
                "invalid",
                7,
                14,
                ("missing required fields: evidence, repro",),
                [("blocking", "quarantine_invalid", "quarantine.t")],
            ),
        ),
    ],
)
def test_quarantine_lifecycle(changes: dict[str, Any], expected: Any) -> None:
    """(state, days left, span, problems, findings) of one quarantine entry as of 2026-02-17."""
    entry = {k: v for k, v in {**QUARANTINE, **changes}.items() if v is not None}
    report = _audit({"quarantine": {"t": entry}})
    (record,) = report.quarantine_report.entries
    actual = (
        record.status,
        record.days_remaining,
        record.quarantine_span_days,
        record.problems,
        _kinds(report),
    )
    assert expected == actual


def _toml_entry(header: str) -> str:
    body = "\n".join(f'{k} = "{v}"' for k, v in QUARANTINE.items())
    return f"{header}\n{body}\n"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("[quarantine.e2e-tui-flaky]", [("e2e-tui-flaky", "active")]),
        ('[quarantine."ext.conformance"]', [("ext.conformance", "active")]),
        ("[quarantine.plain_stem]", [("plain_stem", "active")]),
        ("[quarantine.ext.conformance]", [("ext", "invalid")]),
    ],
)
def test_dashed_and_dotted_stems_are_read(header: str, expected: Any) -> None:
    """Stems with `-` or (quoted) `.` are audited; an unquoted dot is an invalid entry."""
    document = tomllib.loads(_toml_entry(header))
    report = _audit(document)
    assert expected == [(e.name, e.status) for e in report.quarantine_report.entries]


def test_unquoted_dotted_stem_explains_the_fix() -> None:
    """`[quarantine.a.b]` is a nested table; the problem says to quote the name."""
    report = _audit(tomllib.loads(_toml_entry("[quarantine.ext.conformance]")))
    (entry,) = report.quarantine_report.entries
    expected = (
        "'conformance' is a nested table; quote a name that contains '.', "
        'e.g. [quarantine."ext.conformance"]'
    )
    assert expected == entry.problems[-1]


def test_quarantine_report_counts_like_upstream() -> None:
    """As upstream: active includes expiring-soon; categories count the valid entries."""
    report = _audit(
        {
            "quarantine": {
                "a": dict(QUARANTINE),
                "b": {**QUARANTINE, "expires": "2026-02-18", "category": "FLAKE-NET"},
                "c": {**QUARANTINE, "quarantined": "2026-02-01", "expires": "2026-02-10"},
                "d": {"owner": "x"},
            }
        }
    ).quarantine_report
    actual = (
        report.active_count,
        report.expiring_soon_count,
        report.expired_count,
        report.invalid_count,
        report.category_counts,
        [(e.name, e.severity) for e in report.escalations],
    )
    expected = (
        2,
        1,
        1,
        1,
        {"FLAKE-NET": 1, "FLAKE-TIMING": 2},
        [("b", "warning"), ("c", "critical"), ("d", "critical")],
    )
    assert expected == actual


UPSTREAM_QUARANTINE_KEYS = {
    "schema",
    "generated_at",
    "policy_version",
    "today",
    "max_quarantine_days",
    "retry_policy",
    "active_count",
    "expiring_soon_count",
    "expired_count",
    "category_counts",
    "entries",
    "escalations",
}
UPSTREAM_QUARANTINE_ENTRY_KEYS = {
    *QUARANTINE,
    "name",
    "status",
    "quarantine_span_days",
    "days_remaining",
}


def test_quarantine_report_is_a_superset_of_upstream() -> None:
    """Every key upstream's `pi.test.quarantine_report.v2` writes is present."""
    document = unstructure(_audit({"quarantine": {"t": dict(QUARANTINE)}}).quarantine_report)
    assert "pi.test.quarantine_report.v2" == document["schema"]
    assert UPSTREAM_QUARANTINE_KEYS <= set(document)
    assert UPSTREAM_QUARANTINE_ENTRY_KEYS <= set(document["entries"][0])


# ── bad input ────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"suite": 3}, "c.toml: suite: expected a table of [suite.<kind>] entries, got int"),
        ({"suite": {"unit": ["a"]}}, "c.toml: suite.unit: expected a table with `files`"),
        (
            {"suite": {"unit": {"files": "a"}}},
            "c.toml: suite.unit.files: expected an array, got string",
        ),
        (
            {"suite": {"unit": {"files": ["a", 3]}}},
            "c.toml: suite.unit.files[1]: expected a string, got int",
        ),
        (
            {"suite": {"unit": {"files": [], "x": 1}}},
            "c.toml: suite.unit.x: unknown key; a kind holds only `files`",
        ),
        ({"suite": {"unit": {}}}, "c.toml: suite.unit.files: required"),
        ({"waiver": ["a"]}, "c.toml: waiver: expected a table"),
        ({"quarantine": "x"}, "c.toml: quarantine: expected a table"),
    ],
)
def test_malformed_suites_are_input_errors(document: dict[str, Any], expected: str) -> None:
    """A malformed `[suite.*]`, `[waiver]` or `[quarantine]` names the file and the key."""
    with pytest.raises(InputError) as caught:
        _audit(document)
    assert str(caught.value).startswith(expected)


def test_missing_tests_dir(tmp_path: Path) -> None:
    """A `--tests-dir` that is not a directory is an `InputError`."""
    with pytest.raises(InputError, match="not a directory"):
        audit_classification(CLASSIFICATION, tests_dir=tmp_path / "nope", today=TODAY)


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=12)
    | st.dates()
    | st.sampled_from(["2026-02-10", "2026-02-24", "FLAKE-NET", "both", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
_fields = st.sampled_from([*WAIVER, *QUARANTINE, "extra"])
_entry = st.dictionaries(_fields, _values, max_size=10) | _values


@pytest.mark.slow
@given(
    st.dictionaries(st.text(max_size=8), _entry, max_size=3),
    st.dictionaries(st.text(max_size=8), _entry, max_size=3),
    st.dates(),
)
def test_audit_never_crashes(waivers: Any, quarantine: Any, today: dt.date) -> None:
    """Arbitrary waiver and quarantine entries give findings, never an exception."""
    report = audit_document(
        {"waiver": waivers, "quarantine": quarantine},
        source="c.toml",
        test_stems=None,
        today=today,
        generated_at="G",
    )
    assert len(waivers) == report.waiver_audit.total_waivers
    assert len(quarantine) == len(report.quarantine_report.entries)
    states_ok = all(
        (w.status is EntryState.INVALID) == bool(w.problems) for w in report.waiver_audit.waivers
    )
    assert states_ok


# ── the CLI ──────────────────────────────────────────────────────────────────


def test_cli_real_file_writes_both_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`replay audit` on the real file exits 0 and writes the two upstream-style reports."""
    tests_dir = _tests_dir(tmp_path, _real_stems())
    out = tmp_path / "out"
    args = ["audit", str(CLASSIFICATION), "--tests-dir", str(tests_dir), "--today", "2026-02-17"]
    code = main([*args, "--out", str(out)])
    stdout = capsys.readouterr().out
    waiver_audit = orjson.loads((out / "waiver_audit.json").read_bytes())
    quarantine = orjson.loads((out / "quarantine_report.json").read_bytes())
    assert 0 == code
    assert ("pi.ci.waiver_audit.v1", 0) == (waiver_audit["schema"], waiver_audit["total_waivers"])
    assert ("2026-02-17", []) == (quarantine["today"], quarantine["entries"])
    assert "0 blocking, 3 warning(s)" in stdout


def test_cli_blocking_finding_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An expired waiver makes `replay audit` print it and exit 1."""
    path = tmp_path / "suite_classification.toml"
    path.write_text(
        textwrap.dedent(
            """\
            [suite.unit]
            files = ["a"]

            [waiver.ext_must_pass]
            owner = "TopazForest"
            created = "2026-01-01"
            expires = "2026-01-20"
            bead = "bd-1"
            reason = "r"
            scope = "full"
            remove_when = "w"
            """
        )
    )
    args = ["audit", str(path), "--today", "2026-02-17", "--out", str(tmp_path)]
    code = main(args)
    lines = capsys.readouterr().out.splitlines()
    assert 1 == code
    assert ["blocking", "waiver_expired", "waiver.ext_must_pass"] == lines[1].split()[:3]


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--json` prints the whole report: findings, suite counts and both documents."""
    code = main(["audit", str(CLASSIFICATION), "--json", "--out", str(tmp_path)])
    document = orjson.loads(capsys.readouterr().out)
    assert (0, {"unit": 75, "vcr": 125, "e2e": 34}) == (code, document["suites"])
    assert [Severity.WARNING.value] * 3 == [f["severity"] for f in document["findings"]]
    assert FindingKind.UNSORTED.value == document["findings"][0]["kind"]


def test_cli_bad_date_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`--today` that is not a date is a usage error (exit 2)."""
    assert 2 == main(["audit", str(CLASSIFICATION), "--today", "tomorrow"])
    assert "is not a date" in capsys.readouterr().err


def test_cli_escapes_terminal_controls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Suite names, stems and waiver names from the file cannot drive the terminal (ANSI, OSC)."""
    path = tmp_path / "suite_classification.toml"
    path.write_text(
        '["suite"."unit\\u001b]0;owned\\u0007"]\nfiles = ["b\\u001b[2J", "a"]\n'
        '["waiver"."w\\u009b31m"]\nowner = "o"\n'
    )
    code = main(["audit", str(path), "--today", "2026-02-17", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert (1, []) == (code, [c for c in out if not c.isprintable() and c != "\n"])
    assert "unit\\x1b]0;owned\\x07" in out
    assert "'b\\x1b[2J'" in out


# ── one reader, one judge: a run and discovery agree with the audit ─────────

_AGREE_TODAY = dt.date(2026, 2, 18)


def _quarantine_toml(stem: str, changes: dict[str, str]) -> str:
    fields = {**{k: f'"{v}"' for k, v in QUARANTINE.items()}, **changes}
    body = "\n".join(f"{key} = {value}" for key, value in fields.items() if value)
    return f"[quarantine.{stem}]\n{body}\n"


@pytest.mark.parametrize(
    ("entry", "state"),
    [
        # The three divergences of issue 13.
        (_quarantine_toml("t", {"category": '"FLAKE-FOO"'}), EntryState.INVALID),
        (_quarantine_toml("t", {"quarantined": '"20260210"'}), EntryState.INVALID),
        (
            _quarantine_toml("t", {}) + '[quarantine.t.nested]\nowner = "x"\n',
            EntryState.INVALID,
        ),
        # More hostile entries, each judged the same by both.
        (_quarantine_toml("t", {}), EntryState.ACTIVE),
        (_quarantine_toml("t", {"expires": '"2026-02-20"'}), EntryState.EXPIRING_SOON),
        (_quarantine_toml("t", {"expires": '"2026-02-17"'}), EntryState.EXPIRED),
        (_quarantine_toml("t", {"expires": "2026-02-24"}), EntryState.ACTIVE),
        (_quarantine_toml("t", {"expires": "2026-02-24T00:00:00"}), EntryState.INVALID),
        (_quarantine_toml("t", {"expires": '" 2026-02-24"'}), EntryState.INVALID),
        (_quarantine_toml("t", {"expires": '"2026-W09-2"'}), EntryState.INVALID),
        (_quarantine_toml("t", {"owner": "7"}), EntryState.INVALID),
        (_quarantine_toml("t", {"owner": '"  "'}), EntryState.INVALID),
        (_quarantine_toml("t", {"bead": ""}), EntryState.INVALID),
        (_quarantine_toml("t", {"category": '"flake-net"'}), EntryState.INVALID),
        (_quarantine_toml("t", {"quarantined": '"2026-02-09"'}), EntryState.INVALID),
        (_quarantine_toml("t", {"quarantined": '"2026-02-25"'}), EntryState.INVALID),
        (_quarantine_toml("t", {"notes": '"extra"'}), EntryState.ACTIVE),
        ('[quarantine]\nt = "not a table"\n', EntryState.INVALID),
        ("[quarantine.t]\n", EntryState.INVALID),
    ],
)
def test_run_and_audit_judge_each_entry_alike(
    tmp_path: Path, entry: str, state: EntryState
) -> None:
    """The state a run reads, and whether it fails the run, is the audit's state and verdict."""
    path = tmp_path / "suite_classification.toml"
    path.write_text('[suite.unit]\nfiles = ["t"]\n' + entry)
    (run,) = read_quarantine(path, today=_AGREE_TODAY)
    report = audit_classification(path, tests_dir=None, today=_AGREE_TODAY)
    (record,) = report.quarantine_report.entries
    run_fails = run.state in QUARANTINE_POLICY.failing_states
    audit_blocks = any(f.subject == "quarantine.t" for f in report.blocking)
    assert (QUARANTINE_STATUS[state], state, run_fails) == (record.status, run.state, audit_blocks)


def test_audit_writes_upstreams_spelling_only() -> None:
    """One state, two upstream spellings: `expiring-soon` for quarantine, `expiring_soon` for
    waivers, chosen when the reports are written."""
    report = _audit(
        {
            "quarantine": {"t": {**QUARANTINE, "expires": "2026-02-19"}},
            "waiver": {"w": {**WAIVER, "expires": "2026-02-19"}},
        }
    )
    quarantine = unstructure(report.quarantine_report)["entries"][0]["status"]
    waiver = unstructure(report.waiver_audit)["waivers"][0]["status"]
    assert ("expiring-soon", "expiring_soon") == (quarantine, waiver)


def test_a_suite_discovery_runs_is_never_missing(tmp_path: Path) -> None:
    """`tests/big/main.rs` is the suite `big` for discovery and present for the audit."""
    tests = tmp_path / "tests"
    (tests / "big").mkdir(parents=True)
    (tests / "big" / "main.rs").write_text("")
    (tests / "small.rs").write_text("")
    path = tmp_path / "suite_classification.toml"
    path.write_text('[suite.unit]\nfiles = ["big", "small"]\n')
    discovered = discover_cargo_suites(tests, path)
    report = audit_classification(path, tests_dir=tests, today=TODAY)
    assert (["big", "small"], (), (), 2) == (
        [s.name for s in discovered.suites],
        discovered.missing,
        report.blocking,
        report.test_files,
    )


def test_an_unlisted_main_rs_target_is_unclassified(tmp_path: Path) -> None:
    """A `tests/<stem>/main.rs` target in no suite is reported, as discovery reports it."""
    tests = tmp_path / "tests"
    (tests / "big").mkdir(parents=True)
    (tests / "big" / "main.rs").write_text("")
    path = tmp_path / "suite_classification.toml"
    path.write_text("[suite.unit]\nfiles = []\n")
    report = audit_classification(path, tests_dir=tests, today=TODAY)
    assert (("big",), [("blocking", "unclassified", "big")]) == (
        discover_cargo_suites(tests, path).unclassified,
        _kinds(report),
    )


@pytest.mark.parametrize(
    "text",
    [
        '[suite.unit]\nfiles = "a"\n',
        '[suite.unit]\nfiles = ["a", 3]\n',
        "[suite.unit]\n",
        '[suite.unit]\nfiles = []\nowner = "x"\n',
        "suite = 3\n",
    ],
)
def test_discovery_and_audit_give_one_message(tmp_path: Path, text: str) -> None:
    """The same classification mistake reads the same from discovery and from the audit."""
    tests = tmp_path / "tests"
    tests.mkdir()
    path = tmp_path / "suite_classification.toml"
    path.write_text(text)
    messages = []
    for read in (
        lambda: discover_cargo_suites(tests, path),
        lambda: audit_classification(path, tests_dir=tests, today=TODAY),
        lambda: read_classification(path),
    ):
        with pytest.raises(InputError) as caught:
            read()
        messages.append(str(caught.value))
    assert [messages[0]] * 3 == messages


def test_report_retry_policy_is_the_run_policy() -> None:
    """The report states the retry a run gives quarantined targets: `QUARANTINE_POLICY`'s."""
    from replay._exec.executor import QUARANTINE_RETRY_DELAY

    policy = _audit({}).quarantine_report.retry_policy
    retry = QUARANTINE_POLICY.retry
    assert (retry.retries, retry.delay, retry.delay) == (
        policy.max_auto_retries,
        policy.retry_delay_seconds,
        QUARANTINE_RETRY_DELAY,
    )
