"""The project ledger's revisions: one row per (project, revision) in an SQLite file, read as of a time.

Like observations, every revision of a project is kept and the latest one reported by the as-of time
counts; re-landing an unchanged project adds nothing. The ledger lives in the embedded store's SQLite
file (its own table) whatever the observation backend, since projects are records, not time series.
The observations derived from it and its quarantined rows go through the ordinary :class:`Store`.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pandas as pd

from targetwatch.projects import PROJECT_COLUMNS, STAGES

SCHEMA = """
CREATE TABLE IF NOT EXISTS project_revision (
    project TEXT NOT NULL, revision INTEGER NOT NULL, reported_at INTEGER NOT NULL, source TEXT NOT NULL,
    record TEXT NOT NULL, PRIMARY KEY (project, revision)
) WITHOUT ROWID;
"""


def ledger_path(store, settings) -> Path:
    """The SQLite file of the project ledger: the embedded store's own file, else ``settings.sqlite_path``."""
    return Path(getattr(store, "path", None) or settings.sqlite_path)


class ProjectLedger:
    """Revisions of project records (``targetwatch.projects.PROJECT_COLUMNS``)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.executescript(SCHEMA)

    def land(self, projects: pd.DataFrame, *, source: str, reported_at: datetime) -> tuple[int, int]:
        """Add a revision for each project that is new or changed; return (revisions added, unchanged)."""
        records = {r["project"]: _encode(r) for r in _records(projects)}
        added = unchanged = 0
        self.con.execute("BEGIN IMMEDIATE")
        try:
            latest = dict(self.con.execute(
                "SELECT project, record FROM project_revision p WHERE revision = "
                "(SELECT max(revision) FROM project_revision q WHERE q.project = p.project)"))
            revision = dict(self.con.execute("SELECT project, max(revision) FROM project_revision GROUP BY project"))
            rows = []
            for pid, record in records.items():
                if latest.get(pid) == record:
                    unchanged += 1
                    continue
                rows.append((pid, revision.get(pid, 0) + 1, int(reported_at.timestamp()), source, record))
            self.con.executemany("INSERT INTO project_revision VALUES (?, ?, ?, ?, ?)", rows)
            added = len(rows)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return added, unchanged

    def read(self, as_of: datetime | None = None, units=None) -> pd.DataFrame:
        """The latest revision of every project reported by ``as_of`` (one row per project)."""
        limit = int(as_of.timestamp()) if as_of is not None else 2**62
        rows = self.con.execute(
            "SELECT p.record, p.revision, p.reported_at, p.source FROM project_revision p JOIN "
            "(SELECT project, max(revision) AS revision FROM project_revision WHERE reported_at <= ? GROUP BY project) m "
            "ON p.project = m.project AND p.revision = m.revision ORDER BY p.project", (limit,)).fetchall()
        frame = _decode([json.loads(r[0]) for r in rows])
        frame["revision"] = [r[1] for r in rows]
        frame["reported_at"] = pd.to_datetime([r[2] for r in rows], unit="s", utc=True)
        frame["source"] = [r[3] for r in rows]
        if units is not None:
            frame = frame[frame["unit"].isin(list(units))].reset_index(drop=True)
        return frame

    @staticmethod
    def empty() -> pd.DataFrame:
        """A project frame without rows, with the columns :meth:`read` returns."""
        return _decode([]).assign(revision=pd.Series(dtype="int64"), reported_at=pd.Series(dtype="datetime64[ns, UTC]"),
                                  source=pd.Series(dtype=object))

    def revisions(self, project: str) -> pd.DataFrame:
        """Every revision of one project, oldest first."""
        rows = self.con.execute("SELECT revision, reported_at, source, record FROM project_revision WHERE project = ? "
                                "ORDER BY revision", (project,)).fetchall()
        frame = _decode([json.loads(r[3]) for r in rows])
        frame.insert(0, "revision", [r[0] for r in rows])
        frame["reported_at"] = pd.to_datetime([r[1] for r in rows], unit="s", utc=True)
        frame["source"] = [r[2] for r in rows]
        return frame

    def close(self) -> None:
        self.con.close()


_DATES = [*STAGES, "planned_start", "planned_production"]


def _records(projects: pd.DataFrame) -> list[dict]:
    return projects.reindex(columns=PROJECT_COLUMNS).astype(object).where(projects.reindex(columns=PROJECT_COLUMNS).notna(), None).to_dict("records")


def _encode(record: dict) -> str:
    out = {}
    for key in PROJECT_COLUMNS:
        value = record.get(key)
        if key in _DATES and value is not None:
            value = pd.Timestamp(value).date().isoformat()
        elif isinstance(value, float):
            value = round(value, 6)
        out[key] = value
    return json.dumps(out, ensure_ascii=False, sort_keys=True)


def _decode(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=PROJECT_COLUMNS)
    for col in _DATES:
        frame[col] = pd.to_datetime(frame[col], errors="coerce")
    for col in ("investment", "annual_plan"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    for col in ("funds", "invested"):
        frame[col] = frame[col].map(lambda v: v if isinstance(v, dict) else {})
    return frame
