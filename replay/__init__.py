"""replay: CI test replay as executable plans, concurrent runs and chainable summaries.

The public API is what `__all__` lists; everything else lives in private modules.
Bad input is a `ReplayError` (models refuse bad values with `InvalidValue`, which
is a `ValueError` too); paths may be `str` or any `os.PathLike`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from replay._version import __version__

if TYPE_CHECKING:
    from replay._core.planning import Options, build_plan, rerun_plan
    from replay._exec.executor import Listener
    from replay._exec.run import RunResult
    from replay._inputs.config import load_config, parse_duration
    from replay._model.config import Config, Profile
    from replay._model.errors import (
        ArtifactError,
        ConfigError,
        InputError,
        InvalidValue,
        ReplayError,
    )
    from replay._model.models import (
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
    from replay._model.outcomes import JobOutcome

# Re-exports load on first use: `import replay` (and `replay --version`) stays fast.
_EXPORTS = {
    "ArtifactError": "replay._model.errors",
    "Attempt": "replay._model.models",
    "ChainState": "replay._model.models",
    "Config": "replay._inputs.config",
    "ConfigError": "replay._model.errors",
    "Granularity": "replay._model.models",
    "InputError": "replay._model.errors",
    "InvalidValue": "replay._model.errors",
    "Job": "replay._model.models",
    "JobOutcome": "replay._model.outcomes",
    "Listener": "replay._exec.executor",
    "Options": "replay._core.planning",
    "Plan": "replay._model.models",
    "Profile": "replay._inputs.config",
    "ReplayError": "replay._model.errors",
    "RetryPolicy": "replay._model.models",
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
    "parse_duration": "replay._inputs.config",
    "rerun_plan": "replay._core.planning",
}


def load_summary(path: str | os.PathLike[str]) -> Summary:
    """Read a summary file (replay's, or upstream pi's); `InputError` names the file and field."""
    from pathlib import Path

    from replay._inputs.readers import load_summary as load

    return load(Path(path))


def run(
    plan: Plan,
    run_dir: str | os.PathLike[str] | None = None,
    *,
    backend: str = "asyncio",
    **kwargs: Any,
) -> RunResult:
    """Run `plan` to its end and write its run directory; the blocking form of `run_plan`.

    Works from any thread: off the main thread no signal handler can be
    installed, so `handle_signals` is off there (asking for it is a
    `ReplayError`). A `ReplayError` raised during the run comes out as itself,
    never inside an exception group.
    """
    import functools

    import anyio

    return anyio.run(functools.partial(run_plan, plan, run_dir, **kwargs), backend=backend)


async def run_plan(
    plan: Plan, run_dir: str | os.PathLike[str] | None = None, **kwargs: Any
) -> RunResult:
    """Run `plan` inside an anyio program and write its run directory (see `replay.run`).

    Keywords are those of the private `replay._exec.run.run_plan`: `listener`,
    `handle_signals`, `base_env`, `kill_grace`, `out_root`, ...
    """
    import threading
    from pathlib import Path

    from replay._exec.run import run_plan as run_it
    from replay._model.errors import ReplayError, replay_error_in

    if threading.current_thread() is not threading.main_thread():
        if kwargs.get("handle_signals"):
            msg = (
                "handle_signals=True needs the main thread (Python delivers signals there); "
                "run from the main thread, or stop the run by cancelling it"
            )
            raise ReplayError(msg)
        kwargs["handle_signals"] = False
    if kwargs.get("out_root") is not None:
        kwargs["out_root"] = Path(kwargs["out_root"])
    try:
        return await run_it(plan, None if run_dir is None else Path(run_dir), **kwargs)
    except Exception as exc:
        error = replay_error_in(exc)
        if error is None or error is exc:
            raise
        raise error from exc


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
    "InvalidValue",
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
