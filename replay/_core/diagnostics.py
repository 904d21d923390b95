"""`failure_diagnostics_index.json`: the run's failure digests, one entry each, and counts.

Apart from the digests themselves so that a green run, which writes an empty
index, imports none of the log-classification rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from replay._model.convert import unstructure

if TYPE_CHECKING:
    from replay._core.digest import Assertion, FailureDigest

DIAGNOSTICS_INDEX_SCHEMA = "pi.e2e.failure_diagnostics_index.v1"

ROOT_CAUSE_CLASSES = (
    "timeout",
    "vcr_mismatch",
    "assertion_failure",
    "permission_denied",
    "network_io",
    "lint_failure",
    "build_failure",
    "missing_file",
    "panic",
    "unknown",
)
"""Upstream's classes, in its order, and `build_failure` (replay's): the first match wins."""


def _assertion_summary(assertion: Assertion | None) -> str | None:
    if assertion is None:
        return None
    where = ":".join(str(p) for p in (assertion.file, assertion.line, assertion.column) if p)
    first_line = assertion.message.splitlines()[0] if assertion.message else ""
    head = f"{assertion.test} at {where}" if where else assertion.test
    return f"{head}: {first_line}" if first_line else head


def diagnostics_index(
    digests: Sequence[tuple[str, FailureDigest]], generated_at: str
) -> dict[str, Any]:
    """`failure_diagnostics_index.json`: one entry per `(digest path, digest)`, and counts.

    Entries keep upstream's fields (`suite`, `digest_path`, `root_cause_class`,
    `impacted_scenario_ids`, `first_failing_assertion`) and add a count and a
    one-line summary of the assertion.
    """
    counts = dict.fromkeys(ROOT_CAUSE_CLASSES, 0)
    entries = []
    for path, digest in digests:
        counts[digest.root_cause_class] = counts.get(digest.root_cause_class, 0) + 1
        entries.append(
            {
                "suite": digest.suite,
                "digest_path": path,
                "root_cause_class": digest.root_cause_class,
                "impacted_scenario_ids": list(digest.impacted_scenario_ids),
                "impacted_count": len(digest.impacted_scenario_ids),
                "first_failing_assertion": unstructure(digest.first_failing_assertion),
                "first_failing_assertion_summary": _assertion_summary(
                    digest.first_failing_assertion
                ),
            }
        )
    return {
        "schema": DIAGNOSTICS_INDEX_SCHEMA,
        "generated_at": generated_at,
        "failed_suite_count": len(entries),
        "counts_by_class": counts,
        "suites": entries,
    }
