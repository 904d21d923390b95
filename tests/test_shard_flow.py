"""Sharding end to end: N shard runs cover the plan once, merge, and rerun from the merge."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from _support import load_json as load
from _support import replay

pytestmark = pytest.mark.slow

NAMES = [f"suite_{c}" for c in "abcdefg"]
FAILING = {"suite_b", "suite_f"}


@pytest.mark.parametrize("strategy", ["round-robin", "hash", "duration"])
def test_shards_merge_and_rerun(tmp_path: Path, strategy: str) -> None:
    """Three shards run every suite exactly once; the merged summary reruns both failures."""
    lines = []
    for name in NAMES:
        command = '["false"]' if name in FAILING else '["true"]'
        lines += ["[[replay.suites]]", f'name = "{name}"', f"command = {command}"]
    (tmp_path / "replay.toml").write_text("\n".join(lines) + "\n")
    ran: list[str] = []
    for index in range(3):
        result = replay(
            tmp_path,
            "run",
            "--shard-index",
            str(index),
            "--shard-total",
            "3",
            "--shard-strategy",
            strategy,
            "--out",
            f"shards/shard-{index}",
        )
        assert result.returncode in (0, 1), result.stderr
        summary = load(tmp_path / f"shards/shard-{index}/summary.json")
        assert {"index": index, "total": 3, "strategy": strategy} == {
            k: summary["shard"][k] for k in ("index", "total", "strategy")
        }
        assert f"both-{index}-of-3" == summary["shard"]["name"]
        ran += [t["name"] for t in summary["targets"]]
    assert sorted(NAMES) == sorted(ran)

    shard_summaries = [f"shards/shard-{i}/summary.json" for i in range(3)]
    merged = replay(tmp_path, "merge", *shard_summaries, "--out", "shards")
    assert 1 == merged.returncode, merged.stdout + merged.stderr
    document = load(tmp_path / "shards/summary.json")
    assert sorted(NAMES) == sorted(t["name"] for t in document["targets"])
    assert sorted(FAILING) == sorted(document["failed_names"])
    bundle = load(tmp_path / "shards/replay_bundle.json")
    assert document["one_command_replay"] == bundle["one_command_replay"]

    dry = replay(tmp_path, "--rerun-from", "shards/summary.json", "--dry-run")
    assert sorted(FAILING) == sorted(j["target"] for j in orjson.loads(dry.stdout)["jobs"])


def test_auto_shard_from_gitlab_variables(tmp_path: Path) -> None:
    """`--shard auto` reads GitLab's 1-based CI_NODE_INDEX."""
    import os

    (tmp_path / "replay.toml").write_text(
        "".join(f'[[replay.suites]]\nname = "{n}"\ncommand = ["true"]\n' for n in NAMES)
    )
    env = {**os.environ, "CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "2"}
    result = replay(tmp_path, "run", "--shard", "auto", "--dry-run", env=env)
    plan = orjson.loads(result.stdout)
    assert (1, 2) == (plan["shard"]["index"], plan["shard"]["total"])
    assert NAMES[1::2] == [j["target"] for j in plan["jobs"]]


def test_empty_shard_is_a_success(tmp_path: Path) -> None:
    """More shards than suites: an empty shard says so and exits 0."""
    (tmp_path / "replay.toml").write_text('[[replay.suites]]\nname = "only"\ncommand = ["true"]\n')
    result = replay(tmp_path, "run", "--shard-index", "3", "--shard-total", "4")
    assert 0 == result.returncode
    assert "nothing to run" in result.stderr


def test_matrix_from_config_and_durations(tmp_path: Path) -> None:
    """`replay matrix` takes the suites from the config and balances them by past durations."""
    (tmp_path / "replay.toml").write_text(
        "".join(f'[[replay.suites]]\nname = "{n}"\ncommand = ["true"]\n' for n in NAMES)
    )
    replay(tmp_path, "run", "--out", "last")
    result = replay(tmp_path, "matrix", "--shards", "3", "--from", "last/summary.json")
    assert 0 == result.returncode, result.stderr
    include = orjson.loads(result.stdout)["include"]
    assert [0, 1, 2] == [entry["shard"] for entry in include]
    assert {3} == {entry["total"] for entry in include}
    assert len(NAMES) == sum(entry["targets"] for entry in include)
