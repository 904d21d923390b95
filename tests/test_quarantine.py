"""Tests for `replay._inputs.quarantine`: the classification reader, the entry judge, and making,
writing and matching quarantine entries."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from functools import partial
from pathlib import Path

import attrs
import pytest
from _support import CLASSIFICATION, fixture_path, refusal
from hypothesis import given
from hypothesis import strategies as st

from replay._inputs.quarantine import (
    FIELDS,
    Quarantined,
    QuarantineEntry,
    entry_toml,
    judge_entry,
    quarantine_entry,
    read_classification,
    read_quarantine,
    toml_key,
    write_entry,
)
from replay._inputs.toml import tomllib
from replay._model.errors import InputError, ReplayError
from replay._model.models import RetryPolicy
from replay._model.quarantine import QUARANTINE_POLICY, EntryState

ENTRIES = fixture_path("quarantine", "entries.toml")
"""Entries in every state replay tells apart on `TODAY`, under stems of every spelling."""
TODAY = date(2026, 2, 20)
CATEGORY = "FLAKE-NET"
REPRO = "replay flake e2e_tui --runs 20"
EVIDENCE = "replay-results/r1/flake_report.json"
"""What `_entry` quarantines e2e_tui with: its category, how to reproduce it, the evidence."""

ACTIVE = EntryState.ACTIVE
SOON = EntryState.EXPIRING_SOON
EXPIRED = EntryState.EXPIRED
INVALID = EntryState.INVALID


def _entry(**changes: str) -> QuarantineEntry:
    entry = quarantine_entry(
        "e2e_tui",
        category=CATEGORY,
        today=TODAY,
        repro=REPRO,
        evidence=EVIDENCE,
    )
    return attrs.evolve(entry, **changes)


def _entries(today: date = TODAY) -> dict[str, Quarantined]:
    """The entries of `ENTRIES` by stem, judged on `today`."""
    return {e.stem: e for e in read_quarantine(ENTRIES, today=today)}


def _copy(tmp_path: Path, source: Path = CLASSIFICATION) -> Path:
    target = tmp_path / "suite_classification.toml"
    shutil.copyfile(source, target)
    return target


def test_quarantine_entry_fills_all_nine_fields() -> None:
    """A new entry has every field, expires after 14 days, and says how to lift it."""
    expected = QuarantineEntry(
        category=CATEGORY,
        owner="unassigned",
        quarantined="2026-02-20",
        expires="2026-03-06",
        bead="TODO",
        evidence=EVIDENCE,
        repro=REPRO,
        reason="e2e_tui fails intermittently (FLAKE-NET); see the evidence",
        remove_when=(
            "`replay flake e2e_tui --runs 73` reports stable_pass "
            "(failure rate below 5% at 95% confidence)"
        ),
    )
    assert expected == _entry()


@pytest.mark.parametrize(
    ("days", "expires"), [(1, "2026-02-21"), (7, "2026-02-27"), (14, "2026-03-06")]
)
def test_quarantine_entry_days(days: int, expires: str) -> None:
    """`days` sets the expiry from today."""
    entry = quarantine_entry(
        "s", category="FLAKE-ENV", today=TODAY, repro="r", evidence="e", days=days
    )
    assert expires == entry.expires


@pytest.mark.parametrize(
    ("stem", "days", "message"),
    [
        ("s", 15, "quarantine entry for 's': days must be 1 to 14, got 15"),
        ("s", 0, "quarantine entry for 's': days must be 1 to 14, got 0"),
        ("", 7, "quarantine entry: the stem must not be empty"),
    ],
)
def test_quarantine_entry_refuses_spans_over_the_cap(stem: str, days: int, message: str) -> None:
    """Upstream caps a quarantine at 14 days; asking for more is bad input, not a silent cut."""
    with pytest.raises(ReplayError) as caught:
        quarantine_entry(
            stem, category="FLAKE-ENV", today=TODAY, repro="r", evidence="e", days=days
        )
    assert message == str(caught.value)


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("e2e_tui", "e2e_tui"),
        ("e2e-rpc", '"e2e-rpc"'),
        ("a.b", '"a.b"'),
        ("e2e_cli::resize", '"e2e_cli::resize"'),
        ('say "hi"\\', '"say \\"hi\\"\\\\"'),
        ("tab\there", '"tab\\there"'),
        ("ünï", '"ünï"'),
    ],
)
def test_toml_key_quotes_what_is_not_plain(stem: str, expected: str) -> None:
    """Only letters, digits and `_` stay bare; the rest is a quoted, escaped TOML string."""
    assert expected == toml_key(stem)


def test_entry_toml_is_a_ready_block() -> None:
    """The block is the header and the 9 fields in upstream's order."""
    text = entry_toml(_entry(reason='say "hi"'), "e2e-tui")
    expected = [
        '[quarantine."e2e-tui"]',
        'category = "FLAKE-NET"',
        'owner = "unassigned"',
        'quarantined = "2026-02-20"',
        'expires = "2026-03-06"',
        'bead = "TODO"',
        'evidence = "replay-results/r1/flake_report.json"',
        'repro = "replay flake e2e_tui --runs 20"',
        'reason = "say \\"hi\\""',
    ]
    assert (expected, True) == (text.splitlines()[:9], text.endswith('confidence)"\n'))


_TEXT = st.text(st.characters(codec="utf-8"))


@given(_TEXT.filter(bool), st.lists(_TEXT, min_size=9, max_size=9))
def test_entry_toml_round_trips_any_text(stem: str, values: list[str]) -> None:
    """Whatever the stem and field values hold, TOML reads back exactly them."""
    entry = QuarantineEntry(**dict(zip(FIELDS, values, strict=True)))
    expected = {"quarantine": {stem: attrs.asdict(entry)}}
    assert expected == tomllib.loads(entry_toml(entry, stem))


def test_write_entry_keeps_the_real_file_byte_for_byte(tmp_path: Path) -> None:
    """Upstream's file, comments and all, is kept whole; the entry follows it after a blank line."""
    path = _copy(tmp_path)
    original = CLASSIFICATION.read_text(encoding="utf-8")
    write_entry(path, "e2e-tui", _entry())
    expected = original + "\n" + entry_toml(_entry(), "e2e-tui")
    assert expected == path.read_text(encoding="utf-8")


def test_write_entry_replaces_in_place(tmp_path: Path) -> None:
    """Writing a stem again replaces its entry where it stands; the rest stays as it was."""
    path = _copy(tmp_path)
    write_entry(path, "a", _entry())
    write_entry(path, "b.c", _entry())
    before = path.read_text(encoding="utf-8")
    write_entry(path, "a", _entry(owner="TopazFalcon"))
    expected = before.replace('owner = "unassigned"', 'owner = "TopazFalcon"', 1)
    assert expected == path.read_text(encoding="utf-8")


SECTIONED = """\
# head
[suite.unit]
files = ["a"]  # kept

# Quarantine: flaky tests.
[quarantine.old]
category = "FLAKE-NET"   # inline comment

# ─── Waivers ───
[waiver.gate]
owner = "y"
"""


def test_write_entry_adds_after_the_last_quarantine_entry(tmp_path: Path) -> None:
    """A new entry joins the quarantine entries, before the next section and its comments."""
    path = tmp_path / "c.toml"
    path.write_text(SECTIONED, encoding="utf-8")
    write_entry(path, "new", _entry())
    head, _, tail = SECTIONED.partition("\n# ─── Waivers")
    expected = head + "\n" + entry_toml(_entry(), "new") + "\n# ─── Waivers" + tail
    assert expected == path.read_text(encoding="utf-8")


def test_write_entry_replacing_keeps_the_next_sections_comments(tmp_path: Path) -> None:
    """The comment block before the next table belongs to that table, not to the replaced one."""
    path = tmp_path / "c.toml"
    path.write_text(SECTIONED, encoding="utf-8")
    write_entry(path, "old", _entry())
    start = SECTIONED.index("[quarantine.old]")
    end = SECTIONED.index("\n# ─── Waivers")
    expected = SECTIONED[:start] + entry_toml(_entry(), "old") + SECTIONED[end:]
    assert expected == path.read_text(encoding="utf-8")


# Up to 8 atomic writes, each with fsyncs: the disk, not the code, sets the time.
@pytest.mark.slow
@given(st.lists(_TEXT.filter(bool), min_size=1, max_size=4))
def test_write_entry_takes_any_stem(stems: list[str]) -> None:
    """Any stems, written and rewritten, read back as entries; the other sections stay the same."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "c.toml"
        path.write_text(SECTIONED, encoding="utf-8")
        for stem in [*stems, *stems]:
            write_entry(path, stem, _entry(reason=f"reason {stem}"))
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        found = {e.stem: e.entry for e in read_quarantine(path, today=TODAY)}
    expected = (
        {"old", *stems},
        {s: _entry(reason=f"reason {s}") for s in stems},
        tomllib.loads(SECTIONED)["waiver"],
    )
    assert expected == (set(found), {s: found[s] for s in stems}, document["waiver"])


def test_write_entry_keeps_crlf_line_ends(tmp_path: Path) -> None:
    """A Windows-style file gets its new lines in the same style."""
    path = tmp_path / "c.toml"
    path.write_bytes(b"[suite.unit]\r\nfiles = []\r\n")
    write_entry(path, "s", _entry())
    data = path.read_bytes()
    assert (True, 0) == (
        data.endswith(b'confidence)"\r\n'),
        data.replace(b"\r\n", b"").count(b"\n"),
    )


def test_write_entry_into_an_empty_file(tmp_path: Path) -> None:
    """An empty file becomes just the entry."""
    path = tmp_path / "c.toml"
    path.write_text("", encoding="utf-8")
    write_entry(path, "s", _entry())
    assert entry_toml(_entry(), "s") == path.read_text(encoding="utf-8")


def test_write_entry_keeps_the_file_mode(tmp_path: Path) -> None:
    """The atomic rename does not leave the file with the temp file's 0600 mode."""
    path = _copy(tmp_path)
    path.chmod(0o664)
    write_entry(path, "s", _entry())
    assert 0o664 == path.stat().st_mode & 0o777


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "quarantine = { s = { category = 'x' } }\n",
            "cannot add [quarantine.s] without disturbing",
        ),
        ("[quarantine]\ns.category = 'x'\n", "cannot add [quarantine.s] without disturbing"),
        ("quarantine = 3\n", "quarantine: expected a table of [quarantine.<stem>] entries"),
        ("[suite\n", "invalid TOML"),
    ],
)
def test_write_entry_refuses_what_it_cannot_edit_safely(
    tmp_path: Path, content: str, message: str
) -> None:
    """When a text edit cannot give the intended file, nothing is written and the error says why."""
    path = tmp_path / "c.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        write_entry(path, "s", _entry())
    assert (True, content) == (message in str(caught.value), path.read_text(encoding="utf-8"))


def test_write_entry_shows_the_entry_to_add_by_hand(tmp_path: Path) -> None:
    """The refusal carries the ready block, so the operator can paste it."""
    path = tmp_path / "c.toml"
    path.write_text("quarantine = { s = { category = 'x' } }\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        write_entry(path, "s", _entry())
    assert str(caught.value).endswith(entry_toml(_entry(), "s"))


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.toml", "a suite_classification.toml file not found"), ("", "is a directory")],
)
def test_write_entry_needs_an_existing_file(tmp_path: Path, name: str, message: str) -> None:
    """`--write FILE` edits a classification file; a typo in the path is not a new file."""
    path = tmp_path / name
    with pytest.raises(InputError) as caught:
        write_entry(path, "s", _entry())
    assert str(caught.value).startswith(f"{path}: {message}")


def test_upstream_file_has_no_entries() -> None:
    """Upstream's file documents quarantine in comments only: no entry is read."""
    assert () == read_quarantine(CLASSIFICATION, today=TODAY)


def test_written_entries_read_back_active(tmp_path: Path) -> None:
    """What `write_entry` writes, `read_quarantine` reads as a complete, active entry."""
    path = _copy(tmp_path)
    write_entry(path, "e2e-tui", _entry())
    expected = (Quarantined(stem="e2e-tui", state=ACTIVE, entry=_entry(), days_left=14),)
    assert expected == read_quarantine(path, today=TODAY)


@pytest.mark.parametrize(
    ("stem", "state", "days_left", "missing", "problems"),
    [
        ("e2e_tui", ACTIVE, 8, (), ()),
        ("e2e-rpc", SOON, 2, (), ()),
        ("e2e_cli::resize", EXPIRED, -6, (), ()),
        (
            "incomplete",
            INVALID,
            8,
            ("owner", "bead", "evidence", "repro", "remove_when"),
            ("missing required fields: owner, bead, evidence, repro, remove_when",),
        ),
        ("too.long", INVALID, 9, (), ("span of 28 days exceeds the 14-day maximum",)),
        (
            "odd",
            INVALID,
            None,
            ("reason",),
            (
                "missing required fields: reason",
                "owner: expected a string, got int",
                "category: 'unclassified' is not one of: FLAKE-TIMING, FLAKE-ENV, FLAKE-NET, "
                "FLAKE-RES, FLAKE-EXT, FLAKE-LOGIC",
                "quarantined: '2026-02-30' is not a date (YYYY-MM-DD)",
                "expires: 'soon' is not a date (YYYY-MM-DD)",
            ),
        ),
        (
            "backwards",
            INVALID,
            -10,
            (),
            ("expires (2026-02-10) is before quarantined (2026-02-15)",),
        ),
        ("not_a_table", INVALID, None, FIELDS, ("expected a table, got string",)),
    ],
)
def test_read_quarantine_judges_each_entry(
    stem: str,
    state: EntryState,
    days_left: int | None,
    missing: tuple[str, ...],
    problems: tuple[str, ...],
) -> None:
    """Each entry gets its state on the day; an invalid one says which fields and why."""
    found = _entries()[stem]
    actual = (found.state, found.days_left, found.missing, found.problems)
    assert (state, days_left, missing, problems) == actual


def test_read_quarantine_keeps_file_order_and_reads_every_stem() -> None:
    """Stems with `-`, `.` and `::` are read (upstream's audit skipped them), in file order."""
    expected = [
        "e2e_tui",
        "e2e-rpc",
        "e2e_cli::resize",
        "incomplete",
        "too.long",
        "odd",
        "backwards",
        "not_a_table",
    ]
    assert expected == [e.stem for e in read_quarantine(ENTRIES, today=TODAY)]


def test_unquoted_toml_dates_read_as_dates() -> None:
    """`expires = 2026-02-22` (a TOML date) is as good as the quoted string."""
    entry = _entries()["e2e-rpc"].entry
    assert entry is not None
    assert ("2026-02-10", "2026-02-22") == (entry.quarantined, entry.expires)


@pytest.mark.parametrize(
    ("today", "state"),
    [
        (date(2026, 2, 15), ACTIVE),
        (date(2026, 2, 24), ACTIVE),
        (date(2026, 2, 25), ACTIVE),
        (date(2026, 2, 26), SOON),
        (date(2026, 2, 28), SOON),
        (date(2026, 3, 1), EXPIRED),
    ],
)
def test_state_moves_with_the_day(today: date, state: EntryState) -> None:
    """Expiring soon within 3 days; expired the day after `expires`."""
    assert state == _entries(today)["e2e_tui"].state


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe", "not UTF-8 text"),
        (b"quarantine = []\n", "quarantine: expected a table of [quarantine.<stem>] entries"),
        (b"[quarantine.a\n", "invalid TOML"),
    ],
)
def test_read_quarantine_bad_files(tmp_path: Path, content: bytes, message: str) -> None:
    """An unreadable classification file is one clear error naming the file."""
    path = tmp_path / "c.toml"
    assert refusal(partial(read_quarantine, today=TODAY), path, content).startswith(
        f"{path}: {message}"
    )


def _judged(*stems: str) -> tuple[Quarantined, ...]:
    return tuple(Quarantined(stem=s, state=ACTIVE) for s in stems)


def _quarantine_entry(stem: str, start: date, end: date) -> str:
    return (
        f'[quarantine."{stem}"]\ncategory = "FLAKE-NET"\nowner = "ops"\n'
        f'quarantined = "{start}"\nexpires = "{end}"\nbead = "bd-1"\nevidence = "e"\n'
        f'repro = "replay flake x"\nreason = "r"\nremove_when = "stable"\n'
    )


def test_a_run_quarantines_listed_suites_only_by_their_own_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `replay run` applies: a suite's own active entry spares it; an entry for one of
    its tests does not, nor one for a suite the config does not list; an expired entry of a
    listed suite is a problem that fails the run, naming the file and the entry."""
    from datetime import timedelta

    from replay._cli._run import quarantine_state
    from replay._inputs.config import load_config
    from replay._model.clock import local_today

    today = local_today()
    soon, ago = today + timedelta(days=10), today - timedelta(days=10)
    (tmp_path / "c.toml").write_text(
        _quarantine_entry("flaky", today, soon)
        + _quarantine_entry("solid::one_test", today, soon)
        + _quarantine_entry("unlisted", today, soon)
        + _quarantine_entry("stale", ago, today - timedelta(days=1))
    )
    suites = "".join(
        f'[[replay.suites]]\nname = "{name}"\ncommand = ["true"]\n'
        for name in ("flaky", "solid", "stale")
    )
    (tmp_path / "replay.toml").write_text(f'[replay.discover]\nclassification = "c.toml"\n{suites}')
    monkeypatch.chdir(tmp_path)
    read = quarantine_state(load_config(tmp_path / "replay.toml"))
    active, problems = read.active, read.problems
    assert frozenset({"flaky"}) == active
    assert 1 == len(problems)
    assert problems[0].startswith(f"{tmp_path / 'c.toml'}: [quarantine.stale] is expired")


def test_policy_is_upstreams() -> None:
    """One retry after 5 s, failures do not block, expired and invalid entries fail the run."""
    expected = (RetryPolicy(retries=1, delay=5.0), False, (EXPIRED, INVALID))
    policy = QUARANTINE_POLICY
    assert expected == (policy.retry, policy.blocks_run, policy.failing_states)


def test_unknown_fields_warn_but_do_not_invalidate() -> None:
    """An entry with an extra field stays active (as `replay audit` says) and carries a warning."""
    table = {name: "x" for name in FIELDS}
    table.update(category="FLAKE-NET", quarantined="2026-02-10", expires="2026-02-20")
    table["notes"] = "kept for the humans"
    judged = judge_entry("suite", table, today=date(2026, 2, 12))
    assert (EntryState.ACTIVE, ("unknown field 'notes'",)) == (judged.state, judged.warnings)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"category": "FLAKE-FOO"}, "category: 'FLAKE-FOO' is not one of: FLAKE-TIMING"),
        ({"quarantined": "20260210"}, "quarantined: '20260210' is not a date (YYYY-MM-DD)"),
        ({"expires": " 2026-02-20"}, "expires: ' 2026-02-20' is not a date (YYYY-MM-DD)"),
        ({"conformance": {"owner": "x"}}, "'conformance' is a nested table; quote a name"),
    ],
)
def test_judge_is_strict_where_run_and_audit_disagreed(
    changes: dict[str, object], problem: str
) -> None:
    """A category outside the six, a date not `YYYY-MM-DD`, a nested table: invalid (issue 13)."""
    table: dict[str, object] = {name: "x" for name in FIELDS}
    table.update(category="FLAKE-NET", quarantined="2026-02-10", expires="2026-02-20")
    table.update(changes)
    judged = judge_entry("ext", table, today=date(2026, 2, 18))
    assert (INVALID, True) == (judged.state, judged.problems[-1].startswith(problem))


# ── the classification file's one reader ─────────────────────────────────────


def test_upstream_classification_reads() -> None:
    """Upstream's real file has its three kinds, with their sizes and first stems."""
    classification = read_classification(CLASSIFICATION)
    expected = {
        "unit": (75, "agent_tools_coverage"),
        "vcr": (125, "agent_loop_reliability"),
        "e2e": (34, "e2e_agent_loop"),
    }
    actual = {kind: (len(stems), stems[0]) for kind, stems in classification.suites.items()}
    assert (expected, {}, {}, ()) == (
        actual,
        classification.waivers,
        classification.quarantine,
        classification.unknown_tables,
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (None, "is a directory, expected a suite_classification.toml file"),
        (b"\xff\xfe", "not UTF-8 text"),
        (b"[suite.unit\nfiles = []", "invalid TOML"),
        ("suite = 3\n", "suite: expected a table of [suite.<kind>] entries, got int"),
        ('suite = ["unit"]\n', "suite: expected a table of [suite.<kind>] entries, got array"),
        ('[suite]\nunit = "a"\n', "suite.unit: expected a table with `files`, got string"),
        ("[suite.unit]\n", "suite.unit.files: required (a list of test file stems)"),
        ('[suite.unit]\nfiles = "a"\n', "suite.unit.files: expected an array, got string"),
        ('[suite.unit]\nfiles = ["a", 3]\n', "suite.unit.files[1]: expected a string, got int"),
        (
            '[suite.unit]\nfiles = ["a", ["b"]]\n',
            "suite.unit.files[1]: expected a string, got array",
        ),
        (
            '[suite.unit]\nfiles = []\nowner = "x"\n',
            "suite.unit.owner: unknown key; a kind holds only `files`",
        ),
        ('waiver = ["a"]\n', "waiver: expected a table of [waiver.<gate_id>] entries, got array"),
        ('quarantine = "x"\n', "quarantine: expected a table of [quarantine.<stem>] entries, got"),
    ],
)
def test_bad_classifications_name_file_and_key(
    tmp_path: Path, text: str | bytes | None, problem: str
) -> None:
    """A classification that is not a file, not UTF-8, not TOML or of the wrong shape is an
    InputError naming the file (and the key)."""
    path = tmp_path / "suite_classification.toml"
    assert refusal(read_classification, path, text).startswith(f"{path}: {problem}")
