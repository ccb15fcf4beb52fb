"""The store's column layout: a slice per (indicator, period, batch), cut where a batch's merge blocks cut it,
and stores written a row per revision moved into slices when opened."""

import sqlite3
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from targetwatch import periods
from targetwatch.store import StagedChunk
from targetwatch.store.sqlite import Scratch, SQLiteStore, pack, slice_rows

T0 = datetime(2023, 7, 10, tzinfo=timezone.utc)
UNITS = [f"u{i:04d}" for i in range(3000)]


def ingest(store, frame, when=T0, digest="h1"):
    frame = frame.assign(row=range(2, 2 + len(frame)), sheet=None, column="value")
    return store.ingest(iter([StagedChunk(good=frame)]), source=f"{digest}.csv", content_hash=digest, reported_at=when)


def month(indicator, values, code=20230606, basis="ytd"):
    return pd.DataFrame({"indicator": indicator, "unit": UNITS[:len(values)], "period": code, "basis": basis, "value": values})


def test_a_slice_cut_by_the_merge_blocks_lands_in_parts_and_reads_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(Scratch, "BLOCK_ROWS", 256)  # 3,000 units of one pair cross many blocks
    monkeypatch.setattr(Scratch, "LEAST_SHARE", 64)
    store = SQLiteStore(tmp_path / "s.db")
    first = np.arange(3000, dtype=float)
    assert ingest(store, pd.concat([month("gdp", first), month("gdp", first + 0.5, basis="period")])).revisions_added == 6000
    parts = store.con.execute("SELECT count(*), count(DISTINCT pair), sum(rows) FROM slice").fetchone()
    assert parts[0] > 1 and parts[1:] == (1, 6000)
    got = store.read(indicators=["gdp"])
    assert len(got) == 6000
    ytd = got[got["basis"] == "ytd"].set_index("unit")["value"]
    assert ytd.loc[UNITS].tolist() == first.tolist()
    assert (got["revision"] == 1).all()


def test_a_later_batch_revises_part_of_a_slice_and_as_of_reads_each_state(store):
    values = np.arange(3000, dtype=float)
    ingest(store, month("gdp", values))
    revised = values.copy()
    revised[::3] += 100  # a third of the units corrected; the rest are unchanged and add nothing
    result = ingest(store, month("gdp", revised), when=T0 + timedelta(days=5), digest="h2")
    assert (result.revisions_added, result.unchanged) == (1000, 2000)
    assert store.con.execute("SELECT rows FROM slice ORDER BY batch").fetchall() == [(3000,), (1000,)]
    latest = store.read().set_index("unit").loc[UNITS]
    assert latest["value"].tolist() == revised.tolist()
    assert latest["revision"].tolist() == [2 if i % 3 == 0 else 1 for i in range(3000)]
    before = store.read(as_of=T0 + timedelta(days=1)).set_index("unit").loc[UNITS]
    assert before["value"].tolist() == values.tolist()
    assert store.revisions("gdp", "u0003")["value"].tolist() == [3.0, 103.0]
    assert store.revisions("gdp", "u0004")["value"].tolist() == [4.0]


def test_slice_rows_number_the_parts_of_a_pair_and_batch():
    key = pack(np.zeros(6, int), np.full(6, 20230606), np.arange(6), np.ones(6, int))
    reported = np.array([10, 10, 20, 20, 30, 30])
    rows = list(slice_rows(key, np.ones(6, int), np.arange(6.0), reported, np.ones(6, int)))
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [(1, 0, 10, 2), (1, 1, 20, 2), (1, 2, 30, 2)]
    assert np.frombuffer(b"".join(r[7] for r in rows)).tolist() == list(range(6))


OLD_LAYOUT = """
CREATE TABLE dim (kind TEXT NOT NULL, name TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (kind, name), UNIQUE (kind, id)) WITHOUT ROWID;
CREATE TABLE batch (id INTEGER PRIMARY KEY, source TEXT NOT NULL, content_hash TEXT NOT NULL, reported_at INTEGER NOT NULL,
    ingested_at INTEGER NOT NULL, rows_read INTEGER, revisions_added INTEGER, unchanged INTEGER, duplicates INTEGER, quarantined INTEGER);
CREATE TABLE observation (key INTEGER NOT NULL, revision INTEGER NOT NULL, value REAL NOT NULL, reported_at INTEGER NOT NULL,
    batch INTEGER NOT NULL, PRIMARY KEY (key, revision)) WITHOUT ROWID;
"""


def test_a_store_written_a_row_per_revision_moves_into_slices_when_opened(tmp_path):
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript(OLD_LAYOUT)
    con.executemany("INSERT INTO dim VALUES (?, ?, ?)", [("indicator", "gdp", 0), ("indicator", "retail", 1),
                                                         ("unit", "daxiang", 0), ("unit", "beita", 1)])
    t1, t2 = int(T0.timestamp()), int((T0 + timedelta(days=9)).timestamp())
    con.executemany("INSERT INTO batch(id, source, content_hash, reported_at, ingested_at) VALUES (?, ?, ?, ?, ?)",
                    [(1, "june.csv", "a", t1, t1), (2, "fix.csv", "b", t2, t2)])
    june = periods.parse("2023-06").code

    def key(ind, unit, basis=1):
        return int(pack(np.array([ind]), np.array([june]), np.array([unit]), np.array([basis]))[0])

    con.executemany("INSERT INTO observation VALUES (?, ?, ?, ?, ?)", [
        (key(0, 0), 1, 10.0, t1, 1), (key(0, 0), 2, 12.5, t2, 2), (key(0, 1), 1, 7.0, t1, 1),
        (key(1, 0, 0), 1, -0.0, t1, 1), (key(1, 1), 1, 3.0, t2, 2)])
    con.commit()
    con.close()

    store = SQLiteStore(path)
    assert store.con.execute("SELECT name FROM sqlite_master WHERE name = 'observation'").fetchone() is None
    assert store.con.execute("PRAGMA freelist_count").fetchone()[0] == 0  # the rows' pages given back
    latest = store.read().sort_values(["indicator", "unit", "basis"])
    assert latest[["indicator", "unit", "basis", "value", "revision", "batch"]].values.tolist() == [
        ["gdp", "daxiang", "ytd", 12.5, 2, 2], ["gdp", "beita", "ytd", 7.0, 1, 1],
        ["retail", "daxiang", "period", 0.0, 1, 1], ["retail", "beita", "ytd", 3.0, 1, 2]]
    assert store.read(as_of=T0 + timedelta(days=1))["value"].tolist() == [10.0, 7.0, 0.0]
    history = store.revisions("gdp", "daxiang")
    assert history[["value", "revision", "source"]].values.tolist() == [[10.0, 1, "june.csv"], [12.5, 2, "fix.csv"]]
    store.close()
    again = SQLiteStore(path)  # opening a moved store again changes nothing
    assert len(again.read()) == 4
    again.close()
