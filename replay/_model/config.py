"""A loaded configuration: the suites, profiles and defaults planning works from (pure data).

`_inputs.config` reads `replay.toml` into a `Config`; planning takes one.
"""

from __future__ import annotations

import os

import attrs

from replay._model.models import MAX_PARALLELISM, Suite

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

    def suite(self, name: str) -> Suite | None:
        """The suite called `name`, if the config has one."""
        return next((s for s in self.suites if s.name == name), None)
