"""replay: CI test replay as executable plans, concurrent runs and chainable summaries.

The public API is what `__all__` lists; everything else lives in private modules.
Bad input is a `ReplayError` (models refuse bad values with `InvalidValue`, which
is a `ValueError` too); paths may be `str` or any `os.PathLike`.
"""

from __future__ import annotations

from replay._version import __version__

# The public names, each once: name -> the private module that defines it. They load on
# first use, so `import replay` (and `replay --version`) stays fast.
_EXPORTS = {
    "ArtifactError": "replay._model.errors",
    "Attempt": "replay._model.models",
    "ChainState": "replay._model.models",
    "Config": "replay._model.config",
    "ConfigError": "replay._model.errors",
    "Granularity": "replay._model.models",
    "InputError": "replay._model.errors",
    "InvalidValue": "replay._model.errors",
    "Job": "replay._model.models",
    "JobOutcome": "replay._model.outcomes",
    "Listener": "replay._exec.executor",
    "Options": "replay._core.planning",
    "Plan": "replay._model.models",
    "Profile": "replay._model.config",
    "ReplayError": "replay._model.errors",
    "RetryPolicy": "replay._model.models",
    "RunOptions": "replay._exec.run",
    "RunResult": "replay._exec.run",
    "RunStatus": "replay._model.models",
    "Shard": "replay._model.models",
    "Suite": "replay._model.models",
    "Summary": "replay._model.models",
    "TargetResult": "replay._model.models",
    "TargetStatus": "replay._model.models",
    "TestResult": "replay._model.models",
    "TestStatus": "replay._model.models",
    "build_plan": "replay._core.planning",
    "load_config": "replay._inputs.config",
    "load_summary": "replay._inputs.readers",
    "parse_duration": "replay._model.config",
    "rerun_plan": "replay._core.planning",
    "run": "replay._exec.run",
    "run_plan": "replay._exec.run",
}

__all__ = ("__version__", *_EXPORTS)  # noqa: PLE0604 - ruff reads only literal names

TYPE_CHECKING = False  # importing `typing` for this would cost `replay --version` 5 ms
if TYPE_CHECKING:  # what mypy sees: _EXPORTS as imports (tests/test_api.py checks they agree)
    from replay._core.planning import Options as Options
    from replay._core.planning import build_plan as build_plan
    from replay._core.planning import rerun_plan as rerun_plan
    from replay._exec.executor import Listener as Listener
    from replay._exec.run import RunOptions as RunOptions
    from replay._exec.run import RunResult as RunResult
    from replay._exec.run import run as run
    from replay._exec.run import run_plan as run_plan
    from replay._inputs.config import load_config as load_config
    from replay._inputs.readers import load_summary as load_summary
    from replay._model.config import Config as Config
    from replay._model.config import Profile as Profile
    from replay._model.config import parse_duration as parse_duration
    from replay._model.errors import ArtifactError as ArtifactError
    from replay._model.errors import ConfigError as ConfigError
    from replay._model.errors import InputError as InputError
    from replay._model.errors import InvalidValue as InvalidValue
    from replay._model.errors import ReplayError as ReplayError
    from replay._model.models import Attempt as Attempt
    from replay._model.models import ChainState as ChainState
    from replay._model.models import Granularity as Granularity
    from replay._model.models import Job as Job
    from replay._model.models import Plan as Plan
    from replay._model.models import RetryPolicy as RetryPolicy
    from replay._model.models import RunStatus as RunStatus
    from replay._model.models import Shard as Shard
    from replay._model.models import Suite as Suite
    from replay._model.models import Summary as Summary
    from replay._model.models import TargetResult as TargetResult
    from replay._model.models import TargetStatus as TargetStatus
    from replay._model.models import TestResult as TestResult
    from replay._model.models import TestStatus as TestStatus
    from replay._model.outcomes import JobOutcome as JobOutcome


def __getattr__(name: str) -> object:
    """Import a public name from its private module the first time it is used."""
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'replay' has no attribute {name!r}"
        raise AttributeError(msg)
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
