"""Discovery of cargo test suites: each `tests/<stem>.rs` is one suite.

Cargo builds every `tests/<stem>.rs` (and `tests/<stem>/main.rs`) as its own
test binary, run with `cargo test --test <stem>`. Kinds come from an
upstream-style `suite_classification.toml` (`[suite.<kind>] files = [...]`).
A file in no suite is still discovered, with the kind `unclassified`, and is
reported; so is a classified stem without a file. Reading the classification
is the only I/O besides listing the directory; errors name the file and key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from replay._errors import ConfigError, InputError
from replay._models import Suite
from replay._toml import read_toml

UNCLASSIFIED = "unclassified"
"""The kind of a discovered file that the classification does not list."""


@attrs.frozen
class Discovery:
    """The suites found in a cargo `tests/` directory, and what does not line up."""

    suites: tuple[Suite, ...] = ()
    unclassified: tuple[str, ...] = ()
    """Stems of files in no suite of the classification (empty without one)."""
    missing: tuple[str, ...] = ()
    """Stems the classification lists that have no file."""
    duplicated: tuple[str, ...] = ()
    """Stems listed under more than one kind; the first kind listed is used."""


def cargo_command(stem: str) -> tuple[str, ...]:
    """How upstream runs one cargo test target (`--nocapture`: output as it happens)."""
    return ("cargo", "test", "--test", stem, "--", "--nocapture")


def _stems(tests_dir: Path) -> list[str]:
    """The test targets cargo finds: `<stem>.rs` and `<stem>/main.rs`, sorted by bytes."""
    stems = set()
    for entry in tests_dir.iterdir():
        if entry.suffix == ".rs" and entry.is_file():
            stems.add(entry.stem)
        elif entry.is_dir() and (entry / "main.rs").is_file():
            stems.add(entry.name)
    # Names that are not valid UTF-8 cannot go into a summary; cargo rejects them too.
    return sorted(s for s in stems if s.isprintable() and _utf8(s))


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _read_toml(path: Path) -> dict[str, Any]:
    return read_toml(path, what="a suite classification TOML file")


_TOML_TYPES: dict[type, str] = {dict: "table", list: "array", str: "string"}


def _type_name(value: object) -> str:
    return _TOML_TYPES.get(type(value), type(value).__name__)


def read_classification(path: Path) -> dict[str, tuple[str, ...]]:
    """The `[suite.<kind>] files` lists of a classification file, kind -> stems, in file order.

    Other tables (`quarantine`, `waiver`) are left to their own readers.
    """
    document = _read_toml(path)
    suites = document.get("suite", {})
    if not isinstance(suites, dict):
        msg = f"{path}: suite: expected a table of kinds, got {_type_name(suites)}"
        raise InputError(msg)
    kinds: dict[str, tuple[str, ...]] = {}
    for kind, table in suites.items():
        if not isinstance(table, dict):
            msg = f"{path}: suite.{kind}: expected a table with `files`, got {_type_name(table)}"
            raise InputError(msg)
        unknown = sorted(set(table) - {"files"})
        if unknown:
            msg = f"{path}: suite.{kind}.{unknown[0]}: unknown key; a kind holds only `files`"
            raise InputError(msg)
        files = table.get("files")
        if files is None:
            msg = f"{path}: suite.{kind}.files: required (a list of test file stems)"
            raise InputError(msg)
        if not isinstance(files, list):
            msg = f"{path}: suite.{kind}.files: expected an array, got {_type_name(files)}"
            raise InputError(msg)
        for index, stem in enumerate(files):
            if not isinstance(stem, str):
                msg = f"{path}: suite.{kind}.files[{index}]: expected a string, got "
                msg += _type_name(stem)
                raise InputError(msg)
        kinds[kind] = tuple(files)
    return kinds


def discover_cargo_suites(tests_dir: Path, classification: Path | None) -> Discovery:
    """One suite per cargo test target in `tests_dir`, kinds from `classification`.

    Suites run in `tests_dir`'s parent (the crate root) and are sorted by name,
    so every machine discovers the same list in the same order.
    """
    if not tests_dir.is_dir():
        what = "is not a directory" if tests_dir.exists() else "not found"
        msg = f"{tests_dir}: cargo tests directory {what} ([replay.discover] cargo_tests_dir)"
        raise ConfigError(msg)
    stems = _stems(tests_dir)
    kind_of: dict[str, str] = {}
    duplicated: list[str] = []
    if classification is not None:
        for kind, listed in read_classification(classification).items():
            for stem in listed:
                if stem in kind_of:
                    if stem not in duplicated:
                        duplicated.append(stem)
                else:
                    kind_of[stem] = kind
    cwd = str(tests_dir.absolute().parent)
    suites = tuple(
        Suite(
            name=stem,
            command=cargo_command(stem),
            kind=kind_of.get(stem, UNCLASSIFIED),
            adapter="cargo",
            cwd=cwd,
        )
        for stem in stems
    )
    present = set(stems)
    return Discovery(
        suites=suites,
        unclassified=tuple(s for s in stems if s not in kind_of) if classification else (),
        missing=tuple(sorted(s for s in kind_of if s not in present)),
        duplicated=tuple(sorted(duplicated)),
    )
