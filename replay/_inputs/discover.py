"""Discovery of cargo test suites: each `tests/<stem>.rs` is one suite.

Cargo builds every `tests/<stem>.rs` (and `tests/<stem>/main.rs`) as its own
test binary, run with `cargo test --test <stem>`. Kinds come from an
upstream-style `suite_classification.toml` (`[suite.<kind>] files = [...]`).
A file in no suite is still discovered, with the kind `unclassified`, and is
reported; so is a classified stem without a file. The classification is read
by its one reader (`_quarantine.read_classification`); `cargo_test_stems` is
the one list of test targets, which `replay audit` checks the classification
against too.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from replay._inputs.quarantine import read_classification
from replay._model.errors import ConfigError
from replay._model.models import Suite

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


def cargo_test_stems(tests_dir: Path) -> tuple[str, ...]:
    """The test targets cargo builds: `<stem>.rs` and `<stem>/main.rs`, sorted by bytes."""
    stems = set()
    for entry in tests_dir.iterdir():
        if entry.suffix == ".rs" and entry.is_file():
            stems.add(entry.stem)
        elif entry.is_dir() and (entry / "main.rs").is_file():
            stems.add(entry.name)
    # Names that are not valid UTF-8 cannot go into a summary; cargo rejects them too.
    return tuple(sorted(s for s in stems if s.isprintable() and _utf8(s)))


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def discover_cargo_suites(tests_dir: Path, classification: Path | None) -> Discovery:
    """One suite per cargo test target in `tests_dir`, kinds from `classification`.

    Suites run in `tests_dir`'s parent (the crate root) and are sorted by name,
    so every machine discovers the same list in the same order.
    """
    if not tests_dir.is_dir():
        what = "is not a directory" if tests_dir.exists() else "not found"
        msg = f"{tests_dir}: cargo tests directory {what} ([replay.discover] cargo_tests_dir)"
        raise ConfigError(msg)
    stems = cargo_test_stems(tests_dir)
    kind_of: dict[str, str] = {}
    duplicated: list[str] = []
    if classification is not None:
        for kind, listed in read_classification(classification).suites.items():
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
