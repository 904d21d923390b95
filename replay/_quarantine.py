"""Quarantine entries of `suite_classification.toml`: making, writing, reading, applying.

Upstream's rules (DESIGN.md): an entry `[quarantine.<stem>]` has 9 fields
`category owner quarantined expires bead evidence repro reason remove_when`,
spans at most 14 days, and an expired entry fails CI; a quarantined test still
runs, gets 1 retry after 5 s, and its failure does not block. Upstream's audit
silently passed incomplete entries and skipped stems containing `-`; here an
incomplete entry is `invalid` with the missing field names, and every stem is
read, quoted or not.

Writing edits the file as text, not through a TOML round trip: tomlkit
attaches the comment block in front of the next table to the table before it,
so replacing or appending entries moved other sections' comments. The edit is
checked by parsing the result: everything but the one entry must read the
same as before, or nothing is written.
"""

from __future__ import annotations

import copy
import enum
import os
import re
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import attrs

from replay._artifacts import write_bytes_atomic
from replay._convert import register_enum
from replay._errors import InputError, ReplayError
from replay._flakes import runs_needed
from replay._models import RetryPolicy
from replay._taxonomy import CATEGORY_PREFIX
from replay._toml import parse_toml, read_text, tomllib

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

REMOVAL_FAILURE_RATE = 0.05
"""The default `remove_when` asks for enough green runs to bound the failure rate below this."""

_BARE_KEY = re.compile(r"[A-Za-z0-9_]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@register_enum
class QuarantineState(str, enum.Enum):
    """Where a quarantine entry stands on a given day."""

    ACTIVE = "active"
    EXPIRING_SOON = "expiring_soon"
    EXPIRED = "expired"
    INVALID = "invalid"


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
    state: QuarantineState
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


QUARANTINE_RETRY = RetryPolicy(retries=1, delay=5.0)
"""One retry after 5 seconds: upstream's policy for quarantined tests."""


@attrs.frozen
class QuarantinePolicy:
    """What a quarantined target gets in a run (upstream documented it, never implemented it)."""

    retry: RetryPolicy = QUARANTINE_RETRY
    blocks_run: bool = False
    """A quarantined target's failure does not fail the run."""
    failing_states: tuple[QuarantineState, ...] = (QuarantineState.EXPIRED, QuarantineState.INVALID)
    """Entries that fail the run instead: expired ones (upstream), and invalid ones, since an
    entry without an owner or an expiry is a quarantine nobody tracks."""


QUARANTINE_POLICY = QuarantinePolicy()
"""The policy `replay run` applies to quarantined targets."""


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
    `category` is taken as given, so an `unclassified` flake makes an entry that
    `read_quarantine` calls invalid until someone picks a FLAKE-* category.
    """
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


def _read_text(path: Path) -> str:
    return read_text(path, what="a suite_classification.toml file")


def _parse(text: str, path: Path) -> dict[str, Any]:
    document = parse_toml(text, path)
    if not isinstance(document.get("quarantine", {}), dict):
        msg = f"{path}: quarantine: expected a table of [quarantine.<stem>] entries"
        raise InputError(msg)
    return document


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
    text = _read_text(path)
    if not os.access(path, os.W_OK):
        # A rename would replace a read-only file anyway: respect the owner's intent instead.
        msg = f"{path}: is read-only; make it writable to add [quarantine.{toml_key(stem)}]"
        raise InputError(msg)
    before = _parse(text, path)
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


def _as_date(value: str) -> date | None:
    # fromisoformat alone would take "20260210" and "2026-W07-2" on 3.11.
    if not _DATE.fullmatch(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _fields(table: dict[str, Any]) -> tuple[dict[str, str], list[str], list[str]]:
    """The string values, the missing field names and the type problems of an entry table.

    Unknown fields are not problems (`unknown_fields` lists them): `replay audit` calls
    them a warning, and a run must not fail on what the audit lets pass.
    """
    values: dict[str, str] = {}
    missing: list[str] = []
    problems: list[str] = []
    for name in FIELDS:
        value = table.get(name)
        if isinstance(value, date):  # an unquoted TOML date
            value = value.isoformat()
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append(name)
        elif isinstance(value, str):
            values[name] = value
        else:
            problems.append(f"{name}: expected a string, got {type(value).__name__}")
    if missing:
        problems.insert(0, "missing fields: " + ", ".join(missing))
    return values, missing, problems


def unknown_fields(table: dict[str, Any]) -> tuple[str, ...]:
    """Fields of an entry table that are not among the 9."""
    return tuple(f"unknown field {name!r}" for name in table if name not in FIELDS)


def _span_problems(values: dict[str, str]) -> tuple[list[str], date | None]:
    """Problems with the dates and the category, and the expiry date if it is one."""
    problems = []
    category = values.get("category")
    if category is not None and not (
        category.startswith(CATEGORY_PREFIX) and len(category) > len(CATEGORY_PREFIX)
    ):
        problems.append(f"category: {category!r} is not a FLAKE-* category")
    dates: dict[str, date | None] = {}
    for name in ("quarantined", "expires"):
        if name in values:
            dates[name] = _as_date(values[name])
            if dates[name] is None:
                problems.append(f"{name}: {values[name]!r} is not a date (YYYY-MM-DD)")
    start, expires = dates.get("quarantined"), dates.get("expires")
    if start and expires:
        span = (expires - start).days
        if span < 0:
            problems.append(f"expires {expires} is before quarantined {start}")
        elif span > MAX_DAYS:
            problems.append(f"spans {span} days; the cap is {MAX_DAYS}")
    return problems, expires


def judge_entry(stem: str, table: object, *, today: date) -> Quarantined:
    """One `[quarantine.<stem>]` table, as TOML parsed it, judged on `today`."""
    if not isinstance(table, dict):
        problem = f"expected a table of {len(FIELDS)} fields, got {type(table).__name__}"
        return Quarantined(stem=stem, state=QuarantineState.INVALID, problems=(problem,))
    values, missing, problems = _fields(table)
    more, expires = _span_problems(values)
    problems.extend(more)
    days_left = (expires - today).days if expires else None
    if problems:
        state = QuarantineState.INVALID
    elif days_left is not None and days_left < 0:
        state = QuarantineState.EXPIRED
    elif days_left is not None and days_left <= EXPIRING_SOON_DAYS:
        state = QuarantineState.EXPIRING_SOON
    else:
        state = QuarantineState.ACTIVE
    return Quarantined(
        stem=stem,
        state=state,
        entry=QuarantineEntry(**values) if len(values) == len(FIELDS) else None,
        missing=tuple(missing),
        problems=tuple(problems),
        days_left=days_left,
        warnings=unknown_fields(table),
    )


def read_quarantine(path: Path, *, today: date) -> tuple[Quarantined, ...]:
    """Every `[quarantine.<stem>]` entry of a classification file, in file order, judged on
    `today`."""
    document = _parse(_read_text(path), path)
    entries = document.get("quarantine", {})
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
