"""How runners print a failure: panic headers, per-test output sections, framing lines.

The formats of cargo test (Rust's panic header, `---- NAME stdout ----`
sections) and go test (`panic: `, `--- FAIL:`), as the digest reads them from
a log. They live with the adapters, which own every runner's output format;
the root-cause module and the log scanner call these patterns rather than
spelling their own.
"""

from __future__ import annotations

import re

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
"""An ANSI colour or cursor sequence (stripped before matching)."""

_THREAD = r"thread '(?P<name>.*?)'(?: \(\d+\))?"
"""A Rust thread in a panic line: its name (cargo names it after the test), maybe its id."""
PANIC_HEADER = re.compile(
    # Rust >= 1.73: `thread 'NAME' (TID) panicked at FILE:LINE:COL:` and the message below;
    # older: `thread 'NAME' panicked at 'MESSAGE', FILE:LINE:COL`.
    rf"^{_THREAD} panicked at "
    r"(?:'(?P<inline>.*)', )?(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<column>\d+):?\s*$"
)
"""A Rust panic header: the thread (cargo names it after the test), where, an old inline message."""
PANIC_START = re.compile(rf"\s*{_THREAD} panicked at (?P<rest>.*)")
"""Any Rust panic line, indented or not: the thread, and the `rest` for a parser to read (where,
or an old inline message that may go on for lines)."""
GO_PANIC = re.compile(r"^panic: ")
"""A Go panic header."""
SECTION = re.compile(r"^---- (?P<name>.+) (?:stdout|stderr) ----$")
"""cargo test's section of one test's captured output."""
FRAMING = re.compile(
    # Lines that only name tests, never say why they failed.
    r"^test .+ \.\.\. (?:ok|FAILED|ignored)\b|^---- .+ (?:stdout|stderr) ----$"
    r"|^\s*--- (?:FAIL|PASS|SKIP): |^=== (?:RUN|PAUSE|CONT|NAME)\b|^error: test failed, to rerun"
    r"|^failures:$|^test result: "
)
"""Lines of cargo and go test that only frame the tests (their names, their verdicts)."""
THREAD_NAME = re.compile(_THREAD)
"""A Rust thread's name in a panic line (cargo names it after the test)."""
BACKTRACE_FRAME = re.compile(r"^\s+\d+: |^\s+at \S.*:\d+(?::\d+)?$")
"""A frame of a Rust backtrace."""
MESSAGE_END = re.compile(
    r"^\s*$|^stack backtrace:|^note: |^test .+ \.\.\. |^thread '|^---- |^failures:$"
)
"""A line that ends the message under a panic header."""
LEFT_RIGHT = re.compile(r"^\s*(?:left|right)\s*:")
"""The `left:` / `right:` lines of a failed `assert_eq!`."""
MARKERS = ("---- ", "failures:", "test result:", "successes:", "thread '", "panic: ")
"""How every line that starts a section or a panic starts: one C call rules the rest out."""
