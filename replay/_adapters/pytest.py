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
(`FAILED tests/x.py::t - msg`) are read instead.

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

from replay._adapters._base import Report
from replay._adapters._lines import ResultBook, cap_message, iter_lines, strip_ansi
from replay._adapters._xml import JUnitCase, read_junit
from replay._models import Job, TestResult, TestStatus

JUNIT_FILE = "junit.xml"
"""The file, in the attempt's directory, that pytest is asked to write."""

_PROGRAMS = frozenset({"pytest", "py.test", "pytest-3", "pytest.exe"})
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
    "XPASS": TestStatus.PASSED,
    "FAILED": TestStatus.FAILED,
    "ERROR": TestStatus.FAILED,
    "SKIPPED": TestStatus.SKIPPED,
    "XFAIL": TestStatus.SKIPPED,
}
_WORDS = "PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS"
_NODE = r"[^\s:]+\.py(?:::\S.*?)?"
_SUMMARY_LINE = re.compile(rf"(?P<word>{_WORDS}) (?P<node>{_NODE})(?: - (?P<message>.*))?")
# A `-v` line is matched in two steps, node then tail, each in one pass: a single regex
# with `\(.*\)` after a lazy node id is quadratic on hostile lines.
_VERBOSE_LINE = re.compile(rf"(?P<node>[^\s:]+\.py::\S.*?) (?P<word>{_WORDS})(?P<tail> .*)?")
_VERBOSE_TAIL = re.compile(r"(?: \(.*\))?(?:\s+\[\s*\d+%\])?\s*")
_XDIST_LINE = re.compile(
    rf"\[gw\d+\] \[\s*\d+%\] (?P<word>{_WORDS}) (?P<node>[^\s:]+\.py(?:::\S.*)?)"
)
_LOCATION = re.compile(r"(?P<file>[^\s:][^:]*):(?P<line>\d+): .*")


def _program_end(argv: tuple[str, ...]) -> int | None:
    """The index right after `pytest` or `-m pytest` in argv; None if pytest is not visible."""
    for index, arg in enumerate(argv):
        if Path(arg).name in _PROGRAMS:
            return index + 1
        if arg == "-m" and index + 1 < len(argv) and argv[index + 1] == "pytest":
            return index + 2
        if arg == "-mpytest":
            return index + 1
    return None


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


def _result(case: JUnitCase) -> TestResult:
    name = node_id(case)
    if case.status is not TestStatus.FAILED:
        return TestResult(name=name, status=case.status, duration=case.time)
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


def parse_pytest_log(lines: Iterable[str]) -> tuple[TestResult, ...]:
    """Results from pytest's console output: `-v` lines and short summary lines (`-rA`).

    A summary `SKIPPED [1] file:line` names no node and is not counted.
    """
    book = ResultBook()
    for raw in lines:
        line = strip_ansi(raw)
        match = _SUMMARY_LINE.fullmatch(line) or _XDIST_LINE.fullmatch(line)
        if match is None:
            match = _VERBOSE_LINE.fullmatch(line)
            if match is None or not _VERBOSE_TAIL.fullmatch(match["tail"] or ""):
                continue
        status = _LOG_WORDS[match["word"]]
        node = match["node"].rstrip()
        message = match.groupdict().get("message")
        if status is TestStatus.FAILED and message:
            book.add(TestResult(name=node, status=status, message=cap_message([message])))
        else:
            book.add(TestResult(name=node, status=status))
    return book.results()


class PytestAdapter:
    """pytest: per-test results from its JUnit XML; reruns by node id."""

    name = "pytest"

    def command(self, job: Job, attempt_dir: Path) -> tuple[str, ...]:
        """The job's argv with pytest asked for an xunit1 JUnit file in `attempt_dir`."""
        start = _program_end(job.argv)
        if start is None:
            return job.argv
        family = ("-o", "junit_family=xunit1")
        if _user_junit(job.argv[start:]) is not None:
            return (*job.argv[:start], *family, *job.argv[start:])
        # Absolute: the job runs in its own directory, not the orchestrator's.
        junit = Path(os.path.abspath(attempt_dir / JUNIT_FILE))
        return (*job.argv[:start], f"--junitxml={junit}", *family, *job.argv[start:])

    def parse(self, log: Path, attempt_dir: Path, job: Job) -> Report:
        """Results from the JUnit file, else from the log; never raises."""
        start = _program_end(job.argv)
        user = _user_junit(job.argv[start:]) if start is not None else None
        junit = Path(job.cwd or ".") / user if user else attempt_dir / JUNIT_FILE
        report = read_junit(junit)
        if report.error is None:
            return Report(_book(report.cases))
        from_log = parse_pytest_log(iter_lines(log))
        return Report(from_log or _book(report.cases))

    def targeted(self, argv: tuple[str, ...], tests: tuple[str, ...]) -> tuple[str, ...] | None:
        """argv with its test paths replaced by the node ids `tests`, options kept.

        None when argv does not visibly run pytest, uses `--pyargs` (node ids
        are paths, not modules) or there is nothing to target.
        """
        start = _program_end(argv)
        if start is None or not tests or "--pyargs" in argv[start:]:
            return None
        options, separated = _options_only(argv[start:])
        ids = tuple(dict.fromkeys(tests))
        if not separated and any(test.startswith("-") for test in ids):
            options.append("--")  # a node id must never be read as an option
        return (*argv[:start], *options, *ids)


def _book(cases: tuple[JUnitCase, ...]) -> tuple[TestResult, ...]:
    book = ResultBook()
    for case in cases:
        book.add(_result(case))
    return book.results()
