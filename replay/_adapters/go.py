"""The go adapter: `go test -json` events, read line by line, and anchored `-run` reruns.

Each JSON line is an event (`go doc cmd/test2json`): `run`, `pause`, `cont`,
`output`, `pass`, `fail`, `skip`, `bench` for a test when `Test` is set, for the
package when it is not; Go 1.24 adds `start`, `build-output` and `build-fail`
(keyed by `ImportPath`). Lines that are not JSON (build errors of older Go on
stderr) are skipped, except `FAIL <pkg> [build failed]`, which marks a package.

Results are named by the test (`TestSub/bad/nested`), not by package: `-run`
matches names in every package of the command. A test that started but never
ended failed: the binary panicked or timed out while it ran (`panic: test
timed out after 1s`). A package that failed without any failed test (a build
error, a panic in `init`, `os.Exit` in `TestMain`) gets one result named by its
import path; it is not a test name, so `targeted` returns None for it and the
whole suite runs again.

`command` adds `-json`, and `-count=1` unless a `-count` is given: a result
from Go's test cache says nothing about this attempt, which would make retries
and flake loops pass without running anything.
"""

from __future__ import annotations

import itertools
import os
import re
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from replay._adapters._base import Report
from replay._adapters._lines import (
    MAX_MESSAGE_LINES,
    ResultBook,
    cap_message,
    iter_lines,
)
from replay._models import Job, TestResult, TestStatus

MAX_EVENT_BYTES = 1024 * 1024
"""test2json splits long output into events far below this; a longer line is not an event."""

MAX_CAPTURED_LINES = 64
"""Output lines kept per running test, and per panic, to explain a failure; the rest streams by."""

_TEST_NAME = re.compile(r"(?:Test|Benchmark|Example|Fuzz)[^/]*")
_REPORT_LINE = re.compile(r"\s+(?P<file>[^\s:]+\.go):(?P<line>\d+): (?P<message>.*)")
_STACK_FRAME = re.compile(r"\s+(?P<file>\S+_test\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?")
_BUILD_FAILED = re.compile(r"FAIL\s+(?P<package>\S+) \[(?:build|setup) failed\]")
_RESULT_ACTIONS = {
    "pass": TestStatus.PASSED,
    "bench": TestStatus.PASSED,  # a benchmark that logged and did not fail
    "fail": TestStatus.FAILED,
    "skip": TestStatus.SKIPPED,
}
_RUN_FLAGS = frozenset({"-run", "--run", "-test.run", "--test.run"})


class _Running:
    """Output of a test that has started and not ended, kept for its failure message.

    Bounded: the first and the last lines (a `t.Fatal` after pages of `t.Log`
    is last), and a panic with its stack wherever it comes.
    """

    def __init__(self) -> None:
        self.head: list[str] = []
        self.tail: deque[str] = deque(maxlen=MAX_CAPTURED_LINES // 2)
        self.panic: list[str] | None = None

    def add(self, text: str) -> None:
        if self.panic is not None:
            if len(self.panic) < MAX_CAPTURED_LINES:
                self.panic.append(text)
        elif text.startswith("panic: "):
            self.panic = [text]
        elif len(self.head) < MAX_CAPTURED_LINES // 2:
            self.head.append(text)
        else:
            self.tail.append(text)

    def lines(self) -> list[str]:
        return [*self.head, *self.tail, *(self.panic or ())]


class _GoParser:
    def __init__(self, cwd: str | None) -> None:
        self.cwd = cwd
        self.book = ResultBook()
        self.running: dict[tuple[str, str], _Running] = {}
        self.package_output: dict[str, list[str]] = {}
        self.failed_packages: dict[str, float | None] = {}
        self.packages_with_failures: set[str] = set()
        self.finished: set[tuple[str, str]] = set()
        self.building: str | None = None
        """The package whose text build errors are being read."""

    def feed(self, line: str) -> None:
        if not line.startswith("{"):
            self._text_line(line)
            return
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            return
        if isinstance(event, dict):
            self.building = None
            self._event(event)

    def _text_line(self, line: str) -> None:
        """Build errors before Go 1.24 are text: `# pkg`, the errors, `FAIL pkg [build failed]`."""
        build = _BUILD_FAILED.fullmatch(line.strip())
        if build:
            self.building = None
            self._package_output(build["package"], f"{build['package']} [build failed]")
            self.failed_packages.setdefault(build["package"], None)
        elif line.startswith("# "):
            self.building = line[2:].split(" ", 1)[0]
        elif self.building is not None:
            self._package_output(self.building, line)

    def _event(self, event: dict[str, Any]) -> None:
        action = event.get("Action")
        package = _text(event.get("Package"))
        test = _text(event.get("Test"))
        if action == "build-output":
            import_path = _text(event.get("ImportPath")).split(" ", 1)[0]
            self._package_output(import_path, _text(event.get("Output")).rstrip("\n"))
            return
        if not isinstance(action, str):
            return
        if not test:
            self._package_event(action, package, event)
            return
        key = (package, test)
        if action == "run":
            self.finished.discard(key)  # `-count=N` runs a test N times
            self.running.setdefault(key, _Running())
        elif action in ("output", "cont") and key not in self.finished:
            running = self.running.setdefault(key, _Running())
            if action == "output":
                running.add(_text(event.get("Output")).rstrip("\n"))
        elif action in _RESULT_ACTIONS:
            self.finished.add(key)
            ended = self.running.pop(key) if key in self.running else None
            self._result(package, test, _RESULT_ACTIONS[action], event, ended)

    def _package_event(self, action: str, package: str, event: dict[str, Any]) -> None:
        if action == "output":
            self._package_output(package, _text(event.get("Output")).rstrip("\n"))
        elif action == "fail":
            self.failed_packages[package] = _seconds(event.get("Elapsed"))
            self._end_package(package)
        elif action in ("pass", "skip"):
            self._end_package(package)

    def _package_output(self, package: str, line: str) -> None:
        lines = self.package_output.setdefault(package, [])
        if len(lines) < MAX_CAPTURED_LINES and line.strip():
            lines.append(line)

    def _end_package(self, package: str) -> None:
        """Tests of `package` still running when it ended were killed: they failed."""
        for key in [key for key in self.running if key[0] == package]:
            running = self.running.pop(key)
            self._result(package, key[1], TestStatus.FAILED, {}, running, unfinished=True)

    def _result(
        self,
        package: str,
        test: str,
        status: TestStatus,
        event: dict[str, Any],
        running: _Running | None,
        *,
        unfinished: bool = False,
    ) -> None:
        duration = _seconds(event.get("Elapsed"))
        if status is not TestStatus.FAILED:
            self.book.add(TestResult(name=test, status=status, duration=duration))
            return
        self.packages_with_failures.add(package)
        message, file, line = _explain(running.lines() if running else [], self.cwd)
        if unfinished and message is None:
            message = "the test binary stopped while this test ran"
        self.book.add(
            TestResult(
                name=test, status=status, duration=duration, message=message, file=file, line=line
            )
        )

    def results(self) -> tuple[TestResult, ...]:
        for package in list({key[0] for key in self.running}):
            self._end_package(package)
        for package, elapsed in self.failed_packages.items():
            if package in self.packages_with_failures:
                continue
            lines = self.package_output.get(package, [])
            useful = [line for line in lines if not line.startswith(("FAIL", "ok ", "PASS", "# "))]
            self.book.add(
                TestResult(
                    name=package,
                    status=TestStatus.FAILED,
                    duration=elapsed,
                    message=cap_message(useful or lines) or "the package failed outside any test",
                )
            )
        return self.book.results()


def _explain(lines: list[str], cwd: str | None) -> tuple[str | None, str | None, int | None]:
    """(message, file, line) of a failed test from its output: a panic, else a t.Error line."""
    for index, text in enumerate(lines):
        if text.startswith("panic: "):
            message = text.removesuffix(" [recovered]")
            file, number = None, None
            for frame in lines[index + 1 :]:
                found = _STACK_FRAME.fullmatch(frame)
                if found:
                    file, number = _relative(found["file"], cwd), int(found["line"])
                    break
            return cap_message([message]), file, number
    reported: list[str] = []
    file, number = None, None
    for text in lines:
        found = _REPORT_LINE.fullmatch(text)
        if found and not text.lstrip().startswith("--- "):
            if file is None:
                file, number = found["file"], int(found["line"])
            reported.append(found["message"])
        elif reported and text.startswith("        "):
            reported.append(text.strip())  # a multi-line t.Errorf continues indented
        if len(reported) >= MAX_MESSAGE_LINES:
            break
    return cap_message(reported), file, number


def _relative(file: str, cwd: str | None) -> str:
    """A stack frame's absolute path, relative to the job's directory when inside it."""
    if cwd and os.path.isabs(file):
        try:
            relative = os.path.relpath(file, cwd)
        except ValueError:
            return file
        if not relative.startswith(".."):
            return relative
    return file


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value >= 0 else None


def parse_go_test_json(lines: Iterable[str], cwd: str | None = None) -> tuple[TestResult, ...]:
    """Per-test results of a `go test -json` stream; never raises on any text."""
    parser = _GoParser(cwd)
    for line in lines:
        parser.feed(line)
    return parser.results()


def _go_test_index(argv: tuple[str, ...]) -> int | None:
    """The index of `test` in `[wrapper...] go test ...`, if argv is that."""
    for index, arg in enumerate(argv[:-1]):
        if Path(arg).name in ("go", "go.exe") and argv[index + 1] == "test":
            return index + 1
    return None


def _flags_end(argv: tuple[str, ...], start: int) -> int:
    """Where `go test`'s own arguments end: at `-args`, after which all go to the binary."""
    for index in range(start, len(argv)):
        if argv[index] in ("-args", "--args"):
            return index
    return len(argv)


def _has_flag(args: Iterable[str], *names: str) -> bool:
    return any(arg in names or arg.startswith(tuple(f"{name}=" for name in names)) for arg in args)


def _anchored(element: str) -> str:
    return f"^{_escape(element)}$"


def _escape(text: str) -> str:
    """`text` as a literal in Go's RE2 syntax, with `/` escaped so -run does not split on it."""
    return "".join(f"\\{char}" if char in r"\.+*?()|[]{}^$/" else char for char in text)


def run_pattern(tests: tuple[str, ...]) -> str:
    """The `-run` pattern that selects exactly `tests`: `^TestA$|^TestX$/^sub$`.

    Go splits `-run` at unescaped top-level `|` into alternatives and each of
    those at `/` into one anchored pattern per subtest level (Go 1.15 and
    later). A subtest implies its parents, so a parent listed together with its
    subtests narrows to them: its body still runs, its other subtests do not.
    """
    paths = [tuple(test.split("/")) for test in dict.fromkeys(tests)]
    # Sorted, a path's descendants follow it directly: one look at the next finds ancestors.
    ordered = sorted(paths)
    ancestors = {
        path
        for path, following in itertools.pairwise(ordered)
        if len(following) > len(path) and following[: len(path)] == path
    }
    leaves = [path for path in paths if path not in ancestors]
    return "|".join("/".join(_anchored(element) for element in path) for path in leaves)


class GoAdapter:
    """`go test -json`: per-test events; reruns with an anchored `-run` pattern."""

    name = "go"

    def command(self, job: Job, attempt_dir: Path) -> tuple[str, ...]:
        """The job's argv with `-json` (and `-count=1` unless a `-count` is set) after `test`."""
        argv = job.argv
        test_index = _go_test_index(argv)
        if test_index is None:
            return argv
        own = argv[test_index + 1 : _flags_end(argv, test_index + 1)]
        added: list[str] = []
        if not _has_flag(own, "-json", "--json"):
            added.append("-json")
        if not _has_flag(own, "-count", "--count", "-test.count"):
            added.append("-count=1")
        return (*argv[: test_index + 1], *added, *argv[test_index + 1 :])

    def parse(self, log: Path, attempt_dir: Path, job: Job) -> Report:
        """Per-test results from the attempt's log of JSON events, streamed."""
        return Report(parse_go_test_json(iter_lines(log, MAX_EVENT_BYTES), job.cwd))

    def targeted(self, argv: tuple[str, ...], tests: tuple[str, ...]) -> tuple[str, ...] | None:
        """argv with its `-run` replaced by an anchored pattern of `tests`.

        None when argv is not a `go test` command, there is nothing to target or
        a name is not a test (a package-level failure: the suite must rerun).
        """
        test_index = _go_test_index(argv)
        if test_index is None or not tests:
            return None
        if not all(_TEST_NAME.fullmatch(test.split("/", 1)[0]) for test in tests):
            return None
        end = _flags_end(argv, test_index + 1)
        kept: list[str] = []
        skip_value = False
        for arg in argv[test_index + 1 : end]:
            if skip_value:
                skip_value = False
            elif arg in _RUN_FLAGS:
                skip_value = True
            elif not arg.startswith(tuple(f"{flag}=" for flag in _RUN_FLAGS)):
                kept.append(arg)
        pattern = run_pattern(tests)
        return (*argv[: test_index + 1], "-run", pattern, *kept, *argv[end:])
