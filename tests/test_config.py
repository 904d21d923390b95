"""Loading `replay.toml` / `[tool.replay]`: values, defaults and errors naming file and key."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from _support import refusal

from replay._inputs.config import load_config
from replay._inputs.locate import find_config
from replay._model.config import parse_duration
from replay._model.errors import ConfigError

GOOD = """\
[replay]
parallelism = 3
timeout = "15m"
out = "results"
exec_prefix = ["rch", "exec", "--"]
debug_env = { RUST_LOG = "debug" }

[replay.profiles.quick]
kinds = ["unit"]

[[replay.suites]]
name = "e2e_tui"
kind = "e2e"
adapter = "cargo"
command = ["cargo", "test", "--test", "e2e_tui"]
env = { PI_TEST_MODE = "1" }
timeout = "90s"
cwd = "sub"
serial = true
"""


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90.0), ("15m", 900.0), ("1h", 3600.0), ("1h30m", 5400.0), ("2.5s", 2.5), ("7", 7.0)],
)
def test_durations(text: str, seconds: float) -> None:
    """Durations accept s, m, h, combinations and bare seconds."""
    assert seconds == parse_duration(text)


@pytest.mark.parametrize("text", ["", "soon", "10x", "-5s", "0s", "m"])
def test_bad_durations(text: str) -> None:
    """Anything else is a `ConfigError` showing an example."""
    with pytest.raises(ConfigError, match=r"duration|positive"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (math.nan, "must be a number of seconds, got nan"),
        (math.inf, "must be at most a year"),
        (-math.inf, "must be positive"),
        (1e308, "must be at most a year"),
        (10**400, "must be at most a year"),
        (-(10**400), "must be positive"),
        ("9999999h", "must be at most a year"),
        (True, "got a boolean"),
    ],
)
def test_impossible_durations(value: str | float, problem: str) -> None:
    """NaN, infinities and durations beyond a year are refused, never passed to a deadline."""
    with pytest.raises(ConfigError) as info:
        parse_duration(value, what="t")
    assert str(info.value).startswith("t: ")
    assert problem in str(info.value)


@pytest.mark.parametrize(("written", "seconds"), [("60", 60.0), ("60.0", 60.0), ('"60"', 60.0)])
def test_timeout_may_be_an_integer(tmp_path: Path, written: str, seconds: float) -> None:
    """`timeout = 60` means 60 seconds, as `60.0` and `"60"` do, at both levels."""
    path = tmp_path / "replay.toml"
    path.write_text(
        f"[replay]\ntimeout = {written}\n"
        f'[[replay.suites]]\nname = "a"\ncommand = ["true"]\ntimeout = {written}\n'
    )
    config = load_config(path)
    assert (seconds, seconds) == (config.timeout, config.suites[0].timeout)


def test_full_config_loads(tmp_path: Path) -> None:
    """Every documented key is read; paths resolve against the config's directory."""
    path = tmp_path / "replay.toml"
    path.write_text(GOOD)
    config = load_config(path)
    suite = config.suites[0]
    assert 3 == config.parallelism
    assert 900.0 == config.timeout
    assert str(tmp_path / "results") == config.out
    assert ("rch", "exec", "--") == config.exec_prefix
    assert ("cargo", "test", "--test", "e2e_tui") == suite.command
    assert (90.0, "cargo", True) == (suite.timeout, suite.adapter, suite.serial)
    assert str(tmp_path / "sub") == suite.cwd
    assert ("unit",) == config.profiles["quick"].kinds


def test_pyproject_section(tmp_path: Path) -> None:
    """`[tool.replay]` in pyproject.toml is found and read."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.replay]\nparallelism = 2\n'
        '[[tool.replay.suites]]\nname = "a"\ncommand = ["true"]\n'
    )
    found = find_config(tmp_path / "deeper" / "still")
    assert tmp_path / "pyproject.toml" == found
    assert 2 == load_config(tmp_path / "pyproject.toml").parallelism


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[replay]\nparalelism = 2\n", "replay: unknown key (paralelism)"),
        ('[replay]\nparallelism = "2"\n', "replay.parallelism: expected int, got str"),
        ("[replay]\nparallelism = 0\n", "replay.parallelism: must be at least 1"),
        ("[replay]\nparallelism = 5000\n", "replay.parallelism: must be at most 4096, got 5000"),
        ('[replay]\ntimeout = ""\n', "replay.timeout: '' is not a duration"),
        ("[replay]\ntimeout = nan\n", "replay.timeout: must be a number of seconds, got nan"),
        (
            '[[replay.suites]]\nname = "a"\ncommand = ["x"]\ntimeout = ""\n',
            "replay.suites[0].timeout: '' is not a duration",
        ),
        (
            '[[replay.suites]]\nname = "a"\ncommand = ["x"]\nenv = { "K=V" = "1" }\n',
            "replay.suites[0].env: variable name 'K=V' holds '='",
        ),
        (
            '[[replay.suites]]\nname = "a"\ncommand = ["x"]\ncwd = "\\u0000"\n',
            "replay.suites[0].cwd: holds a NUL byte",
        ),
        ('[[replay.suites]]\nname = ""\ncommand = ["x"]\n', "replay.suites[0].name: must not be"),
        ('[replay]\ndebug_env = { "" = "1" }\n', "replay.debug_env: variable name '' is empty"),
        (
            '[replay.flake_rules]\nFLAKE-NET = ["ok", "(unclosed"]\n',
            "replay.flake_rules.FLAKE-NET: invalid regular expression '(unclosed'",
        ),
        ("[replay]\nx = " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
        ('[replay]\ntimeout = "soon"\n', "replay.timeout: 'soon' is not a duration"),
        ('[[replay.suites]]\nname = "a"\ncommand = "true"\n', "replay.suites[0].command"),
        ('[[replay.suites]]\nname = "a"\ncommand = []\n', "replay.suites[0].command: must not"),
        ('[[replay.suites]]\nname = "a"\n', "replay.suites[0].command: required field missing"),
        (
            '[[replay.suites]]\nname = "a"\ncommand = ["x"]\nadapter = "maven"\n',
            "replay.suites[0].adapter: unknown adapter 'maven'",
        ),
        (
            '[[replay.suites]]\nname = "a"\ncommand = ["x"]\n'
            '[[replay.suites]]\nname = "a"\ncommand = ["y"]\n',
            "replay.suites[1].name: duplicate suite name 'a'",
        ),
        ("[replay]\nx = \n", "invalid TOML"),
        ("[other]\n", "unknown top-level key 'other'"),
        ('[replay.profiles.q]\nsuites = ["nope"]\n', "replay.profiles.q.suites: unknown suite"),
    ],
)
def test_bad_configs_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    """Each mistake gives one message with the file and the key."""
    path = tmp_path / "replay.toml"
    message = refusal(load_config, path, text, ConfigError)
    assert str(path) in message
    assert expected in message


def test_directory_and_binary_configs(tmp_path: Path) -> None:
    """A directory or a non-UTF-8 file is a clear error, not a traceback."""
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    path = tmp_path / "replay.toml"
    path.write_bytes(b"\xff\xfe[replay]")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_load_config_takes_str_and_path_like(tmp_path: Path) -> None:
    """`load_config` reads a `str` path as it reads a `Path`."""
    path = tmp_path / "replay.toml"
    path.write_text(GOOD)
    assert load_config(path) == load_config(str(path))
