"""Flake statistics: fingerprints, Wilson intervals, verdicts and when a flake loop may stop.

Everything here is pure: the flake loop (in the executor) hands in the runs it
has so far and gets back a decision; nothing here runs, reads or times anything.

The verdicts, and why:

- `flaky`: at least one run passed and at least one failed. One pass and one
  failure of the same code already prove non-determinism, so this needs no
  minimum number of runs, and more runs cannot undo it (the loop may stop).
- `stable_pass`: every run passed and there were at least `min_runs` of them.
  With 0 failures in n runs the 95% upper bound on the failure rate is about
  3/n (the "rule of three"; the Wilson bound we report is z²/(n+z²), a little
  higher). `MIN_RUNS = 10` bounds it below ~28%: a cheap floor, not proof of
  health; the report always carries the bound so a reader sees how strong the
  pass is, and `runs_needed` says how many runs a tighter bound takes.
- `deterministic_failure`: every run failed and there were at least `min_runs`.
  The same floor as for passing, by symmetry: a test that fails half the time
  fails 5 times in a row once in 32 loops. When the failures have several
  fingerprints the verdict is still `deterministic_failure` (the test never
  passes: quarantining it would hide a real break), and `reason` says how
  many different failures were seen — often an imperfect normalisation.
- `inconclusive`: no run, or fewer than `min_runs` runs that all ended the same
  way.
"""

from __future__ import annotations

import enum
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs

from replay._core.taxonomy import FlakeClassification
from replay._model.convert import register_enum, unstructure

FLAKE_REPORT_SCHEMA = "replay.flake_report.v1"
"""The schema tag of `flake_report.json`."""

Z_95 = 1.959963984540054
"""The two-sided 95% normal quantile that the Wilson intervals use."""

MIN_RUNS = 10
"""Runs needed before all-pass or all-fail is a verdict (see the module docstring)."""

NO_FINGERPRINT = "<no failure message>"
"""What a failed run without a readable failure message counts as."""

MAX_FINGERPRINT = 300
"""Fingerprints are cut here: the start of an assertion identifies it, a dump does not."""


@register_enum
class FlakeVerdictKind(str, enum.Enum):
    """What a flake loop concluded about a target."""

    STABLE_PASS = "stable_pass"  # noqa: S105 - a verdict, not a password
    DETERMINISTIC_FAILURE = "deterministic_failure"
    FLAKY = "flaky"
    INCONCLUSIVE = "inconclusive"


@attrs.frozen
class FlakeRun:
    """One attempt of a flake loop, as the verdict needs it."""

    number: int
    passed: bool
    fingerprint: str | None = None
    """`fingerprint(...)` of the first failing assertion; None for a pass or no message."""
    log: str | None = None
    """Path of the attempt's output log, relative to the run directory."""
    duration: float = 0.0


@attrs.frozen
class FingerprintCount:
    """One way a target failed, and how often."""

    fingerprint: str
    count: int
    runs: tuple[int, ...] = ()
    """The run numbers that failed this way."""


@attrs.frozen
class FlakeVerdict:
    """The verdict of a set of runs, with the numbers behind it."""

    verdict: FlakeVerdictKind
    reason: str
    """One sentence a human reads: why this verdict."""
    runs: int
    passed: int
    failed: int
    pass_rate: float
    """0.0 when there were no runs."""
    interval: tuple[float, float]
    """95% Wilson interval of the pass rate."""
    failure_rate_upper_bound: float
    """95% upper bound of the failure rate (1 - the interval's low end): the figure for all-pass."""
    fingerprints: tuple[FingerprintCount, ...] = ()
    """Failure fingerprints, most frequent first, then by text."""
    logs: tuple[str, ...] = ()
    """The attempts' log paths, by run number."""


@attrs.frozen
class DivergentLine:
    """A log line (normalised as fingerprints are) seen in failing runs and in no passing one."""

    line: str
    runs: int
    """How many failing runs show it."""


@attrs.frozen
class Divergence:
    """Where failing runs' logs part from passing ones (see `divergence`)."""

    passing_runs: int
    failing_runs: int
    first_line: str | None
    """The first line, normalised, where most failing runs leave every passing log's path."""
    line_number: int | None
    """Its 1-based line number in those failing logs."""
    first_line_runs: int
    """How many failing runs part from the passing ones at that line."""
    only_in_failures: tuple[DivergentLine, ...] = ()
    """Lines no passing run shows, the most common first, then in log order."""


@attrs.frozen
class FlakeReport:
    """`flake_report.json`: a flake loop's verdict, classification and quarantine entry."""

    target: str
    verdict: FlakeVerdictKind
    reason: str
    runs: tuple[FlakeRun, ...]
    planned: int
    passed: int
    failed: int
    pass_rate: float
    interval: tuple[float, float]
    failure_rate_upper_bound: float
    fingerprints: tuple[FingerprintCount, ...] = ()
    classification: FlakeClassification | None = None
    quarantine_entry: str | None = None
    """A ready `[quarantine.<stem>]` TOML block, for flaky targets."""
    logs: tuple[str, ...] = ()
    divergence: Divergence | None = None
    """Where the failing runs' logs part from the passing runs' (needs both kinds of run)."""
    schema: str = FLAKE_REPORT_SCHEMA


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a success rate: sound at 0 and n, unlike p ± z·se.

    With no trials nothing is known: (0.0, 1.0).
    """
    if n < 0 or not 0 <= successes <= n:
        msg = f"need 0 <= successes <= n, got successes={successes}, n={n}"
        raise ValueError(msg)
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # Float error would otherwise leave 1 - 1e-16 at an all-pass, which reads as doubt.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def pass_rate(passed: int, runs: int) -> float:
    """The share of `runs` that passed: 0.0 when there were none."""
    return passed / runs if runs else 0.0


def runs_needed(max_failure_rate: float, z: float = Z_95) -> int:
    """How many passing runs in a row bound the failure rate below `max_failure_rate` (Wilson).

    Solves z²/(n+z²) <= r for n: 73 runs for 5%, 381 for 1%.
    """
    if not 0 < max_failure_rate < 1:
        msg = f"max_failure_rate must be between 0 and 1, got {max_failure_rate}"
        raise ValueError(msg)
    return math.ceil(z * z * (1 - max_failure_rate) / max_failure_rate - 1e-9)


# Order matters: a UUID or a timestamp is full of numbers, a temp path of names.
_NORMALISERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<uuid>",
    ),
    (
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?)?\b"
        ),
        "<time>",
    ),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<time>"),
    (
        re.compile(
            r"(?:/private)?/var/folders/[^/\s]+/[^/\s]+/[A-Z](?:/[^/\s:]+)?"
            r"|/(?:tmp|var/tmp|dev/shm)/[^/\s:'\"]+"
            r"|[A-Za-z]:\\(?:[^\\\s]+\\)*?(?:Temp|tmp)\\[^\\\s:'\"]+",
        ),
        "<tmp>",
    ),
    # Python's tempfile (tmpk3j_x9) and Rust's tempfile crate (.tmpAbC123) names.
    (re.compile(r"\.?\btmp[A-Za-z0-9_]{4,}"), "<tmp>"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<addr>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{12,}\b", re.I), "<hex>"),
    (
        re.compile(
            r"(?<![\w.])\d+(?:\.\d+)?\s?"
            r"(?:ns|[uµ]s|ms|s|secs?|seconds?|m|mins?|minutes?|h|hours?)\b"
        ),
        "<duration>",
    ),
    (re.compile(r"(?<![A-Za-z_])\d+(?:\.\d+)?(?:e[+-]?\d+)?"), "<n>"),
    (re.compile(r"\s+"), " "),
)


def normalise(text: str) -> str:
    """`text` with what varies between runs replaced by placeholders (see `fingerprint`)."""
    text = text.strip()
    for pattern, placeholder in _NORMALISERS:
        text = pattern.sub(placeholder, text)
    return text.strip()[:MAX_FINGERPRINT]


def fingerprint(message: str) -> str:
    """The failure `message` with what varies between runs replaced by placeholders.

    Numbers, hex addresses, long hex ids, UUIDs, timestamps, durations and
    temporary paths become `<n>`, `<addr>`, `<hex>`, `<uuid>`, `<time>`,
    `<duration>` and `<tmp>`; whitespace collapses; so two runs that failed
    on the same assertion with different values fingerprint the same.
    """
    return normalise(message) or NO_FINGERPRINT


MAX_DIVERGENT_LINES = 20
"""Lines only in failures that a report lists: the first few tell the story, the rest is noise."""


def _common_prefix(left: Sequence[str], right: Sequence[str]) -> int:
    count = 0
    for a, b in zip(left, right, strict=False):
        if a != b:
            break
        count += 1
    return count


def divergence(
    passing: Sequence[Sequence[str]], failing: Sequence[Sequence[str]]
) -> Divergence | None:
    """Where failing runs' logs part from passing runs' logs, lines normalised as fingerprints.

    For each failing log, the passing log it follows longest; the line after
    that common start is where it parts. `first_line` is the place most
    failing runs part (ties: the earliest, then by text). `only_in_failures`
    holds the non-blank lines no passing log has, with how many failing runs
    show each. None without a passing and a failing log to compare.
    """
    if not passing or not failing:
        return None
    passed = [[normalise(line) for line in log] for log in passing]
    seen_passing = {line for log in passed for line in log}
    parting: Counter[tuple[int, str]] = Counter()
    only: Counter[str] = Counter()
    order: dict[str, tuple[int, int]] = {}
    for run, log in enumerate(failing):
        lines = [normalise(line) for line in log]
        common = max(_common_prefix(lines, other) for other in passed)
        if common < len(lines):
            parting[(common, lines[common])] += 1
        for position, line in enumerate(lines):
            if line and line not in seen_passing:
                order.setdefault(line, (position, run))
        only.update({line for line in lines if line and line not in seen_passing})
    first = min(parting.items(), key=lambda item: (-item[1], item[0])) if parting else None
    ranked = sorted(only.items(), key=lambda item: (-item[1], order[item[0]]))
    return Divergence(
        passing_runs=len(passing),
        failing_runs=len(failing),
        first_line=first[0][1] if first else None,
        line_number=first[0][0] + 1 if first else None,
        first_line_runs=first[1] if first else 0,
        only_in_failures=tuple(
            DivergentLine(line=line, runs=count) for line, count in ranked[:MAX_DIVERGENT_LINES]
        ),
    )


# A panic or an assertion names the failure; an `error:` or `FAILED` line only says there was one
# (cargo prints `test x ... FAILED` before the panic that explains it).
_ASSERTION_LINE = re.compile(
    r"panicked at|assert|^E {2,}\S|^\s+\S+_test\.go:\d+:|Exception\b|Error:",
)
_PANIC_HEADER = re.compile(r"panicked at \S+:\d+:\d+:$")
_FAILURE_LINE = re.compile(r"\berror\b|\bfail(?:ed|ure)?\b|\btimed out\b", re.IGNORECASE)


def first_failure(lines: Sequence[str]) -> str | None:
    """The first line of `lines` that looks like a failure, with the line after a panic header.

    cargo writes `thread 'x' panicked at FILE:LINE:COL:` and the message on the
    next line; the header alone would make every panic in a file look alike.
    """
    for pattern in (_ASSERTION_LINE, _FAILURE_LINE):
        for index, line in enumerate(lines):
            if not pattern.search(line):
                continue
            stripped = line.strip()
            if _PANIC_HEADER.search(stripped):
                following = lines[index + 1].strip() if index + 1 < len(lines) else ""
                return f"{stripped} {following}".strip()
            return stripped
    return None


def _fingerprints(runs: Sequence[FlakeRun]) -> tuple[FingerprintCount, ...]:
    counts: Counter[str] = Counter()
    numbers: dict[str, list[int]] = {}
    for run in runs:
        if run.passed:
            continue
        key = run.fingerprint or NO_FINGERPRINT
        counts[key] += 1
        numbers.setdefault(key, []).append(run.number)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(
        FingerprintCount(fingerprint=key, count=count, runs=tuple(sorted(numbers[key])))
        for key, count in ordered
    )


def verdict(runs: Sequence[FlakeRun], *, min_runs: int = MIN_RUNS) -> FlakeVerdict:
    """Judge a set of runs of one target (see the module docstring for the rules)."""
    if min_runs < 1:
        msg = f"min_runs must be at least 1, got {min_runs}"
        raise ValueError(msg)
    ordered = sorted(runs, key=lambda r: r.number)
    total = len(ordered)
    passed = sum(1 for r in ordered if r.passed)
    failed = total - passed
    fingerprints = _fingerprints(ordered)
    interval = wilson_interval(passed, total)
    if total == 0:
        kind, reason = FlakeVerdictKind.INCONCLUSIVE, "no run finished"
    elif passed and failed:
        kind = FlakeVerdictKind.FLAKY
        reason = f"{passed} of {total} runs passed and {failed} failed"
    elif total < min_runs:
        outcome = "passed" if passed else "failed"
        kind = FlakeVerdictKind.INCONCLUSIVE
        reason = f"all {total} runs {outcome}, but a verdict needs at least {min_runs} runs"
    elif passed:
        kind = FlakeVerdictKind.STABLE_PASS
        reason = (
            f"all {total} runs passed; failure rate below {1 - interval[0]:.1%} with 95% confidence"
        )
    else:
        kind = FlakeVerdictKind.DETERMINISTIC_FAILURE
        ways = len(fingerprints)
        reason = (
            f"all {total} runs failed the same way"
            if ways == 1
            else f"all {total} runs failed, in {ways} different ways (see fingerprints)"
        )
    return FlakeVerdict(
        verdict=kind,
        reason=reason,
        runs=total,
        passed=passed,
        failed=failed,
        pass_rate=pass_rate(passed, total),
        interval=interval,
        failure_rate_upper_bound=1.0 - interval[0],
        fingerprints=fingerprints,
        logs=tuple(r.log for r in ordered if r.log),
    )


def should_stop(runs: Sequence[FlakeRun], *, until_fail: bool, planned: int) -> bool:
    """Whether a flake loop can stop now: the plan is done or the verdict cannot change.

    - all `planned` runs are in: stop;
    - `until_fail` and a run failed: stop (that is what the flag asks for);
    - a pass and a failure: the target is `flaky` whatever comes next, so stop
      rather than spend CI time (the price: the pass-rate interval stays wide).

    Runs that all passed or all failed never stop early: the next run could
    still make them flaky.
    """
    if len(runs) >= planned:
        return True
    any_failed = any(not r.passed for r in runs)
    if until_fail and any_failed:
        return True
    return any_failed and any(r.passed for r in runs)


def flake_report(
    target: str,
    runs: Sequence[FlakeRun],
    *,
    planned: int,
    classification: FlakeClassification | None = None,
    quarantine_entry: str | None = None,
    min_runs: int = MIN_RUNS,
    divergence: Divergence | None = None,
) -> FlakeReport:
    """The `flake_report.json` model of a finished flake loop."""
    judged = verdict(runs, min_runs=min_runs)
    return FlakeReport(
        target=target,
        verdict=judged.verdict,
        reason=judged.reason,
        runs=tuple(sorted(runs, key=lambda r: r.number)),
        planned=planned,
        passed=judged.passed,
        failed=judged.failed,
        pass_rate=judged.pass_rate,
        interval=judged.interval,
        failure_rate_upper_bound=judged.failure_rate_upper_bound,
        fingerprints=judged.fingerprints,
        classification=classification,
        quarantine_entry=quarantine_entry,
        logs=judged.logs,
        divergence=divergence,
    )


def flake_report_document(report: FlakeReport) -> dict[str, Any]:
    """The JSON document of `flake_report.json`, `schema` first for a reader skimming the file."""
    document: dict[str, Any] = unstructure(report)
    return {"schema": document.pop("schema"), **document}
