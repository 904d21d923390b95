"""The public API: every name in `__all__` resolves, lazily, to a documented object."""

from __future__ import annotations

import subprocess
import sys

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
