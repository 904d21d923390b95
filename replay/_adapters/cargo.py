"""The cargo adapter: libtest's human output, read line by line, and `--exact` reruns.

What libtest prints, and what each line means here:

- `running N tests` starts a test binary's block (`cargo test` without
  `--test` runs several binaries, doc tests included, one block each);
- `test NAME ... ok|FAILED|ignored[, reason]` is a result; NAME may carry a
  mode suffix (` - should panic`, ` - compile fail`, ` - compile`), and with
  `--test-threads=1` the status may come lines later, after the test's output;
- `thread 'NAME' (TID) panicked at FILE:LINE:COL:` and the message lines
  after it (or, before Rust 1.73, `panicked at 'MESSAGE', FILE:LINE:COL`) give a
  failed test its message and location, as cargo prints it: relative to the
  directory cargo ran in (the job's cwd);
- `---- NAME stdout ----` opens a failed test's captured output, where a
  `thread 'main'` panic (doc tests) still belongs to NAME;
- `failures:` lists the failed names, which catches a status lost in output;
- `test result: ...` closes the block; a block that never closes was killed,
  so the test it was running failed (`process didn't exit successfully`).

And what cargo prints around the blocks:

- `Running tests/a.rs (target/debug/deps/a-0123abcd)`, `Running unittests
  src/lib.rs (...)` and `Doc-tests mycrate` name the binary of the next block;
- `error: test failed, to rerun pass `--test a`` follows a binary that failed;
  without `--no-fail-fast` cargo stops there, with it cargo runs every binary
  and ends with `error: N targets failed:`;
- `error[E0308]: ...`, `error: could not compile ...` mean no test ran at all.

Names are libtest names (`a::b::nested_fails`, `src/lib.rs - add (line 7)`).
Where the same name occurs in more than one binary of a log, each is qualified
by its binary, `"{binary} {name}"`, so there is one record per test cargo ran
and counts equal the sums of cargo's own `test result:` lines. A binary is
called by its file's stem (`a` for `tests/a.rs`, `mycrate` for the unit tests
of `src/lib.rs`), `mycrate(doc)` for the doc tests of crate `mycrate`, and
`#3` (its position in the log) when no `Running` line named it (`cargo test
-q`). Where two binaries of a log share that name (the unit tests of
`src/lib.rs` and `src/main.rs` are both `mycrate`), the source is added
(`mycrate(src/main.rs)`), then the file's hash (`mycrate-0123abcd`), then the
position, until each binary's name is its own. No name holds a space.

Rust test names hold no space, doc tests' aside, so `targeted` drops a
qualifier (the text before the first space) and `cargo test -- --exact NAME`
then runs NAME in every binary that holds it. Doc tests cannot be targeted:
cargo hands the filters to rustdoc, which splits them at whitespace, so
`src/lib.rs - add (line 7)` would match nothing under `--exact` (and every doc
test without it). `targeted` returns None for them.

`command` adds `--no-fail-fast`: otherwise cargo skips every binary after the
first that fails, and those tests would be neither passed nor failed. What a
log shows did not run — a compile error, a binary that stopped before its
`test result:`, cargo stopping after a failed binary — is the report's `unseen`.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import attrs

from replay._adapters._base import Report
from replay._adapters._commands import cargo_test_index
from replay._adapters._lines import (
    MAX_MESSAGE_LINES,
    ResultBook,
    cap_message,
    iter_lines,
    strip_ansi,
)
from replay._adapters._output import PANIC_START, SECTION
from replay._model.models import Job, TestResult, TestStatus

MAX_PANICS_PER_BLOCK = 100_000
"""Panics remembered per binary until their test's result arrives; a flood beyond is dropped."""

MAX_UNSEEN_BINARIES = 3
"""Stopped binaries named in `Report.unseen`; more are counted, so it stays one short line."""

MAX_COMPILE_ERROR_CHARS = 200
"""Of cargo's `could not compile WHAT`: WHAT is a crate and a target, a line is untrusted."""

MAX_BINARY_NAME_CHARS = 200
"""A binary's name or source beyond this is not cargo's: it is cut in messages, not used as a
qualifier (the binary's position is)."""

_NOTABLE_STARTS = (
    "test ",  # a test's result, `test result:` totals
    "running ",  # `running N tests`: a binary's results begin
    " +(?:Running|Doc-tests) ",  # cargo names the next binary
    r"\s*thread '",  # a panic
    "---- ",  # a test's captured output (`---- NAME stdout ----`)
    r"\s*(?:failures|successes)",  # the lists after the results
    r"    \S",  # a name in those lists
    r"\s*process didn't",  # a binary that crashed
    "Error: ",  # a test that returned `Err(e)`
    "ok|FAILED|ignored|bench",  # a status on its own line (`--test-threads=1`)
)
"""The starts of every line libtest (or cargo) writes that this parser reads, as regexes."""
_NOTABLE = re.compile("|".join(_NOTABLE_STARTS))
"""Any of `_NOTABLE_STARTS`: one match skips the common line, a test's own output."""
_RUNNING = re.compile(r"running \d+ tests?\b")
_BINARY = re.compile(r" +(?:Running|Doc-tests) ")
_RUNNING_BINARY = re.compile(r" +Running (?:unittests )?(?P<source>.+) \((?P<path>[^()]+)\)\s*")
_RUNNING_FILE = re.compile(r" +Running (?P<path>\S+)\s*")  # cargo before 1.52: no source
_DOC_TESTS = re.compile(r" +Doc-tests (?P<crate>\S+)\s*")
_HASHED = re.compile(r"(?P<stem>.+)-[0-9a-f]{16}")
_STATUS_PATTERN = (
    # Greedy reasons: a lazy `.*?` before `\s*` is quadratic on a line of spaces.
    r"(?P<word>ok|FAILED(?: \(time limit exceeded\))?|ignored(?:, .*)?|bench:.*)"
    r"(?: <(?P<secs>\d+(?:\.\d+)?)s>)?\s*"
)
_STATUS = re.compile(_STATUS_PATTERN)
# The status is matched in the same pass; anything else after ` ... ` is the test's output.
_TEST_LINE = re.compile(
    r"test (?P<name>.+?)(?: - (?:should panic|compile fail|compile))? \.\.\."
    rf"(?: (?:{_STATUS_PATTERN}|.*))?"
)
_LOCATION = re.compile(r"(?P<file>.+?):(?P<line>\d+):(?P<col>\d+):?")
_OLD_PANIC_END = re.compile(r"(?P<message>.*)', (?P<file>[^\s'][^']*?):(?P<line>\d+):(?P<col>\d+)")
_LISTED = re.compile(r"    (?P<name>\S.*)")
_TOTALS = re.compile(
    r"test result: (?P<verdict>\w+)\. (?P<passed>\d+) passed; (?P<failed>\d+) failed; "
    r"(?P<ignored>\d+) ignored; (?P<measured>\d+) measured; (?P<filtered>\d+) filtered out"
)
_RERUN_HINT = re.compile(r"error: (?:test|doctest) failed, to rerun pass `(?P<args>[^`]*)`")
_ALL_TARGETS_RAN = re.compile(r"error: \d+ targets? failed:")
_RUSTC_ERROR = re.compile(r"error\[E\d+\]")
_COMPILE_FAILED = "error: could not compile "
_LABEL = re.compile(r"#\d+|[\w.-]+(?:\([^\s()]*\))?")
"""What a binary's name in a qualified test name looks like (see the module's docstring)."""
_QUALIFIED = re.compile(rf"(?:{_LABEL.pattern}) (?P<name>.+)")
_DOC_TEST_END = re.compile(r" \(line \d+\)\Z")
_CRASH = re.compile(r"\s*process didn't exit successfully: .*\((?P<why>[^()]*)\)\s*")
_MESSAGE_END = re.compile(r"\s*$|note: |stack backtrace:|failures:\s*$|test result: ")
_RETURNED_ERROR = re.compile(r"Error: (?P<message>.+)")

# Threads that are not named after a test: a panic there belongs to the section or test at hand.
_ANONYMOUS_THREADS = frozenset({"main", "<unnamed>"})

_CARGO_VALUE_OPTIONS = frozenset(
    {
        "-p", "--package", "--test", "--bench", "--bin", "--example", "-F", "--features",
        "--target", "--target-dir", "--manifest-path", "-j", "--jobs", "--profile",
        "--message-format", "--color", "--config", "-Z", "--exclude", "--lockfile-path",
        "--artifact-dir",
    }
)  # fmt: skip
_LIBTEST_VALUE_OPTIONS = frozenset(
    {"--test-threads", "--skip", "--logfile", "--color", "--format", "-Z", "--shuffle-seed"}
)


@attrs.frozen
class LibtestTotals:
    """One binary's `test result:` line."""

    passed: int
    failed: int
    ignored: int
    measured: int
    filtered_out: int


@attrs.frozen
class LibtestReport:
    """What one cargo log said: the tests, each binary's totals, what did not run and why."""

    tests: tuple[TestResult, ...] = ()
    totals: tuple[LibtestTotals, ...] = ()
    rerun_hints: tuple[str, ...] = ()
    """What cargo's `error: test failed, to rerun pass `--test it`` named, in order."""
    compile_error: str | None = None
    """What rustc could not compile (`` `demo` (test "it") ``), "" if unnamed; None if it could."""
    stopped: tuple[str, ...] = ()
    """Binaries that stopped before their `test result:` (`tests/a.rs`), the first few."""
    more_stopped: int = 0
    """How many more binaries stopped than `stopped` names."""
    all_targets_ran: bool = False
    """cargo's closing `error: N targets failed:`: it ran with `--no-fail-fast`."""
    cargo_error: bool = False
    """cargo printed another `error:` outside any binary's output."""
    ran: bool = False
    """Some binary printed `running N tests`."""

    def unseen(self, *, every_binary: bool) -> str | None:
        """Why some tests may never have run, in a few words; None when all did.

        `every_binary`: the argv that ran has `--no-fail-fast`, so a failed
        binary did not stop cargo even where the log was cut before its end.
        """
        if self.compile_error is not None:
            what = f": {self.compile_error}" if self.compile_error else ""
            return f"the crate did not compile{what}"
        if self.stopped:
            reasons = "; ".join(
                f"test binary {name} stopped before it finished" for name in self.stopped
            )
            return f"{reasons}; and {self.more_stopped} more" if self.more_stopped else reasons
        if self.rerun_hints and not (every_binary or self.all_targets_ran):
            return "cargo stopped after a failing test binary; later binaries did not run"
        if self.cargo_error and not self.ran:
            return "cargo stopped with an error before running any test"
        return None


@attrs.frozen
class _Panic:
    message: str | None
    file: str | None
    line: int | None


class _Mode(enum.Enum):
    RESULTS = "results"
    SECTION = "section"
    LIST = "list"
    OTHER_LIST = "other list"


class _Collecting:
    """The panic whose message lines are being read."""

    def __init__(self, key: str | None, file: str | None, line: int | None, *, old: bool) -> None:
        self.key = key
        self.file = file
        self.line = line
        self.old = old
        self.lines: list[str] = []
        self.seen = 0


class _Binary:
    """One test binary of the log: what it is called, its results, how it ended."""

    def __init__(self, names: tuple[str, ...], shown: str) -> None:
        self.names = names
        """Names to qualify its tests by, the first one preferred (see `_labels`)."""
        self.shown = shown
        """What `unseen` calls it: its source file, as cargo's `Running` line does."""
        self.book = ResultBook()
        self.opened = False
        """Its `running N tests` came."""
        self.finished = False
        """Its `test result:` came."""
        self.failed = False
        """cargo said it failed (`error: test failed, to rerun pass ...`)."""

    @property
    def stopped(self) -> bool:
        """Whether it ended before reporting on every test it holds."""
        return not self.finished if self.opened else self.failed


class _Block:
    """One test binary's output, from `running N tests` to its end."""

    def __init__(self, binary: _Binary) -> None:
        self.binary = binary
        self.statuses: dict[str, tuple[TestStatus, float | None]] = {}
        self.unresolved: list[str] = []
        self.listed: list[str] = []
        self.panics: dict[str, _Panic] = {}
        self.closed = False
        self.ended = False
        """cargo said the binary failed: no more output of it follows."""
        self.crash: str | None = None
        self.mode = _Mode.RESULTS
        self.section: str | None = None
        self.collecting: _Collecting | None = None


class _LibtestParser:
    def __init__(self) -> None:
        self.binaries: list[_Binary] = []
        """Finished binaries that reported some test, in log order."""
        self.binary: _Binary | None = None
        self.position = 0
        self.totals: list[LibtestTotals] = []
        self.hints: list[str] = []
        self.block: _Block | None = None
        self.compile_error: str | None = None
        self.stopped: list[str] = []
        self.more_stopped = 0
        self.all_targets_ran = False
        self.cargo_error = False
        self.ran = False

    def feed(self, raw: str) -> None:
        line = strip_ansi(raw)
        block = self.block
        if "error" in line:
            self._error(block, line)
        notable = _NOTABLE.match(line) is not None
        if notable and self._boundary(block, line):
            return
        if block is None:
            return
        if block.collecting is not None and self._collect(block, block.collecting, line):
            return
        if notable:  # else test output: the common case, skipped after one regex
            self._notable(block, line)

    def _error(self, block: _Block | None, line: str) -> None:
        """Read cargo's and rustc's `error` lines: rerun hints, compile errors, the last word."""
        hint = _RERUN_HINT.search(line)
        if hint:
            self.hints.append(hint["args"])
            if block is not None:
                block.ended = True
            if self.binary is not None:
                self.binary.failed = True
            return
        if block is not None and not block.closed and not block.ended:
            return  # a test's own output
        if _ALL_TARGETS_RAN.match(line):
            self.all_targets_ran = True
        elif line.startswith(_COMPILE_FAILED):
            if not self.compile_error:
                what = line[len(_COMPILE_FAILED) :].split(" due to ", 1)[0].strip()
                self.compile_error = what[:MAX_COMPILE_ERROR_CHARS]
        elif _RUSTC_ERROR.match(line):
            if self.compile_error is None:
                self.compile_error = ""
        elif line.startswith("error:"):
            self.cargo_error = True

    def _boundary(self, block: _Block | None, line: str) -> bool:
        """Start or end a binary's block at `running N tests` or cargo's `Running` line.

        A test's own output may say "running 3 tests": only a finished block gives way.
        """
        if block is not None and not block.closed and not block.ended:
            return False
        if _RUNNING.match(line):
            self._flush()
            binary = self.binary
            if binary is None or binary.opened:
                binary = self._start_binary(None)  # no `Running` line named it
            binary.opened = True
            self.ran = True
            self.block = _Block(binary)
            return True
        if _BINARY.match(line):
            self._flush()
            self._start_binary(line)
            return True
        return False

    def _start_binary(self, header: str | None) -> _Binary:
        self._end_binary()
        self.position += 1
        binary = self.binary = _binary(header, self.position)
        return binary

    def _end_binary(self) -> None:
        """Keep the current binary if it reported a test; note it if it stopped early.

        Binaries without results are dropped: a log of a million `Running` lines
        must not hold a million books.
        """
        binary = self.binary
        self.binary = None
        if binary is None:
            return
        if binary.stopped:
            if len(self.stopped) < MAX_UNSEEN_BINARIES:
                self.stopped.append(binary.shown)
            else:
                self.more_stopped += 1
        if len(binary.book):
            self.binaries.append(binary)

    def _notable(self, block: _Block, line: str) -> None:
        crash = _CRASH.fullmatch(line)
        if crash:
            block.crash = crash["why"]
            return
        panic = PANIC_START.match(line)
        if panic:
            self._start_panic(block, panic["name"], panic["rest"])
            return
        self._structure(block, line)

    def _structure(self, block: _Block, line: str) -> None:
        """Everything that is not a panic: totals, section and list headers, then results."""
        if not self._header(block, line):
            self._body(block, line)

    def _header(self, block: _Block, line: str) -> bool:
        """Read `line` if it is a `test result:` line or opens a section or a list."""
        totals = _TOTALS.match(line)
        if totals:
            block.closed = True
            block.binary.finished = True
            block.mode = _Mode.RESULTS
            self.totals.append(
                LibtestTotals(
                    passed=int(totals["passed"]),
                    failed=int(totals["failed"]),
                    ignored=int(totals["ignored"]),
                    measured=int(totals["measured"]),
                    filtered_out=int(totals["filtered"]),
                )
            )
            return True
        section = SECTION.fullmatch(line)
        if section:
            block.mode = _Mode.SECTION
            block.section = section["name"]
            return True
        stripped = line.strip()
        if stripped in ("failures:", "failures (time limit exceeded):"):
            block.mode = _Mode.LIST
            return True
        if stripped == "successes:":
            block.mode = _Mode.OTHER_LIST
            return True
        return False

    def _body(self, block: _Block, line: str) -> None:
        """Read `line` as the mode of the block says: a listed name, test output, a result."""
        if block.mode is _Mode.LIST:
            listed = _LISTED.fullmatch(line)
            if listed:
                block.listed.append(listed["name"].rstrip())
        elif block.mode is _Mode.SECTION:
            returned = _RETURNED_ERROR.fullmatch(line)
            if returned and block.section is not None and block.section not in block.panics:
                # A test returning `Err(e)` fails without a panic; libtest prints `Error: e`.
                block.panics[block.section] = _Panic(cap_message([returned["message"]]), None, None)
        elif block.mode is _Mode.RESULTS:
            test = _TEST_LINE.fullmatch(line)
            if test:
                name = test["name"].rstrip()
                if test["word"]:
                    block.statuses[name] = _status(test)
                else:
                    block.unresolved.append(name)
            elif block.unresolved:
                # --test-threads=1 prints `test NAME ... `, the test's output, then the status.
                status = _STATUS.fullmatch(line)
                if status:
                    block.statuses[block.unresolved.pop()] = _status(status)

    def _start_panic(self, block: _Block, thread: str, rest: str) -> None:
        if block.mode is _Mode.SECTION and block.section is not None:
            key: str | None = block.section
        elif thread not in _ANONYMOUS_THREADS:
            key = thread
        else:
            key = block.unresolved[-1] if block.unresolved else None
        if rest.startswith("'"):
            # Before Rust 1.73: `panicked at 'MESSAGE', FILE:LINE:COL`, MESSAGE maybe multi-line.
            collecting = _Collecting(key, None, None, old=True)
            block.collecting = collecting
            self._collect(block, collecting, rest[1:])
            return
        location = _LOCATION.fullmatch(rest)
        file, number = (location["file"], int(location["line"])) if location else (None, None)
        block.collecting = _Collecting(key, file, number, old=False)

    def _collect(self, block: _Block, collecting: _Collecting, line: str) -> bool:
        """Add `line` to the panic being read; False when the line ends it (and is not used)."""
        collecting.seen += 1
        if collecting.old:
            end = _OLD_PANIC_END.fullmatch(line)
            if end:
                collecting.lines.append(end["message"])
                collecting.file, collecting.line = end["file"], int(end["line"])
                self._end_panic(block)
                return True
        if _ends_message(block, line) or collecting.seen > MAX_MESSAGE_LINES * 4:
            self._end_panic(block)
            return False
        collecting.lines.append(line)
        return True

    def _end_panic(self, block: _Block) -> None:
        collecting = block.collecting
        block.collecting = None
        if collecting is None or collecting.key is None:
            return
        if collecting.key in block.panics or len(block.panics) >= MAX_PANICS_PER_BLOCK:
            return  # the first panic of a test is its failure; later ones are fallout
        message = cap_message(collecting.lines)
        block.panics[collecting.key] = _Panic(message, collecting.file, collecting.line)

    def _flush(self) -> None:
        """Turn the finished block into results."""
        block = self.block
        self.block = None
        if block is None:
            return
        if block.collecting is not None:
            self._end_panic(block)
        listed = set(block.listed)
        unresolved = set(block.unresolved)
        for name, (status, seconds) in block.statuses.items():
            self._add(block, name, status, seconds)
        for name in block.unresolved:
            if name in block.statuses:
                continue
            if name in listed:
                self._add(block, name, TestStatus.FAILED, None)
            elif block.closed:
                # Every failure is in the `failures:` list, so an unlisted test passed.
                self._add(block, name, TestStatus.PASSED, None)
            else:
                why = f" ({block.crash})" if block.crash else ""
                message = f"the test binary stopped while this test ran{why}"
                result = TestResult(name=name, status=TestStatus.FAILED, message=message)
                block.binary.book.add(result)
        for name in block.listed:
            if name not in block.statuses and name not in unresolved:
                self._add(block, name, TestStatus.FAILED, None)

    def _add(self, block: _Block, name: str, status: TestStatus, seconds: float | None) -> None:
        book = block.binary.book
        panic = block.panics.get(name) if status is TestStatus.FAILED else None
        if panic is None:
            book.add(TestResult(name=name, status=status, duration=seconds))
            return
        book.add(
            TestResult(
                name=name,
                status=status,
                duration=seconds,
                message=panic.message,
                file=panic.file,
                line=panic.line,
            )
        )

    def report(self) -> LibtestReport:
        self._flush()
        self._end_binary()
        return LibtestReport(
            tests=_qualified(self.binaries),
            totals=tuple(self.totals),
            rerun_hints=tuple(self.hints),
            compile_error=self.compile_error,
            stopped=tuple(self.stopped),
            more_stopped=self.more_stopped,
            all_targets_ran=self.all_targets_ran,
            cargo_error=self.cargo_error,
            ran=self.ran,
        )


def _binary(header: str | None, position: int) -> _Binary:
    """The binary that cargo's `Running ...` or `Doc-tests ...` line announces.

    Its names, preferred first: `a` (the file's stem), `a(tests/a.rs)`,
    `a-0123456789abcdef` (the file), `#2` (its position in the log).
    """
    last = f"#{position}"
    if header is None:
        return _Binary((last,), last)
    doc = _DOC_TESTS.fullmatch(header)
    if doc:
        name = f"{doc['crate']}(doc)"
        return _Binary(_label_candidates(name, last), name[:MAX_BINARY_NAME_CHARS])
    running = _RUNNING_BINARY.fullmatch(header)
    source = running["source"].strip() if running else None
    path = running["path"] if running else None
    if path is None:
        old = _RUNNING_FILE.fullmatch(header)
        if old is None:
            return _Binary((last,), last)
        path = old["path"]
    file = re.split(r"[\\/]", path.strip())[-1].removesuffix(".exe")
    hashed = _HASHED.fullmatch(file)
    stem = hashed["stem"] if hashed else file
    with_source = f"{stem}({source})" if source else None
    shown = (source or file)[:MAX_BINARY_NAME_CHARS]
    return _Binary(_label_candidates(stem, with_source, file, last), shown)


def _label_candidates(*names: str | None) -> tuple[str, ...]:
    """`names` that can qualify a test name (no spaces, see `_LABEL`), without repeats."""
    fit = (n for n in names if n and len(n) <= MAX_BINARY_NAME_CHARS and _LABEL.fullmatch(n))
    return tuple(dict.fromkeys(fit))


def _labels(binaries: list[_Binary]) -> list[str]:
    """One name per binary, each its own: a binary sharing its name moves to its next one."""
    level = [0] * len(binaries)
    while True:
        labels = [b.names[i] for b, i in zip(binaries, level, strict=True)]
        counts = Counter(labels)
        moved = False
        for index, (binary, label) in enumerate(zip(binaries, labels, strict=True)):
            if counts[label] > 1 and level[index] < len(binary.names) - 1:
                level[index] += 1
                moved = True
        if not moved:
            return labels


def _qualified(binaries: list[_Binary]) -> tuple[TestResult, ...]:
    """Every binary's results; a name several binaries hold is qualified by each binary."""
    if len(binaries) == 1:
        return binaries[0].book.results()
    holders = Counter(result.name for binary in binaries for result in binary.book.results())
    shared = {name for name, count in holders.items() if count > 1}
    book = ResultBook()
    labels = _labels(binaries) if shared else [""] * len(binaries)
    for binary, label in zip(binaries, labels, strict=True):
        for result in binary.book.results():
            if result.name in shared:
                book.add(attrs.evolve(result, name=f"{label} {result.name}"))
            else:
                book.add(result)
    return book.results()


def _ends_message(block: _Block, line: str) -> bool:
    """Whether `line` is libtest's own, not a panic message's: a message ends before it."""
    return bool(
        _MESSAGE_END.match(line)
        or _TEST_LINE.fullmatch(line)
        or SECTION.fullmatch(line)
        or PANIC_START.match(line)
        or (block.unresolved and _STATUS.fullmatch(line))
    )


def _status(match: re.Match[str]) -> tuple[TestStatus, float | None]:
    word = match["word"]
    seconds = float(match["secs"]) if match["secs"] else None
    if word.startswith("FAILED"):
        return TestStatus.FAILED, seconds
    if word.startswith("ignored"):
        return TestStatus.SKIPPED, seconds
    return TestStatus.PASSED, seconds


def parse_libtest(lines: Iterable[str]) -> LibtestReport:
    """Read libtest's human output (as `cargo test` prints it) into per-test results.

    Never raises on any text; memory grows with the number of tests, not lines.
    """
    parser = _LibtestParser()
    for line in lines:
        parser.feed(line)
    return parser.report()


def _is_doc_test(name: str) -> bool:
    """Whether `name` is rustdoc's `src/lib.rs - path::item (line 7)`."""
    return " - " in name and _DOC_TEST_END.search(name) is not None


def _cargo_options(argv: tuple[str, ...], test_index: int) -> tuple[str, ...]:
    """cargo's own arguments in `cargo test ARGS -- LIBTEST_ARGS`: those before `--`."""
    rest = argv[test_index + 1 :]
    return rest[: rest.index("--")] if "--" in rest else rest


def _runs_every_binary(argv: tuple[str, ...]) -> bool:
    """Whether argv is a `cargo test` that goes on after a failed binary."""
    test_index = cargo_test_index(argv)
    return test_index is not None and "--no-fail-fast" in _cargo_options(argv, test_index)


def unqualified(test: str) -> str:
    """A test's name without its binary: `a shared` -> `shared`; doc tests stay whole."""
    if _is_doc_test(test):
        return test
    qualified = _QUALIFIED.fullmatch(test)
    return qualified["name"] if qualified else test


def _without_filters(args: list[str], value_options: frozenset[str]) -> list[str]:
    """`args` with positional filters dropped and options (with their values) kept.

    After an option this adapter does not know, a bare word is kept as that
    option's value: at worst a rerun filters on one more name, never on fewer.
    """
    kept: list[str] = []
    takes_value = False
    unknown_before = False
    for arg in args:
        if takes_value:
            kept.append(arg)
            takes_value = False
            continue
        if arg.startswith("-") and arg != "-":
            kept.append(arg)
            known = arg in value_options
            takes_value = known
            unknown_before = not known and "=" not in arg and arg.startswith("--")
            continue
        if unknown_before:
            kept.append(arg)
        unknown_before = False
    return kept


class CargoAdapter:
    """`cargo test`: libtest's human output; reruns with `-- --exact NAME...`."""

    name = "cargo"
    no_tests_exit_codes: frozenset[int] = frozenset()

    def command(self, job: Job, attempt_dir: Path) -> tuple[str, ...]:
        """The job's argv with `--no-fail-fast` after `cargo test`, so every binary runs.

        Output options are left alone: libtest's default output is what `parse` reads.
        """
        argv = job.argv
        test_index = cargo_test_index(argv)
        if test_index is None or "--no-fail-fast" in _cargo_options(argv, test_index):
            return argv
        return (*argv[: test_index + 1], "--no-fail-fast", *argv[test_index + 1 :])

    def parse(self, log: Path, attempt_dir: Path, job: Job) -> Report:
        """Per-test results from the attempt's log, streamed, and what the log shows did not run."""
        report = parse_libtest(iter_lines(log))
        every_binary = _runs_every_binary(self.command(job, attempt_dir))
        return Report(report.tests, report.unseen(every_binary=every_binary))

    def targeted(self, argv: tuple[str, ...], tests: tuple[str, ...]) -> tuple[str, ...] | None:
        """`cargo test ... -- --exact T1 T2` keeping every option, dropping earlier filters.

        A name's binary qualifier is dropped (`a shared` -> `shared`): `--exact`
        then matches it in every binary that holds it. Each name stays one argv
        element, whatever it holds (quotes, `;`). None when argv is not a `cargo
        test` command, there is nothing to target, a name is a doc test (rustdoc
        splits filters at whitespace) or starts with `-` (libtest would read an
        option): the suite then runs whole.
        """
        test_index = cargo_test_index(argv)
        if test_index is None or not tests or any(map(_is_doc_test, tests)):
            return None
        unique = tuple(dict.fromkeys(map(unqualified, tests)))
        if any(name.startswith("-") for name in unique):
            return None
        head = list(argv[: test_index + 1])
        rest = list(argv[test_index + 1 :])
        if "--" in rest:
            split = rest.index("--")
            cargo_args, libtest_args = rest[:split], rest[split + 1 :]
        else:
            cargo_args, libtest_args = rest, []
        cargo_args = _without_filters(cargo_args, _CARGO_VALUE_OPTIONS)
        libtest_args = [
            arg
            for arg in _without_filters(libtest_args, _LIBTEST_VALUE_OPTIONS)
            if arg != "--exact"
        ]
        return (*head, *cargo_args, "--", *libtest_args, "--exact", *unique)
