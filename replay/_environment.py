"""`environment.json`: where a run happened (host, tools, git), secrets redacted.

Git and tool versions come from small synchronous `sh` calls; a tool that is
missing or slow is recorded as absent, never a reason to fail a run.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping
from typing import Any

from replay._models import Shard
from replay._redact import redact_env

TOOL_TIMEOUT = 5.0
"""Seconds a `git` or `--version` call may take before it is recorded as unavailable."""

TOOLS = ("git", "cargo", "rustc", "go", "pytest")
ENV_PREFIXES = ("CI", "GITHUB_", "GITLAB_", "BUILDKITE", "CIRCLE", "RUST_", "PI_", "VCR_")
"""Environment variables worth keeping for a replay (secrets among them are redacted)."""


def _sh(program: str, *args: str, cwd: str | None = None) -> str | None:
    try:
        import sh

        command = sh.Command(program)
        # _tty_out=False: no pty; _env extends (not replaces) the environment.
        output = command(
            *args,
            _tty_out=False,
            _cwd=cwd,
            _timeout=TOOL_TIMEOUT,
            _env={**os.environ, "LC_ALL": "C"},
            _err_to_out=True,
        )
    except Exception:
        return None
    text = str(output).strip()
    return text.splitlines()[0] if text else None


def git_info(cwd: str) -> dict[str, str | None]:
    """The commit and branch of the repository at `cwd` (None outside a repository)."""
    return {
        "git_sha": _sh("git", "rev-parse", "--short=12", "HEAD", cwd=cwd),
        "git_branch": _sh("git", "rev-parse", "--abbrev-ref", "HEAD", cwd=cwd),
    }


def tool_versions(tools: tuple[str, ...] = TOOLS) -> dict[str, str | None]:
    """`TOOL --version` of each tool found on PATH."""
    import shutil

    return {t: _sh(t, "--version") if shutil.which(t) else None for t in tools}


def environment_document(
    *,
    run_id: str,
    cwd: str,
    env: Mapping[str, str],
    shard: Shard | None,
    profile: str | None,
    parallelism: int,
    tools: Mapping[str, str | None],
    git: Mapping[str, str | None],
) -> dict[str, Any]:
    """The `environment.json` document (pure: every fact is passed in)."""
    kept = {k: v for k, v in env.items() if k.startswith(ENV_PREFIXES)}
    return {
        "schema": "replay.environment.v1",
        "run_id": run_id,
        "host": platform.node(),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": sys.version.split()[0],
        "cwd": cwd,
        "parallelism": parallelism,
        "profile": profile,
        "shard": None
        if shard is None
        else {"kind": shard.kind, "index": shard.index, "total": shard.total, "name": shard.name},
        **git,
        "tools": dict(tools),
        "env": redact_env(kept),
    }
