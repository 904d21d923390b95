"""Tests for replay._exec.environment's probes: quick, bounded, never a reason to fail."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from replay._exec import environment


def test_a_probe_gives_the_first_line_it_prints() -> None:
    """stdout and stderr both count; only the first non-empty text's first line is kept."""
    script = "import sys; sys.stderr.write('first\\n'); print('second')"
    assert "first" == environment._sh(sys.executable, "-c", script)


@pytest.mark.parametrize(
    "argv",
    [
        (sys.executable, "-c", "raise SystemExit(3)"),
        ("/nonexistent/replay-probe",),
        (sys.executable, "-c", "pass"),
    ],
)
def test_a_failing_missing_or_silent_probe_is_none(argv: tuple[str, ...]) -> None:
    """A non-zero exit, a missing program and no output are all "not available"."""
    assert environment._sh(*argv) is None


def test_a_probe_sees_replays_environment_in_the_c_locale() -> None:
    """The probe's environment extends replay's own, with LC_ALL=C for stable output."""
    script = "import os; print(os.environ.get('LC_ALL'), 'PATH' in os.environ)"
    assert "C True" == environment._sh(sys.executable, "-c", script)


def test_a_slow_probe_is_stopped_at_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tool that hangs is killed and recorded as absent (no wall-clock assert: it returns)."""
    monkeypatch.setattr(environment, "TOOL_TIMEOUT", 0.2)
    assert environment._sh(sys.executable, "-c", "import time; time.sleep(30)") is None


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_facts_outside_a_repository_are_none(tmp_path: Path) -> None:
    """Outside a repository git answers with an error: both facts are None."""
    assert {"git_sha": None, "git_branch": None} == environment.git_info(str(tmp_path))


def test_tool_versions_lists_every_tool_asked_for() -> None:
    """A tool not on PATH is listed with None; one on PATH with its first line."""
    versions = environment.tool_versions(("replay-no-such-tool",))
    assert {"replay-no-such-tool": None} == versions
