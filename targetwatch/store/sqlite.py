"""The embedded store: one SQLite file in WAL mode, created on first use.

Each observation key (indicator, period, unit, basis) is packed into one 64-bit integer whose high
bits are the indicator and then the period:

    key = ((indicator_id * 2**16 + period_index) * 2**20 + unit_id) * 2 + basis
    pair = key >> 21   (one indicator's one period: the "slice")

Observations are stored by column, a slice at a time, as a time-series database stores chunks: a row of the
``slice`` table holds the revisions one batch gave for one (indicator, period), its units, revision numbers
and values each in one little-endian blob. A batch of 5 M rows is a few thousand table rows, so landing it
costs a copy of its bytes instead of millions of B-tree inserts, and a read of a period's 40,000 units is
three ``frombuffer`` calls. Every revision is kept; readers take the highest revision reported by their
as-of time.

A batch stages its rows as runs sorted by key in a scratch file beside the store (constant memory, whatever
the file size), merges the runs block by block in key order to find the keys the file gives twice with
different values and the values the store already holds, writes only the new revisions to a scratch file,
and lands them in one transaction: a process killed half-way leaves the store exactly as before the batch.
The comparison runs outside the store's lock; if another connection lands a batch meanwhile, it is made again.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from targetwatch.errors import StoreError
from targetwatch.model import Basis
from targetwatch.private import connect_sqlite, create_private, private_umask
from targetwatch.store import READ_COLUMNS, BatchResult, StagedChunk

_UNIT_BITS, _PERIOD_BITS = 20, 16
_BASES = [Basis.period.value, Basis.ytd.value]  # basis bit: 0 当月, 1 累计

SCHEMA = """
CREATE TABLE IF NOT EXISTS dim (
    kind TEXT NOT NULL, name TEXT NOT NULL, id INTEGER NOT NULL,
    PRIMARY KEY (kind, name), UNIQUE (kind, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batch (
    id INTEGER PRIMARY KEY, source TEXT NOT NULL, content_hash TEXT NOT NULL,
    reported_at INTEGER NOT NULL, ingested_at INTEGER NOT NULL,
    rows_read INTEGER, revisions_added INTEGER, unchanged INTEGER, duplicates INTEGER, quarantined INTEGER
);
-- A rowid table: its rows are mostly blob, which SQLite advises against keeping in a WITHOUT ROWID B-tree.
CREATE TABLE IF NOT EXISTS slice (
    pair INTEGER NOT NULL, batch INTEGER NOT NULL, part INTEGER NOT NULL,
    reported_at INTEGER NOT NULL, rows INTEGER NOT NULL,
    unit_basis BLOB NOT NULL, revision BLOB NOT NULL, value BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS slice_order ON slice (pair, batch, part);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, source TEXT NOT NULL, content_hash TEXT NOT NULL,
    sheet TEXT, row INTEGER, "column" TEXT, reason TEXT NOT NULL, raw TEXT
);
-- NULLs are distinct in a plain UNIQUE constraint; a file-level entry (no row) must be unique too.
CREATE UNIQUE INDEX IF NOT EXISTS quarantine_once ON quarantine
    (content_hash, ifnull(sheet, ''), ifnull(row, -1), ifnull("column", ''), reason);
"""


def period_index(codes: np.ndarray) -> np.ndarray:
    """Period code → a dense index that sorts like the code: (year-1900)*144 + (first-1)*12 + (last-1)."""
    c = np.asarray(codes, dtype=np.int64)
    return (c // 10000 - 1900) * 144 + (c // 100 % 100 - 1) * 12 + (c % 100 - 1)


def period_code(index: np.ndarray) -> np.ndarray:
    i = np.asarray(index, dtype=np.int64)
    return (i // 144 + 1900) * 10000 + (i % 144 // 12 + 1) * 100 + (i % 12 + 1)


def pack(ind: np.ndarray, period: np.ndarray, unit: np.ndarray, basis: np.ndarray) -> np.ndarray:
    return ((ind.astype(np.int64) << _PERIOD_BITS | period_index(period)) << _UNIT_BITS | unit) << 1 | basis


_PAIR_SHIFT = _UNIT_BITS + 1  # key >> _PAIR_SHIFT is the (indicator, period) pair; the low bits are unit and basis
_UNIT_BASIS, _REVISION, _VALUE = np.dtype("<i4"), np.dtype("<i4"), np.dtype("<f8")  # the blobs of a slice
_SLICE_COLUMNS = "pair, batch, reported_at, rows, unit_basis, revision, value"
_INSERT_SLICE = "INSERT INTO slice(pair, batch, part, reported_at, rows, unit_basis, revision, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def slice_rows(key: np.ndarray, revision: np.ndarray, value: np.ndarray, reported_at: np.ndarray, batch: np.ndarray) -> Iterator[tuple]:
    """Rows of the ``slice`` table holding these revisions: one per (pair, batch, report time), units ascending.

    Every revision of a pair must be given in one call (the parts are numbered here)."""
    key = np.asarray(key, dtype=np.int64)
    if not len(key):
        return
    pair = key >> _PAIR_SHIFT
    order = np.lexsort((revision, key, reported_at, batch, pair))
    key, revision, value = key[order], np.asarray(revision)[order], np.asarray(value, dtype=np.float64)[order]
    pair, batch, reported_at = pair[order], np.asarray(batch)[order], np.asarray(reported_at)[order]
    new = np.r_[True, (pair[1:] != pair[:-1]) | (batch[1:] != batch[:-1]) | (reported_at[1:] != reported_at[:-1])]
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(key)]
    part = _position_in_run(np.r_[True, (pair[starts][1:] != pair[starts][:-1]) | (batch[starts][1:] != batch[starts][:-1])])
    unit_basis = (key & ((1 << _PAIR_SHIFT) - 1)).astype(_UNIT_BASIS)
    revision, value = revision.astype(_REVISION), value.astype(_VALUE)
    for a, b, p in zip(starts.tolist(), ends.tolist(), part.tolist()):
        yield (int(pair[a]), int(batch[a]), p, int(reported_at[a]), b - a,
               unit_basis[a:b].tobytes(), revision[a:b].tobytes(), value[a:b].tobytes())


def _position_in_run(first: np.ndarray) -> np.ndarray:
    """0, 1, 2, … within each run of elements that ``first`` (True where a run starts) marks: a part's number."""
    index = np.arange(len(first))
    return index - np.maximum.accumulate(np.where(first, index, 0))


_HELD_COLUMNS = ("key", "revision", "value", "reported_at", "batch")


def _exploded(rows: list[tuple]) -> dict[str, np.ndarray]:
    """Columns (key, revision, value, reported_at, batch) of fetched slice rows, sorted by key and revision."""
    if not rows:
        return {c: np.empty(0, dtype=np.float64 if c == "value" else np.int64) for c in _HELD_COLUMNS}
    pair, batch, reported_at, n = (np.fromiter((r[i] for r in rows), dtype=np.int64, count=len(rows)) for i in range(4))
    out = {
        "key": np.repeat(pair << _PAIR_SHIFT, n) | np.frombuffer(b"".join(r[4] for r in rows), dtype=_UNIT_BASIS),
        "revision": np.frombuffer(b"".join(r[5] for r in rows), dtype=_REVISION).astype(np.int64),
        "value": np.frombuffer(b"".join(r[6] for r in rows), dtype=_VALUE),
        "reported_at": np.repeat(reported_at, n),
        "batch": np.repeat(batch, n),
    }
    key = out["key"]
    if len(key) > 1 and not (key[1:] > key[:-1]).all():  # a pair revised by several batches
        order = np.lexsort((out["revision"], key))
        out = {c: v[order] for c, v in out.items()}
    return out


_MIGRATION_PAIRS = 64  # (indicator, period) pairs moved at once from the row layout: at most 64 × the units in memory


class SQLiteStore:
    """The embedded backend of :class:`targetwatch.store.Store`."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.con = connect_sqlite(self.path, isolation_level=None, timeout=30)  # 0600 from birth, -wal/-shm too
        self.con.execute("PRAGMA synchronous=FULL")  # a committed batch survives a crash
        self.con.execute("PRAGMA temp_store=FILE")  # staging spills to disk: memory stays flat
        self.con.execute("PRAGMA cache_size=-65536")  # 64 MB, whatever the file size
        self.con.executescript(SCHEMA)
        Scratch.remove_stale(self.path)
        self._dims: dict[str, dict[str, int]] = {"indicator": {}, "unit": {}}
        self._load_dims()
        self._migrate_rows_to_slices()

    def _migrate_rows_to_slices(self) -> None:
        """Move a store written a row per revision (``observation``, before slices) into slices, in one transaction."""
        has_rows = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'observation'"
        if self.con.execute(has_rows).fetchone() is None:
            return
        self.con.execute("BEGIN IMMEDIATE")
        try:
            if self.con.execute(has_rows).fetchone() is not None:  # not moved meanwhile by another connection
                first, last = self.con.execute("SELECT min(key), max(key) FROM observation").fetchone()
                step = _MIGRATION_PAIRS << _PAIR_SHIFT  # whole pairs, a bounded number at a time, whatever the store's size
                for lo in range(0 if first is None else first >> _PAIR_SHIFT << _PAIR_SHIFT, -1 if last is None else last + 1, step):
                    rows = self._rows("SELECT key, revision, value, reported_at, batch FROM observation WHERE key BETWEEN ? AND ?",
                                      (lo, lo + step - 1), _HELD_COLUMNS)
                    self.con.executemany(_INSERT_SLICE, slice_rows(*(rows[c] for c in _HELD_COLUMNS)))
                self.con.execute("DROP TABLE observation")
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("VACUUM")  # once: give back the pages of the rows, about half the file

    # -- dimensions ----------------------------------------------------------------------------------

    def _load_dims(self) -> None:
        for kind, name, id_ in self.con.execute("SELECT kind, name, id FROM dim"):
            self._dims.setdefault(kind, {})[name] = id_

    def _dim_ids(self, kind: str, names: Iterable[str]) -> dict[str, int]:
        """Ids for names, adding new ones in a short transaction of their own.

        Another process may add names at the same time: ids are taken from the table under the write
        lock, never from this process's cache. A dimension row without observations is harmless.
        """
        table = self._dims[kind]
        new = [n for n in names if n not in table]
        if not new:
            return table
        limit = 1 << (_UNIT_BITS if kind == "unit" else 63 - 1 - _UNIT_BITS - _PERIOD_BITS)
        self.con.execute("BEGIN IMMEDIATE")
        try:
            for name in new:
                self.con.execute(
                    "INSERT OR IGNORE INTO dim(kind, name, id) "
                    "SELECT ?, ?, (SELECT ifnull(max(id) + 1, 0) FROM dim WHERE kind = ?)", (kind, name, kind))
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self._load_dims()
        table = self._dims[kind]
        if len(table) > limit:
            raise StoreError(f"too many {kind}s for the embedded store (limit {limit})")
        return table

    def _names(self, kind: str) -> np.ndarray:
        table = self._dims[kind]
        out = np.empty(len(table), dtype=object)
        for name, id_ in table.items():
            out[id_] = name
        return out

    # -- writing -------------------------------------------------------------------------------------

    def ingest(self, chunks: Iterable[StagedChunk], *, source: str, content_hash: str, reported_at: datetime) -> BatchResult:
        reported = int(reported_at.timestamp())
        staged = BatchResult(batch=0, source=source, changed={})  # packed pair → (indicator, period) while staging
        cells: dict[tuple[str, str], int] = {}
        # Stage the whole file into scratch files first (each chunk a run sorted by key), compare it with what the
        # store holds, then land it in one short transaction. A crash at any point leaves the store as it was.
        with Scratch(self.path) as scratch:
            for chunk in chunks:
                self._stage(scratch, chunk.good, cells, staged)
                scratch.add_bad(chunk.bad)
            for _ in range(_LANDING_ATTEMPTS):
                result = BatchResult(batch=0, source=source, rows_read=staged.rows_read)
                # Compared outside the store's lock, so the comparison reads committed batches only; a batch another
                # connection lands meanwhile changes the data version, and the comparison is made again.
                version = self.con.execute("PRAGMA data_version").fetchone()[0]
                comparison = self._compare(scratch, cells, content_hash)
                scratch.close_loader()  # the store's connection reads the scratch database only once nothing writes it
                self.con.execute("ATTACH DATABASE ? AS scratch", (str(scratch.path),))
                try:
                    if self._land(comparison, scratch, version, result, source=source, content_hash=content_hash, reported=reported):
                        # The (indicator, period) pairs that got a new revision, named as the staged rows named them.
                        named = staged.changed
                        result.changed = (frozenset(named[p] for p in comparison.changed)
                                          if all(p in named for p in comparison.changed) else None)
                        return result
                finally:
                    self.con.execute("DETACH DATABASE scratch")
                scratch.open_loader(fresh=True)
        raise StoreError(f"{source}: the store changed while each of {_LANDING_ATTEMPTS} attempts to land this batch compared it")

    def _land(self, comparison: "_Comparison", scratch: "Scratch", version: int, result: BatchResult, *, source: str, content_hash: str,
              reported: int) -> bool:
        """Land a compared batch in one transaction; False (nothing landed) when the store changed since the comparison."""
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            if con.execute("PRAGMA data_version").fetchone()[0] != version:
                con.execute("ROLLBACK")
                return False
            result.batch = batch_id = con.execute(
                "INSERT INTO batch(source, content_hash, reported_at, ingested_at) VALUES (?, ?, ?, ?)",
                (source, content_hash, reported, int(time.time())),
            ).lastrowid
            if comparison.has_bad:
                self._quarantine_staged(batch_id, source, content_hash, result)
            self._quarantine(comparison.conflicts, batch_id, source, content_hash, result)
            result.duplicates, self._staged = comparison.duplicates, comparison.staged
            self._merge(batch_id, reported, result, scratch)
            con.execute(
                "UPDATE batch SET rows_read=?, revisions_added=?, unchanged=?, duplicates=?, quarantined=? WHERE id=?",
                (result.rows_read, result.revisions_added, result.unchanged, result.duplicates, result.quarantined, batch_id),
            )
            con.execute("COMMIT")
            return True
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _stage(self, scratch: "Scratch", good: pd.DataFrame, cells: dict[tuple[str, str], int], result: BatchResult) -> None:
        if good.empty:
            return
        result.rows_read += len(good)
        ind = self._ids_of("indicator", good["indicator"])
        unit = self._ids_of("unit", good["unit"])
        basis = self._ids_of_names(good["basis"], {b: i for i, b in enumerate(_BASES)})
        keys = pack(ind, good["period"].to_numpy(np.int64), unit, basis)
        # A (sheet, column) pair per row, as a small integer: the quarantine needs it only for conflicts.
        sheet_codes, sheets = pd.factorize(good["sheet"])  # categorical or not; no sheet (a CSV) is -1, named ""
        sheets = [str(name) for name in sheets] + [""]
        col_codes, columns = pd.factorize(good["column"])
        width = max(len(columns), 1)
        pair_codes, pair_uniques = pd.factorize(np.where(sheet_codes < 0, len(sheets) - 1, sheet_codes).astype(np.int64) * width + col_codes)
        local = np.empty(len(pair_uniques), dtype=np.int64)
        for j, combined in enumerate(pair_uniques):
            local[j] = cells.setdefault((sheets[combined // width], str(columns[combined % width])), len(cells))
        # Each chunk is a run sorted by key (stable: file order within a key); the runs are merged at landing.
        order = np.argsort(keys, kind="stable")
        pairs = keys[order] >> _PAIR_SHIFT  # (indicator, period) packed, sorted: distinct in one pass
        first = order[np.flatnonzero(np.r_[True, pairs[1:] != pairs[:-1]])]
        result.changed.update(zip((keys[first] >> _PAIR_SHIFT).tolist(),
                                  zip([str(i) for i in good["indicator"].to_numpy(dtype=object)[first]],
                                      good["period"].to_numpy(np.int64)[first].tolist())))
        scratch.add_run(keys[order], good["value"].to_numpy(np.float64)[order], good["row"].to_numpy(np.int64)[order],
                        local[pair_codes][order])

    def _ids_of(self, kind: str, names: pd.Series) -> np.ndarray:
        """Dimension ids for a column of names, looking each distinct name up once."""
        codes, uniques = pd.factorize(names)
        table = self._dim_ids(kind, [str(u) for u in uniques])
        return np.array([table[str(u)] for u in uniques], dtype=np.int64)[codes]

    @staticmethod
    def _ids_of_names(names: pd.Series, table: dict[str, int]) -> np.ndarray:
        codes, uniques = pd.factorize(names)
        return np.array([table.get(str(u), 0) for u in uniques], dtype=np.int64)[codes]

    def _quarantine(self, bad: pd.DataFrame, batch_id: int, source: str, content_hash: str, result: BatchResult) -> None:
        if bad is None or bad.empty:
            return
        rows = bad.reindex(columns=["sheet", "row", "column", "reason", "raw"]).astype(object).where(bad.notna(), None)
        for reason in rows["reason"]:
            key = str(reason).split(":")[0]
            result.reasons[key] = result.reasons.get(key, 0) + 1
        # Rows, not cells: a row of a wide sheet whose unit is unknown is one quarantined row (as listed).
        result.quarantined += len(rows[["sheet", "row"]].drop_duplicates()) if rows["row"].notna().all() else len(rows)
        self.con.executemany(
            'INSERT OR IGNORE INTO quarantine(batch, source, content_hash, sheet, row, "column", reason, raw) '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(batch_id, source, content_hash, *(None if v is None else (int(v) if i == 1 else str(v)) for i, v in enumerate(r)))
             for r in rows.itertuples(index=False, name=None)],
        )

    def _quarantine_staged(self, batch_id: int, source: str, content_hash: str, result: BatchResult) -> None:
        """Move the bad rows staged in the scratch database into the quarantine, in SQL (memory stays flat)."""
        for reason, count in self.con.execute("SELECT reason, count(*) FROM scratch.bad GROUP BY reason"):
            key = str(reason).split(":")[0]
            result.reasons[key] = result.reasons.get(key, 0) + count
        # Rows, not cells (see _quarantine); a file-level entry has no row and counts once.
        result.quarantined += self.con.execute(
            "SELECT count(*) FROM (SELECT DISTINCT ifnull(sheet, ''), ifnull(row, -rowid) FROM scratch.bad)").fetchone()[0]
        self.con.execute(
            'INSERT OR IGNORE INTO quarantine(batch, source, content_hash, sheet, row, "column", reason, raw) '
            'SELECT ?, ?, ?, sheet, row, "column", reason, raw FROM scratch.bad ORDER BY rowid',
            (batch_id, source, content_hash),
        )

    def _compare(self, scratch: "Scratch", cells: dict[tuple[str, str], int], content_hash: str) -> "_Comparison":
        """Merge the staged runs in key order, block by block: set aside the keys the file gives with different
        values (every row of them, for the quarantine), and stage in the scratch the revisions that change
        what the store holds."""
        same_file = np.array([b for (b,) in self.con.execute("SELECT id FROM batch WHERE content_hash = ?", (content_hash,))],
                             dtype=np.int64)
        by_cell = {v: k for k, v in cells.items()}
        out = _Comparison(has_bad=scratch.has_bad)
        conflicts = []
        for block in scratch.merged():
            key, value = block["key"], block["value"]
            first = np.ones(len(key), dtype=bool)
            first[1:] = key[1:] != key[:-1]
            group = np.cumsum(first) - 1
            starts = np.flatnonzero(first)
            # A key given twice with different values (IS NOT: 0.0 and -0.0 are the same value) conflicts.
            conflict = np.bincount(group, weights=value != value[starts][group], minlength=len(starts)) > 0
            out.duplicates += len(key) - len(starts)
            if conflict.any():
                rows = conflict[group]
                conflicts.append(_conflicting(block[rows], group[rows], by_cell))
                # Only the rows counted as read leave; the duplicates counter keeps the harmless repeats.
                out.duplicates -= int(rows.sum()) - int(conflict.sum())
            keep = starts[~conflict]
            out.staged += len(keep)
            new_key, new_revision, new_value = self._changes(key[keep], value[keep], same_file)
            out.changed.update(np.unique(new_key >> _PAIR_SHIFT).tolist())
            scratch.add_new(new_key, new_revision, new_value)
        out.conflicts = pd.concat(conflicts, ignore_index=True) if conflicts else None
        return out

    def _changes(self, key: np.ndarray, value: np.ndarray, same_file: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The new revisions among distinct sorted keys and their values: a key the store lacks, or whose latest
        value differs. The same file again never reasserts a value that a later correction replaced."""
        if not len(key):
            return key, key, value
        held = self._held(key)
        last = np.ones(len(held["key"]), dtype=bool)
        last[:-1] = held["key"][1:] != held["key"][:-1]
        latest_key, latest_rev, latest_value = held["key"][last], held["revision"][last], held["value"][last]
        previous = np.zeros(len(key), dtype=np.int64)
        changed = np.ones(len(key), dtype=bool)
        if len(latest_key):
            at = np.minimum(np.searchsorted(latest_key, key), len(latest_key) - 1)
            found = latest_key[at] == key
            previous[found] = latest_rev[at][found]
            changed = ~found | (latest_value[at] != value)
            if len(same_file) and (found & changed).any():
                mine = np.isin(held["batch"], same_file)
                reasserted = pd.MultiIndex.from_arrays([key, value]).isin(
                    pd.MultiIndex.from_arrays([held["key"][mine], held["value"][mine]]))
                changed &= ~(found & reasserted)
        return key[changed], previous[changed] + 1, value[changed]

    def _held(self, key: np.ndarray) -> dict[str, np.ndarray]:
        """Every revision the store holds for the distinct sorted ``key``s (and maybe a few more), by key and revision.

        Read by ranges of (indicator, period) slices, which a file covers densely."""
        prefix = key >> _PAIR_SHIFT
        cut = np.flatnonzero(np.diff(prefix) > 1) + 1
        lows, highs = prefix[np.r_[0, cut]], prefix[np.r_[cut - 1, len(prefix) - 1]]
        return self._slices(list(zip(lows.tolist(), highs.tolist())), None)

    def _slices(self, pair_ranges: Sequence[tuple[int, int]], as_of_s: int | None) -> dict[str, np.ndarray]:
        """Every revision stored in these ranges of pairs (reported by ``as_of_s``), by key and revision."""
        sql = f"SELECT {_SLICE_COLUMNS} FROM slice WHERE pair BETWEEN ? AND ?"
        if as_of_s is not None:
            sql += " AND reported_at <= ?"
        rows: list[tuple] = []
        for lo, hi in pair_ranges:
            rows += self.con.execute(sql + " ORDER BY pair, batch, part", (lo, hi) if as_of_s is None else (lo, hi, as_of_s)).fetchall()
        return _exploded(rows)

    def _merge(self, batch_id: int, reported: int, result: BatchResult, scratch: "Scratch") -> None:
        """Land the new revisions staged by :meth:`_compare`, a slice at a time."""
        self.con.executemany(_INSERT_SLICE, scratch.new_slices(batch_id, reported))
        result.revisions_added = scratch.new_rows
        result.unchanged = self._staged - scratch.new_rows

    # -- reading -------------------------------------------------------------------------------------

    def _pair_ranges(self, indicators: Sequence[str] | None, start: int | None, end: int | None) -> list[tuple[int, int]]:
        ids = self._dims["indicator"]
        wanted = list(ids.values()) if indicators is None else [ids[i] for i in indicators if i in ids]
        p_lo = int(period_index(np.array([start]))[0]) if start else 0
        p_hi = int(period_index(np.array([end]))[0]) if end else (1 << _PERIOD_BITS) - 1
        return [((i << _PERIOD_BITS) | p_lo, (i << _PERIOD_BITS) | p_hi) for i in sorted(wanted)]

    def _rows(self, sql: str, params: Sequence, columns: Sequence[str]) -> np.ndarray:
        """The rows of a query as one structured array, streamed from the cursor (no list of rows in between).

        The store's own connection on purpose: a second SQLite library in this process (ADBC links its own) on
        the same file would not see this connection's POSIX locks, which SQLite documents as a way to corrupt it."""
        dtype = np.dtype([(c, "<f8" if c == "value" else "<i8") for c in columns])
        return np.fromiter(self.con.execute(sql, params), dtype=dtype)

    def read(self, indicators=None, units=None, start=None, end=None, as_of=None) -> pd.DataFrame:
        as_of_s = int(as_of.timestamp()) if as_of is not None else (1 << 62)
        rows = self._slices(self._pair_ranges(indicators, start, end), as_of_s)
        key = rows["key"]
        if not len(key):
            return _empty_read()
        # Ordered by key, revision: the last row of each key is its latest revision as of then.
        latest = np.ones(len(key), dtype=bool)
        latest[:-1] = key[1:] != key[:-1]
        if not latest.all():
            rows = {c: v[latest] for c, v in rows.items()}
        return self._decode(pd.DataFrame(rows, copy=False), units)

    def _decode(self, frame: pd.DataFrame, units: Sequence[str] | None) -> pd.DataFrame:
        key = frame["key"].to_numpy(np.int64)
        basis = key & 1
        unit = key >> 1 & ((1 << _UNIT_BITS) - 1)
        pidx = key >> _PAIR_SHIFT & ((1 << _PERIOD_BITS) - 1)
        ind = key >> (_PAIR_SHIFT + _PERIOD_BITS)
        if (len(unit) and unit.max() >= len(self._dims["unit"])) or (len(ind) and ind.max() >= len(self._dims["indicator"])):
            self._load_dims()  # names another connection added since this one loaded them
        unit_names, ind_names = self._names("unit"), self._names("indicator")
        out = pd.DataFrame(
            {
                "indicator": pd.Categorical.from_codes(ind, categories=ind_names) if len(ind_names) else ind,
                "unit": pd.Categorical.from_codes(unit, categories=unit_names) if len(unit_names) else unit,
                "period": period_code(pidx),
                "basis": pd.Categorical.from_codes(basis, categories=_BASES),
                "value": frame["value"].to_numpy(),
                "revision": frame["revision"].to_numpy(),
                "reported_at": pd.to_datetime(frame["reported_at"].to_numpy(), unit="s", utc=True),
                "batch": frame["batch"].to_numpy(),
            }
        )
        if units is not None:
            out = out[out["unit"].isin(list(units))]
        return out.reset_index(drop=True)[READ_COLUMNS]

    def revisions(self, indicator: str, unit: str, period: int | None = None) -> pd.DataFrame:
        ind_id, unit_id = self._dims["indicator"].get(indicator), self._dims["unit"].get(unit)
        if ind_id is None or unit_id is None:
            return pd.DataFrame(columns=[*READ_COLUMNS, "source"])
        rows = self._slices(self._pair_ranges([indicator], period, period), None)
        mine = (rows["key"] >> 1 & ((1 << _UNIT_BITS) - 1)) == unit_id
        frame = pd.DataFrame({c: v[mine] for c, v in rows.items()})
        batches = sorted(set(frame["batch"].tolist()))
        sources = dict(self.con.execute(f"SELECT id, source FROM batch WHERE id IN ({', '.join('?' * len(batches))})", batches))
        out = self._decode(frame, None)
        out["source"] = frame["batch"].map(sources).to_numpy()
        return out

    def quarantined(self, source: str | None = None) -> pd.DataFrame:
        sql = 'SELECT q.source AS file, q.sheet, q.row, q."column", q.reason, q.raw, q.batch, b.ingested_at FROM quarantine q JOIN batch b ON b.id = q.batch'
        params: tuple = ()
        if source:
            sql += " WHERE q.source = ?"
            params = (source,)
        frame = pd.read_sql_query(sql + " ORDER BY q.id", self.con, params=params)
        frame["ingested_at"] = pd.to_datetime(frame["ingested_at"], unit="s", utc=True)
        return frame

    def batches(self) -> pd.DataFrame:
        frame = pd.read_sql_query("SELECT * FROM batch ORDER BY id", self.con)
        for col in ("reported_at", "ingested_at"):
            frame[col] = pd.to_datetime(frame[col], unit="s", utc=True)
        return frame

    def close(self) -> None:
        self.con.close()


class Scratch:
    """Per-batch scratch files beside the store: the staged rows as sorted runs in a binary file, the new
    revisions in another (column blobs in waiting), the bad rows in a scratch database filled by ADBC's bulk
    load from Arrow.

    The files are removed when the batch ends; files left by a killed process are removed on the next open.
    Memory stays flat: a run is merged a bounded block at a time, and the new revisions are read back a piece at a time.
    """

    RUN = np.dtype([("key", "<i8"), ("value", "<f8"), ("row", "<i8"), ("cell", "<i8")])
    NEW = np.dtype([("unit_basis", _UNIT_BASIS), ("revision", _REVISION), ("value", _VALUE)])
    BLOCK_ROWS = 1 << 18  # rows of all runs held at once while merging (8 MB)
    LEAST_SHARE = 1024  # rows of each run read at once, however many runs: runs × this is held, so it stays small

    def __init__(self, store_path: Path):
        self.path = store_path.parent / f".{store_path.name}.staging-{os.getpid()}-{uuid.uuid4().hex[:8]}.db"
        self.runs_path = Path(f"{self.path}.runs")
        self.new_path = Path(f"{self.path}.new")
        self.has_bad = False
        self.new_rows = 0
        self._new_pieces: list[np.ndarray] = []  # (pair, first record, records) of each piece of a slice
        self.runs: list[tuple[int, int]] = []  # (first record, records) of each sorted run
        self._records = 0
        self._con = self._runs = self._new = None

    def __enter__(self) -> "Scratch":
        create_private(self.path)
        create_private(self.runs_path)
        create_private(self.new_path)
        self._runs = open(self.runs_path, "r+b")
        self._new = open(self.new_path, "r+b")
        self.open_loader(fresh=False)
        return self

    def open_loader(self, fresh: bool) -> None:
        """Open the ADBC connection that loads the scratch database (``fresh``: the new revisions start over)."""
        if fresh:
            self.new_rows, self._new_pieces = 0, []
            self._new.truncate(0)
        import adbc_driver_sqlite.dbapi as adbc

        with private_umask():  # its journal too
            self._con = adbc.connect(str(self.path), autocommit=True)
        with self._con.cursor() as cur:  # a throwaway file: no journal, no sync (a crash removes it anyway)
            cur.execute("PRAGMA journal_mode=OFF")
            cur.execute("PRAGMA synchronous=OFF")

    def close_loader(self) -> None:
        """Close the loading connection: ADBC links its own SQLite, which must not hold the file while the store's reads it."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def _load(self, table: str, data: pa.Table, exists: bool) -> None:
        with self._con.cursor() as cur:
            cur.adbc_ingest(table, data, mode="append" if exists else "create")

    def add_run(self, key: np.ndarray, value: np.ndarray, row: np.ndarray, cell: np.ndarray) -> None:
        """Append one run of staged rows, sorted by key."""
        run = np.empty(len(key), dtype=self.RUN)
        run["key"], run["value"], run["row"], run["cell"] = key, value, row, cell
        self._runs.seek(self._records * self.RUN.itemsize)
        run.tofile(self._runs)
        self.runs.append((self._records, len(run)))
        self._records += len(run)

    def _read(self, start: int, count: int) -> np.ndarray:
        self._runs.seek(start * self.RUN.itemsize)
        return np.fromfile(self._runs, dtype=self.RUN, count=count)

    def merged(self) -> Iterator[np.ndarray]:
        """The staged rows of every run in key order, in blocks that never split a key; within a key, in the
        order the rows were staged (runs in order, each sorted stably)."""
        self._runs.flush()
        share = max(self.BLOCK_ROWS // max(len(self.runs), 1), self.LEAST_SHARE)
        empty = np.empty(0, dtype=self.RUN)
        held = [empty] * len(self.runs)
        read = [0] * len(self.runs)  # records of each run read so far
        want = [share] * len(self.runs)
        while True:
            for r, (start, count) in enumerate(self.runs):
                if len(held[r]) < want[r] and read[r] < count:
                    more = self._read(start + read[r], min(want[r] - len(held[r]), count - read[r]))
                    read[r] += len(more)
                    held[r] = np.concatenate([held[r], more]) if len(held[r]) else more
            if not any(len(h) for h in held):
                return
            # Keys below the smallest last key of a run not read to its end are complete in what is held.
            open_runs = [r for r, (_, count) in enumerate(self.runs) if read[r] < count]
            bound = min(held[r]["key"][-1] for r in open_runs) if open_runs else None
            cuts = [len(h) if bound is None else int(np.searchsorted(h["key"], bound, side="left")) for h in held]
            if not any(cuts):  # a run holds the bound key beyond its share: read more of those runs
                for r in open_runs:
                    if held[r]["key"][-1] == bound:
                        want[r] *= 2
                continue
            block = np.concatenate([h[:c] for h, c in zip(held, cuts) if c])
            held = [h[c:] for h, c in zip(held, cuts)]
            want = [share] * len(self.runs)
            yield block[np.argsort(block["key"], kind="stable")]

    def add_new(self, key: np.ndarray, revision: np.ndarray, value: np.ndarray) -> None:
        """Stage new revisions, in key order (every call after the keys of the one before)."""
        if not len(key):
            return
        records = np.empty(len(key), dtype=self.NEW)
        records["unit_basis"], records["revision"], records["value"] = key & ((1 << _PAIR_SHIFT) - 1), revision, value
        self._new.seek(self.new_rows * self.NEW.itemsize)
        records.tofile(self._new)
        pair = key >> _PAIR_SHIFT
        starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
        self._new_pieces.append(np.stack([pair[starts], starts + self.new_rows, np.diff(np.r_[starts, len(key)])], axis=1))
        self.new_rows += len(key)

    def new_slices(self, batch: int, reported: int) -> Iterator[tuple]:
        """The staged new revisions as rows of the ``slice`` table, read from the disk a piece at a time."""
        if not self.new_rows:
            return
        self._new.flush()
        pieces = np.concatenate(self._new_pieces)
        pair = pieces[:, 0]
        # A slice cut by a block boundary lands in several parts, numbered within its pair.
        part = _position_in_run(np.r_[True, pair[1:] != pair[:-1]])
        for (p, start, n), k in zip(pieces.tolist(), part.tolist()):
            self._new.seek(start * self.NEW.itemsize)  # a piece at a time: memory stays flat, whatever the batch
            piece = np.fromfile(self._new, dtype=self.NEW, count=n)
            yield (p, batch, k, reported, n,
                   piece["unit_basis"].tobytes(), piece["revision"].tobytes(), piece["value"].tobytes())

    def new_revisions(self) -> dict[str, np.ndarray]:
        """The staged new revisions as columns (key, revision, value), in key order."""
        if not self.new_rows:
            return {"key": np.empty(0, np.int64), "revision": np.empty(0, np.int64), "value": np.empty(0, np.float64)}
        self._new.flush()
        records = np.fromfile(self.new_path, dtype=self.NEW, count=self.new_rows)
        pieces = np.concatenate(self._new_pieces)
        return {"key": np.repeat(pieces[:, 0] << _PAIR_SHIFT, pieces[:, 2]) | records["unit_basis"],
                "revision": records["revision"].astype(np.int64), "value": records["value"].astype(np.float64)}

    def add_bad(self, bad: pd.DataFrame | None) -> None:
        if bad is None or bad.empty:
            return
        frame = bad.reindex(columns=["sheet", "row", "column", "reason", "raw"])
        data = pa.table({c: pa.array([None if pd.isna(v) else (int(v) if c == "row" else str(v)) for v in frame[c]],
                                     type=pa.int64() if c == "row" else pa.string()) for c in frame.columns})
        self._load("bad", data, self.has_bad)
        self.has_bad = True

    def __exit__(self, *exc) -> None:
        self.close_loader()
        for handle in (self._runs, self._new):
            if handle is not None:
                handle.close()
        for suffix in ("", "-journal", "-wal", "-shm", ".runs", ".new"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    @staticmethod
    def remove_stale(store_path: Path) -> None:
        """Remove scratch files of processes that no longer run (killed mid-batch)."""
        for path in store_path.parent.glob(f".{store_path.name}.staging-*.db*"):
            try:
                pid = int(path.name.split(".staging-")[1].split("-")[0])
                os.kill(pid, 0)
            except ProcessLookupError:
                path.unlink(missing_ok=True)
            except (ValueError, IndexError, PermissionError):
                continue


_LANDING_ATTEMPTS = 5


@dataclass
class _Comparison:
    """What comparing a staged batch with the store found; the new revisions wait in the scratch database."""

    has_bad: bool
    staged: int = 0  # distinct keys without conflict
    duplicates: int = 0
    conflicts: pd.DataFrame | None = None
    changed: set[int] = field(default_factory=set)  # packed (indicator, period) pairs with a new revision


def _conflicting(rows: np.ndarray, group: np.ndarray, by_cell: dict[int, tuple[str, str]]) -> pd.DataFrame:
    """Quarantine rows for every row of keys given with different values, by key and then row."""
    order = np.lexsort((rows["row"], rows["key"]))
    rows, group = rows[order], group[order]
    values: dict[int, list[float]] = {}
    for g, v in zip(group.tolist(), rows["value"].tolist()):
        values.setdefault(g, []).append(v)
    return pd.DataFrame(
        [
            {
                "sheet": by_cell[cell][0] or None,
                "row": row,
                "column": by_cell[cell][1],
                "reason": "conflicting duplicate: the same unit, indicator, period and basis appear "
                f"{len(values[g])} times in this file with different values ({', '.join(f'{v:g}' for v in values[g])})",
                "raw": f"{value:g}",
            }
            for g, value, row, cell in zip(group.tolist(), rows["value"].tolist(), rows["row"].tolist(), rows["cell"].tolist())
        ],
        columns=["sheet", "row", "column", "reason", "raw"],
    )


def _empty_read() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("period", "revision", "batch") else "float64" if c == "value" else object) for c in READ_COLUMNS})
