"""Runner adapters: one small module per test runner, one interface (`Adapter`)."""

from __future__ import annotations

from replay._adapters._base import Adapter
from replay._adapters.cargo import CargoAdapter
from replay._adapters.generic import GenericAdapter
from replay._adapters.go import GoAdapter
from replay._adapters.junit import JUnitAdapter
from replay._adapters.pytest import PytestAdapter
from replay._errors import ConfigError

_ADAPTERS: dict[str, Adapter] = {
    "cargo": CargoAdapter(),
    "generic": GenericAdapter(),
    "go": GoAdapter(),
    "junit": JUnitAdapter(),
    "pytest": PytestAdapter(),
}


def adapter_names() -> tuple[str, ...]:
    """The names a config may use for `adapter`, sorted."""
    return tuple(sorted(_ADAPTERS))


def get_adapter(name: str) -> Adapter:
    """The adapter called `name`, or a `ConfigError` listing the known ones."""
    try:
        return _ADAPTERS[name]
    except KeyError:
        msg = f"unknown adapter {name!r}; expected one of: {', '.join(adapter_names())}"
        raise ConfigError(msg) from None


__all__ = ["Adapter", "adapter_names", "get_adapter"]
