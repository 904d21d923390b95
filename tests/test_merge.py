"""Tests for `_core.merge` and `replay merge`: union, chain state, overlaps, missing shards."""

from __future__ import annotations

from pathlib import Path

import attrs
import orjson
import pytest
from _support import make_target

from replay._cli._merge import refuse_own_inputs
from replay._core.merge import MergeResult, Overlap, Superseded, merge_summaries, rebase_paths
from replay._core.summary import summary_document
from replay._model import models
from replay._model.errors import ReplayError
from replay._model.models import RunStatus, TargetStatus


def target(name: str, status: str = "passed", *, log: str | None = None) -> models.TargetResult:
    """A target, outstanding unless it passed."""
    return make_target(name, status, argv=("run-suite", name), log=log)


def shard_summary(
    index: int | None,
    total: int,
    *targets: models.TargetResult,
    kind: str = "suite",
    strategy: str = "round-robin",
    status: RunStatus | None = None,
    started: str = "2026-02-06T21:00:00Z",
    finished: str = "2026-02-06T21:10:00Z",
) -> models.Summary:
    """The summary of shard `index` of `total` (no shard block if index is None)."""
    failed = any(t.outstanding for t in targets)
    return models.Summary(
        run_id=f"run-{index}",
        status=status or (RunStatus.FAILED if failed else RunStatus.PASSED),
        started_at=started,
        finished_at=finished,
        targets=targets,
        shard=None if index is None else models.Shard(index, total, kind, strategy),
        profile="ci",
    )


def merge(
    *summaries: models.Summary, summary_path: str | None = "merged/summary.json"
) -> MergeResult:
    """Merge with fixed run id, time and sources `s0`, `s1`, ..."""
    return merge_summaries(
        [(f"s{i}", s) for i, s in enumerate(summaries)],
        run_id="merged",
        now="2026-02-07T00:00:00Z",
        summary_path=summary_path,
    )


def test_complete_shards_merge_into_one_summary() -> None:
    """Three shards of one plan: every target once, failed if any is outstanding, no shard."""
    result = merge(
        shard_summary(2, 3, target("c", "failed")),
        shard_summary(0, 3, target("a"), target("d")),
        shard_summary(1, 3, target("b"), started="2026-02-06T20:59:00Z"),
    )
    merged = result.summary
    expected = (
        ["a", "d", "b", "c"],
        RunStatus.FAILED,
        None,
        "ci",
        "2026-02-06T20:59:00Z",
        True,
        "python -m replay --rerun-from merged/summary.json",
    )
    actual = (
        [t.name for t in merged.targets],
        merged.status,
        merged.shard,
        merged.profile,
        merged.started_at,
        result.consistent,
        merged.one_command_replay,
    )
    assert expected == actual


def test_green_merge_has_no_replay_command() -> None:
    """Nothing outstanding: passed, and no command to rerun."""
    merged = merge(shard_summary(0, 2, target("a")), shard_summary(1, 2, target("b"))).summary
    expected = (RunStatus.PASSED, None)
    assert expected == (merged.status, merged.one_command_replay)


def test_interrupted_shard_makes_the_merge_interrupted() -> None:
    """A shard that was interrupted leaves the merged run interrupted."""
    result = merge(
        shard_summary(0, 2, target("a", "not_run"), status=RunStatus.INTERRUPTED),
        shard_summary(1, 2, target("b")),
    )
    assert RunStatus.INTERRUPTED == result.summary.status


def test_overlap_is_reported_and_the_failure_kept() -> None:
    """A target in two shards is an overlap; its outstanding record wins."""
    result = merge(
        shard_summary(0, 2, target("a"), target("x")),
        shard_summary(1, 2, target("a", "failed"), target("y")),
    )
    [a] = [t for t in result.summary.targets if t.name == "a"]
    expected = ((Overlap("a", ("s0", "s1")),), TargetStatus.FAILED, False)
    assert expected == (result.overlaps, a.status, result.consistent)


@pytest.mark.parametrize(
    ("shards", "expected_missing", "expected_duplicate"),
    [
        ([(0, 3), (2, 3)], ("suite-1-of-3",), ()),
        ([(1, 4)], ("suite-0-of-4", "suite-2-of-4", "suite-3-of-4"), ()),
        ([(0, 2), (0, 2), (1, 2)], (), ("suite-0-of-2",)),
        ([(0, 1)], (), ()),
    ],
)
def test_missing_and_duplicate_shards(
    shards: list[tuple[int, int]],
    expected_missing: tuple[str, ...],
    expected_duplicate: tuple[str, ...],
) -> None:
    """Shards of the plan that no input holds, or that two inputs hold, are named."""
    result = merge(*(shard_summary(i, n, target(f"t{k}")) for k, (i, n) in enumerate(shards)))
    expected = (expected_missing, expected_duplicate)
    assert expected == (result.missing_shards, result.duplicate_shards)


def test_mismatched_totals_and_strategies() -> None:
    """Shards cut from different totals or strategies cannot be one plan."""
    result = merge(
        shard_summary(0, 2, target("a")),
        shard_summary(1, 3, target("b"), strategy="hash"),
    )
    expected = (
        (
            "suite shards disagree on the total (s0: suite-0-of-2, s1: suite-1-of-3)",
            "suite shards disagree on the strategy (s0: round-robin, s1: hash)",
        ),
        (),
        False,
    )
    assert expected == (result.mismatches, result.missing_shards, result.consistent)


def test_kinds_are_checked_separately() -> None:
    """Suite shards and unit shards are separate plans that merge together."""
    result = merge(
        shard_summary(0, 2, target("a")),
        shard_summary(1, 2, target("b")),
        shard_summary(0, 1, target("u"), kind="unit"),
    )
    expected = ((), (), True)
    assert expected == (result.missing_shards, result.mismatches, result.consistent)


def test_unsharded_inputs_are_noted() -> None:
    """A summary without a shard block merges, noted as unchecked."""
    result = merge(shard_summary(None, 1, target("a")), shard_summary(None, 1, target("b")))
    expected = (("s0", "s1"), True, 2)
    assert expected == (result.unsharded, result.consistent, len(result.summary.targets))


def test_no_summaries_is_an_error() -> None:
    """Merging nothing is a ReplayError that says what to pass."""
    with pytest.raises(ReplayError, match="pass the shard summaries"):
        merge()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a/output.log", "shard-0/a/output.log"),
        (None, None),
    ],
)
def test_rebase_paths_into_the_merged_directory(path: str | None, expected: str | None) -> None:
    """Artifact paths move from the shard's directory to the merged one's."""
    t = make_target(
        "a",
        log=path,
        digest=path,
        result=path,
        attempts=(models.Attempt(number=1, log=path),),
    )
    s = shard_summary(0, 1, t)
    [moved] = rebase_paths(s, "/ci/shards/shard-0", "/ci/shards").targets
    assert (expected,) * 4 == (moved.log, moved.digest, moved.result, moved.attempts[0].log)


def test_rebase_drops_paths_that_leave_the_merged_directory() -> None:
    """A log outside the merged directory is not pointed at (a reader would refuse it)."""
    s = shard_summary(0, 1, target("a", "failed", log="a/output.log"))
    [moved] = rebase_paths(s, "/ci/shard-0", "/ci/merged").targets
    assert moved.log is None


# --- the CLI ------------------------------------------------------------------------


def _write(path: Path, value: models.Summary) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(summary_document(value)))
    return path


@pytest.mark.parametrize(
    ("shards", "expected_code"),
    [
        ([(0, 2, "passed"), (1, 2, "passed")], 0),
        ([(0, 2, "passed"), (1, 2, "failed")], 1),
        ([(0, 3, "passed"), (1, 3, "failed")], 2),
    ],
)
def test_cli_merge_writes_summary_and_exit_code(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    shards: list[tuple[int, int, str]],
    expected_code: int,
) -> None:
    """`replay merge` writes DIR/summary.json; exit 2 for missing shards, 1 for failures."""
    from replay._cli import main
    from replay._inputs.readers import load_summary

    paths = [
        str(
            _write(
                tmp_path / f"shard-{i}" / "summary.json", shard_summary(i, n, target(f"t{i}", s))
            )
        )
        for i, n, s in shards
    ]
    code = main(["merge", *paths, "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    if expected_code == 2:  # refused: nothing written
        assert (False, True) == ((tmp_path / "summary.json").exists(), "refused" in printed)
        return
    merged = load_summary(tmp_path / "summary.json")
    expected = (expected_code, sorted(f"t{i}" for i, _, _ in shards), True)
    actual = (code, sorted(t.name for t in merged.targets), "merged" in printed)
    assert expected == actual


def test_cli_merge_keeps_logs_inside_out(tmp_path: Path) -> None:
    """Logs of shard directories under --out stay reachable from the merged summary."""
    from replay._cli import main
    from replay._inputs.readers import load_summary

    shard_dir = tmp_path / "shard-0"
    (shard_dir / "a").mkdir(parents=True)
    (shard_dir / "a" / "output.log").write_text("boom\n")
    path = _write(
        shard_dir / "summary.json", shard_summary(0, 1, target("a", "failed", log="a/output.log"))
    )
    code = main(["merge", str(path), "--out", str(tmp_path)])
    merged = load_summary(tmp_path / "summary.json")
    expected = (1, "shard-0/a/output.log", f"python -m replay --rerun-from {tmp_path}/summary.json")
    assert expected == (code, merged.targets[0].log, merged.one_command_replay)


def test_cli_merge_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--json` prints the overlaps and missing shards for machines."""
    from replay._cli import main

    a = _write(tmp_path / "a" / "summary.json", shard_summary(0, 3, target("x")))
    b = _write(tmp_path / "b" / "summary.json", shard_summary(1, 3, target("x")))
    code = main(["merge", str(a), str(b), "--out", str(tmp_path / "m"), "--json"])
    report = orjson.loads(capsys.readouterr().out)
    expected = (2, [{"name": "x", "sources": [str(a), str(b)]}], ["suite-2-of-3"])
    assert expected == (code, report["overlaps"], report["missing_shards"])


def test_shards_passing_with_quarantined_failures_merge_passed() -> None:
    """The merge uses the chain core's status rule: a quarantined failure does not fail it."""
    spared = [attrs.evolve(target(f"q{i}", "failed"), quarantined=True) for i in range(2)]
    inputs = [
        (f"s{i}.json", attrs.evolve(shard_summary(i, 2, target(f"ok{i}"), spared[i]), config=c))
        for i, c in enumerate(["ci/replay.toml", "ci/replay.toml"])
    ]
    inputs = [(src, attrs.evolve(s, status=RunStatus.PASSED)) for src, s in inputs]
    merged = merge_summaries(inputs, run_id="m", now="t", summary_path="m/summary.json").summary
    assert RunStatus.PASSED == merged.status
    assert "ci/replay.toml" == merged.config
    expected = "python -m replay --rerun-from m/summary.json --config ci/replay.toml"
    assert expected == merged.one_command_replay


def test_merge_keeps_policy_failures() -> None:
    """A shard that failed on policy (an expired quarantine entry) fails the merge too."""
    failed = attrs.evolve(shard_summary(0, 2, target("a")), policy_failures=("expired",))
    merged = merge_summaries(
        [("s0.json", failed), ("s1.json", shard_summary(1, 2, target("b")))], run_id="m", now="t"
    ).summary
    assert (RunStatus.FAILED, ("expired",)) == (merged.status, merged.policy_failures)


@pytest.mark.parametrize("out", ["s0", "s0/", "link", "s0/../s0"])
def test_refuse_own_inputs_when_out_holds_an_input(tmp_path: Path, out: str) -> None:
    """`--out` naming (by any path) the directory of an input summary is a `ReplayError`."""
    (tmp_path / "s0").mkdir()
    (tmp_path / "s0/summary.json").write_text("{}")
    (tmp_path / "link").symlink_to(tmp_path / "s0", target_is_directory=True)
    with pytest.raises(ReplayError, match="would overwrite"):
        refuse_own_inputs(tmp_path / out, [tmp_path / "s0/summary.json"])


def test_refuse_own_inputs_sees_an_input_linked_into_out(tmp_path: Path) -> None:
    """An input that is a link to `--out`'s summary is refused: it would read the merge."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out/summary.json").write_text("{}")
    (tmp_path / "soft.json").symlink_to(tmp_path / "out/summary.json")
    with pytest.raises(ReplayError, match="would overwrite"):
        refuse_own_inputs(tmp_path / "out", [tmp_path / "soft.json"])


def test_refuse_own_inputs_allows_the_shards_parent(tmp_path: Path) -> None:
    """Merging into the parent of the shard directories is the normal case: allowed."""
    (tmp_path / "s0").mkdir()
    (tmp_path / "s0/summary.json").write_text("{}")
    refuse_own_inputs(tmp_path, [tmp_path / "s0/summary.json"])


def rerun_shard(
    index: int,
    *targets: models.TargetResult,
    run_id: str = "",
    parent: str = "merged-1",
    finished: str = "2026-02-06T21:10:00Z",
) -> models.Summary:
    """Shard `index` of 2 of a rerun of `parent`: targets decided by `r` were carried."""
    summary = shard_summary(index, 2, *targets, finished=finished)
    return attrs.evolve(summary, run_id=run_id or f"rr-{index}", parent_run_id=parent)


def executed(name: str, run_id: str, status: str = "passed") -> models.TargetResult:
    """A target the run `run_id` executed itself."""
    return attrs.evolve(target(name, status), decided_by=run_id)


def test_rerun_shards_count_carried_targets_once() -> None:
    """Every rerun shard carries the parent's passes: once each, no overlap, consistent."""
    result = merge(
        rerun_shard(0, target("a"), target("b"), executed("c", "rr-0")),
        rerun_shard(1, target("a"), target("b"), executed("d", "rr-1")),
    )
    expected = ((), True, ["a", "b", "c", "d"], RunStatus.PASSED, "merged-1")
    actual = (
        result.overlaps,
        result.consistent,
        sorted(t.name for t in result.summary.targets),
        result.summary.status,
        result.summary.parent_run_id,
    )
    assert expected == actual


def test_an_executed_record_beats_carried_ones() -> None:
    """A target one shard ran and another carried is the ran record."""
    result = merge(
        rerun_shard(0, target("a", "failed"), executed("b", "rr-0")),
        rerun_shard(1, executed("a", "rr-1")),
    )
    [a] = [t for t in result.summary.targets if t.name == "a"]
    assert ((), "rr-1", TargetStatus.PASSED) == (result.overlaps, a.decided_by, a.status)


def test_two_executed_records_overlap() -> None:
    """A target two rerun shards both ran is an overlap: the split went wrong."""
    result = merge(rerun_shard(0, executed("a", "rr-0")), rerun_shard(1, executed("a", "rr-1")))
    assert (Overlap("a", ("s0", "s1")),) == result.overlaps


def test_a_shard_run_again_is_superseded_by_the_newest() -> None:
    """One shard twice with different run ids: newest wins, the older is named."""
    old = rerun_shard(0, executed("a", "old", "failed"), run_id="old")
    new = rerun_shard(0, executed("a", "new"), run_id="new", finished="2026-02-06T22:00:00Z")
    other = rerun_shard(1, executed("b", "rr-1"))
    result = merge(new, other, old)
    expected = ((Superseded("s2", "s0", "suite-0-of-2"),), (), True, RunStatus.PASSED)
    actual = (
        result.superseded,
        result.duplicate_shards,
        result.consistent,
        result.summary.status,
    )
    assert expected == actual


def test_shards_of_different_parents_are_a_mismatch() -> None:
    """Rerun shards of two different chains cannot be merged."""
    result = merge(rerun_shard(0, target("a")), rerun_shard(1, target("b"), parent="other"))
    assert (False, ("shards continue different runs (s0: merged-1, s1: other)",)) == (
        result.consistent,
        result.mismatches,
    )
