"""The pytest adapter: results from the JUnit XML pytest is asked to write, node-id reruns.

`command` adds `--junitxml=<attempt dir>/junit.xml -o junit_family=xunit1`
right after the `pytest` (or `python -m pytest`) token: xunit1 is the family
that records each case's `file` and `line`. When the command already names a
`--junitxml`, that file is read instead (relative to the job's directory). A
command that does not visibly run pytest (`make test`) is left alone, since an
unknown tool would choke on the option; `parse` then reads the log.

Node ids are rebuilt from `file` and `classname`: pytest wrote
`classname="tests.test_x.TestC"`, `name="test_y[p]"` for the node id
`tests/test_x.py::TestC::test_y[p]`. Without the XML (pytest killed before its
session ended, `-p no:junitxml`) the log's `-v` lines and short summary lines
(`FAILED tests/x.py::t - msg`) are read instead. An xfail (`<skipped
type="pytest.xfail">`, `XFAIL`) is xfailed; skips and xfails keep their reason.

The XML of a session pytest cut short looks like a complete run of fewer tests,
so the log is always read for what the XML cannot say (`Report.unseen`):

- `!!! Interrupted: 1 error during collection !!!`, `!!! stopping after 1
  failures !!!` (`-x`, `--maxfail`), `!!! KeyboardInterrupt !!!` and every other
  line pytest frames in `!` when it stops early;
- `INTERNALERROR>` lines (the XML has a case `pytest.internal`);
- a module that could not be collected (a case with no test name, `<error
  message="collection failure">`), even under `--continue-on-collection-errors`;
- `ERROR: not found: <path>::<test>`, `ERROR: file or directory not found:
  <path>`: a targeted node id is gone (renamed, deleted) and pytest ran nothing
  (exit 4). The ids are `Report.not_found`;
- no XML where one was asked for and no final `N passed in Xs` line: pytest was
  killed, or stopped before its session began (a broken conftest).

`targeted` keeps every option and replaces the positional test paths with the
node ids, since appending them would run the old paths in full again. Node ids
are relative to pytest's rootdir, which is the job's directory in the usual
layout; a suite run from elsewhere cannot be targeted by id.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import attrs

from replay._adapters._base import Report
from replay._adapters._commands import pytest_program_end
from replay._adapters._lines import ResultBook, cap_message, iter_lines, strip_ansi
from replay._adapters._xml import JUnitCase, read_junit
from replay._model.models import Job, TestResult, TestStatus
from replay._model.names import JUNIT_NAME

JUNIT_FILE = JUNIT_NAME
"""The file, in the attempt's directory, that pytest is asked to write (named by `_artifacts`)."""

_SHORT_VALUE = frozenset("kmpcoWrn")
_LONG_VALUE = frozenset(
    {
        "--maxfail", "--tb", "--show-capture", "--durations", "--durations-min", "--rootdir",
        "--basetemp", "--confcutdir", "--ignore", "--ignore-glob", "--deselect", "--junitxml",
        "--junit-xml", "--junitprefix", "--junit-prefix", "--log-level", "--log-format",
        "--log-date-format", "--log-cli-level", "--log-cli-format", "--log-cli-date-format",
        "--log-file", "--log-file-level", "--log-file-mode", "--log-file-format",
        "--log-file-date-format", "--log-auto-indent", "--capture", "--import-mode",
        "--pastebin", "--override-ini", "--config-file", "--doctest-glob", "--doctest-report",
        "--cov", "--cov-report", "--cov-config", "--cov-fail-under", "--numprocesses",
        "--dist", "--maxprocesses", "--reruns", "--reruns-delay", "--timeout",
        "--timeout-method", "--random-order-seed", "--random-order-bucket", "--hypothesis-seed",
        "--hypothesis-profile", "--hypothesis-verbosity", "--color", "--code-highlight",
        "--pythonwarnings", "--verbosity",
    }
)  # fmt: skip
_LOG_WORDS = {
    "PASSED": TestStatus.PASSED,
    "XPASS": TestStatus.PASSED,  # a strict XPASS is written FAILED
    "FAILED": TestStatus.FAILED,
    "ERROR": TestStatus.FAILED,
    "SKIPPED": TestStatus.SKIPPED,
    "XFAIL": TestStatus.XFAILED,
}
_EXPLAINED_WORDS = frozenset({"FAILED", "ERROR", "SKIPPED", "XFAIL"})
"""Words whose summary-line text (`- reason`) is kept as the result's message (not XPASS's)."""
_WORDS = "PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS"
_NODE = r"[^\s:]+\.py(?:::\S.*?)?"
# pytest 9 writes `XFAIL at setup of <node>` for `xfail(run=False)`.
_SUMMARY_LINE = re.compile(
    rf"(?P<word>{_WORDS})(?: at (?:setup|teardown) of)? (?P<node>{_NODE})(?: - (?P<message>.*))?"
)
# A `-v` line is matched in two steps, node then tail, each in one pass: a single regex
# with `\(.*\)` after a lazy node id is quadratic on hostile lines.
_VERBOSE_LINE = re.compile(rf"(?P<node>[^\s:]+\.py::\S.*?) (?P<word>{_WORDS})(?P<tail> .*)?")
_VERBOSE_TAIL = re.compile(r"(?: \(.*\))?(?:\s+\[\s*\d+%\])?\s*")
_XDIST_LINE = re.compile(
    rf"\[gw\d+\] \[\s*\d+%\] (?P<word>{_WORDS}) (?P<node>[^\s:]+\.py(?:::\S.*)?)"
)
_LOCATION = re.compile(r"(?P<file>[^\s:][^:]*):(?P<line>\d+): .*")
# pytest's last line: `=== 1 failed, 2 passed in 0.12s ===`, bare under `-q`, `in 65.00s (0:01:05)`.
_FINAL_LINE = re.compile(
    r"=*\s*(?:no tests ran|\d+ \w+(?:, \d+ \w+)*) in \d+(?:\.\d+)?s(?: \(\d+:\d+:\d+\))?\s*=*"
)
_FINAL_FIRST = frozenset("=0123456789n")
_FINAL_LAST = frozenset("=s)")
_MODULE_SKIP = re.compile(r", \d+, (?P<quote>['\"])(?:Skipped: )?")
# What pytest prints for a collection argument that names nothing, and whether
# the whole file is missing (so every targeted id in it is gone).
_NOT_FOUND_PREFIXES = (
    ("ERROR: not found: ", False),
    ("ERROR: found no collectors for ", True),
    ("ERROR: file or directory not found: ", True),
)
_EXTRA_NOT_FOUND_LINES = 64
"""`ERROR: not found` lines matched beyond one per target: the suite's own path arguments."""
INTERNAL_ERROR = "INTERNALERROR"
"""The failed result an internal error leaves (the XML's case `pytest.internal`)."""


def _user_junit(args: tuple[str, ...]) -> str | None:
    """The `--junitxml` path the command itself names, if any (pytest takes the last)."""
    found: str | None = None
    for index, arg in enumerate(args):
        if arg == "--":
            break
        for option in ("--junitxml", "--junit-xml"):
            if arg.startswith(f"{option}="):
                found = arg.split("=", 1)[1]
            elif arg == option and index + 1 < len(args):
                found = args[index + 1]
    return found


def _looks_like_path(arg: str) -> bool:
    return "/" in arg or "::" in arg or arg.endswith(".py") or arg in (".", "..")


def _options_only(args: tuple[str, ...]) -> tuple[list[str], bool]:
    """(the options of pytest's `args` with their values, whether `--` was among them).

    Positional test paths are dropped. A bare word after an option this adapter
    does not know is kept as that option's value unless it looks like a path:
    at worst the rerun runs more, never fewer tests.
    """
    kept: list[str] = []
    pending_values = 0
    unknown_before = False
    for arg in args:
        if pending_values:
            kept.append(arg)
            pending_values -= 1
            continue
        if arg == "--":
            kept.append(arg)
            return kept, True  # everything after `--` is positional
        if arg.startswith("--"):
            kept.append(arg)
            takes_value = "=" not in arg and arg in _LONG_VALUE
            pending_values = 1 if takes_value else 0
            unknown_before = "=" not in arg and not takes_value
            continue
        if arg.startswith("-") and len(arg) > 1:
            kept.append(arg)
            pending_values = 1 if _short_takes_next(arg) else 0
            unknown_before = False
            continue
        if unknown_before and not _looks_like_path(arg):
            kept.append(arg)
        unknown_before = False
    return kept, False


def _short_takes_next(arg: str) -> bool:
    """Whether a cluster of short options (`-xk`) ends in one that takes the next word."""
    for position, char in enumerate(arg[1:], start=1):
        if char in _SHORT_VALUE:
            return position == len(arg) - 1
    return False


def node_id(case: JUnitCase) -> str:
    """The pytest node id of a JUnit case pytest wrote (`tests/t.py::TestC::test_y[p]`)."""
    classname = case.classname
    if case.file:
        module = case.file.replace(os.sep, "/")
        dotted = module.removesuffix(".py").replace("/", ".")
        classes = _classes_after(classname, dotted)
        if classes is not None:
            return "::".join([module, *classes, case.name])
        if not classname and case.name == dotted:
            return module  # a collection error names the module itself
    parts = classname.split(".") if classname else []
    # No usable file: classes are the capitalised tail of the dotted classname.
    split = next((i for i, part in enumerate(parts) if part[:1].isupper()), len(parts))
    if split == 0:
        return "::".join([*parts, case.name])
    module = "/".join(parts[:split]) + ".py"
    return "::".join([module, *parts[split:], case.name])


def _classes_after(classname: str, dotted: str) -> list[str] | None:
    """The class names after the module's dotted path in `classname`; None if it is not there.

    `--junitprefix` puts words before the module. A few `str` searches, not a scan
    per position: both strings come from an untrusted file.
    """
    if classname == dotted or classname.endswith(f".{dotted}"):
        return []
    if classname.startswith(f"{dotted}."):
        rest = classname[len(dotted) + 1 :]
    else:
        index = classname.find(f".{dotted}.")
        if index < 0:
            return None
        rest = classname[index + len(dotted) + 2 :]
    return rest.split(".")


def _is_internal_error(case: JUnitCase) -> bool:
    return case.classname == "pytest" and case.name == "internal" and not case.file


def _is_collection_error(case: JUnitCase) -> bool:
    """A module (or class) pytest could not collect, so none of its tests ran."""
    if case.status is not TestStatus.FAILED or _is_internal_error(case):
        return False
    return case.message == "collection failure" or "::" not in node_id(case)


def _result(case: JUnitCase) -> TestResult:
    if _is_internal_error(case):
        return TestResult(
            name=INTERNAL_ERROR,
            status=case.status,
            duration=case.time,
            message=cap_message((case.detail_tail or "").splitlines()[-1:]) or case.message,
        )
    name = node_id(case)
    if case.status is TestStatus.PASSED:
        return TestResult(name=name, status=case.status, duration=case.time)
    if case.status is not TestStatus.FAILED:
        message = case.message
        if message == "collection skipped":  # a module-level `pytest.skip`
            message = _module_skip_reason(case.detail_tail or "") or message
        return TestResult(name=name, status=case.status, duration=case.time, message=message)
    message = case.message
    detail_lines = (case.detail_tail or "").splitlines()
    if message == "collection failure":
        errors = [line[1:].strip() for line in detail_lines if line.startswith("E ")]
        message = cap_message(errors) or message
    line = case.line + 1 if case.line is not None else None  # pytest writes 0-based lines
    for text in reversed(detail_lines):
        location = _LOCATION.fullmatch(text)
        if location and case.file and location["file"] == case.file:
            line = int(location["line"])
            break
    return TestResult(
        name=name,
        status=case.status,
        duration=case.time,
        message=message,
        file=case.file,
        line=line,
    )


def _module_skip_reason(text: str) -> str | None:
    """The reason in `('/abs/test_x.py', 3, 'Skipped: reason')`, what a module-level skip writes."""
    match = _MODULE_SKIP.search(text)
    if match is None or not text.endswith(f"{match['quote']})"):
        return None
    return cap_message([text[match.end() : -2]])


def _book(cases: tuple[JUnitCase, ...]) -> tuple[TestResult, ...]:
    book = ResultBook()
    for case in cases:
        if case.name or case.classname:  # a KeyboardInterrupt leaves a `<testcase>` with no name
            book.add(_result(case))
    return book.results()


def _add_log_result(line: str, book: ResultBook) -> None:
    """Record the result a `-v`, xdist or short summary line names, if it is one."""
    match = _SUMMARY_LINE.fullmatch(line) or _XDIST_LINE.fullmatch(line)
    if match is None:
        match = _VERBOSE_LINE.fullmatch(line)
        if match is None or not _VERBOSE_TAIL.fullmatch(match["tail"] or ""):
            return
    word = match["word"]
    node = match["node"].rstrip()
    message = match.groupdict().get("message") if word in _EXPLAINED_WORDS else None
    if message:
        if word == "SKIPPED":
            message = message.removeprefix("Skipped: ")  # `--no-fold-skipped` keeps the prefix
        book.add(TestResult(name=node, status=_LOG_WORDS[word], message=cap_message([message])))
    else:
        book.add(TestResult(name=node, status=_LOG_WORDS[word]))


def parse_pytest_log(lines: Iterable[str]) -> tuple[TestResult, ...]:
    """Results from pytest's console output: `-v` lines and short summary lines (`-rA`).

    A summary `SKIPPED [1] file:line` names no node and is not counted.
    """
    return read_session_log(lines).tests


@attrs.frozen
class SessionLog:
    """What pytest's console output says about a session: its results and how it ended."""

    tests: tuple[TestResult, ...] = ()
    stopped: str | None = None
    """pytest's own words for stopping early: the text of its first `!!! ... !!!` line."""
    internal_error: bool = False
    refused: str | None = None
    """The first `ERROR: not found: ...` (or file not found) line: pytest ran nothing."""
    not_found: tuple[str, ...] = ()
    """The targeted node ids those lines name."""
    finished: bool = False
    """pytest wrote its final `N passed in Xs` line (it was not killed on the way)."""


def read_session_log(
    lines: Iterable[str], targets: tuple[str, ...] = (), *, results: bool = True
) -> SessionLog:
    """Read pytest's console output in one pass; `results=False` skips the per-test lines.

    `targets` are the node ids the session was asked to run, which pytest's
    "not found" lines are matched back to.
    """
    book = ResultBook()
    index = _TargetIndex(targets)
    # pytest prints one line per argument it cannot find; more lines than that are someone
    # else's, and matching each against every target would cost lines x targets.
    lookups = len(targets) + _EXTRA_NOT_FOUND_LINES
    stopped: str | None = None
    refused: str | None = None
    not_found: dict[str, None] = {}
    internal_error = finished = False
    for raw in lines:
        line = strip_ansi(raw)
        if results:
            _add_log_result(line, book)
        # Dispatch on the first character: most lines are none of these, and cheaply so.
        first = line[:1]
        if first == "!":
            stopped = stopped or _separator_text(line)
        elif first == "I" and line.startswith("INTERNALERROR>"):
            internal_error = True
        elif first == "E" and line.startswith("ERROR: "):
            for prefix, whole_file in _NOT_FOUND_PREFIXES:
                if line.startswith(prefix):
                    refused = refused or cap_message([line.removeprefix("ERROR: ")])
                    if lookups > 0:
                        lookups -= 1
                        named = index.named(line[len(prefix) :].rstrip(), whole_file=whole_file)
                        not_found.update(dict.fromkeys(named))
                    break
        elif first in _FINAL_FIRST and line[-1:] in _FINAL_LAST and _FINAL_LINE.fullmatch(line):
            finished = True
    return SessionLog(
        tests=book.results(),
        stopped=stopped,
        internal_error=internal_error,
        refused=refused,
        not_found=tuple(not_found),
        finished=finished,
    )


def _separator_text(line: str) -> str | None:
    """The title of a line pytest framed in `!` (`!!!! title !!!!`), else None.

    pytest centres the title, so the right run of `!` is as long as the left or
    one longer; other lines that merely start with `!` are not its.
    """
    left = len(line) - len(line.lstrip("!"))
    right = len(line) - len(line.rstrip("!"))
    if left == len(line) or right - left not in (0, 1):
        return None
    title = line[left : len(line) - right]
    if not (title.startswith(" ") and title.endswith(" ")) or not title.strip():
        return None
    return cap_message([title.strip()])


class _TargetIndex:
    """Targeted node ids, found again from the way pytest prints them when they are missing."""

    def __init__(self, targets: tuple[str, ...]) -> None:
        self._by_file_name: dict[str, list[tuple[str, str, str]]] = {}
        for target in targets:
            path, _, names = target.partition("::")
            path = _slashed(path)
            self._by_file_name.setdefault(path.rsplit("/", 1)[-1], []).append((path, names, target))

    def named(self, printed: str, *, whole_file: bool) -> list[str]:
        """The targets that `printed` (`/abs/tests/t.py::test_x`, `tests/t.py`) stands for.

        pytest 8 and 9 print the path absolute, a missing file as it was given;
        pytest 9 drops the parametrization (`::test_d` for `::test_d[2-5]`), so
        then every targeted parametrization of that test is named.
        """
        path, _, names = printed.partition("::")
        path = _slashed(path)
        in_file = [
            (target_names, target)
            for target_path, target_names, target in self._by_file_name.get(
                path.rsplit("/", 1)[-1], ()
            )
            if path == target_path or path.endswith(f"/{target_path}")
        ]
        if whole_file:
            return [target for _, target in in_file]
        exact = [target for target_names, target in in_file if target_names == names]
        if exact or "[" in names:
            return exact
        return [target for target_names, target in in_file if target_names.startswith(f"{names}[")]


def _slashed(path: str) -> str:
    return path.replace("\\", "/").removeprefix("./")


class PytestAdapter:
    """pytest: per-test results from its JUnit XML; reruns by node id."""

    name = "pytest"
    no_tests_exit_codes = frozenset({5})
    """pytest's `NO_TESTS_COLLECTED`: nothing collected, or `-k`/`-m` deselected everything."""

    def command(self, job: Job, attempt_dir: Path) -> tuple[str, ...]:
        """The job's argv with pytest asked for an xunit1 JUnit file in `attempt_dir`."""
        start = pytest_program_end(job.argv)
        if start is None:
            return job.argv
        family = ("-o", "junit_family=xunit1")
        if _user_junit(job.argv[start:]) is not None:
            return (*job.argv[:start], *family, *job.argv[start:])
        # Absolute: the job runs in its own directory, not the orchestrator's.
        junit = Path(os.path.abspath(attempt_dir / JUNIT_FILE))
        return (*job.argv[:start], f"--junitxml={junit}", *family, *job.argv[start:])

    def parse(self, log: Path, attempt_dir: Path, job: Job) -> Report:
        """Results from the JUnit file, else from the log, and what the session left unrun.

        Never raises.
        """
        start = pytest_program_end(job.argv)
        user = _user_junit(job.argv[start:]) if start is not None else None
        junit = Path(job.cwd or ".") / user if user else attempt_dir / JUNIT_FILE
        report = read_junit(junit)
        complete_xml = report.error is None
        session = read_session_log(iter_lines(log), job.tests, results=not complete_xml)
        if complete_xml:
            tests = _book(report.cases)
            uncollected = [node_id(case) for case in report.cases if _is_collection_error(case)]
        else:
            tests = session.tests or _book(report.cases)
            uncollected = [
                result.name
                for result in tests
                if result.status is TestStatus.FAILED and "::" not in result.name
            ]
        internal = session.internal_error or any(map(_is_internal_error, report.cases))
        # Without a visible pytest no XML was asked for, so a missing one says nothing.
        xml_missing = (start is not None or user is not None) and not complete_xml
        unseen = _unseen(session, uncollected, internal=internal, xml_missing=xml_missing)
        return Report(tests, unseen, session.not_found)

    def targeted(self, argv: tuple[str, ...], tests: tuple[str, ...]) -> tuple[str, ...] | None:
        """argv with its test paths replaced by the node ids `tests`, options kept.

        None when argv does not visibly run pytest, uses `--pyargs` (node ids
        are paths, not modules) or there is nothing to target.
        """
        start = pytest_program_end(argv)
        if start is None or not tests or "--pyargs" in argv[start:]:
            return None
        options, separated = _options_only(argv[start:])
        ids = tuple(dict.fromkeys(tests))
        if not separated and any(test.startswith("-") for test in ids):
            options.append("--")  # a node id must never be read as an option
        return (*argv[:start], *options, *ids)


def _unseen(
    session: SessionLog, uncollected: list[str], *, internal: bool, xml_missing: bool
) -> str | None:
    """Why some tests the session selected may never have run, in a few words; None if all did."""
    if session.refused is not None:
        return f"pytest ran nothing: {session.refused}"
    if session.stopped is not None:
        return f"pytest stopped early: {session.stopped}"
    if internal:
        return "pytest stopped on an internal error (INTERNALERROR)"
    if uncollected:
        named = uncollected[0] if len(uncollected) == 1 else f"{len(uncollected)} modules"
        return f"pytest could not collect {named}"
    if xml_missing and not session.finished:
        return "pytest ended without its JUnit XML or final summary line (killed?)"
    return None
