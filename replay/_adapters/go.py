"""The go adapter: `go test -json` events, read line by line, and anchored `-run` reruns.

Each JSON line is an event (`go doc cmd/test2json`): `run`, `pause`, `cont`,
`output`, `pass`, `fail`, `skip`, `bench` for a test when `Test` is set, for the
package when it is not; Go 1.24 adds `start`, `build-output` and `build-fail`
(keyed by `ImportPath`). Lines that are not JSON (build errors of older Go on
stderr: `# pkg`, `FILE:LINE:COL: message`, `FAIL pkg [build failed]`) are read
for the package they name.

Results are named by the test (`TestSub/bad/nested`), and qualified by the
package's import path (`example.com/m/b TestShared`) only where the same
top-level test name occurs in more than one package of the log: one record per
test the runner reported, so counts equal `go test`'s own. Go test and subtest
names never hold a space (Go writes `_` for one), so the qualifier is the text
before the first space; `targeted` drops it, and `-run` then matches the test in
every package of the command (a few more tests run, none fewer).

A test that started but never ended failed: the binary panicked or timed out
while it ran (`panic: test timed out after 1s`). A package that failed without
any failed test (a build error, a panic in `init`, `os.Exit` in `TestMain`) gets
one result named by its import path, located at the compiler's first
`FILE:LINE:COL` when it did not build; it is not a test name, so `targeted`
returns None for it and the whole suite runs again. In all these cases later
tests of the package may never have run, which the report's `unseen` says.

Locations are relative to the job's directory: a `t.Errorf` line names only the
file (`func_test.go:12`), so it is joined to the package's directory, found from
the import path and the `module` line of the nearest `go.mod` (`GoModule`).

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

import attrs
import orjson

from replay._adapters._base import Report
from replay._adapters._commands import go_test_index
from replay._adapters._lines import (
    MAX_MESSAGE_LINES,
    ResultBook,
    cap_message,
    iter_lines,
)
from replay._model.models import Job, TestResult, TestStatus

MAX_EVENT_BYTES = 1024 * 1024
"""test2json splits long output into events far below this; a longer line is not an event."""

MAX_CAPTURED_LINES = 64
"""Output lines kept per running test, and per panic, to explain a failure; the rest streams by."""

MAX_GO_MOD_BYTES = 1024 * 1024
"""The `module` line opens a go.mod; a larger file is not read further."""

MAX_UNSEEN_REASONS = 3
"""Reasons named in `Report.unseen`; more are counted, so it stays one short line."""

_TEST_NAME = re.compile(r"(?:Test|Benchmark|Example|Fuzz)[^/]*")
_REPORT_LINE = re.compile(r"\s+(?P<file>[^\s:]+\.go):(?P<line>\d+): (?P<message>.*)")
_STACK_FRAME = re.compile(r"\s+(?P<file>\S+_test\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?")
_COMPILER_LINE = re.compile(r"(?P<file>[^\s:][^:]*\.go):(?P<line>\d+)(?::\d+)?: \S.*")
_BUILD_FAILED = re.compile(r"FAIL\s+(?P<package>\S+) \[(?:build|setup) failed\]")
_RESULT_ACTIONS = {
    "pass": TestStatus.PASSED,
    "bench": TestStatus.PASSED,  # a benchmark that logged and did not fail
    "fail": TestStatus.FAILED,
    "skip": TestStatus.SKIPPED,
}
_RUN_FLAGS = frozenset({"-run", "--run", "-test.run", "--test.run"})


@attrs.frozen
class GoModule:
    """The Go module a job runs in: its path and its directory."""

    path: str
    """The `module` line of its go.mod: `example.com/m`."""
    directory: str
    """The absolute directory of that go.mod."""

    def package_dir(self, import_path: str) -> str | None:
        """The directory of a package of this module; None for another module's package."""
        if import_path == self.path:
            return self.directory
        if not import_path.startswith(f"{self.path}/"):
            return None
        return os.path.join(self.directory, *import_path[len(self.path) + 1 :].split("/"))


def module_path(go_mod: str) -> str | None:
    """The module path a go.mod declares (`module example.com/m`, quoted or not)."""
    for raw in go_mod.splitlines():
        fields = raw.split("//", 1)[0].split()
        if len(fields) == 2 and fields[0] == "module":
            path = fields[1].strip('"`')
            return path or None
    return None


def find_module(cwd: str) -> GoModule | None:
    """The module of the nearest go.mod in the absolute directory `cwd` or above, as go finds it."""
    start = Path(cwd)
    for directory in (start, *start.parents):
        try:
            with (directory / "go.mod").open("rb") as handle:
                text = handle.read(MAX_GO_MOD_BYTES).decode("utf-8", "replace")
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError:
            return None
        path = module_path(text)
        return GoModule(path, str(directory)) if path else None
    return None


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
    def __init__(self, cwd: str | None, module: GoModule | None) -> None:
        self.cwd = cwd
        self.module = module
        self.book = ResultBook()
        """Results keyed by `{package} {test}`, unqualified at the end where unambiguous."""
        self.identity: dict[str, tuple[str, str]] = {}
        """Book key -> (package, test)."""
        self.running: dict[tuple[str, str], _Running] = {}
        self.package_output: dict[str, list[str]] = {}
        self.failed_packages: dict[str, float | None] = {}
        self.packages_with_failures: set[str] = set()
        self.unbuilt: set[str] = set()
        """Packages whose test binary was not built (`[build failed]`, `FailedBuild`)."""
        self.build_output: dict[str, list[str]] = {}
        """Compiler output by the package it was building for (`# pkg` blocks, `build-output`)."""
        self.failed_build: dict[str, str] = {}
        """Package -> the package whose build failed it (Go 1.24's `FailedBuild`)."""
        self.unseen: dict[str, None] = {}
        """Why later tests may not have run, in the order found."""
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
            self.unbuilt.add(build["package"])
        elif line.startswith("# "):
            self.building = _built_package(line[2:])
        elif self.building is not None:
            _keep(self.build_output.setdefault(self.building, []), line)

    def _event(self, event: dict[str, Any]) -> None:
        action = event.get("Action")
        package = _text(event.get("Package"))
        test = _text(event.get("Test"))
        if action == "build-output":
            lines = self.build_output.setdefault(_built_package(_text(event.get("ImportPath"))), [])
            _keep(lines, _text(event.get("Output")).rstrip("\n"))
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
            output = _text(event.get("Output")).rstrip("\n")
            self._package_output(package, output)
            if _BUILD_FAILED.fullmatch(output.strip()):
                self.unbuilt.add(package)
        elif action == "fail":
            self.failed_packages[package] = _seconds(event.get("Elapsed"))
            failed_build = _text(event.get("FailedBuild"))
            if failed_build:
                self.unbuilt.add(package)
                self.failed_build[package] = _built_package(failed_build)
            self._end_package(package)
        elif action in ("pass", "skip"):
            self._end_package(package)

    def _package_output(self, package: str, line: str) -> None:
        _keep(self.package_output.setdefault(package, []), line)

    def _end_package(self, package: str) -> None:
        """Tests of `package` still running when it ended were killed: they failed."""
        for key in [key for key in self.running if key[0] == package]:
            running = self.running.pop(key)
            self.unseen.setdefault(f"the test binary of {package} stopped while {key[1]} ran")
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
        key = f"{package} {test}"
        self.identity.setdefault(key, (package, test))
        duration = _seconds(event.get("Elapsed"))
        if status is not TestStatus.FAILED:
            self.book.add(TestResult(name=key, status=status, duration=duration))
            return
        self.packages_with_failures.add(package)
        if running is not None and running.panic is not None and not unfinished:
            # A test's panic ends its binary: the tests after it in the package never ran.
            self.unseen.setdefault(f"the test binary of {package} panicked in {test}")
        message, file, line = self._explain(package, running.lines() if running else [])
        if unfinished and message is None:
            message = "the test binary stopped while this test ran"
        self.book.add(
            TestResult(
                name=key, status=status, duration=duration, message=message, file=file, line=line
            )
        )

    def _explain(self, package: str, lines: list[str]) -> tuple[str | None, str | None, int | None]:
        """(message, file, line) of a failed test from its output: a panic, else a t.Error line."""
        for index, text in enumerate(lines):
            if text.startswith("panic: "):
                message = text.removesuffix(" [recovered]")
                file, number = None, None
                for frame in lines[index + 1 :]:
                    found = _STACK_FRAME.fullmatch(frame)
                    if found:
                        file, number = self._frame_file(found["file"]), int(found["line"])
                        break
                return cap_message([message]), file, number
        reported: list[str] = []
        file, number = None, None
        for text in lines:
            found = _REPORT_LINE.fullmatch(text)
            if found and not text.lstrip().startswith("--- "):
                if file is None:
                    # testing prints the file's base name: it lies in the test's package.
                    name = found["file"]
                    file, number = self._package_file(package, name) or name, int(found["line"])
                reported.append(found["message"])
            elif reported and text.startswith("        "):
                reported.append(text.strip())  # a multi-line t.Errorf continues indented
            if len(reported) >= MAX_MESSAGE_LINES:
                break
        return cap_message(reported), file, number

    def _package_file(self, package: str, name: str) -> str | None:
        """`name` in `package`'s directory, relative to the job's; None when not known."""
        directory = self.module.package_dir(package) if self.module and package else None
        return _relative(os.path.join(directory, name), self.cwd) if directory else None

    def _frame_file(self, file: str) -> str:
        """A stack frame's path relative to the job's directory: absolute, or `-trimpath`'s."""
        if os.path.isabs(file):
            return _relative(file, self.cwd)
        package, _, name = file.rpartition("/")
        return self._package_file(package, name) or file

    def _build_errors(self, package: str) -> list[str]:
        """The compiler's output that explains why `package` did not build."""
        for source in (package, self.failed_build.get(package)):
            if source and source in self.build_output:
                return self.build_output[source]
        # Go before 1.24 does not say which dependency failed a package: the
        # errors are those of a package that did not fail by itself (no tests).
        for source, lines in self.build_output.items():
            if source not in self.failed_packages:
                return lines
        return []

    def _build_location(self, lines: list[str]) -> tuple[str | None, int | None]:
        """The first `FILE:LINE:COL: message` of a build's output, relative to the job's dir."""
        for text in lines:
            found = _COMPILER_LINE.fullmatch(text)
            if found:
                file = found["file"]
                # The go command prints paths relative to its directory: the job's.
                file = _relative(file, self.cwd) if os.path.isabs(file) else os.path.normpath(file)
                return file, int(found["line"])
        return None, None

    def report(self) -> Report:
        for package in list({key[0] for key in self.running}):
            self._end_package(package)
        tests = self._named_tests()
        packages: list[TestResult] = []
        for package, elapsed in self.failed_packages.items():
            if package in self.packages_with_failures:
                continue
            lines = self.package_output.get(package, [])
            errors = self._build_errors(package) if package in self.unbuilt else []
            useful = [
                line
                for line in (*errors, *lines)
                if not line.startswith(("FAIL", "ok ", "PASS", "# "))
            ]
            file, number = self._build_location(errors)
            self.unseen.setdefault(
                f"package {package} did not build"
                if package in self.unbuilt
                else f"package {package} failed outside its tests"
            )
            packages.append(
                TestResult(
                    name=package,
                    status=TestStatus.FAILED,
                    duration=elapsed,
                    message=cap_message(useful or lines) or "the package failed outside any test",
                    file=file,
                    line=number,
                )
            )
        return Report((*tests, *packages), _unseen(list(self.unseen)))

    def _named_tests(self) -> list[TestResult]:
        """The book's results, qualified by package only where a top-level name repeats."""
        packages_of: dict[str, set[str]] = {}
        for package, test in self.identity.values():
            packages_of.setdefault(_top_level(test), set()).add(package)
        named = []
        for result in self.book.results():
            package, test = self.identity[result.name]
            unique = len(packages_of[_top_level(test)]) == 1
            named.append(attrs.evolve(result, name=test) if unique else result)
        return named


def _keep(lines: list[str], line: str) -> None:
    """Add `line` to captured output unless blank or the capture is full."""
    if len(lines) < MAX_CAPTURED_LINES and line.strip():
        lines.append(line)


def _built_package(import_path: str) -> str:
    """The package a build was for: `m/x_test [m/x.test]` and `m/x` are both `m/x`."""
    name, _, for_test = import_path.partition(" [")
    return for_test.removesuffix("]").removesuffix(".test") if for_test else name


def _top_level(test: str) -> str:
    return test.split("/", 1)[0]


def _unseen(reasons: list[str]) -> str | None:
    """Reasons as one short line: the first few, and how many more."""
    if not reasons:
        return None
    shown = "; ".join(reasons[:MAX_UNSEEN_REASONS])
    more = len(reasons) - MAX_UNSEEN_REASONS
    return f"{shown}; and {more} more" if more > 0 else shown


def unqualified(test: str) -> str:
    """A test's name without the package qualifier: `example.com/m/b TestX` -> `TestX`."""
    return test.split(" ", 1)[-1]


def _relative(file: str, cwd: str | None) -> str:
    """An absolute path, relative to the job's directory when inside it."""
    if cwd and os.path.isabs(file):
        try:
            relative = os.path.relpath(file, cwd)
        except (ValueError, OSError):  # another drive; a relative cwd in a deleted directory
            return file
        if not relative.startswith(".."):
            return relative
    return file


def _absolute(directory: str) -> str | None:
    """`directory` made absolute; None when that needs the process's directory and it is gone."""
    try:
        return os.path.abspath(directory)
    except OSError:
        return None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value >= 0 else None


def parse_go_test_json(
    lines: Iterable[str], cwd: str | None = None, module: GoModule | None = None
) -> Report:
    """Per-test results of a `go test -json` stream, and what it left unrun; never raises.

    `cwd` is the directory `go test` ran in, `module` the module it lies in
    (`find_module(cwd)`): locations are made relative to `cwd` with them.
    """
    parser = _GoParser(cwd, module)
    for line in lines:
        parser.feed(line)
    return parser.report()


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
    no_tests_exit_codes: frozenset[int] = frozenset()

    def command(self, job: Job, attempt_dir: Path) -> tuple[str, ...]:
        """The job's argv with `-json` (and `-count=1` unless a `-count` is set) after `test`."""
        argv = job.argv
        test_index = go_test_index(argv)
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
        """Per-test results from the attempt's log of JSON events, streamed.

        Reads the go.mod of the job's module, to place `t.Errorf` files in their package.
        """
        cwd = _absolute(job.cwd or ".")
        module = find_module(cwd) if cwd else None
        return parse_go_test_json(iter_lines(log, MAX_EVENT_BYTES), cwd, module)

    def targeted(self, argv: tuple[str, ...], tests: tuple[str, ...]) -> tuple[str, ...] | None:
        """argv with its `-run` replaced by an anchored pattern of `tests`.

        Package qualifiers are dropped (`-run` has no package part): the pattern
        matches the test in every package of the command. None when argv is not
        a `go test` command, there is nothing to target or a name is not a test
        (a package-level failure: the suite must rerun).
        """
        test_index = go_test_index(argv)
        names = tuple(dict.fromkeys(unqualified(test) for test in tests))
        if test_index is None or not names:
            return None
        if not all(_TEST_NAME.fullmatch(_top_level(name)) for name in names):
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
        pattern = run_pattern(names)
        return (*argv[: test_index + 1], "-run", pattern, *kept, *argv[end:])
