"""`replay_bundle.json`: the replay commands of a run, one per failed target and one for all.

A superset of upstream's `pi.e2e.replay_bundle.v1`: upstream tooling finds
`one_command_replay`, `failed_suites[]`, `failed_unit_targets[]` and `summary`
where it expects them. The document leaves through the run's redactor: the
commands are joined from masked arguments, the envs keep names, not secrets.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from replay._adapters import get_adapter
from replay._core.chain import failed_tests, rerun_tests, suite_command
from replay._core.redact import PATTERNS, Redactor
from replay._core.summary import summary_redactor
from replay._model.errors import ConfigError
from replay._model.models import Summary, TargetResult

BUNDLE_SCHEMA = "replay.replay_bundle.v1"


def targeted_command(target: TargetResult) -> str | None:
    """The shell-quoted command that runs only the target's failed tests, if the adapter can.

    None when a rerun would run the whole suite (part of it went unrun, or no
    failed test is known).
    """
    tests = rerun_tests(target)
    if not tests:
        return None
    try:
        argv = get_adapter(target.adapter).targeted(target.argv, tests)
    except ConfigError:
        return None
    return shlex.join(argv) if argv is not None else None


def bundle_entry(
    target: TargetResult, config: str | None = None, redactor: Redactor = PATTERNS
) -> dict[str, Any]:
    """One failed target's replay commands (`suite`/`target` key as upstream named them).

    The command is joined from masked arguments: a secret that shell quoting would
    split (`'"'"'`) is masked before it is quoted.
    """
    command = shlex.join(redactor.argv(target.argv))
    key = "target" if target.is_unit else "suite"
    return {
        key: target.name,
        "name": target.name,
        "kind": target.kind,
        "status": target.status.value,
        "exit_code": target.exit_code,
        "argv": list(target.argv),
        "command": command,
        "env": target.env,
        "runner_replay": suite_command(target.name, config),
        "cargo_replay": command,
        "targeted_replay": targeted_command(target),
        "failed_tests": list(failed_tests(target)),
        "root_cause_class": target.root_cause,
        "digest_path": target.digest,
        "log": target.log,
        "quarantined": target.quarantined,
    }


def bundle_document(
    summary: Summary,
    *,
    summary_path: str,
    generated_at: str,
    environment: Mapping[str, Any],
    redactor: Redactor | None = None,
) -> dict[str, Any]:
    """The `replay_bundle.json` document of `summary`, redacted.

    Without the run's `redactor`, the summary's job envs and replay's own
    environment give the secrets (`replay._core.summary.summary_redactor`).
    """
    redactor = summary_redactor(summary) if redactor is None else redactor
    outstanding = summary.outstanding
    suites = [bundle_entry(t, summary.config, redactor) for t in outstanding if not t.is_unit]
    units = [bundle_entry(t, summary.config, redactor) for t in outstanding if t.is_unit]
    shard = summary.shard
    document = {
        "schema": BUNDLE_SCHEMA,
        "compatible_with": "pi.e2e.replay_bundle.v1",
        "generated_at": generated_at,
        "run_id": summary.run_id,
        "correlation_id": summary.correlation_id,
        "source_summary_path": summary_path,
        "one_command_replay": summary.one_command_replay,
        "environment": {
            "profile": summary.profile,
            "shard_kind": shard.kind if shard else "none",
            "shard_index": shard.index if shard else None,
            "shard_total": shard.total if shard else None,
            "git_sha": environment.get("git_sha"),
            "git_branch": environment.get("git_branch"),
            "os": environment.get("os"),
            "env": environment.get("env", {}),
        },
        "failed_suites": suites,
        "failed_unit_targets": units,
        "failed_gates": [
            {
                "gate_id": t.name,
                "gate_name": t.name,
                "reproduce_command": shlex.join(redactor.argv(t.argv)),
            }
            for t in outstanding
            if t.kind == "gate"
        ],
        "summary": {
            "total_targets": len(summary.targets),
            "total_outstanding": len(outstanding),
            "total_failed_suites": len(suites),
            "total_failed_units": len(units),
            "total_failed_gates": sum(1 for t in outstanding if t.kind == "gate"),
            "all_commands_reference_valid_targets": all(t.argv for t in outstanding),
        },
    }
    redacted: dict[str, Any] = redactor.data(document)
    return redacted
