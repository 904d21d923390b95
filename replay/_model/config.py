"""A loaded configuration: the suites, profiles and defaults planning works from (pure data).

`_inputs.config` reads `replay.toml` into a `Config`; planning takes one.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import attrs

from replay._model.errors import ConfigError
from replay._model.models import MAX_PARALLELISM, MAX_SECONDS, RetryOn, Suite

DEFAULT_OUT = "replay-results"
DEFAULT_PARALLELISM = min(MAX_PARALLELISM, max(1, os.cpu_count() or 1))


@attrs.frozen
class Profile:
    """A named selection of suites (`[replay.profiles.NAME]`)."""

    kinds: tuple[str, ...] = ()
    suites: tuple[str, ...] = ()


@attrs.frozen
class Discover:
    """Where to find suites that the config does not list one by one."""

    cargo_tests_dir: str | None = None
    classification: str | None = None


@attrs.frozen
class Override:
    """`[[replay.overrides]]`: settings for the suites whose name or kind matches a glob."""

    match: str
    """An fnmatch pattern (`e2e_*`) tried against each suite's name and its kind."""
    retries: int | None = None
    timeout: float | None = None
    slow: float | None = None
    terminate_after: int | None = None
    leak_timeout: float | None = None
    leak_fail: bool | None = None
    group: str | None = None
    weight: int | None = None


@attrs.frozen
class History:
    """`[replay.history]`: where the flake ledger lives and whether runs record themselves."""

    path: str | None = None
    """A SQLite file (relative to the config) or a `postgresql://` URL."""
    record: bool = False


@attrs.frozen
class Config:
    """A loaded config: everything planning needs, with absolute paths and seconds."""

    root: str
    """The directory relative paths are resolved against (the config file's)."""
    path: str | None = None
    parallelism: int = DEFAULT_PARALLELISM
    timeout: float | None = None
    out: str = DEFAULT_OUT
    exec_prefix: tuple[str, ...] = ()
    env: dict[str, str] = attrs.field(factory=dict)
    debug_env: dict[str, str] = attrs.field(factory=dict)
    profiles: dict[str, Profile] = attrs.field(factory=dict)
    suites: tuple[Suite, ...] = ()
    discover: Discover | None = None
    flake_rules: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    """Extra FLAKE-* rules: category -> regular expressions."""
    notes: tuple[str, ...] = ()
    """Things worth telling the user that are not errors (unclassified test files)."""
    history: History | None = None
    overrides: tuple[Override, ...] = ()
    """Per-suite settings by name or kind pattern; the first match sets each field."""
    groups: dict[str, int] = attrs.field(factory=dict)
    """`[replay.groups]`: group name -> how many of its jobs run at once."""
    setup: tuple[Suite, ...] = ()
    """`[[replay.setup]]`: commands run once before the suites that name them."""
    teardown: tuple[Suite, ...] = ()
    """`[[replay.teardown]]`: commands run at the end of every run, interrupted ones too."""
    no_tests: str | None = None
    """What a suite whose adapter saw no test counts as (`fail`, `warn`, `pass`)."""
    retry_on: RetryOn | None = None
    """`known-flaky`: retries (and quarantines) only for failures with a known flaky signature."""

    def suite(self, name: str) -> Suite | None:
        """The suite called `name`, if the config has one."""
        return next((s for s in self.suites if s.name == name), None)


_DURATION = re.compile(
    r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?"
)
_UNITS = (3600.0, 60.0, 1.0, 0.001)


def parse_duration(text: str | float, *, what: str = "duration") -> float:
    """Seconds in `90s`, `15m`, `1h`, `1h30m`, `2.5s`, `100ms` or a bare number of seconds.

    At most `MAX_SECONDS` (a year); NaN, infinities, zero and negatives are refused.
    """
    if isinstance(text, bool):
        msg = f"{what}: expected a duration like '90s', '15m' or '1h', got a boolean"
        raise ConfigError(msg)
    if isinstance(text, float):
        seconds = text
    elif isinstance(text, int):
        # float() of a huge TOML integer overflows; anything that large is refused below.
        seconds = float(text) if abs(text) <= MAX_SECONDS else math.inf * (1 if text > 0 else -1)
    else:
        stripped = text.strip()
        match = _DURATION.fullmatch(stripped)
        if stripped and re.fullmatch(r"\d+(\.\d+)?", stripped):
            seconds = float(stripped)
        elif stripped and match and any(match.groups()):
            seconds = sum(float(g) * u for g, u in zip(match.groups(), _UNITS, strict=True) if g)
        else:
            msg = f"{what}: {text!r} is not a duration; use e.g. '90s', '15m', '1h' or '1h30m'"
            raise ConfigError(msg)
    if math.isnan(seconds):
        msg = f"{what}: must be a number of seconds, got {text!r}"
        raise ConfigError(msg)
    if seconds <= 0:
        msg = f"{what}: must be positive, got {text!r}"
        raise ConfigError(msg)
    if not math.isfinite(seconds) or seconds > MAX_SECONDS:
        msg = f"{what}: must be at most a year ({MAX_SECONDS:.0f}s), got {text!r}"
        raise ConfigError(msg)
    return seconds


def adhoc_config(command: tuple[str, ...], cwd: Path) -> Config:
    """The config of `replay run -- CMD ARGS...`: one generic suite, no file."""
    name = Path(command[0]).name or "command"
    suite = Suite(name=name, command=command, kind="suite", cwd=str(cwd))
    return Config(root=str(cwd), suites=(suite,), out=str(cwd / DEFAULT_OUT))
