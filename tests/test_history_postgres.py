"""The flake ledger on a real PostgreSQL server that the tests start (initdb, pg_ctl)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from _history_support import flaky_series
from _support import replay, spawn

from replay._store.ledger import open_ledger

pytestmark = pytest.mark.slow


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    # Debian and Ubuntu keep the server binaries off PATH.
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def _as_postgres(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; in a root container the tests become `postgres`.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1 and a free port; its URL."""
    pytest.importorskip("psycopg")
    bin_dir = _bin_dir()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is missing in CI: .ci/run should install it")
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    # Not under pytest's base temp: pytest keeps that 0700, out of the postgres user's reach.
    root = Path(tempfile.mkdtemp(prefix="replay-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "replay", "-A", "trust"]),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
    start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log")]
    subprocess.run(_as_postgres([*start, "-w", "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql://replay@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def url(postgres: str) -> str:
    """The server, with an empty ledger."""
    import psycopg

    with psycopg.connect(postgres, autocommit=True) as db:
        for table in ("results", "targets", "names", "fingerprints", "runs", "meta"):
            db.execute(f"DROP TABLE IF EXISTS {table}")
    return postgres


def test_postgres_ingest_is_idempotent_and_finds_the_flaky_test(tmp_path: Path, url: str) -> None:
    """The same questions on PostgreSQL: one flaky test; a second ingest changes nothing."""
    paths = [str(p) for p in flaky_series(tmp_path / "runs", 20)]
    assert 0 == replay(tmp_path, "history", "ingest", "--history", url, *paths).returncode
    with open_ledger(url) as ledger:
        counts = ledger.counts()
    assert 0 == replay(tmp_path, "history", "ingest", "--history", url, *paths).returncode
    with open_ledger(url) as ledger:
        assert counts == ledger.counts()
        assert [] == ledger.check()
    result = replay(tmp_path, "history", "flaky", "--history", url, "--json")
    assert 0 == result.returncode, result.stderr
    flaky = orjson.loads(result.stdout)
    assert ["t::flaky"] == [t["test"] for t in flaky]
    assert (20, 10, 1.0) == (flaky[0]["runs"], flaky[0]["failed"], flaky[0]["flip_rate"])


def test_postgres_concurrent_ingests_lose_nothing(tmp_path: Path, url: str) -> None:
    """Two processes ingest 50 summaries each at once into one server."""
    series = [flaky_series(tmp_path / p, 50, prefix=p) for p in ("a", "b")]
    procs = [
        spawn(tmp_path, "history", "ingest", "--history", url, *map(str, paths)) for paths in series
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert 0 == proc.returncode, err
    with open_ledger(url) as ledger:
        counts = ledger.counts()
    assert (100, 300) == (counts["runs"], counts["results"])


def test_unreachable_server_is_one_line(tmp_path: Path) -> None:
    """A URL nobody answers: exit 2 and one line."""
    pytest.importorskip("psycopg")
    url = f"postgresql://replay@127.0.0.1:{_free_port()}/postgres?connect_timeout=2"
    result = replay(tmp_path, "history", "flaky", "--history", url)
    assert 2 == result.returncode
    assert 1 == len(result.stderr.strip().splitlines())
