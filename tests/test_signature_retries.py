"""Signature-scoped retries and quarantine, end to end: real child processes, a real ledger.

The suite is a small script that writes a JUnit report with one test failing with
a chosen message (or passing from a chosen attempt on) and exits accordingly.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from _support import quarantine_entry, replay

from replay._core.planning import Options, build_plan
from replay._inputs.config import load_config
from replay._model.clock import local_today
from replay._model.errors import ConfigError
from replay._model.models import RetryOn

SCRIPT = """\
import pathlib, sys
from xml.sax.saxutils import escape, quoteattr
here = pathlib.Path(__file__).parent
count = here / "count"
n = int(count.read_text()) + 1 if count.exists() else 1
count.write_text(str(n))
pass_on = int((here / "pass_on").read_text())
message = (here / "message").read_text()
ok = 0 < pass_on <= n
failure = "" if ok else f"<failure message={quoteattr(message)}>{escape(message)}</failure>"
(here / "junit.xml").write_text(
    f'<testsuite name="net" tests="1"><testcase classname="net" name="test_fetch">{failure}'
    "</testcase></testsuite>"
)
sys.exit(0 if ok else 1)
"""

SUITE = """
[[replay.suites]]
name = "net"
adapter = "junit"
junit_path = "junit.xml"
command = ["{python}", "suite.py"]
"""

KNOWN = "connection reset after {ms}ms"
NEW = "KeyError: 'user'"


def project(tmp_path: Path, head: str = "") -> None:
    """The script suite and a `replay.toml` that starts with `head` under `[replay]`."""
    import sys

    (tmp_path / "suite.py").write_text(SCRIPT)
    suite = SUITE.format(python=sys.executable)
    (tmp_path / "replay.toml").write_text(f"[replay]\n{head}\n{suite}")


def fails_with(tmp_path: Path, message: str, *, pass_on: int = 0) -> None:
    """The next run's test fails with `message`, passing from attempt `pass_on` (0: never)."""
    (tmp_path / "message").write_text(message)
    (tmp_path / "pass_on").write_text(str(pass_on))
    (tmp_path / "count").unlink(missing_ok=True)


def run(tmp_path: Path, out: str, *args: str) -> tuple[int, str, dict[str, Any]]:
    """`replay run` and the one target of its summary."""
    result = replay(tmp_path, "run", "--out", out, "--quarantine-delay", "0", *args, timeout=60)
    summary = orjson.loads((tmp_path / out / "summary.json").read_bytes())
    return result.returncode, result.stderr, summary["targets"][0]


def record_a_flake(tmp_path: Path) -> None:
    """A first run, unscoped, that fails once with a connection reset and is recorded."""
    fails_with(tmp_path, KNOWN.format(ms=1532), pass_on=2)
    code, err, target = run(tmp_path, "r0", "--retries", "2", "--record")
    assert (0, "flaky") == (code, target["status"]), err


@pytest.mark.slow
def test_a_known_signature_is_retried_and_a_new_one_fails_at_once(tmp_path: Path) -> None:
    """`retry_on = "known-flaky"` with the ledger: the known failure (numbers aside) is retried
    and reported flaky; a new one fails at once, one attempt on record, naming the signature."""
    project(tmp_path, '[replay.history]\npath = "ledger.db"\n')
    record_a_flake(tmp_path)
    project(tmp_path, 'retry_on = "known-flaky"\n[replay.history]\npath = "ledger.db"\n')
    fails_with(tmp_path, KNOWN.format(ms=87), pass_on=2)
    code, err, target = run(tmp_path, "r1", "--retries", "2")
    assert (0, "flaky", 2) == (code, target["status"], len(target["attempts"])), err

    fails_with(tmp_path, NEW, pass_on=2)
    code, err, target = run(tmp_path, "r2", "--retries", "2")
    assert (1, "failed", 1) == (code, target["status"], len(target["attempts"])), err
    assert "new failure signature \"KeyError: 'user'\"" in target["retry_refused"]


@pytest.mark.slow
def test_without_retry_on_a_new_failure_is_retried_as_before(tmp_path: Path) -> None:
    """No `retry_on`: any failure is retried (the ledger is not even asked)."""
    project(tmp_path)
    fails_with(tmp_path, NEW, pass_on=2)
    code, err, target = run(tmp_path, "r", "--retries", "2")
    assert (0, "flaky", 2) == (code, target["status"], len(target["attempts"])), err


@pytest.mark.slow
def test_known_flaky_without_a_ledger_retries_nothing(tmp_path: Path) -> None:
    """`retry_on = "known-flaky"` and no ledger: no signature is known, nothing is retried."""
    project(tmp_path, 'retry_on = "known-flaky"\n')
    fails_with(tmp_path, KNOWN.format(ms=3), pass_on=2)
    code, err, target = run(tmp_path, "r", "--retries", "2")
    assert (1, 1) == (code, len(target["attempts"])), err


def quarantined_project(tmp_path: Path) -> None:
    today = local_today()
    entry = quarantine_entry(
        "net", today, today + timedelta(days=10), signatures=["connection reset after <duration>"]
    )
    (tmp_path / "c.toml").write_text(entry)
    project(tmp_path, '[replay.discover]\nclassification = "c.toml"\n')


@pytest.mark.slow
def test_a_quarantine_spares_its_signature_and_not_a_new_one(tmp_path: Path) -> None:
    """An entry with `signatures`: a failure it lists is spared (the run passes); a new
    signature fails the run at once, the target no longer quarantined."""
    quarantined_project(tmp_path)
    fails_with(tmp_path, KNOWN.format(ms=40))
    code, err, target = run(tmp_path, "r1")
    assert (0, True, 2) == (code, target["quarantined"], len(target["attempts"])), err

    fails_with(tmp_path, NEW)
    code, err, target = run(tmp_path, "r2")
    assert (1, False, 1) == (code, target["quarantined"], len(target["attempts"])), err
    assert "the quarantine entry does not cover it" in target["retry_refused"]


def test_retry_on_is_checked_in_the_config_and_the_policy(tmp_path: Path) -> None:
    """A bad `retry_on` is one line naming the file and the field (exit 2 from the CLI)."""
    project(tmp_path, 'retry_on = "always"\n')
    path = tmp_path / "replay.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: replay.retry_on: expected one of known-flaky")
    assert 2 == replay(tmp_path, "run", "--out", "r").returncode


def test_the_plan_carries_the_policy_and_the_signatures(tmp_path: Path) -> None:
    """`retry_on` reaches the plan's retry policy; signatures reach the suite's job as data."""
    project(tmp_path, 'retry_on = "known-flaky"\n')
    options = Options(signatures={"net": ("a",)}, known_signatures={"net": ("b",), "gone": ("c",)})
    plan = build_plan(load_config(tmp_path / "replay.toml"), options)
    job = plan.jobs[0]
    assert (RetryOn.KNOWN_FLAKY, ("a",), ("b",)) == (
        plan.retry.retry_on,
        job.signatures,
        job.known_signatures,
    )
