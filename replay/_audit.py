"""Audits of an upstream `suite_classification.toml`: suites, waivers, quarantine.

Three checks the upstream CI ran separately, each with a gap this module closes:

- the *suite classification guard* grepped for `"stem"` anywhere in the file,
  so a stem listed twice, or a suite naming a deleted file, passed;
- the *waiver lifecycle* gate counted only complete waivers, so a waiver with
  a missing field made the gate pass (`total_waivers` was 0);
- the *quarantine expiry guard* found sections with the regex
  `^\\[quarantine\\.(\\w+)\\]`, so stems with `-` or `.` were never read.

The file is parsed as real TOML. `audit_document` is pure (the tests-dir stems
and the date are passed in); `audit_classification` reads the files. The two
upstream artifacts, `waiver_audit.json` and `quarantine_report.json`, are
produced field-compatible with upstream plus `missing_fields`/`problems`.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import attrs

from replay import _quarantine as quarantine_policy
from replay._convert import register_enum, structure
from replay._errors import InputError
from replay._taxonomy import CATEGORIES
from replay._toml import read_toml

WAIVER_AUDIT_SCHEMA = "pi.ci.waiver_audit.v1"
QUARANTINE_REPORT_SCHEMA = "pi.test.quarantine_report.v2"
"""The tag upstream's quarantine guard writes; its evidence bundle matches the prefix."""

WAIVER_FIELDS = ("owner", "created", "expires", "bead", "reason", "scope", "remove_when")
WAIVER_SCOPES = ("full", "preflight", "both")
WAIVER_MAX_DAYS = 30
WAIVER_WARN_DAYS = 3
"""Upstream `WAIVER_EXPIRY_WARN_DAYS`: a waiver with 3 days or fewer left is `expiring_soon`."""

# The quarantine rules are the run-time policy's (`_quarantine`); the audit only reports.
QUARANTINE_FIELDS = quarantine_policy.FIELDS
FLAKE_CATEGORIES = CATEGORIES
QUARANTINE_MAX_DAYS = quarantine_policy.MAX_DAYS
QUARANTINE_WARN_DAYS = quarantine_policy.EXPIRING_SOON_DAYS
QUARANTINE_POLICY_VERSION = "2026-02-10"
"""The upstream policy version whose rules this audit applies."""

KNOWN_TABLES = frozenset({"suite", "waiver", "quarantine"})


@register_enum
class Severity(str, enum.Enum):
    """Whether a finding fails the audit."""

    BLOCKING = "blocking"
    WARNING = "warning"


@register_enum
class FindingKind(str, enum.Enum):
    """What an audit finding is about."""

    UNCLASSIFIED = "unclassified"
    DUPLICATE = "duplicate"
    MISSING_FILE = "missing_file"
    UNSORTED = "unsorted"
    UNKNOWN_TABLE = "unknown_table"
    UNKNOWN_FIELD = "unknown_field"
    WAIVER_INVALID = "waiver_invalid"
    WAIVER_EXPIRED = "waiver_expired"
    WAIVER_EXPIRING = "waiver_expiring"
    QUARANTINE_INVALID = "quarantine_invalid"
    QUARANTINE_EXPIRED = "quarantine_expired"
    QUARANTINE_EXPIRING = "quarantine_expiring"


@register_enum
class WaiverState(str, enum.Enum):
    """Upstream's waiver states (with an underscore, as upstream writes them)."""

    ACTIVE = "active"
    EXPIRING_SOON = "expiring_soon"
    EXPIRED = "expired"
    INVALID = "invalid"


@register_enum
class QuarantineState(str, enum.Enum):
    """Upstream's quarantine states (with a dash, as upstream writes them), plus `invalid`."""

    ACTIVE = "active"
    EXPIRING_SOON = "expiring-soon"
    EXPIRED = "expired"
    INVALID = "invalid"


@attrs.frozen
class Finding:
    """One thing the audit found."""

    severity: Severity
    kind: FindingKind
    subject: str
    """The stem, gate id or table the finding is about."""
    message: str


@attrs.frozen
class WaiverValidation:
    """One waiver's verdict (upstream `WaiverValidation`, plus the reasons as lists)."""

    gate_id: str
    status: WaiverState
    detail: str | None = None
    days_remaining: int | None = None
    missing_fields: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


@attrs.frozen
class RawWaiver:
    """A waiver as written (upstream `Waiver`); a missing field is an empty string."""

    gate_id: str
    owner: str
    created: str
    expires: str
    bead: str
    reason: str
    scope: str
    remove_when: str


@attrs.frozen(kw_only=True)
class WaiverAudit:
    """`waiver_audit.json`: upstream `pi.ci.waiver_audit.v1`, counting incomplete waivers too."""

    schema: str = WAIVER_AUDIT_SCHEMA
    generated_at: str
    total_waivers: int
    active: int
    expired: int
    expiring_soon: int
    invalid: int
    waivers: tuple[WaiverValidation, ...] = ()
    raw_waivers: tuple[RawWaiver, ...] = ()


@attrs.frozen
class QuarantineRetryPolicy:
    """The retry policy upstream states for quarantined tests (1 retry after 5 s)."""

    max_auto_retries: int = 1
    retry_delay_seconds: int = 5
    retry_scope: str = "failed-target-only"
    second_failure_policy: str = "deterministic-failure"


@attrs.frozen(kw_only=True)
class QuarantineEntry:
    """One `[quarantine.<stem>]` entry and its state; a missing field is an empty string."""

    name: str
    """The stem, as written after `quarantine.` (dashes and dots included)."""
    category: str
    owner: str
    quarantined: str
    expires: str
    bead: str
    evidence: str
    repro: str
    reason: str
    remove_when: str
    status: QuarantineState
    quarantine_span_days: int | None = None
    days_remaining: int | None = None
    missing_fields: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


@attrs.frozen
class Escalation:
    """An action upstream asks of an entry's owner."""

    name: str
    severity: str
    """`critical` (blocks) or `warning`."""
    action: str
    owner: str
    bead: str


@attrs.frozen(kw_only=True)
class QuarantineReport:
    """`quarantine_report.json`: upstream `pi.test.quarantine_report.v2` plus invalid entries.

    As upstream, `active_count` includes the expiring-soon entries and
    `category_counts` counts the entries that are not invalid.
    """

    schema: str = QUARANTINE_REPORT_SCHEMA
    generated_at: str
    policy_version: str = QUARANTINE_POLICY_VERSION
    today: str
    max_quarantine_days: int = QUARANTINE_MAX_DAYS
    retry_policy: QuarantineRetryPolicy = QuarantineRetryPolicy()
    active_count: int
    expiring_soon_count: int
    expired_count: int
    invalid_count: int
    category_counts: dict[str, int] = attrs.field(factory=dict)
    entries: tuple[QuarantineEntry, ...] = ()
    escalations: tuple[Escalation, ...] = ()


@attrs.frozen(kw_only=True)
class AuditReport:
    """Everything `replay audit` found in one classification file."""

    source: str
    today: str
    suites: dict[str, int]
    """Number of files listed per `[suite.<name>]`."""
    test_files: int | None = None
    """Number of `*.rs` files in the tests directory, when one was given."""
    findings: tuple[Finding, ...] = ()
    waiver_audit: WaiverAudit
    quarantine_report: QuarantineReport

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """The findings that fail the audit."""
        return tuple(f for f in self.findings if f.severity is Severity.BLOCKING)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """The findings that are reported but do not fail the audit."""
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)


@attrs.frozen
class _SuiteTable:
    files: tuple[str, ...] = ()


# ── suite classification guard ──────────────────────────────────────────────


def _suite_findings(
    suites: Mapping[str, tuple[str, ...]], test_stems: Collection[str] | None
) -> list[Finding]:
    findings = []
    homes: dict[str, list[str]] = {}
    for suite, files in suites.items():
        for stem in files:
            homes.setdefault(stem, []).append(suite)
    for stem, where in sorted(homes.items()):
        if len(where) > 1:
            tables = ", ".join(f"[suite.{s}]" for s in where)
            message = f"{stem!r} is listed {len(where)} times: {tables}; keep exactly one"
            findings.append(Finding(Severity.BLOCKING, FindingKind.DUPLICATE, stem, message))
    if test_stems is not None:
        present = set(test_stems)
        for stem in sorted(present - homes.keys()):
            message = (
                f"{stem}.rs is in no suite; add it to [suite.unit], [suite.vcr] or [suite.e2e]"
            )
            findings.append(Finding(Severity.BLOCKING, FindingKind.UNCLASSIFIED, stem, message))
        for stem in sorted(homes.keys() - present):
            tables = ", ".join(f"[suite.{s}]" for s in homes[stem])
            message = f"{tables} lists {stem!r} but {stem}.rs is not in the tests directory"
            findings.append(Finding(Severity.BLOCKING, FindingKind.MISSING_FILE, stem, message))
    for suite, files in suites.items():
        out_of_order = [i for i in range(1, len(files)) if files[i] < files[i - 1]]
        if out_of_order:
            first = out_of_order[0]
            more = f" (and {len(out_of_order) - 1} more)" if len(out_of_order) > 1 else ""
            message = (
                f"[suite.{suite}] is not in alphabetical order: {files[first]!r} comes after "
                f"{files[first - 1]!r}{more}; sorting is recommended, not required"
            )
            findings.append(
                Finding(Severity.WARNING, FindingKind.UNSORTED, f"suite.{suite}", message)
            )
    return findings


# ── shared lifecycle checks ─────────────────────────────────────────────────


@attrs.frozen
class _Checked:
    values: dict[str, str]
    missing: tuple[str, ...]
    problems: tuple[str, ...]
    unknown: tuple[str, ...]
    span: int | None
    days_remaining: int | None


def _text(value: Any) -> str | None:
    """A field's text: TOML dates count as their ISO form; other non-strings are None."""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    return None


def _parse_date(field: str, text: str, problems: list[str]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        problems.append(f"{field}: {text!r} is not a date (YYYY-MM-DD)")
        return None


def _check_entry(
    entry: Any,
    *,
    table: str,
    name: str,
    fields: tuple[str, ...],
    start_field: str,
    max_days: int,
    today: dt.date,
) -> _Checked:
    """Field presence, types, dates and span of one waiver or quarantine entry."""
    if not isinstance(entry, dict):
        problem = f"expected a table, got {type(entry).__name__}"
        return _Checked({f: "" for f in fields}, fields, (problem,), (), None, None)
    values: dict[str, str] = {}
    missing: list[str] = []
    problems: list[str] = []
    for field in fields:
        value = entry.get(field)
        text = _text(value)
        if value is not None and text is None:
            problems.append(f"{field}: expected a string, got {type(value).__name__}")
        values[field] = text or ""
        # A blank value says nothing an operator can act on: it counts as missing.
        if value is None or (text is not None and not text.strip()):
            missing.append(field)
    if missing:
        problems.insert(0, f"missing required fields: {', '.join(missing)}")
    start = end = None
    if start_field not in missing and values[start_field]:
        start = _parse_date(start_field, values[start_field], problems)
    if "expires" not in missing and values["expires"]:
        end = _parse_date("expires", values["expires"], problems)
    span = (end - start).days if start and end else None
    if span is not None and span < 0:
        problems.append(f"expires ({end}) is before {start_field} ({start})")
    elif span is not None and span > max_days:
        problems.append(f"span of {span} days exceeds the {max_days}-day maximum")
    days_remaining = (end - today).days if end else None
    unknown = tuple(sorted(str(k) for k in entry if k not in fields))
    for key in unknown:
        if isinstance(entry[key], dict):
            # `[quarantine.a.b]` is the table `b` inside `a`: a dotted name needs quotes.
            problems.append(
                f"{key!r} is a nested table; quote a name that contains '.', "
                f'e.g. [{table}."{name}.{key}"]'
            )
    return _Checked(values, tuple(missing), tuple(problems), unknown, span, days_remaining)


def _unknown_findings(table: str, name: str, checked: _Checked) -> list[Finding]:
    return [
        Finding(
            Severity.WARNING,
            FindingKind.UNKNOWN_FIELD,
            f"{table}.{name}",
            f"[{table}.{name}] has unknown field {key!r}, ignored",
        )
        for key in checked.unknown
    ]


# ── waivers ─────────────────────────────────────────────────────────────────


def _waiver(
    gate_id: str, entry: Any, today: dt.date
) -> tuple[WaiverValidation, RawWaiver, list[Finding]]:
    checked = _check_entry(
        entry,
        table="waiver",
        name=gate_id,
        fields=WAIVER_FIELDS,
        start_field="created",
        max_days=WAIVER_MAX_DAYS,
        today=today,
    )
    values = checked.values
    problems = list(checked.problems)
    if values["scope"] and "scope" not in checked.missing and values["scope"] not in WAIVER_SCOPES:
        problems.append(f"scope: {values['scope']!r} is not one of: {', '.join(WAIVER_SCOPES)}")
    raw = RawWaiver(gate_id=gate_id, **values)
    days = checked.days_remaining
    owner_bead = f"owner: {values['owner'] or '?'}, bead: {values['bead'] or '?'}"
    subject = f"waiver.{gate_id}"
    findings = _unknown_findings("waiver", gate_id, checked)
    if problems:
        state, detail = WaiverState.INVALID, "; ".join(problems)
        findings.append(
            Finding(Severity.BLOCKING, FindingKind.WAIVER_INVALID, subject, f"invalid: {detail}")
        )
    elif days is not None and days < 0:
        state, detail = WaiverState.EXPIRED, f"Expired {-days} day(s) ago ({owner_bead})"
        message = f"expired {-days} day(s) ago ({owner_bead}); renew it or fix the gate"
        findings.append(Finding(Severity.BLOCKING, FindingKind.WAIVER_EXPIRED, subject, message))
    elif days is not None and days <= WAIVER_WARN_DAYS:
        state = WaiverState.EXPIRING_SOON
        detail = f"Expires in {days} day(s) — action required ({owner_bead})"
        message = f"expires in {days} day(s) ({owner_bead})"
        findings.append(Finding(Severity.WARNING, FindingKind.WAIVER_EXPIRING, subject, message))
    else:
        state, detail = WaiverState.ACTIVE, None
    validation = WaiverValidation(
        gate_id=gate_id,
        status=state,
        detail=detail,
        days_remaining=days,
        missing_fields=checked.missing,
        problems=tuple(problems),
    )
    return validation, raw, findings


def _waiver_audit(
    table: Mapping[str, Any], today: dt.date, generated_at: str
) -> tuple[WaiverAudit, list[Finding]]:
    validations, raws, findings = [], [], []
    for gate_id in sorted(table):
        validation, raw, found = _waiver(gate_id, table[gate_id], today)
        validations.append(validation)
        raws.append(raw)
        findings.extend(found)

    def count(state: WaiverState) -> int:
        return sum(1 for v in validations if v.status is state)

    audit = WaiverAudit(
        generated_at=generated_at,
        total_waivers=len(validations),
        active=count(WaiverState.ACTIVE),
        expired=count(WaiverState.EXPIRED),
        expiring_soon=count(WaiverState.EXPIRING_SOON),
        invalid=count(WaiverState.INVALID),
        waivers=tuple(validations),
        raw_waivers=tuple(raws),
    )
    return audit, findings


# ── quarantine ──────────────────────────────────────────────────────────────


def _quarantine(
    name: str, entry: Any, today: dt.date
) -> tuple[QuarantineEntry, Escalation | None, list[Finding]]:
    checked = _check_entry(
        entry,
        table="quarantine",
        name=name,
        fields=QUARANTINE_FIELDS,
        start_field="quarantined",
        max_days=QUARANTINE_MAX_DAYS,
        today=today,
    )
    values = checked.values
    problems = list(checked.problems)
    category = values["category"]
    if category and "category" not in checked.missing and category not in FLAKE_CATEGORIES:
        problems.append(f"category: {category!r} is not one of: {', '.join(FLAKE_CATEGORIES)}")
    days = checked.days_remaining
    subject = f"quarantine.{name}"
    findings = _unknown_findings("quarantine", name, checked)
    escalation: Escalation | None = None
    owner, bead = values["owner"], values["bead"]
    if problems:
        state = QuarantineState.INVALID
        detail = "; ".join(problems)
        findings.append(
            Finding(
                Severity.BLOCKING, FindingKind.QUARANTINE_INVALID, subject, f"invalid: {detail}"
            )
        )
        escalation = Escalation(name, "critical", f"Complete the entry: {detail}", owner, bead)
    elif days is not None and days < 0:
        state = QuarantineState.EXPIRED
        message = f"expired {-days} day(s) ago (owner: {owner}, bead: {bead}); fix or remove it"
        findings.append(
            Finding(Severity.BLOCKING, FindingKind.QUARANTINE_EXPIRED, subject, message)
        )
        action = "Fix now or remove quarantine entry before merge"
        escalation = Escalation(name, "critical", action, owner, bead)
    elif days is not None and days <= QUARANTINE_WARN_DAYS:
        state = QuarantineState.EXPIRING_SOON
        message = f"expires in {days} day(s) (owner: {owner}, bead: {bead})"
        findings.append(
            Finding(Severity.WARNING, FindingKind.QUARANTINE_EXPIRING, subject, message)
        )
        action = "Prepare fix/extension with updated evidence before expiry"
        escalation = Escalation(name, "warning", action, owner, bead)
    else:
        state = QuarantineState.ACTIVE
    record = QuarantineEntry(
        name=name,
        **values,
        status=state,
        quarantine_span_days=checked.span,
        days_remaining=days,
        missing_fields=checked.missing,
        problems=tuple(problems),
    )
    return record, escalation, findings


def _quarantine_report(
    table: Mapping[str, Any], today: dt.date, generated_at: str
) -> tuple[QuarantineReport, list[Finding]]:
    entries, escalations, findings = [], [], []
    for name in sorted(table):
        entry, escalation, found = _quarantine(name, table[name], today)
        entries.append(entry)
        if escalation is not None:
            escalations.append(escalation)
        findings.extend(found)
    states = [e.status for e in entries]
    categories: dict[str, int] = {}
    for entry in entries:
        if entry.status is not QuarantineState.INVALID:
            categories[entry.category] = categories.get(entry.category, 0) + 1
    report = QuarantineReport(
        generated_at=generated_at,
        today=today.isoformat(),
        active_count=sum(
            1 for s in states if s in (QuarantineState.ACTIVE, QuarantineState.EXPIRING_SOON)
        ),
        expiring_soon_count=states.count(QuarantineState.EXPIRING_SOON),
        expired_count=states.count(QuarantineState.EXPIRED),
        invalid_count=states.count(QuarantineState.INVALID),
        category_counts=dict(sorted(categories.items())),
        entries=tuple(entries),
        escalations=tuple(escalations),
    )
    return report, findings


# ── the whole file ──────────────────────────────────────────────────────────


def _table(document: Mapping[str, Any], key: str, source: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        msg = f"{source}: {key}: expected a table ([{key}.<name>]), got {type(value).__name__}"
        raise InputError(msg)
    return value


def audit_document(
    document: Mapping[str, Any],
    *,
    source: str,
    test_stems: Collection[str] | None,
    today: dt.date,
    generated_at: str,
) -> AuditReport:
    """Audit a parsed classification document (pure: stems and dates are passed in).

    `test_stems` are the stems of the tests directory's `*.rs` files, or None
    to skip the checks that need the directory. `InputError` (naming `source`
    and the key) when `[suite.*]` is malformed; problems in waivers and
    quarantine entries are findings, not errors.
    """
    suites = {}
    for name, table in _table(document, "suite", source).items():
        # One suite at a time, so an error names `suite.<name>.files[i]`.
        if not isinstance(table, dict):
            msg = (
                f"{source}: suite.{name}: expected a table with `files`, got {type(table).__name__}"
            )
            raise InputError(msg)
        suites[name] = structure(table, _SuiteTable, source=source, root=f"suite.{name}").files
    findings = [
        Finding(
            Severity.WARNING,
            FindingKind.UNKNOWN_TABLE,
            str(key),
            f"unknown top-level key {key!r}, ignored (expected suite, waiver, quarantine)",
        )
        for key in sorted(document)
        if key not in KNOWN_TABLES
    ]
    findings.extend(_suite_findings(suites, test_stems))
    waiver_audit, waiver_findings = _waiver_audit(
        _table(document, "waiver", source), today, generated_at
    )
    quarantine_report, quarantine_findings = _quarantine_report(
        _table(document, "quarantine", source), today, generated_at
    )
    return AuditReport(
        source=source,
        today=today.isoformat(),
        suites={name: len(files) for name, files in suites.items()},
        test_files=None if test_stems is None else len(set(test_stems)),
        findings=(*findings, *waiver_findings, *quarantine_findings),
        waiver_audit=waiver_audit,
        quarantine_report=quarantine_report,
    )


def read_classification(path: Path) -> dict[str, Any]:
    """Parse a classification file as TOML; `InputError` names the file and what is wrong."""
    return read_toml(path, what="a suite_classification.toml file")


def stems_in(tests_dir: Path) -> tuple[str, ...]:
    """The stems of the `*.rs` files directly in `tests_dir`, as the upstream guard globbed them."""
    if not tests_dir.is_dir():
        msg = f"{tests_dir}: not a directory (--tests-dir names the directory of *.rs test files)"
        raise InputError(msg)
    return tuple(sorted(p.stem for p in tests_dir.glob("*.rs") if p.is_file()))


def audit_classification(
    path: Path,
    *,
    tests_dir: Path | None,
    today: dt.date,
    generated_at: str | None = None,
) -> AuditReport:
    """Read `path` (and list `tests_dir`) and audit them as of `today`.

    `generated_at` stamps the two upstream documents; by default it is
    `today` at midnight UTC, so the result depends on the arguments only.
    """
    stems = stems_in(tests_dir) if tests_dir is not None else None
    return audit_document(
        read_classification(path),
        source=str(path),
        test_stems=stems,
        today=today,
        generated_at=generated_at or f"{today.isoformat()}T00:00:00Z",
    )
