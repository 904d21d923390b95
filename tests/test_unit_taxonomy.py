"""The taxonomy's edges (`_core.taxonomy`), beside the realistic lines of test_taxonomy.py.

Each test pins a rule `scripts/mutation.py taxonomy` showed unchecked: how a rule is built,
text given whole rather than as lines, blank lines, the error that lists the categories.
"""

from __future__ import annotations

import pytest

from replay._core.taxonomy import (
    RULES,
    UNCLASSIFIED,
    FlakeClassification,
    _rule,
    classify_attempts,
    classify_flake,
    compile_rules,
)
from replay._model.errors import ConfigError


def test_a_rule_is_a_case_insensitive_pattern_with_its_reason() -> None:
    rule = _rule(r"connection refused", "nothing listening")
    assert "nothing listening" == rule.reason
    assert rule.pattern.search("Error: CONNECTION REFUSED by peer")
    assert not rule.pattern.search("connection accepted")


def test_an_unknown_category_is_refused_with_the_known_ones_listed() -> None:
    with pytest.raises(ConfigError) as caught:
        compile_rules({"NET": ["x"]}, source="replay.toml: flake_rules")
    message = str(caught.value)
    assert message.startswith("replay.toml: flake_rules: unknown category 'NET'; use one of ")
    assert f"use one of {', '.join(RULES)} or a name of your own" in message


def test_text_given_whole_is_read_line_by_line() -> None:
    """One text stands for its lines: each line is evidence, not each character."""
    text = "setup ok\nError: Connection refused (os error 111)\n"
    expected = FlakeClassification(
        category="FLAKE-NET",
        confidence=1.0,
        evidence=("Error: Connection refused (os error 111)",),
        reasons=("nothing listening on the port",),
    )
    assert expected == classify_flake(text)
    assert expected == classify_attempts([text])


def test_blank_lines_are_skipped_not_the_end() -> None:
    """A blank line before the evidence does not stop the reading."""
    result = classify_attempts([["", "   ", "Error: connection refused"]])
    assert "FLAKE-NET" == result.category
    assert ("Error: connection refused",) == result.evidence


def test_nothing_matched_is_unclassified() -> None:
    assert FlakeClassification(category=UNCLASSIFIED, confidence=0.0) == classify_flake("")
    assert UNCLASSIFIED == classify_attempts([["all good"], []]).category


def test_confidence_weighs_share_and_coverage() -> None:
    """Two NET lines and one TIMING line in one of two failing attempts: 2/3 * 1/2."""
    lines = ["connection refused", "connection reset by peer", "race condition detected"]
    result = classify_attempts([lines, ["nothing here"]])
    assert "FLAKE-NET" == result.category
    assert 0.333 == result.confidence
    assert ("nothing listening on the port", "connection dropped") == result.reasons
