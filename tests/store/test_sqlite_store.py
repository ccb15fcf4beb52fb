"""The embedded store: revisions, as-of reads, idempotence, atomic batches, in-file conflicts."""

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from targetwatch import periods
from targetwatch.store import StagedChunk
from targetwatch.store.sqlite import SQLiteStore

T0 = datetime(2023, 7, 10, tzinfo=timezone.utc)


def chunk(rows):
    frame = pd.DataFrame(rows, columns=["indicator", "unit", "period", "basis", "value"])
    frame["period"] = [periods.parse(p).code for p in frame["period"]]
    frame["row"] = range(2, 2 + len(frame))
    frame["sheet"] = None
    frame["column"] = "value"
    return StagedChunk(good=frame)


def ingest(store, rows, when=T0, source="f.csv", digest="h1"):
    return store.ingest(iter([chunk(rows)]), source=source, content_hash=digest, reported_at=when)


def test_a_new_value_lands_as_revision_one(store):
    res = ingest(store, [("gdp", "daxiang", "2023-Q2", "ytd", 123.4)])
    assert (res.rows_read, res.revisions_added, res.unchanged) == (1, 1, 0)
    got = store.read()
    assert got[["indicator", "unit", "basis", "value", "revision"]].values.tolist() == [["gdp", "daxiang", "ytd", 123.4, 1]]
    assert periods.format_code(got["period"][0]) == "2023-Q2"


def test_reingesting_the_same_values_adds_nothing(store):
    rows = [("gdp", "daxiang", "2023-Q2", "ytd", 123.4), ("gdp", "beita", "2023-Q2", "ytd", 99.0)]
    ingest(store, rows)
    again = ingest(store, rows)
    assert (again.revisions_added, again.unchanged) == (0, 2)
    assert len(store.revisions("gdp", "daxiang")) == 1


def test_a_changed_value_is_a_new_revision_and_the_history_stays(store):
    ingest(store, [("gdp", "daxiang", "2023-Q2", "ytd", 123.4)])
    ingest(store, [("gdp", "daxiang", "2023-Q2", "ytd", 125.0)], when=T0 + timedelta(days=20), source="fix.csv", digest="h2")
    history = store.revisions("gdp", "daxiang")
    assert history["value"].tolist() == [123.4, 125.0]
    assert history["revision"].tolist() == [1, 2]
    assert history["source"].tolist() == ["f.csv", "fix.csv"]
    assert store.read()["value"].tolist() == [125.0]


def test_reingesting_an_old_file_after_its_correction_changes_nothing(store):
    ingest(store, [("gdp", "daxiang", "2023-Q2", "ytd", 123.4)], digest="original")
    ingest(store, [("gdp", "daxiang", "2023-Q2", "ytd", 125.0)], when=T0 + timedelta(days=7), digest="correction")
    again = ingest(store, [("gdp", "daxiang", "2023-Q2", "ytd", 123.4)], digest="original")
    assert (again.revisions_added, again.unchanged) == (0, 1)
    assert store.revisions("gdp", "daxiang")["value"].tolist() == [123.4, 125.0]
    # a new file that reports the old value again is a genuine new revision
    assert ingest(store, [("gdp", "daxiang", "2023-Q2", "ytd", 123.4)], digest="third").revisions_added == 1


def test_reading_as_of_a_past_time_sees_only_what_was_reported_then(store):
    ingest(store, [("gdp", "daxiang", "2023-Q2", "ytd", 123.4)])
    ingest(store, [("gdp", "daxiang", "2023-Q2", "ytd", 125.0)], when=T0 + timedelta(days=20), digest="h2")
    assert store.read(as_of=T0 + timedelta(days=1))["value"].tolist() == [123.4]
    assert store.read(as_of=T0 - timedelta(days=1)).empty


def test_basis_is_part_of_the_key(store):
    ingest(store, [("retail_sales", "daxiang", "2023-06", "ytd", 60.0), ("retail_sales", "daxiang", "2023-06", "period", 11.0)])
    got = store.read().sort_values("basis")
    assert got["basis"].astype(str).tolist() == ["period", "ytd"] and got["value"].tolist() == [11.0, 60.0]


def test_reads_filter_by_indicator_units_and_period_range(store):
    rows = [("retail_sales", u, p, "ytd", float(i)) for i, (u, p) in enumerate(
        [(u, p) for u in ["daxiang", "beita", "wugang"] for p in ["2023-01/02", "2023-03", "2023-04", "2023-05"]])]
    rows.append(("gdp", "daxiang", "2023-Q1", "ytd", 1.0))
    ingest(store, rows)
    got = store.read(indicators=["retail_sales"], units=["daxiang", "beita"],
                     start=periods.parse("2023-03").code, end=periods.parse("2023-04").code)
    assert sorted(zip(got["unit"].astype(str), map(periods.format_code, got["period"]))) == [
        ("beita", "2023-03"), ("beita", "2023-04"), ("daxiang", "2023-03"), ("daxiang", "2023-04")]


def test_the_same_key_twice_with_different_values_is_quarantined_at_both_rows(store):
    res = ingest(store, [("gdp", "daxiang", "2023-Q2", "ytd", 7.0), ("gdp", "beita", "2023-Q2", "ytd", 1.0),
                         ("gdp", "daxiang", "2023-Q2", "ytd", 8.0)])
    assert res.quarantined == 2 and res.revisions_added == 1
    q = store.quarantined()
    assert q["row"].tolist() == [2, 4]
    assert all("different values (7, 8)" in r for r in q["reason"])
    assert store.read()["unit"].astype(str).tolist() == ["beita"]


def test_the_same_key_twice_with_the_same_value_is_a_harmless_duplicate(store):
    res = ingest(store, [("gdp", "daxiang", "2023-Q2", "ytd", 7.0), ("gdp", "daxiang", "2023-Q2", "ytd", 7.0)])
    assert (res.quarantined, res.duplicates, res.revisions_added) == (0, 1, 1)


def test_a_batch_that_fails_half_way_leaves_the_store_as_it_was(store):
    ingest(store, [("gdp", "daxiang", "2023-Q2", "ytd", 1.0)])

    def chunks():
        yield chunk([("gdp", "beita", "2023-Q2", "ytd", 2.0)])
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError):
        store.ingest(chunks(), source="g.csv", content_hash="h9", reported_at=T0)
    assert store.read()["unit"].astype(str).tolist() == ["daxiang"]
    assert store.batches()["source"].tolist() == ["f.csv"]
    # and the store still works afterwards
    assert ingest(store, [("gdp", "beita", "2023-Q2", "ytd", 2.0)], digest="h3").revisions_added == 1


def test_the_store_file_is_created_in_wal_mode(tmp_path):
    s = SQLiteStore(tmp_path / "sub" / "new.db")
    assert s.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()


def test_keys_repeated_across_chunks_and_merge_blocks_are_judged_over_the_whole_file(store, monkeypatch):
    # Each chunk is a sorted run; runs merge a few rows at a time, so a key's rows meet across chunks and blocks.
    # (Every chunk numbers its rows from 2: the conflict lists its values by row.)
    from targetwatch.store.sqlite import Scratch

    monkeypatch.setattr(Scratch, "BLOCK_ROWS", 2)
    monkeypatch.setattr(Scratch, "LEAST_SHARE", 1)
    units = [f"u{i}" for i in range(6)]
    first = [("gdp", u, "2023-Q2", "ytd", float(i)) for i, u in enumerate(units)]
    repeat = [("gdp", u, "2023-Q2", "ytd", float(i)) for i, u in enumerate(units)][::-1]  # same values: duplicates
    conflict = [("gdp", "u3", "2023-Q2", "ytd", 99.0)]
    chunks = [chunk(first), chunk(repeat), chunk(conflict)]
    res = store.ingest(iter(chunks), source="f.csv", content_hash="h", reported_at=T0)
    assert (res.rows_read, res.revisions_added, res.duplicates, res.quarantined) == (13, 5, 5, 3)
    q = store.quarantined()
    assert len(q) == 3 and all("3 times in this file with different values (99, 3, 3)" in r for r in q["reason"])
    assert sorted(store.read()["unit"].astype(str)) == ["u0", "u1", "u2", "u4", "u5"]


def test_one_key_repeated_beyond_a_merge_block_is_still_one_key(store, monkeypatch):
    from targetwatch.store.sqlite import Scratch

    monkeypatch.setattr(Scratch, "BLOCK_ROWS", 4)
    monkeypatch.setattr(Scratch, "LEAST_SHARE", 1)
    rows = [("gdp", "daxiang", "2023-Q2", "ytd", 1.5)] * 40 + [("gdp", "beita", "2023-Q2", "ytd", 2.5)]
    res = store.ingest(iter([chunk(rows[:25]), chunk(rows[25:])]), source="f.csv", content_hash="h", reported_at=T0)
    assert (res.revisions_added, res.duplicates, res.quarantined) == (2, 39, 0)
    assert sorted(store.read()[["unit", "value"]].values.tolist()) == [["beita", 2.5], ["daxiang", 1.5]]


def test_a_batch_landed_by_another_connection_during_the_comparison_is_compared_again(store, tmp_path, monkeypatch):
    # The comparison runs outside the store's lock: a revision another process lands meanwhile must not be lost
    # nor numbered twice.
    ingest(store, [("gdp", "daxiang", "2023-Q2", "ytd", 1.0)], digest="first")
    other = SQLiteStore(tmp_path / "test.db")
    compare = SQLiteStore._compare
    calls = []

    def racing(self, *args, **kwargs):
        calls.append(self)
        if self is store and len(calls) == 1:
            ingest(other, [("gdp", "daxiang", "2023-Q2", "ytd", 2.0)], when=T0 + timedelta(days=1), digest="second")
        return compare(self, *args, **kwargs)

    monkeypatch.setattr(SQLiteStore, "_compare", racing)
    res = ingest(store, [("gdp", "daxiang", "2023-Q2", "ytd", 3.0)], when=T0 + timedelta(days=2), digest="third")
    other.close()
    assert calls.count(store) == 2 and res.revisions_added == 1
    history = store.revisions("gdp", "daxiang")
    assert history[["revision", "value"]].values.tolist() == [[1, 1.0], [2, 2.0], [3, 3.0]]


def test_a_store_that_keeps_changing_fails_the_batch_whole_and_says_why(store, tmp_path, monkeypatch):
    from targetwatch.errors import StoreError

    other = SQLiteStore(tmp_path / "test.db")
    compare = SQLiteStore._compare
    landed = iter(range(100))

    def always_racing(self, *args, **kwargs):
        if self is not store:
            return compare(self, *args, **kwargs)
        ingest(other, [("gdp", "beita", "2023-Q2", "ytd", float(next(landed)))], digest=f"other{next(landed)}")
        return compare(self, *args, **kwargs)

    monkeypatch.setattr(SQLiteStore, "_compare", always_racing)
    with pytest.raises(StoreError, match="the store changed while each of 5 attempts"):
        ingest(store, [("gdp", "daxiang", "2023-Q2", "ytd", 3.0)])
    other.close()
    assert "daxiang" not in set(store.read()["unit"].astype(str))
