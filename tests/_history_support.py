"""Summaries for the flake-ledger tests: built as models, written as replay writes them."""

from __future__ import annotations

from pathlib import Path

import orjson

from replay._core.summary import summary_document
from replay._model import models
from replay._model.models import ChainState, RunStatus, TargetStatus, TestStatus


def target(
    name: str,
    run_id: str,
    tests: dict[str, list[bool]],
    *,
    started: str = "2026-01-01T00:00:00.000Z",
    message: str = "assert 1 == 2 at 0x1f",
) -> models.TargetResult:
    """A pytest target whose tests passed (True) or failed (False) in attempts 1, 2, ..."""
    attempts = max((len(v) for v in tests.values()), default=1)
    records = []
    for number in range(1, attempts + 1):
        results = tuple(
            models.TestResult(
                name=test,
                status=TestStatus.PASSED if outcomes[number - 1] else TestStatus.FAILED,
                duration=0.5 * number,
                attempt=number,
                message=None if outcomes[number - 1] else f"{message} after {number * 7}ms",
            )
            for test, outcomes in tests.items()
            if len(outcomes) >= number
        )
        failed = any(t.status is TestStatus.FAILED for t in results)
        records.append(
            models.Attempt(
                number=number,
                exit_code=1 if failed else 0,
                started_at=started,
                duration=1.0,
                tests=results,
            )
        )
    ok = not any(t.status is TestStatus.FAILED for t in records[-1].tests)
    return models.TargetResult(
        name=name,
        kind="unit",
        adapter="pytest",
        argv=("pytest",),
        status=TargetStatus.PASSED if ok else TargetStatus.FAILED,
        chain_state=ChainState.PASSING if ok else ChainState.OUTSTANDING,
        decided_by=run_id,
        duration=float(attempts),
        attempts=tuple(records),
    )


def summary(
    run_id: str,
    targets: tuple[models.TargetResult, ...],
    *,
    started: str = "2026-01-01T00:00:00.000Z",
    shard: models.Shard | None = None,
) -> models.Summary:
    """A summary of `targets`."""
    failed = any(t.outstanding for t in targets)
    return models.Summary(
        run_id=run_id,
        status=RunStatus.FAILED if failed else RunStatus.PASSED,
        started_at=started,
        finished_at=started,
        targets=targets,
        shard=shard,
    )


def write(directory: Path, model: models.Summary, *, commit: str | None = "abc123") -> Path:
    """Write `model` as `directory/summary.json` (with an environment.json naming `commit`)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "summary.json"
    path.write_bytes(orjson.dumps(summary_document(model)))
    if commit is not None:
        environment = {"git_sha": commit, "git_branch": "main", "host": "ci-1", "env": {}}
        (directory / "environment.json").write_bytes(orjson.dumps(environment))
    return path


def flaky_series(root: Path, runs: int, *, prefix: str = "run") -> list[Path]:
    """`runs` summaries of one commit: `t::flaky` alternates, `t::broken` always fails."""
    paths = []
    for i in range(runs):
        run_id = f"{prefix}-{i:04d}"
        started = f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}.000Z"
        tests = {"flaky": [i % 2 == 0], "broken": [False], "steady": [True]}
        model = summary(run_id, (target("t", run_id, tests, started=started),), started=started)
        paths.append(write(root / run_id, model))
    return paths
