"""No test id read from a summary can become an option of the runner that reruns it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from replay._adapters import get_adapter

# Ids as an attacker writes them into a summary: options, `=`, spaces, quotes, `--`.
_IDS = st.lists(
    st.one_of(
        st.text(min_size=1, max_size=30),
        st.sampled_from(["--logfile=/tmp/x", "-x", "--", "--exact", "-run", "--junitxml=/x"]),
        st.builds(lambda s: f"--{s}", st.text(max_size=10)),
    ),
    min_size=1,
    max_size=5,
)

_COMMANDS = {
    "cargo": ("cargo", "test", "--offline", "--", "--nocapture"),
    "pytest": ("python", "-m", "pytest", "-q", "tests"),
    "go": ("go", "test", "-count=1", "./..."),
}


def _options_end(argv: tuple[str, ...], start: int) -> int:
    """The index of the first `--` at or after `start` (where a runner stops reading options)."""
    return argv.index("--", start) if "--" in argv[start:] else len(argv)


@given(_IDS)
def test_cargo_ids_are_never_libtest_options(ids: list[str]) -> None:
    """After `--exact`, every word is a filter libtest cannot read as an option."""
    argv = get_adapter("cargo").targeted(_COMMANDS["cargo"], tuple(ids))
    if argv is None:
        return
    filters = argv[argv.index("--exact") + 1 :]
    assert [] == [name for name in filters if name.startswith("-")]


@given(_IDS)
def test_pytest_ids_follow_an_end_of_options_marker_when_they_look_like_options(
    ids: list[str],
) -> None:
    """A node id that starts with `-` comes after `--`, so pytest reads it as a path."""
    base = _COMMANDS["pytest"]
    argv = get_adapter("pytest").targeted(base, tuple(ids))
    if argv is None:
        return
    tail = argv[len(base) - 1 :]  # what replaced the positional `tests`
    end = _options_end(argv, len(base) - 1)
    unsafe = [
        word
        for index, word in enumerate(tail, start=len(base) - 1)
        if word in ids and word.startswith("-") and index < end
    ]
    assert [] == unsafe


@given(_IDS)
def test_go_ids_only_ever_reach_the_run_pattern(ids: list[str]) -> None:
    """Go test names travel only inside the value of `-run`, never as words of their own."""
    base = _COMMANDS["go"]
    argv = get_adapter("go").targeted(base, tuple(ids))
    if argv is None:
        return
    run = argv.index("-run")
    assert base[:2] == argv[:2]
    assert set(argv) - {argv[run + 1]} <= set(base) | {"-run"}
