"""The classification file (`suite_classification.toml`): its one reader, the lifecycle of its
dated entries, and the quarantine policy.

`read_classification` is the only reader of the file: discovery takes its
`[suite.*]` lists, `replay run` and `replay audit` its `[quarantine.*]` and
`[waiver.*]` tables, so a mistake gets one message wherever it is found.

`judge` is the only judge of a quarantine or waiver entry: a run and the
audit see the same `EntryState` for the same entry on the same day. The audit
writes upstream's spelling (`expiring-soon` for quarantine entries) when it
writes; the state itself has one spelling.

Upstream's rules (DESIGN.md): an entry `[quarantine.<stem>]` has 9 fields
`category owner quarantined expires bead evidence repro reason remove_when`,
spans at most 14 days, and an expired entry fails CI; a quarantined test still
runs, gets 1 retry after 5 s (`QUARANTINE_POLICY`, in `replay._model.quarantine`), and its
failure does not block. A waiver `[waiver.<gate_id>]` has 7 fields, spans at most 30 days.
Upstream's audit silently passed incomplete entries and skipped stems
containing `-`; here an incomplete entry is `invalid` with the missing field
names, and every stem is read, quoted or not. Where a run and upstream's audit
disagreed, the stricter reading wins: an entry invalid anywhere is invalid
everywhere (a category outside the six, a date that is not `YYYY-MM-DD`, a
nested table).

Writing edits the file as text, not through a TOML round trip: tomlkit
attaches the comment block in front of the next table to the table before it,
so replacing or appending entries moved other sections' comments. The edit is
checked by parsing the result: everything but the one entry must read the
same as before, or nothing is written.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from replay._inputs.toml import parse_toml, read_text, read_toml, tomllib
from replay._model.errors import InputError, ReplayError
from replay._model.quarantine import EntryState
from replay._store.rundir import write_bytes_atomic

FIELDS = (
    "category",
    "owner",
    "quarantined",
    "expires",
    "bead",
    "evidence",
    "repro",
    "reason",
    "remove_when",
)
"""The 9 fields every entry must have, in upstream's order."""

MAX_DAYS = 14
"""Upstream's cap on a quarantine's span: long enough to fix a flake, short enough to notice."""

EXPIRING_SOON_DAYS = 2
"""Entries with this many days or fewer left are `expiring_soon`, as upstream's quarantine guard."""

SIGNATURES_FIELD = "signatures"
"""Optional in a quarantine entry: the failure fingerprints it covers (see `_core.signatures`)."""

WAIVER_FIELDS = ("owner", "created", "expires", "bead", "reason", "scope", "remove_when")
"""The 7 fields every `[waiver.<gate_id>]` must have, in upstream's order."""

WAIVER_SCOPES = ("full", "preflight", "both")
"""Which CI gates a waiver covers, as upstream spells them."""

WAIVER_MAX_DAYS = 30
"""Upstream's cap on a waiver's span."""

WAIVER_WARN_DAYS = 3
"""Upstream `WAIVER_EXPIRY_WARN_DAYS`: a waiver with 3 days or fewer left is `expiring_soon`."""

TABLES = ("suite", "waiver", "quarantine")
"""The top-level tables of a classification file; any other key is reported, not read."""

REMOVAL_FAILURE_RATE = 0.05
"""The default `remove_when` asks for enough green runs to bound the failure rate below this."""

_BARE_KEY = re.compile(r"[A-Za-z0-9_]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WHAT = "a suite_classification.toml file"


@attrs.frozen
class Lifecycle:
    """The rules of one kind of dated entry: its fields, its span cap, its warning window."""

    table: str
    """`quarantine` or `waiver`: the table the entries live in."""
    fields: tuple[str, ...]
    start_field: str
    """The field holding the day the entry started (`quarantined`, `created`)."""
    max_days: int
    soon_days: int
    """Entries with this many days or fewer left are `expiring_soon`."""
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Fields whose value must be one of a closed set, with that set."""


@attrs.frozen
class Judged:
    """One quarantine or waiver entry, as the file has it, judged on a given day."""

    name: str
    """The stem or gate id, as written after `quarantine.` or `waiver.`."""
    state: EntryState
    values: dict[str, str]
    """Every field of the lifecycle as text; empty when missing or not a string."""
    missing: tuple[str, ...] = ()
    """Required fields absent or blank, in upstream's field order."""
    problems: tuple[str, ...] = ()
    """Why the entry is invalid, one line each, naming the field."""
    unknown: tuple[str, ...] = ()
    """Keys that are not fields of the lifecycle, sorted."""
    span_days: int | None = None
    """Days from the start field to `expires`, when both are dates."""
    days_left: int | None = None
    """Days from the day judged to `expires` (negative once expired), when `expires` is a date."""


@attrs.frozen
class QuarantineEntry:
    """The 9 fields of a `[quarantine.<stem>]` entry; dates are `YYYY-MM-DD`."""

    category: str
    owner: str
    quarantined: str
    expires: str
    bead: str
    evidence: str
    repro: str
    reason: str
    remove_when: str


@attrs.frozen
class Quarantined:
    """One entry as read from a classification file, judged on a given day."""

    stem: str
    """The suite (test file stem) or `suite::test` the entry quarantines."""
    state: EntryState
    entry: QuarantineEntry | None = None
    """None when a field is missing or not a string."""
    missing: tuple[str, ...] = ()
    """Required fields absent or empty, in upstream's field order."""
    problems: tuple[str, ...] = ()
    """Why the entry is invalid, one line each, naming the field."""
    days_left: int | None = None
    """Days from the day judged to `expires` (negative once expired), when `expires` is a date."""
    warnings: tuple[str, ...] = ()
    """Worth fixing but not invalidating (unknown fields), as `replay audit` reports them."""
    signatures: tuple[str, ...] = ()
    """`signatures = [...]`: the failure fingerprints the entry covers (empty: any failure)."""


@attrs.frozen
class Classification:
    """A classification file, read once: what discovery, runs and the audit each take from it."""

    source: str
    """The file (or the name given to a parsed document), for messages."""
    suites: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    """`[suite.<kind>] files`: kind -> stems, in file order."""
    waivers: dict[str, Any] = attrs.field(factory=dict)
    """`[waiver.<gate_id>]` tables as TOML parsed them; `judge` decides what they are worth."""
    quarantine: dict[str, Any] = attrs.field(factory=dict)
    """`[quarantine.<stem>]` tables as TOML parsed them; `judge` decides what they are worth."""
    unknown_tables: tuple[str, ...] = ()
    """Top-level keys other than `suite`, `waiver` and `quarantine`, sorted."""


def quarantine_entry(
    stem: str,
    *,
    category: str,
    today: date,
    repro: str,
    evidence: str,
    days: int = MAX_DAYS,
    owner: str = "unassigned",
    bead: str = "TODO",
    reason: str | None = None,
    remove_when: str | None = None,
) -> QuarantineEntry:
    """A complete entry quarantining `stem` from `today` for `days` (at most 14).

    `repro` is the targeted replay command, `evidence` the flake report's path.
    The defaults for `owner` and `bead` are placeholders a human must fill in;
    `category` is taken as given, so an `unclassified` flake (or a category of the
    config's own) makes an entry that `judge` calls invalid until someone picks
    one of upstream's six FLAKE-* categories.
    """
    # Imported here: the executor imports this module for the policy, and a run needs no
    # flake statistics.
    from replay._core.flakes import runs_needed

    if not stem:
        msg = "quarantine entry: the stem must not be empty"
        raise ReplayError(msg)
    if not 1 <= days <= MAX_DAYS:
        msg = f"quarantine entry for {stem!r}: days must be 1 to {MAX_DAYS}, got {days}"
        raise ReplayError(msg)
    expires = today + timedelta(days=days)
    runs = runs_needed(REMOVAL_FAILURE_RATE)
    return QuarantineEntry(
        category=category,
        owner=owner,
        quarantined=today.isoformat(),
        expires=expires.isoformat(),
        bead=bead,
        evidence=evidence,
        repro=repro,
        reason=reason or f"{stem} fails intermittently ({category}); see the evidence",
        remove_when=remove_when
        or (
            f"`replay flake {stem} --runs {runs}` reports stable_pass "
            f"(failure rate below {REMOVAL_FAILURE_RATE:.0%} at 95% confidence)"
        ),
    )


def _toml_string(value: str) -> str:
    """A TOML basic string: escapes what TOML requires, keeps the rest readable."""
    named = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
    named["\r"] = "\\r"
    out = []
    for char in value:
        if char in named:
            out.append(named[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_key(stem: str) -> str:
    """`stem` as a TOML key: bare when it is only letters, digits and `_`, else quoted.

    `-` is legal in a bare key, but upstream's audit skipped such stems: quoting
    them makes the stem's oddity visible in the file.
    """
    return stem if _BARE_KEY.fullmatch(stem) else _toml_string(stem)


def entry_toml(entry: QuarantineEntry, stem: str) -> str:
    """The ready-to-paste `[quarantine.<stem>]` block, fields in upstream's order."""
    lines = [f"[quarantine.{toml_key(stem)}]"]
    lines.extend(f"{name} = {_toml_string(getattr(entry, name))}" for name in FIELDS)
    return "\n".join(lines) + "\n"


def _header_path(line: str) -> tuple[str, ...] | None:
    """The key path of a table header line (`[a."b.c"]` is ("a", "b.c")), or None."""
    # Whether a line that starts with `[` is a header (and not a line of an array), tomllib
    # decides: it alone knows every way a key can be quoted.
    if not line.lstrip().startswith("["):
        return None
    try:
        parsed: Any = tomllib.loads(line.strip() + "\n")
    except tomllib.TOMLDecodeError:
        return None
    path = []
    while isinstance(parsed, (dict, list)) and parsed:
        if isinstance(parsed, list):
            parsed = parsed[-1]
            continue
        if len(parsed) != 1:
            return None
        key, parsed = next(iter(parsed.items()))
        path.append(key)
    return tuple(path)


def _entry_spans(lines: Sequence[str]) -> list[tuple[tuple[str, ...], int, int]]:
    """Each table's key path with its lines [start, end), the comments before the next table
    and blank lines left out (they belong to what follows)."""
    headers = [(i, p) for i, line in enumerate(lines) if (p := _header_path(line)) is not None]
    spans = []
    for n, (start, key_path) in enumerate(headers):
        end = headers[n + 1][0] if n + 1 < len(headers) else len(lines)
        while end > start + 1 and (
            not lines[end - 1].strip() or lines[end - 1].lstrip()[:1] == "#"
        ):
            end -= 1
        spans.append((key_path, start, end))
    return spans


def _lines(text: str) -> list[str]:
    """`text` cut after each `\n`: TOML's only line break (`str.splitlines` also cuts at
    `\x1e`, `\x85` or `\u2028`, which a TOML string may hold)."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _edited(text: str, stem: str, block: str) -> str:
    """`text` with `block` replacing the entry of `stem`, or after the last quarantine entry,
    or at the end."""
    lines = _lines(text)
    newline = "\r\n" if "\r\n" in text else "\n"
    block_lines = [line.replace("\n", newline) for line in _lines(block)]
    spans = [s for s in _entry_spans(lines) if s[0][:1] == ("quarantine",) and len(s[0]) > 1]
    own = [(start, end) for key_path, start, end in spans if key_path == ("quarantine", stem)]
    if own:
        start, end = own[0]
        return "".join([*lines[:start], *block_lines, *lines[end:]])
    if spans:
        at = max(end for _, _, end in spans)
        return "".join([*lines[:at], newline, *block_lines, *lines[at:]])
    tail = text if not text or text.endswith("\n") else text + newline
    return tail + (newline if tail.strip() else "") + "".join(block_lines)


def write_entry(path: Path, stem: str, entry: QuarantineEntry) -> None:
    """Add (or replace) `[quarantine.<stem>]` in a classification file, atomically.

    The rest of the file is kept byte for byte: a new entry goes after the
    last quarantine entry (or at the end), a replaced one where it was. If the
    edit would change anything else (say, the entry is written as an inline
    table), nothing is written and the error shows the entry to add by hand.
    """
    text = read_text(path, what=_WHAT)
    if not os.access(path, os.W_OK):
        # A rename would replace a read-only file anyway: respect the owner's intent instead.
        msg = f"{path}: is read-only; make it writable to add [quarantine.{toml_key(stem)}]"
        raise InputError(msg)
    before = parse_toml(text, path)
    parse_classification(before, source=str(path))
    block = entry_toml(entry, stem)
    after_text = _edited(text, stem, block)
    expected = copy.deepcopy(before)
    expected.setdefault("quarantine", {})[stem] = attrs.asdict(entry)
    try:
        after = tomllib.loads(after_text)
    except tomllib.TOMLDecodeError:
        after = None
    if after != expected:
        msg = (
            f"{path}: cannot add [quarantine.{toml_key(stem)}] without disturbing the file's "
            f"other content; add this entry by hand:\n{block}"
        )
        raise InputError(msg)
    mode = path.stat().st_mode & 0o7777
    write_bytes_atomic(path, after_text.encode("utf-8"))
    # The temp file behind the atomic write is created 0600: give the file its mode back.
    os.chmod(path, mode)


# ── reading the file ────────────────────────────────────────────────────────

_TOML_TYPES: dict[type, str] = {dict: "table", list: "array", str: "string"}


def _type_name(value: object) -> str:
    """A value's type as TOML calls it (`table`, `array`, `string`), else Python's name."""
    return _TOML_TYPES.get(type(value), type(value).__name__)


def _table_of(document: Mapping[str, Any], key: str, entry: str, source: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        msg = f"{source}: {key}: expected a table of [{key}.<{entry}>] entries, got "
        msg += _type_name(value)
        raise InputError(msg)
    return value


def _suites(document: Mapping[str, Any], source: str) -> dict[str, tuple[str, ...]]:
    kinds: dict[str, tuple[str, ...]] = {}
    for kind, table in _table_of(document, "suite", "kind", source).items():
        where = f"{source}: suite.{kind}"
        if not isinstance(table, dict):
            msg = f"{where}: expected a table with `files`, got {_type_name(table)}"
            raise InputError(msg)
        unknown = sorted(set(table) - {"files"})
        if unknown:
            msg = f"{where}.{unknown[0]}: unknown key; a kind holds only `files`"
            raise InputError(msg)
        files = table.get("files")
        if files is None:
            msg = f"{where}.files: required (a list of test file stems)"
            raise InputError(msg)
        if not isinstance(files, list):
            msg = f"{where}.files: expected an array, got {_type_name(files)}"
            raise InputError(msg)
        for index, stem in enumerate(files):
            if not isinstance(stem, str):
                msg = f"{where}.files[{index}]: expected a string, got {_type_name(stem)}"
                raise InputError(msg)
        kinds[kind] = tuple(files)
    return kinds


def parse_classification(document: Mapping[str, Any], *, source: str) -> Classification:
    """A parsed classification document as a `Classification` (pure).

    `InputError` naming `source` and the key when `[suite.*]` is malformed or a
    top-level table is not a table. Waiver and quarantine entries are kept as
    written: what is wrong with one is the judge's verdict, not an error.
    """
    return Classification(
        source=source,
        suites=_suites(document, source),
        waivers=_table_of(document, "waiver", "gate_id", source),
        quarantine=_table_of(document, "quarantine", "stem", source),
        unknown_tables=tuple(sorted(str(key) for key in document if key not in TABLES)),
    )


def read_classification(path: Path) -> Classification:
    """Read a classification file; `InputError` names the file and what is wrong."""
    return parse_classification(read_toml(path, what=_WHAT), source=str(path))


# ── judging an entry ────────────────────────────────────────────────────────


def _quarantine_lifecycle() -> Lifecycle:
    # The six categories are the taxonomy's; imported here, as the taxonomy compiles its rules
    # on import and a run that quarantines nothing does not need them.
    from replay._core.taxonomy import CATEGORIES

    return Lifecycle(
        table="quarantine",
        fields=FIELDS,
        start_field="quarantined",
        max_days=MAX_DAYS,
        soon_days=EXPIRING_SOON_DAYS,
        choices=(("category", CATEGORIES),),
    )


WAIVER_LIFECYCLE = Lifecycle(
    table="waiver",
    fields=WAIVER_FIELDS,
    start_field="created",
    max_days=WAIVER_MAX_DAYS,
    soon_days=WAIVER_WARN_DAYS,
    choices=(("scope", WAIVER_SCOPES),),
)
"""The rules of a `[waiver.<gate_id>]` entry."""


def _text(value: object) -> str | None:
    """A field's text: a TOML date counts as its ISO form; other non-strings are None."""
    if isinstance(value, str):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return None


def _as_date(value: str) -> date | None:
    # fromisoformat alone would take "20260210" and "2026-W07-2" on 3.11: upstream writes
    # YYYY-MM-DD, and a run and the audit must read the same dates.
    if not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _state(problems: Sequence[str], days_left: int | None, soon_days: int) -> EntryState:
    if problems or days_left is None:
        return EntryState.INVALID
    if days_left < 0:
        return EntryState.EXPIRED
    if days_left <= soon_days:
        return EntryState.EXPIRING_SOON
    return EntryState.ACTIVE


def _field_values(
    fields: tuple[str, ...], table: Mapping[str, Any]
) -> tuple[dict[str, str], tuple[str, ...], list[str]]:
    """Each field's text (empty when absent or not text), the missing fields, the problems."""
    values: dict[str, str] = {}
    missing: list[str] = []
    problems: list[str] = []
    for field in fields:
        value = table.get(field)
        text = _text(value)
        if value is not None and text is None:
            problems.append(f"{field}: expected a string, got {_type_name(value)}")
        values[field] = text or ""
        # A blank value says nothing an operator can act on: it counts as missing.
        if value is None or (text is not None and not text.strip()):
            missing.append(field)
    if missing:
        problems.insert(0, f"missing required fields: {', '.join(missing)}")
    return values, tuple(missing), problems


def _date_field(
    field: str, values: Mapping[str, str], missing: tuple[str, ...], problems: list[str]
) -> date | None:
    """The date in `field`, or None (and a problem when it is there but not a date)."""
    if field in missing or not values[field]:
        return None
    parsed = _as_date(values[field])
    if parsed is None:
        problems.append(f"{field}: {values[field]!r} is not a date (YYYY-MM-DD)")
    return parsed


def judge(lifecycle: Lifecycle, name: str, table: object, *, today: date) -> Judged:
    """One entry, as TOML parsed it, judged on `today`: the one judge of runs and the audit.

    Invalid when a field is missing, blank or not a string, a value is not one
    of its choices, a date is not `YYYY-MM-DD`, the span is negative or over
    the cap, or the entry holds a nested table (`[quarantine.a.b]`, an
    unquoted dot). Unknown plain fields are only reported (`unknown`).
    """
    fields = lifecycle.fields
    if not isinstance(table, dict):
        problem = f"expected a table, got {_type_name(table)}"
        return Judged(name, EntryState.INVALID, dict.fromkeys(fields, ""), fields, (problem,))
    values, missing, problems = _field_values(fields, table)
    for field, allowed in lifecycle.choices:
        if field not in missing and values[field] and values[field] not in allowed:
            problems.append(f"{field}: {values[field]!r} is not one of: {', '.join(allowed)}")
    start, end = (
        _date_field(field, values, missing, problems)
        for field in (lifecycle.start_field, "expires")
    )
    span = (end - start).days if start and end else None
    if span is not None and span < 0:
        problems.append(f"expires ({end}) is before {lifecycle.start_field} ({start})")
    elif span is not None and span > lifecycle.max_days:
        problems.append(f"span of {span} days exceeds the {lifecycle.max_days}-day maximum")
    signatures = table.get(SIGNATURES_FIELD)
    if (
        lifecycle.table == "quarantine"
        and signatures is not None
        and (
            not isinstance(signatures, list)
            or not all(isinstance(v, str) and v for v in signatures)
        )
    ):
        problems.append(f"{SIGNATURES_FIELD}: expected a list of failure fingerprints (strings)")
    optional = (SIGNATURES_FIELD,) if lifecycle.table == "quarantine" else ()
    unknown = tuple(sorted(str(key) for key in table if key not in (*fields, *optional)))
    for key in unknown:
        if isinstance(table[key], dict):
            # `[quarantine.a.b]` is the table `b` inside `a`: a dotted name needs quotes.
            problems.append(
                f"{key!r} is a nested table; quote a name that contains '.', "
                f'e.g. [{lifecycle.table}."{name}.{key}"]'
            )
    days_left = (end - today).days if end else None
    return Judged(
        name=name,
        state=_state(problems, days_left, lifecycle.soon_days),
        values=values,
        missing=missing,
        problems=tuple(problems),
        unknown=unknown,
        span_days=span,
        days_left=days_left,
    )


def judge_quarantine(stem: str, table: object, *, today: date) -> Judged:
    """`judge` with the rules of a `[quarantine.<stem>]` entry."""
    return judge(_quarantine_lifecycle(), stem, table, today=today)


def judge_waiver(gate_id: str, table: object, *, today: date) -> Judged:
    """`judge` with the rules of a `[waiver.<gate_id>]` entry."""
    return judge(WAIVER_LIFECYCLE, gate_id, table, today=today)


def judge_entry(stem: str, table: object, *, today: date) -> Quarantined:
    """One `[quarantine.<stem>]` table, as TOML parsed it, judged on `today`, as a run sees it."""
    judged = judge_quarantine(stem, table, today=today)
    complete = all(judged.values[name].strip() for name in FIELDS)
    listed = table.get(SIGNATURES_FIELD) if isinstance(table, dict) else None
    signatures = tuple(listed) if isinstance(listed, list) and not judged.problems else ()
    return Quarantined(
        stem=stem,
        state=judged.state,
        entry=QuarantineEntry(**judged.values) if complete else None,
        missing=judged.missing,
        problems=judged.problems,
        days_left=judged.days_left,
        warnings=tuple(f"unknown field {key!r}" for key in judged.unknown),
        signatures=signatures,
    )


def read_quarantine(path: Path, *, today: date) -> tuple[Quarantined, ...]:
    """Every `[quarantine.<stem>]` entry of a classification file, in file order, judged on
    `today`."""
    entries = read_classification(path).quarantine
    return tuple(judge_entry(stem, table, today=today) for stem, table in entries.items())


def is_quarantined(target_name: str, entries: Sequence[Quarantined]) -> Quarantined | None:
    """The entry covering `target_name`, whatever its state, or None.

    A suite is covered by its own entry; a test `suite::test` by its own entry,
    else by its suite's. A suite is not covered by an entry for one of its tests.
    """
    for entry in entries:
        if entry.stem == target_name:
            return entry
    suite, separator, _ = target_name.partition("::")
    if separator:
        return next((e for e in entries if e.stem == suite), None)
    return None
