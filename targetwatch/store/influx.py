"""The production store: InfluxDB 2, written through influxdb-client's batching API, read with Flux.

Measurement and tag design (bucket ``settings.influx.bucket``)::

    observation,indicator=<id>,unit=<id>,period=<code>,basis=<period|ytd> value=<float>,revision=<int>i,batch=<int>i <time>

- **Tags** are the observation key: indicator and unit ids, the eight-digit period code (20230606 is
  June 2023, 20230102 January–February; as a string it sorts like the period) and the basis. Their
  cardinality is bounded by the registry and the calendar.
- **Time** is the report time in whole seconds plus the revision number in nanoseconds. Every revision
  is its own point, so the history stays, and "the latest revision reported by *as of*" is Flux's
  ``range(stop: as_of + 1s) |> last()``: the evaluator's as-of reads work on InfluxDB as they do on SQLite.
- **Fields**: ``value`` (float), ``revision`` and ``batch`` (integers, for provenance).

What stays local, beside the spool (``settings.influx.spool_dir/ledger.db``, SQLite): the batch log,
quarantined rows, and the latest revision and value of every key. Ingest decides there, atomically per
batch, what is a new revision, what is unchanged and what is a conflicting duplicate (the semantics of
:mod:`targetwatch.store.sqlite`, reused, not re-implemented), and queues the new revisions in the
outbox in the same transaction. The outbox then goes to InfluxDB; while InfluxDB is unreachable it stays
on disk and is replayed in order on the next ingest, read or ``flush()``.

Tested here: the write path against VictoriaMetrics (which accepts ``/api/v2/write``), the read path
against annotated-CSV answers in InfluxDB's documented format. No InfluxDB 2 server ran in the tests.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
from influxdb_client import InfluxDBClient

from targetwatch.store import READ_COLUMNS, BatchResult, StagedChunk
from targetwatch.store.influx_flux import OBSERVATION, observation_query, parse_annotated_csv
from targetwatch.store.influx_spool import Outbox, RetryPolicy, line_protocol
from targetwatch.store.sqlite import SQLiteStore

log = logging.getLogger("targetwatch.influx")


class _Ledger(SQLiteStore):
    """The local write-side index: SQLite store semantics, plus the outbox filled inside each batch."""

    def __init__(self, path: Path, bucket: str):
        super().__init__(path)
        self.bucket = bucket
        self.outbox = Outbox(self.con)

    def _merge(self, batch_id: int, reported: int, result: BatchResult, scratch) -> None:
        super()._merge(batch_id, reported, result, scratch)
        rows = scratch.new_revisions()
        if not len(rows["key"]):
            return
        rows["reported_at"] = np.full(len(rows["key"]), reported, dtype=np.int64)
        rows["batch"] = np.full(len(rows["key"]), batch_id, dtype=np.int64)
        added = self._decode(pd.DataFrame(rows), None)
        self.outbox.append(self.bucket, observation_lines(added))


def observation_lines(frame: pd.DataFrame) -> list[str]:
    """Line protocol for observations with ``READ_COLUMNS`` (report time + revision ns)."""
    seconds = frame["reported_at"].astype("datetime64[s, UTC]").astype("int64").to_numpy()
    time_ns = seconds * 1_000_000_000 + frame["revision"].to_numpy(np.int64)
    return line_protocol(
        OBSERVATION,
        tags={
            "indicator": frame["indicator"].astype(str),
            "unit": frame["unit"].astype(str),
            "period": frame["period"].astype("int64").map("{:08d}".format),
            "basis": frame["basis"].astype(str),
        },
        float_fields={"value": frame["value"]},
        int_fields={"revision": frame["revision"], "batch": frame["batch"]},
        time_ns=time_ns,
    )


class InfluxStore:
    """The InfluxDB backend of :class:`targetwatch.store.Store`."""

    def __init__(
        self,
        url: str,
        org: str,
        bucket: str,
        token: str | None,
        spool_dir: str | Path,
        policy: RetryPolicy | None = None,
        timeout_ms: int = 10_000,
    ):
        self.org, self.bucket = org, bucket
        self.policy = policy or RetryPolicy()
        self.client = InfluxDBClient(url=url, token=token or "", org=org, timeout=timeout_ms)
        self.ledger = _Ledger(Path(spool_dir) / "ledger.db", bucket)

    @classmethod
    def from_settings(cls, settings) -> InfluxStore:
        s = settings.influx
        return cls(s.url, s.org, s.bucket, s.token_value(), s.spool_dir)

    # -- writing -------------------------------------------------------------------------------------

    def ingest(self, chunks: Iterable[StagedChunk], *, source: str, content_hash: str, reported_at: datetime) -> BatchResult:
        result = self.ledger.ingest(chunks, source=source, content_hash=content_hash, reported_at=reported_at)
        self.flush()
        return result

    def flush(self) -> int:
        """Replay the spool into InfluxDB; the points written (0 when InfluxDB is unreachable)."""
        try:
            return self.ledger.outbox.flush(self.client, self.org, self.policy)
        except Exception as exc:  # the spool keeps the points; the next flush replays them
            log.warning("InfluxDB unreachable (%s); %d points spooled", type(exc).__name__, self.pending())
            return 0

    def pending(self) -> int:
        """Points spooled on disk, not yet acknowledged by InfluxDB."""
        return self.ledger.outbox.pending()

    # -- reading -------------------------------------------------------------------------------------

    def query(self, flux: str) -> pd.DataFrame:
        """Run Flux and return every table of the answer as one frame."""
        response = self.client.query_api().query_raw(flux, org=self.org)
        return parse_annotated_csv(response.data.decode("utf-8"))

    def read(self, indicators=None, units=None, start=None, end=None, as_of=None) -> pd.DataFrame:
        if self.pending():
            self.flush()  # read your own writes when InfluxDB is back
        raw = self.query(observation_query(self.bucket, indicators, units, start, end, as_of))
        return _observations(raw)

    def revisions(self, indicator: str, unit: str, period: int | None = None) -> pd.DataFrame:
        flux = observation_query(self.bucket, [indicator], [unit], period, period, latest=False)
        out = _observations(self.query(flux))
        sources = self.ledger.batches().set_index("id")["source"]
        out["source"] = out["batch"].map(sources).astype(object)
        return out

    def quarantined(self, source: str | None = None) -> pd.DataFrame:
        return self.ledger.quarantined(source)

    def batches(self) -> pd.DataFrame:
        return self.ledger.batches()

    def close(self) -> None:
        self.client.close()
        self.ledger.close()


def _observations(raw: pd.DataFrame) -> pd.DataFrame:
    if raw.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("period", "revision", "batch") else "float64" if c == "value" else object) for c in READ_COLUMNS})
    out = pd.DataFrame(
        {
            "indicator": raw["indicator"].astype(object),
            "unit": raw["unit"].astype(object),
            "period": pd.to_numeric(raw["period"]).astype("int64"),
            "basis": raw["basis"].astype(object),
            "value": raw["value"].astype("float64"),
            "revision": raw["revision"].astype("int64"),
            "reported_at": raw["_time"].dt.floor("s"),
            "batch": raw["batch"].astype("int64"),
        }
    )
    return out.sort_values(["indicator", "period", "unit", "basis", "revision"], kind="stable").reset_index(drop=True)[READ_COLUMNS]
