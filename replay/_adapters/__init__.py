"""Runner adapters: one small module per test runner, one interface (`Adapter`)."""

from __future__ import annotations

import importlib

from replay._adapters._base import Adapter, Report
from replay._errors import ConfigError

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
    """The names a config may use for `adapter`, sorted."""
    return tuple(sorted(_MODULES))


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


__all__ = ["Adapter", "Report", "adapter_names", "get_adapter"]
