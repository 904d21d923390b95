"""Retries and quarantine scoped to failure signatures: the pure decision and the entry field."""

from __future__ import annotations

from datetime import date

from replay._core.signatures import KNOWN_FLAKY, Verdict, decide, signature
from replay._inputs.quarantine import judge_entry
from replay._model.quarantine import EntryState

KNOWN = "connection reset after 1532ms"
NEW = "KeyError: 'user'"


def test_a_known_signature_is_retried_and_a_new_one_fails_at_once() -> None:
    """`retry_on = "known-flaky"`: a failure matching the ledger's signature (numbers aside)
    is retried; a new signature fails without a retry, naming it."""
    known = [signature("connection reset after 12ms")]
    retried = decide([KNOWN], retry_on=KNOWN_FLAKY, retries_left=True, quarantined=False,
                     ledger_signatures=known)  # fmt: skip
    assert Verdict.RETRY == retried.verdict
    failed = decide([KNOWN, NEW], retry_on=KNOWN_FLAKY, retries_left=True, quarantined=False,
                    ledger_signatures=known)  # fmt: skip
    assert (Verdict.FAIL, (signature(NEW),)) == (failed.verdict, failed.new)


def test_unscoped_retries_are_as_before() -> None:
    """Without `retry_on`, any failure is retried while retries are left."""
    assert (
        Verdict.RETRY == decide([NEW], retry_on=None, retries_left=True, quarantined=False).verdict
    )
    assert (
        Verdict.FAIL == decide([NEW], retry_on=None, retries_left=False, quarantined=False).verdict
    )


def test_a_quarantine_spares_only_the_signatures_it_names() -> None:
    """An entry with `signatures` spares a known failure and not a new one; an entry without
    them spares any failure (as before)."""
    entry = [signature(KNOWN)]
    spared = decide([KNOWN], retry_on=None, retries_left=False, quarantined=True,
                    entry_signatures=entry)  # fmt: skip
    assert Verdict.SPARE == spared.verdict
    new = decide([NEW], retry_on=None, retries_left=True, quarantined=True, entry_signatures=entry)
    assert Verdict.FAIL == new.verdict
    old = decide([NEW], retry_on=None, retries_left=True, quarantined=True)
    assert Verdict.SPARE == old.verdict


ENTRY = {
    "category": "FLAKE-TIMING",
    "owner": "me",
    "quarantined": "2026-01-01",
    "expires": "2026-01-10",
    "bead": "B-1",
    "evidence": "flake_report.json",
    "repro": "replay flake t",
    "reason": "slow socket",
    "remove_when": "stable",
}


def test_quarantine_entries_carry_signatures_and_refuse_a_bad_list() -> None:
    """`signatures` is a known field: kept on the entry; a non-list is a problem naming it."""
    today = date(2026, 1, 2)
    good = judge_entry("t", {**ENTRY, "signatures": [signature(KNOWN)]}, today=today)
    assert (EntryState.ACTIVE, (signature(KNOWN),), ()) == (
        good.state,
        good.signatures,
        good.warnings,
    )
    bad = judge_entry("t", {**ENTRY, "signatures": "oops"}, today=today)
    assert EntryState.INVALID == bad.state
    assert any(p.startswith("signatures:") for p in bad.problems)
