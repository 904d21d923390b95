"""Flake bisection: which commit between a good and a bad revision made a test fail, and how sure.

Pure: the search over commits, when a probe may stop, and the report. The probes
themselves (git worktrees, a build, a flake loop through the executor) are run
by `replay._exec.bisect` and `replay._cli._bisect`, which hand their counts in.

The statistics, and why:

- A probe is a flake loop at one commit. The good revision is assumed never to
  fail the test (as `git bisect` assumes of `good`), so one failure proves a
  commit bad: a deterministic or flaky failure costs as many runs as it takes
  to show once.
- A pass proves nothing alone. A commit is judged good once it has passed `n`
  runs in a row where a commit as flaky as the bad revision would almost
  surely have failed once: `(1 - p1)^n <= alpha`. This is Wald's sequential
  probability ratio test between "never fails" (p0 = 0) and "fails at rate p1":
  with p0 = 0 a failure ends it at once, and passes end it at that bound.
- `p1` is measured at the bad revision, which is probed first until it has
  failed `BAD_FAILURES` times (or `runs_max` runs): the lower end of the Wilson
  interval of its failure rate at the requested confidence, so a rate measured
  high by luck does not make good verdicts cheap.
- A bad revision that fails every run is a deterministic break (`p1 = 1`): one
  pass then proves a commit good and every probe costs one run. Five failures
  in five are not enough for that: a 50% flake does it 3% of the time, and then
  one lucky pass of a bad commit names the wrong one. So an all-fail bad revision
  runs on until its failures rule out a flake that passes at least `FLAKE_FLOOR`
  of its runs, at the error of one verdict: `(1 - FLAKE_FLOOR)^n <= alpha`
  (`deterministic_runs`). The first pass ends that, as a flaky bad revision.
  The report's confidence in this mode is `1 - (1 - FLAKE_FLOOR)^n`.
- The good revision is then run once: if it fails too, the break is older than
  `--good` and there is no first bad commit to name.
- The requested confidence is for the whole answer, so it is split over the
  probes a bisection needs (`ceil(log2(commits + 1))`): each good verdict may
  be wrong with probability `alpha = 1 - confidence^(1 / steps)`. The report's
  `confidence` is computed from the runs actually made: the product, over the
  good verdicts, of `1 - (1 - p1)^passes`.
- A commit whose build fails, or whose config or target cannot be loaded, is
  skipped (as `git bisect skip`); so is one still undecided at `runs_max`.
  When only skipped commits are left between the last good and the first bad,
  there is no single answer: `first_bad` is null and `candidates` lists them.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Sequence
from statistics import NormalDist
from typing import Any

import attrs

from replay._core.flakes import Divergence, pass_rate, wilson_interval
from replay._model.convert import register_enum, unstructure

BISECT_REPORT_SCHEMA = "replay.bisect_report.v1"
"""The schema tag of `bisect_report.json`."""

BISECT_STATE_SCHEMA = "replay.bisect_state.v1"
"""The schema tag of the state file `--resume` continues from."""

BAD_FAILURES = 5
"""Failures the bad revision must show before its failure rate is trusted: with fewer, the
Wilson bound is so low that every good verdict costs tens of runs more."""

FLAKE_FLOOR = 0.2
"""The lowest pass rate of a flake an all-fail bad revision must rule out before it counts as
a deterministic break: a test passing one run in five, or more often (see `deterministic_runs`).
A rarer pass is found only by a loop as long as `--runs-max`: below this, a test is broken."""

DEFAULT_CONFIDENCE = 0.95
DEFAULT_RUNS_MAX = 100
"""Runs of one probe, at most: enough to clear a 10%-flaky break at 95% over 30 commits."""


@register_enum
class ProbeVerdict(str, enum.Enum):
    """What one probe concluded about its commit."""

    GOOD = "good"
    BAD = "bad"
    SKIPPED = "skipped"
    """It could not be built, configured or collected: the search steps around it."""
    UNDECIDED = "undecided"
    """`runs_max` runs passed without reaching the confidence: stepped around, as skipped."""


@attrs.frozen
class Probe:
    """One commit's flake loop, as the report shows it."""

    commit: str
    verdict: ProbeVerdict
    reason: str
    runs: int = 0
    passed: int = 0
    failed: int = 0
    pass_rate: float = 0.0
    interval: tuple[float, float] = (0.0, 1.0)
    """The pass rate's Wilson interval at the requested confidence."""
    run_dir: str | None = None
    """The probe's run directory (its summary and flake_report.json), relative to `--out`."""


@attrs.frozen
class BisectState:
    """Everything a bisection knows so far: the state file, and the input of every decision."""

    target: str
    good: str
    bad: str
    commits: tuple[str, ...]
    """The commits after `good` up to `bad` (the last), oldest first, full ids."""
    confidence: float = DEFAULT_CONFIDENCE
    runs_max: int = DEFAULT_RUNS_MAX
    bad_probe: Probe | None = None
    """The bad revision's own loop, which measures `failure_rate`."""
    failure_rate: float | None = None
    """p1: the failure rate a good verdict must rule out (see the module docstring)."""
    good_probe: Probe | None = None
    """The good revision's one run, after the bad revision's loop: it must pass."""
    probes: tuple[Probe, ...] = ()
    """The commits probed between good and bad, in the order they were probed."""
    schema: str = BISECT_STATE_SCHEMA


@attrs.frozen
class BisectReport:
    """`bisect_report.json`: every commit probed and the first bad one, with its confidence."""

    target: str
    good: str
    bad: str
    first_bad: str | None
    confidence: float | None
    reason: str
    mode: str
    """`deterministic` (one run per probe), `flaky` (sequential runs per probe), or `unknown`."""
    failure_rate: float | None
    commits: int
    probes: tuple[Probe, ...]
    """The bad revision's probe first, then the good revision's, then the others as they ran."""
    total_runs: int
    candidates: tuple[str, ...] = ()
    """When skipped commits hide the answer: every commit that may be the first bad one."""
    divergence: Divergence | None = None
    """Where the first bad commit's failing runs part from passing ones."""
    schema: str = BISECT_REPORT_SCHEMA


def z_value(confidence: float) -> float:
    """The two-sided normal quantile of `confidence` (1.96 for 0.95)."""
    if not 0 < confidence < 1:
        msg = f"confidence must be between 0 and 1, got {confidence}"
        raise ValueError(msg)
    return float(NormalDist().inv_cdf(0.5 + confidence / 2))


def steps_for(commits: int) -> int:
    """Probes a bisection of `commits` commits needs, at least 1: `ceil(log2(commits + 1))`."""
    return max(1, math.ceil(math.log2(commits + 1)))


def probe_alpha(confidence: float, commits: int) -> float:
    """The error one good verdict may have so that all of them hold with `confidence`."""
    z_value(confidence)  # validates
    share: float = confidence ** (1 / steps_for(commits))
    return 1 - share


def deterministic_runs(confidence: float, commits: int) -> int:
    """Failures in a row that make the bad revision a deterministic break.

    The failures must rule out a flake passing `FLAKE_FLOOR` of its runs at the error of one
    verdict: `(1 - FLAKE_FLOOR)^n <= alpha` (21 runs for 30 commits at 95%).
    """
    return max(BAD_FAILURES, runs_to_clear(FLAKE_FLOOR, probe_alpha(confidence, commits)))


def failure_rate_to_detect(
    passed: int, failed: int, confidence: float, *, deterministic_at: int = 1
) -> float | None:
    """p1 from the bad revision's runs: None when it never failed (nothing to bisect).

    1.0 when every run failed and there were at least `deterministic_at`; else the Wilson
    lower bound of the failure rate (an all-fail loop cut short by `--runs-max` included).
    """
    if failed == 0:
        return None
    if passed == 0 and failed >= deterministic_at:
        return 1.0
    low, _ = wilson_interval(failed, passed + failed, z_value(confidence))
    return low


def bad_revision_done(passed: int, failed: int, runs_max: int, *, deterministic_at: int) -> bool:
    """Whether the bad revision's loop has measured enough (or may run no more).

    Flaky (a pass seen): at `BAD_FAILURES` failures. All failures so far: at `deterministic_at`.
    """
    if passed + failed >= runs_max:
        return True
    return failed >= (BAD_FAILURES if passed else deterministic_at)


def runs_to_clear(failure_rate: float, alpha: float) -> int:
    """Passes in a row that rule out `failure_rate` with error `alpha`: (1 - p1)^n <= alpha."""
    if not 0 < alpha < 1:
        msg = f"alpha must be between 0 and 1, got {alpha}"
        raise ValueError(msg)
    if failure_rate >= 1:
        return 1
    if failure_rate <= 0:
        msg = f"failure_rate must be above 0, got {failure_rate}"
        raise ValueError(msg)
    return max(1, math.ceil(math.log(alpha) / math.log(1 - failure_rate) - 1e-9))


def judge(
    passed: int, failed: int, *, failure_rate: float, alpha: float, runs_max: int
) -> ProbeVerdict | None:
    """The verdict the runs so far allow, or None to run again (the sequential test)."""
    if failed:
        return ProbeVerdict.BAD
    if passed >= runs_to_clear(failure_rate, alpha):
        return ProbeVerdict.GOOD
    if passed >= runs_max:
        return ProbeVerdict.UNDECIDED
    return None


def decide(state: BisectState, commit: str, passed: int, failed: int) -> ProbeVerdict | None:
    """The verdict on `commit` the runs so far allow, or None to run again.

    The bad revision measures until `bad_revision_done`; the good one runs once and must
    pass; every other commit is judged by the sequential test.
    """
    if commit == state.bad and state.bad_probe is None:
        at = deterministic_runs(state.confidence, len(state.commits))
        if not bad_revision_done(passed, failed, state.runs_max, deterministic_at=at):
            return None
        return ProbeVerdict.BAD if failed else ProbeVerdict.UNDECIDED
    if commit == state.good:
        if passed + failed == 0:
            return None
        return ProbeVerdict.BAD if failed else ProbeVerdict.GOOD
    alpha = probe_alpha(state.confidence, len(state.commits))
    rate = state.failure_rate or 1.0
    return judge(passed, failed, failure_rate=rate, alpha=alpha, runs_max=state.runs_max)


def make_probe(
    commit: str,
    verdict: ProbeVerdict,
    reason: str,
    *,
    passed: int = 0,
    failed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
    run_dir: str | None = None,
) -> Probe:
    """A probe record with its pass rate and Wilson interval."""
    runs = passed + failed
    return Probe(
        commit=commit,
        verdict=verdict,
        reason=reason,
        runs=runs,
        passed=passed,
        failed=failed,
        pass_rate=pass_rate(passed, runs),
        interval=wilson_interval(passed, runs, z_value(confidence)),
        run_dir=run_dir,
    )


def probe_reason(
    verdict: ProbeVerdict, passed: int, failed: int, *, failure_rate: float, alpha: float
) -> str:
    """One sentence for a probe's verdict."""
    if verdict is ProbeVerdict.BAD:
        return f"failed {failed} of {passed + failed} run(s)"
    if verdict is ProbeVerdict.GOOD:
        return f"passed {passed} run(s) in a row: rules out a failure rate of {failure_rate:.1%}"
    return (
        f"passed all {passed} run(s) but needs {runs_to_clear(failure_rate, alpha)} "
        "to be sure; raise --runs-max"
    )


def _bounds(state: BisectState) -> tuple[int, int]:
    """(index of the last good commit, -1 for `good`; index of the first bad one)."""
    index = {commit: i for i, commit in enumerate(state.commits)}
    bad = [index[p.commit] for p in state.probes if p.verdict is ProbeVerdict.BAD]
    high = min([*bad, len(state.commits) - 1])
    good = [
        index[p.commit]
        for p in state.probes
        if p.verdict is ProbeVerdict.GOOD and index[p.commit] < high
    ]
    return max([-1, *good]), high


def next_commit(state: BisectState) -> str | None:
    """The commit to probe next, nearest the middle of what is left; None when done."""
    if state.bad_probe is None:
        return state.bad
    if state.bad_probe.verdict is not ProbeVerdict.BAD or state.failure_rate is None:
        return None
    if state.good_probe is None:
        return state.good
    if state.good_probe.verdict is ProbeVerdict.BAD:
        return None
    low, high = _bounds(state)
    probed = {p.commit for p in state.probes}
    open_ = [i for i in range(low + 1, high) if state.commits[i] not in probed]
    if not open_:
        return None
    middle = (low + high) / 2
    return state.commits[min(open_, key=lambda i: (abs(i - middle), i))]


def _confidence(state: BisectState, below: int) -> float:
    """The product over good verdicts below index `below` of 1 - (1 - p1)^passes.

    For a deterministic break, the chance its failures were no flake at `FLAKE_FLOOR`.
    """
    rate = state.failure_rate or 1.0
    index = {commit: i for i, commit in enumerate(state.commits)}
    result = 1.0
    if rate >= 1 and state.bad_probe is not None:
        result = 1 - (1 - FLAKE_FLOOR) ** state.bad_probe.failed
    for probe in state.probes:
        if probe.verdict is ProbeVerdict.GOOD and index[probe.commit] < below:
            result *= 1.0 if rate >= 1 else 1 - (1 - rate) ** probe.passed
    return result


def conclude(state: BisectState, divergence: Divergence | None = None) -> BisectReport:
    """The report of the bisection so far (finished when `next_commit` is None)."""
    ends = (state.bad_probe, state.good_probe)
    probes = (*(p for p in ends if p is not None), *state.probes)
    rate = state.failure_rate
    mode = "unknown" if rate is None else "deterministic" if rate >= 1 else "flaky"
    first_bad: str | None = None
    confidence: float | None = None
    candidates: tuple[str, ...] = ()
    bad = state.bad_probe
    if bad is None:
        reason = "not started: the bad revision has not been probed"
    elif bad.verdict is ProbeVerdict.SKIPPED:
        reason = f"the bad revision could not be probed: {bad.reason}"
    elif bad.verdict is not ProbeVerdict.BAD:
        reason = f"the bad revision never failed ({bad.passed} run(s) passed); nothing to bisect"
    elif state.good_probe is not None and state.good_probe.verdict is ProbeVerdict.BAD:
        reason = (
            f"the good revision fails too ({state.good_probe.reason}): the break is older "
            "than --good"
        )
    elif next_commit(state) is not None:
        reason = "not finished: resume it with --resume"
    else:
        low, high = _bounds(state)
        between = state.commits[low + 1 : high]
        if between:
            candidates = (*between, state.commits[high])
            reason = (
                f"only skipped or undecided commits are left: the first bad commit is one of "
                f"these {len(candidates)}"
            )
        else:
            first_bad = state.commits[high]
            confidence = _confidence(state, high)
            parent = state.commits[low] if low >= 0 else state.good
            reason = f"{parent[:12]} is good and {first_bad[:12]} is bad"
    return BisectReport(
        target=state.target,
        good=state.good,
        bad=state.bad,
        first_bad=first_bad,
        confidence=confidence,
        reason=reason,
        mode=mode,
        failure_rate=rate,
        commits=len(state.commits),
        probes=probes,
        total_runs=sum(p.runs for p in probes),
        candidates=candidates,
        divergence=divergence if first_bad else None,
    )


def last_good(state: BisectState) -> str | None:
    """The good commit just below the first bad one (None for `good` itself, never probed)."""
    low, _ = _bounds(state)
    return state.commits[low] if low >= 0 else None


def add_probe(state: BisectState, probe: Probe) -> BisectState:
    """`state` with `probe` recorded: the bad revision's measures p1, others narrow the range."""
    if probe.commit == state.bad and state.bad_probe is None:
        at = deterministic_runs(state.confidence, len(state.commits))
        rate = failure_rate_to_detect(
            probe.passed, probe.failed, state.confidence, deterministic_at=at
        )
        if probe.verdict is ProbeVerdict.SKIPPED:
            rate = None
        return attrs.evolve(state, bad_probe=probe, failure_rate=rate)
    if probe.commit == state.good and state.good_probe is None:
        return attrs.evolve(state, good_probe=probe)
    return attrs.evolve(state, probes=(*state.probes, probe))


def plan_document(state: BisectState) -> dict[str, Any]:
    """`--dry-run`: what the bisection would do, without running anything."""
    alpha = probe_alpha(state.confidence, len(state.commits))
    return {
        "target": state.target,
        "good": state.good,
        "bad": state.bad,
        "commits": list(state.commits),
        "steps": steps_for(len(state.commits)),
        "confidence": state.confidence,
        "probe_alpha": alpha,
        "runs_max": state.runs_max,
        "bad_revision": (
            f"up to {state.runs_max} runs, until {BAD_FAILURES} failures after a pass, or "
            f"{deterministic_runs(state.confidence, len(state.commits))} failures in a row "
            "(a deterministic break)"
        ),
        "good_revision": "one run, which must pass",
        "runs_to_clear": {
            f"{rate:.0%}": runs_to_clear(rate, alpha) for rate in (1.0, 0.5, 0.2, 0.05)
        },
    }


def report_document(report: BisectReport) -> dict[str, Any]:
    """The JSON document of `bisect_report.json`, `schema` first."""
    document: dict[str, Any] = unstructure(report)
    return {"schema": document.pop("schema"), **document}


def state_document(state: BisectState) -> dict[str, Any]:
    """The JSON document of the state file, `schema` first."""
    document: dict[str, Any] = unstructure(state)
    return {"schema": document.pop("schema"), **document}


def simulate(
    commits: Sequence[bool],
    draw: Callable[[int], bool],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    runs_max: int = DEFAULT_RUNS_MAX,
    fixed_runs: int | None = None,
) -> BisectReport:
    """Bisect simulated `commits` (True = bad) with `draw(commit_index) -> passed`.

    For the benchmark and the property tests: the same decisions as a real
    bisection, with each run a call. With `fixed_runs`, every probe between the
    endpoints runs that many times (the baseline a sequential test is measured
    against); a failure among them still means bad.
    """
    names = tuple(f"c{i:04d}" for i in range(len(commits)))
    state = BisectState(
        target="sim",
        good="good",
        bad=names[-1],
        commits=names,
        confidence=confidence,
        runs_max=runs_max,
    )
    index = {name: i for i, name in enumerate(names)}
    while (commit := next_commit(state)) is not None:
        i = index.get(commit, -1)  # the good revision: never fails
        passed = failed = 0
        found: ProbeVerdict | None = None
        while found is None:
            ok = i < 0 or draw(i)
            passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
            if fixed_runs is None or i < 0 or commit == state.bad:
                found = decide(state, commit, passed, failed)
            elif passed + failed >= fixed_runs:
                found = ProbeVerdict.BAD if failed else ProbeVerdict.GOOD
        probe = make_probe(commit, found, "simulated", passed=passed, failed=failed)
        state = add_probe(state, probe)
    return conclude(state)
