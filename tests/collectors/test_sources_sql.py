"""The SQL source: a query and a column mapping, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from collectors.layout import load_collectors
from collectors.sources import collect
from targetwatch.deployment import load_deployment
from targetwatch.errors import SourceError
from tests.collectors.schedule_helpers import write_collector
from tests.conftest import free_port, require, stop

ROWS = [("大祥区", "retail_sales", "2025-08", 101.5), ("双清区", "retail_sales", "2025-08", 88.2),
        ("北塔区", "retail_sales", "2025-08", None), ("火星区", "retail_sales", "2025-08", 3.0)]
QUERY = "SELECT region, code, month, amount FROM monthly ORDER BY id"
MAPPING = "  mapping: {fields: {unit: region, indicator: code, period: month, value: amount}}\n"


def _check_landed(result, store):
    # 北塔区 has no value (NULL = not reported, never zero); 火星区 is not a unit.
    assert (result.rows, result.quarantined) == (2, 1)
    assert sorted(zip(store.read().unit, store.read().value)) == [("daxiang", 101.5), ("shuangqing", 88.2)]
    assert store.quarantined()[["row", "reason"]].values.tolist() == [[4, "unknown unit '火星区'"]]


def test_a_sqlite_query_lands_through_validation(deployment_dir, store):
    db = deployment_dir / "stats.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE monthly (id INTEGER PRIMARY KEY, region TEXT, code TEXT, month TEXT, amount REAL)")
        con.executemany("INSERT INTO monthly (region, code, month, amount) VALUES (?, ?, ?, ?)", ROWS)
    write_collector(deployment_dir, "stats", f"  source: {{kind: sql, url: 'sqlite:///stats.db', query: '{QUERY}'}}\n" + MAPPING)
    dep = load_deployment(deployment_dir)
    result = collect(dep, store, load_collectors(dep.root)[0])
    _check_landed(result, store)
    assert store.batches()["source"].tolist() == [f"sql:sqlite:///{db}#stats"]


def test_a_failing_query_writes_nothing_and_says_why(deployment_dir, store):
    sqlite3.connect(deployment_dir / "stats.db").close()
    write_collector(deployment_dir, "stats", f"  source: {{kind: sql, url: 'sqlite:///stats.db', query: '{QUERY}'}}\n" + MAPPING)
    dep = load_deployment(deployment_dir)
    with pytest.raises(SourceError, match="query failed: OperationalError: no such table: monthly"):
        collect(dep, store, load_collectors(dep.root)[0])
    assert len(store.batches()) == 0


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or ([shutil.which(name)] if shutil.which(name) else [])
    require(bool(found), f"PostgreSQL binary {name!r} is not installed (Debian package postgresql)")
    return found[-1]


@pytest.fixture(scope="module")
def postgres():
    """A real PostgreSQL server on 127.0.0.1 and a free port, in a temporary data folder, stopped by PID."""
    initdb, postgres_bin = _pg_bin("initdb"), _pg_bin("postgres")
    as_user = {"user": "nobody"} if os.geteuid() == 0 else {}  # PostgreSQL refuses to run as root
    root = Path(tempfile.mkdtemp(prefix="tw-pg-"))
    if as_user:
        shutil.chown(root, "nobody")
    data = root / "data"
    subprocess.run([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
                   check=True, capture_output=True, **as_user)
    port = free_port()
    proc = subprocess.Popen([postgres_bin, "-D", str(data), "-p", str(port), "-k", str(root), "-c", "listen_addresses=127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=open(root / "log", "wb"), **as_user)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    engine = sa.create_engine(url)
    deadline = time.monotonic() + 30
    while True:
        try:
            with engine.connect():
                break
        except sa.exc.OperationalError:
            if time.monotonic() > deadline or proc.poll() is not None:
                stop(proc)
                raise RuntimeError((root / "log").read_text())
            time.sleep(0.1)
    yield url, engine
    engine.dispose()
    stop(proc)
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.services
def test_a_postgresql_query_lands_through_validation(deployment_dir, store, postgres, monkeypatch):
    url, engine = postgres
    with engine.begin() as con:
        con.exec_driver_sql("DROP TABLE IF EXISTS monthly")
        con.exec_driver_sql("CREATE TABLE monthly (id serial PRIMARY KEY, region text, code text, month text, amount numeric)")
        for row in ROWS:
            con.exec_driver_sql("INSERT INTO monthly (region, code, month, amount) VALUES (%s, %s, %s, %s)", row)
    monkeypatch.setenv("TW_TEST_STATS_DB", url.replace("postgres@", "postgres:not-needed-but-secret@"))
    write_collector(deployment_dir, "stats", f"  source: {{kind: sql, url_env: TW_TEST_STATS_DB, query: '{QUERY}'}}\n" + MAPPING)
    dep = load_deployment(deployment_dir)
    result = collect(dep, store, load_collectors(dep.root)[0])
    _check_landed(result, store)
    source = store.batches()["source"].tolist()[0]
    assert source == f"sql:{url.replace('postgres@', 'postgres:***@')}#stats" and "not-needed-but-secret" not in source


@pytest.mark.services
def test_the_postgresql_query_runs_read_only(deployment_dir, store, postgres):
    url, _ = postgres
    write_collector(deployment_dir, "stats", f"  source: {{kind: sql, url: '{url}', query: 'DELETE FROM monthly RETURNING region, code, month, amount'}}\n" + MAPPING)
    dep = load_deployment(deployment_dir)
    with pytest.raises(SourceError, match="read-only transaction"):
        collect(dep, store, load_collectors(dep.root)[0])
