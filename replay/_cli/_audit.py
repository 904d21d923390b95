"""`replay audit CLASSIFICATION`: suite classification guard, waiver and quarantine lifecycle."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from replay._cli._options import date_arg
from replay._cli._text import add_subcommand, printable, safe
from replay._inputs.audit import AuditReport, audit_classification
from replay._model.clock import iso, utc_now
from replay._model.convert import unstructure
from replay._model.names import QUARANTINE_REPORT_NAME, WAIVER_AUDIT_NAME
from replay._store.rundir import write_json_atomic


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `audit` subcommand."""
    parser = add_subcommand(
        subparsers,
        "audit",
        handle,
        description=(
            "Check that every test file is in exactly one suite, and the lifecycle of "
            f"[waiver.*] and [quarantine.*] entries. Writes {WAIVER_AUDIT_NAME} and "
            f"{QUARANTINE_REPORT_NAME}; exit 1 on a blocking finding."
        ),
    )
    parser.add_argument(
        "classification", type=Path, metavar="CLASSIFICATION", help="suite_classification.toml"
    )
    parser.add_argument(
        "--tests-dir",
        type=Path,
        help="tests directory to check against (its <stem>.rs and <stem>/main.rs targets)",
    )
    parser.add_argument(
        "--today", type=date_arg, help="audit as of this date (YYYY-MM-DD; default: today, UTC)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path(), help="directory for the two reports (default: .)"
    )
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")


def _table(report: AuditReport) -> list[str]:
    """The findings as aligned rows; subjects and messages quote the file, made safe to print."""
    rows = [("SEVERITY", "KIND", "SUBJECT", "MESSAGE")]
    rows += [
        (f.severity.value, f.kind.value, safe(f.subject), safe(f.message)) for f in report.findings
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[3]])
        for row in rows
    ]


def handle(args: argparse.Namespace) -> int:
    """Audit, write the two upstream reports, print the findings; 1 on a blocking finding."""
    now = utc_now()
    report = audit_classification(
        args.classification,
        tests_dir=args.tests_dir,
        today=args.today or now.date(),
        generated_at=iso(now),
    )
    write_json_atomic(args.out / WAIVER_AUDIT_NAME, report.waiver_audit)
    write_json_atomic(args.out / QUARANTINE_REPORT_NAME, report.quarantine_report)

    if args.json:
        print(orjson.dumps(unstructure(report), option=orjson.OPT_INDENT_2).decode())
    else:
        if report.findings:
            print("\n".join(_table(report)))
        suites = ", ".join(f"{safe(name)} {count}" for name, count in report.suites.items())
        print(
            f"{printable(report.source)}: suites: {suites or 'none'}; "
            f"waivers: {report.waiver_audit.total_waivers}; "
            f"quarantined: {len(report.quarantine_report.entries)}; "
            f"{len(report.blocking)} blocking, {len(report.warnings)} warning(s)"
        )
        waivers, quarantine = args.out / WAIVER_AUDIT_NAME, args.out / QUARANTINE_REPORT_NAME
        print(f"wrote {printable(str(waivers))} and {printable(str(quarantine))}")
    return 1 if report.blocking else 0
