"""The run history of collections, kept in the jobs database beside the store.

Every collection records its run here: the scheduler's, ``targetwatch collect`` and ``targetwatch run``
(one run per collector whose files it read). ``targetwatch jobs`` shows the last run, its result and
its rows from here, and /metrics counts runs, failures and skipped files from here; the scheduler's
own job store (APScheduler's ``apscheduler_jobs`` table) in the same file gives the next run.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pandas as pd

from targetwatch.private import connect_sqlite
from targetwatch.settings import Settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS collector_run (
    id INTEGER PRIMARY KEY, collector TEXT NOT NULL, scheduled_for TEXT, started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, batches INTEGER NOT NULL,
    rows INTEGER NOT NULL, revisions INTEGER NOT NULL, quarantined INTEGER NOT NULL, detail TEXT,
    unchanged INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0
)"""
# rows: read; revisions: new revisions landed; unchanged: rows the store already had; skipped: files
# not read because their content was already ingested.
RUN_COLUMNS = ["collector", "scheduled_for", "started_at", "finished_at", "status", "attempts", "batches",
               "rows", "revisions", "quarantined", "detail", "unchanged", "skipped"]


def jobs_db_path(settings: Settings) -> Path:
    """The jobs database: beside the store file, ``targetwatch.db`` → ``targetwatch.jobs.db``."""
    store = Path(settings.sqlite_path)
    return store.with_name(f"{store.stem}.jobs{store.suffix or '.db'}")


def _connect(path: Path) -> sqlite3.Connection:
    con = connect_sqlite(path, timeout=30, isolation_level=None)
    con.execute(_SCHEMA)
    present = {row[1] for row in con.execute("PRAGMA table_info(collector_run)")}
    for column in ("unchanged", "skipped"):  # jobs databases written before these counters existed
        if column not in present:
            con.execute(f"ALTER TABLE collector_run ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
    return con


def record_run(path: Path, collector: str, *, scheduled_for: datetime | None, started_at: datetime, finished_at: datetime,
               status: str, attempts: int, batches: int = 0, rows: int = 0, revisions: int = 0, quarantined: int = 0,
               detail: str = "", unchanged: int = 0, skipped: int = 0) -> None:
    """Append one run: status is ok, failed or missed."""
    with closing(_connect(path)) as con:
        con.execute(
            f"INSERT INTO collector_run ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))})",
            (collector, scheduled_for.isoformat() if scheduled_for else None, started_at.isoformat(), finished_at.isoformat(),
             status, attempts, batches, rows, revisions, quarantined, detail[:2000], unchanged, skipped),
        )


def run_history(path: Path, collector: str | None = None) -> pd.DataFrame:
    """Every recorded run, oldest first."""
    if not path.exists():
        return pd.DataFrame(columns=RUN_COLUMNS)
    with closing(_connect(path)) as con:
        where, args = ("WHERE collector = ?", (collector,)) if collector else ("", ())
        return pd.read_sql_query(f"SELECT {', '.join(RUN_COLUMNS)} FROM collector_run {where} ORDER BY id", con, params=args)


def next_run_times(path: Path) -> dict[str, datetime]:
    """Next run time of each persisted job, from APScheduler's job table (absent before the first serve)."""
    if not path.exists():
        return {}
    with closing(sqlite3.connect(path, timeout=30)) as con:
        try:
            rows = con.execute("SELECT id, next_run_time FROM apscheduler_jobs").fetchall()
        except sqlite3.OperationalError:
            return {}
    from targetwatch.periods import TZ

    return {job_id: datetime.fromtimestamp(ts, TZ) for job_id, ts in rows if ts is not None}
