"""`replay history ingest|flaky|slow|show|new|quarantine`: the flake ledger's questions.

The ledger lives where `--history` says (a file, or a `postgresql://` URL),
else where the config's `[replay.history] path` says, else in
`.replay/history.db` beside the config (or in the current directory).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from replay._cli._text import add_subcommand, safe
from replay._model.errors import ReplayError

DEFAULT_LEDGER = ".replay/history.db"
"""Where the ledger lives when neither `--history` nor the config names a place."""

QUESTIONS = ("ingest", "flaky", "slow", "show", "new", "quarantine")


def add_history_option(parser: argparse.ArgumentParser) -> None:
    """`--history PATH|URL`, shared by `replay history` and the commands that `--record`."""
    parser.add_argument(
        "--history",
        metavar="PATH|URL",
        help="the ledger: a SQLite file or a postgresql:// URL "
        f"(default: [replay.history] path, else {DEFAULT_LEDGER} beside the config)",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `replay history` and its questions."""
    parser = add_subcommand(
        subparsers,
        "history",
        handle,
        description=(
            "A ledger of every recorded run (SQLite by default, PostgreSQL to share "
            "it): ingest summaries (idempotent by run), then ask which tests flake, which are "
            "slow, a test's timeline, which tests are new, and draft quarantine entries."
        ),
    )
    questions = parser.add_subparsers(dest="question", metavar="QUESTION", required=True)
    common = argparse.ArgumentParser(add_help=False)
    add_history_option(common)
    common.add_argument("--config", type=Path, metavar="FILE", help="config file")
    common.add_argument("--json", action="store_true", help="machine output: JSON on stdout")

    ingest = questions.add_parser(
        "ingest", parents=[common], help="record summaries (again: nothing changes)"
    )
    ingest.add_argument("summaries", nargs="+", type=Path, metavar="SUMMARY")
    ingest.add_argument("--commit", help="the commit, when no environment.json says")
    ingest.add_argument("--branch", help="the branch, when no environment.json says")
    ingest.add_argument("--ci-job", help="the CI job, when no environment.json says")

    flaky = questions.add_parser(
        "flaky", parents=[common], help="tests that passed and failed on one commit"
    )
    flaky.add_argument("--since", metavar="AGE", help="only runs this recent, e.g. 30d, 12h")
    flaky.add_argument("--limit", type=int, default=50, metavar="N", help="at most N tests")

    slow = questions.add_parser("slow", parents=[common], help="p50/p90/max per test and suite")
    slow.add_argument("--since", metavar="AGE", help="only runs this recent, e.g. 30d")
    slow.add_argument("--limit", type=int, default=20, metavar="N", help="at most N of each")

    show = questions.add_parser("show", parents=[common], help="one test's timeline")
    show.add_argument("test", metavar="TEST", help="TARGET::TEST, or a target without tests")

    new = questions.add_parser("new", parents=[common], help="tests first seen recently")
    new.add_argument("--since", default="7d", metavar="AGE", help="default: 7d")

    quarantine = questions.add_parser(
        "quarantine", parents=[common], help="draft quarantine entries for the flakiest tests"
    )
    quarantine.add_argument("--since", metavar="AGE", help="only runs this recent, e.g. 30d")
    quarantine.add_argument("--limit", type=int, default=10, metavar="N", help="at most N")
    quarantine.add_argument("--write", type=Path, metavar="FILE", help="add them to this file")
    quarantine.add_argument("--owner", default="unassigned", help="owner of the entries")


def ledger_location(explicit: str | None, config_path: Path | None) -> str:
    """`--history`, else the config's `[replay.history] path`, else the default beside it."""
    if explicit:
        return explicit
    from replay._inputs.config import load_config
    from replay._inputs.locate import find_config

    found = config_path if config_path is not None else find_config(Path.cwd())
    if found is None:
        return DEFAULT_LEDGER
    config = load_config(found)
    if config.history is not None and config.history.path:
        return config.history.path
    return str(Path(config.root) / DEFAULT_LEDGER)


def config_ledger(explicit: str | None, config: Any) -> str:
    """The ledger of a command that has its config loaded: `--history`, else the config's."""
    history = config.history
    if explicit:
        return explicit
    if history is not None and history.path:
        return str(history.path)
    return ledger_location(None, Path(config.path) if config.path else None)


HISTORY_SOURCE = "history"
"""`--durations-from history` / `replay matrix --from history`: durations from the ledger."""


def split_sources(sources: Sequence[Path]) -> tuple[list[Path], bool]:
    """Summary paths, and whether the ledger was named among them (as the word `history`)."""
    paths = [p for p in sources if str(p) != HISTORY_SOURCE]
    return paths, len(paths) != len(sources)


def ledger_durations(location: str, percentile: float | None = None) -> dict[str, float]:
    """Each target's duration from the ledger: the percentile (p90) of its recorded runs."""
    from replay._core.shards import DEFAULT_PERCENTILE, interpolated_percentile
    from replay._store.ledger import is_url, open_ledger

    if not is_url(location) and not os.path.exists(location):
        msg = f"{location}: no history ledger yet for durations; record runs with --record"
        raise ReplayError(msg)
    fraction = DEFAULT_PERCENTILE if percentile is None else percentile
    if not 0.0 <= fraction <= 1.0:
        msg = f"duration percentile must be between 0 and 1, got {fraction!r}"
        raise ReplayError(msg)
    with open_ledger(location) as ledger:
        series = ledger.target_durations(None)
    return {name: interpolated_percentile(d, fraction) for name, d in series.items() if d}


def ledger_prior(location: str, test: str) -> str | None:
    """What the ledger already knows of `test` (a test key or a target), as one line.

    None when there is no ledger file yet or it has no record of `test`: a
    prior is a note, so it never stops `replay flake`.
    """
    from replay._core.flakes import wilson_interval
    from replay._core.ledger import FAILED, PASSED, flip_rate
    from replay._store.ledger import is_url, open_ledger

    if not is_url(location) and not os.path.exists(location):
        return None
    with open_ledger(location) as ledger:
        decided = [o for o in ledger.outcomes([test])[test] if o.status in (PASSED, FAILED)]
        marks = ledger.failure_marks([test])[test]
    if not decided:
        return None
    failed = sum(1 for o in decided if o.status == FAILED)
    low, high = wilson_interval(failed, len(decided))
    common = max(set(marks), key=marks.count) if marks else None
    seen = f"; most common failure: {common}" if common else ""
    return (
        f"history prior for {test}: failed {failed} of {len(decided)} recorded runs "
        f"({failed / len(decided):.0%}, 95% {low:.0%}-{high:.0%}), flip rate "
        f"{flip_rate(decided):.0%}{seen}"
    )


def _emit(document: Any) -> None:
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


def _facts_for(path: Path, args: argparse.Namespace) -> Any:
    """Run facts: environment.json beside the summary, then the command line's."""
    import attrs

    from replay._core.ledger import RunFacts, facts_from_environment
    from replay._model.names import ENVIRONMENT_NAME

    facts = RunFacts()
    environment = path.parent / ENVIRONMENT_NAME
    if environment.is_file():
        try:
            document = orjson.loads(environment.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            document = None  # a broken environment.json costs facts, not the summary
        if isinstance(document, dict):
            facts = facts_from_environment(document)
    given = {
        "commit": getattr(args, "commit", None),
        "branch": getattr(args, "branch", None),
        "ci_job": getattr(args, "ci_job", None),
    }
    return attrs.evolve(facts, **{k: v for k, v in given.items() if v})


def ingest_paths(location: str, paths: Sequence[Path], args: argparse.Namespace) -> list[Any]:
    """Read every summary first (a bad one is refused before anything is written), then ingest."""
    from replay._core.ledger import summary_batch
    from replay._inputs.readers import load_summary
    from replay._store.ledger import open_ledger

    batches = [(str(p), summary_batch(load_summary(p), _facts_for(p, args))) for p in paths]
    with open_ledger(location) as ledger:
        return [ledger.ingest(batch, source) for source, batch in batches]


def _ingest(args: argparse.Namespace, location: str) -> int:
    results = ingest_paths(location, args.summaries, args)
    if args.json:
        import attrs

        _emit([attrs.asdict(r) for r in results])
        return 0
    for r in results:
        what = f"{r.targets} target run(s), {r.results} test result(s)"
        note = "" if r.targets else " (already recorded)"
        print(f"{safe(r.source)}: run {safe(r.run_id)}: {what}{note}")
    return 0


def flaky_tests(ledger: Any, since: str | None) -> list[Any]:
    """The flaky tests in the ledger, flakiest first (only a test that failed can be one)."""
    from replay._core.ledger import flaky_test, rank_flaky

    candidates = ledger.failing_tests(since)
    outcomes = ledger.outcomes(candidates, since)
    marks = ledger.failure_marks(candidates, since)
    found = [flaky_test(test, outcomes[test], marks[test]) for test in candidates]
    return rank_flaky(record for record in found if record is not None)


def _cutoff(args: argparse.Namespace) -> str | None:
    from replay._core.ledger import since_cutoff
    from replay._model.clock import utc_now

    return since_cutoff(getattr(args, "since", None), utc_now())


def _flaky(args: argparse.Namespace, ledger: Any) -> int:
    from replay._model.convert import unstructure

    tests = flaky_tests(ledger, _cutoff(args))[: max(0, args.limit)]
    if args.json:
        _emit(unstructure(tests))
        return 0
    if not tests:
        print("no flaky tests in the ledger")
    for t in tests:
        low, high = t.interval
        print(
            f"{safe(t.test)}: flip rate {t.flip_rate:.0%}, failed {t.failed} of {t.runs} runs "
            f"({t.failure_rate:.0%}, 95% {low:.0%}-{high:.0%}), passed on retry "
            f"{t.retried_passes}x; seen {t.first_seen} .. {t.last_seen}"
        )
        for f in t.fingerprints[:5]:
            print(f"    {f.count}x {safe(f.fingerprint)}")
    return 0


def _slow(args: argparse.Namespace, ledger: Any) -> int:
    from replay._core.ledger import slow_entries
    from replay._model.convert import unstructure

    since = _cutoff(args)
    tests = slow_entries(ledger.test_durations(since), args.limit)
    suites = slow_entries(ledger.target_durations(since), args.limit)
    if args.json:
        _emit({"tests": unstructure(tests), "suites": unstructure(suites)})
        return 0
    for title, entries in (("suites", suites), ("tests", tests)):
        print(f"{title} (p50 / p90 / max, trend):")
        for e in entries:
            change = "" if e.change is None else f" {e.change:+.0%}"
            print(
                f"  {safe(e.name)}: {e.p50:.2f}s / {e.p90:.2f}s / {e.max:.2f}s, "
                f"{e.trend.value}{change} ({e.runs} runs)"
            )
    return 0


def _show(args: argparse.Namespace, ledger: Any) -> int:
    from replay._core.ledger import STATUS_NAMES

    timeline = ledger.timeline(args.test)
    if not timeline:
        msg = f"history: no test {args.test!r} in the ledger; `replay history slow` lists some"
        raise ReplayError(msg)
    rows = [
        {
            "run_id": o.run_id,
            "started_at": o.started_at,
            "commit": o.commit,
            "attempt": o.attempt,
            "status": STATUS_NAMES.get(o.status, str(o.status)),
            "duration": o.duration,
            "fingerprint": o.fingerprint,
        }
        for o in timeline
    ]
    if args.json:
        _emit({"test": args.test, "timeline": rows})
        return 0
    print(f"{safe(args.test)}: {len(rows)} attempt(s)")
    for r in rows:
        duration = "-" if r["duration"] is None else f"{r['duration']:.2f}s"
        mark = f"  {safe(r['fingerprint'])}" if r["fingerprint"] else ""
        print(
            f"  {r['started_at']}  {safe(r['run_id'])}  {r['commit'] or '-'}  "
            f"#{r['attempt']} {r['status']} {duration}{mark}"
        )
    return 0


def _new(args: argparse.Namespace, ledger: Any) -> int:
    from replay._core.ledger import NewTest
    from replay._model.convert import unstructure

    cutoff = _cutoff(args) or ""
    tests = [NewTest(*row) for row in ledger.first_seen(cutoff)]
    if args.json:
        _emit(unstructure(tests))
        return 0
    if not tests:
        print(f"no test first seen in the last {args.since}")
    for t in tests:
        print(f"{safe(t.test)}: first seen {t.first_seen}, {t.runs} run(s), {t.failed} failed")
    return 0


def _quarantine(args: argparse.Namespace, ledger: Any, location: str) -> int:
    from replay._inputs.quarantine import entry_toml, quarantine_entry, write_entry
    from replay._model.clock import local_today

    tests = flaky_tests(ledger, _cutoff(args))[: max(0, args.limit)]
    drafts = []
    for t in tests:
        marks = "; ".join(f"{f.count}x {f.fingerprint}" for f in t.fingerprints[:3])
        entry = quarantine_entry(
            t.test,
            category="unclassified",
            today=local_today(),
            repro=f"replay flake {t.test} --runs 20",
            evidence=f"{location}: flip rate {t.flip_rate:.0%}, failed {t.failed} of {t.runs}"
            f" runs ({t.first_seen} .. {t.last_seen}); {marks}",
            owner=args.owner,
        )
        drafts.append((t.test, entry))
        if args.write is not None:
            write_entry(args.write, t.test, entry)
    if args.json:
        _emit([{"test": test, "entry": entry_toml(entry, test)} for test, entry in drafts])
    else:
        print(
            "\n".join(safe(entry_toml(entry, test)) for test, entry in drafts) or "nothing to draft"
        )
    if args.write is not None and drafts:
        print(f"replay: wrote {len(drafts)} entry(ies) to {args.write}", file=sys.stderr)
    return 0


def handle(args: argparse.Namespace) -> int:
    """Run `replay history QUESTION`."""
    location = ledger_location(args.history, args.config)
    if args.question == "ingest":
        return _ingest(args, location)
    from replay._store.ledger import is_url, open_ledger

    if not is_url(location) and not os.path.exists(location):
        msg = f"{location}: no history ledger yet; record one with `replay history ingest`"
        raise ReplayError(msg)
    with open_ledger(location) as ledger:
        if args.question == "flaky":
            return _flaky(args, ledger)
        if args.question == "slow":
            return _slow(args, ledger)
        if args.question == "show":
            return _show(args, ledger)
        if args.question == "new":
            return _new(args, ledger)
        return _quarantine(args, ledger, location)
