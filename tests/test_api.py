"""The public API: every name in `__all__` resolves, lazily, to a documented object."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import attrs
import pytest

import replay


@pytest.mark.parametrize("name", replay.__all__)
def test_every_public_name_resolves(name: str) -> None:
    """Each exported name is importable from `replay` and documented."""
    value = getattr(replay, name)
    assert value is not None
    if name != "__version__":
        assert (value.__doc__ or "").strip(), name


def test_unknown_names_raise_attribute_error() -> None:
    """A misspelt name is an AttributeError, as for any module."""
    with pytest.raises(AttributeError, match="no attribute 'run_plna'"):
        _ = replay.run_plna


def test_import_replay_is_cheap() -> None:
    """`import replay` loads no executor, anyio or cattrs until a name is used."""
    code = (
        "import sys, replay\n"
        "heavy = [m for m in ('anyio', 'cattrs', 'replay._exec.run', 'replay._exec.executor') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "" == result.stdout.strip()


def test_invalid_values_are_replay_errors_and_value_errors() -> None:
    """A model's refusal is caught by `except ReplayError` and by `except ValueError` alike."""
    with pytest.raises(replay.ReplayError) as info:
        replay.Suite(name="s", command="echo hi")  # type: ignore[arg-type]
    assert (True, "command") == (isinstance(info.value, ValueError), info.value.field)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["run", "run_plan", "load_summary", "load_config"])
def test_entry_points_take_str_paths(name: str) -> None:
    """The functions that take paths say in their signature that a `str` will do."""
    import inspect

    parameter = list(inspect.signature(getattr(replay, name)).parameters.values())[
        1 if name.startswith("run") else 0
    ]
    assert "str | os.PathLike[str]" in str(parameter.annotation)


def _type_checking_imports() -> dict[str, str]:
    """Name -> module of the `if TYPE_CHECKING:` imports in replay/__init__.py."""
    import ast

    tree = ast.parse(Path(replay.__file__).read_text())
    (block,) = (
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    )
    found: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom), ast.dump(node)
        for alias in node.names:
            assert alias.asname == alias.name, f"{alias.name}: re-export it as itself"
            found[alias.name] = str(node.module)
    return found


def test_type_checking_imports_are_the_export_mapping() -> None:
    """mypy's view of the exports (the TYPE_CHECKING imports) is the one mapping, name for name."""
    exports: dict[str, str] = replay._EXPORTS
    expected = "\n".join(
        f"    from {module} import {name} as {name}"
        for name, module in sorted(exports.items(), key=lambda item: (item[1], item[0]))
    )
    assert exports == _type_checking_imports(), f"the TYPE_CHECKING block should be:\n{expected}"
    assert ("__version__", *exports) == tuple(replay.__all__)


@pytest.mark.parametrize("name", sorted(replay.__all__))
def test_each_export_lives_where_the_mapping_says(name: str) -> None:
    """The mapping names the module that defines each object, not one that re-imports it."""
    if name == "__version__":
        return
    value = getattr(replay, name)
    assert replay._EXPORTS[name] == value.__module__


def test_run_takes_an_options_object_and_no_seams() -> None:
    """`run` and `run_plan` take a `RunOptions`; the test seams stay out of their signatures."""
    import inspect

    run = inspect.signature(replay.run).parameters
    run_plan = inspect.signature(replay.run_plan).parameters
    assert ["plan", "run_dir", "options", "backend"] == list(run)
    assert ["plan", "run_dir", "options"] == list(run_plan)
    assert "RunOptions | None" == run["options"].annotation == run_plan["options"].annotation
    fields = {f.name for f in attrs.fields(replay.RunOptions)}
    assert set() == fields & {"kill_grace", "quarantine_delay", "watchdog", "base_env"}


def test_run_options_are_frozen_and_checked() -> None:
    """`RunOptions` converts paths, refuses bad values as a ReplayError and cannot be changed."""
    options = replay.RunOptions(out_root="out")
    assert Path("out") == options.out_root
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        options.run_id = "x"  # type: ignore[misc]
    with pytest.raises(replay.ReplayError, match="stop_after"):
        replay.RunOptions(stop_after=-1.0)


FAKE_PYTEST = """\
import pathlib, sys
args, ids = sys.argv[1:], []
for arg, before in zip(args, ["", *args]):
    if not arg.startswith("-") and before != "-o":
        ids.append(arg if "::" in arg else f"{arg}::{arg[:-3]}")
failed = [n for n in ids if n.endswith("test_b") and not pathlib.Path("flag").exists()]
for node in ids:
    print(f"FAILED {node} - assert False" if node in failed else f"PASSED {node}")
print(f"{len(ids) - len(failed)} passed, {len(failed)} failed in 0.01s")
sys.exit(1 if failed else 0)
"""
"""A stand-in for pytest (the real one takes seconds to start): `test_b` passes once `flag` is."""


FILES = ("test_a.py", "test_b.py")


def _pytest_config(root: Path) -> replay.Config:
    """A config of a pytest suite (`test_a.py`, `test_b.py`) and a passing suite."""
    (root / "pytest").write_text(FAKE_PYTEST)
    return replay.Config(
        root=str(root),
        suites=(
            replay.Suite(
                name="py",
                command=(
                    sys.executable,
                    "-I",
                    "-S",
                    str(root / "pytest"),
                    "test_a.py",
                    "test_b.py",
                ),
                kind="unit",
                adapter="pytest",
                cwd=str(root),
            ),
            replay.Suite(name="ok", command=("true",), kind="unit"),
        ),
    )


def test_a_rerun_plan_holds_the_parent_records_it_reruns(tmp_path: Path) -> None:
    """`rerun_plan` puts the parent's records of what it reruns in the plan; dry-run names them."""
    from replay._core.planning import plan_document

    def target(name: str, state: str, *tests: tuple[str, str]) -> replay.TargetResult:
        return replay.TargetResult(
            name=name,
            kind="unit",
            adapter="pytest",
            argv=(sys.executable, "-I", "-S", "pytest", "test_a.py", "test_b.py"),
            status=replay.TargetStatus.PASSED if state == "passing" else replay.TargetStatus.FAILED,
            chain_state=replay.ChainState(state),
            decided_by="r1",
            tests=tuple(replay.TestResult(name=n, status=replay.TestStatus(s)) for n, s in tests),
        )

    failed = target(
        "py", "outstanding", ("test_a.py::test_a", "passed"), ("test_b.py::test_b", "failed")
    )
    passed = target("ok", "passing")
    parent = replay.Summary(
        run_id="r1",
        status=replay.RunStatus.FAILED,
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:00:01Z",
        targets=(failed, passed),
    )
    plan = replay.rerun_plan(parent, _pytest_config(tmp_path), replay.Options(), summary_path="s")
    assert ((failed,), (passed,)) == (plan.parent, plan.carried)
    assert ("test_b.py::test_b",) == plan.jobs[0].tests
    assert ["py"] == plan_document(plan)["parent"]


@pytest.mark.slow
def test_library_rerun_keeps_the_parent_records(tmp_path: Path) -> None:
    """`replay.run(rerun_plan(summary))` alone: carried targets, and the tests it did not rerun."""
    config = _pytest_config(tmp_path)
    options = replay.RunOptions(handle_signals=False, collect_environment=False)
    first = replay.run(
        replay.build_plan(config, replay.Options()), tmp_path / "r1", options=options
    )
    assert 1 == first.exit_code
    (tmp_path / "flag").touch()
    plan = replay.rerun_plan(
        first.summary, config, replay.Options(), summary_path=str(first.summary_path)
    )
    assert ("test_b.py::test_b",) == plan.jobs[0].tests  # only the failed test runs again
    second = replay.run(plan, tmp_path / "r2", options=options)
    targets = {t.name: t for t in second.summary.targets}
    assert (0, first.summary.run_id) == (second.exit_code, targets["ok"].decided_by)
    assert {"test_a.py::test_a": "passed", "test_b.py::test_b": "passed"} == {
        t.name: t.status.value for t in targets["py"].tests
    }
