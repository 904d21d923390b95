"""The world of a flake bisection: git, one worktree per probe, the setup command, the state file.

The search and its statistics are pure (`replay._core.bisect`); the flake loop of
a probe is `replay flake`'s own (`replay._cli._bisect` hands it in as `probe`).
Git is asked through small synchronous calls made with `sh` (as DESIGN.md has
small helpers do); the setup command runs as a one-job plan through the
executor, so a Ctrl-C stops its whole process group.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from replay._core.bisect import BisectState, Probe, add_probe, next_commit
from replay._core.flakes import FlakeReport
from replay._inputs.logscan import Logs, runs_logs
from replay._inputs.readers import read_input
from replay._model.convert import loads
from replay._model.errors import InputError, ReplayError
from replay._model.models import Job, Plan
from replay._model.names import BISECT_STATE_NAME, FLAKE_REPORT_NAME
from replay._store.rundir import inside, write_json_atomic

GIT_TIMEOUT = 120.0
"""Seconds a git call may take: a worktree of a large repository is written in seconds."""


def git(repo: Path, *args: str) -> str:
    """`git args` in `repo`: its stdout, stripped; a failure is a `ReplayError` with git's words.

    Through `sh`, imported here (it costs ~100 ms, paid only by a bisection): no terminal, no
    stdin, replay's environment extended with `LC_ALL=C` so git's words are in English.
    """
    import sh

    where = f"git {' '.join(args[:2])} in {repo}"
    try:
        out = sh.Command("git")(
            *args,
            _cwd=str(repo),
            _env={**os.environ, "LC_ALL": "C"},
            _tty_out=False,
            _in="",
            _timeout=GIT_TIMEOUT,
            _encoding="utf-8",
            _decode_errors="replace",
        )
    except sh.ErrorReturnCode as exc:
        text = exc.stderr.decode("utf-8", "replace").strip()
        why = (text.splitlines() or [f"exit code {exc.exit_code}"])[-1]
        msg = f"{where}: {why}"
        raise ReplayError(msg) from None
    except sh.TimeoutException:
        msg = f"{where}: no answer in {GIT_TIMEOUT:.0f} s"
        raise ReplayError(msg) from None
    except (sh.CommandNotFound, OSError) as exc:
        msg = f"{where}: cannot run git ({exc})"
        raise ReplayError(msg) from None
    return str(out).strip()


def toplevel(path: Path) -> Path:
    """The root of the git checkout holding `path`."""
    try:
        return Path(git(path, "rev-parse", "--show-toplevel"))
    except ReplayError:
        msg = f"{path} is not inside a git repository; bisect needs one"
        raise ReplayError(msg) from None


def resolve(repo: Path, rev: str, option: str) -> str:
    """The full commit id of `rev`, or a `ReplayError` naming the option."""
    try:
        return git(
            repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
        )
    except ReplayError:
        msg = f"{option} {rev!r}: not a commit in {repo}"
        raise ReplayError(msg) from None


def commits_between(repo: Path, good: str, bad: str) -> tuple[str, ...]:
    """The first-parent commits after `good` up to `bad`, oldest first."""
    if good == bad:
        msg = "--good and --bad name the same commit; nothing to bisect"
        raise ReplayError(msg)
    try:
        git(repo, "merge-base", "--is-ancestor", good, bad)
    except ReplayError:
        msg = f"--good {good[:12]} is not an ancestor of --bad {bad[:12]}"
        raise ReplayError(msg) from None
    listed = git(repo, "rev-list", "--reverse", "--first-parent", f"{good}..{bad}")
    return tuple(listed.split())


class Worktrees:
    """Detached worktrees of one repository in a private temporary directory, all removed at exit.

    The user's checkout is never touched: only git's worktree list (pruned at the end).
    """

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.root = Path(tempfile.mkdtemp(prefix="replay-bisect-"))
        self.live: list[Path] = []

    def add(self, commit: str) -> Path:
        """A fresh worktree of `commit`."""
        path = self.root / commit[:12]
        git(self.repo, "worktree", "add", "--detach", "--force", str(path), commit)
        self.live.append(path)
        return path

    def remove(self, path: Path) -> None:
        """Remove one worktree (its files and git's record of it); never raises."""
        try:
            git(self.repo, "worktree", "remove", "--force", "--force", str(path))
        except ReplayError:
            shutil.rmtree(path, ignore_errors=True)
        if path in self.live:
            self.live.remove(path)

    def close(self) -> None:
        """Remove every worktree left, the temporary directory, and git's stale records."""
        for path in list(self.live):
            self.remove(path)
        shutil.rmtree(self.root, ignore_errors=True)
        with contextlib.suppress(ReplayError):
            git(self.repo, "worktree", "prune")

    def __enter__(self) -> Worktrees:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def setup_plan(command: str, worktree: Path, timeout: float | None) -> Plan:
    """`--setup CMD` as a one-job plan in `worktree` (a shell line the user typed, run by `sh`)."""
    job = Job(
        id="setup",
        target="setup",
        kind="setup",
        adapter="generic",
        argv=("sh", "-c", command),
        cwd=str(worktree),
        timeout=timeout,
    )
    return Plan(jobs=(job,), parallelism=1, root=str(worktree))


def worktree_config(worktree: Path, relative: Path, current: Path) -> Path:
    """The commit's own config file, else the current one copied in (older commits may lack it)."""
    path = worktree / relative
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(current, path)
    return path


def load_state(out: Path) -> BisectState:
    """The state file in `out`, for `--resume`."""
    path = out / BISECT_STATE_NAME
    if not path.exists():
        msg = f"{path}: no bisection to resume here (start one without --resume)"
        raise InputError(msg)
    return loads(read_input(path, what="bisect state"), BisectState, source=str(path))


def save_state(out: Path, state: BisectState) -> None:
    """Write the state file atomically: a Ctrl-C leaves the previous one or this one."""
    from replay._core.bisect import state_document

    write_json_atomic(out / BISECT_STATE_NAME, state_document(state))


def drive(
    state: BisectState,
    probe: Callable[[BisectState, str], Probe],
    save: Callable[[BisectState], None],
) -> BisectState:
    """Probe commits until the search is done, saving the state after each probe.

    `probe` is the seam: the CLI's runs a flake loop in a worktree, tests hand in
    a fake. An interrupt inside it leaves the state as it was after the last probe.
    """
    while (commit := next_commit(state)) is not None:
        state = add_probe(state, probe(state, commit))
        save(state)
    return state


def probe_logs(out: Path, probe: Probe | None) -> tuple[Logs, Logs]:
    """The (passing, failing) logs of a finished probe, read back through its flake report."""
    if probe is None or probe.run_dir is None:
        return [], []
    run_dir = inside(out, probe.run_dir)
    report_path = run_dir / FLAKE_REPORT_NAME if run_dir else None
    if report_path is None or not report_path.is_file():
        return [], []
    try:
        report = loads(
            read_input(report_path, what="flake report"), FlakeReport, source=str(report_path)
        )
    except ReplayError:
        return [], []
    return runs_logs(report_path.parent, report.runs)
