"""Steps that enrich a finished run's summary from its directory before it is written.

Each step takes the summary and the run directory and returns the summary with
the fields it owns filled in (digest paths and root causes, the triage status),
writing its own artifact atomically on the way, through the run's redactor (a
digest quotes log lines and assertion messages, where jobs print secrets).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs

from replay._core.redact import Redactor, current_redactor
from replay._core.summary import summary_redactor
from replay._model.convert import unstructure
from replay._model.models import Summary
from replay._model.names import DIAGNOSTICS_NAME, SUMMARY_NAME, TRIAGE_NAME, digest_path
from replay._store.rundir import write_json_atomic

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
    """Write `<suite>/failure_digest.json` for each failed target of this run, and the index.

    Without the run's `redactor`: the summary's job envs and replay's own environment.
    """

    def step(summary: Summary, run_dir: Path) -> Summary:
        from replay._core.bundle import targeted_command
        from replay._core.digest import build_digest, diagnostics_index, scan_log

        redact = summary_redactor(summary) if redactor is None else redactor

        targets = []
        written = []
        for target in summary.targets:
            executed = target.decided_by == summary.run_id and target.result is not None
            if not executed or not target.outstanding or target.result is None:
                targets.append(target)
                continue
            log = run_dir / target.log if target.log else run_dir / "-missing-"
            evidence = scan_log(log, target.tests)
            digest = build_digest(
                target,
                failure_lines=evidence.failure_lines,
                log_lines=evidence.log_lines,
                replay_command=summary.one_command_replay or "",
                targeted_command=targeted_command(target),
                generated_at=summary.finished_at,
                correlation_id=summary.correlation_id,
            )
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
