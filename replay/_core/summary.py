"""The summary document: `Summary` plus the upstream (pi) fields its tooling reads.

The pi fields are derived from the targets, so the model does not store them:
`summary_document` adds them on the way out and `DERIVED_KEYS` lists what a
reader drops on the way in.

Each test is stored once: an attempt whose tests are exactly its target's
`tests` (a suite run once, or a whole-suite retry that settled it) writes
`"tests_as_target": true` instead of a second copy (`SHARED_TESTS_KEY`), and
`summary_model` puts them back on the way in. Summaries written before this
hold both copies and read the same. Both documents here (`summary.json`, a target's
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


SHARED_TESTS_KEY = "tests_as_target"
"""An attempt's key in `summary.json` saying its tests are its target's `tests`, stored once."""


def _share_tests(targets: tuple[TargetResult, ...], documents: list[dict[str, Any]]) -> None:
    """Replace each attempt's copy of its target's tests by `SHARED_TESTS_KEY`, in place."""
    for target, document in zip(targets, documents, strict=True):
        if not target.tests:
            continue
        for attempt, attempt_document in zip(target.attempts, document["attempts"], strict=True):
            if attempt.tests == target.tests:
                del attempt_document["tests"]
                attempt_document[SHARED_TESTS_KEY] = True


def summary_model(document: dict[str, Any]) -> dict[str, Any]:
    """The `Summary` fields of a `summary.json` document, each test where the model holds it.

    Drops the derived pi fields and gives every attempt marked `SHARED_TESTS_KEY`
    its target's tests (the same list: structured, they are equal tuples). A
    marker that is not `true`, or an attempt that also lists tests, is left as
    it is for the converter to refuse by its path.
    """
    model = {k: v for k, v in document.items() if k not in DERIVED_KEYS}
    targets = model.get("targets")
    if isinstance(targets, list):
        model["targets"] = [_target_model(t) for t in targets]
    return model


def _target_model(target: Any) -> Any:
    attempts = target.get("attempts") if isinstance(target, dict) else None
    if not isinstance(attempts, list) or not any(_shares(a) for a in attempts):
        return target
    tests = target.get("tests", [])
    return {**target, "attempts": [_attempt_model(a, tests) if _shares(a) else a for a in attempts]}


def _shares(attempt: Any) -> bool:
    return (
        isinstance(attempt, dict)
        and attempt.get(SHARED_TESTS_KEY) is True
        and "tests" not in attempt
    )


def _attempt_model(attempt: dict[str, Any], tests: Any) -> dict[str, Any]:
    model = {k: v for k, v in attempt.items() if k != SHARED_TESTS_KEY}
    model["tests"] = tests
    return model


def summary_redactor(summary: Summary) -> Redactor:
    """The redactor of `summary`'s job envs and replay's own environment.

    The default of every document builder whose caller does not pass the run's
    redactor: the summary holds the config's and `--env`'s values in its job envs.
    """
    return current_redactor(*(t.env for t in summary.targets))


def summary_document(summary: Summary, redactor: Redactor | None = None) -> dict[str, Any]:
    """The JSON document of `summary`: the model's fields plus the pi fields, redacted.

    Each test is written once (see `SHARED_TESTS_KEY`); `summary_model` reads it back.
    """
    document: dict[str, Any] = {"schema": summary.schema}
    document.update(unstructure(summary))
    _share_tests(summary.targets, document["targets"])
    document.update(pi_fields(summary))
    redactor = summary_redactor(summary) if redactor is None else redactor
    redacted: dict[str, Any] = redactor.data(document)
    return redacted


def result_document(target: TargetResult, redactor: Redactor | None = None) -> dict[str, Any]:
    """The JSON document of one target's record (`<suite>/result.json`), redacted."""
    redactor = current_redactor(target.env) if redactor is None else redactor
    redacted: dict[str, Any] = redactor.data(unstructure(target))
    return redacted
