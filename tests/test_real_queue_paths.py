"""`replay queue wait`'s merged summary, from a real queue run of toolz's pytest suite.

Two workers (`replay run --queue redis://... --out q/w1`, `--out q/w2`) drained toolz 1.2.0's
suites and `replay queue wait --out q/m` merged them. The fixture holds what Redis held for two
of the jobs (each record is the worker's one-job summary, its paths relative to the worker's
job directory `q/w1/000/`), trimmed to a few tests. `replay verify q/m` then failed:
`curried/output.log: missing (named by $.targets[0].log)`, for every target.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import redis
from _support import fixture_path, replay

from replay._cli._merge import write_merged
from replay._core.merge import MergeResult
from replay._core.queue_plan import QueueKeys
from replay._exec.queue import merged_summary

FIXTURE = fixture_path("real", "toolz_queue_records.json")
NAME = "w8toolz"


class _Recorded:
    """The three reads `merged_summary` makes, answered from the captured keys."""

    def __init__(self, captured: dict[str, Any]) -> None:
        keys = QueueKeys(NAME)
        self._lists = {keys.results: [json.dumps(r).encode() for r in captured["results"]]}
        self._hashes = {
            keys.jobs: {k.encode(): json.dumps(v).encode() for k, v in captured["jobs"].items()}
        }
        carried = captured["carried"]
        self._strings = {keys.carried: json.dumps(carried).encode() if carried else None}

    def lrange(self, key: str, start: int, end: int) -> list[bytes]:
        return self._lists.get(key, [])

    def hgetall(self, key: str) -> dict[bytes, bytes]:
        return self._hashes.get(key, {})

    def get(self, key: str) -> bytes | None:
        return self._strings.get(key)


def _merge(out: Path) -> Any:
    captured = json.loads(FIXTURE.read_text())
    client = cast(redis.Redis, _Recorded(captured))
    summary_path = str(out / "summary.json")
    merged, missing = merged_summary(
        client, QueueKeys(NAME), run_id="20261202T091600Z-000000", summary_path=summary_path
    )
    assert () == missing
    write_merged(out, MergeResult(summary=merged, sources=()), summary_path)
    return merged


def test_the_queue_merge_keeps_every_job_and_its_tests(tmp_path: Path) -> None:
    merged = _merge(tmp_path / "m")
    assert {"curried": "failed", "serialization": "passed"} == {
        t.name: t.status.value for t in merged.targets
    }
    assert ["toolz/tests/test_curried.py::test_flaky_w8"] == [
        x.name for t in merged.targets for x in t.tests if x.status.value == "failed"
    ]


def test_the_merged_summary_names_no_file_that_is_not_there(tmp_path: Path) -> None:
    out = tmp_path / "m"
    merged = _merge(out)
    named = [
        path
        for t in merged.targets
        for path in (t.log, t.result, t.digest, *(a.log for a in t.attempts))
        if path is not None
    ]
    assert [] == [p for p in named if not (out / p).exists()]
    verified = replay(tmp_path, "verify", str(out))
    assert 0 == verified.returncode, verified.stdout + verified.stderr
