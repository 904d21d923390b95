"""Mutation score of the pure core: mutmut, each module against its own unit tests.

    python scripts/mutation.py                 # every module in MODULES
    python scripts/mutation.py chain planning  # a few, by short name
    python scripts/mutation.py --show chain    # and print each surviving mutant's diff

For each module the project is copied to a temporary directory (mutmut writes a
`mutants/` tree and a config beside the sources), mutmut mutates that one file
and runs only the module's own test files, and the script prints killed,
survived and the score. A module's score counts mutants its unit tests kill;
a mutant that times out counts as killed, one with no covering test as survived.
Needs `pip install mutmut` (not a test dependency: it is slow and CPU-bound).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "chain": (
        "replay/_core/chain.py",
        ("tests/test_chain_core.py", "tests/test_unit_chain.py"),
    ),
    "planning": (
        "replay/_core/planning.py",
        ("tests/test_planning.py", "tests/test_unit_planning.py"),
    ),
    "diff": ("replay/_core/diff.py", ("tests/test_diff.py", "tests/test_unit_diff.py")),
    "taxonomy": (
        "replay/_core/taxonomy.py",
        ("tests/test_taxonomy.py", "tests/test_unit_taxonomy.py"),
    ),
    "shards": (
        "replay/_core/shards.py",
        ("tests/test_shards.py", "tests/test_unit_shards.py"),
    ),
    "flakes": (
        "replay/_core/flakes.py",
        ("tests/test_flakes.py", "tests/test_flake_divergence.py", "tests/test_unit_flakes.py"),
    ),
    "merge": ("replay/_core/merge.py", ("tests/test_merge.py",)),
    "outcomes": ("replay/_model/outcomes.py", ("tests/test_outcomes.py",)),
    # test_redact.py runs replay end to end (1066 s under mutmut): the unit file alone.
    "redact": ("replay/_core/redact.py", ("tests/test_unit_redact.py",)),
}
"""Short name -> (the module, its unit tests)."""

KILLED = ("killed", "timeout", "segfault", "suspicious")
SURVIVED = ("survived", "no_tests")


def _run(cwd: Path, *argv: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """`argv` run in `cwd`, its stdout and stderr captured as text."""
    return subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, check=check)


def _copy_project(into: Path) -> None:
    files = _run(ROOT, "git", "ls-files", "-co", "--exclude-standard", check=True).stdout.split()
    for name in files:
        source = ROOT / name
        if source.is_file() and not name.startswith(("mutants/", ".ci/")):
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _configure(project: Path, module: str, tests: tuple[str, ...]) -> None:
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    listed = ", ".join(json.dumps(t) for t in (*tests, "-p", "no:cacheprovider", "-x", "-q"))
    text += (
        "\n[tool.mutmut]\n"
        'source_paths = ["replay"]\n'
        f"only_mutate = [{json.dumps(module)}]\n"
        f"pytest_add_cli_args_test_selection = [{listed}]\n"
    )
    pyproject.write_text(text)


_SHOW_SURVIVORS = """
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
from mutmut.utils.file_utils import walk_mutatable_files

for path in walk_mutatable_files():
    data = SourceFileMutationData(path=path)
    data.load()
    for name, code in data.exit_code_by_key.items():
        status = status_by_exit_code[code]
        if status in ("survived", "no tests"):
            print(f"# {name}: {status}")
            print(get_diff_for_mutant(name, path=path))
"""
"""One process prints every survivor's diff (`mutmut show` per mutant takes a second each)."""


def _survivors(project: Path) -> str:
    """The diff of every mutant that survived or had no covering test."""
    return _run(project, sys.executable, "-c", _SHOW_SURVIVORS).stdout


def score(
    name: str, module: str, tests: tuple[str, ...], *, show: bool = False
) -> dict[str, float | int | str]:
    """Run mutmut on `module` with only `tests`; the counts of its CI/CD stats."""
    with tempfile.TemporaryDirectory(prefix=f"mutation-{name}-") as tmp:
        project = Path(tmp)
        _copy_project(project)
        _configure(project, module, tests)
        started = time.perf_counter()
        run = _run(project, sys.executable, "-m", "mutmut", "run")
        _run(project, sys.executable, "-m", "mutmut", "export-cicd-stats")
        stats_file = project / "mutants" / "mutmut-cicd-stats.json"
        if not stats_file.is_file():
            tail = (run.stdout + run.stderr).strip().splitlines()[-5:]
            return {"module": module, "error": " | ".join(tail)}
        stats = json.loads(stats_file.read_text())
        survivors = _survivors(project) if show else ""
    killed = sum(int(stats.get(k, 0)) for k in KILLED)
    survived = sum(int(stats.get(k, 0)) for k in SURVIVED)
    total = killed + survived
    return {
        "module": module,
        "killed": killed,
        "survived": survived,
        "score": killed / total if total else 1.0,
        "seconds": round(time.perf_counter() - started, 1),
        "survivors": survivors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=[*MODULES, []], help="modules (default: all)")
    parser.add_argument("--show", action="store_true", help="print the surviving mutants' diffs")
    args = parser.parse_args()
    names = args.names or list(MODULES)
    print(f"{'module':32} {'killed':>7} {'survived':>9} {'score':>7} {'seconds':>8}")
    worst = 1.0
    for name in names:
        module, tests = MODULES[name]
        row = score(name, module, tests, show=args.show)
        if "error" in row:
            print(f"{module:32} error: {row['error']}")
            worst = 0.0
            continue
        worst = min(worst, float(row["score"]))
        if row["survivors"]:
            print(row["survivors"])
        print(
            f"{module:32} {row['killed']:>7} {row['survived']:>9} "
            f"{float(row['score']):>7.1%} {row['seconds']:>8}"
        )
    print(f"lowest score: {worst:.1%} (target: 90%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
