"""Benchmark the flake ledger: ingest N summaries of M tests against raw sqlite3 executemany.

    python scripts/bench_history.py [--summaries 1000] [--tests 1000]

Both sides store the same rows, one transaction per summary, in WAL mode: the
baseline as text rows into one table without any index beyond its key, the
ledger through `Ledger.ingest` (names and fingerprints interned, idempotency
check). Summaries are built in memory, so JSON parsing is not measured on
either side. Then `history flaky` over the ledger, and its bytes per test row.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _history_support import summary, target

from replay._cli._history import flaky_tests
from replay._core.ledger import Batch, RunFacts, summary_batch
from replay._store.ledger import open_ledger


def _batches(summaries: int, tests: int) -> list[Batch]:
    batches = []
    for i in range(summaries):
        run_id = f"run-{i:05d}"
        started = f"2026-01-{1 + i // 1440:02d}T{i // 60 % 24:02d}:{i % 60:02d}:00.000Z"
        # One test in 50 flakes (fails on every 7th run); the rest pass.
        outcomes = {f"tests/test_m{t // 100}.py::test_{t}": [not (t % 50 == 0 and i % 7 == 0)]
                    for t in range(tests)}  # fmt: skip
        model = summary(run_id, (target("suite", run_id, outcomes, started=started),))
        batches.append(summary_batch(model, RunFacts(commit=f"c{i // 10}")))
    return batches


def _baseline(path: Path, batches: list[Batch]) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(
        "CREATE TABLE results (run TEXT, test TEXT, attempt INTEGER, status INTEGER,"
        " duration REAL, fingerprint TEXT, final INTEGER, retried INTEGER,"
        " PRIMARY KEY (run, test, attempt))"
    )
    start = time.perf_counter()
    for batch in batches:
        rows = [(r[0], r[2], *r[3:]) for r in batch.results]
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def main() -> None:
    """Print the ingest ratio, the `flaky` time and the bytes per row."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--summaries", type=int, default=1000)
    parser.add_argument("--tests", type=int, default=1000)
    args = parser.parse_args()
    batches = _batches(args.summaries, args.tests)
    rows = sum(len(b.results) for b in batches)
    with tempfile.TemporaryDirectory() as tmp:
        base = _baseline(Path(tmp) / "baseline.db", batches)
        location = str(Path(tmp) / "ledger.db")
        with open_ledger(location) as ledger:
            start = time.perf_counter()
            for batch in batches:
                ledger.ingest(batch, "bench")
            ingest = time.perf_counter() - start
        with open_ledger(location) as ledger:
            ledger._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            size = Path(location).stat().st_size
            start = time.perf_counter()
            found = flaky_tests(ledger, None)
            flaky = time.perf_counter() - start
        base_size = (Path(tmp) / "baseline.db").stat().st_size
    print(f"rows: {rows:,} ({args.summaries} summaries x {args.tests} tests)")
    print(f"baseline executemany: {base:.2f}s, {base_size / rows:.1f} bytes/row")
    print(f"ledger ingest:        {ingest:.2f}s, ratio {ingest / base:.2f} (target <= 2)")
    print(f"history flaky:        {flaky:.3f}s, {len(found)} flaky tests (target <= 1 s)")
    print(f"ledger size:          {size / rows:.1f} bytes per test row")


if __name__ == "__main__":
    main()
