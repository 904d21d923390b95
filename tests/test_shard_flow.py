"""Sharding end to end: N shard runs cover the plan once, merge, and rerun from the merge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


CHAIN_SUITES = [f"s{i}" for i in range(1, 7)]
CHAIN_FAILING = {"s2", "s4", "s6"}


def _chain_config(root: Path) -> None:
    """Six suites; s2, s4 and s6 fail on their first run only (a marker file remembers)."""
    markers = root / "markers"
    markers.mkdir()
    lines = []
    for name in CHAIN_SUITES:
        if name in CHAIN_FAILING:
            marker = markers / name
            command = f'["sh", "-c", "test -f {marker} || {{ touch {marker}; exit 1; }}"]'
        else:
            command = '["true"]'
        lines += ["[[replay.suites]]", f'name = "{name}"', f"command = {command}"]
    (root / "replay.toml").write_text("\n".join(lines) + "\n")


def _states(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((t["name"], t["status"], t["chain_state"]) for t in summary["targets"])


def _verified(root: Path, *dirs: str) -> list[int]:
    return [replay(root, "verify", d).returncode for d in dirs]


def test_sharded_chain_reaches_green_like_the_unsharded_one(tmp_path: Path) -> None:
    """Shard, merge, rerun matrix, sharded rerun, merge: the same green as run + rerun."""
    alone, spread = tmp_path / "alone", tmp_path / "spread"
    for root in (alone, spread):
        root.mkdir()
        _chain_config(root)
    # The unsharded chain.
    assert 1 == replay(alone, "run", "--out", "r1").returncode
    assert 0 == replay(alone, "run", "--rerun-from", "r1/summary.json", "--out", "r2").returncode
    reference = load(alone / "r2/summary.json")

    # The same chain over two machines.
    for index in range(2):
        shard = ("--shard-index", str(index), "--shard-total", "2")
        assert replay(spread, "run", *shard, "--out", f"first/s{index}").returncode in (0, 1)
    merged = replay(spread, "merge", "first/s0/summary.json", "first/s1/summary.json")
    assert 2 == merged.returncode  # --out is required: argparse refuses
    merged = replay(
        spread, "merge", "first/s0/summary.json", "first/s1/summary.json", "--out", "first"
    )
    assert 1 == merged.returncode, merged.stdout + merged.stderr

    printed = replay(spread, "matrix", "--shards", "2", "--rerun-from", "first/summary.json")
    include = orjson.loads(printed.stdout)["include"]
    assert (2, 3, {"duration"}) == (
        len(include),
        sum(e["targets"] for e in include),
        {e["strategy"] for e in include},
    )
    rerun_dirs = []
    for entry in include:
        out = f"again/rr{entry['shard']}"
        result = replay(
            spread,
            "run",
            "--rerun-from",
            "first/summary.json",
            "--shard-index",
            str(entry["shard"]),
            "--shard-total",
            str(entry["total"]),
            "--shard-strategy",
            entry["strategy"],
            "--out",
            out,
        )
        assert 0 == result.returncode, result.stderr
        executed = [
            t["name"]
            for t in load(spread / out / "summary.json")["targets"]
            if t["decided_by"] == load(spread / out / "summary.json")["run_id"]
        ]
        assert entry["targets"] == len(executed)
        rerun_dirs.append(out)
    summaries = [f"{d}/summary.json" for d in rerun_dirs]
    final = replay(spread, "merge", *summaries, "--out", "again")
    assert 0 == final.returncode, final.stdout + final.stderr
    document = load(spread / "again/summary.json")
    assert _states(reference) == _states(document)
    assert sorted(CHAIN_SUITES) == sorted(t["name"] for t in document["targets"])
    assert "passed" == document["status"]
    dirs = ["first/s0", "first/s1", *rerun_dirs, "first", "again"]
    assert [0] * len(dirs) == _verified(spread, *dirs)


def _first_run_in_two_shards(root: Path) -> None:
    """The chain config run as shards 0 and 1 of 2 (`first/s0`, `first/s1`), merged in `first`."""
    _chain_config(root)
    for index in range(2):
        shard = ("--shard-index", str(index), "--shard-total", "2")
        replay(root, "run", *shard, "--out", f"first/s{index}")
    replay(root, "merge", "first/s0/summary.json", "first/s1/summary.json", "--out", "first")


def test_a_shard_run_again_replaces_its_earlier_summary(tmp_path: Path) -> None:
    """CI re-runs one rerun shard: the newest run wins, the older is named, merge passes."""
    _first_run_in_two_shards(tmp_path)
    rerun: tuple[str, ...] = ("--rerun-from", "first/summary.json", "--shard-total", "2")
    rerun += ("--shard-strategy", "duration")
    for index, out in ((0, "again/rr0-a"), (1, "again/rr1"), (0, "again/rr0-b")):
        replay(tmp_path, "run", *rerun, "--shard-index", str(index), "--out", out)
    inputs = [f"again/{d}/summary.json" for d in ("rr0-b", "rr1", "rr0-a")]
    result = replay(tmp_path, "merge", *inputs, "--out", "again", "--json")
    report = orjson.loads(result.stdout)
    expected = (0, [{"source": inputs[2], "by": inputs[0], "shard": "both-0-of-2"}], True)
    assert expected == (result.returncode, report["superseded"], report["written"])
    names = [t["name"] for t in load(tmp_path / "again/summary.json")["targets"]]
    assert sorted(CHAIN_SUITES) == sorted(names)


def test_a_refused_merge_writes_nothing(tmp_path: Path) -> None:
    """Shards that continue different runs are refused (exit 2) and nothing is written."""
    _first_run_in_two_shards(tmp_path)
    rerun = ("--rerun-from", "first/summary.json", "--shard-total", "2")
    replay(tmp_path, "run", *rerun, "--shard-index", "0", "--out", "again/rr0")
    result = replay(
        tmp_path, "merge", "again/rr0/summary.json", "first/s1/summary.json", "--out", "mixed"
    )
    assert (2, False) == (result.returncode, (tmp_path / "mixed/summary.json").exists())
    assert "continue different runs" in result.stdout


def test_auto_shard_from_a_kubernetes_indexed_job(tmp_path: Path) -> None:
    """`--shard auto` reads JOB_COMPLETION_INDEX, with the total from --shard-total."""
    (tmp_path / "replay.toml").write_text(
        "".join(f'[[replay.suites]]\nname = "{n}"\ncommand = ["true"]\n' for n in NAMES)
    )
    env = {"JOB_COMPLETION_INDEX": "1"}
    auto = ("run", "--shard", "auto", "--dry-run")
    result = replay(tmp_path, *auto, "--shard-total", "2", env=env)
    plan = orjson.loads(result.stdout)
    assert (1, 2) == (plan["shard"]["index"], plan["shard"]["total"])
    assert NAMES[1::2] == [j["target"] for j in plan["jobs"]]
    no_total = replay(tmp_path, *auto, env=env)
    assert (2, True) == (no_total.returncode, "--shard-total" in no_total.stderr)
    too_far = replay(tmp_path, *auto, "--shard-total", "2", env={"JOB_COMPLETION_INDEX": "2"})
    assert (2, True) == (too_far.returncode, "out of range" in too_far.stderr)
