"""The direction of imports: the pure core reaches no process, event loop or executor.

The modules are parsed, never imported, so a lazy import inside a function (or
under `TYPE_CHECKING`) counts as much as one at the top of the file.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "replay"

LAYERS = ("_model", "_adapters", "_core", "_store", "_inputs", "_exec", "_cli")
"""The packages of `replay`, lowest first: a module imports only from its own layer or below."""

PURE_LAYERS = ("_model", "_core")
"""Models in, models out (STYLE.md, "Pure core, I/O at the edges")."""


def _modules(layer: str) -> tuple[str, ...]:
    folder = PACKAGE / layer
    return tuple(
        f"replay.{layer}.{path.stem}" if path.stem != "__init__" else f"replay.{layer}"
        for path in sorted(folder.glob("*.py"))
    )


CORE = tuple(module for layer in PURE_LAYERS for module in _modules(layer))
"""Every module of the pure layers, found on disk (a new module is covered by default)."""

FORBIDDEN = ("anyio", "subprocess", "sh", "replay._exec", "replay._cli")
"""What spawns processes or runs the event loop: the edges, never the core."""

ALLOWED: dict[tuple[str, str], str] = {}
"""The remaining debt, `(core module, forbidden import): why it is still there`.

Empty today. An entry must carry a one-line reason, and is refused once the
module no longer needs it, so the list can only shrink.
"""


def _file(module: str) -> Path | None:
    """The source file of a `replay` module or package, None outside the tree."""
    head, *rest = module.split(".")
    if head != "replay":
        return None
    base = PACKAGE.joinpath(*rest)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_names(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module `source` may import, wherever the statement stands.

    `from a import b` yields `a` and `a.b`: `b` may be a submodule.
    """
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, node.module] if node.module else parts)
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


@functools.cache
def _imports(module: str) -> frozenset[str]:
    """What `module` imports, parsed once per session (every layer test asks again)."""
    path = _file(module)
    assert path is not None, f"{module} has no source file under {PACKAGE}"
    source = path.read_text()
    return frozenset(imported_names(source, module, is_package=path.name == "__init__.py"))


def _forbidden(name: str) -> str | None:
    return next((f for f in FORBIDDEN if name == f or name.startswith(f"{f}.")), None)


def _reached(module: str) -> dict[str, list[str]]:
    """Each forbidden module `module` reaches through replay's modules, with the path there.

    The `replay` package itself is not followed: its re-exports load on first
    use (`test_api.test_import_replay_is_cheap` holds it to that).
    """
    paths: dict[str, list[str]] = {module: [module]}
    todo = [module]
    found: dict[str, list[str]] = {}
    while todo:
        current = todo.pop()
        for name in sorted(_imports(current)):
            if name in paths:
                continue
            paths[name] = [*paths[current], name]
            forbidden = _forbidden(name)
            if forbidden is not None:
                found.setdefault(forbidden, paths[name])
            elif name != "replay" and _file(name) is not None:
                todo.append(name)
    return found


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_nothing_forbidden(module: str) -> None:
    """No core module imports anyio, subprocess, sh, the executor or the run, even lazily."""
    found = {f for name in _imports(module) if (f := _forbidden(name)) is not None}
    allowed = {f for (m, f) in ALLOWED if m == module}
    assert set() == found - allowed


@pytest.mark.parametrize("module", CORE)
def test_core_module_reaches_nothing_forbidden(module: str) -> None:
    """Nor through another replay module: the path to each forbidden import is shown."""
    reached = _reached(module)
    allowed = {f for (m, f) in ALLOWED if m == module}
    assert {} == {f: " -> ".join(path) for f, path in reached.items() if f not in allowed}


def test_allow_list_holds_only_live_debt() -> None:
    """Every allow-list entry names a core module, a reason, and an import still reached."""
    for (module, forbidden), reason in ALLOWED.items():
        assert module in CORE
        assert forbidden in FORBIDDEN
        assert reason.strip()
        assert forbidden in _reached(module), f"{module} no longer needs {forbidden}: drop it"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import anyio", "anyio"),
        ("import subprocess as sp", "subprocess"),
        ("def f():\n    import sh\n", "sh"),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import anyio\n", "anyio"),
        ("from replay._exec.executor import JobOutcome", "replay._exec"),
        ("from replay import _exec", "replay._exec"),
        ("from . import _exec", "replay._exec"),
        ("def f():\n    from ._exec.executor import signal_name\n", "replay._exec"),
        ("from anyio.abc import TaskGroup", "anyio"),
    ],
)
def test_scanner_sees_every_kind_of_import(source: str, expected: str) -> None:
    """Top-level, lazy, aliased, relative and `from package import module` forms are all seen."""
    names = imported_names(source, "replay._example")
    assert expected in {_forbidden(name) for name in names}


@pytest.mark.parametrize(
    "source",
    [
        "import shlex",
        "import anyio_compat",
        "from replay import _execute",
        "from replay._model.models import Attempt",
    ],
)
def test_scanner_matches_whole_module_names(source: str) -> None:
    """`shlex` is not `sh`, nor `replay._execute` `replay._exec`: names match by dotted part."""
    names = imported_names(source, "replay._example")
    assert set() == {f for name in names if (f := _forbidden(name)) is not None}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "replay" or parts[1] not in LAYERS:
        return None
    return LAYERS.index(parts[1])


ALL_MODULES = tuple(module for layer in LAYERS for module in _modules(layer))


def test_every_private_module_lives_in_a_layer() -> None:
    """The top level holds only the public API, the entry point and the version."""
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "_version.py"]
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert folders == sorted(LAYERS)


@pytest.mark.parametrize("module", ALL_MODULES)
def test_imports_point_down_the_layers(module: str) -> None:
    """`_core` never imports `_inputs`, `_exec` or `_cli`; `_model` imports only `_model`."""
    own = _layer(module)
    assert own is not None
    upward = sorted(
        name
        for name in _imports(module)
        if (other := _layer(name)) is not None and other > own and _file(name) is not None
    )
    assert upward == [], f"{module} ({LAYERS[own]}) imports a higher layer"


_FILE_IO = ("open", "read_text", "read_bytes", "write_text", "write_bytes", "scandir", "iterdir")


def _file_io(source: str) -> set[str]:
    """The file-reading or -writing calls in `source`: `open(...)`, `path.read_text()`, ..."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in _FILE_IO:
                found.add(name)
    return found


@pytest.mark.parametrize("module", CORE)
def test_pure_layers_touch_no_files(module: str) -> None:
    """The pure layers read no file and write none: their callers hand them text or bytes."""
    path = _file(module)
    assert path is not None
    assert set() == _file_io(path.read_text())


def test_the_file_scanner_sees_method_and_builtin_calls() -> None:
    """So the test above can fail: both spellings of reading a file are caught."""
    assert _file_io("with open(p) as f: pass") == {"open"}
    assert _file_io("text = path.read_text()") == {"read_text"}
    assert _file_io("text = path.name") == set()


def test_every_adapter_name_has_its_module() -> None:
    """The models' list of adapter names and the registry's modules are the same set."""
    from replay._adapters import _MODULES
    from replay._model.models import ADAPTER_NAMES

    assert tuple(sorted(_MODULES)) == ADAPTER_NAMES
