"""Tests for `_inputs.discover`: cargo test targets become suites, kinds from a classification."""

from __future__ import annotations

from pathlib import Path

import pytest
from _support import CLASSIFICATION

from replay._inputs.discover import (
    UNCLASSIFIED,
    Discovery,
    cargo_command,
    cargo_test_stems,
    discover_cargo_suites,
)
from replay._model.errors import ConfigError, InputError
from replay._model.models import Suite

"""A copy of upstream's `tests/suite_classification.toml`."""


def _tests_dir(root: Path, *names: str) -> Path:
    """A crate's `tests/` holding an empty file for each name (`x.rs` or `x/main.rs`)."""
    tests = root / "tests"
    tests.mkdir()
    for name in names:
        path = tests / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#[test]\nfn it_works() {}\n")
    return tests


def _classification(root: Path, text: str) -> Path:
    path = root / "suite_classification.toml"
    path.write_text(text)
    return path


def test_discover_with_upstream_classification(tmp_path: Path) -> None:
    """Files get their kinds; an unlisted file and a listed-but-absent stem are reported."""
    tests = _tests_dir(
        tmp_path,
        "e2e_tui.rs",
        "compaction.rs",
        "agent_loop_vcr.rs",
        "brand_new.rs",
        "http_client/main.rs",
        "common/mod.rs",
        "README.md",
    )
    discovery = discover_cargo_suites(tests, CLASSIFICATION)
    expected_kinds = [
        ("agent_loop_vcr", "vcr"),
        ("brand_new", UNCLASSIFIED),
        ("compaction", "unit"),
        ("e2e_tui", "e2e"),
        ("http_client", "vcr"),
    ]
    assert expected_kinds == [(s.name, s.kind) for s in discovery.suites]
    expected_reports = (("brand_new",), 230, "accuracy_performance_sec63", ())
    assert expected_reports == (
        discovery.unclassified,
        len(discovery.missing),
        discovery.missing[0],
        discovery.duplicated,
    )


def test_suite_shape(tmp_path: Path) -> None:
    """A discovered suite runs `cargo test --test STEM -- --nocapture` at the crate root."""
    tests = _tests_dir(tmp_path, "e2e_tui.rs")
    expected = Suite(
        name="e2e_tui",
        command=("cargo", "test", "--test", "e2e_tui", "--", "--nocapture"),
        kind="e2e",
        adapter="cargo",
        cwd=str(tmp_path),
    )
    assert (expected,) == discover_cargo_suites(tests, CLASSIFICATION).suites
    assert expected.command == cargo_command("e2e_tui")


def test_without_classification_everything_is_unclassified(tmp_path: Path) -> None:
    """With no classification every file is a suite of kind `unclassified`, and none is reported."""
    tests = _tests_dir(tmp_path, "b.rs", "a-b.rs", "A.rs")
    discovery = discover_cargo_suites(tests, None)
    expected = (["A", "a-b", "b"], {UNCLASSIFIED}, (), ())
    assert expected == (
        [s.name for s in discovery.suites],
        {s.kind for s in discovery.suites},
        discovery.unclassified,
        discovery.missing,
    )


def test_any_kind_name_and_duplicates(tmp_path: Path) -> None:
    """Kinds are whatever the file names; a stem under two kinds keeps the first, reported."""
    tests = _tests_dir(tmp_path, "x.rs", "y.rs")
    path = _classification(
        tmp_path,
        '[suite.smoke]\nfiles = ["x", "y"]\n[suite.e2e]\nfiles = ["y", "gone"]\n'
        '[quarantine.x]\ncategory = "FLAKE-TIMING"\n',
    )
    expected = Discovery(
        suites=(
            Suite("x", cargo_command("x"), "smoke", "cargo", cwd=str(tmp_path)),
            Suite("y", cargo_command("y"), "smoke", "cargo", cwd=str(tmp_path)),
        ),
        unclassified=(),
        missing=("gone",),
        duplicated=("y",),
    )
    assert expected == discover_cargo_suites(tests, path)


def test_relative_tests_dir_gives_absolute_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative tests directory still gives suites an absolute working directory."""
    _tests_dir(tmp_path, "a.rs")
    monkeypatch.chdir(tmp_path)
    expected = str(tmp_path)
    assert expected == discover_cargo_suites(Path("tests"), None).suites[0].cwd


def test_cargo_test_stems_lists_files_and_main_rs_directories(tmp_path: Path) -> None:
    """`x.rs` and `x/main.rs` are test targets; helper modules and other files are not."""
    tests = _tests_dir(tmp_path, "a.rs", "big/main.rs", "common/mod.rs", "notes.md")
    assert ("a", "big") == cargo_test_stems(tests)


def test_a_malformed_classification_is_an_input_error(tmp_path: Path) -> None:
    """Discovery reads the classification through its one reader, with the reader's message."""
    path = _classification(tmp_path, '[suite.unit]\nfiles = "a"\n')
    with pytest.raises(InputError) as info:
        discover_cargo_suites(_tests_dir(tmp_path, "a.rs"), path)
    assert f"{path}: suite.unit.files: expected an array, got string" == str(info.value)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"[suite.unit\nfiles = []\n", "invalid TOML"),
        (b"\xff\xfe[suite]\n", "not UTF-8 text"),
        (None, "a suite_classification.toml file not found"),
        ("dir", "is a directory, expected a suite_classification.toml file"),
    ],
)
def test_unreadable_classification(
    tmp_path: Path, content: bytes | str | None, problem: str
) -> None:
    """A classification that is not TOML, not UTF-8, missing or a directory is an InputError."""
    path = tmp_path / "suite_classification.toml"
    if content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(InputError) as info:
        discover_cargo_suites(_tests_dir(tmp_path, "a.rs"), path)
    assert str(info.value).startswith(f"{path}: {problem}")


@pytest.mark.parametrize("make", ["missing", "file"])
def test_bad_tests_dir_is_config_error(tmp_path: Path, make: str) -> None:
    """A tests directory that is missing or a file is a ConfigError naming the setting."""
    tests = tmp_path / "tests"
    if make == "file":
        tests.write_text("")
    with pytest.raises(ConfigError) as info:
        discover_cargo_suites(tests, None)
    what = "not found" if make == "missing" else "is not a directory"
    expected = f"{tests}: cargo tests directory {what} ([replay.discover] cargo_tests_dir)"
    assert expected == str(info.value)
