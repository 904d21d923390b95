"""Failure digests: why a suite failed, which tests, where, and how to replay it.

Pure: a failed target and the bounded lines of its log (read by
`replay._inputs.logscan.scan_log`) in, `failure_digest.json` and the
diagnostics index out. The root cause is decided by `replay._core.rootcause`;
the digest records which lines decided and at which tier, the first failing
assertion and the commands that replay the failure.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

import attrs

from replay._adapters._output import ANSI, LEFT_RIGHT, MESSAGE_END, PANIC_HEADER
from replay._core.rootcause import (
    MESSAGE_LINES,
    EvidenceScope,
    classify_root_cause,
    cut,
)
from replay._model.models import TargetResult, TargetStatus, TestResult, TestStatus

FAILURE_DIGEST_SCHEMA = "pi.e2e.failure_digest.v1"

MAX_MESSAGE_CHARS = 2000
"""The first failing assertion's message is cut here (a `left:` can be a whole document)."""


@attrs.frozen
class Evidence:
    """The lines that decided `root_cause_class`, and where they were found."""

    scope: EvidenceScope
    lines: tuple[str, ...] = ()


@attrs.frozen
class Location:
    """Upstream's `first_failing_assertion.location`."""

    file: str
    line: int | None = None
    column: int | None = None


@attrs.frozen(kw_only=True)
class Assertion:
    """The first failing assertion: which test, where, and what it said.

    `file`, `line` and `column` are repeated in `location`, the nesting upstream
    wrote, so readers of either shape find them.
    """

    test: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    message: str = ""
    location: Location | None = None


@attrs.frozen(kw_only=True)
class RemediationPointer:
    """How to reproduce the failure: the whole run's replay, the suite, the failed tests."""

    summary: str
    replay_command: str
    suite_replay_command: str
    targeted_test_replay_command: str | None = None


@attrs.frozen(kw_only=True)
class FailureDigest:
    """`<suite>/failure_digest.json`: a superset of upstream's `pi.e2e.failure_digest.v1`."""

    schema: str = FAILURE_DIGEST_SCHEMA
    generated_at: str
    correlation_id: str | None = None
    suite: str
    status: str
    exit_code: int | None = None
    """None when the process was killed by a signal or never started."""
    signal: int | None = None
    root_cause_class: str
    root_cause_evidence: Evidence
    impacted_scenario_ids: tuple[str, ...] = ()
    """The tests that failed in the latest attempt that ran them (never ignored ones)."""
    first_failing_assertion: Assertion | None = None
    remediation_pointer: RemediationPointer
    log_file: str | None = None
    """Relative to the run directory."""


_REMEDIATION = {
    "timeout": "Find the step that stalled (the last lines before the kill) and check the "
    "suite's timeout.",
    "vcr_mismatch": "Re-record or refresh the cassette, and check that the request (prompt "
    "context, cwd, timestamps) is stable enough for playback matching.",
    "assertion_failure": "Inspect the first failing assertion's preconditions and fixture state.",
    "permission_denied": "Check file modes, ACLs and sandbox limits on the failing path.",
    "network_io": "Check the endpoint or mock the test talks to, and its retry handling.",
    "lint_failure": "Run the linter on the target and fix the first error it reports.",
    "build_failure": "Fix the first compile or import error; none of the code's tests ran.",
    "missing_file": "Check that fixtures are created and paths are wired before the test runs.",
    "panic": "Inspect the panic location and the assumption it guards.",
    "unknown": "Read the log around the first failing test; no known pattern matched.",
}


def impacted_tests(tests: Sequence[TestResult]) -> tuple[str, ...]:
    """Tests whose latest result failed, in the order they first appear."""
    latest: dict[str, TestResult] = {}
    for result in tests:
        held = latest.get(result.name)
        if held is None or result.attempt >= held.attempt:
            latest[result.name] = result
    return tuple(name for name, result in latest.items() if result.status is TestStatus.FAILED)


def _panic_assertion(lines: Sequence[str], test: str | None) -> Assertion | None:
    """The assertion under the first panic header of `test` (of any thread if None)."""
    for index, line in enumerate(lines):
        match = PANIC_HEADER.match(ANSI.sub("", line))
        if match is None or (test is not None and match.group("name") != test):
            continue
        message = match.group("inline")
        if message is None:
            body: list[str] = []
            for follow in lines[index + 1 : index + 1 + MESSAGE_LINES]:
                clean = ANSI.sub("", follow).rstrip()
                if MESSAGE_END.match(clean) or (body and not LEFT_RIGHT.match(clean)):
                    break
                body.append(clean)
            message = "\n".join(body)
        file, number, column = (
            match.group("file"),
            int(match.group("line")),
            int(match.group("column")),
        )
        return Assertion(
            test=test or match.group("name"),
            file=file,
            line=number,
            column=column,
            message=cut(message, MAX_MESSAGE_CHARS),
            location=Location(file=file, line=number, column=column),
        )
    return None


def first_failing_assertion(
    failure_lines: Sequence[str], tests: Sequence[TestResult]
) -> Assertion | None:
    """The first failed test's panic (file, line, column, message), else its adapter record."""
    impacted = impacted_tests(tests)
    if not impacted:
        return _panic_assertion(failure_lines, None)
    name = impacted[0]
    found = _panic_assertion(failure_lines, name)
    result = next(r for r in reversed(tests) if r.name == name and r.status is TestStatus.FAILED)
    if found is not None:
        # The log says where relative to the suite's directory; the adapter's record, as the
        # run stored it, relative to the repository root: that is where an annotation lands.
        same = result.file and found.file and result.line == found.line
        if same and result.file and result.file.endswith((found.file or "").removeprefix("./")):
            where = Location(file=result.file, line=found.line, column=found.column)
            found = attrs.evolve(found, file=result.file, location=where)
        return found
    location = Location(file=result.file, line=result.line) if result.file else None
    return Assertion(
        test=name,
        file=result.file,
        line=result.line,
        message=cut(result.message or "", MAX_MESSAGE_CHARS),
        location=location,
    )


def build_digest(
    target: TargetResult,
    *,
    failure_lines: Sequence[str],
    log_lines: Sequence[str],
    replay_command: str,
    targeted_command: str | None,
    generated_at: str,
    correlation_id: str | None = None,
) -> FailureDigest:
    """The failure digest of one failed target.

    `failure_lines` and `log_lines` come from `scan_log`; the commands are built
    by the caller with `shlex.join` (the targeted one by the target's adapter).
    """
    impacted = impacted_tests(target.tests)
    timed_out = target.status is TargetStatus.TIMED_OUT or any(
        a.timed_out for a in target.attempts[-1:]
    )
    # A set: a tuple's `in` made this quadratic (60,000 failed tests took 20 s).
    failing = frozenset(impacted)
    failed = [r for r in target.tests if r.status is TestStatus.FAILED and r.name in failing]
    root = classify_root_cause(
        failure_lines,
        log_lines,
        timed_out=timed_out,
        messages=[r.message for r in failed if r.message],
        test_names=[r.name for r in target.tests],
    )
    return FailureDigest(
        generated_at=generated_at,
        correlation_id=correlation_id,
        suite=target.name,
        status=target.status.value,
        exit_code=target.exit_code,
        signal=target.signal,
        root_cause_class=root.cls,
        root_cause_evidence=Evidence(scope=root.scope, lines=root.decided_by),
        impacted_scenario_ids=impacted,
        first_failing_assertion=first_failing_assertion(failure_lines, target.tests),
        remediation_pointer=RemediationPointer(
            summary=_REMEDIATION[root.cls],
            replay_command=replay_command,
            suite_replay_command=shlex.join(target.argv),
            targeted_test_replay_command=targeted_command,
        ),
        log_file=target.log,
    )
