"""Verdicts written back to InfluxDB, so that Grafana can chart each target's status over time.

One point per verdict row, at its as-of instant (the end of the as-of day in Asia/Shanghai)::

    verdict,rule=<id>,unit=<id>,indicator=<id>,period=<label>[,leader=…][,lead_department=…][,severity=…][,group=…]
        status="behind",status_code=0i,value=…,target=…,gap=…,reference=…,required_run_rate=…,
        rank=…i,group_size=…i,stretch_met=…i,message="…"

- The status is a **field**, not a tag, so that a verdict's series stays one series when its status
  changes; ``status_code`` is its position in :data:`rules.verdict.STATUSES` (0 = behind … 4 = on
  track), for thresholds and state timelines.
- Missing numbers are left out of the point (InfluxDB has no NaN), never written as zero.
- Writes go through the same on-disk outbox as the store (:mod:`targetwatch.store.influx_spool`):
  when InfluxDB is unreachable they wait in ``<spool_dir>/verdicts.db`` and are replayed in order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from influxdb_client import InfluxDBClient

from rules.verdict import STATUSES
from targetwatch.periods import TZ
from targetwatch.private import connect_sqlite
from targetwatch.store.influx_spool import Outbox, RetryPolicy, line_protocol

MEASUREMENT = "verdict"

TAGS = ("rule", "unit", "indicator", "period", "leader", "lead_department", "severity", "group")
FLOAT_FIELDS = ("value", "target", "gap", "reference", "required_run_rate")
INT_FIELDS = ("rank", "group_size")


def verdict_lines(frame: pd.DataFrame) -> list[str]:
    """Line protocol for a verdict frame (the columns of ``rules.verdict.VERDICT_COLUMNS``)."""
    if frame.empty:
        return []
    frame = frame.reset_index(drop=True)
    as_of = pd.to_datetime(frame["as_of"].astype(str))
    if as_of.dt.tz is None:
        # An as-of date is the end of that day in Asia/Shanghai (periods.as_of_instant).
        dated = as_of.dt.normalize() == as_of
        as_of = (as_of + pd.to_timedelta(np.where(dated, 86_399, 0), unit="s")).dt.tz_localize(TZ)
    time_ns = as_of.dt.tz_convert("UTC").astype("datetime64[ns, UTC]").astype("int64").to_numpy()
    status_code = pd.Series(pd.Categorical(frame["status"], categories=list(STATUSES)).codes).replace(-1, np.nan)
    stretch = frame["stretch_met"] if "stretch_met" in frame else pd.Series([None] * len(frame))
    stretch = stretch.map({True: 1, False: 0}).astype("Float64")
    departments = frame.get("lead_department", pd.Series([None] * len(frame)))
    departments = departments.map(lambda v: ",".join(v) if isinstance(v, (list, tuple)) else v)
    tags = {name: (departments if name == "lead_department" else frame[name]).astype(object) for name in TAGS if name in frame}
    tags["period"] = frame["period"].astype(str)
    return line_protocol(
        MEASUREMENT,
        tags=tags,
        float_fields={name: frame[name] for name in FLOAT_FIELDS if name in frame},
        int_fields={**{name: frame[name].astype("Float64") for name in INT_FIELDS if name in frame},
                    "status_code": status_code, "stretch_met": stretch},
        time_ns=time_ns,
        string_fields={"status": frame["status"].astype(object), **({"message": frame["message"]} if "message" in frame else {})},
    )


def write_verdicts(
    frame: pd.DataFrame,
    *,
    url: str,
    org: str,
    bucket: str,
    token: str | None,
    spool_dir: str | Path,
    policy: RetryPolicy | None = None,
) -> tuple[int, int]:
    """Queue the verdicts on disk, then replay the queue into InfluxDB: (points written, still spooled)."""
    con = connect_sqlite(Path(spool_dir) / "verdicts.db", isolation_level=None, timeout=30)
    try:
        outbox = Outbox(con)
        outbox.append(bucket, verdict_lines(frame))
        with InfluxDBClient(url=url, token=token or "", org=org, timeout=10_000) as client:
            try:
                written = outbox.flush(client, org, policy or RetryPolicy())
            except Exception:  # unreachable: the points stay in the outbox for the next call
                written = 0
        return written, outbox.pending()
    finally:
        con.close()


def write_verdicts_for(frame: pd.DataFrame, settings) -> tuple[int, int]:
    """:func:`write_verdicts` with a deployment's InfluxDB settings (the verdict bucket)."""
    s = settings.influx
    return write_verdicts(frame, url=s.url, org=s.org, bucket=s.verdict_bucket, token=s.token_value(), spool_dir=s.spool_dir)
