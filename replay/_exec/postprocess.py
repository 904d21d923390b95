"""Steps that enrich a finished run's summary from its directory before it is written.

Each step takes the summary and the run directory and returns the summary with
the fields it owns filled in (digest paths and root causes, the triage status),
writing its own artifact atomically on the way, through the run's redactor (a
digest quotes log lines and assertion messages, where jobs print secrets). The
views (`trace.json`, `report.html`) are written the same way and change nothing;
a run writes them last, from the summary it writes (its final status included).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from replay._core.redact import Redactor, current_redactor
from replay._core.summary import summary_redactor
from replay._model.convert import unstructure
from replay._model.models import Summary, TargetResult, TargetStatus
from replay._model.names import (
    DIAGNOSTICS_NAME,
    EVENTS_NAME,
    REPORT_NAME,
    SUMMARY_NAME,
    TRACE_NAME,
    TRIAGE_NAME,
    digest_path,
)
from replay._store.rundir import display_path, write_bytes_atomic, write_json_atomic

if TYPE_CHECKING:
    from replay._core.digest import FailureDigest

Step = Callable[[Summary, Path], Summary]


def triage_step(baseline: Summary, baseline_path: str, redactor: Redactor | None = None) -> Step:
    """`--diff-from`: write `triage_diff.json` and put its status into the summary.

    Without the run's `redactor`: the job envs of both summaries and replay's own.
    """

    def step(summary: Summary, run_dir: Path) -> Summary:
        from replay._core.diff import triage_diff, triage_status

        redact = (
            current_redactor(*(t.env for t in (*summary.targets, *baseline.targets)))
            if redactor is None
            else redactor
        )
        diff = triage_diff(
            baseline,
            summary,
            baseline_path=baseline_path,
            current_path=str(run_dir / SUMMARY_NAME),
            generated_at=summary.finished_at,
        )
        write_json_atomic(run_dir / TRIAGE_NAME, redact.data(unstructure(diff)))
        return attrs.evolve(
            summary,
            diff_from=baseline_path,
            triage_diff=triage_status(diff, TRIAGE_NAME),
        )

    return step


def digest_step(redactor: Redactor | None = None) -> Step:
    """The digests (`failure_digests_step`), then the views that show them (`view_step`).

    The one step every run takes: the trace and the report are written beside the
    digests, so every run directory has them (a view never changes the summary).
    """
    digests = failure_digests_step(redactor)
    views = view_step(redactor)

    def step(summary: Summary, run_dir: Path) -> Summary:
        return views(digests(summary, run_dir), run_dir)

    return step


def redacted_summary(summary: Summary, redactor: Redactor) -> Summary:
    """`summary` as the views show it: every text they quote masked, what they never show dropped.

    Environments, argvs and each attempt's copy of the tests go (the views show
    none of them); test names and messages are masked for the targets the report
    details (outstanding and flaky ones). Masking only that is what keeps the
    views cheap: a round trip of a 10,000-target summary through its masked
    document took 5 s.
    """
    mask = redactor.text

    def maybe(text: str | None) -> str | None:
        return None if text is None else mask(text)

    def target(found: TargetResult) -> TargetResult:
        detailed = found.outstanding or found.status is TargetStatus.FLAKY
        tests = (
            tuple(attrs.evolve(t, name=mask(t.name), message=maybe(t.message)) for t in found.tests)
            if detailed
            else found.tests
        )
        attempts = tuple(
            attrs.evolve(a, error=maybe(a.error), log=maybe(a.log), tests=(), argv=(), targeted=())
            for a in found.attempts
        )
        return attrs.evolve(
            found,
            name=mask(found.name),
            kind=mask(found.kind),
            decided_by=mask(found.decided_by),
            argv=(),
            env={},
            log=maybe(found.log),
            unseen=maybe(found.unseen),
            tests=tests,
            attempts=attempts,
        )

    return attrs.evolve(
        summary,
        run_id=mask(summary.run_id),
        targets=tuple(target(t) for t in summary.targets),
        parent_run_id=maybe(summary.parent_run_id),
        rerun_from=maybe(summary.rerun_from),
        one_command_replay=maybe(summary.one_command_replay),
        config=maybe(summary.config),
        policy_failures=tuple(map(mask, summary.policy_failures)),
    )


def view_step(redactor: Redactor | None = None) -> Step:
    """Write `trace.json` and `report.html`: the run's timeline and its page.

    Both quote the summary, the digests and the logs through the run's redactor
    (without it: the summary's job envs and replay's own environment). Written
    without fsync: both are derived from the summary (which is) and `replay report`
    writes the page again; an fsync costs a short run 1-5 ms a file, more on a busy disk.
    """

    def step(summary: Summary, run_dir: Path) -> Summary:
        from replay._core.html_report import render_report
        from replay._core.trace import trace_document
        from replay._inputs.evidence import failure_evidence, read_events

        redact = summary_redactor(summary) if redactor is None else redactor
        shown = redacted_summary(summary, redact)
        events = redact.data(read_events(run_dir / EVENTS_NAME))
        write_json_atomic(run_dir / TRACE_NAME, trace_document(shown, events), durable=False)
        page = render_report(
            shown,
            summary_path=display_path(run_dir / SUMMARY_NAME),
            evidence=failure_evidence(shown, run_dir, redact.text),
            events=events,
        )
        write_bytes_atomic(run_dir / REPORT_NAME, page.encode("utf-8", "replace"), durable=False)
        return summary

    return step


def failure_digests_step(redactor: Redactor | None = None) -> Step:
    """Write `<suite>/failure_digest.json` for each failed target of this run, and the index.

    Without the run's `redactor`: the summary's job envs and replay's own environment.
    """

    def step(summary: Summary, run_dir: Path) -> Summary:
        from replay._core.diagnostics import diagnostics_index

        redact = summary_redactor(summary) if redactor is None else redactor

        targets = []
        written = []
        for target in summary.targets:
            executed = target.decided_by == summary.run_id and target.result is not None
            if not executed or not target.outstanding or target.result is None:
                targets.append(target)
                continue
            digest = _digest(summary, target, run_dir)
            relative = digest_path(target.result)
            write_json_atomic(run_dir / relative, redact.data(unstructure(digest)))
            written.append((relative, digest))
            targets.append(
                attrs.evolve(target, digest=relative, root_cause=digest.root_cause_class)
            )
        write_json_atomic(
            run_dir / DIAGNOSTICS_NAME,
            redact.data(diagnostics_index(written, summary.finished_at)),
        )
        return attrs.evolve(summary, targets=tuple(targets))

    return step


def _digest(summary: Summary, target: TargetResult, run_dir: Path) -> FailureDigest:
    """The digest of one failed target of this run, from its log and its tests.

    Its builders are imported here: a green run, the common case, needs none of them.
    """
    from replay._core.bundle import targeted_command
    from replay._core.digest import build_digest
    from replay._inputs.logscan import scan_log

    log = run_dir / target.log if target.log else run_dir / "-missing-"
    evidence = scan_log(log, target.tests)
    return build_digest(
        target,
        failure_lines=evidence.failure_lines,
        log_lines=evidence.log_lines,
        replay_command=summary.one_command_replay or "",
        targeted_command=targeted_command(target),
        generated_at=summary.finished_at,
        correlation_id=summary.correlation_id,
    )
