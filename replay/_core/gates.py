"""Failing gates of an upstream `full_suite_verdict.json`, and the jobs that replay them.

pi's full-suite gate (`pi.ci.full_suite_gate.v1`) aggregates sub-gates, each
with a status, a blocking flag and usually a `reproduce_command`. The runbook
tells the operator to grep the failing ones out of the file and paste their
commands into a shell; here they are listed, split with `shlex` into argv
lists and turned into ordinary jobs. Nothing read from the file is ever given
to a shell: a command that only makes sense in one (`&&`, `|`, `$VAR`) is
reported as not replayable instead of being run half-way.
"""

from __future__ import annotations

import enum
import re
import shlex
from collections.abc import Iterable
from typing import Any

import attrs

from replay._model.convert import register_enum, structure
from replay._model.errors import InputError
from replay._model.models import Job, _optional_text
from replay._model.names import safe_component

VERDICT_SCHEMAS = ("pi.ci.full_suite_gate.v1", "pi.ci.certification_lane.v1")
"""Upstream documents with a `gates` list of sub-gates (the certification lane adds waivers)."""

_SHELL_OPERATORS = frozenset({"&&", "||", "|", "|&", ";", ";;", "&", ">", ">>", "<", "<<", "&>"})
"""Tokens that mean the command was written for a shell; as argv they would be literal text."""

_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.DOTALL)
"""A leading `NAME=value` word: an environment override, as a shell would read it."""


@register_enum
class GateStatus(str, enum.Enum):
    """A sub-gate's status as upstream writes it."""

    PASS = "pass"  # noqa: S105 - a gate status, not a password
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


@attrs.frozen
class Gate:
    """One sub-gate of the verdict (upstream `SubGate`)."""

    id: str
    name: str
    status: GateStatus
    blocking: bool
    bead: str | None = None
    artifact_path: str | None = None
    detail: str | None = None
    reproduce_command: str | None = attrs.field(default=None, validator=_optional_text)
    """Split into an argv (never given to a shell); a NUL byte is refused when read."""


@attrs.frozen
class GateSummary:
    """Upstream's counts; the certification lane adds keys, which are ignored."""

    total_gates: int
    passed: int
    failed: int
    warned: int
    skipped: int
    blocking_pass: int
    blocking_total: int
    all_blocking_pass: bool


@attrs.frozen
class Verdict:
    """The parts of a full-suite verdict that replay reads."""

    schema: str
    gates: tuple[Gate, ...]
    generated_at: str | None = None
    verdict: str | None = None
    policy: str | None = None
    summary: GateSummary | None = None


@attrs.frozen
class GateFinding:
    """A gate that needs attention, with the argv that replays it (or why there is none)."""

    id: str
    name: str
    blocking: bool
    status: GateStatus
    reproduce_command: str | None
    argv: tuple[str, ...] | None
    """`reproduce_command` split with `shlex`; None when it is absent or cannot be replayed."""
    env: dict[str, str] = attrs.field(factory=dict)
    """Leading `NAME=value` words of the command, which a shell would have exported."""
    reason: str | None = None
    """Why the gate is not replayable (None when `argv` is set)."""
    bead: str | None = None
    detail: str | None = None

    @property
    def blocks(self) -> bool:
        """Whether this gate fails the verdict (every blocking gate must be at `pass`)."""
        return self.blocking and self.status is not GateStatus.PASS

    @property
    def command(self) -> str | None:
        """The replayable command as one line, quoted for a reader (never for a shell)."""
        if self.argv is None:
            return None
        assignments = [f"{k}={shlex.quote(v)}" for k, v in self.env.items()]
        return " ".join([*assignments, shlex.join(self.argv)])


def _known(document: dict[str, Any], cl: type) -> dict[str, Any]:
    """The keys of `document` that `cl` has: upstream adds optional keys at these levels."""
    names = attrs.fields_dict(cl)
    return {k: v for k, v in document.items() if k in names}


def parse_verdict(document: Any, *, source: str) -> Verdict:
    """Structure a parsed verdict document; errors name `source` and the JSON path.

    Extra keys are dropped at the top level and in `summary` (where the
    certification lane adds `lane`, `waiver_audit`, `waived`, ...); a gate
    record must hold upstream's `SubGate` fields and nothing else.
    """
    if not isinstance(document, dict):
        msg = f"{source}: $: expected a JSON object, got {type(document).__name__}"
        raise InputError(msg)
    schema = document.get("schema")
    if schema not in VERDICT_SCHEMAS:
        msg = f"{source}: $.schema: expected one of {', '.join(VERDICT_SCHEMAS)}, got {schema!r}"
        raise InputError(msg)
    top = _known(document, Verdict)
    if isinstance(top.get("summary"), dict):
        top["summary"] = _known(top["summary"], GateSummary)
    verdict = structure(top, Verdict, source=source)
    seen: set[str] = set()
    for i, gate in enumerate(verdict.gates):
        if gate.id in seen:
            msg = f"{source}: $.gates[{i}].id: duplicate gate id {gate.id!r}"
            raise InputError(msg)
        seen.add(gate.id)
    return verdict


_WORD_PART = re.compile(
    r"""(?P<space>[ \t\r\n]+)
    |(?P<plain>[^ \t\r\n'"\\]+)
    |'(?P<single>[^']*)'
    |"(?P<double>[^"\\]*(?:\\.[^"\\]*)*)"
    |\\(?P<escaped>.)
    |(?P<open>['"\\])""",
    re.VERBOSE | re.DOTALL,
)
"""One part of a shell word, as `shlex.split` (POSIX mode) reads it."""

_DOUBLE_ESCAPE = re.compile(r'\\(["\\])')
"""Inside double quotes a backslash escapes only a quote or a backslash."""

_PENDING_ESCAPE = re.compile(r"[^\\]*(?:\\.[^\\]*)*\\", re.DOTALL)
"""Text that ends in a backslash escaping nothing."""


def split_words(command: str) -> list[str]:
    """`shlex.split(command)`, in time linear in its length.

    shlex grows each token one character at a time (`token = token + c`), which
    is quadratic: a 3 MB reproduce_command took over a minute. Same words, same
    `ValueError`s ("No closing quotation", "No escaped character").
    """
    words: list[str] = []
    parts: list[str] = []
    in_word = False
    for match in _WORD_PART.finditer(command):
        kind = match.lastgroup
        if kind == "space":
            if in_word:
                words.append("".join(parts))
                parts, in_word = [], False
            continue
        if kind == "open":
            # shlex names the first problem it meets: an unclosed `"` whose text ends
            # in a lone backslash is, for it, a missing escaped character.
            rest = command[match.end() :]
            lone = match.group() == "\\" or (
                match.group() == '"' and _PENDING_ESCAPE.fullmatch(rest) is not None
            )
            raise ValueError("No escaped character" if lone else "No closing quotation")
        text = match.group(kind or "plain")
        parts.append(_DOUBLE_ESCAPE.sub(r"\1", text) if kind == "double" else text)
        in_word = True
    if in_word:
        words.append("".join(parts))
    return words


def split_command(command: str | None) -> tuple[tuple[str, ...] | None, dict[str, str], str | None]:
    """`(argv, env, reason)` for a reproduce command; `argv` is None when it cannot be replayed."""
    if command is None:
        return None, {}, "the verdict gives no reproduce_command"
    try:
        words = split_words(command)
    except ValueError as exc:
        return None, {}, f"reproduce_command cannot be split ({exc})"
    env: dict[str, str] = {}
    first = 0
    while first < len(words) and _ASSIGNMENT.fullmatch(words[first]):
        name, _, value = words[first].partition("=")
        env[name] = value
        first += 1
    words = words[first:]
    if not words:
        return None, {}, "reproduce_command names no program"
    for word in words:
        if word in _SHELL_OPERATORS or word.startswith(("$", "`")):
            reason = f"reproduce_command needs a shell ({word!r}); replay runs argv lists only"
            return None, {}, reason
    return tuple(words), env, None


def _finding(gate: Gate) -> GateFinding:
    """`gate` as a finding: its own fields (all but `artifact_path`), and how to replay it."""
    argv, env, reason = split_command(gate.reproduce_command)
    shared = _known(attrs.asdict(gate, recurse=False), GateFinding)
    return GateFinding(**shared, argv=argv, env=env, reason=reason)


def failing_gates(verdict: Verdict, *, include_warn: bool = False) -> tuple[GateFinding, ...]:
    """The gates that need attention, in the verdict's order.

    A gate fails when its status is `fail`, or when it is blocking and not
    `pass` (upstream's `all_blocking_pass` counts only `pass`, so a blocking
    gate left at `skip` fails the verdict). With `include_warn`, non-blocking
    `warn` gates are listed too.
    """
    selected = []
    for gate in verdict.gates:
        fails = gate.status is GateStatus.FAIL or (
            gate.blocking and gate.status is not GateStatus.PASS
        )
        if fails or (include_warn and gate.status is GateStatus.WARN):
            selected.append(_finding(gate))
    return tuple(selected)


def _adapter(argv: tuple[str, ...]) -> str:
    return "cargo" if argv[:2] == ("cargo", "test") else "generic"


def gate_jobs(findings: Iterable[GateFinding]) -> tuple[Job, ...]:
    """One job per replayable finding; the job id is the gate id made a safe directory name."""
    jobs = []
    used: set[str] = set()
    for finding in findings:
        if finding.argv is None:
            continue
        base = job_id = safe_component(finding.id)
        suffix = 2
        while job_id in used:
            job_id = f"{base}-{suffix}"
            suffix += 1
        used.add(job_id)
        jobs.append(
            Job(
                id=job_id,
                target=finding.id,
                kind="gate",
                adapter=_adapter(finding.argv),
                argv=finding.argv,
                env=dict(finding.env),
            )
        )
    return tuple(jobs)
