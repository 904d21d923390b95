"""Queue mode: `replay run --queue URL --queue-name NAME` (a worker) and `replay queue wait`.

Workers on any number of machines drain one plan from a Redis server (see
`replay._exec.queue`); each writes its own run directory and summary. `replay
queue wait` waits until the queue is drained (or every worker is gone) and
writes the merged summary, which chains like any other.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from replay._cli._options import duration_arg
from replay._cli._text import add_subcommand, printable
from replay._model.config import Config
from replay._model.errors import ReplayError
from replay._model.models import Plan, Summary
from replay._model.names import SUMMARY_NAME

DEFAULT_GONE_AFTER = 60.0
"""Seconds `queue wait` gives a queue with work left but no live worker before it gives up."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `replay queue wait`."""
    parser = add_subcommand(
        subparsers,
        "queue",
        _handle,
        description=(
            "Workers run `replay run --queue URL --queue-name NAME`; `replay queue wait` "
            f"waits until that queue is drained and writes DIR/{SUMMARY_NAME}."
        ),
    )
    commands = parser.add_subparsers(dest="queue_command", metavar="COMMAND", required=True)
    wait = commands.add_parser(
        "wait",
        help="wait until the queue is drained (or every worker is gone), write the merged summary",
        description=f"Wait for the queue, then write DIR/{SUMMARY_NAME} from every worker's "
        "results: exit 0 when nothing is outstanding, 1 otherwise (a job no worker finished is "
        "not_run and outstanding).",
    )
    wait.add_argument("--queue", required=True, metavar="URL", help="redis://HOST:PORT/DB")
    wait.add_argument("--queue-name", required=True, metavar="NAME")
    wait.add_argument("--out", type=Path, required=True, metavar="DIR")
    wait.add_argument(
        "--timeout",
        type=duration_arg,
        default=None,
        metavar="DURATION",
        help="give up waiting after this long and merge what is there (default: no limit)",
    )
    wait.add_argument(
        "--gone-after",
        type=duration_arg,
        default=DEFAULT_GONE_AFTER,
        metavar="DURATION",
        help="work left but no live worker for this long: every worker is gone, merge now "
        "(default: 60s)",
    )


def _check_queue_args(args: argparse.Namespace) -> None:
    if args.queue is None or not args.queue_name:
        msg = "--queue URL and --queue-name NAME go together (every worker of a build passes both)"
        raise ReplayError(msg)
    if args.shard is not None or args.shard_index is not None or args.shard_total is not None:
        msg = "--queue replaces sharding: drop --shard/--shard-index/--shard-total"
        raise ReplayError(msg)


def run_worker(plan: Plan, args: argparse.Namespace, config: Config) -> int:
    """`replay run --queue`: be one worker of the named queue; exit by this worker's summary."""
    _check_queue_args(args)
    from replay._cli._history import config_ledger
    from replay._cli._run import plan_durations
    from replay._core.queue_plan import LEASE_SECONDS, QueueKeys
    from replay._exec.queue import Worker, work
    from replay._exec.run import RunOptions, Seams, default_run_dir, exit_code, run_with
    from replay._inputs.readers import load_summary
    from replay._model.clock import utc_now

    previous = load_summary(args.rerun_from) if args.rerun_from is not None else None
    # The queue's order (longest first) takes the durations shards take, the ledger's included.
    durations = plan_durations(args.durations_from, previous, config_ledger(args.history, config))
    run_dir = args.out if args.out is not None else default_run_dir(Path(config.out), utc_now())[0]
    worker = Worker(
        url=args.queue,
        keys=QueueKeys(args.queue_name),
        run_dir=Path(run_dir),
        requeue=args.queue_requeue,
        lease=args.queue_lease or LEASE_SECONDS,
    )
    quiet = args.quiet > 0 or args.json

    def run_job(one: Plan, job_dir: Path) -> Summary:
        options = RunOptions(collect_environment=False)
        summary = run_with(one, job_dir, options, Seams(), backend=args.backend).summary
        if not quiet:
            states = ", ".join(f"{t.name} {t.status.value}" for t in summary.targets)
            print(f"replay: queue {printable(args.queue_name)}: {states}", file=sys.stderr)
        return summary

    summary = work(worker, plan, run_job, durations or None)
    if not quiet:
        ran = len(summary.targets)
        where = printable(str(worker.run_dir / SUMMARY_NAME))
        print(f"replay: worker {worker.name} ran {ran} job(s) → {where}", file=sys.stderr)
    return exit_code(summary)


def _wait(args: argparse.Namespace) -> tuple[bool, str]:
    """Wait for the queue; (drained, why it stopped waiting)."""
    from replay._core.queue_plan import QueueKeys
    from replay._exec.queue import POLL_SECONDS, connect, queue_state

    client = connect(args.queue)
    keys = QueueKeys(args.queue_name)
    started = time.monotonic()
    alone_since: float | None = None
    while True:
        state = queue_state(client, keys)
        if state.drained:
            return True, "drained"
        now = time.monotonic()
        if args.timeout is not None and now - started >= args.timeout:
            return False, "--timeout reached"
        if state.seeded and state.workers == 0:
            alone_since = now if alone_since is None else alone_since
            if now - alone_since >= args.gone_after:
                return False, "every worker is gone"
        else:
            alone_since = None
        time.sleep(POLL_SECONDS)


def _handle(args: argparse.Namespace) -> int:
    from replay._cli._merge import write_merged
    from replay._core.merge import MergeResult
    from replay._core.queue_plan import QueueKeys
    from replay._exec.queue import connect, merged_summary
    from replay._exec.run import exit_code
    from replay._model.clock import utc_now
    from replay._model.names import make_run_id

    _, why = _wait(args)
    summary_path = str(args.out / SUMMARY_NAME)
    client = connect(args.queue)
    merged, missing = merged_summary(
        client, QueueKeys(args.queue_name), run_id=make_run_id(utc_now()), summary_path=summary_path
    )
    write_merged(args.out, MergeResult(summary=merged, sources=()), summary_path)
    outstanding = len(merged.outstanding)
    print(
        f"queue {printable(args.queue_name)} {why}: {len(merged.targets)} targets, "
        f"{outstanding} outstanding ({merged.status.value}) → {printable(summary_path)}"
    )
    if missing:
        shown = ", ".join(printable(m) for m in missing[:10])
        print(f"never finished (not_run): {shown}")
    if merged.one_command_replay:
        print(f"replay all: {printable(merged.one_command_replay)}")
    return exit_code(merged)
