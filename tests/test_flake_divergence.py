"""Where failing runs' logs part from passing runs' logs, normalised as fingerprints are."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from replay._core.flakes import DivergentLine, FlakeRun, divergence
from replay._inputs.logscan import read_log_lines, runs_divergence

PASS = ["start 12ms", "connect to /tmp/abc123 ok", "step 1", "step 2", "done"]
FAIL = ["start 40ms", "connect to /tmp/zz9 ok", "step 1", "retrying after 3 s", "timeout 5"]


def test_the_first_line_where_failures_part_and_lines_only_in_failures() -> None:
    """Numbers and temp paths are normalised away: the runs part at line 4."""
    result = divergence([PASS, PASS], [FAIL, FAIL, [*PASS[:3], "panic: x=1"]])
    assert result is not None
    assert (4, "retrying after <duration>", 2) == (
        result.line_number,
        result.first_line,
        result.first_line_runs,
    )
    assert (
        DivergentLine("retrying after <duration>", 2),
        DivergentLine("timeout <n>", 2),
        DivergentLine("panic: x=<n>", 1),
    ) == result.only_in_failures


def test_nothing_to_compare_without_both_kinds_of_run() -> None:
    """No passing (or no failing) log: no divergence."""
    assert divergence([], [FAIL]) is None
    assert divergence([PASS], []) is None


def test_a_failing_log_that_is_a_passing_prefix_has_no_parting_line() -> None:
    """A failure whose log stops early parts nowhere; the other fields still hold."""
    result = divergence([PASS], [PASS[:2]])
    assert result is not None
    assert (None, None, 0, ()) == (
        result.first_line,
        result.line_number,
        result.first_line_runs,
        result.only_in_failures,
    )


@given(
    st.lists(st.lists(st.text(max_size=20), max_size=6), min_size=1, max_size=4),
    st.lists(st.lists(st.text(max_size=20), max_size=6), min_size=1, max_size=4),
)
def test_never_crashes(passing: list[list[str]], failing: list[list[str]]) -> None:
    """Any text: a result whose counts never exceed the failing runs."""
    result = divergence(passing, failing)
    assert result is not None
    assert result.first_line_runs <= len(failing)
    assert all(1 <= item.runs <= len(failing) for item in result.only_in_failures)


def test_runs_divergence_reads_the_logs(tmp_path: Path) -> None:
    """Logs are read from the run directory (non-UTF-8 replaced, escaping paths ignored)."""
    (tmp_path / "a.log").write_text("\n".join(PASS) + "\n")
    (tmp_path / "b.log").write_bytes("\n".join(FAIL).encode() + b"\n\xff\n")
    runs = [
        FlakeRun(number=1, passed=True, log="a.log"),
        FlakeRun(number=2, passed=False, log="b.log"),
        FlakeRun(number=3, passed=False, log="../escape.log"),
    ]
    result = runs_divergence(tmp_path, runs)
    assert result is not None
    assert (1, 1, "retrying after <duration>") == (
        result.passing_runs,
        result.failing_runs,
        result.first_line,
    )
    assert "\ufffd" == read_log_lines(tmp_path / "b.log")[-1]
    assert () == read_log_lines(tmp_path / "missing.log")
