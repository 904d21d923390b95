"""replay: CI test replay as executable plans, concurrent runs and chainable summaries.

The public API is what `__all__` lists; everything else lives in private modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from replay._version import __version__

if TYPE_CHECKING:
    from replay._config import Config, Profile, load_config, parse_duration
    from replay._errors import ArtifactError, ConfigError, InputError, ReplayError
    from replay._executor import JobOutcome, Listener
    from replay._models import (
        Attempt,
        ChainState,
        Granularity,
        Job,
        Plan,
        RetryPolicy,
        RunStatus,
        Shard,
        Suite,
        Summary,
        TargetResult,
        TargetStatus,
        TestResult,
        TestStatus,
    )
    from replay._planning import Options, build_plan, rerun_plan
    from replay._readers import load_summary
    from replay._run import RunResult, run, run_plan

# Re-exports load on first use: `import replay` (and `replay --version`) stays fast.
_EXPORTS = {
    "ArtifactError": "replay._errors",
    "Attempt": "replay._models",
    "ChainState": "replay._models",
    "Config": "replay._config",
    "ConfigError": "replay._errors",
    "Granularity": "replay._models",
    "InputError": "replay._errors",
    "Job": "replay._models",
    "JobOutcome": "replay._executor",
    "Listener": "replay._executor",
    "Options": "replay._planning",
    "Plan": "replay._models",
    "Profile": "replay._config",
    "ReplayError": "replay._errors",
    "RetryPolicy": "replay._models",
    "RunResult": "replay._run",
    "RunStatus": "replay._models",
    "Shard": "replay._models",
    "Suite": "replay._models",
    "Summary": "replay._models",
    "TargetResult": "replay._models",
    "TargetStatus": "replay._models",
    "TestResult": "replay._models",
    "TestStatus": "replay._models",
    "build_plan": "replay._planning",
    "load_config": "replay._config",
    "load_summary": "replay._readers",
    "parse_duration": "replay._config",
    "rerun_plan": "replay._planning",
    "run": "replay._run",
    "run_plan": "replay._run",
}


def __getattr__(name: str) -> Any:
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


__all__ = [
    "ArtifactError",
    "Attempt",
    "ChainState",
    "Config",
    "ConfigError",
    "Granularity",
    "InputError",
    "Job",
    "JobOutcome",
    "Listener",
    "Options",
    "Plan",
    "Profile",
    "ReplayError",
    "RetryPolicy",
    "RunResult",
    "RunStatus",
    "Shard",
    "Suite",
    "Summary",
    "TargetResult",
    "TargetStatus",
    "TestResult",
    "TestStatus",
    "__version__",
    "build_plan",
    "load_config",
    "load_summary",
    "parse_duration",
    "rerun_plan",
    "run",
    "run_plan",
]
