"""The redactor's own unit tests (`_core.redact`): fast and pure, no run, no process.

tests/test_redact.py proves that nothing replay writes or prints holds a secret (with real
runs); this file pins each rule of the module itself, one edge at a time, so that
`scripts/mutation.py redact` can score the module against it in seconds.
"""

from __future__ import annotations

import enum
import shlex
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replay._core.redact import (
    CUT_MARK,
    MAX_PASSES,
    MIN_VALUE_CHARS,
    PATTERNS,
    REDACTED,
    Redactor,
    current_redactor,
    is_secret_name,
    redact_argv,
    redact_env,
    redact_text,
)

SECRET = "s3cr3t-deploy-value"  # noqa: S105 - a fake secret to look for
M = REDACTED


def by_value(*values: str) -> Redactor:
    return Redactor.from_environments({f"V{i}_TOKEN": v for i, v in enumerate(values)})


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("TOKEN", True),
        ("my-secrets", True),
        ("CI_JOB_JWT", True),
        ("GHTOKEN", True),
        ("clientSecret", True),
        ("userpassword", True),
        ("SMTP_PASSWD", True),
        ("myapikey", True),
        ("DB_PASS", True),
        ("GITHUB_PAT", True),
        ("DB_PWD", True),
        ("NPM_AUTH", True),
        ("SIGNING_KEY", True),
        ("KEY_PASS", True),
        ("AWS_ACCESS_KEY_ID", True),
        ("ssh.private.key.file", True),
        ("API_KEY_FILE", True),
        ("PASS", False),
        ("KEY", False),
        ("PWD", False),
        ("KEY_ID", False),
        ("GPG_KEY_ID", False),
        ("KEYBOARD_LAYOUT", False),
        ("TOKENIZERS_PARALLELISM", False),
        ("MAX_TOKENS", False),
        ("AUTHOR", False),
        ("PATH", False),
        ("ACCESS", False),
        ("", False),
        ("__", False),
    ],
)
def test_is_secret_name(name: str, secret: bool) -> None:
    """Secret words anywhere, qualified words only beside another, `*_KEY` last, key pairs."""
    assert secret is is_secret_name(name)


# --- patterns -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("token=abc123&page=2", f"token={M}&page=2"),
        ("password: hunter2", f"password: {M}"),
        ("password:hunter2", f"password:{M}"),
        ("password\t=\thunter2", f"password\t=\t{M}"),
        ('{"password": "two words"}', f'{{"password": "{M}"}}'),
        ("pw(api_key='k 123')", f"pw(api_key='{M}')"),
        ("--api-key=xyz", f"--api-key={M}"),
        ("Authorization: Bearer abc.def-ghi", f"Authorization: {M}"),
        ("Authorization: basic Zm9vOmJhcg", f"Authorization: {M}"),
        ("x_token = 12:34", f"x_token = {M}"),
        ("Bearer abcdef123456 rest", f"Bearer {M} rest"),
        ("jwt eyJhbGciOi.eyJzdWIi.abc-_def tail", f"jwt {M} tail"),
        ("ghp_" + "A1" * 10, f"ghp_{M}"),
        ("ghs_" + "a" * 20 + " x", f"ghs_{M} x"),
        ("github_pat_" + "x_" * 10, f"github_pat_{M}"),
        ("glpat-" + "x-" * 10, f"glpat-{M}"),
        ("id AKIAIOSFODNN7EXAMPLE.", f"id AKIA{M}."),
        ("id ASIAIOSFODNN7EXAMPLE", f"id ASIA{M}"),
        ("postgres://user:pw@db/x", f"postgres://user:{M}@db/x"),
        ("a=1 token=abc b=2 password=xyz", f"a=1 token={M} b=2 password={M}"),
        ("authorization: bearer abc.def-ghi", f"authorization: {M}"),
        ("curl -H 'X: Bearer abcdef123456'", f"curl -H 'X: Bearer {M}'"),
        ("GET /x?token=abc123&page=2", f"GET /x?token={M}&page=2"),
        ("Settings(api_key='k-123')", f"Settings(api_key='{M}')"),
        ("export DEPLOY_TOKEN=abc", f"export DEPLOY_TOKEN={M}"),
        (
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            f"AWS_SECRET_ACCESS_KEY={M}",
        ),
        ("gho_" + "b" * 36 + " next", f"gho_{M} next"),
        ("github_pat_11ABCDEFG0_" + "x" * 40, f"github_pat_{M}"),
    ],
)
def test_patterns_mask(text: str, expected: str) -> None:
    """Secret-looking text is masked without knowing any value; the kind prefix is kept."""
    assert expected == PATTERNS.text(text)
    assert expected == redact_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "let token = make_token(seed);",
        "src/token.rs:12:5",
        "token: 12:5",
        "MODE=fast",
        "token==abc",
        "token::abc",
        "token:=abc",
        "password=",
        "xtoken=abc".replace("x", "x.") if False else "my.token.count",
        "bearer of bad news",
        "Bearer abc",
        "ghp_short",
        "AKIAIOSFODNN7EXAMPL",
        "eyJab.eyJcd.e",
        "https://host/path@x",
        "no hints here",
        "tests::module::handles_token_expiry",
        "src/auth.rs:12:5",
        "assert token == expected",
        "thread 'main' panicked at src/token.rs:12:5:",
        "--- PASS: TestLogin (0.00s)",
        "TOKENIZERS_PARALLELISM=false",
        "completion_tokens=12 max_tokens=4096",
        "PATH=/usr/bin:/bin",
        "",
    ],
)
def test_patterns_keep(text: str) -> None:
    """Code, locations, non-secret names, comparisons and short lookalikes are kept."""
    assert text == PATTERNS.text(text)


def test_only_the_secret_assignment_in_a_line_is_masked() -> None:
    """Every assignment is looked at; a non-secret one is kept byte for byte."""
    assert f"user=bob token={M} mode=fast" == PATTERNS.text("user=bob token=hunter22 mode=fast")


# --- values ---------------------------------------------------------------------------------


def test_values_of_secret_names_longest_first() -> None:
    """Values (and their lines, stripped forms) of secret names; longest first, then by text."""
    redactor = Redactor.from_environments(
        {"DEPLOY_TOKEN": " padded-value ", "HOME": "/home/runner", "DB_PASS": "abc"},
        {"API_KEY": "line-one\nline-two", "B_TOKEN": "zzzzzz", "C_TOKEN": "aaaaaa"},
    )
    expected = (
        "line-one\nline-two",
        " padded-value ",
        "padded-value",
        "line-one",
        "line-two",
        "aaaaaa",
        "zzzzzz",
    )
    assert expected == redactor.values


def test_values_exactly_min_chars_count_and_parts_of_the_mask_do_not() -> None:
    exact = "x" * MIN_VALUE_CHARS
    assert (exact,) == by_value(exact).values
    assert () == by_value(exact[:-1]).values
    assert () == by_value("REDACT").values
    assert () == Redactor.from_environments().values


def test_shell_quoted_form_is_a_value() -> None:
    """`shlex.join` writes `it's` as `'it'"'"'s'`: that form is masked too."""
    value = "it's-a-secret"
    redactor = by_value(value)
    assert value.replace("'", "'\"'\"'") in redactor.values
    assert f"run '{M}'" == redactor.text(shlex.join(["run", value]))
    assert 1 == len(by_value("no-quote-here").values)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"deploy with {SECRET} now", f"deploy with {M} now"),
        (f"{SECRET}{SECRET}", f"{M}{M}"),
        (f"a {SECRET} b {SECRET} c", f"a {M} b {M} c"),
        (SECRET, M),
        (f"it's '{SECRET}'", f"it's '{M}'"),
        ("nothing", "nothing"),
        ("", ""),
    ],
)
def test_values_are_masked_wherever_they_appear(text: str, expected: str) -> None:
    assert expected == by_value(SECRET).text(text)


def test_overlapping_and_nested_values_become_one_mask() -> None:
    redactor = by_value("abcdef-123", "123-ghijkl")
    assert f"x {M} y" == redactor.text("x abcdef-123-ghijkl y")
    assert f"{M} y {M}" == redactor.text("abcdef-123 y 123-ghijkl")
    nested = by_value("outer-secret-value", "secret")
    assert f"<{M}> {M}" == nested.text("<outer-secret-value> secret")


def test_a_repeated_value_overlapping_itself_is_one_mask() -> None:
    assert f"<{M}>" == by_value("aaaaaa").text("<aaaaaaa>")


def test_patterns_and_values_together() -> None:
    assert f"{M} token={M}" == by_value(SECRET).text(f"{SECRET} token=other")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"cut at {SECRET[:8]}{CUT_MARK}", f"cut at {M}{CUT_MARK}"),
        (f"cut at {SECRET[:MIN_VALUE_CHARS]}{CUT_MARK}", f"cut at {M}{CUT_MARK}"),
        (f"{SECRET[:8]}{CUT_MARK}", f"{M}{CUT_MARK}"),
        (f"cut at {SECRET[:5]}{CUT_MARK}", f"cut at {SECRET[:5]}{CUT_MARK}"),
        (f"not cut {SECRET[:8]}", f"not cut {SECRET[:8]}"),
        (f"{SECRET[:6]} then {SECRET[:7]}{CUT_MARK}", f"{SECRET[:6]} then {M}{CUT_MARK}"),
        (f"{SECRET[:6]}x {CUT_MARK}", f"{SECRET[:6]}x {CUT_MARK}"),
        (f"s3cr3t-s3cr3t-de{CUT_MARK}", f"s3cr3t-{M}{CUT_MARK}"),
    ],
)
def test_a_value_cut_by_replay_is_masked_from_its_head(text: str, expected: str) -> None:
    """Before the cut mark, the value's first characters (at least `MIN_VALUE_CHARS`) go."""
    assert expected == by_value(SECRET).text(text)


def test_a_cut_value_is_searched_only_near_the_end() -> None:
    """Only a head that runs into the cut mark is masked; an earlier one is ordinary text."""
    value = "abcdefghij"
    redactor = by_value(value)
    assert f"abcdefg abcd{M}{CUT_MARK}" == redactor.text(f"abcdefg abcdabcdefg{CUT_MARK}")


def test_a_mask_that_forms_the_value_anew_is_masked_again() -> None:
    """`]abcab` reappears after one pass (the mask ends in `]`): a second pass masks it."""
    redactor = by_value("]abcab")
    masked = redactor.text("]abcababcab")
    assert "]abcab" not in masked
    assert masked.startswith("[REDACTED")


def test_after_max_passes_the_text_is_masked_whole() -> None:
    """Each pass forms `]abcab` anew from the next `abcab`: past `MAX_PASSES`, mask it all."""
    redactor = by_value("]abcab")
    within = "]abcab" + "abcab" * (MAX_PASSES - 1)
    assert "[REDACTED" * (MAX_PASSES - 1) + M == redactor.text(within)
    assert M == redactor.text(within + "abcab")


@settings(max_examples=60, deadline=None)
@given(value=st.text(min_size=MIN_VALUE_CHARS, max_size=12), before=st.text(max_size=8))
def test_no_value_survives_in_any_text(value: str, before: str) -> None:
    """Any secret value in any text is gone after masking (unless it is part of the mask)."""
    masked = by_value(value).text(before + value + before)
    assert (value in REDACTED) == (value in masked)


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet="ab =:/@x-_\n", max_size=20))
def test_text_without_values_is_masked_by_patterns_only(text: str) -> None:
    value = "Q" * MIN_VALUE_CHARS
    assert PATTERNS.text(text) == by_value(value).text(text)


# --- argv, env, documents -------------------------------------------------------------------


def test_argv_masks_each_argument() -> None:
    argv = ["deploy", f"--token={SECRET}", SECRET, "x"]
    assert ("deploy", f"--token={M}", M, "x") == by_value(SECRET).argv(argv)
    assert ("deploy", f"--token={M}", SECRET, "x") == redact_argv(argv)


def test_env_keeps_names_and_masks_values() -> None:
    env = {"DB_PASS": "ab", "NOTE": f"uses {SECRET}", "URL": "https://u:p@h/x", "X": "1"}
    expected = {"DB_PASS": M, "NOTE": f"uses {M}", "URL": f"https://u:{M}@h/x", "X": "1"}
    assert expected == by_value(SECRET).env(env)
    assert {**expected, "NOTE": f"uses {SECRET}"} == redact_env(env)


class Word(str, enum.Enum):
    TOKEN = f"token={SECRET}"


def test_data_masks_every_string_and_envs_by_name() -> None:
    """Strings, keys, lists and tuples, `env` mappings by name; other scalars and enums stay."""
    redactor = by_value(SECRET)
    document: dict[Any, Any] = {
        "word": Word.TOKEN,
        Word.TOKEN: "enum key",
        "env": {"SHORT_TOKEN": "ab", "MODE": SECRET},
        "tests": [{"name": f"t[{SECRET}]", "n": 1, "f": 1.5, "b": True, "none": None}],
        "tuple": (SECRET, [SECRET]),
        f"key {SECRET}": None,
        3: SECRET,
        "other": {1, 2},
        "not an env": {"env": {"A": 1}},
    }
    expected: dict[Any, Any] = {
        "word": Word.TOKEN,
        Word.TOKEN: "enum key",
        "env": {"SHORT_TOKEN": M, "MODE": M},
        "tests": [{"name": f"t[{M}]", "n": 1, "f": 1.5, "b": True, "none": None}],
        "tuple": [M, [M]],
        f"key {M}": None,
        3: M,
        "other": {1, 2},
        "not an env": {"env": {"A": 1}},
    }
    actual = redactor.data(document)
    assert expected == actual
    assert Word.TOKEN is actual["word"]
    assert M == redactor.data(SECRET)
    assert Word.TOKEN is redactor.data(Word.TOKEN)
    assert [M, M] == redactor.data([SECRET, SECRET])


def test_data_env_under_another_key_is_ordinary() -> None:
    """Only the key `env` marks an environment: elsewhere a short secret-named value stays."""
    assert {"vars": {"DB_PASS": "ab"}} == PATTERNS.data({"vars": {"DB_PASS": "ab"}})
    mixed = {"env": {"DB_PASS": "ab", "N": 1}}
    assert mixed == PATTERNS.data(mixed)


def test_current_redactor_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("W1_UNIT_TOKEN", "from-os-environ")
    redactor = current_redactor({"JOB_TOKEN": "from-the-job"})
    assert {"from-os-environ", "from-the-job"} <= set(redactor.values)
    assert f"{M} {M}" == redactor.text("from-os-environ from-the-job")
