"""`environment.json`: where a run happened (host, tools, git), secrets redacted.

Git and tool versions come from small synchronous calls (a few ms each, asked
in parallel while the jobs run); a tool that is missing or slow (more than
`TOOL_TIMEOUT`) is recorded as absent, never a reason to fail a run.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from replay._core.redact import Redactor
from replay._model.models import Shard

TOOL_TIMEOUT = 5.0
"""Seconds a `git` or `--version` call may take before it is recorded as unavailable."""

TOOLS = ("git", "cargo", "rustc", "go", "pytest")
ADAPTER_TOOLS = {"cargo": ("cargo", "rustc"), "go": ("go",), "pytest": ("pytest",)}
"""The tools worth a `--version` for the runners a plan uses (each call costs 10-300 ms)."""
VERSION_ARGS = {"go": ("version",)}
"""Tools that do not answer `--version`."""
ENV_PREFIXES = ("CI", "GITHUB_", "GITLAB_", "BUILDKITE", "CIRCLE", "RUST_", "PI_", "VCR_")
"""Environment variables worth keeping for a replay (secrets among them are redacted)."""


def _sh(program: str, *args: str, cwd: str | None = None) -> str | None:
    """The first line `program args` prints, or None if it fails or takes too long.

    `subprocess.run`, not `sh`: importing sh costs 60-120 ms and its `_timeout`
    makes every call last at least 100 ms (its timer thread wakes every 0.1 s);
    these probes end a run's critical path when its jobs are quick. The child
    gets replay's environment with `LC_ALL=C`, no terminal and no stdin, and is
    killed after `TOOL_TIMEOUT`.
    """
    try:
        completed = subprocess.run(
            (program, *args),
            cwd=cwd,
            env={**os.environ, "LC_ALL": "C"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=TOOL_TIMEOUT,
            check=True,
        )
    except Exception:  # any failure means "not available", by design
        return None
    text = completed.stdout.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else None


GIT_FACTS = {
    "git_sha": ("rev-parse", "--short=12", "HEAD"),
    "git_branch": ("rev-parse", "--abbrev-ref", "HEAD"),
}


def git_info(cwd: str) -> dict[str, str | None]:
    """The commit and branch of the repository at `cwd` (None outside a repository)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(GIT_FACTS)) as pool:
        answers = pool.map(lambda args: _sh("git", *args, cwd=cwd), GIT_FACTS.values())
        return dict(zip(GIT_FACTS, answers, strict=True))


def tools_for(adapters: tuple[str, ...]) -> tuple[str, ...]:
    """`git` and the tools of the given adapters."""
    return ("git", *(t for a in adapters for t in ADAPTER_TOOLS.get(a, ())))


def tool_versions(tools: tuple[str, ...] = TOOLS) -> dict[str, str | None]:
    """`TOOL --version` of each tool found on PATH, asked in parallel."""
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    found = [t for t in tools if shutil.which(t)]
    with ThreadPoolExecutor(max_workers=max(1, len(found))) as pool:
        answers = pool.map(lambda t: _sh(t, *VERSION_ARGS.get(t, ("--version",))), found)
        versions = dict(zip(found, answers, strict=True))
    return {t: versions.get(t) for t in tools}


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
    redactor: Redactor | None = None,
) -> dict[str, Any]:
    """The `environment.json` document (pure: every fact is passed in), redacted.

    The run's `redactor` also knows the config's and `--env`'s secrets; without
    one, the secrets of `env` itself are masked (by name, value and pattern).
    """
    redactor = Redactor.from_environments(env) if redactor is None else redactor
    kept = {k: v for k, v in env.items() if k.startswith(ENV_PREFIXES)}
    document = {
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
        "env": kept,
    }
    redacted: dict[str, Any] = redactor.data(document)
    return redacted
