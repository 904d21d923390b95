"""Tests for replay._adapters.go: `go test -json` events, `-json` commands, `-run` reruns."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replay._adapters import get_adapter
from replay._adapters.go import GoAdapter, parse_go_test_json, run_pattern
from replay._models import Job, TestResult, TestStatus

FIXTURES = Path(__file__).parent / "fixtures" / "adapters"
PASSED, FAILED, SKIPPED = TestStatus.PASSED, TestStatus.FAILED, TestStatus.SKIPPED

MODULE_STATUSES = {
    "TestPass": PASSED,
    "TestFail": FAILED,
    "TestSkip": SKIPPED,
    "TestSub/ok_case": PASSED,
    "TestSub/bad/nested": FAILED,
    "TestSub/skip_me": SKIPPED,
    "TestSub": FAILED,
    "TestSubPkgOK": PASSED,
    "TestSubPkgFail": FAILED,
    "TestZPanic": FAILED,
}
MODULE_FAILURES = {
    "TestFail": ("Add(2, 2) = 4, want 5", "demo_test.go", 17),
    "TestSub/bad/nested": ("sub failed: x", "demo_test.go", 28),
    "TestSub": (None, None, None),
    "TestSubPkgFail": ("a log line\nfirst error\nsecond error", "sub_test.go", 8),
    "TestZPanic": ("panic: assignment to entry in nil map", "demo_test.go", 36),
}
HOSTILE = "it's; rm -rf ~ $(id) `reboot` | cat"

Failure = tuple[str | None, str | None, int | None]


def job(*argv: str, cwd: str | None = None) -> Job:
    """A go job running argv."""
    return Job(id="go", target="go", kind="unit", adapter="go", argv=argv, cwd=cwd)


def events(*records: Mapping[str, object]) -> list[str]:
    """JSON lines of the given events."""
    return [orjson.dumps(record).decode() for record in records]


def statuses(results: tuple[TestResult, ...]) -> dict[str, TestStatus]:
    """Name to status."""
    return {result.name: result.status for result in results}


def failures(results: tuple[TestResult, ...]) -> dict[str, Failure]:
    """Name to (message, file, line) of the failed results."""
    return {r.name: (r.message, r.file, r.line) for r in results if r.status is FAILED}


def test_real_module_run_gives_statuses_messages_and_locations() -> None:
    """Pass, fail, skip, subtests (one named `bad/nested`), a panic and a second package."""
    results = (
        GoAdapter()
        .parse(FIXTURES / "go_module.jsonl", FIXTURES, job("go", "test", "./...", cwd="/tmp/gfx"))
        .tests
    )
    assert (MODULE_STATUSES, MODULE_FAILURES) == (statuses(results), failures(results))


def test_timeout_and_build_failure_of_old_go() -> None:
    """Go 1.19: the timed-out test fails with the panic; a text build error fails its package."""
    results = parse_go_test_json(
        (FIXTURES / "go_timeout_build_fail.jsonl").read_text().splitlines()
    )
    expected = {
        "TestQuick": (PASSED, None, None, None),
        "TestSlow": (
            FAILED,
            "panic: test timed out after 1s",
            "/tmp/gfx2/slow/slow_test.go",
            11,
        ),
        "example.com/two/broken": (
            FAILED,
            "broken/broken_test.go:6:2: undefined: undefinedThing\n"
            "example.com/two/broken [build failed]",
            None,
            None,
        ),
    }
    assert expected == {r.name: (r.status, r.message, r.file, r.line) for r in results}


def test_build_failure_of_go_1_24_events() -> None:
    """Go 1.24 `build-output` events explain the failed package (hand-written after go's tests)."""
    results = parse_go_test_json((FIXTURES / "go_build_fail_go124.jsonl").read_text().splitlines())
    expected = {
        "TestOK": (PASSED, None),
        "m/builderror": (FAILED, "builderror/main_test.go:3:11: undefined: y"),
    }
    assert expected == {r.name: (r.status, r.message) for r in results}


def test_stack_paths_are_made_relative_to_the_job_directory() -> None:
    """A panic's absolute `_test.go` frame is shown relative to the job's cwd when inside it."""
    lines = (FIXTURES / "go_timeout_build_fail.jsonl").read_text().splitlines()
    results = parse_go_test_json(lines, cwd="/tmp/gfx2")
    assert ("slow/slow_test.go", 11) == next(
        (r.file, r.line) for r in results if r.name == "TestSlow"
    )


SYNTHETIC = [
    (
        "a test that never ends fails when its package ends",
        events(
            {"Action": "run", "Package": "p", "Test": "TestHang"},
            {
                "Action": "output",
                "Package": "p",
                "Test": "TestHang",
                "Output": "=== RUN TestHang\n",
            },
            {"Action": "fail", "Package": "p", "Elapsed": 3.5},
        ),
        {"TestHang": (FAILED, "the test binary stopped while this test ran")},
    ),
    (
        "a stream cut off mid-test fails the running test",
        events({"Action": "run", "Package": "p", "Test": "TestCut"}),
        {"TestCut": (FAILED, "the test binary stopped while this test ran")},
    ),
    (
        "output after a test's end does not revive it",
        events(
            {"Action": "run", "Package": "p", "Test": "TestA"},
            {"Action": "pass", "Package": "p", "Test": "TestA", "Elapsed": 0.25},
            {"Action": "output", "Package": "p", "Test": "TestA", "Output": "late\n"},
            {"Action": "pass", "Package": "p", "Elapsed": 0.3},
        ),
        {"TestA": (PASSED, None)},
    ),
    (
        "-count=2: a failure in either run is a failure",
        events(
            {"Action": "run", "Package": "p", "Test": "TestF"},
            {"Action": "pass", "Package": "p", "Test": "TestF"},
            {"Action": "run", "Package": "p", "Test": "TestF"},
            {
                "Action": "output",
                "Package": "p",
                "Test": "TestF",
                "Output": "    f_test.go:3: no\n",
            },
            {"Action": "fail", "Package": "p", "Test": "TestF"},
        ),
        {"TestF": (FAILED, "no")},
    ),
    (
        "a multi-line t.Errorf keeps its continuation lines",
        events(
            {"Action": "run", "Package": "p", "Test": "TestM"},
            {
                "Action": "output",
                "Package": "p",
                "Test": "TestM",
                "Output": "    m_test.go:9: got:\n",
            },
            {"Action": "output", "Package": "p", "Test": "TestM", "Output": "        {a: 1}\n"},
            {"Action": "fail", "Package": "p", "Test": "TestM"},
        ),
        {"TestM": (FAILED, "got:\n{a: 1}")},
    ),
    (
        "pages of t.Log before the t.Fatal and the panic still explain the failure",
        events(
            {"Action": "run", "Package": "p", "Test": "TestLoud"},
            *(
                {"Action": "output", "Package": "p", "Test": "TestLoud", "Output": f"log {i}\n"}
                for i in range(500)
            ),
            {
                "Action": "output",
                "Package": "p",
                "Test": "TestLoud",
                "Output": "    l_test.go:7: bad\n",
            },
            {"Action": "fail", "Package": "p", "Test": "TestLoud"},
            {"Action": "run", "Package": "p", "Test": "TestBoom"},
            *(
                {"Action": "output", "Package": "p", "Test": "TestBoom", "Output": f"log {i}\n"}
                for i in range(500)
            ),
            {"Action": "output", "Package": "p", "Test": "TestBoom", "Output": "panic: boom\n"},
            {"Action": "fail", "Package": "p", "Test": "TestBoom"},
        ),
        {"TestLoud": (FAILED, "bad"), "TestBoom": (FAILED, "panic: boom")},
    ),
    (
        "a benchmark that logged passes; one that failed fails",
        events(
            {"Action": "output", "Package": "p", "Test": "BenchmarkA", "Output": "log\n"},
            {"Action": "bench", "Package": "p", "Test": "BenchmarkA"},
            {
                "Action": "output",
                "Package": "p",
                "Test": "BenchmarkB",
                "Output": "    b_test.go:8: x\n",
            },
            {"Action": "fail", "Package": "p", "Test": "BenchmarkB"},
        ),
        {"BenchmarkA": (PASSED, None), "BenchmarkB": (FAILED, "x")},
    ),
    (
        "a package that failed with its tests passing (TestMain exit) is reported by name",
        events(
            {"Action": "run", "Package": "p/q", "Test": "TestA"},
            {"Action": "pass", "Package": "p/q", "Test": "TestA"},
            {"Action": "output", "Package": "p/q", "Output": "FAIL\tp/q\t0.01s\n"},
            {"Action": "fail", "Package": "p/q", "Elapsed": 0.01},
        ),
        {"TestA": (PASSED, None), "p/q": (FAILED, "FAIL\tp/q\t0.01s")},
    ),
    (
        "events of the wrong shape and non-JSON lines are skipped",
        [
            "PASS",
            "{not json",
            "[1, 2]",
            '{"Action": 7, "Test": "TestX"}',
            '{"Action": "pass", "Test": ["TestY"], "Elapsed": "fast"}',
            '{"Action": "pass", "Package": "p", "Test": "TestOK", "Elapsed": true}',
        ],
        {"TestOK": (PASSED, None)},
    ),
]


@pytest.mark.parametrize(
    ("case", "lines", "expected"), SYNTHETIC, ids=[case[0] for case in SYNTHETIC]
)
def test_event_streams(
    case: str, lines: list[str], expected: dict[str, tuple[TestStatus, str | None]]
) -> None:
    """Unfinished tests, repeats, late output and malformed events are read as meant."""
    results = parse_go_test_json(lines)
    assert expected == {r.name: (r.status, r.message) for r in results}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("go", "test", "./..."), ("go", "test", "-json", "-count=1", "./...")),
        (("go", "test", "-json", "./..."), ("go", "test", "-count=1", "-json", "./...")),
        (
            ("go", "test", "-count=3", "-json=true", "."),
            ("go", "test", "-count=3", "-json=true", "."),
        ),
        (
            ("/usr/lib/go/bin/go", "test", "-v", ".", "-args", "-json", "-count", "2"),
            (
                "/usr/lib/go/bin/go", "test", "-json", "-count=1", "-v", ".",
                "-args", "-json", "-count", "2",
            ),
        ),
        (("make", "test"), ("make", "test")),
        (("go", "vet", "./..."), ("go", "vet", "./...")),
    ],
)  # fmt: skip
def test_command_asks_for_json_and_no_cache(
    argv: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    """`-json` and `-count=1` go after `test` unless present; flags after `-args` do not count."""
    assert expected == GoAdapter().command(job(*argv), Path("attempt"))


@pytest.mark.parametrize(
    ("argv", "tests", "expected"),
    [
        (
            ("go", "test", "./..."),
            ("TestA", "TestB"),
            ("go", "test", "-run", "^TestA$|^TestB$", "./..."),
        ),
        (
            (
                "go", "test", "-v", "-run", "Old", "-race", "-run=Older", "./pkg",
                "-args", "-run", "x",
            ),
            ("TestX/sub",),
            ("go", "test", "-run", "^TestX$/^sub$", "-v", "-race", "./pkg", "-args", "-run", "x"),
        ),
        (
            ("go", "test", "--run=A", "-test.run", "B", "."),
            ("TestSub", "TestSub/bad/nested", "TestFail"),
            ("go", "test", "-run", "^TestSub$/^bad$/^nested$|^TestFail$", "."),
        ),
        (
            ("go", "test", "."),
            ("TestX/a.b+c*(d)|[e]{f}^$?\\", "TestX/#01"),
            (
                "go", "test", "-run",
                r"^TestX$/^a\.b\+c\*\(d\)\|\[e\]\{f\}\^\$\?\\$|^TestX$/^#01$", ".",
            ),
        ),
        (
            ("go", "test", "."),
            (f"TestQ/{HOSTILE}",),
            ("go", "test", "-run", r"^TestQ$/^it's; rm -rf ~ \$\(id\) `reboot` \| cat$", "."),
        ),
    ],
)  # fmt: skip
def test_targeted_replaces_run_with_an_anchored_pattern(
    argv: tuple[str, ...], tests: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    """Every earlier -run form goes; names are escaped; a parent with subtests narrows to them."""
    assert expected == GoAdapter().targeted(argv, tests)


@pytest.mark.parametrize(
    ("argv", "tests"),
    [
        (("go", "test", "./..."), ("example.com/two/broken",)),
        (("go", "test", "./..."), ("TestA", "m/builderror")),
        (("go", "test"), ()),
        (("go", "build"), ("TestA",)),
        (("./run-tests.sh",), ("TestA",)),
    ],
)
def test_targeted_refuses_packages_and_other_commands(
    argv: tuple[str, ...], tests: tuple[str, ...]
) -> None:
    """A package-level failure cannot be narrowed to tests: None, so the suite reruns whole."""
    assert GoAdapter().targeted(argv, tests) is None


def go_split(pattern: str) -> list[list[str]]:
    """How Go's testing package splits a -run pattern: alternatives of per-level patterns.

    A transcription of `splitRegexp` in Go's src/testing/match.go (Go 1.19).
    """
    alternatives: list[list[str]] = []
    levels: list[str] = []
    brackets = parens = i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "[":
            brackets += 1
        elif char == "]":
            brackets = max(brackets - 1, 0)
        elif char == "(" and brackets == 0:
            parens += 1
        elif char == ")" and brackets == 0:
            parens -= 1
        elif char == "\\":
            i += 1
        elif char in "/|" and brackets == 0 and parens == 0:
            levels.append(pattern[:i])
            pattern, i = pattern[i + 1 :], 0
            if char == "|":
                alternatives.append(levels)
                levels = []
            continue
        i += 1
    levels.append(pattern)
    alternatives.append(levels)
    return alternatives


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(exclude_characters="/")), min_size=1, max_size=3))
def test_escaped_names_split_and_match_as_go_reads_them(names: list[str]) -> None:
    """Go splits the pattern into one alternative per name; each level matches only itself."""
    tests = tuple(dict.fromkeys(f"TestX/{name}" for name in names))
    alternatives = go_split(run_pattern(tests))
    assert len(tests) == len(alternatives)
    for test, levels in zip(tests, alternatives, strict=True):
        elements = test.split("/")
        assert len(elements) == len(levels)
        for level, element in zip(levels, elements, strict=True):
            # RE2 and Python read escaped punctuation alike.
            assert re.fullmatch(level, element)
            assert not re.fullmatch(level, element + "x")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text()))
def test_parser_never_raises_on_arbitrary_lines(lines: list[str]) -> None:
    """Any text at all parses to some results, never an exception."""
    assert all(isinstance(result, TestResult) for result in parse_go_test_json(lines))


INTEGERS = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what JSON tools exchange
EVENT_VALUES = st.one_of(
    st.none(), st.booleans(), INTEGERS, st.floats(), st.text(max_size=8), st.lists(INTEGERS)
)
EVENTS = st.fixed_dictionaries(
    {},
    optional={
        "Action": st.sampled_from(
            ["run", "pause", "cont", "pass", "fail", "skip", "output", "bench", "start",
             "build-output", "build-fail"]
        ) | EVENT_VALUES,
        "Package": st.sampled_from(["p", "q", ""]) | EVENT_VALUES,
        "Test": st.sampled_from(["TestA", "TestA/x", "TestB"]) | EVENT_VALUES,
        "Output": st.sampled_from(["panic: x\n", "\t/a/b_test.go:3 +0x1\n", "    a_test.go:1: m\n"])
        | EVENT_VALUES,
        "Elapsed": EVENT_VALUES,
        "ImportPath": EVENT_VALUES,
    },
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENTS, max_size=40))
def test_parser_never_raises_on_arbitrary_events(records: list[dict[str, object]]) -> None:
    """Events in any order with any field types never make the parser raise."""
    lines = [orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS).decode() for record in records]
    assert all(isinstance(result, TestResult) for result in parse_go_test_json(lines))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=4000))
def test_adapter_parse_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    """Invalid UTF-8 and NULs in a log file are read, not fatal."""
    with tempfile.TemporaryDirectory() as directory:
        log = Path(directory) / "output.log"
        log.write_bytes(data)
        results = GoAdapter().parse(log, Path(directory), job("go", "test")).tests
    assert all(isinstance(result, TestResult) for result in results)


def test_registry_knows_go() -> None:
    """The config name `go` resolves to this adapter."""
    assert "go" == get_adapter("go").name


@pytest.mark.slow
def test_a_20_mb_stream_parses_completely(tmp_path: Path) -> None:
    """A 20 MB event stream (benchmarks live in scripts/bench_parsers.py) parses in one pass."""
    log = tmp_path / "output.log"
    with log.open("wb") as out:
        for i in range(40_000):
            action = "fail" if i % 100 == 0 else "pass"
            for record in (
                {"Action": "run", "Package": "example.com/m", "Test": f"TestCase{i}"},
                {"Action": "output", "Package": "example.com/m", "Test": f"TestCase{i}",
                 "Output": f"    case_test.go:{i}: checking case {i} " + "x" * 300 + "\n"},
                {"Action": action, "Package": "example.com/m", "Test": f"TestCase{i}",
                 "Elapsed": 0.01},
            ):  # fmt: skip
                out.write(orjson.dumps(record) + b"\n")
    assert log.stat().st_size > 20_000_000
    results = GoAdapter().parse(log, tmp_path, job("go", "test")).tests
    failed = [result for result in results if result.status is FAILED]
    assert (40_000, 400) == (len(results), len(failed))
    assert ("case_test.go", 100) == (failed[1].file, failed[1].line)


# --- live: a real module, when go is installed ---

GO = shutil.which("go")


@pytest.mark.slow
@pytest.mark.skipif(GO is None, reason="go is not installed")
def test_live_go_statuses_and_targeted_rerun(tmp_path: Path) -> None:
    """A real `go test`: statuses as expected; the targeted argv, run by hand, runs the failures."""
    project = tmp_path / "module"
    shutil.copytree(FIXTURES / "go_project", project)
    env = {
        **os.environ,
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",
        "GOCACHE": str(tmp_path / "cache"),
        "GOPATH": str(tmp_path / "gopath"),
    }
    adapter = GoAdapter()

    def run(argv: tuple[str, ...], name: str) -> tuple[TestResult, ...]:
        log = tmp_path / name
        command = adapter.command(job(*argv, cwd=str(project)), tmp_path)
        with log.open("wb") as out:
            subprocess.run(
                command, check=False, cwd=project, env=env, stdout=out,
                stderr=subprocess.STDOUT, timeout=600,
            )  # fmt: skip
        return adapter.parse(log, tmp_path, job(*command, cwd=str(project))).tests

    argv = ("go", "test", "./...")
    results = run(argv, "first.log")
    assert MODULE_STATUSES == statuses(results)
    failed = tuple(name for name, status in statuses(results).items() if status is FAILED)
    targeted = adapter.targeted(argv, failed)
    assert targeted is not None
    rerun = run(targeted, "second.log")
    assert dict.fromkeys(failed, FAILED) == statuses(rerun)
