"""Retries and quarantine scoped to a failure signature: the one pure decision.

A signature is a failure fingerprint (`replay._core.flakes.fingerprint`: the
message with numbers, addresses, durations... replaced by placeholders). A
quarantine entry may list the signatures it covers (`signatures = [...]`), and
a retry policy may say `retry_on = "known-flaky"`. Then a failure is retried,
or spared by its quarantine, only when every failure of the attempt has a
known signature (from the entry or from the ledger's flaky tests): an old
quarantine must not hide a new bug, and a retry must not turn a new bug into
a "flake" (the rule of Go's proposal 62244 for test retries).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import attrs

from replay._model.models import Attempt, Job, RetryOn, RetryPolicy, TestStatus

KNOWN_FLAKY = RetryOn.KNOWN_FLAKY
"""`retry_on` value: retry only failures whose signature is a known flaky one."""

SHOWN_SIGNATURES = 3
"""New signatures named in a refusal; the rest are counted."""


class Verdict(str, enum.Enum):
    """What becomes of a failed attempt."""

    RETRY = "retry"
    """Retry it (a known signature, or retries not scoped to signatures)."""
    SPARE = "spare"
    """Quarantined and every failure known: it does not fail the run."""
    FAIL = "fail"
    """A new signature (or no retry left to give): it counts as a failure, now."""


@attrs.frozen
class Decision:
    """The verdict, and the fingerprints nobody knew (for the message)."""

    verdict: Verdict
    new: tuple[str, ...] = ()


def signature(message: str | None) -> str:
    """The signature of one failure message (`<no message>` when there is none)."""
    # Imported here: the executor imports this module on every run, and the
    # fingerprint rules (taxonomy, regexes) are needed only when signatures are.
    from replay._core.flakes import NO_FINGERPRINT, fingerprint

    return fingerprint(message) if message else NO_FINGERPRINT


def attempt_failure(attempt: Attempt) -> str:
    """The signature of an attempt that failed without a failed test: how it ended.

    The ledger records such a failure under this name too.
    """
    if attempt.timed_out:
        return "timed out"
    if attempt.error:
        return signature(attempt.error)
    if attempt.signal is not None:
        return f"killed by signal {attempt.signal}"
    return signature(f"exit code {attempt.exit_code}")


def unknown_signatures(messages: Iterable[str | None], known: Iterable[str]) -> tuple[str, ...]:
    """The signatures of `messages` that `known` (fingerprinted alike) does not hold, sorted."""
    normal = {signature(k) for k in known}
    return tuple(sorted({signature(m) for m in messages} - normal))


def decide(
    messages: Iterable[str | None],
    *,
    retry_on: RetryOn | str | None,
    retries_left: bool,
    quarantined: bool,
    entry_signatures: Iterable[str] = (),
    ledger_signatures: Iterable[str] = (),
) -> Decision:
    """The fate of a failed attempt whose failures say `messages`.

    - Quarantined with `signatures`: spared only when every failure is known
      (the entry's or the ledger's); a new one fails the run at once.
    - Quarantined without `signatures`: spared, as before signatures existed.
    - `retry_on = "known-flaky"`: retried only when every failure is known;
      a new signature fails at once, without a retry.
    - Otherwise: retried while retries are left.
    """
    entry = tuple(entry_signatures)
    messages = tuple(messages)
    new = unknown_signatures(messages, (*entry, *ledger_signatures))
    if quarantined:
        if entry and new:
            return Decision(Verdict.FAIL, new)
        return Decision(Verdict.SPARE)
    if retry_on == KNOWN_FLAKY and new:
        return Decision(Verdict.FAIL, new)
    return Decision(Verdict.RETRY if retries_left else Verdict.FAIL)


def failure_messages(attempt: Attempt) -> tuple[str | None, ...]:
    """What a failed attempt's failures say: each failed test's message; without one,
    the attempt's own end (timed out, a signal, an exit code), as the ledger records it."""
    failed = tuple(t.message for t in attempt.tests if t.status is TestStatus.FAILED)
    return failed or (attempt_failure(attempt),)


def _shown(new: tuple[str, ...]) -> str:
    named = ", ".join(repr(s[:200]) for s in new[:SHOWN_SIGNATURES])
    more = len(new) - SHOWN_SIGNATURES
    return named + (f" and {more} more" if more > 0 else "")


def scoped(
    job: Job, attempt: Attempt, policy: RetryPolicy, *, retries_left: bool
) -> tuple[Job, str | None]:
    """The executor's question after a failed attempt: stop now, and as which job?

    Returns the job as its outcome records it and why no retry follows, or
    `(job, None)` to go on as before signatures existed. A quarantined job
    failing with a signature its entry does not list comes back unquarantined:
    the failure counts against the run.
    """
    if policy.retry_on != KNOWN_FLAKY and not (job.quarantined and job.signatures):
        return job, None  # signatures play no part: decide() would change nothing
    decision = decide(
        failure_messages(attempt),
        retry_on=policy.retry_on,
        retries_left=retries_left,
        quarantined=job.quarantined,
        entry_signatures=job.signatures,
        ledger_signatures=job.known_signatures,
    )
    if decision.verdict is not Verdict.FAIL or not decision.new:
        return job, None
    shown = _shown(decision.new)
    if job.quarantined:
        why = f"new failure signature {shown}: the quarantine entry does not cover it"
        return attrs.evolve(job, quarantined=False), why
    if not retries_left:
        return job, None
    rule = f'retry_on = "{KNOWN_FLAKY.value}"'
    return job, f"new failure signature {shown}: {rule} retries known ones only"
