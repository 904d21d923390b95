"""The redactor: secret names, patterns and values masked wherever replay writes or prints them."""

from __future__ import annotations

import io
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import orjson
import pytest
from _support import replay
from hypothesis import example, given
from hypothesis import strategies as st

from replay._core.bundle import bundle_document
from replay._core.junit import MAX_MESSAGE_ATTR, junit_report
from replay._core.planning import Options, masked_env_notes, recorded_env, rerun_plan
from replay._core.redact import (
    MIN_VALUE_CHARS,
    PATTERNS,
    REDACTED,
    Redactor,
    is_secret_name,
)
from replay._core.summary import result_document, summary_document
from replay._exec.environment import environment_document
from replay._exec.postprocess import digest_step
from replay._model import models
from replay._model.config import Config
from replay._model.models import ChainState, RunStatus, TargetStatus, TestStatus

SECRET = "s3cr3t-deploy-value"  # noqa: S105 - a fake secret to look for


SECRET_NAMES = [
    "CI_JOB_JWT",
    "CI_JOB_JWT_V2",
    "GITHUB_PAT",
    "GITHUB_TOKEN",
    "CI_JOB_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "DEPLOY_TOKEN",
    "DB_PASSWORD",
    "CI_REGISTRY_PASSWORD",
    "SMTP_PASSWD",
    "DB_PASS",
    "DB_PWD",
    "GPG_PASSPHRASE",
    "MY_API_KEY",
    "OPENAI_API_KEY",
    "SSH_PRIVATE_KEY",
    "SIGNING_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "CLIENT_SECRET",
    "NPM_AUTH",
    "GOOGLE_CREDENTIALS",
    "SESSION_COOKIE",
    "GHTOKEN",
    "clientSecret",
    "apiKey",
    "db.password",
    "x-api-key",
    "token",
    "password",
]
"""Names that say they hold a secret."""
ORDINARY_NAMES = [
    "PATH",
    "PWD",
    "OLDPWD",
    "HOME",
    "CI",
    "CI_COMMIT_SHA",
    "CI_COMMIT_AUTHOR",
    "GITHUB_ACTOR",
    "TOKENIZERS_PARALLELISM",
    "MAX_TOKENS",
    "RUST_LOG",
    "KEYBOARD_LAYOUT",
    "SSH_KEY_PATH",
    "GPG_KEY_ID",
    "CI_NODE_INDEX",
    "PASS",
    "KEY",
    "",
]
"""Names that only contain a secret word, or stand alone where logs use them."""


@pytest.mark.parametrize(
    ("name", "secret"),
    [*((n, True) for n in SECRET_NAMES), *((n, False) for n in ORDINARY_NAMES)],
)
def test_secret_names(name: str, secret: bool) -> None:
    """A secret name says it holds a secret; an ordinary name does not."""
    assert secret is is_secret_name(name)


# What the patterns mask and keep, and where a value is masked in a text, case by case:
# tests/test_unit_redact.py.


def test_values_come_from_secret_names_only() -> None:
    """Values of secret-named variables (not short, not others) are what is masked by value."""
    redactor = Redactor.from_environments(
        {"DEPLOY_TOKEN": SECRET, "HOME": "/home/runner", "DB_PASS": "abc"},
        {"API_KEY": "line-one-value\nline-two-value"},
    )
    expected = (
        "line-one-value\nline-two-value",
        SECRET,
        "line-one-value",
        "line-two-value",
    )
    assert expected == redactor.values


def test_short_values_are_masked_by_name_only() -> None:
    """A value under `MIN_VALUE_CHARS` is kept in text but masked in an environment mapping."""
    short = "x" * (MIN_VALUE_CHARS - 1)
    redactor = Redactor.from_environments({"DB_PASS": short})
    assert f"password is {short}" == redactor.text(f"password is {short}")
    assert {"DB_PASS": REDACTED, "MODE": "fast"} == redactor.env({"DB_PASS": short, "MODE": "fast"})


def test_overlapping_values_become_one_mask() -> None:
    """Values that overlap in a text are masked as one span, the longer value first."""
    redactor = Redactor.from_environments({"A_TOKEN": "abcdef-123", "B_TOKEN": "123-ghijkl"})
    assert f"x {REDACTED} y" == redactor.text("x abcdef-123-ghijkl y")


def test_shell_quoted_values_are_masked() -> None:
    """A value with a `'` is masked in the form `shlex.join` gives it too."""
    import shlex

    value = "it's-a-secret"
    redactor = Redactor.from_environments({"X_PASSWORD": value})
    joined = shlex.join(["run", value])
    assert value not in joined
    assert f"run '{REDACTED}'" == redactor.text(joined)


def test_env_keeps_names_and_masks_values() -> None:
    """An environment keeps every name; secret-named values are masked whole."""
    redactor = Redactor.from_environments({"DEPLOY_TOKEN": SECRET})
    env = {"DEPLOY_TOKEN": SECRET, "NOTE": f"uses {SECRET}", "URL": "https://u:p@h/x", "X": "1"}
    expected = {
        "DEPLOY_TOKEN": REDACTED,
        "NOTE": f"uses {REDACTED}",
        "URL": f"https://u:{REDACTED}@h/x",
        "X": "1",
    }
    assert expected == redactor.env(env)


def test_data_masks_strings_keys_and_envs_but_not_enums() -> None:
    """Every string of a document is masked, an `env` mapping by name, enums stay enums."""
    redactor = Redactor.from_environments({"DEPLOY_TOKEN": SECRET})
    document = {
        "status": TargetStatus.FAILED,
        "env": {"SHORT_TOKEN": "ab", "MODE": "ci"},
        "tests": [{"name": f"t[{SECRET}]", "duration": 1.5}],
        f"key {SECRET}": None,
    }
    expected = {
        "status": TargetStatus.FAILED,
        "env": {"SHORT_TOKEN": REDACTED, "MODE": "ci"},
        "tests": [{"name": f"t[{REDACTED}]", "duration": 1.5}],
        f"key {REDACTED}": None,
    }
    actual = redactor.data(document)
    assert expected == actual
    assert TargetStatus.FAILED is actual["status"]


SECRET_ALPHABET = "[]REDACTabc =:'\"…\n"  # noqa: S105 - characters, not a password
"""Characters that collide with the mask and the patterns: where masking could go wrong."""


@given(
    values=st.lists(
        st.text(alphabet=SECRET_ALPHABET, min_size=MIN_VALUE_CHARS, max_size=14).filter(
            lambda v: v not in REDACTED
        ),
        min_size=1,
        max_size=3,
    ),
    pieces=st.lists(st.text(alphabet=SECRET_ALPHABET, max_size=12), min_size=1, max_size=4),
)
# The mask's own `]` and the text after it spell the value anew: a second pass is needed.
@example(values=["]abcab"], pieces=["", "abcab"])
def test_no_value_survives_masking(values: list[str], pieces: list[str]) -> None:
    """However a text holds the secret values, none of them is left in it after masking."""
    redactor = Redactor.from_environments({f"S{i}_TOKEN": v for i, v in enumerate(values)})
    text = "".join(p + v for p, v in zip(pieces, values * len(pieces), strict=False)) + "".join(
        values
    )
    masked = redactor.text(text)
    assert [] == [v for v in values if v in masked]


@given(value=st.text(min_size=MIN_VALUE_CHARS), before=st.text(), after=st.text())
def test_no_value_survives_in_any_text(value: str, before: str, after: str) -> None:
    """Any secret value in any text is gone after masking (unless it is part of the mask)."""
    redactor = Redactor.from_environments({"DEPLOY_TOKEN": value})
    masked = redactor.text(before + value + after)
    assert (value in REDACTED) == (value in masked)


@given(value=st.text(min_size=MIN_VALUE_CHARS), text=st.text())
def test_masking_values_touches_nothing_else(value: str, text: str) -> None:
    """A text that holds no value is masked by the patterns alone."""
    redactor = Redactor.from_environments({"DEPLOY_TOKEN": value})
    if value not in text and not text.endswith("…"):
        assert PATTERNS.text(text) == redactor.text(text)


@given(
    value=st.text(alphabet=SECRET_ALPHABET, min_size=MIN_VALUE_CHARS, max_size=12).filter(
        lambda v: v not in REDACTED
    ),
    shape=st.recursive(
        st.one_of(st.text(alphabet=SECRET_ALPHABET, max_size=8), st.integers(-9, 9), st.none()),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.text(alphabet="abenv", max_size=3), inner, max_size=3)
        ),
        max_leaves=8,
    ),
)
def test_no_value_survives_in_a_document(value: str, shape: Any) -> None:
    """A document holding a secret value anywhere (keys, lists, envs) serialises without it."""
    redactor = Redactor.from_environments({"DEPLOY_TOKEN": value})
    document = {"a": shape, value: [value, {"env": {"X": value}}], "b": f"<{value}>"}
    redacted = orjson.loads(orjson.dumps(redactor.data(document)))
    assert [] == [text for text in strings(redacted) if value in text]


def strings(document: Any) -> list[str]:
    """Every string of a JSON document, keys included."""
    if isinstance(document, str):
        return [document]
    if isinstance(document, dict):
        return [*document, *(s for v in document.values() for s in strings(v))]
    if isinstance(document, list):
        return [s for item in document for s in strings(item)]
    return []


# ---------------------------------------------------------------------------
# The documents replay writes, and the plan it prints
# ---------------------------------------------------------------------------


def failed_target(**fields: Any) -> models.TargetResult:
    """A failed pytest target decided by run `r` whose job env and test message hold `SECRET`."""
    values: dict[str, Any] = {
        "name": "leaky",
        "kind": "suite",
        "adapter": "pytest",
        "argv": ("pytest", f"--token={SECRET}"),
        "status": TargetStatus.FAILED,
        "chain_state": ChainState.OUTSTANDING,
        "decided_by": "r",
        "env": {"DEPLOY_TOKEN": SECRET, "MODE": "ci"},
        "tests": (
            models.TestResult(
                "t.py::test_it", TestStatus.FAILED, message=f"AssertionError: {SECRET}"
            ),
        ),
        "attempts": (models.Attempt(number=1, exit_code=1, error=f"stopped {SECRET}"),),
        "log": "leaky/output.log",
        "result": "leaky/result.json",
    }
    values.update(fields)
    return models.TargetResult(**values)


def failed_summary(**fields: Any) -> models.Summary:
    """A failed run `r` of `failed_target()`."""
    values: dict[str, Any] = {
        "run_id": "r",
        "status": RunStatus.FAILED,
        "started_at": "2026-01-01T00:00:00Z",
        "finished_at": "2026-01-01T00:00:01Z",
        "targets": (failed_target(),),
        "one_command_replay": "python -m replay --rerun-from r/summary.json",
    }
    values.update(fields)
    return models.Summary(**values)


def test_summary_keeps_env_names_and_masks_values() -> None:
    """`summary.json` records which variables a job had, never their secret values."""
    document = summary_document(failed_summary())
    (target,) = document["targets"]
    assert {"DEPLOY_TOKEN": REDACTED, "MODE": "ci"} == target["env"]
    assert SECRET not in orjson.dumps(document).decode()


def test_result_document_is_masked() -> None:
    """A target's `result.json` document holds no secret value."""
    document = result_document(failed_target())
    assert {"DEPLOY_TOKEN": REDACTED, "MODE": "ci"} == document["env"]
    assert SECRET not in orjson.dumps(document).decode()


def test_bundle_is_masked() -> None:
    """`replay_bundle.json`: commands, envs and the environment block hold no secret value."""
    document = bundle_document(
        failed_summary(),
        summary_path="r/summary.json",
        generated_at="now",
        environment={"env": {"CI_JOB_JWT": REDACTED}},
    )
    (entry,) = document["failed_suites"]
    assert f"pytest '--token={REDACTED}'" == entry["command"]
    assert SECRET not in orjson.dumps(document).decode()


def test_environment_masks_ci_secrets_by_name_and_value() -> None:
    """`environment.json` keeps CI variables, masks secret-named ones and values elsewhere."""
    # (variable, its value, what environment.json records: None for a variable it leaves out)
    variables = [
        ("CI_JOB_JWT", "eyJabc.eyJdef.sig", REDACTED),
        ("CI_JOB_JWT_V2", "short", REDACTED),
        ("GITHUB_PAT", "ghp_x", REDACTED),
        ("CI_DEPLOY_KEY", "k", REDACTED),
        ("CI_DB_PASS", "p", REDACTED),
        ("CI_NOTE", f"deployed with {SECRET}", f"deployed with {REDACTED}"),
        ("CI_COMMIT_SHA", "abc123", "abc123"),
        ("DEPLOY_TOKEN", SECRET, None),
    ]
    document = environment_document(
        run_id="r",
        cwd="/w",
        env={name: value for name, value, _ in variables},
        shard=None,
        profile=None,
        parallelism=1,
        tools={},
        git={},
    )
    expected = {name: kept for name, _, kept in variables if kept is not None}
    assert expected == document["env"]


def test_junit_report_is_masked() -> None:
    """The JUnit report masks messages, errors and names, also where it cut one."""
    cut = "x" * (MAX_MESSAGE_ATTR - 9) + SECRET
    target = failed_target(
        tests=(
            models.TestResult(
                "t.py::test_it", TestStatus.FAILED, message=f"AssertionError: {SECRET}"
            ),
            models.TestResult(f"t.py::test[{SECRET}]", TestStatus.FAILED, message=cut),
        )
    )
    report = junit_report(failed_summary(targets=(target,))).decode()
    assert [] == leaks_of(SECRET, report)
    assert f"AssertionError: {REDACTED}" in report
    assert f'message="{"x" * (MAX_MESSAGE_ATTR - 9)}{REDACTED}…"' in report


def leaks_of(secret: str, text: str) -> list[str]:
    """`secret`, and its first `MIN_VALUE_CHARS` characters, where `text` holds them."""
    return [s for s in (secret, secret[:MIN_VALUE_CHARS]) if s in text]


def test_digest_and_index_are_masked(tmp_path: Path) -> None:
    """A digest quotes the log and the failing assertion: both come out masked."""
    (tmp_path / "leaky").mkdir()
    (tmp_path / "leaky/output.log").write_text(
        f"Authorization: Bearer {SECRET}\nAssertionError: expected {SECRET}\n"
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG\n"
    )
    summary = failed_summary()
    step = digest_step(Redactor.from_environments({"DEPLOY_TOKEN": SECRET}))
    step(summary, tmp_path)
    written = {
        path.name: path.read_text()
        for path in (
            tmp_path / "leaky/failure_digest.json",
            tmp_path / "failure_diagnostics_index.json",
        )
    }
    assert 2 == len(written)
    assert {} == {n: t for n, t in written.items() if SECRET in t or "wJalrXUtnFEMI" in t}
    digest = orjson.loads(written["failure_digest.json"])
    assert f"AssertionError: {REDACTED}" == digest["first_failing_assertion"]["message"]


def test_dry_run_plan_is_masked() -> None:
    """`--dry-run` prints job env names with masked values, and masked arguments."""
    from replay._cli._options import print_plan

    job = models.Job(
        id="leaky",
        target="leaky",
        kind="suite",
        adapter="generic",
        argv=("deploy", f"--password={SECRET}"),
        env={"DEPLOY_TOKEN": SECRET, "MODE": "ci"},
    )
    out = io.StringIO()
    with redirect_stdout(out):
        print_plan(models.Plan(jobs=(job,)))
    (printed,) = orjson.loads(out.getvalue())["jobs"]
    assert {"DEPLOY_TOKEN": REDACTED, "MODE": "ci"} == printed["env"]
    assert ["deploy", f"--password={REDACTED}"] == printed["argv"]


# ---------------------------------------------------------------------------
# Reruns: a masked value is never passed to a job
# ---------------------------------------------------------------------------


def test_recorded_env_drops_masked_values() -> None:
    """Masked values (whole or in part) leave a recorded env; the rest is reused."""
    env = {"DEPLOY_TOKEN": REDACTED, "URL": f"https://u:{REDACTED}@h", "MODE": "ci"}
    assert {"MODE": "ci"} == recorded_env(env)


def test_rerun_takes_secrets_from_the_config_and_never_the_mask() -> None:
    """A suite gone from the config reruns with the config's value, never with the mask."""
    summary = failed_summary(
        targets=(failed_target(env={"SHARED_API_KEY": REDACTED, "DEPLOY_TOKEN": REDACTED}),)
    )
    config = Config(root="/w", env={"SHARED_API_KEY": "from-config-value"})
    plan = rerun_plan(summary, config, Options(), summary_path="r/summary.json")
    (job,) = plan.jobs
    assert {"SHARED_API_KEY": "from-config-value"} == job.env
    notes = masked_env_notes(summary, plan, config, environ={})
    expected = (
        "leaky: DEPLOY_TOKEN was masked in the summary and is not set here; "
        "the job runs without it",
    )
    assert expected == notes
    assert () == masked_env_notes(summary, plan, config, environ={"DEPLOY_TOKEN": SECRET})


def test_rerun_of_a_suite_still_in_the_config_takes_its_env() -> None:
    """A suite the config still defines reruns with the config's env, with no note."""
    summary = failed_summary(targets=(failed_target(env={"DEPLOY_TOKEN": REDACTED}),))
    suite = models.Suite(name="leaky", command=("pytest",), env={"DEPLOY_TOKEN": "real-value-123"})
    config = Config(root="/w", suites=(suite,))
    plan = rerun_plan(summary, config, Options(), summary_path="r/summary.json")
    assert [{"DEPLOY_TOKEN": "real-value-123"}] == [job.env for job in plan.jobs]
    assert () == masked_env_notes(summary, plan, config, environ={})


# ---------------------------------------------------------------------------
# End to end: a real `python -m replay` run, its files and its output
# ---------------------------------------------------------------------------

E2E_SECRETS = {
    "REPLAY_E2E_TOKEN": "from-env-7f3a9c1e",
    "SUITE_PASSWORD": "from-suite-5d2b8e4f",
    "SHARED_API_KEY": "from-config-9c4e1a7b",
    "CLI_SECRET": "from-cli-3e8f6a2d",
}
"""One secret from each source: replay's environment, the suite's env, `[replay] env`, `--env`."""
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

LEAKY_TEST = """\
import os

NAMES = ("REPLAY_E2E_TOKEN", "SUITE_PASSWORD", "SHARED_API_KEY", "CLI_SECRET")


def test_prints_and_fails():
    values = [os.environ.get(name, "<unset>") for name in NAMES]
    print("seen:", *values)
    assert not values, f"leaked {values}"
"""
JOB_WRITTEN = frozenset({"output.log", "junit.xml"})
"""Files the job itself writes (its log, pytest's own report): kept byte for byte."""


def leaky_project(path: Path, *, with_suite: bool = True) -> None:
    """A pytest project whose one test prints the four secrets and fails on them."""
    (path / "test_leak.py").write_text(LEAKY_TEST)
    config = f'[replay]\nenv = {{ SHARED_API_KEY = "{E2E_SECRETS["SHARED_API_KEY"]}" }}\n'
    if with_suite:
        config += (
            '\n[[replay.suites]]\nname = "leaky"\nadapter = "pytest"\n'
            f'command = ["{sys.executable}", "-m", "pytest", "-q", "-p", "no:cacheprovider", '
            '"test_leak.py"]\n'
            f'env = {{ SUITE_PASSWORD = "{E2E_SECRETS["SUITE_PASSWORD"]}" }}\n'
        )
    (path / "replay.toml").write_text(config)


def leaks(text: str) -> list[str]:
    """The secrets (and the JWT) that `text` holds."""
    return sorted(v for v in (*E2E_SECRETS.values(), JWT) if v in text)


def written_by_replay(run_dir: Path) -> dict[str, str]:
    """Every file in `run_dir` except what the job wrote, by relative path."""
    return {
        path.relative_to(run_dir).as_posix(): path.read_text(errors="replace")
        for path in sorted(run_dir.rglob("*"))
        if path.is_file() and path.name not in JOB_WRITTEN
    }


@pytest.fixture(scope="module")
def leaky_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One failing run of `leaky_project` with every secret source, `--github` and `--junit`."""
    path = tmp_path_factory.mktemp("leaky")
    leaky_project(path)
    env = {
        "REPLAY_E2E_TOKEN": E2E_SECRETS["REPLAY_E2E_TOKEN"],
        "CI_JOB_JWT": JWT,
        "GITHUB_STEP_SUMMARY": str(path / "step.md"),
    }
    cli_env = f"CLI_SECRET={E2E_SECRETS['CLI_SECRET']}"
    run = replay(
        path, "run", "--out", "r", "--env", cli_env, "--github", "--junit", "report.xml", env=env
    )
    dry = replay(path, "run", "--dry-run", "--env", cli_env, env=env)
    show = replay(path, "show", "r/summary.json", env=env)
    return {"path": path, "env": env, "run": run, "dry": dry, "show": show}


@pytest.mark.slow
def test_job_log_keeps_every_secret_byte_for_byte(leaky_run: dict[str, Any]) -> None:
    """The job saw the real values and its own log holds them as it printed them."""
    assert 1 == leaky_run["run"].returncode, leaky_run["run"].stderr
    log = (leaky_run["path"] / "r/leaky/output.log").read_bytes()
    assert ("seen: " + " ".join(E2E_SECRETS.values())).encode() in log


@pytest.mark.slow
def test_nothing_replay_writes_or_prints_holds_a_secret(leaky_run: dict[str, Any]) -> None:
    """No file replay wrote, nor its output (run, --github, --dry-run, show), holds a secret."""
    path = leaky_run["path"]
    files = written_by_replay(path / "r")
    # result.json is written by replay/_exec/run.py, which does not pass the run's redactor yet.
    files = {name: text for name, text in files.items() if not name.endswith("result.json")}
    assert {"summary.json", "environment.json", "replay_bundle.json"} <= set(files)
    assert {"leaky/failure_digest.json", "failure_diagnostics_index.json"} <= set(files)
    files["report.xml"] = (path / "report.xml").read_text()
    files["step.md"] = (path / "step.md").read_text()
    for name in ("run", "dry", "show"):
        files[f"{name} stdout"] = leaky_run[name].stdout
        files[f"{name} stderr"] = leaky_run[name].stderr
    assert "::error " in files["run stdout"]
    assert {} == {name: leaks(text) for name, text in files.items() if leaks(text)}


@pytest.mark.slow
def test_result_json_holds_no_secret(leaky_run: dict[str, Any]) -> None:
    """A target's `result.json` holds no secret value."""
    files = written_by_replay(leaky_run["path"] / "r")
    assert {} == {n: leaks(t) for n, t in files.items() if n.endswith("result.json") and leaks(t)}


@pytest.mark.slow
def test_summary_records_names_of_masked_variables(leaky_run: dict[str, Any]) -> None:
    """The summary keeps the job env's names (a rerun sets them) with masked values."""
    summary = orjson.loads((leaky_run["path"] / "r/summary.json").read_bytes())
    (target,) = summary["targets"]
    expected = {name: REDACTED for name in ("SHARED_API_KEY", "SUITE_PASSWORD", "CLI_SECRET")}
    assert expected == target["env"]


@pytest.mark.slow
def test_rerun_gives_the_job_real_values(leaky_run: dict[str, Any]) -> None:
    """A rerun of a suite gone from the config takes values from the environment, config and
    `--env`, runs without the one only the summary had, and never sees the mask."""
    path = leaky_run["path"]
    leaky_project(path, with_suite=False)
    cli_env = f"CLI_SECRET={E2E_SECRETS['CLI_SECRET']}"
    rerun = replay(
        path,
        "--rerun-from",
        "r/summary.json",
        "--out",
        "r2",
        "--env",
        cli_env,
        env=leaky_run["env"],
    )
    assert 1 == rerun.returncode, rerun.stderr
    log = (path / "r2/leaky/output.log").read_text()
    seen = {**E2E_SECRETS, "SUITE_PASSWORD": "<unset>"}
    assert f"seen: {' '.join(seen.values())}" in log
    assert REDACTED not in log
