"""A worker's own summary when the queue hands it back its own requeued job (toolz, real run).

Two workers drained toolz 1.2.0's `curried` and `serialization` suites with
`--queue-requeue 1`; `test_flaky_w8` fails the first time it runs. Worker 1 ran `curried`
(failed, `000/`), the queue requeued it, and worker 1 took it again (passed, `001/`).
`queue wait` merged `curried` as flaky with both attempts, but worker 1's own `summary.json`
held only the failed run, it printed `ran 1 job(s)` and exited 1. The fixture holds the two
one-job summaries of worker 1, trimmed to two tests.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from _support import fixture_path

from replay._core.queue_plan import QueueKeys
from replay._exec.queue import Worker, _write_worker_summary
from replay._inputs.readers import load_summary
from replay._model.models import Summary

FIXTURE = fixture_path("real", "toolz_queue_worker")


def _worker_summary(tmp_path: Path) -> Summary:
    run_dir = tmp_path / "w1"
    shutil.copytree(FIXTURE, run_dir)
    ran = [(run_dir / job, load_summary(run_dir / job / "summary.json")) for job in ("000", "001")]
    worker = Worker(url="redis://127.0.0.1:1/0", keys=QueueKeys("w8rq2"), run_dir=run_dir)
    return _write_worker_summary(worker, ran)


def test_the_two_runs_are_one_job_failed_then_passed() -> None:
    runs = [load_summary(FIXTURE / job / "summary.json") for job in ("000", "001")]
    assert [("curried", "failed"), ("curried", "passed")] == [
        (s.targets[0].name, s.targets[0].status.value) for s in runs
    ]


def test_the_worker_summary_keeps_both_runs_of_a_requeued_job(tmp_path: Path) -> None:
    summary = _worker_summary(tmp_path)
    (target,) = summary.targets
    assert "flaky" == target.status.value
    assert [1, 0] == [a.exit_code for a in target.attempts]
    assert "passed" == summary.status.value
