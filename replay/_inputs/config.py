"""Reading `replay.toml` / `[tool.replay]` into a `Config`.

The TOML is structured in two steps: first into `_RawConfig` (what the file may
say, strictly typed, unknown keys refused), then into `Config` with durations
in seconds and paths made absolute against the config file's directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs

from replay._adapters import get_adapter
from replay._inputs.toml import read_toml
from replay._model.config import (
    DEFAULT_OUT,
    DEFAULT_PARALLELISM,
    Config,
    Discover,
    History,
    Override,
    Profile,
    parse_duration,
)
from replay._model.convert import structure
from replay._model.errors import ConfigError, InputError
from replay._model.models import (
    MAX_PARALLELISM,
    MAX_RETRIES,
    NO_TESTS_RULES,
    RETRY_ON_RULES,
    RetryOn,
    Suite,
    _count,
    _env,
    _name,
    _optional_text,
    _strings,
    _text,
)

# The raw models carry the validators of the models they become (`Suite`), so that a NUL
# byte or a `KEY=` name is refused while the file's path and key are still known.
# A timeout may be written 60, 60.0 or "60s".


@attrs.frozen
class _RawSuite:
    name: str = attrs.field(validator=_name)
    command: tuple[str, ...] = attrs.field(validator=_strings)
    kind: str = attrs.field(default="suite", validator=_text)
    adapter: str = "generic"
    env: dict[str, str] = attrs.field(factory=dict, validator=_env)
    timeout: str | float | int | None = None
    cwd: str | None = attrs.field(default=None, validator=_optional_text)
    serial: bool = False
    junit_path: str | None = attrs.field(default=None, validator=_optional_text)
    retries: int | None = attrs.field(default=None, validator=_count(0, MAX_RETRIES, optional=True))
    slow: str | float | int | None = None
    terminate_after: int | None = attrs.field(
        default=None, validator=_count(1, MAX_RETRIES, optional=True)
    )
    leak_timeout: str | float | int | None = None
    leak_fail: bool | None = None
    group: str | None = attrs.field(default=None, validator=_optional_text)
    weight: int | None = attrs.field(
        default=None, validator=_count(1, MAX_PARALLELISM, optional=True)
    )
    setup: tuple[str, ...] = attrs.field(default=(), validator=_strings)


@attrs.frozen
class _RawOverride:
    match: str = attrs.field(validator=_name)
    retries: int | None = attrs.field(default=None, validator=_count(0, MAX_RETRIES, optional=True))
    timeout: str | float | int | None = None
    slow: str | float | int | None = None
    terminate_after: int | None = attrs.field(
        default=None, validator=_count(1, MAX_RETRIES, optional=True)
    )
    leak_timeout: str | float | int | None = None
    leak_fail: bool | None = None
    group: str | None = attrs.field(default=None, validator=_optional_text)
    weight: int | None = attrs.field(
        default=None, validator=_count(1, MAX_PARALLELISM, optional=True)
    )


@attrs.frozen
class _RawGroup:
    max: int = attrs.field(validator=_count(1, MAX_PARALLELISM))


@attrs.frozen
class _RawPhase:
    """A `[[replay.setup]]` or `[[replay.teardown]]` command."""

    name: str = attrs.field(validator=_name)
    command: tuple[str, ...] = attrs.field(validator=_strings)
    env: dict[str, str] = attrs.field(factory=dict, validator=_env)
    cwd: str | None = attrs.field(default=None, validator=_optional_text)
    timeout: str | float | int | None = None


@attrs.frozen
class _RawConfig:
    parallelism: int | None = None
    timeout: str | float | int | None = None
    out: str | None = attrs.field(default=None, validator=_optional_text)
    exec_prefix: tuple[str, ...] = attrs.field(default=(), validator=_strings)
    env: dict[str, str] = attrs.field(factory=dict, validator=_env)
    debug_env: dict[str, str] = attrs.field(factory=dict, validator=_env)
    profiles: dict[str, Profile] = attrs.field(factory=dict)
    suites: tuple[_RawSuite, ...] = ()
    discover: Discover | None = None
    flake_rules: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    overrides: tuple[_RawOverride, ...] = ()
    groups: dict[str, _RawGroup] = attrs.field(factory=dict)
    setup: tuple[_RawPhase, ...] = ()
    teardown: tuple[_RawPhase, ...] = ()
    no_tests: str | None = None
    retry_on: str | None = None
    history: History | None = None


def _read_toml(path: Path) -> dict[str, Any]:
    return read_toml(path, what="a TOML config file", error=ConfigError)


def _section(path: Path, document: dict[str, Any]) -> tuple[dict[str, Any], str]:
    if path.name == "pyproject.toml" and "replay" not in document:
        tool = document.get("tool", {})
        section = tool.get("replay") if isinstance(tool, dict) else None
        where = "tool.replay"
    else:
        unknown = sorted(set(document) - {"replay"})
        if unknown:
            msg = f"{path}: unknown top-level key {unknown[0]!r}; settings go under [replay]"
            raise ConfigError(msg)
        section = document.get("replay", {})
        where = "replay"
    if not isinstance(section, dict):
        msg = f"{path}: [{where}] must be a table"
        raise ConfigError(msg)
    return section, where


def load_config(path: str | os.PathLike[str]) -> Config:
    """Load and validate a config file; errors name the file and the key."""
    path = Path(path).absolute()
    section, where = _section(path, _read_toml(path))
    try:
        raw = structure(section, _RawConfig, source=str(path), root=where)
    except InputError as exc:
        raise ConfigError(str(exc).replace("extra fields found", "unknown key")) from None
    return _resolve(raw, path, where)


def _discovered(suites: list[Suite], discover: Discover) -> tuple[list[Suite], tuple[str, ...]]:
    """Add `[replay.discover]`'s cargo suites; suites the config lists by name win."""
    from replay._inputs.discover import discover_cargo_suites

    assert discover.cargo_tests_dir is not None  # noqa: S101 - checked by the caller
    classification = Path(discover.classification) if discover.classification else None
    found = discover_cargo_suites(Path(discover.cargo_tests_dir), classification)
    listed = {s.name for s in suites}
    merged = suites + [s for s in found.suites if s.name not in listed]
    notes = []
    if found.unclassified:
        notes.append(
            f"{len(found.unclassified)} test file(s) in no suite of {classification}: "
            + ", ".join(found.unclassified)
        )
    if found.missing:
        notes.append(f"{classification} lists files that do not exist: {', '.join(found.missing)}")
    if found.duplicated:
        notes.append(f"{classification} lists files in two suites: {', '.join(found.duplicated)}")
    return merged, tuple(notes)


def _resolve(raw: _RawConfig, path: Path, where: str) -> Config:
    from replay._core.taxonomy import compile_rules

    root = path.parent
    src = str(path)
    timeout = _timeout(raw.timeout, f"{src}: {where}.timeout")
    if raw.parallelism is not None and raw.parallelism < 1:
        msg = f"{src}: {where}.parallelism: must be at least 1, got {raw.parallelism}"
        raise ConfigError(msg)
    if raw.parallelism is not None and raw.parallelism > MAX_PARALLELISM:
        msg = (
            f"{src}: {where}.parallelism: must be at most {MAX_PARALLELISM}, got {raw.parallelism}"
        )
        raise ConfigError(msg)
    # Checked now, not after a whole flake loop has run: a bad pattern is a config error.
    compile_rules(raw.flake_rules, source=f"{src}: {where}.flake_rules")
    suites = []
    seen: set[str] = set()
    for i, rs in enumerate(raw.suites):
        field = f"{where}.suites[{i}]"
        if rs.name in seen:
            msg = f"{src}: {field}.name: duplicate suite name {rs.name!r}"
            raise ConfigError(msg)
        seen.add(rs.name)
        if not rs.command:
            msg = f"{src}: {field}.command: must not be empty"
            raise ConfigError(msg)
        try:
            get_adapter(rs.adapter)
        except ConfigError as exc:
            msg = f"{src}: {field}.adapter: {exc}"
            raise ConfigError(msg) from None
        suite_timeout = _timeout(rs.timeout, f"{src}: {field}.timeout")
        suites.append(
            Suite(
                name=rs.name,
                command=rs.command,
                kind=rs.kind,
                adapter=rs.adapter,
                env=rs.env,
                cwd=_cwd(root, rs.cwd, f"{src}: {field}.cwd"),
                timeout=suite_timeout,
                serial=rs.serial,
                junit_path=rs.junit_path,
                retries=rs.retries,
                slow=_timeout(rs.slow, f"{src}: {field}.slow"),
                terminate_after=rs.terminate_after,
                leak_timeout=_timeout(rs.leak_timeout, f"{src}: {field}.leak_timeout"),
                leak_fail=rs.leak_fail,
                group=rs.group,
                weight=rs.weight,
                setup=rs.setup,
            )
        )
    for name, profile in raw.profiles.items():
        unknown = sorted(set(profile.suites) - seen)
        if unknown:
            msg = f"{src}: {where}.profiles.{name}.suites: unknown suite {unknown[0]!r}"
            raise ConfigError(msg)
    discover = raw.discover
    if discover is not None:
        discover = Discover(
            cargo_tests_dir=str(root / discover.cargo_tests_dir)
            if discover.cargo_tests_dir
            else None,
            classification=str(root / discover.classification) if discover.classification else None,
        )
    notes: tuple[str, ...] = ()
    if discover is not None and discover.cargo_tests_dir:
        suites, notes = _discovered(suites, discover)
    controls = _controls(raw, root, src, where, suites)
    return Config(
        root=str(root),
        path=src,
        notes=notes,
        parallelism=raw.parallelism or DEFAULT_PARALLELISM,
        timeout=timeout,
        out=os.path.normpath(root / (raw.out or DEFAULT_OUT)),
        exec_prefix=raw.exec_prefix,
        env=raw.env,
        debug_env=raw.debug_env,
        profiles=raw.profiles,
        suites=tuple(suites),
        discover=discover,
        flake_rules=raw.flake_rules,
        history=_history(raw.history, root),
        **controls,  # type: ignore[arg-type]
    )


def _history(history: History | None, root: Path) -> History | None:
    """`[replay.history]` with a file path made absolute (a URL is kept as it is)."""
    if history is None or not history.path or "://" in history.path:
        return history
    return History(path=str(root / history.path), record=history.record)


def _cwd(root: Path, cwd: str | None, what: str) -> str:
    try:
        return str((root / cwd).resolve()) if cwd else str(root)
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on Python < 3.13
        msg = f"{what}: cannot resolve {cwd!r} ({exc})"
        raise ConfigError(msg) from None


def _phases(raw: tuple[_RawPhase, ...], root: Path, what: str) -> tuple[Suite, ...]:
    """`[[replay.setup]]` or `[[replay.teardown]]` as suites (generic, one command each)."""
    phases: list[Suite] = []
    for i, rp in enumerate(raw):
        field = f"{what}[{i}]"
        if not rp.command:
            msg = f"{field}.command: must not be empty"
            raise ConfigError(msg)
        if any(p.name == rp.name for p in phases):
            msg = f"{field}.name: duplicate name {rp.name!r}"
            raise ConfigError(msg)
        phases.append(
            Suite(
                name=rp.name,
                command=rp.command,
                kind=what.rsplit(".", 1)[-1],
                env=rp.env,
                cwd=_cwd(root, rp.cwd, f"{field}.cwd"),
                timeout=_timeout(rp.timeout, f"{field}.timeout"),
            )
        )
    return tuple(phases)


def _overrides(raw: tuple[_RawOverride, ...], what: str) -> tuple[Override, ...]:
    return tuple(
        Override(
            match=ro.match,
            retries=ro.retries,
            timeout=_timeout(ro.timeout, f"{what}[{i}].timeout"),
            slow=_timeout(ro.slow, f"{what}[{i}].slow"),
            terminate_after=ro.terminate_after,
            leak_timeout=_timeout(ro.leak_timeout, f"{what}[{i}].leak_timeout"),
            leak_fail=ro.leak_fail,
            group=ro.group,
            weight=ro.weight,
        )
        for i, ro in enumerate(raw)
    )


def _controls(
    raw: _RawConfig, root: Path, src: str, where: str, suites: list[Suite]
) -> dict[str, object]:
    """The nextest-level controls (issue 17), checked: every group and setup named exists."""
    if raw.no_tests is not None and raw.no_tests not in NO_TESTS_RULES:
        msg = (
            f"{src}: {where}.no_tests: expected one of {', '.join(NO_TESTS_RULES)}, "
            f"got {raw.no_tests!r}"
        )
        raise ConfigError(msg)
    if raw.retry_on is not None and raw.retry_on not in RETRY_ON_RULES:
        msg = (
            f"{src}: {where}.retry_on: expected one of {', '.join(RETRY_ON_RULES)}, "
            f"got {raw.retry_on!r}"
        )
        raise ConfigError(msg)
    groups = {name: group.max for name, group in raw.groups.items()}
    setup = _phases(raw.setup, root, f"{src}: {where}.setup")
    teardown = _phases(raw.teardown, root, f"{src}: {where}.teardown")
    overrides = _overrides(raw.overrides, f"{src}: {where}.overrides")
    named = [(f"suites[{i}]", s.group) for i, s in enumerate(suites)]
    named += [(f"overrides[{i}]", o.group) for i, o in enumerate(overrides)]
    for field, group in named:
        if group is not None and group not in groups:
            known = ", ".join(sorted(groups)) or "none defined"
            msg = f"{src}: {where}.{field}.group: unknown group {group!r}; groups: {known}"
            raise ConfigError(msg)
    setup_names = {p.name for p in setup}
    for i, suite in enumerate(suites):
        unknown = [n for n in suite.setup if n not in setup_names]
        if unknown:
            known = ", ".join(sorted(setup_names)) or "none defined"
            msg = f"{src}: {where}.suites[{i}].setup: unknown setup {unknown[0]!r}; setups: {known}"
            raise ConfigError(msg)
    return {
        "overrides": overrides,
        "groups": groups,
        "setup": setup,
        "teardown": teardown,
        "no_tests": raw.no_tests,
        "retry_on": None if raw.retry_on is None else RetryOn(raw.retry_on),
    }


def _timeout(value: str | float | None, what: str) -> float | None:
    """A config timeout in seconds; absent is None, but an empty string is a mistake."""
    return None if value is None else parse_duration(value, what=what)
