"""Tests for `replay._core.html_report`, its evidence reader and `replay report`."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from _support import replay

from replay._core.html_report import FailureEvidence, render_report
from replay._inputs.evidence import failure_evidence, log_tail
from replay._model import models
from replay._model.models import ChainState, RunStatus, TargetStatus, TestStatus

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _target(name: str, status: TargetStatus, **changes: Any) -> models.TargetResult:
    fields: dict[str, Any] = {
        "name": name,
        "kind": "suite",
        "adapter": "pytest",
        "argv": ("pytest", "tests"),
        "status": status,
        "chain_state": ChainState.PASSING if status.ok else ChainState.OUTSTANDING,
        "decided_by": "run-2",
        "attempts": (
            models.Attempt(
                number=1, exit_code=0 if status.ok else 1, started_at="2026-01-01T00:00:00Z"
            ),
        ),
    }
    return models.TargetResult(**{**fields, **changes})


FAILED = models.TestResult("test_x", TestStatus.FAILED, message="assert 1 == 2")
SUMMARY = models.Summary(
    run_id="run-2",
    status=RunStatus.FAILED,
    started_at="2026-01-01T00:00:00Z",
    finished_at="2026-01-01T00:01:00Z",
    parent_run_id="run-1",
    rerun_from="runs/run-1/summary.json",
    targets=(
        _target("api", TargetStatus.FAILED, tests=(FAILED,), log="api/output.log"),
        _target(
            "ui",
            TargetStatus.FLAKY,
            tests=(FAILED, models.TestResult("test_x", TestStatus.PASSED, attempt=2)),
            attempts=(
                models.Attempt(
                    number=1, exit_code=1, started_at="2026-01-01T00:00:00Z", duration=1
                ),
                models.Attempt(
                    number=2, exit_code=0, started_at="2026-01-01T00:00:02Z", duration=1
                ),
            ),
        ),
        _target("db", TargetStatus.PASSED, decided_by="run-1"),
    ),
)
EVIDENCE = {
    "api": FailureEvidence(
        root_cause="assertion_failure",
        assertion="test_x at tests/test_api.py:3\nassert 1 == 2",
        excerpt=("collected 1 item", "FAILED tests/test_api.py::test_x"),
        targeted_command="pytest tests/test_api.py::test_x",
    )
}


def _page(summary: models.Summary = SUMMARY, **kwargs: Any) -> str:
    return render_report(summary, summary_path="runs/run-2/summary.json", **kwargs)


def test_the_page_shows_verdict_failure_assertion_excerpt_and_replay_command() -> None:
    """Each failure: its first failing assertion, the end of its log, the replay commands."""
    page = _page(evidence=EVIDENCE)
    assert "<span class='verdict failed'>failed</span>" in page
    assert "test_x at tests/test_api.py:3\nassert 1 == 2" in page
    assert "FAILED tests/test_api.py::test_x" in page
    assert "replay --rerun-from runs/run-2/summary.json" in page
    assert "pytest tests/test_api.py::test_x" in page
    assert "assertion_failure" in page


def test_the_page_lists_flaky_targets_and_which_run_decided_each_target() -> None:
    """The flaky table names `ui`; the chain table says `db` was decided by the parent run."""
    page = _page()
    flaky = page.split("<table id='flaky'>", 1)[1].split("</table>", 1)[0]
    assert "<td>ui</td>" in flaky
    assert "test_x" in flaky
    chain = page.split("<table id='chain'>", 1)[1].split("</table>", 1)[0]
    assert "<tr><td>db</td><td>passed</td><td>passing</td><td>run-1</td></tr>" in chain
    assert "<tr><td>api</td><td>failed</td><td>outstanding</td><td>run-2</td></tr>" in chain


def test_the_timeline_draws_one_rect_per_attempt() -> None:
    """Inline SVG: one rect per attempt that started, each titled with its target."""
    page = _page()
    rects = re.findall(r"<rect [^>]*><title>([^<]*)</title>", page)
    assert 4 == len(rects)
    assert any(title.startswith("ui · attempt 2 · passed") for title in rects)


def test_without_digests_the_adapter_message_is_the_assertion(tmp_path: Path) -> None:
    """No digest on disk: the first failed test's own message stands in for the assertion."""
    (tmp_path / "api").mkdir()
    (tmp_path / "api/output.log").write_text("".join(f"line {n}\n" for n in range(100)))
    found = failure_evidence(SUMMARY, tmp_path, str.upper)
    assert {"api"} == found.keys()
    assert "TEST_X\nASSERT 1 == 2" == found["api"].assertion
    assert tuple(f"LINE {n}" for n in range(70, 100)) == found["api"].excerpt


def test_a_digest_gives_the_assertion_cause_and_targeted_command(tmp_path: Path) -> None:
    """The digest's first failing assertion, root cause and targeted command reach the page."""
    digest = {
        "root_cause_class": "panic",
        "root_cause_evidence": {"scope": "failure", "lines": ["thread panicked"]},
        "first_failing_assertion": {"test": "t", "file": "src/a.rs", "line": 3, "message": "boom"},
        "remediation_pointer": {"targeted_test_replay_command": "cargo test t"},
    }
    (tmp_path / "api").mkdir()
    (tmp_path / "api/failure_digest.json").write_bytes(orjson.dumps(digest))
    summary = models.Summary(
        run_id="r",
        status=RunStatus.FAILED,
        started_at="",
        finished_at="",
        targets=(_target("api", TargetStatus.FAILED, digest="api/failure_digest.json"),),
    )
    found = failure_evidence(summary, tmp_path)["api"]
    expected = FailureEvidence(
        "panic", "t at src/a.rs:3\nboom", ("thread panicked",), (), "cargo test t"
    )
    assert expected == found


def test_a_long_log_tail_is_cut_and_a_missing_log_is_empty(tmp_path: Path) -> None:
    """The excerpt reads only the end of a huge log; no log, no excerpt."""
    log = tmp_path / "big.log"
    log.write_bytes(b"x" * 1_000_000 + b"\nlast\n")
    assert ("last",) == log_tail(log)[-1:]
    assert () == log_tail(tmp_path / "missing.log")


def test_every_text_is_escaped_and_nothing_is_fetched() -> None:
    """A target named like markup stays text; the page has no script, link or remote URL."""
    evil = _target("<script>alert(1)</script>", TargetStatus.FAILED)
    page = _page(
        models.Summary(
            run_id="r", status=RunStatus.FAILED, started_at="", finished_at="", targets=(evil,)
        )
    )
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    urls = set(re.findall(r"https?://[^\s'\"<>]+", page))
    assert {"http://www.w3.org/2000/svg"} >= urls
    assert "default-src 'none'" in page


def test_replay_report_writes_the_page_of_any_summary(tmp_path: Path) -> None:
    """`replay report S --out F` writes F; an unreadable summary is one line and exit 2."""
    replay(tmp_path, "run", "--out", "r", "--", "sh", "-c", "echo broken; exit 1")
    result = replay(tmp_path, "report", "r/summary.json", "--out", "page.html")
    assert 0 == result.returncode, result.stderr
    page = (tmp_path / "page.html").read_text()
    assert "broken" in page
    assert "replay --rerun-from r/summary.json" in page
    (tmp_path / "bad.json").write_text("{")
    bad = replay(tmp_path, "report", "bad.json")
    assert 2 == bad.returncode
    assert 1 == len(bad.stderr.strip().splitlines())
    assert "bad.json" in bad.stderr


# --- in a real browser ------------------------------------------------------------------------


def _need_chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing in CI: .ci/run should install it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return CHROMIUM


HEADLESS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run")
QUIET = ("--disable-background-networking", "--disable-component-update", "--disable-sync")
"""Chromium with no window that starts quickly and talks to nobody (no updates, no sync)."""


def _chromium(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                _need_chromium(),
                *HEADLESS,
                *QUIET,
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                *args,
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )


def png_colours(data: bytes, rows: int) -> set[bytes]:
    """The distinct pixels of a PNG's first `rows` rows (8-bit RGB or RGBA, not interlaced)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, header = 8, b"", b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        offset += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert (8, 0) == (depth, header[12]), "8-bit, not interlaced"
    size = {2: 3, 6: 4}[colour_type]
    raw, stride = zlib.decompress(idat), width * size
    previous, colours = bytearray(stride), set[bytes]()
    for row in range(min(rows, height)):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - size] if i >= size else 0
            up, corner = previous[i], previous[i - size] if i >= size else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + guess) & 255
        colours.update(bytes(line[i : i + size]) for i in range(0, stride, size))
        previous = line
    return colours


@pytest.mark.slow
def test_a_run_report_renders_in_chromium_without_console_errors(tmp_path: Path) -> None:
    """A real run's report.html in headless Chromium: no console error, a screenshot not blank."""
    _need_chromium()
    flaky = "import os,sys; e=os.path.exists('f'); open('f','w').close(); sys.exit(not e)"
    config = (
        "[[replay.suites]]\nname = 'flaky'\n"
        f"command = [{sys.executable!r}, '-c', {flaky!r}]\n"
        "[[replay.suites]]\nname = 'broken'\ncommand = ['sh', '-c', 'echo assert failed; exit 1']\n"
    )
    (tmp_path / "replay.toml").write_text(config)
    replay(tmp_path, "run", "--out", "r", "-j", "2", "--retries", "1")
    page = tmp_path / "r/report.html"
    assert page.is_file()
    shot = tmp_path / "shot.png"
    result = _chromium(page, f"--screenshot={shot}", "--window-size=1200,900")
    assert 0 == result.returncode, result.stderr
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    assert [] == console
    assert len(png_colours(shot.read_bytes(), rows=300)) > 3
    dom = _chromium(page, "--dump-dom").stdout
    assert "broken" in dom
    assert "<svg" in dom


def test_the_png_reader_sees_one_colour_in_a_blank_image() -> None:
    """The blank check can fail: a one-colour PNG has exactly one colour."""
    width, height = 4, 3
    # The first row white as it is (filter 0), the others "same as above" (filter 2, Up).
    rows = b"\x00" + b"\xff" * 3 * width + (b"\x02" + b"\x00" * 3 * width) * (height - 1)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
    assert {b"\xff\xff\xff"} == png_colours(png + chunk(b"IEND", b""), rows=10)


def test_a_secret_printed_by_a_job_is_masked_in_the_report_and_trace(tmp_path: Path) -> None:
    """The log excerpt goes through the run's redactor: the token's value never reaches the page."""
    secret = "hunter2-very-secret-value"  # noqa: S105 - a planted secret the page must mask
    env = {"API_TOKEN": secret}
    replay(
        tmp_path, "run", "--out", "r", "--", "sh", "-c", "echo token=$API_TOKEN; exit 1", env=env
    )
    page = (tmp_path / "r/report.html").read_text()
    assert "token=" in page
    assert secret not in page
    assert secret not in (tmp_path / "r/trace.json").read_text()
