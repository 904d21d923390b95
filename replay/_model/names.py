"""Every name in a run directory, spelled once: run files, job and attempt directories.

Pure: a name, or the path of a job's record, is computed here; `_store.rundir`
writes them. A job's directory is named after its suite through `safe_component`,
so no suite name can escape the run directory or take a run file's name.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import PurePosixPath

from replay._model.clock import run_id_stamp

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
MAX_COMPONENT = 120
"""Long names are cut (with a hash) so a directory name stays under common 255-byte limits."""

# The names replay writes at the top of a run directory. A job's directory is named
# after its suite, so a suite called `summary.json` must not get that name.
SUMMARY_NAME = "summary.json"
EVENTS_NAME = "events.jsonl"
ENVIRONMENT_NAME = "environment.json"
BUNDLE_NAME = "replay_bundle.json"
INDEX_NAME = "index.json"
TRIAGE_NAME = "triage_diff.json"
DIAGNOSTICS_NAME = "failure_diagnostics_index.json"
FLAKE_REPORT_NAME = "flake_report.json"
TRACE_NAME = "trace.json"
"""The run's timeline in the Chrome trace-event format (Perfetto, chrome://tracing)."""
REPORT_NAME = "report.html"
"""The run as one self-contained page: verdict, timeline, failures, flaky targets, chain."""
JUNIT_NAME = "junit.xml"
"""The JUnit file the pytest adapter asks pytest to write into each attempt directory."""
WAIVER_AUDIT_NAME = "waiver_audit.json"
QUARANTINE_REPORT_NAME = "quarantine_report.json"
BISECT_REPORT_NAME = "bisect_report.json"
"""`replay bisect`'s report, at the top of its `--out` directory."""
BISECT_STATE_NAME = "bisect_state.json"
"""`replay bisect`'s progress after each probe: what `--resume` continues from."""
BISECT_PROBES_DIR = "probes"
"""`<out>/probes/<NN>-<commit>`: one probe's run directory (its summary and flake report)."""
CARRIED_DIR = "carried"
"""Where a rerun keeps the artifacts of targets it carries from earlier runs."""
LOCK_NAME = ".replay.lock"
"""The run directory's lock: held by the one run writing it, naming that run."""

RUN_FILES = (
    EVENTS_NAME,
    ENVIRONMENT_NAME,
    BUNDLE_NAME,
    INDEX_NAME,
    TRIAGE_NAME,
    DIAGNOSTICS_NAME,
    FLAKE_REPORT_NAME,
    JUNIT_NAME,
    TRACE_NAME,
    REPORT_NAME,
)
"""Run files an earlier run may have left that would pass for this run's: removed at its start.

`summary.json` is not among them: it is replaced atomically at the end, so a run
killed on the way leaves the previous complete summary (a rerun may be reading it).
"""

RESERVED_NAMES = frozenset(
    name.casefold()
    for name in (
        *RUN_FILES,
        SUMMARY_NAME,
        CARRIED_DIR,
        LOCK_NAME,
        WAIVER_AUDIT_NAME,  # `replay audit --out` may share the directory
        QUARANTINE_REPORT_NAME,
    )
)
"""Names no job directory may take (compared case-insensitively, as macOS file systems do)."""

LOG_NAME = "output.log"
"""A job's output, in its attempt directory."""
RESULT_NAME = "result.json"
"""A target's record, `<job>/result.json` (see `result_path`)."""
DIGEST_NAME = "failure_digest.json"
"""A failed target's digest, beside its result (see `digest_path`)."""
ATTEMPT_PREFIX = "attempt-"
"""`<job>/attempt-N`: where retry N keeps its files (attempt 1 uses `<job>` itself)."""
ATTEMPT_DIR = re.compile(re.escape(ATTEMPT_PREFIX) + r"[0-9]+")


def make_run_id(now: datetime) -> str:
    """A run id: UTC timestamp first (sorts by time), then a random suffix (never collides)."""
    # os.urandom, as `secrets.token_hex` reads it: `secrets` imports hashlib (OpenSSL, 3-8 ms).
    return f"{run_id_stamp(now)}-{os.urandom(3).hex()}"


def safe_component(name: str) -> str:
    """`name` as one safe path component: never empty, no separators, no `..`, no leading dot.

    A name that had to change, was too long or is one of the run's own file
    names (`summary.json`, `events.jsonl`, ...) gets a short hash of the
    original so two different names never share a directory. The result is
    its own safe component (applying this twice changes nothing).
    """
    cleaned = _UNSAFE.sub("_", name).lstrip(".")
    if (
        cleaned
        and cleaned == name
        and len(name) <= MAX_COMPONENT
        and name.casefold() not in RESERVED_NAMES
    ):
        return name
    import hashlib  # here: loading OpenSSL costs every start 3-8 ms, and most names are safe

    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    # An empty name (`""`, `..`) must still be a component: joined to the run
    # directory, `""` would be the run directory itself, and `"/result.json"` the root's.
    return f"{cleaned[: MAX_COMPONENT - 9] or '_'}-{digest}"


def attempt_parts(job_id: str, number: int) -> tuple[str, ...]:
    """The path components, under the run directory, of attempt `number` of job `job_id`."""
    # safe_component never gives "", "." or "..": the directory is strictly inside the run's.
    base = safe_component(job_id)
    return (base,) if number == 1 else (base, f"{ATTEMPT_PREFIX}{number}")


def result_path(job_id: str) -> str:
    """`<job>/result.json`: where job `job_id`'s record goes (relative to the run directory)."""
    return f"{safe_component(job_id)}/{RESULT_NAME}"


def digest_path(result: str) -> str:
    """`<job>/failure_digest.json`: the digest beside a target's `result` (run-relative paths)."""
    return f"{PurePosixPath(result).parent.as_posix()}/{DIGEST_NAME}"
