"""The flake ledger's storage: one schema on SQLite (a file) or PostgreSQL (a URL).

SQLite goes through the standard library, in WAL mode with a busy timeout, so
two processes can ingest at once (one writes while the other waits) and
readers never block. PostgreSQL goes through `psycopg` 3, imported only when
the location is a `postgresql://` URL. Every ingest is one transaction: a
killed process leaves the ledger as the last commit left it.

The schema carries a version in `meta`; `MIGRATIONS` brings an older ledger
up to date inside a transaction, and a ledger newer than this replay is
refused rather than misread. Names (test keys) and failure fingerprints are
stored once each and referred to by number: a million result rows then cost
tens of bytes each, not hundreds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from replay._core.ledger import FAILED, Batch, Outcome
from replay._model.errors import InputError, ReplayError

SCHEMA_VERSION = 2

BUSY_TIMEOUT_MS = 60_000
"""How long a SQLite writer waits for another one: an ingest of a big summary takes seconds."""

_ID = {"sqlite": "INTEGER PRIMARY KEY", "postgresql": "BIGSERIAL PRIMARY KEY"}
_NO_ROWID = {"sqlite": " WITHOUT ROWID", "postgresql": ""}

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            "CREATE TABLE runs (id {id}, run_id TEXT NOT NULL UNIQUE, started_at TEXT NOT NULL,"
            " status TEXT, commit_sha TEXT, branch TEXT, ci_job TEXT, shard TEXT, host TEXT,"
            " ingested INTEGER NOT NULL DEFAULT 0)",
            "CREATE INDEX runs_started ON runs (started_at)",
            "CREATE TABLE names (id {id}, name TEXT NOT NULL UNIQUE)",
            "CREATE TABLE fingerprints (id {id}, text TEXT NOT NULL UNIQUE)",
            # One row per target execution: its key is what makes an ingest idempotent.
            "CREATE TABLE targets (run INTEGER NOT NULL, target INTEGER NOT NULL,"
            " status TEXT NOT NULL, duration REAL, attempts INTEGER NOT NULL,"
            " PRIMARY KEY (run, target)){no_rowid}",
            "CREATE TABLE results (test INTEGER NOT NULL, run INTEGER NOT NULL,"
            " attempt INTEGER NOT NULL, status INTEGER NOT NULL, duration REAL,"
            " fingerprint INTEGER, final INTEGER NOT NULL, retried INTEGER NOT NULL,"
            " PRIMARY KEY (test, run, attempt)){no_rowid}",
        ),
    ),
    (
        2,
        (
            # Keyed by run first: an ingest appends its rows at the end of the tree (a few
            # pages per summary) instead of touching one page per test (version 1, 3.5x
            # slower). One test's rows are found through the index on test.
            "CREATE TABLE results_by_run (run INTEGER NOT NULL, test INTEGER NOT NULL,"
            " attempt INTEGER NOT NULL, status INTEGER NOT NULL, duration REAL,"
            " fingerprint INTEGER, final INTEGER NOT NULL, retried INTEGER NOT NULL,"
            " PRIMARY KEY (run, test, attempt)){no_rowid}",
            "INSERT INTO results_by_run (run, test, attempt, status, duration, fingerprint,"
            " final, retried) SELECT run, test, attempt, status, duration, fingerprint, final,"
            " retried FROM results",
            "DROP TABLE results",
            "ALTER TABLE results_by_run RENAME TO results",
            "CREATE INDEX results_test ON results (test) WHERE status = 1",
        ),
    ),
)
"""(version, statements): each brings the schema from version - 1 to version."""


def is_url(location: str) -> bool:
    """Whether a `--history` value names a PostgreSQL server rather than a file."""
    return location.startswith(("postgresql://", "postgres://"))


@attrs.frozen
class IngestResult:
    """What one ingest added (zeros: it was all recorded already)."""

    source: str
    run_id: str
    targets: int
    results: int


class Ledger:
    """An open ledger: ingest summaries, read rows for the questions."""

    def __init__(self, connection: Any, dialect: str, location: str) -> None:
        self._db = connection
        self.dialect = dialect
        self.location = location
        self._names: dict[str, int] = {}
        self._marks: dict[str, int] = {}

    # --- plumbing ---------------------------------------------------------------------

    def _sql(self, statement: str) -> str:
        return statement if self.dialect == "sqlite" else statement.replace("?", "%s")

    def _rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._db.execute(self._sql(statement), params)
        return list(cursor.fetchall())

    def _many(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.dialect == "sqlite":
            self._db.executemany(statement, rows)
        else:
            with self._db.cursor() as cursor:
                cursor.executemany(self._sql(statement), rows)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self.dialect == "sqlite":
            self._db.execute("BEGIN IMMEDIATE")  # take the write lock now, not mid-way
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                self._names.clear()  # ids handed out in the rolled-back transaction are void
                self._marks.clear()
                raise
            self._db.execute("COMMIT")
        else:
            try:
                with self._db.transaction():
                    yield
            except BaseException:
                self._names.clear()
                self._marks.clear()
                raise

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema -----------------------------------------------------------------------

    def version(self) -> int:
        """The schema version of the ledger (0: empty)."""
        rows = self._rows("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(rows[0][0]) if rows else 0

    def migrate(self) -> None:
        """Create or upgrade the schema; refuse a ledger written by a newer replay."""
        with self._transaction():
            if self.dialect == "postgresql":
                # Two first ingests at once must not both create the tables.
                self._db.execute("SELECT pg_advisory_xact_lock(7150015)")
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            current = self.version()
            if current > SCHEMA_VERSION:
                msg = (
                    f"{self.location}: ledger schema version {current} is newer than this "
                    f"replay's ({SCHEMA_VERSION}); upgrade replay"
                )
                raise InputError(msg)
            for version, statements in MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements:
                    self._db.execute(
                        statement.format(id=_ID[self.dialect], no_rowid=_NO_ROWID[self.dialect])
                    )
            if current == 0:
                self._db.execute(
                    self._sql("INSERT INTO meta (key, value) VALUES ('schema_version', ?)"),
                    (str(SCHEMA_VERSION),),
                )
            elif current < SCHEMA_VERSION:
                self._db.execute(
                    self._sql("UPDATE meta SET value = ? WHERE key = 'schema_version'"),
                    (str(SCHEMA_VERSION),),
                )

    # --- ingest -----------------------------------------------------------------------

    def _ids(self, table: str, column: str, values: set[str], cache: dict[str, int]) -> None:
        missing = sorted(v for v in values if v not in cache)
        if not missing:
            return
        self._many(
            f"INSERT INTO {table} ({column}) VALUES (?) ON CONFLICT DO NOTHING",  # noqa: S608
            [(v,) for v in missing],
        )
        for start in range(0, len(missing), 500):  # under every SQLite's variable limit
            chunk = missing[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            # Table and column names are this module's constants; values are parameters.
            query = f"SELECT {column}, id FROM {table} WHERE {column} IN ({marks})"  # noqa: S608
            rows = self._rows(query, chunk)
            cache.update((value, number) for value, number in rows)

    def _run_ids(self, batch: Batch) -> dict[str, int]:
        self._many(
            "INSERT INTO runs (run_id, started_at, status, commit_sha, branch, ci_job, shard,"
            " host) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET"
            " status = COALESCE(runs.status, excluded.status),"
            " commit_sha = COALESCE(runs.commit_sha, excluded.commit_sha),"
            " branch = COALESCE(runs.branch, excluded.branch),"
            " ci_job = COALESCE(runs.ci_job, excluded.ci_job),"
            " shard = COALESCE(runs.shard, excluded.shard),"
            " host = COALESCE(runs.host, excluded.host)",
            [attrs.astuple(r) for r in batch.runs],
        )
        names = [r.run_id for r in batch.runs]
        marks = ", ".join("?" * len(names))
        query = f"SELECT run_id, id FROM runs WHERE run_id IN ({marks})"  # noqa: S608
        rows = self._rows(query, names)
        return {run_id: number for run_id, number in rows}

    def ingest(self, batch: Batch, source: str) -> IngestResult:
        """Record a summary's rows in one transaction; executions already recorded are skipped."""
        with self._transaction():
            runs = self._run_ids(batch)
            self._db.execute(
                self._sql("UPDATE runs SET ingested = 1 WHERE run_id = ?"), (batch.summary_run,)
            )
            self._ids("names", "name", {t[1] for t in batch.targets}, self._names)
            recorded: set[tuple[int, int]] = set()
            for number in {runs[t[0]] for t in batch.targets}:
                rows = self._rows("SELECT run, target FROM targets WHERE run = ?", (number,))
                recorded.update((run, target) for run, target in rows)
            fresh = [
                (runs[run_id], self._names[name], status, duration, attempts)
                for run_id, name, status, duration, attempts in batch.targets
                if (runs[run_id], self._names[name]) not in recorded
            ]
            kept = {(run, target) for run, target, *_ in fresh}
            rows = [r for r in batch.results if (runs[r[0]], self._names[r[1]]) in kept]
            self._ids("names", "name", {r[2] for r in rows}, self._names)
            self._ids("fingerprints", "text", {r[6] for r in rows if r[6]}, self._marks)
            self._many(
                "INSERT INTO targets (run, target, status, duration, attempts)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                fresh,
            )
            names, marks = self._names, self._marks
            self._many(
                "INSERT INTO results (test, run, attempt, status, duration, fingerprint, final,"
                " retried) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
                    (names[key], runs[run_id], a, s, d, marks[f] if f else None, fin, ret)
                    for run_id, _, key, a, s, d, f, fin, ret in rows
                ],
            )
        return IngestResult(source, batch.summary_run, len(fresh), len(rows))

    # --- reading ----------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Rows per table (for `history` summaries and tests)."""
        return {
            table: int(self._rows(f"SELECT COUNT(*) FROM {table}")[0][0])  # noqa: S608 - fixed names
            for table in ("runs", "names", "fingerprints", "targets", "results")
        }

    def failing_tests(self, since: str | None) -> list[str]:
        """Tests with a failed attempt (retries too) since `since`: the only ones that can flake."""
        # `status = 1` literally: SQLite then reads the partial index of failed rows only.
        return [
            name
            for (name,) in self._rows(
                "SELECT DISTINCT n.name FROM results r JOIN runs u ON u.id = r.run"  # noqa: S608
                f" JOIN names n ON n.id = r.test WHERE r.status = {FAILED}"
                " AND u.started_at >= ? ORDER BY n.name",
                (since or "",),
            )
        ]

    def _by_test(
        self, tests: Sequence[str], select: str, where: str, params: Sequence[Any]
    ) -> dict[str, list[tuple[Any, ...]]]:
        """Rows of `tests` (`select` columns), in time order, 500 tests per query.

        Names are turned into ids first: the query then walks the runs in time
        order and looks each test up by the results' key (run, test).
        """
        found: dict[str, list[tuple[Any, ...]]] = {test: [] for test in tests}
        ids: dict[int, str] = {}
        names = sorted(found)
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            query = f"SELECT id, name FROM names WHERE name IN ({marks})"  # noqa: S608
            ids.update((number, name) for number, name in self._rows(query, chunk))
        numbers = sorted(ids)
        for start in range(0, len(numbers), 500):
            chunk_ids = numbers[start : start + 500]
            marks = ", ".join("?" * len(chunk_ids))
            # The clauses are this module's constants; values are parameters.
            query = (
                f"SELECT r.test, {select} FROM runs u JOIN results r ON r.run = u.id"  # noqa: S608
                " LEFT JOIN fingerprints f ON f.id = r.fingerprint"
                f" WHERE r.test IN ({marks}) AND {where}"
                " ORDER BY u.started_at, u.run_id, r.attempt"
            )
            for row in self._rows(query, [*chunk_ids, *params]):
                found[ids[row[0]]].append(row[1:])
        return found

    def outcomes(self, tests: Sequence[str], since: str | None = None) -> dict[str, list[Outcome]]:
        """Each of `tests`' final result in each run, in time order (one scan for them all)."""
        rows = self._by_test(
            tests,
            "u.run_id, u.started_at, u.commit_sha, r.status, r.duration, f.text, r.retried,"
            " r.attempt",
            "r.final = 1 AND u.started_at >= ?",
            (since or "",),
        )
        return {
            test: [
                Outcome(run, started, commit, status, duration, mark, bool(retried), attempt)
                for run, started, commit, status, duration, mark, retried, attempt in found
            ]
            for test, found in rows.items()
        }

    def timeline(self, test: str) -> list[Outcome]:
        """Every attempt of `test`, in time order."""
        return [
            Outcome(run, started, commit, status, duration, mark, bool(retried), attempt)
            for run, started, commit, status, duration, mark, retried, attempt in self._by_test(
                [test],
                "u.run_id, u.started_at, u.commit_sha, r.status, r.duration, f.text,"
                " r.retried, r.attempt",
                "1 = 1",
                (),
            )[test]
        ]

    def failure_marks(
        self, tests: Sequence[str], since: str | None = None
    ) -> dict[str, list[str | None]]:
        """The fingerprint of every failed attempt (retries too) of each of `tests`."""
        # `status = 1` literally: SQLite uses the partial index on failed rows only then.
        rows = self._by_test(
            tests, "f.text", f"r.status = {FAILED} AND u.started_at >= ?", (since or "",)
        )
        return {test: [mark for (mark,) in found] for test, found in rows.items()}

    def _durations(self, query: str, since: str | None) -> dict[str, list[float]]:
        """Name -> durations, in the order of `query`'s (name, duration) rows; its one `?` is
        `since`."""
        series: dict[str, list[float]] = {}
        for name, duration in self._rows(query, (since or "",)):
            series.setdefault(name, []).append(float(duration))
        return series

    def test_durations(self, since: str | None) -> dict[str, list[float]]:
        """Final-attempt durations of every test, in time order."""
        return self._durations(
            "SELECT n.name, r.duration FROM results r JOIN runs u ON u.id = r.run"
            " JOIN names n ON n.id = r.test WHERE r.final = 1 AND r.duration IS NOT NULL"
            " AND u.started_at >= ? ORDER BY u.started_at, u.run_id",
            since,
        )

    def target_durations(self, since: str | None) -> dict[str, list[float]]:
        """Durations of every target (suite) execution, in time order."""
        return self._durations(
            "SELECT n.name, t.duration FROM targets t JOIN runs u ON u.id = t.run"
            " JOIN names n ON n.id = t.target WHERE t.duration > 0"
            " AND t.status NOT IN ('not_run', 'skipped')"
            " AND u.started_at >= ? ORDER BY u.started_at, u.run_id",
            since,
        )

    def first_seen(self, since: str) -> list[tuple[str, str, int, int]]:
        """(test, first seen, runs, failed runs) of tests first seen at or after `since`."""
        return [
            (name, first, int(runs), int(failed))
            for name, first, runs, failed in self._rows(
                "SELECT n.name, MIN(u.started_at), COUNT(*),"
                " SUM(CASE WHEN r.status = 1 THEN 1 ELSE 0 END)"
                " FROM results r JOIN runs u ON u.id = r.run JOIN names n ON n.id = r.test"
                " WHERE r.final = 1 GROUP BY n.name HAVING MIN(u.started_at) >= ?"
                " ORDER BY MIN(u.started_at), n.name",
                (since,),
            )
        ]

    def check(self) -> list[str]:
        """Consistency problems: results whose target execution is missing, and the like."""
        problems = []
        if self.dialect == "sqlite":
            problems += [row[0] for row in self._rows("PRAGMA integrity_check") if row[0] != "ok"]
        orphans = self._rows(
            "SELECT COUNT(*) FROM results r WHERE NOT EXISTS (SELECT 1 FROM runs u"
            " WHERE u.id = r.run)"
        )[0][0]
        if orphans:
            problems.append(f"{orphans} result rows belong to no run")
        return problems


def _open_sqlite(path: Path) -> Ledger:
    if path.is_dir():
        msg = f"{path}: is a directory; --history wants a ledger file or a postgresql:// URL"
        raise InputError(msg)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL: a commit survives a killed process (not a power cut), at a fraction
        # of FULL's fsyncs; the ledger is a cache of summaries, which stay the record.
        connection.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        msg = f"{path}: cannot open the history ledger ({exc})"
        raise InputError(msg) from None
    return Ledger(connection, "sqlite", str(path))


def _open_postgresql(url: str) -> Ledger:
    try:
        import psycopg
    except ImportError:
        msg = "a postgresql:// history needs psycopg: pip install 'psycopg'"
        raise ReplayError(msg) from None
    try:
        connection = psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = f"history: cannot connect to the PostgreSQL ledger ({first})"
        raise InputError(msg) from None
    return Ledger(connection, "postgresql", "postgresql ledger")


def open_ledger(location: str) -> Ledger:
    """Open (creating or upgrading) the ledger at a file path or a `postgresql://` URL."""
    ledger = _open_postgresql(location) if is_url(location) else _open_sqlite(Path(location))
    try:
        ledger.migrate()
    except sqlite3.DatabaseError as exc:
        ledger.close()
        msg = f"{location}: not a usable history ledger ({exc})"
        raise InputError(msg) from None
    except BaseException:
        ledger.close()
        raise
    return ledger
