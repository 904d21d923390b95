"""Where a runner's command sits in an argv: cheap shape checks shared by the adapters.

Kept apart from the parsers so that telling which runner an ad-hoc command
runs (`infer_adapter`) costs no regex compilation and no XML library import.
"""

from __future__ import annotations

from pathlib import Path

PYTEST_PROGRAMS = frozenset({"pytest", "py.test", "pytest-3", "pytest.exe"})


def cargo_test_index(argv: tuple[str, ...]) -> int | None:
    """The index of `test` in `[wrapper...] cargo [+toolchain] test ...`, if argv is that."""
    for index, arg in enumerate(argv):
        if Path(arg).name not in ("cargo", "cargo.exe"):
            continue
        following = index + 1
        while following < len(argv) and argv[following].startswith("+"):
            following += 1
        if following < len(argv) and argv[following] in ("test", "t"):
            return following
        return None
    return None


def go_test_index(argv: tuple[str, ...]) -> int | None:
    """The index of `test` in `[wrapper...] go test ...`, if argv is that."""
    for index, arg in enumerate(argv[:-1]):
        if Path(arg).name in ("go", "go.exe") and argv[index + 1] == "test":
            return index + 1
    return None


def pytest_program_end(argv: tuple[str, ...]) -> int | None:
    """The index right after `pytest` or `-m pytest` in argv; None if pytest is not visible."""
    for index, arg in enumerate(argv):
        if Path(arg).name in PYTEST_PROGRAMS:
            return index + 1
        if arg == "-m" and index + 1 < len(argv) and argv[index + 1] == "pytest":
            return index + 2
        if arg == "-mpytest":
            return index + 1
    return None
