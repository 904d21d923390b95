"""Runner adapters: one small module per test runner, one interface (`Adapter`)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from replay._adapters._base import Adapter, Report
from replay._model.errors import ConfigError
from replay._model.models import ADAPTER_NAMES

_MODULES = {
    "cargo": ("replay._adapters.cargo", "CargoAdapter"),
    "generic": ("replay._adapters.generic", "GenericAdapter"),
    "go": ("replay._adapters.go", "GoAdapter"),
    "junit": ("replay._adapters.junit", "JUnitAdapter"),
    "pytest": ("replay._adapters.pytest", "PytestAdapter"),
}
"""Adapter name -> (module, class); a module is imported (its regexes compiled) on first use."""

_ADAPTERS: dict[str, Adapter] = {}


def adapter_names() -> tuple[str, ...]:
    """The names a config may use for `adapter`, sorted (the models own the list)."""
    return ADAPTER_NAMES


def get_adapter(name: str) -> Adapter:
    """The adapter called `name`, or a `ConfigError` listing the known ones."""
    adapter = _ADAPTERS.get(name)
    if adapter is None:
        if name not in _MODULES:
            msg = f"unknown adapter {name!r}; expected one of: {', '.join(adapter_names())}"
            raise ConfigError(msg)
        module, cls = _MODULES[name]
        adapter = _ADAPTERS[name] = getattr(importlib.import_module(module), cls)()
    return adapter


_LAUNCHER_WORDS = frozenset({"run", "exec", "--"})
"""Words after which a launcher runs the rest as given: `uv run`, `poetry run`, `rch exec --`."""


def infer_adapter(argv: Sequence[str]) -> str:
    """The adapter that reads an ad-hoc command's results, by what the command runs.

    `cargo test` -> "cargo", `go test` -> "go", `pytest`, `py.test` or
    `python -m pytest` -> "pytest" (also behind a launcher: `uv run pytest`);
    anything else -> "generic", which sees only the whole command. Each
    adapter's own detection decides, so inference never picks an adapter that
    would then fail to recognise the command.
    """
    # The argv shape checks only: the adapters' parsers (regexes, XML) are not needed here.
    from replay._adapters._commands import cargo_test_index, go_test_index, pytest_program_end

    command = tuple(argv)
    if cargo_test_index(command) is not None:
        return "cargo"
    if go_test_index(command) is not None:
        return "go"
    end = pytest_program_end(command)
    if end is not None and _runs_pytest(command, end):
        return "pytest"
    return "generic"


def _runs_pytest(argv: tuple[str, ...], end: int) -> bool:
    """Whether the `pytest` word ending at `end` is the program run, not an argument.

    The pytest adapter inserts `--junitxml` after that word, so a wrong guess
    breaks the command (`make pytest`, `tox -e pytest`); a missed one only
    costs per-test results, and the note says how to get them.
    """
    word = end - 1
    if word == 0 or argv[word] == "-mpytest" or argv[word - 1] == "-m":
        return True
    before = argv[word - 1]
    # `env A=1 pytest`, `uv run pytest`, `rch exec -- pytest`
    return before in _LAUNCHER_WORDS or "=" in before


__all__ = ["Adapter", "Report", "adapter_names", "get_adapter", "infer_adapter"]
