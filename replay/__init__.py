"""replay: CI test replay as executable plans, concurrent runs and chainable summaries.

The public API is what `__all__` lists; everything else lives in private modules.
"""

from __future__ import annotations

from replay._config import Config, Profile, load_config, parse_duration
from replay._errors import ArtifactError, ConfigError, InputError, ReplayError
from replay._executor import JobOutcome, Listener
from replay._models import (
    Attempt,
    ChainState,
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
from replay._planning import Granularity, Options, build_plan, rerun_plan
from replay._readers import load_summary
from replay._run import RunResult, run, run_plan

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
    "build_plan",
    "load_config",
    "load_summary",
    "parse_duration",
    "rerun_plan",
    "run",
    "run_plan",
]
