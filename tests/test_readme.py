"""The README's promises: its Python example runs, its quickstart names real commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def python_example() -> str:
    """The code block of the "Use from Python" section."""
    section = README.split("## Use from Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_use_from_python_example_runs(tmp_path: Path) -> None:
    """The README's library example runs as written and prints what its comments say."""
    result = subprocess.run(
        [sys.executable, "-c", python_example()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert 0 == result.returncode, result.stderr
    lines = result.stdout.strip().splitlines()
    assert "1 [('ok', 'passed'), ('broken', 'failed')]" == lines[0]
    assert "['broken']" == lines[1]
    assert (tmp_path / "replay-results/example/summary.json").is_file()


def test_quickstart_is_two_commands() -> None:
    """The quickstart block holds exactly two commands, the second is what CI runs."""
    block = README.split("## Quickstart", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip()]
    assert 2 == len(commands)
    assert "examples/demo/replay.toml" in commands[0]
    ci = (ROOT / ".ci" / "run").read_text()
    for step in ("ruff check .", "ruff format --check .", "mypy", "pytest"):
        assert step in commands[1]
        assert step in ci
