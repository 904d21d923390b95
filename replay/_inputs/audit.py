"""Audits of an upstream `suite_classification.toml`: suites, waivers, quarantine.

Three checks the upstream CI ran separately, each with a gap this module closes:

- the *suite classification guard* grepped for `"stem"` anywhere in the file,
  so a stem listed twice, or a suite naming a deleted file, passed;
- the *waiver lifecycle* gate counted only complete waivers, so a waiver with
  a missing field made the gate pass (`total_waivers` was 0);
- the *quarantine expiry guard* found sections with the regex
  `^\\[quarantine\\.(\\w+)\\]`, so stems with `-` or `.` were never read.

The file is read by its one reader and every entry judged by the one judge
(`_quarantine`), so an entry a run calls invalid the audit calls invalid too;
the tests directory is listed as discovery lists it (`<stem>.rs` and
`<stem>/main.rs`), so a suite discovery runs is never missing here.
`audit_document` is pure (the tests-dir stems and the date are passed in);
`audit_classification` reads the files. The two upstream artifacts,
`waiver_audit.json` and `quarantine_report.json`, are produced
field-compatible with upstream plus `missing_fields`/`problems`; the
quarantine report spells `expiring-soon` as upstream does.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from replay._inputs.discover import cargo_test_stems
from replay._inputs.quarantine import (
    MAX_DAYS,
    Classification,
    Judged,
    judge_quarantine,
    judge_waiver,
    parse_classification,
    read_classification,
)
from replay._model.convert import register_enum
from replay._model.errors import InputError
from replay._model.quarantine import QUARANTINE_POLICY, EntryState

WAIVER_AUDIT_SCHEMA = "pi.ci.waiver_audit.v1"
QUARANTINE_REPORT_SCHEMA = "pi.test.quarantine_report.v2"
"""The tag upstream's quarantine guard writes; its evidence bundle matches the prefix."""

QUARANTINE_POLICY_VERSION = "2026-02-10"
"""The upstream policy version whose rules this audit applies."""

QuarantineStatus = Literal["active", "expiring-soon", "expired", "invalid"]
"""An entry's state as upstream's quarantine report spells it (with a dash)."""

QUARANTINE_STATUS: Mapping[EntryState, QuarantineStatus] = {
    EntryState.ACTIVE: "active",
    EntryState.EXPIRING_SOON: "expiring-soon",
    EntryState.EXPIRED: "expired",
    EntryState.INVALID: "invalid",
}
"""The one place the audit respells a state: when it writes `quarantine_report.json`."""


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
    status: EntryState
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
    """The retry policy for quarantined tests, in upstream's words (`QUARANTINE_POLICY`'s)."""

    max_auto_retries: int = QUARANTINE_POLICY.retry.retries
    retry_delay_seconds: int = round(QUARANTINE_POLICY.retry.delay)
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
    status: QuarantineStatus
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
    max_quarantine_days: int = MAX_DAYS
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
                f"test target {stem!r} is in no suite; "
                "add it to [suite.unit], [suite.vcr] or [suite.e2e]"
            )
            findings.append(Finding(Severity.BLOCKING, FindingKind.UNCLASSIFIED, stem, message))
        for stem in sorted(homes.keys() - present):
            tables = ", ".join(f"[suite.{s}]" for s in homes[stem])
            message = (
                f"{tables} lists {stem!r} but the tests directory has neither {stem}.rs "
                f"nor {stem}/main.rs"
            )
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


def _unknown_findings(table: str, judged: Judged) -> list[Finding]:
    return [
        Finding(
            Severity.WARNING,
            FindingKind.UNKNOWN_FIELD,
            f"{table}.{judged.name}",
            f"[{table}.{judged.name}] has unknown field {key!r}, ignored",
        )
        for key in judged.unknown
    ]


# ── waivers ─────────────────────────────────────────────────────────────────


def _waiver(
    gate_id: str, entry: Any, today: dt.date
) -> tuple[WaiverValidation, RawWaiver, list[Finding]]:
    judged = judge_waiver(gate_id, entry, today=today)
    values = judged.values
    raw = RawWaiver(gate_id=gate_id, **values)
    days = judged.days_left
    owner_bead = f"owner: {values['owner'] or '?'}, bead: {values['bead'] or '?'}"
    subject = f"waiver.{gate_id}"
    findings = _unknown_findings("waiver", judged)
    detail: str | None = None
    if judged.state is EntryState.INVALID:
        detail = "; ".join(judged.problems)
        findings.append(
            Finding(Severity.BLOCKING, FindingKind.WAIVER_INVALID, subject, f"invalid: {detail}")
        )
    elif judged.state is EntryState.EXPIRED and days is not None:
        detail = f"Expired {-days} day(s) ago ({owner_bead})"
        message = f"expired {-days} day(s) ago ({owner_bead}); renew it or fix the gate"
        findings.append(Finding(Severity.BLOCKING, FindingKind.WAIVER_EXPIRED, subject, message))
    elif judged.state is EntryState.EXPIRING_SOON:
        detail = f"Expires in {days} day(s) — action required ({owner_bead})"
        message = f"expires in {days} day(s) ({owner_bead})"
        findings.append(Finding(Severity.WARNING, FindingKind.WAIVER_EXPIRING, subject, message))
    validation = WaiverValidation(
        gate_id=gate_id,
        status=judged.state,
        detail=detail,
        days_remaining=days,
        missing_fields=judged.missing,
        problems=judged.problems,
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

    def count(state: EntryState) -> int:
        return sum(1 for v in validations if v.status is state)

    audit = WaiverAudit(
        generated_at=generated_at,
        total_waivers=len(validations),
        active=count(EntryState.ACTIVE),
        expired=count(EntryState.EXPIRED),
        expiring_soon=count(EntryState.EXPIRING_SOON),
        invalid=count(EntryState.INVALID),
        waivers=tuple(validations),
        raw_waivers=tuple(raws),
    )
    return audit, findings


# ── quarantine ──────────────────────────────────────────────────────────────


def _quarantine(
    name: str, entry: Any, today: dt.date
) -> tuple[Judged, QuarantineEntry, Escalation | None, list[Finding]]:
    judged = judge_quarantine(name, entry, today=today)
    values = judged.values
    days = judged.days_left
    subject = f"quarantine.{name}"
    findings = _unknown_findings("quarantine", judged)
    escalation: Escalation | None = None
    owner, bead = values["owner"], values["bead"]
    if judged.state is EntryState.INVALID:
        detail = "; ".join(judged.problems)
        findings.append(
            Finding(
                Severity.BLOCKING, FindingKind.QUARANTINE_INVALID, subject, f"invalid: {detail}"
            )
        )
        escalation = Escalation(name, "critical", f"Complete the entry: {detail}", owner, bead)
    elif judged.state is EntryState.EXPIRED and days is not None:
        message = f"expired {-days} day(s) ago (owner: {owner}, bead: {bead}); fix or remove it"
        findings.append(
            Finding(Severity.BLOCKING, FindingKind.QUARANTINE_EXPIRED, subject, message)
        )
        action = "Fix now or remove quarantine entry before merge"
        escalation = Escalation(name, "critical", action, owner, bead)
    elif judged.state is EntryState.EXPIRING_SOON:
        message = f"expires in {days} day(s) (owner: {owner}, bead: {bead})"
        findings.append(
            Finding(Severity.WARNING, FindingKind.QUARANTINE_EXPIRING, subject, message)
        )
        action = "Prepare fix/extension with updated evidence before expiry"
        escalation = Escalation(name, "warning", action, owner, bead)
    record = QuarantineEntry(
        name=name,
        **values,
        status=QUARANTINE_STATUS[judged.state],
        quarantine_span_days=judged.span_days,
        days_remaining=days,
        missing_fields=judged.missing,
        problems=judged.problems,
    )
    return judged, record, escalation, findings


def _quarantine_report(
    table: Mapping[str, Any], today: dt.date, generated_at: str
) -> tuple[QuarantineReport, list[Finding]]:
    entries, escalations, findings, states = [], [], [], []
    for name in sorted(table):
        judged, entry, escalation, found = _quarantine(name, table[name], today)
        states.append(judged.state)
        entries.append(entry)
        if escalation is not None:
            escalations.append(escalation)
        findings.extend(found)
    categories: dict[str, int] = {}
    for state, entry in zip(states, entries, strict=True):
        if state is not EntryState.INVALID:
            categories[entry.category] = categories.get(entry.category, 0) + 1
    report = QuarantineReport(
        generated_at=generated_at,
        today=today.isoformat(),
        active_count=sum(1 for s in states if s in (EntryState.ACTIVE, EntryState.EXPIRING_SOON)),
        expiring_soon_count=states.count(EntryState.EXPIRING_SOON),
        expired_count=states.count(EntryState.EXPIRED),
        invalid_count=states.count(EntryState.INVALID),
        category_counts=dict(sorted(categories.items())),
        entries=tuple(entries),
        escalations=tuple(escalations),
    )
    return report, findings


# ── the whole file ──────────────────────────────────────────────────────────


def audit(
    classification: Classification,
    *,
    test_stems: Collection[str] | None,
    today: dt.date,
    generated_at: str,
) -> AuditReport:
    """Audit a classification as read by its one reader (pure: stems and dates are passed in).

    `test_stems` are the tests directory's test targets (`cargo_test_stems`), or
    None to skip the checks that need the directory. Problems in waivers and
    quarantine entries are findings, not errors.
    """
    findings = [
        Finding(
            Severity.WARNING,
            FindingKind.UNKNOWN_TABLE,
            key,
            f"unknown top-level key {key!r}, ignored (expected suite, waiver, quarantine)",
        )
        for key in classification.unknown_tables
    ]
    findings.extend(_suite_findings(classification.suites, test_stems))
    waiver_audit, waiver_findings = _waiver_audit(classification.waivers, today, generated_at)
    quarantine_report, quarantine_findings = _quarantine_report(
        classification.quarantine, today, generated_at
    )
    return AuditReport(
        source=classification.source,
        today=today.isoformat(),
        suites={name: len(files) for name, files in classification.suites.items()},
        test_files=None if test_stems is None else len(set(test_stems)),
        findings=(*findings, *waiver_findings, *quarantine_findings),
        waiver_audit=waiver_audit,
        quarantine_report=quarantine_report,
    )


def audit_document(
    document: Mapping[str, Any],
    *,
    source: str,
    test_stems: Collection[str] | None,
    today: dt.date,
    generated_at: str,
) -> AuditReport:
    """`audit` of a parsed TOML document; `InputError` (naming `source` and the key) when
    `[suite.*]` is malformed or a top-level table is not a table."""
    return audit(
        parse_classification(document, source=source),
        test_stems=test_stems,
        today=today,
        generated_at=generated_at,
    )


def stems_in(tests_dir: Path) -> tuple[str, ...]:
    """The test targets in `tests_dir`, listed as discovery lists them (`cargo_test_stems`)."""
    if not tests_dir.is_dir():
        msg = f"{tests_dir}: not a directory (--tests-dir names the directory of *.rs test files)"
        raise InputError(msg)
    return cargo_test_stems(tests_dir)


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
    return audit(
        read_classification(path),
        test_stems=stems,
        today=today,
        generated_at=generated_at or f"{today.isoformat()}T00:00:00Z",
    )
