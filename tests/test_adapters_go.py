"""Tests for replay._adapters.go: `go test -json` events, `-json` commands, `-run` reruns.

Captures beside `fixtures/adapters/README.md`'s, by go 1.19.8 with
`GOFLAGS=-mod=mod GOPROXY=off go test -json -count=1 ./...`:
`go_shared.jsonl` in a copy of `go_shared_project/` at /tmp/gfx3 (one test name
in three packages); `go_mixed.jsonl` in a copy of `go_mixed_project/` at
/tmp/gfx4 (packages that do not build: a test file, an external test package,
a dependency, vet; a panic), and `go_mixed_in_broken.jsonl` in its `broken/`.
`test_live_go_agrees_with_the_captures_and_counts_as_go_does` re-runs both.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

import orjson
import pytest
from _support import ADAPTER_FIXTURES as FIXTURES
from _support import (
    FAILED,
    PASSED,
    SKIPPED,
    assert_targeted_rerun_runs_the_failures,
    failed_in_large_log,
)
from hypothesis import given
from hypothesis import strategies as st

from replay._adapters import Report, get_adapter
from replay._adapters.go import (
    GoAdapter,
    GoModule,
    find_module,
    module_path,
    parse_go_test_json,
    run_pattern,
)
from replay._model.models import Job, TestResult, TestStatus

MODULE_STATUSES = {
    **dict.fromkeys(["TestPass", "TestSub/ok_case", "TestSubPkgOK"], PASSED),
    **dict.fromkeys(
        ["TestFail", "TestSub/bad/nested", "TestSub", "TestSubPkgFail", "TestZPanic"], FAILED
    ),
    **dict.fromkeys(["TestSkip", "TestSub/skip_me"], SKIPPED),
}
MODULE_FAILURES = {
    "TestFail": ("Add(2, 2) = 4, want 5", "demo_test.go", 17),
    "TestSub/bad/nested": ("sub failed: x", "demo_test.go", 28),
    "TestSub": (None, None, None),
    "TestSubPkgFail": ("a log line\nfirst error\nsecond error", "sub/sub_test.go", 8),
    "TestZPanic": ("panic: assignment to entry in nil map", "demo_test.go", 36),
}
HOSTILE = "it's; rm -rf ~ $(id) `reboot` | cat"

Failure = tuple[str | None, str | None, int | None]
Located = tuple[TestStatus, str | None, int | None]
Outcome = tuple[TestStatus, str | None, str | None, int | None]


def job(*argv: str, cwd: str | None = None) -> Job:
    """A go job running argv."""
    return Job(id="go", target="go", kind="unit", adapter="go", argv=argv, cwd=cwd)


def output(test: str, text: str) -> dict[str, object]:
    """The event of test `test` of package `p` printing `text`."""
    return {"Action": "output", "Package": "p", "Test": test, "Output": text}


def events(*records: Mapping[str, object]) -> list[str]:
    """JSON lines of the given events."""
    return [orjson.dumps(record).decode() for record in records]


def fixture(name: str) -> list[str]:
    """The lines of a captured log."""
    return (FIXTURES / name).read_text().splitlines()


def statuses(results: tuple[TestResult, ...]) -> dict[str, TestStatus]:
    """Name to status."""
    return {result.name: result.status for result in results}


def failures(results: tuple[TestResult, ...]) -> dict[str, Failure]:
    """Name to (message, file, line) of the failed results."""
    return {r.name: (r.message, r.file, r.line) for r in results if r.status is FAILED}


def located(results: tuple[TestResult, ...]) -> dict[str, Located]:
    """Name to (status, file, line)."""
    return {r.name: (r.status, r.file, r.line) for r in results}


def go_counts(lines: list[str]) -> Counter[TestStatus]:
    """What `go test -json` itself reports: its test-level pass, fail and skip events."""
    actions = {"pass": PASSED, "fail": FAILED, "skip": SKIPPED}
    counts: Counter[TestStatus] = Counter()
    for line in lines:
        if line.startswith("{"):
            event = orjson.loads(line)
            if event.get("Test") and event["Action"] in actions:
                counts[actions[event["Action"]]] += 1
    return counts


def test_real_module_run_gives_statuses_messages_and_locations() -> None:
    """Pass, fail, skip, subtests (one named `bad/nested`), a panic and a second package."""
    module = GoModule("example.com/demo", "/tmp/gfx")
    report = parse_go_test_json(fixture("go_module.jsonl"), "/tmp/gfx", module)
    assert (MODULE_STATUSES, MODULE_FAILURES) == (statuses(report.tests), failures(report.tests))


def test_a_test_name_in_two_packages_is_qualified_by_import_path_there_only() -> None:
    """`TestShared` of three packages (and its subtest) gets the import path; unique names not."""
    module = GoModule("example.com/m", "/tmp/gfx3")
    report = parse_go_test_json(fixture("go_shared.jsonl"), "/tmp/gfx3", module)
    expected = {
        "example.com/m/a TestShared": (PASSED, None, None),
        "example.com/m/a TestShared/case_one": (PASSED, None, None),
        "TestOnlyA": (PASSED, None, None),
        "example.com/m/b TestShared": (SKIPPED, None, None),
        "TestBroken": (FAILED, "b/b_test.go", 10),
        "TestDeep": (FAILED, "b/deep/deep_test.go", 6),
        "example.com/m/b/deep TestShared": (FAILED, "b/deep/deep_test.go", 10),
    }
    assert (expected, None) == (located(report.tests), report.unseen)


@pytest.mark.parametrize(
    "name", ["go_module.jsonl", "go_shared.jsonl", "go_mixed.jsonl", "go_build_fail_go124.jsonl"]
)
def test_per_test_counts_equal_go_test_events(name: str) -> None:
    """One result per test-level pass, fail or skip event: counts are the runner's own."""
    lines = fixture(name)
    report = parse_go_test_json(lines)
    # Package-level results (named by import path) are replay's, not go's test events.
    tests = [r for r in report.tests if r.name.split(" ")[-1].startswith("Test")]
    assert go_counts(lines) == Counter(r.status for r in tests)


@pytest.mark.parametrize(
    ("name", "cwd", "expected", "unseen"),
    [
        pytest.param(
            "go_timeout_build_fail.jsonl",
            None,
            {
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
                    "broken/broken_test.go",
                    6,
                ),
            },
            "the test binary of example.com/two/slow stopped while TestSlow ran; "
            "package example.com/two/broken did not build",
            id="go1.19-timeout-and-text-build-error",
        ),
        pytest.param(
            "go_build_fail_go124.jsonl",
            "/w",
            {
                "TestOK": (PASSED, None, None, None),
                "m/builderror": (
                    FAILED,
                    "builderror/main_test.go:3:11: undefined: y",
                    "builderror/main_test.go",
                    3,
                ),
            },
            "package m/builderror did not build",
            id="go1.24-build-output-events",
        ),
    ],
)
def test_timeouts_and_build_failures_are_explained_and_located(
    name: str, cwd: str | None, expected: dict[str, Outcome], unseen: str
) -> None:
    """Go 1.19: the timed-out test fails with the panic, a text build error fails its package;
    go 1.24: `build-output` events explain and locate the failed package (hand-written)."""
    report = parse_go_test_json(fixture(name), cwd)
    assert expected == {r.name: (r.status, r.message, r.file, r.line) for r in report.tests}
    assert unseen == report.unseen


@pytest.mark.parametrize(
    ("name", "cwd", "expected"),
    [
        (
            "go_mixed.jsonl",
            "/tmp/gfx4",
            {
                "TestFine": (PASSED, None, None),
                "TestBefore": (PASSED, None, None),
                "TestBoom": (FAILED, "panics/p_test.go", 9),
                "example.com/mixed/broken": (FAILED, "broken/broken_test.go", 6),
                "example.com/mixed/ext": (FAILED, "ext/ext_test.go", 5),
                "example.com/mixed/user": (FAILED, "lib/lib.go", 3),
                "example.com/mixed/vetfail": (FAILED, "vetfail/v_test.go", 9),
            },
        ),
        (
            "go_mixed_in_broken.jsonl",
            "/tmp/gfx4/broken",
            {"example.com/mixed/broken": (FAILED, "broken_test.go", 6)},
        ),
    ],
)
def test_a_package_that_did_not_build_is_located_at_the_first_compiler_error(
    name: str, cwd: str, expected: dict[str, Located]
) -> None:
    """Go 1.19 text: its own error, an external test package's, a dependency's, vet's; `./x.go`."""
    report = parse_go_test_json(fixture(name), cwd, GoModule("example.com/mixed", "/tmp/gfx4"))
    assert expected == located(report.tests)


def test_packages_that_did_not_build_and_a_panic_are_unseen() -> None:
    """Later tests of a panicked binary and every unbuilt package may never have run."""
    report = parse_go_test_json(fixture("go_mixed.jsonl"))
    assert (
        "the test binary of example.com/mixed/panics panicked in TestBoom; "
        "package example.com/mixed/broken did not build; "
        "package example.com/mixed/ext did not build; and 2 more"
    ) == report.unseen


DEPENDENCY_FAILED_GO_1_24 = events(
    {"ImportPath": "m/lib", "Action": "build-output", "Output": "# m/lib\n"},
    {"ImportPath": "m/lib", "Action": "build-output", "Output": "lib/lib.go:3:23: undefined: z\n"},
    {"ImportPath": "m/lib", "Action": "build-fail"},
    {"Action": "start", "Package": "m/user"},
    {"Action": "output", "Package": "m/user", "Output": "FAIL\tm/user [build failed]\n"},
    {"Action": "fail", "Package": "m/user", "Elapsed": 0, "FailedBuild": "m/lib"},
)


def test_go_1_24_failed_build_names_the_dependency_that_did_not_build() -> None:
    """`FailedBuild` points a package at its dependency's errors."""
    report = parse_go_test_json(DEPENDENCY_FAILED_GO_1_24, "/w")
    assert ({"m/user": (FAILED, "lib/lib.go", 3)}, "package m/user did not build") == (
        located(report.tests),
        report.unseen,
    )


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (fixture("go_shared.jsonl"), None),
        (
            events(
                {"Action": "run", "Package": "p", "Test": "TestA"},
                {"Action": "pass", "Package": "p", "Test": "TestA"},
                {"Action": "output", "Package": "p", "Output": "FAIL\tp\t0.01s\n"},
                {"Action": "fail", "Package": "p", "Elapsed": 0.01},
            ),
            "package p failed outside its tests",
        ),
        (
            events({"Action": "run", "Package": "p", "Test": "TestCut"}),
            "the test binary of p stopped while TestCut ran",
        ),
        (
            events(
                *({"Action": "output", "Package": f"p{i}", "Output": "FAIL\n"} for i in range(5)),
                *({"Action": "fail", "Package": f"p{i}"} for i in range(5)),
            ),
            "package p0 failed outside its tests; package p1 failed outside its tests; "
            "package p2 failed outside its tests; and 2 more",
        ),
    ],
    ids=["complete", "TestMain", "cut off", "many"],
)
def test_unseen_says_why_tests_may_not_have_run(lines: list[str], expected: str | None) -> None:
    """A complete run has nothing unseen; an exit outside tests or a cut-off stream has."""
    assert expected == parse_go_test_json(lines).unseen


def test_stack_paths_are_made_relative_to_the_job_directory() -> None:
    """A panic's absolute `_test.go` frame is shown relative to the job's cwd when inside it."""
    report = parse_go_test_json(fixture("go_timeout_build_fail.jsonl"), cwd="/tmp/gfx2")
    assert ("slow/slow_test.go", 11) == next(
        (r.file, r.line) for r in report.tests if r.name == "TestSlow"
    )


ERRORF = "    func_test.go:12: no\n"
"""A `t.Errorf` line: the file's base name only."""


def reported_at(package: str, output: str) -> list[str]:
    """Events of one test of `package` that failed with `output`, a line an event."""
    return events(
        {"Action": "run", "Package": package, "Test": "TestX"},
        *(
            {"Action": "output", "Package": package, "Test": "TestX", "Output": text}
            for text in output.splitlines(keepends=True)
        ),
        {"Action": "fail", "Package": package, "Test": "TestX"},
    )


@pytest.mark.parametrize(
    ("package", "output", "module", "cwd", "expected"),
    [
        ("example.com/m/pkg/sub", ERRORF, "/w/m", "/w/m", "pkg/sub/func_test.go"),
        ("example.com/m", ERRORF, "/w/m", "/w/m", "func_test.go"),
        ("example.com/m/pkg/sub", ERRORF, "/w/m", "/w/m/pkg", "sub/func_test.go"),
        ("example.com/m/a", ERRORF, "/w/m", "/w/m/b", "/w/m/a/func_test.go"),
        ("example.com/other", ERRORF, "/w/m", "/w/m", "func_test.go"),
        ("example.com/mx", ERRORF, "/w/m", "/w/m", "func_test.go"),
        (
            "example.com/m/pkg",
            "panic: x\n\texample.com/m/pkg/func_test.go:12 +0x25\n",
            "/w/m", "/w/m", "pkg/func_test.go",
        ),
        ("example.com/m/pkg", "panic: x\n\tfunc_test.go:12\n", "/w/m", "/w/m", "func_test.go"),
    ],
    ids=[
        "subpackage", "module root", "cwd below the module", "package beside cwd",
        "another module", "a module path's prefix", "-trimpath frame", "bare frame",
    ],
)  # fmt: skip
def test_report_files_are_placed_in_their_package_directory(
    package: str, output: str, module: str, cwd: str, expected: str
) -> None:
    """`t.Errorf`'s bare file name joins its package's directory, relative to the job's cwd."""
    report = parse_go_test_json(
        reported_at(package, output), cwd, GoModule("example.com/m", module)
    )
    assert [(expected, 12)] == [(r.file, r.line) for r in report.tests]


@pytest.mark.parametrize(
    ("go_mod", "expected"),
    [
        ("module example.com/m\n\ngo 1.19\n", "example.com/m"),
        ('// a comment\nmodule "example.com/q" // quoted\n', "example.com/q"),
        ("module   `example.com/raw`\r\n", "example.com/raw"),
        ("go 1.19\n", None),
        ("module\n", None),
        ("// module example.com/commented\n", None),
    ],
)
def test_module_path_reads_the_module_line(go_mod: str, expected: str | None) -> None:
    """The `module` directive, quoted or not, comments ignored; None without one."""
    assert expected == module_path(go_mod)


def test_find_module_looks_in_the_directory_and_above(tmp_path: Path) -> None:
    """The nearest go.mod wins, as for the go command; one without a module line gives None."""
    (tmp_path / "m" / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "m" / "odd").mkdir()
    (tmp_path / "m" / "go.mod").write_text("module example.com/m\n")
    (tmp_path / "m" / "pkg" / "sub" / "go.mod").write_text("module example.com/nested\n")
    (tmp_path / "m" / "odd" / "go.mod").write_text("go 1.19\n")
    found = [find_module(str(tmp_path / "m" / name)) for name in ("pkg", "pkg/sub", "odd")]
    assert [
        GoModule("example.com/m", str(tmp_path / "m")),
        GoModule("example.com/nested", str(tmp_path / "m" / "pkg" / "sub")),
        None,
    ] == found


def test_adapter_parse_reads_the_jobs_go_mod(tmp_path: Path) -> None:
    """`parse` finds the module from the job's cwd and places `t.Errorf` files by it."""
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.19\n")
    log = tmp_path / "output.log"
    log.write_text("\n".join(reported_at("example.com/m/pkg/sub", ERRORF)))
    report = GoAdapter().parse(log, tmp_path, job("go", "test", "./...", cwd=str(tmp_path)))
    assert [("TestX", "pkg/sub/func_test.go", 12)] == [
        (r.name, r.file, r.line) for r in report.tests
    ]


SYNTHETIC = [
    (
        "a test that never ends fails when its package ends",
        events(
            {"Action": "run", "Package": "p", "Test": "TestHang"},
            output("TestHang", "=== RUN TestHang\n"),
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
            output("TestF", "    f_test.go:3: no\n"),
            {"Action": "fail", "Package": "p", "Test": "TestF"},
        ),
        {"TestF": (FAILED, "no")},
    ),
    (
        "a multi-line t.Errorf keeps its continuation lines",
        events(
            {"Action": "run", "Package": "p", "Test": "TestM"},
            output("TestM", "    m_test.go:9: got:\n"),
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
            output("TestLoud", "    l_test.go:7: bad\n"),
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
            output("BenchmarkB", "    b_test.go:8: x\n"),
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
    results = parse_go_test_json(lines).tests
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
            (f"example.com/m TestQ/{HOSTILE}",),
            ("go", "test", "-run", r"^TestQ$/^it's; rm -rf ~ \$\(id\) `reboot` \| cat$", "."),
        ),
        (
            ("go", "test", "./..."),
            ("example.com/m/a TestShared", "example.com/m/b TestShared", "TestBroken"),
            ("go", "test", "-run", "^TestShared$|^TestBroken$", "./..."),
        ),
        (
            ("go", "test", "./..."),
            ("example.com/m/b TestShared/case_one", "example.com/m/a TestShared"),
            ("go", "test", "-run", "^TestShared$/^case_one$", "./..."),
        ),
        (("go", "test", "./..."), ("example.com/two/broken",), None),
        (("go", "test", "./..."), ("TestA", "m/builderror"), None),
        (("go", "test", "./..."), (f"TestQ/{HOSTILE}",), None),
        (("go", "test", "./..."), ("example.com/m/b notATest",), None),
        (("go", "test"), (), None),
        (("go", "build"), ("TestA",), None),
        (("./run-tests.sh",), ("TestA",), None),
    ],
)  # fmt: skip
def test_targeted_replaces_run_with_an_anchored_pattern(
    argv: tuple[str, ...], tests: tuple[str, ...], expected: tuple[str, ...] | None
) -> None:
    """Every -run form goes; qualifiers go, names are escaped; a parent narrows to its subtests.
    A package-level failure or a name that is no test is not narrowed (None): the suite reruns."""
    assert expected == GoAdapter().targeted(argv, tests)


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


@given(st.lists(st.text()))
def test_parser_never_raises_on_arbitrary_lines(lines: list[str]) -> None:
    """Any text at all parses to some results, never an exception."""
    assert all(isinstance(result, TestResult) for result in parse_go_test_json(lines).tests)


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


@given(st.lists(EVENTS, max_size=40))
def test_parser_never_raises_on_arbitrary_events(records: list[dict[str, object]]) -> None:
    """Events in any order with any field types never make the parser raise."""
    lines = [orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS).decode() for record in records]
    assert all(isinstance(result, TestResult) for result in parse_go_test_json(lines).tests)


RESULT_EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["example.com/m", "example.com/m/a", "example.com/m/b", "other/x"]),
        st.sampled_from(["TestA", "TestA/x", "TestA/x/y", "TestB", "TestB/x", "ExampleC"]),
        st.sampled_from(["pass", "fail", "skip"]),
    ),
    max_size=30,
)


@given(RESULT_EVENTS)
def test_one_uniquely_named_result_per_package_and_test(
    results: list[tuple[str, str, str]],
) -> None:
    """Distinct (package, test) pairs give distinct names; a qualifier only where a name repeats."""
    lines = events(*({"Action": a, "Package": p, "Test": t} for p, t, a in results))
    names = [result.name for result in parse_go_test_json(lines).tests]
    pairs = {(package, test) for package, test, _ in results}
    packages_of: dict[str, set[str]] = {}
    for package, test in pairs:
        packages_of.setdefault(test.split("/")[0], set()).add(package)
    expected = {
        f"{package} {test}" if len(packages_of[test.split("/")[0]]) > 1 else test
        for package, test in pairs
    }
    assert (len(pairs), expected) == (len(names), set(names))


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


def large_stream(count: int) -> Iterator[str]:
    """`count` tests of 300-byte output, every hundredth failing, as `go test -json` lines."""
    for i in range(count):
        action = "fail" if i % 100 == 0 else "pass"
        for record in (
            {"Action": "run", "Package": "example.com/m", "Test": f"TestCase{i}"},
            {"Action": "output", "Package": "example.com/m", "Test": f"TestCase{i}",
             "Output": f"    case_test.go:{i}: checking case {i} " + "x" * 300 + "\n"},
            {"Action": action, "Package": "example.com/m", "Test": f"TestCase{i}",
             "Elapsed": 0.01},
        ):  # fmt: skip
            yield orjson.dumps(record).decode() + "\n"


@pytest.mark.slow
def test_a_20_mb_stream_parses_completely(tmp_path: Path) -> None:
    """A 20 MB event stream (benchmarks live in scripts/bench_parsers.py) parses in one pass."""
    stream = large_stream(40_000)
    failed = failed_in_large_log(
        GoAdapter().parse, job("go", "test"), tmp_path, stream, (40_000, 400)
    )
    assert ("case_test.go", 100) == (failed[1].file, failed[1].line)


# --- live: a real module, when go is installed ---

GO = shutil.which("go")


def live_go(tmp_path: Path, project: Path, argv: tuple[str, ...], log: Path) -> Report:
    """Run `argv` through the adapter in `project` with a private Go cache; its report."""
    env = {
        **os.environ,
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",
        "GOCACHE": str(tmp_path / "cache"),
        "GOPATH": str(tmp_path / "gopath"),
    }
    adapter = GoAdapter()
    command = adapter.command(job(*argv, cwd=str(project)), tmp_path)
    with log.open("wb") as out:
        subprocess.run(
            command, check=False, cwd=project, env=env, stdout=out,
            stderr=subprocess.STDOUT, timeout=600,
        )  # fmt: skip
    return adapter.parse(log, tmp_path, job(*command, cwd=str(project)))


@pytest.mark.slow
@pytest.mark.skipif(GO is None, reason="go is not installed")
def test_live_go_statuses_and_targeted_rerun(tmp_path: Path) -> None:
    """A real `go test`: statuses as expected; the targeted argv, run by hand, runs the failures."""
    project = tmp_path / "module"
    shutil.copytree(FIXTURES / "go_project", project)
    adapter = GoAdapter()

    def run(argv: tuple[str, ...], name: str) -> tuple[TestResult, ...]:
        return live_go(tmp_path, project, argv, tmp_path / name).tests

    argv = ("go", "test", "./...")
    results = run(argv, "first.log")
    assert (MODULE_STATUSES, MODULE_FAILURES) == (statuses(results), failures(results))
    assert_targeted_rerun_runs_the_failures(
        adapter.targeted, argv, results, lambda targeted: run(targeted, "second.log")
    )


@pytest.mark.slow
@pytest.mark.skipif(GO is None, reason="go is not installed")
@pytest.mark.parametrize(
    ("project", "capture", "module", "captured_in"),
    [
        ("go_shared_project", "go_shared.jsonl", "example.com/m", "/tmp/gfx3"),
        ("go_mixed_project", "go_mixed.jsonl", "example.com/mixed", "/tmp/gfx4"),
    ],
)
def test_live_go_agrees_with_the_captures_and_counts_as_go_does(
    tmp_path: Path, project: str, capture: str, module: str, captured_in: str
) -> None:
    """The installed go still prints what the captures hold; replay's counts equal go's."""
    directory = tmp_path / "module"
    shutil.copytree(FIXTURES / project, directory)
    log = tmp_path / "output.log"
    live = live_go(tmp_path, directory, ("go", "test", "./..."), log)
    captured = parse_go_test_json(fixture(capture), captured_in, GoModule(module, captured_in))
    tests = [r for r in live.tests if r.name.split(" ")[-1].startswith("Test")]
    assert (located(captured.tests), captured.unseen is None) == (
        located(live.tests),
        live.unseen is None,
    )
    assert go_counts(log.read_text().splitlines()) == Counter(r.status for r in tests)
