"""Every name in a run directory is spelled once, in `replay/_model/names.py` (STYLE habit 11).

The other modules use its constants (`SUMMARY_NAME`, `result_path(job_id)`, ...);
a second spelling of a name is where a writer and a reader start to disagree.
Docstrings and comments may name the files (they are documentation); any other
string constant, f-string parts included, may not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import replay._model.names as artifacts

PACKAGE = Path(artifacts.__file__).parent
OWNER = Path(artifacts.__file__)

NAMES = {
    "summary.json": artifacts.SUMMARY_NAME,
    "replay_bundle.json": artifacts.BUNDLE_NAME,
    "environment.json": artifacts.ENVIRONMENT_NAME,
    "events.jsonl": artifacts.EVENTS_NAME,
    "triage_diff.json": artifacts.TRIAGE_NAME,
    "failure_diagnostics_index.json": artifacts.DIAGNOSTICS_NAME,
    "index.json": artifacts.INDEX_NAME,
    "flake_report.json": artifacts.FLAKE_REPORT_NAME,
    "output.log": artifacts.LOG_NAME,
    "result.json": artifacts.RESULT_NAME,
    "failure_digest.json": artifacts.DIGEST_NAME,
    "junit.xml": artifacts.JUNIT_NAME,
    "waiver_audit.json": artifacts.WAIVER_AUDIT_NAME,
    "quarantine_report.json": artifacts.QUARANTINE_REPORT_NAME,
    "carried": artifacts.CARRIED_DIR,
    ".replay.lock": artifacts.LOCK_NAME,
    "attempt-": artifacts.ATTEMPT_PREFIX,
}
"""Each name a run directory holds, and the one constant that spells it."""

_NOT_PART_OF_A_NAME = r"(?<![\w.-])"
PATTERNS = {
    **{
        name: re.compile(_NOT_PART_OF_A_NAME + re.escape(name) + r"(?![\w-])")
        for name in NAMES
        if name not in ("carried", "attempt-")
    },
    # Plain words too: only as a path component ("carried/...", "attempt-2").
    "carried": re.compile(_NOT_PART_OF_A_NAME + r"carried(?=/|$)"),
    "attempt-": re.compile(_NOT_PART_OF_A_NAME + r"attempt-(?=[0-9]|$)"),
}

ALLOWED: dict[tuple[str, str], str] = {}
"""`(module, name)` pairs that may keep a literal, each with its reason (none needed today)."""


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string constants that document something (bare string statements)."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def spelled_names(source: str) -> set[str]:
    """The run-directory names that string constants of `source` (not its docstrings) spell."""
    tree = ast.parse(source)
    documentation = _docstrings(tree)
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in documentation
        ):
            found |= {name for name, pattern in PATTERNS.items() if pattern.search(node.value)}
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p != OWNER)


def _spellings() -> set[tuple[str, str]]:
    return {
        (path.relative_to(PACKAGE.parent).as_posix(), name)
        for path in _modules()
        for name in spelled_names(path.read_text(encoding="utf-8"))
    }


def test_every_name_has_its_constant_in_artifacts() -> None:
    """Each run-directory name is the value of its `_artifacts` constant."""
    assert list(NAMES) == list(NAMES.values())


def test_only_artifacts_spells_a_run_directory_name() -> None:
    """No module but `_artifacts.py` spells a run-directory name outside its docstrings."""
    assert set() == _spellings() - ALLOWED.keys()


def test_the_allow_list_holds_only_what_is_still_spelled() -> None:
    """An allow-list entry whose literal is gone is removed, so the list stays a true record."""
    assert set() == ALLOWED.keys() - _spellings()


def test_artifacts_itself_spells_every_name() -> None:
    """The owner spells every name the scan looks for (so the scan looks for the right text)."""
    assert set(NAMES) == spelled_names(OWNER.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('path = run_dir / "summary.json"\n', {"summary.json"}),
        ('relative = f"{job}/result.json"\n', {"result.json"}),
        ('parts = (base, f"attempt-{number}")\n', {"attempt-"}),
        ('target = Path("carried", run_id)\n', {"carried"}),
        ('target = "carried/abc/x.log"\n', {"carried"}),
        ('lock = ".replay.lock"\n', {".replay.lock"}),
        ('help = "a summary.json"\n', {"summary.json"}),
        ('index = "failure_diagnostics_index.json"\n', {"failure_diagnostics_index.json"}),
        ('def f() -> None:\n    """Writes `summary.json`."""\n', set()),
        ('X = 1\n"""The `<job>/attempt-N` directory, `carried/`."""\n', set()),
        ("# writes summary.json\nx = 1\n", set()),
        ('note = "3 carried from earlier runs"\n', set()),
        ('help = "attempts at once"\n', set()),
        ('path = f"{name}.schema.json"\n', set()),
        ('path = "my_summary.json.bak"\n', set()),
    ],
)
def test_the_scan_finds_literals_and_skips_documentation(source: str, expected: set[str]) -> None:
    """String constants and f-string parts count; docstrings, comments and other words do not."""
    assert expected == spelled_names(source)
