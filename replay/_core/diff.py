"""Triage diff: what changed between a baseline summary and the current one, ranked.

The classes, status rules, priorities and ranking are upstream's
(`pi.e2e.triage_diff.v1`, DESIGN.md "Compatibility facts"), applied to targets
(surfaces `unit` and `suite`, as upstream split them by kind) and, where both
runs saw per-test results, to single tests (surface `test`, named
`suite::test`). Pure: both summaries in, one `TriageDiff` out.

Choices upstream did not have to make, written down here:

- A test-level comparison happens only when each side either lacks the target
  altogether or recorded per-test results for it. A target without per-test
  results (an upstream summary, the generic adapter, a crash before any test
  ran) says nothing about which tests exist, so its tests are not "removed".
- A test's outcome is its last attempt; a skipped test counts as passing.
- Counts and status take every surface into account: a test that regressed
  inside an already failing suite makes the status `regression`. As upstream,
  `regression_count` counts regressions and `new_failure_count` new failures.
- `ranked_diagnostics` holds every target, but of the tests only those that
  are not `stable_pass`: 100,000 unchanged passing tests are a count, not a list.
"""

from __future__ import annotations

import enum
import shlex
from collections import Counter
from collections.abc import Iterable

import attrs

from replay._adapters import Adapter, get_adapter
from replay._core.chain import REPLAY, replay_command
from replay._model.errors import ReplayError
from replay._model.models import (
    Summary,
    TargetResult,
    TestResult,
    TestStatus,
    TriageStatus,
)

TRIAGE_DIFF_SCHEMA = "pi.e2e.triage_diff.v1"
"""Upstream's schema tag; replay writes a superset of its fields."""


class TriageClass(str, enum.Enum):
    """What happened to one target or test between baseline and current."""

    REGRESSION = "regression"
    NEW_FAILURE = "new_failure"
    UNRESOLVED_FAILURE = "unresolved_failure"
    FIXED = "fixed"
    REMOVED = "removed"
    ADDED_PASS = "added_pass"  # noqa: S105 - a class name, not a password
    STABLE_PASS = "stable_pass"  # noqa: S105 - a class name, not a password

    @property
    def priority(self) -> int:
        """Upstream's priority score: higher ranks first."""
        return PRIORITY[self]

    @property
    def failing(self) -> bool:
        """Whether the current run fails it (a "problem target" upstream)."""
        return self in _FAILING


PRIORITY = {
    TriageClass.REGRESSION: 100,
    TriageClass.NEW_FAILURE: 90,
    TriageClass.UNRESOLVED_FAILURE: 70,
    TriageClass.FIXED: 40,
    TriageClass.REMOVED: 30,
    TriageClass.ADDED_PASS: 20,
    TriageClass.STABLE_PASS: 10,
}

_FAILING = frozenset(
    {TriageClass.REGRESSION, TriageClass.NEW_FAILURE, TriageClass.UNRESOLVED_FAILURE}
)


class Surface(str, enum.Enum):
    """Where a diagnostic sits; ranking sorts on the value, so `suite` < `test` < `unit`."""

    SUITE = "suite"
    TEST = "test"
    UNIT = "unit"


class DiffStatus(str, enum.Enum):
    """The verdict of a triage diff."""

    REGRESSION = "regression"
    KNOWN_FAILURES_ONLY = "known_failures_only"
    STABLE = "stable"


@attrs.frozen
class ClassCounts:
    """How many targets (or tests) fell in each class."""

    regression: int = 0
    new_failure: int = 0
    unresolved_failure: int = 0
    fixed: int = 0
    removed: int = 0
    added_pass: int = 0
    stable_pass: int = 0


@attrs.frozen
class SectionCounts:
    """One surface's totals on each side and its class counts."""

    baseline_total: int
    current_total: int
    counts: ClassCounts


@attrs.frozen
class TriageSummary:
    """Upstream's `summary` block, summed over all surfaces, plus the split per surface."""

    regression_count: int
    new_failure_count: int
    unresolved_failure_count: int
    fixed_count: int
    removed_count: int
    added_pass_count: int
    stable_pass_count: int
    unit_regression_count: int
    suite_regression_count: int
    test_regression_count: int


@attrs.frozen
class Focus:
    """The names that fail in the current run (regression, new or unresolved), per surface."""

    unit_targets: tuple[str, ...] = ()
    suites: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()


@attrs.frozen
class RankedDiagnostic:
    """One ranked change, with the command that reproduces it."""

    rank: int
    surface: Surface
    name: str
    """The target name, or `suite::test` for a test."""
    severity: TriageClass
    priority_score: int
    suite: str
    test: str | None
    kind: str
    baseline_status: str | None
    current_status: str | None
    baseline_exit_code: int | None
    current_exit_code: int | None
    baseline_log_file: str | None
    current_log_file: str | None
    root_cause: str | None
    recommended_command: str
    """`shlex.join(argv)`: shown to humans, never run through a shell by replay."""
    argv: tuple[str, ...]


@attrs.frozen
class RecommendedCommands:
    """What to run next: one command for all problems, then one per problem in rank order."""

    runner_repro_command: str
    """Reruns every target that fails now; "" when nothing fails (as upstream)."""
    ranked_repro_commands: tuple[str, ...]
    target_commands: dict[str, str]
    """`{surface}:{name}` of each failing target or test to its command."""


@attrs.frozen
class FailingAssertion:
    """The first failing test of a target and where it failed."""

    test: str
    message: str | None = None
    file: str | None = None
    line: int | None = None


@attrs.frozen
class SemanticDiff:
    """For a target failing in both runs: is it failing the same way?

    Each `*_changed` is None when one side lacks the data to tell (no root
    cause recorded, no per-test results).
    """

    surface: Surface
    name: str
    changed: bool
    root_cause_changed: bool | None
    baseline_root_cause: str | None
    current_root_cause: str | None
    impacted_tests_changed: bool | None
    baseline_impacted_tests: tuple[str, ...]
    current_impacted_tests: tuple[str, ...]
    first_failing_assertion_changed: bool | None
    baseline_first_failing_assertion: FailingAssertion | None
    current_first_failing_assertion: FailingAssertion | None


@attrs.frozen(kw_only=True)
class TriageDiff:
    """`triage_diff.json`: upstream's document plus test-level and semantic diffs."""

    schema: str = TRIAGE_DIFF_SCHEMA
    generated_at: str
    status: DiffStatus
    baseline_summary_path: str
    current_summary_path: str
    baseline_run_id: str
    current_run_id: str
    summary: TriageSummary
    unit_targets: SectionCounts
    suites: SectionCounts
    tests: SectionCounts
    focus: Focus
    ranked_diagnostics: tuple[RankedDiagnostic, ...]
    recommended_commands: RecommendedCommands
    semantic_diffs: tuple[SemanticDiff, ...]


def triage_class(baseline_ok: bool | None, current_ok: bool | None) -> TriageClass:
    """Upstream's class of one name: None means absent on that side."""
    if baseline_ok is None:
        if current_ok is None:
            msg = "a name absent on both sides has no class"
            raise ValueError(msg)
        return TriageClass.ADDED_PASS if current_ok else TriageClass.NEW_FAILURE
    if current_ok is None:
        return TriageClass.REMOVED
    if baseline_ok:
        return TriageClass.STABLE_PASS if current_ok else TriageClass.REGRESSION
    return TriageClass.FIXED if current_ok else TriageClass.UNRESOLVED_FAILURE


def diff_status(counts: Iterable[TriageClass]) -> DiffStatus:
    """Upstream's status rule over every class seen."""
    seen = set(counts)
    if TriageClass.REGRESSION in seen or TriageClass.NEW_FAILURE in seen:
        return DiffStatus.REGRESSION
    if TriageClass.UNRESOLVED_FAILURE in seen:
        return DiffStatus.KNOWN_FAILURES_ONLY
    return DiffStatus.STABLE


def _index(summary: Summary) -> dict[str, TargetResult]:
    # A name twice in one summary (a hand-merged file): the failing record speaks for it.
    index: dict[str, TargetResult] = {}
    for target in summary.targets:
        held = index.get(target.name)
        if held is None or (held.status.ok and not target.status.ok):
            index[target.name] = target
    return index


def final_tests(target: TargetResult) -> dict[str, TestResult]:
    """Each test of `target` at its last attempt, in the order the tests first appeared."""
    final: dict[str, TestResult] = {}
    for result in target.tests:
        held = final.get(result.name)
        if held is None or result.attempt >= held.attempt:
            final[result.name] = result
    return final


def _surface(target: TargetResult) -> Surface:
    return Surface.UNIT if target.is_unit else Surface.SUITE


class _Commands:
    """Targeted test commands, with each adapter looked up once."""

    def __init__(self) -> None:
        self._adapters: dict[str, Adapter | None] = {}

    def test(self, target: TargetResult, test: str) -> tuple[str, ...]:
        """The adapter's command for exactly `test`, else the whole suite's command."""
        if target.adapter not in self._adapters:
            try:
                self._adapters[target.adapter] = get_adapter(target.adapter)
            except ReplayError:
                # An adapter this replay does not know (a newer summary): the suite command.
                self._adapters[target.adapter] = None
        adapter = self._adapters[target.adapter]
        targeted = None if adapter is None else adapter.targeted(target.argv, (test,))
        return target.argv if targeted is None else tuple(targeted)


@attrs.frozen
class PendingDiagnostic:
    """A diagnostic before ranking: what `classify` found for one target or test."""

    severity: TriageClass
    surface: Surface
    name: str
    suite: str
    test: str | None
    either: TargetResult
    baseline: TargetResult | None
    current: TargetResult | None
    baseline_status: str | None
    current_status: str | None
    argv: tuple[str, ...]

    def ranked(self, rank: int) -> RankedDiagnostic:
        """This diagnostic at `rank`."""
        either = self.either
        return RankedDiagnostic(
            rank=rank,
            surface=self.surface,
            name=self.name,
            severity=self.severity,
            priority_score=self.severity.priority,
            suite=self.suite,
            test=self.test,
            kind=either.kind,
            baseline_status=self.baseline_status,
            current_status=self.current_status,
            baseline_exit_code=None if self.baseline is None else self.baseline.exit_code,
            current_exit_code=None if self.current is None else self.current.exit_code,
            baseline_log_file=None if self.baseline is None else self.baseline.log,
            current_log_file=None if self.current is None else self.current.log,
            root_cause=either.root_cause if self.test is None else None,
            recommended_command=shlex.join(self.argv),
            argv=self.argv,
        )


def _first_failing(final: dict[str, TestResult]) -> FailingAssertion | None:
    for name, result in final.items():
        if result.status is TestStatus.FAILED:
            return FailingAssertion(
                test=name, message=result.message, file=result.file, line=result.line
            )
    return None


def _changed(baseline: object, current: object, known: bool) -> bool | None:
    return (baseline != current) if known else None


def semantic_diff(
    baseline: TargetResult,
    current: TargetResult,
    baseline_tests: dict[str, TestResult],
    current_tests: dict[str, TestResult],
) -> SemanticDiff:
    """How a target failing in both runs changed: root cause, failed tests, first assertion."""
    have_tests = bool(baseline.tests) and bool(current.tests)
    base_failed = tuple(
        sorted(n for n, r in baseline_tests.items() if r.status is TestStatus.FAILED)
    )
    cur_failed = tuple(sorted(n for n, r in current_tests.items() if r.status is TestStatus.FAILED))
    base_first = _first_failing(baseline_tests)
    cur_first = _first_failing(current_tests)
    root_known = baseline.root_cause is not None and current.root_cause is not None
    root_changed = _changed(baseline.root_cause, current.root_cause, root_known)
    tests_changed = _changed(base_failed, cur_failed, have_tests)
    first_changed = _changed(base_first, cur_first, have_tests)
    return SemanticDiff(
        surface=_surface(current),
        name=current.name,
        changed=bool(root_changed or tests_changed or first_changed),
        root_cause_changed=root_changed,
        baseline_root_cause=baseline.root_cause,
        current_root_cause=current.root_cause,
        impacted_tests_changed=tests_changed,
        baseline_impacted_tests=base_failed,
        current_impacted_tests=cur_failed,
        first_failing_assertion_changed=first_changed,
        baseline_first_failing_assertion=base_first,
        current_first_failing_assertion=cur_first,
    )


def _section(totals: list[int], counter: Counter[TriageClass]) -> SectionCounts:
    baseline_total, current_total = totals
    counts = ClassCounts(**{c.value: counter[c] for c in TriageClass})
    return SectionCounts(baseline_total, current_total, counts)


def _runner_command(problems: set[str], current: Summary, current_path: str) -> str:
    """One replay command that reruns every target failing now ("" if none).

    `--rerun-from CURRENT` when the current summary's outstanding targets are
    exactly the failing ones (the usual case): it needs no config and narrows
    to the failed tests where the adapter can. When the outstanding targets
    are more, `--suite` filters the rerun to the failing ones. When a failing
    target is not outstanding in the chain (which only a hand-made summary
    does), the rerun cannot reach it: `run --suite ...` runs them from the config.
    """
    if not problems:
        return ""
    outstanding = {t.name for t in current.outstanding}
    if problems == outstanding:
        return replay_command(current_path, current.config)
    args: list[str] = [*REPLAY, "run"]
    if problems <= outstanding:
        args += ["--rerun-from", current_path]
    for name in sorted(problems):
        args += ["--suite", name]
    if current.config:
        args += ["--config", current.config]
    return shlex.join(args)


@attrs.frozen
class Classification:
    """What `classify` found: every diagnostic before ranking, the counts, the semantic diffs."""

    pending: tuple[PendingDiagnostic, ...]
    """Every target, and every test that is not a stable pass, in name order."""
    sections: dict[Surface, SectionCounts]
    """Each surface's totals on both sides and its class counts (stable passes included)."""
    semantics: tuple[SemanticDiff, ...]


def _ok(target: TargetResult | None) -> bool | None:
    return None if target is None else target.status.ok


def _test_ok(result: TestResult | None) -> bool | None:
    return None if result is None else result.status is not TestStatus.FAILED


def _status(record: TargetResult | TestResult | None) -> str | None:
    """How a target or test ended, as text; None where that side has no record of it."""
    return None if record is None else str(record.status.value)


def _pending(
    severity: TriageClass,
    surface: Surface,
    either: TargetResult,
    sides: tuple[TargetResult | None, TargetResult | None],
    records: tuple[TargetResult | TestResult | None, TargetResult | TestResult | None],
    *,
    argv: tuple[str, ...],
    test: str | None = None,
) -> PendingDiagnostic:
    """The diagnostic of `either`'s target (`test` None) or of its `test`.

    `sides` are the target's record in each run; `records` are each run's record of
    what the diagnostic is about (the target itself, or the test).
    """
    suite = either.name
    return PendingDiagnostic(
        severity=severity,
        surface=surface,
        name=suite if test is None else f"{suite}::{test}",
        suite=suite,
        test=test,
        either=either,
        baseline=sides[0],
        current=sides[1],
        baseline_status=_status(records[0]),
        current_status=_status(records[1]),
        argv=argv,
    )


def _tests_comparable(base: TargetResult | None, cur: TargetResult | None) -> bool:
    """False when one side ran the target but saw no tests: it says nothing about which exist."""
    return (base is None or bool(base.tests)) and (cur is None or bool(cur.tests))


@attrs.define
class _Tally:
    """Running class counts and totals per surface while `classify` walks the names."""

    counters: dict[Surface, Counter[TriageClass]] = attrs.field(
        factory=lambda: {s: Counter[TriageClass]() for s in Surface}
    )
    totals: dict[Surface, list[int]] = attrs.field(factory=lambda: {s: [0, 0] for s in Surface})

    def sections(self) -> dict[Surface, SectionCounts]:
        return {s: _section(self.totals[s], self.counters[s]) for s in Surface}


def _test_diagnostics(
    name: str,
    either: TargetResult,
    base: TargetResult | None,
    cur: TargetResult | None,
    *,
    base_tests: dict[str, TestResult],
    cur_tests: dict[str, TestResult],
    tally: _Tally,
    commands: _Commands,
) -> list[PendingDiagnostic]:
    """The tests of target `name` that are not stable passes; every test counted."""
    pending: list[PendingDiagnostic] = []
    for test in sorted(base_tests.keys() | cur_tests.keys()):
        b, c = base_tests.get(test), cur_tests.get(test)
        test_class = triage_class(_test_ok(b), _test_ok(c))
        tally.counters[Surface.TEST][test_class] += 1
        if test_class is TriageClass.STABLE_PASS:
            continue
        argv = commands.test(either, test)
        pending.append(
            _pending(test_class, Surface.TEST, either, (base, cur), (b, c), test=test, argv=argv)
        )
    return pending


def classify(baseline: Summary, current: Summary) -> Classification:
    """Each target's class, and each test's where both sides saw per-test results."""
    base_index, cur_index = _index(baseline), _index(current)
    commands = _Commands()
    tally = _Tally()
    pending: list[PendingDiagnostic] = []
    semantics: list[SemanticDiff] = []

    for t in base_index.values():
        tally.totals[_surface(t)][0] += 1
    for t in cur_index.values():
        tally.totals[_surface(t)][1] += 1

    for name in sorted(base_index.keys() | cur_index.keys()):
        base, cur = base_index.get(name), cur_index.get(name)
        either = cur if cur is not None else base
        if either is None:  # pragma: no cover - the name came from one of the two
            continue
        surface = _surface(either)
        severity = triage_class(_ok(base), _ok(cur))
        tally.counters[surface][severity] += 1
        sides = (base, cur)
        pending.append(_pending(severity, surface, either, sides, sides, argv=either.argv))
        base_tests = final_tests(base) if base is not None else {}
        cur_tests = final_tests(cur) if cur is not None else {}
        tally.totals[Surface.TEST][0] += len(base_tests)
        tally.totals[Surface.TEST][1] += len(cur_tests)
        if severity is TriageClass.UNRESOLVED_FAILURE and base is not None and cur is not None:
            semantics.append(semantic_diff(base, cur, base_tests, cur_tests))
        if _tests_comparable(base, cur):
            pending += _test_diagnostics(
                name,
                either,
                base,
                cur,
                base_tests=base_tests,
                cur_tests=cur_tests,
                tally=tally,
                commands=commands,
            )

    return Classification(
        pending=tuple(pending), sections=tally.sections(), semantics=tuple(semantics)
    )


def rank(pending: Iterable[PendingDiagnostic]) -> tuple[RankedDiagnostic, ...]:
    """Upstream's order: priority (highest first), then surface, then name; ranks from 1."""
    ordered = sorted(pending, key=lambda p: (-p.severity.priority, p.surface.value, p.name))
    return tuple(p.ranked(number) for number, p in enumerate(ordered, start=1))


def _class_total(sections: Iterable[SectionCounts], triage: TriageClass) -> int:
    return sum(getattr(section.counts, triage.value) for section in sections)


def _triage_summary(sections: dict[Surface, SectionCounts]) -> TriageSummary:
    every = sections.values()
    return TriageSummary(
        regression_count=_class_total(every, TriageClass.REGRESSION),
        new_failure_count=_class_total(every, TriageClass.NEW_FAILURE),
        unresolved_failure_count=_class_total(every, TriageClass.UNRESOLVED_FAILURE),
        fixed_count=_class_total(every, TriageClass.FIXED),
        removed_count=_class_total(every, TriageClass.REMOVED),
        added_pass_count=_class_total(every, TriageClass.ADDED_PASS),
        stable_pass_count=_class_total(every, TriageClass.STABLE_PASS),
        unit_regression_count=sections[Surface.UNIT].counts.regression,
        suite_regression_count=sections[Surface.SUITE].counts.regression,
        test_regression_count=sections[Surface.TEST].counts.regression,
    )


def _focus(failing: list[RankedDiagnostic]) -> Focus:
    def names(surface: Surface) -> tuple[str, ...]:
        return tuple(sorted(d.name for d in failing if d.surface is surface))

    return Focus(
        unit_targets=names(Surface.UNIT), suites=names(Surface.SUITE), tests=names(Surface.TEST)
    )


def _recommended(
    failing: list[RankedDiagnostic], current: Summary, current_path: str
) -> RecommendedCommands:
    return RecommendedCommands(
        runner_repro_command=_runner_command({d.suite for d in failing}, current, current_path),
        ranked_repro_commands=tuple(dict.fromkeys(d.recommended_command for d in failing)),
        target_commands={f"{d.surface.value}:{d.name}": d.recommended_command for d in failing},
    )


def assemble(
    baseline: Summary,
    current: Summary,
    classification: Classification,
    ranked: tuple[RankedDiagnostic, ...],
    *,
    baseline_path: str,
    current_path: str,
    generated_at: str,
) -> TriageDiff:
    """The `triage_diff.json` document: status, counts, focus and commands from the ranking."""
    sections = classification.sections
    failing = [d for d in ranked if d.severity.failing]
    seen = (c for c in TriageClass if _class_total(sections.values(), c))
    return TriageDiff(
        generated_at=generated_at,
        status=diff_status(seen),
        baseline_summary_path=baseline_path,
        current_summary_path=current_path,
        baseline_run_id=baseline.run_id,
        current_run_id=current.run_id,
        summary=_triage_summary(sections),
        unit_targets=sections[Surface.UNIT],
        suites=sections[Surface.SUITE],
        tests=sections[Surface.TEST],
        focus=_focus(failing),
        ranked_diagnostics=ranked,
        recommended_commands=_recommended(failing, current, current_path),
        semantic_diffs=classification.semantics,
    )


def triage_diff(
    baseline: Summary,
    current: Summary,
    *,
    baseline_path: str,
    current_path: str,
    generated_at: str,
) -> TriageDiff:
    """The triage diff of `current` against `baseline`: classify, rank, assemble."""
    classification = classify(baseline, current)
    return assemble(
        baseline,
        current,
        classification,
        rank(classification.pending),
        baseline_path=baseline_path,
        current_path=current_path,
        generated_at=generated_at,
    )


def triage_status(diff: TriageDiff, path: str | None = None) -> TriageStatus:
    """The short form of `diff` that `summary.json` carries as `triage_diff`."""
    return TriageStatus(
        status=diff.status.value,
        regression_count=diff.summary.regression_count,
        new_failure_count=diff.summary.new_failure_count,
        fixed_count=diff.summary.fixed_count,
        unresolved_count=diff.summary.unresolved_failure_count,
        path=path,
    )
