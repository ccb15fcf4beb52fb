"""A local, on-disk outbox for InfluxDB writes: nothing is lost while InfluxDB is unreachable.

Every write is first appended to a SQLite table (``influx_outbox``) as line protocol, in the same
transaction as whatever produced it, and only then sent. ``flush`` replays the outbox in sequence order
through influxdb-client's *batching* write API (which batches and retries with back-off) and deletes
the rows only when every batch of the attempt was acknowledged. A failed attempt keeps everything for
the next one; replaying a row twice is harmless, because a point with the same measurement, tags and
timestamp overwrites itself with the same values.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

import numpy as np
import pandas as pd
from influxdb_client import InfluxDBClient, WriteOptions
from influxdb_client.client.write_api import WriteType
from reactivex.scheduler import ThreadPoolScheduler

log = logging.getLogger("targetwatch.influx")

OUTBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS influx_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, bucket TEXT NOT NULL, lines TEXT NOT NULL, points INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class RetryPolicy:
    """How the batching write API batches and retries (milliseconds, as influxdb-client takes them)."""

    batch_size: int = 5_000
    flush_interval: int = 1_000
    retry_interval: int = 2_000
    max_retries: int = 3
    max_retry_time: int = 30_000

    def write_options(self) -> WriteOptions:
        return WriteOptions(
            write_type=WriteType.batching,
            batch_size=self.batch_size,
            flush_interval=self.flush_interval,
            retry_interval=self.retry_interval,
            max_retries=self.max_retries,
            max_retry_delay=self.max_retry_time,
            max_retry_time=self.max_retry_time,
            max_close_wait=self.max_retry_time + 10_000,
            write_scheduler=ThreadPoolScheduler(max_workers=1),
        )


class Outbox:
    """The outbox table inside an SQLite connection the caller owns (and whose transactions it runs)."""

    def __init__(self, con: sqlite3.Connection):
        self.con = con
        con.executescript(OUTBOX_SCHEMA)

    def append(self, bucket: str, lines: list[str]) -> None:
        """Queue line-protocol lines; call inside the caller's transaction to make it atomic with it."""
        if lines:
            self.con.execute(
                "INSERT INTO influx_outbox(bucket, lines, points) VALUES (?, ?, ?)", (bucket, "\n".join(lines), len(lines))
            )

    def pending(self) -> int:
        """Points waiting to be written."""
        return self.con.execute("SELECT coalesce(sum(points), 0) FROM influx_outbox").fetchone()[0]

    def flush(self, client: InfluxDBClient, org: str, policy: RetryPolicy) -> int:
        """Send everything queued, oldest first; return the points written (0 and keep them on failure)."""
        rows = self.con.execute("SELECT seq, bucket, lines, points FROM influx_outbox ORDER BY seq").fetchall()
        if not rows:
            return 0
        if not client.ping():  # down: keep everything, without a retry storm per batch
            log.warning("InfluxDB does not answer /ping; %d points stay spooled", sum(r[3] for r in rows))
            return 0
        failures: list[Exception] = []
        write_api = client.write_api(
            write_options=policy.write_options(), error_callback=lambda _conf, _data, exc: failures.append(exc)
        )
        try:
            for _seq, bucket, lines, _points in rows:
                write_api.write(bucket=bucket, org=org, record=lines.split("\n"), write_precision="ns")
        finally:
            write_api.close()  # waits until every batch is written or has given up retrying
        if failures:
            log.warning(
                "InfluxDB write failed (%s); %d points stay spooled and will be replayed",
                type(failures[0]).__name__, sum(r[3] for r in rows),
            )
            return 0
        self.con.execute("DELETE FROM influx_outbox WHERE seq <= ?", (rows[-1][0],))
        return sum(r[3] for r in rows)


# ---- line protocol, built a column at a time -----------------------------------------------------


def escape_tag(values: pd.Series) -> pd.Series:
    """Escape a tag key or value for line protocol (commas, equals signs and spaces)."""
    return (
        values.astype(str)
        .str.replace("\\", "\\\\", regex=False)
        .str.replace(",", "\\,", regex=False)
        .str.replace("=", "\\=", regex=False)
        .str.replace(" ", "\\ ", regex=False)
    )


def escape_string_field(values: pd.Series) -> pd.Series:
    return '"' + values.astype(str).str.replace("\\", "\\\\", regex=False).str.replace('"', '\\"', regex=False) + '"'


def line_protocol(
    measurement: str,
    tags: dict[str, pd.Series],
    float_fields: dict[str, pd.Series],
    int_fields: dict[str, pd.Series],
    time_ns: np.ndarray,
    string_fields: dict[str, pd.Series] | None = None,
) -> list[str]:
    """Lines for a frame's rows. Empty tags and missing (NaN) fields are left out, as InfluxDB requires."""
    n = len(time_ns)
    head = pd.Series([measurement] * n, dtype=object)
    for name, col in tags.items():
        col = col.reset_index(drop=True)
        present = col.notna() & (col.astype(str) != "")
        head = head + np.where(present, "," + name + "=" + escape_tag(col.fillna("")), "")
    parts = pd.Series([""] * n, dtype=object)
    for name, col in float_fields.items():
        col = pd.to_numeric(col.reset_index(drop=True), errors="coerce").astype("float64")
        ok = np.isfinite(col.to_numpy())
        parts = parts + np.where(ok, f"{name}=" + col.map(repr) + ",", "")
    for name, col in int_fields.items():
        col = col.reset_index(drop=True)
        ok = col.notna().to_numpy()
        parts = parts + np.where(ok, f"{name}=" + col.fillna(0).astype("int64").astype(str) + "i,", "")
    for name, col in (string_fields or {}).items():
        col = col.reset_index(drop=True)
        ok = (col.notna() & (col.astype(str) != "")).to_numpy()
        parts = parts + np.where(ok, f"{name}=" + escape_string_field(col.fillna("")) + ",", "")
    fields = parts.str.rstrip(",")
    lines = head + " " + fields + " " + pd.Series(np.asarray(time_ns, dtype=np.int64)).astype(str)
    return lines.tolist()
