"""The summary document: `Summary` plus the upstream (pi) fields its tooling reads.

The pi fields are derived from the targets, so the model does not store them:
`summary_document` adds them on the way out and `DERIVED_KEYS` lists what a
reader drops on the way in. Both documents here (`summary.json`, a target's
`result.json`) leave through the run's redactor: the job envs keep their names
but not their secret values.
"""

from __future__ import annotations

from typing import Any

from replay._core.redact import Redactor, current_redactor
from replay._model.convert import unstructure
from replay._model.models import Summary, TargetResult

DERIVED_KEYS = frozenset(
    {
        "total_suites",
        "passed_suites",
        "failed_suites",
        "failed_names",
        "total_units",
        "passed_units",
        "failed_units",
        "failed_unit_names",
        "replay_bundle",
        "outstanding",
    }
)
"""Keys of a `replay.summary.v1` document that are computed from `targets`."""


def _counts(targets: tuple[TargetResult, ...]) -> tuple[int, int, int, list[str]]:
    failed = [t.name for t in targets if t.outstanding]
    return len(targets), len(targets) - len(failed), len(failed), failed


def pi_fields(summary: Summary) -> dict[str, Any]:
    """The upstream summary fields, computed from the targets.

    Kinds `unit` and `vcr` count as "unit targets", every other kind as a
    "suite", as the upstream script did; a failed name is an outstanding target.
    """
    units = tuple(t for t in summary.targets if t.is_unit)
    suites = tuple(t for t in summary.targets if not t.is_unit)
    total_s, passed_s, failed_s, failed_names = _counts(suites)
    total_u, passed_u, failed_u, failed_unit_names = _counts(units)
    return {
        "total_suites": total_s,
        "passed_suites": passed_s,
        "failed_suites": failed_s,
        "failed_names": failed_names,
        "total_units": total_u,
        "passed_units": passed_u,
        "failed_units": failed_u,
        "failed_unit_names": failed_unit_names,
        "replay_bundle": {"one_command_replay": summary.one_command_replay},
        "outstanding": [t.name for t in summary.outstanding],
    }


def summary_redactor(summary: Summary) -> Redactor:
    """The redactor of `summary`'s job envs and replay's own environment.

    The default of every document builder whose caller does not pass the run's
    redactor: the summary holds the config's and `--env`'s values in its job envs.
    """
    return current_redactor(*(t.env for t in summary.targets))


def summary_document(summary: Summary, redactor: Redactor | None = None) -> dict[str, Any]:
    """The JSON document of `summary`: the model's fields plus the pi fields, redacted."""
    document: dict[str, Any] = {"schema": summary.schema}
    document.update(unstructure(summary))
    document.update(pi_fields(summary))
    redactor = summary_redactor(summary) if redactor is None else redactor
    redacted: dict[str, Any] = redactor.data(document)
    return redacted


def result_document(target: TargetResult, redactor: Redactor | None = None) -> dict[str, Any]:
    """The JSON document of one target's record (`<suite>/result.json`), redacted."""
    redactor = current_redactor(target.env) if redactor is None else redactor
    redacted: dict[str, Any] = redactor.data(unstructure(target))
    return redacted
