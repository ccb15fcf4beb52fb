"""Benchmark: line protocol for observations and verdicts, and one ingest through the InfluxDB backend.

Prints points per second for building line protocol (vectorised, no loop per row), and the wall time of
an ingest of N observations into the local ledger and outbox with InfluxDB unreachable (the spool path).
Run: .venv/bin/python bench/influx_write_path.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from exporters.influx import verdict_lines
from targetwatch.store import StagedChunk
from targetwatch.store.influx import InfluxStore, observation_lines
from targetwatch.store.influx_spool import RetryPolicy


def observations(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({
        "indicator": [f"ind_{i}" for i in rng.integers(0, 60, n)],
        "unit": [f"unit_{i}" for i in rng.integers(0, 2000, n)],
        "period": 20230101 + rng.integers(0, 12, n) * 101,
        "basis": "ytd",
        "value": rng.normal(100, 20, n),
        "revision": 1,
        "reported_at": pd.Timestamp("2023-07-15", tz="UTC"),
        "batch": 1,
    })


def main(n: int) -> None:
    frame = observations(n)
    t0 = time.perf_counter()
    lines = observation_lines(frame)
    dt = time.perf_counter() - t0
    print(f"observation line protocol: {n:,} points in {dt:.2f} s ({n / dt:,.0f} points/s)")

    verdicts = frame.rename(columns={"reported_at": "as_of"}).assign(
        rule="r", status="behind", target=5.0, gap=-1.0, rank=3, group_size=12, period="2023-06", message="落后")
    t0 = time.perf_counter()
    verdict_lines(verdicts)
    dt = time.perf_counter() - t0
    print(f"verdict line protocol:     {n:,} points in {dt:.2f} s ({n / dt:,.0f} points/s)")

    good = frame[["indicator", "unit", "period", "basis", "value"]].drop_duplicates(["indicator", "unit", "period"])
    good = good.assign(row=np.arange(len(good)), sheet=None, column="C")
    with tempfile.TemporaryDirectory() as tmp:
        store = InfluxStore("http://127.0.0.1:9", "o", "b", None, tmp, policy=RetryPolicy(max_retries=0))
        t0 = time.perf_counter()
        store.ingest([StagedChunk(good=good)], source="bench", content_hash="h", reported_at=datetime(2023, 7, 15, tzinfo=timezone.utc))
        dt = time.perf_counter() - t0
        print(f"ingest with InfluxDB down: {len(good):,} observations ledgered and spooled in {dt:.2f} s; spooled {store.pending():,}")
        store.close()
    assert len(lines) == n


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
