"""The FLAKE-* taxonomy: which lines of a failing attempt point to which kind of flake.

The categories are upstream's (DESIGN.md, "Flake taxonomy"). The rules live in
one table, `RULES`; a config extends it with `flake_rules = { "FLAKE-NET" =
["my regex"] }`. Classification is pure: lines in, a category with its
evidence and a confidence out.

How a category wins, and the confidence:

- a rule matches a line when its regex is found in it (case-insensitive, the
  built-in rules and the config's alike); every category counts its *hits*,
  the distinct matching lines of each failing attempt (a retry loop printing
  "Connection refused" 50 times is one piece of evidence per attempt, not 50);
- `share` = the category's hits / the hits of every category (a line that
  matches two categories counts for both);
- `coverage` = the failing attempts with at least one hit / all failing attempts;
- the winner has the highest share * coverage; ties go to the earlier category
  in `RULES`, which lists the specific causes before the generic ones (a
  timeout is often the *symptom* of a saturated pool or an unreachable host,
  so FLAKE-TIMING comes last);
- `confidence` = share * coverage of the winner, rounded to 3 places: 1.0
  when every failing attempt pointed to it and nothing else matched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import attrs

from replay._model.errors import ConfigError

UNCLASSIFIED = "unclassified"
"""The category of failures no rule matched."""

CATEGORY_PREFIX = "FLAKE-"
"""A config may add categories of its own, as long as they read as flake categories."""

MAX_EVIDENCE = 10
"""Evidence lines kept: enough to convince a reader, short enough for a report."""

MAX_LINE = 4096
"""Only the start of a line is matched, so one giant line cannot stall the rules."""

MAX_LINES_PER_ATTEMPT = 20_000
"""Only an attempt's last lines are read: the rules cost ~50 µs a line, and runners end
with the failures (cargo's `failures:`, pytest's short summary)."""

_MAX_EVIDENCE_LINE = 300


@attrs.frozen
class Rule:
    """One regular expression that points to a category, with why it does."""

    pattern: re.Pattern[str]
    reason: str


@attrs.frozen
class FlakeClassification:
    """The category a flaky target's failures point to, and the lines that say so."""

    category: str
    """A FLAKE-* category, or `unclassified`."""
    confidence: float
    """In [0, 1]: share of the evidence * share of failing attempts (see the module docstring)."""
    evidence: tuple[str, ...] = ()
    """The matching lines of the winning category, deduplicated, in order, at most 10."""
    reasons: tuple[str, ...] = ()
    """The winning category's rules that matched, by their reason."""


def _rule(pattern: str, reason: str) -> Rule:
    return Rule(re.compile(pattern, re.IGNORECASE), reason)


# Precedence on ties is this order: specific causes first, FLAKE-TIMING last. Read-only:
# config rules extend a copy (`compile_rules`), never the table every caller shares.
RULES: Mapping[str, tuple[Rule, ...]] = MappingProxyType(
    {
        "FLAKE-EXT": (
            _rule(
                r"(?:http|status|code)\W{0,3}429\b|\b429 too many|too many requests",
                "HTTP 429: the provider rate-limits",
            ),
            _rule(r"rate[ _-]?limit", "rate limit reached"),
            _rule(
                r"(?:http|status|code)\W{0,3}50[234]\b|service unavailable|bad gateway"
                r"|gateway time-?out|\boverloaded",
                "provider down or overloaded (HTTP 502/503/504)",
            ),
            _rule(
                r"token (?:has |is )?expired|expired (?:access |auth |oauth )?token|invalid_grant"
                r"|\b401 unauthorized",
                "credentials expired",
            ),
            _rule(
                r"(?<!disk )quota (?:exceeded|exhausted)|insufficient_quota|resource_exhausted"
                r"|exceeded (?:your |the )?(?:current )?quota",
                "provider quota exhausted",
            ),
        ),
        "FLAKE-RES": (
            _rule(
                r"cannot allocate memory|out of memory|\bOOM\b|oom[ -]?kill"
                r"|memory allocation of \d+ bytes failed|\bMemoryError\b|ENOMEM",
                "out of memory",
            ),
            _rule(
                r"(?-i:^Killed\b)|signal: 9\b|SIGKILL|exit code 137\b",
                "killed by SIGKILL (usually the OOM killer)",
            ),
            _rule(r"no space left on device|ENOSPC|disk quota exceeded|EDQUOT", "disk full"),
            _rule(r"too many open files|EMFILE|ENFILE", "file descriptors exhausted"),
            _rule(
                r"pool timed out|pool (?:is )?(?:exhausted|saturated|full)"
                r"|timed out waiting for (?:a )?connection from (?:the )?pool"
                r"|connection pool|too many (?:connections|clients)",
                "connection or worker pool saturated",
            ),
            _rule(
                r"resource temporarily unavailable|EAGAIN|failed to spawn thread"
                r"|can't start new thread|cannot fork|fork: retry",
                "process or thread limit reached",
            ),
        ),
        "FLAKE-NET": (
            _rule(
                r"connection ?refused|ECONNREFUSED|os error 111\b", "nothing listening on the port"
            ),
            _rule(
                r"connection ?reset|ECONNRESET|os error 104\b|broken pipe|EPIPE"
                r"|unexpected eof|connection closed (?:before|unexpectedly)",
                "connection dropped",
            ),
            _rule(
                r"address already in use|EADDRINUSE|os error 98\b|AddrInUse",
                "port conflict",
            ),
            _rule(
                r"name or service not known|temporary failure in name resolution"
                r"|nodename nor servname|getaddrinfo|could not resolve host"
                r"|failed to lookup address"
                r"|dns (?:error|lookup|resolution)|no such host|NXDOMAIN",
                "DNS resolution failed",
            ),
            _rule(
                r"network is unreachable|no route to host|ENETUNREACH|EHOSTUNREACH"
                r"|connection timed out|ETIMEDOUT|connect(?:ion)? timeout",
                "host unreachable",
            ),
            _rule(
                r"\bproxy\b.*(?:error|fail|refused|407)|\b407 proxy|tunnel connection failed"
                r"|firewall|certificate verify failed|tls handshake|ssl handshake",
                "proxy, firewall or TLS in the way",
            ),
        ),
        "FLAKE-ENV": (
            _rule(
                r"invalid locale|unsupported locale|setlocale|cannot (?:change|set) locale"
                r"|\bLC_(?:ALL|CTYPE|MESSAGES)\b|locale (?:not found|not supported)",
                "locale",
            ),
            _rule(
                r"time ?zone|\bTZ=|tzdata|zoneinfo|ZoneInfoNotFoundError",
                "timezone",
            ),
            _rule(
                r"command not found|not found in PATH|executable file not found"
                r"|No such file or directory|ENOENT|os error 2\b|ModuleNotFoundError"
                r"|No module named|program not found|is not installed",
                "missing file, tool or dependency",
            ),
            _rule(
                r"file exists|EEXIST|directory not empty|ENOTEMPTY|permission denied|EACCES"
                r"|read-only file system|EROFS|stale file handle|text file busy|lock ?file",
                "leftover or foreign filesystem state",
            ),
            _rule(
                r"environment variable (?:\S+ )?not (?:set|found|present)|\bNotPresent\b"
                r"|\bHOME\b (?:is )?not set",
                "environment variable missing",
            ),
            _rule(
                r"not supported on this platform|unsupported (?:platform|operating system)"
                r"|only supported on (?:linux|macos|windows)",
                "operating system difference",
            ),
        ),
        "FLAKE-LOGIC": (
            _rule(
                r"\bseed\s*[=:]|random seed|\bproptest|minimal failing input|quickcheck"
                r"|falsifying example|PYTHONHASHSEED|--seed\b",
                "depends on a random seed",
            ),
            _rule(
                r"hash ?(?:map|set)? (?:iteration )?order|iteration order|nondeterministic order"
                r"|order(?:ing)? (?:differs|mismatch|is not deterministic)",
                "depends on hash or iteration order",
            ),
            _rule(
                r"\bapprox|epsilon|\bulps?\b|floating[ -]point|relative tolerance|rel_tol|abs_tol"
                r"|assert_relative_eq|assert_abs_diff_eq|\bNaN\b",
                "floating-point comparison",
            ),
            _rule(
                r"data race|deadlock|PoisonError|poisoned|ThreadSanitizer|\bloom\b|already borrowed"
                r"|BorrowMutError|concurrent modification",
                "concurrent data structure",
            ),
        ),
        "FLAKE-TIMING": (
            _rule(
                r"timed? ?out waiting|wait(?:ed|ing)? for .{0,80}timed out|deadline exceeded"
                r"|DEADLINE_EXCEEDED|timed out after|operation timed out|TimeoutError"
                r"|has been running for over \d+ seconds|\btimeout\b|\btimed out\b",
                "timed out waiting",
            ),
            _rule(r"race condition|\braced?\b|lost (?:the )?race", "race"),
            _rule(
                r"\bsleep\b|thread::sleep|time\.sleep|took too long|took longer than"
                r"|too slow|not within|elapsed\s*[<>]",
                "relies on sleeps or elapsed time",
            ),
            _rule(
                r"schedul(?:er|ing)|starv(?:ed|ation)|under load|ci load"
                r"|slow (?:ci|runner|machine)",
                "thread scheduling or machine load",
            ),
        ),
    }
)


def compile_rules(
    extra_rules: Mapping[str, Sequence[str]] | None = None,
    *,
    source: str = "flake_rules",
) -> dict[str, tuple[Rule, ...]]:
    """`RULES` with the config's `flake_rules` added after the built-in rules of each category.

    `source` names where the extra rules came from, for the error message.
    """
    rules = dict(RULES)
    for category, patterns in (extra_rules or {}).items():
        if category not in rules and (
            not category.startswith(CATEGORY_PREFIX) or category == CATEGORY_PREFIX
        ):
            known = ", ".join(RULES)
            msg = (
                f"{source}: unknown category {category!r}; use one of {known} "
                f"or a name of your own that starts with {CATEGORY_PREFIX!r}"
            )
            raise ConfigError(msg)
        if isinstance(patterns, str):
            msg = f"{source}.{category}: expected a list of regular expressions, got a string"
            raise ConfigError(msg)
        added = []
        for pattern in patterns:
            if not pattern:
                msg = f"{source}.{category}: an empty pattern would match every line"
                raise ConfigError(msg)
            try:
                compiled = re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                msg = f"{source}.{category}: invalid regular expression {pattern!r} ({exc})"
                raise ConfigError(msg) from None
            added.append(Rule(compiled, f"config rule {pattern!r}"))
        rules[category] = (*rules.get(category, ()), *added)
    return rules


def classify_flake(
    lines: Sequence[str] | str,
    extra_rules: Mapping[str, Sequence[str]] | None = None,
) -> FlakeClassification:
    """Classify the lines of failing attempts taken together (as one attempt).

    Given one text instead of lines, its lines are used. Prefer
    `classify_attempts` when the attempts are known: it weighs how many of
    them showed the evidence.
    """
    text_lines = lines.splitlines() if isinstance(lines, str) else lines
    return classify_attempts((text_lines,), extra_rules)


def classify_attempts(
    attempts: Sequence[Sequence[str]],
    extra_rules: Mapping[str, Sequence[str]] | None = None,
) -> FlakeClassification:
    """Classify a flaky target from the lines of each of its failing attempts."""
    rules = compile_rules(extra_rules)
    hits: dict[str, int] = dict.fromkeys(rules, 0)
    covered: dict[str, int] = dict.fromkeys(rules, 0)
    evidence: dict[str, dict[str, None]] = {c: {} for c in rules}
    reasons: dict[str, dict[str, None]] = {c: {} for c in rules}
    for attempt in attempts:
        lines = attempt.splitlines() if isinstance(attempt, str) else attempt
        lines = lines[-MAX_LINES_PER_ATTEMPT:]
        seen: dict[str, set[str]] = {c: set() for c in rules}
        for raw in lines:
            line = raw[:MAX_LINE].strip()
            if not line:
                continue
            for category, category_rules in rules.items():
                matched = [r.reason for r in category_rules if r.pattern.search(line)]
                if not matched or line in seen[category]:
                    continue
                seen[category].add(line)
                hits[category] += 1
                evidence[category].setdefault(line[:_MAX_EVIDENCE_LINE], None)
                reasons[category].update(dict.fromkeys(matched))
        for category, lines_seen in seen.items():
            covered[category] += bool(lines_seen)
    total_hits = sum(hits.values())
    if not total_hits:
        return FlakeClassification(category=UNCLASSIFIED, confidence=0.0)
    order = list(rules)

    def score(category: str) -> float:
        return hits[category] / total_hits * covered[category] / len(attempts)

    winner = max(order, key=lambda c: (score(c), -order.index(c)))
    return FlakeClassification(
        category=winner,
        confidence=round(min(1.0, score(winner)), 3),
        evidence=tuple(evidence[winner])[:MAX_EVIDENCE],
        reasons=tuple(reasons[winner]),
    )


CATEGORIES = ("FLAKE-TIMING", "FLAKE-ENV", "FLAKE-NET", "FLAKE-RES", "FLAKE-EXT", "FLAKE-LOGIC")
"""The built-in categories in the taxonomy's own order (DESIGN.md); `RULES` holds their rules."""

if set(CATEGORIES) != set(RULES):  # pragma: no cover - a table edit that forgot one
    msg = "CATEGORIES and RULES name different FLAKE-* categories"
    raise RuntimeError(msg)
