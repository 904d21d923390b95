"""Tests for `replay._core.matrix` and `replay matrix`: GitHub Actions `include` entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest
from _support import make_summary, make_target
from hypothesis import given
from hypothesis import strategies as st

from replay._core.matrix import github_matrix, rerun_targets, rerun_total
from replay._core.summary import summary_document
from replay._model.errors import ReplayError
from replay._model.models import ChainState, RunStatus, Summary, TargetStatus


def entry(shard: int, total: int, strategy: str, targets: int | None, seconds: float | None) -> Any:
    """One expected `include` entry."""
    return {
        "shard": shard,
        "total": total,
        "strategy": strategy,
        "targets": targets,
        "estimated_seconds": seconds,
    }


@pytest.mark.parametrize(
    ("names", "total", "durations", "expected"),
    [
        (
            [],
            2,
            None,
            [entry(0, 2, "round-robin", None, None), entry(1, 2, "round-robin", None, None)],
        ),
        (
            ["a", "b", "c"],
            2,
            None,
            [entry(0, 2, "round-robin", 2, None), entry(1, 2, "round-robin", 1, None)],
        ),
        (
            ["a", "b", "c"],
            2,
            {"a": 10.0, "b": 6.0, "c": 5.0},
            [entry(0, 2, "duration", 1, 10.0), entry(1, 2, "duration", 2, 11.0)],
        ),
        (
            ["a", "b", "c"],
            2,
            {"a": 10.0, "b": 2.0},
            [entry(0, 2, "duration", 1, 10.0), entry(1, 2, "duration", 2, 8.0)],
        ),
    ],
)
def test_github_matrix(
    names: list[str], total: int, durations: dict[str, float] | None, expected: list[Any]
) -> None:
    """Duration shards with estimates when durations are known, else round-robin."""
    assert {"include": expected} == github_matrix(names, total, durations)


@pytest.mark.parametrize("total", [0, -1])
def test_github_matrix_refuses_no_shards(total: int) -> None:
    """Fewer than one shard is a ReplayError."""
    with pytest.raises(ReplayError):
        github_matrix(["a"], total)


@given(
    durations=st.dictionaries(
        st.text(min_size=1, max_size=8), st.floats(0, 1e6), min_size=1, max_size=40
    ),
    total=st.integers(1, 8),
)
def test_estimates_add_up_to_the_total(durations: dict[str, float], total: int) -> None:
    """The shards' estimates add up to the sum of all durations (to rounding)."""
    matrix = github_matrix(list(durations), total, durations)
    estimated = sum(e["estimated_seconds"] for e in matrix["include"])
    assert sum(durations.values()) == pytest.approx(estimated, abs=0.05 * total + 1e-6)


def _summary(*durations: tuple[str, str, float]) -> Summary:
    return make_summary(
        *(
            make_target(name, "passed", kind=kind, argv=("x",), duration=seconds)
            for name, kind, seconds in durations
        )
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--shards", "2"],
            [entry(0, 2, "round-robin", None, None), entry(1, 2, "round-robin", None, None)],
        ),
        (
            ["--shards", "2", "--from", "{a}", "{b}"],
            [entry(0, 2, "duration", 1, 30.0), entry(1, 2, "duration", 2, 24.0)],
        ),
        (
            ["--shards", "1", "--from", "{a}", "--shard-kind", "unit"],
            [entry(0, 1, "duration", 1, 5.0)],
        ),
    ],
)
def test_cli_matrix_prints_one_json_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: list[Any]
) -> None:
    """`replay matrix` prints the matrix on one line, balanced by the summaries' durations."""
    from replay._cli import main

    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_bytes(
        orjson.dumps(
            summary_document(
                _summary(("slow", "e2e", 30.0), ("mid", "e2e", 10.0), ("u", "unit", 5.0))
            )
        )
    )
    b.write_bytes(
        orjson.dumps(summary_document(_summary(("slow", "e2e", 30.0), ("mid", "e2e", 20.0))))
    )
    argv = [x.format(a=a, b=b) for x in args]
    code = main(["matrix", *argv])
    out = capsys.readouterr().out
    expected_output = (0, 1, {"include": expected})
    assert expected_output == (code, out.count("\n"), orjson.loads(out))


def _merged(*targets: tuple[str, str, float]) -> Summary:
    """A merged summary: `(name, status, seconds)`, outstanding unless it passed."""
    summary = _summary(*((name, "e2e", seconds) for name, _, seconds in targets))
    states = {name: TargetStatus(status) for name, status, _ in targets}
    return Summary(
        run_id=summary.run_id,
        status=RunStatus.FAILED,
        started_at="",
        finished_at="",
        targets=tuple(
            attrs.evolve(
                t,
                status=states[t.name],
                chain_state=ChainState.PASSING if states[t.name].ok else ChainState.OUTSTANDING,
            )
            for t in summary.targets
        ),
    )


def test_rerun_targets_are_the_chain_cores_outstanding() -> None:
    """Only outstanding targets; flaky ones too under fail_on_flaky."""
    merged = _merged(("a", "passed", 1.0), ("b", "failed", 2.0), ("c", "flaky", 3.0))
    expected = (("b",), ("b", "c"), ())
    actual = (
        rerun_targets(merged),
        rerun_targets(merged, fail_on_flaky=True),
        rerun_targets(merged, frozenset({True})),
    )
    assert expected == actual


@pytest.mark.parametrize(("shards", "outstanding", "expected"), [(4, 3, 3), (2, 6, 2), (3, 0, 1)])
def test_rerun_total_never_leaves_a_shard_idle(
    shards: int, outstanding: int, expected: int
) -> None:
    """No more shards than outstanding targets, at least one."""
    assert expected == rerun_total(shards, outstanding)


def test_cli_rerun_matrix_spreads_only_the_outstanding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--rerun-from`: three of six targets outstanding over two shards, by duration."""
    from replay._cli import main

    merged = _merged(
        ("s1", "passed", 1.0),
        ("s2", "failed", 8.0),
        ("s3", "passed", 1.0),
        ("s4", "failed", 5.0),
        ("s5", "passed", 1.0),
        ("s6", "failed", 4.0),
    )
    path = tmp_path / "summary.json"
    path.write_bytes(orjson.dumps(summary_document(merged)))
    code = main(["matrix", "--shards", "4", "--rerun-from", str(path)])
    expected = [
        entry(0, 3, "duration", 1, 8.0),
        entry(1, 3, "duration", 1, 5.0),
        entry(2, 3, "duration", 1, 4.0),
    ]
    assert (0, {"include": expected}) == (code, orjson.loads(capsys.readouterr().out))
