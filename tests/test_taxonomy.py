"""Tests for `replay._core.taxonomy`: FLAKE-* categories from realistic failure lines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replay._core.taxonomy import (
    MAX_EVIDENCE,
    MAX_LINES_PER_ATTEMPT,
    RULES,
    UNCLASSIFIED,
    FlakeClassification,
    classify_attempts,
    classify_flake,
    compile_rules,
)
from replay._model.errors import ConfigError


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # FLAKE-NET
        (
            "thread 'sse' panicked at src/http.rs:42:9: called `Result::unwrap()` on an `Err` "
            'value: Os { code: 111, kind: ConnectionRefused, message: "Connection refused" }',
            "FLAKE-NET",
        ),
        ("requests.exceptions.ConnectionError: [Errno 111] Connection refused", "FLAKE-NET"),
        ("Error: Address already in use (os error 98)", "FLAKE-NET"),
        (
            "curl: (6) Could not resolve host: api.example.com",
            "FLAKE-NET",
        ),
        (
            "dns error: failed to lookup address information: Name or service not known",
            "FLAKE-NET",
        ),
        ("read ECONNRESET", "FLAKE-NET"),
        ("error: connection timed out (os error 110)", "FLAKE-NET"),
        # FLAKE-RES
        ("Error: Too many open files (os error 24)", "FLAKE-RES"),
        ("OSError: [Errno 24] Too many open files: '/tmp/x'", "FLAKE-RES"),
        ("fatal: write error: No space left on device", "FLAKE-RES"),
        ("memory allocation of 8589934592 bytes failed", "FLAKE-RES"),
        ("Killed", "FLAKE-RES"),
        ("r2d2: pool timed out while waiting for an open connection", "FLAKE-RES"),
        # FLAKE-EXT
        (
            "Error: HTTP status client error (429 Too Many Requests) for url "
            "(https://api.anthropic.com/v1/messages)",
            "FLAKE-EXT",
        ),
        ('{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}', "FLAKE-EXT"),
        ("provider returned status 503 Service Unavailable", "FLAKE-EXT"),
        ("oauth refresh failed: token has expired", "FLAKE-EXT"),
        ("Error 429: You exceeded your current quota (insufficient_quota)", "FLAKE-EXT"),
        # FLAKE-TIMING
        (
            "thread 'tui' panicked at tests/e2e_tui.rs:88:5: timed out waiting for prompt "
            "after 10s",
            "FLAKE-TIMING",
        ),
        ("Error: deadline exceeded while waiting for child", "FLAKE-TIMING"),
        ("test tools::resize has been running for over 60 seconds", "FLAKE-TIMING"),
        ("assertion failed: elapsed < Duration::from_millis(50)", "FLAKE-TIMING"),
        # FLAKE-ENV
        ("bash: warning: setlocale: LC_ALL: cannot change locale (en_US.UTF-8)", "FLAKE-ENV"),
        ("Error: invalid locale 'C.UTF-8'", "FLAKE-ENV"),
        ("sh: 1: tmux: command not found", "FLAKE-ENV"),
        ("zoneinfo._common.ZoneInfoNotFoundError: 'No time zone found with key UTC'", "FLAKE-ENV"),
        ("Error: Read-only file system (os error 30)", "FLAKE-ENV"),
        # FLAKE-LOGIC
        (
            "proptest: Test failed: assertion failed: x < 10; minimal failing input: x = 10",
            "FLAKE-LOGIC",
        ),
        ("thread 'fuzz' panicked: mismatch with seed = 0x5eed1234", "FLAKE-LOGIC"),
        ("assert_relative_eq!(a, b, epsilon = 1e-9) failed", "FLAKE-LOGIC"),
        ("PoisonError { .. }: another thread panicked holding the lock", "FLAKE-LOGIC"),
        ("WARNING: ThreadSanitizer: data race (pid=4242)", "FLAKE-LOGIC"),
        ("keys came out in a different iteration order: [b, a]", "FLAKE-LOGIC"),
    ],
)
def test_realistic_lines_get_their_category(line: str, expected: str) -> None:
    """A real-looking failure line is classified into the category a human would pick."""
    assert expected == classify_flake([line]).category


@pytest.mark.parametrize(
    "lines",
    [
        [],
        ["assertion `left == right` failed", "  left: 3", " right: 4"],
        ["test a ... FAILED", "", "   "],
        ["the child was killed on purpose"],
    ],
)
def test_unmatched_failures_are_unclassified(lines: list[str]) -> None:
    """No rule matching gives `unclassified` with no confidence and no evidence."""
    expected = FlakeClassification(category=UNCLASSIFIED, confidence=0.0)
    assert expected == classify_flake(lines)


def test_every_category_has_rules_with_reasons() -> None:
    """The table holds the six upstream categories, each rule with a reason to show."""
    expected = ["FLAKE-EXT", "FLAKE-RES", "FLAKE-NET", "FLAKE-ENV", "FLAKE-LOGIC", "FLAKE-TIMING"]
    assert (expected, True) == (list(RULES), all(r.reason for rs in RULES.values() for r in rs))


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        # One attempt, one category: certain.
        ([["Connection refused"]], ("FLAKE-NET", 1.0)),
        # Half the failing attempts showed it.
        ([["Connection refused"], ["assert 1 == 2"]], ("FLAKE-NET", 0.5)),
        # Two categories, one line each: a tie goes to the more specific one.
        ([["Connection refused", "timed out waiting for prompt"]], ("FLAKE-NET", 0.5)),
        # One line that two categories claim counts for both.
        ([["error: connection timed out"]], ("FLAKE-NET", 0.5)),
        # A pool timeout is the pool's fault, not the clock's.
        ([["pool timed out"]], ("FLAKE-RES", 0.5)),
        # Repeats inside an attempt count once; across attempts they add up.
        ([["Connection refused"] * 50 + ["timed out waiting"]], ("FLAKE-NET", 0.5)),
        (
            [["Connection refused", "timed out waiting"], ["Connection refused"]],
            ("FLAKE-NET", 0.667),
        ),
        # More evidence wins over precedence.
        (
            [["timed out waiting", "deadline exceeded", "Connection refused"]],
            ("FLAKE-TIMING", 0.667),
        ),
    ],
)
def test_confidence_is_share_times_coverage(
    attempts: list[list[str]], expected: tuple[str, float]
) -> None:
    """Confidence = winner's share of the hits x share of failing attempts showing it."""
    found = classify_attempts(attempts)
    assert expected == (found.category, found.confidence)


def test_evidence_is_deduplicated_capped_and_reasoned() -> None:
    """Evidence keeps the first occurrence of each line, at most `MAX_EVIDENCE`, with reasons."""
    lines = [f"  Connection refused to port {i}  " for i in range(20)]
    found = classify_attempts([lines, lines, ["read ECONNRESET"]])
    expected = (
        tuple(f"Connection refused to port {i}" for i in range(MAX_EVIDENCE)),
        ("nothing listening on the port", "connection dropped"),
        1.0,
    )
    assert expected == (found.evidence, found.reasons, found.confidence)


def test_a_text_is_split_into_lines() -> None:
    """Given a whole log as one string, each of its lines is evidence on its own."""
    found = classify_flake("running 3 tests\nError: Too many open files (os error 24)\n")
    expected = ("FLAKE-RES", ("Error: Too many open files (os error 24)",))
    assert expected == (found.category, found.evidence)


def test_only_the_last_lines_of_an_attempt_are_read() -> None:
    """Evidence before the last `MAX_LINES_PER_ATTEMPT` lines of an attempt is not read."""
    lines = ["Connection refused", *["ok"] * MAX_LINES_PER_ATTEMPT]
    assert UNCLASSIFIED == classify_attempts([lines]).category


@pytest.mark.parametrize(
    ("extra", "lines", "expected"),
    [
        ({"FLAKE-NET": ["vpn tunnel (?:down|flapped)"]}, ["VPN tunnel flapped"], "FLAKE-NET"),
        (
            {"FLAKE-GPU": [r"CUDA error: out of device memory"]},
            ["CUDA error: out of device memory"],
            "FLAKE-GPU",
        ),
        ({}, ["VPN tunnel flapped"], UNCLASSIFIED),
    ],
)
def test_config_rules_extend_the_table(
    extra: dict[str, list[str]], lines: list[str], expected: str
) -> None:
    """`flake_rules` adds patterns to a category, or a new FLAKE-* category of its own."""
    assert expected == classify_flake(lines, extra).category


def test_config_rules_come_with_their_pattern_as_reason() -> None:
    """A match of a config rule says which pattern matched."""
    found = classify_flake(["VPN tunnel flapped"], {"FLAKE-NET": ["vpn tunnel"]})
    assert ("config rule 'vpn tunnel'",) == found.reasons


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"NETWORK": ["x"]}, "flake_rules: unknown category 'NETWORK'; use one of FLAKE-EXT"),
        ({"FLAKE-": ["x"]}, "flake_rules: unknown category 'FLAKE-'"),
        (
            {"FLAKE-NET": ["(unclosed"]},
            "flake_rules.FLAKE-NET: invalid regular expression '(unclosed'",
        ),
        ({"FLAKE-NET": [""]}, "flake_rules.FLAKE-NET: an empty pattern would match every line"),
        ({"FLAKE-NET": "refused"}, "flake_rules.FLAKE-NET: expected a list of regular expressions"),
    ],
)
def test_bad_config_rules_name_the_category_and_pattern(
    extra: dict[str, list[str]], message: str
) -> None:
    """An unknown category, a broken or empty regex is a config error saying which."""
    with pytest.raises(ConfigError) as caught:
        compile_rules(extra)
    assert str(caught.value).startswith(message)


def test_compile_rules_names_its_source() -> None:
    """The error names where the rules came from (the config file and key)."""
    with pytest.raises(ConfigError) as caught:
        compile_rules({"FLAKE-NET": ["("]}, source="/p/replay.toml: replay.flake_rules")
    assert str(caught.value).startswith("/p/replay.toml: replay.flake_rules.FLAKE-NET: ")


def test_config_rules_keep_the_built_in_ones() -> None:
    """Extending a category appends to its rules; the built-in table is not changed."""
    before = len(RULES["FLAKE-NET"])
    rules = compile_rules({"FLAKE-NET": ["vpn"]})
    assert (before + 1, before) == (len(rules["FLAKE-NET"]), len(RULES["FLAKE-NET"]))


@given(st.lists(st.lists(st.text(max_size=200), max_size=20), max_size=5))
def test_classification_never_crashes(attempts: list[list[str]]) -> None:
    """Any lines give a known category (or unclassified) and a confidence in [0, 1]."""
    found = classify_attempts(attempts)
    assert found.category in (*RULES, UNCLASSIFIED)
    assert 0.0 <= found.confidence <= 1.0
    assert len(found.evidence) <= MAX_EVIDENCE
