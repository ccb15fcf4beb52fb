"""The Flux the InfluxDB backend sends, and the parsing of InfluxDB's annotated-CSV answers.

Flux strings are built only from ids that the registry already constrains (``a-z0-9_``), period codes
(integers) and timestamps; every string literal is escaped anyway, so no input is ever evaluated.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from typing import Sequence

import numpy as np
import pandas as pd

OBSERVATION = "observation"  # the measurement of reported values
# With no as-of time, a stop far in the future: reports stamped "later than now" stay readable.
FAR_FUTURE = "2200-01-01T00:00:00Z"


def flux_string(value: str) -> str:
    """A Flux string literal."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${") + '"'


def flux_time(moment: datetime | None) -> str:
    if moment is None:
        return FAR_FUTURE
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _any_of(column: str, values: Sequence[str]) -> str:
    return " or ".join(f"r.{column} == {flux_string(v)}" for v in values)


def observation_query(
    bucket: str,
    indicators: Sequence[str] | None = None,
    units: Sequence[str] | None = None,
    start: int | None = None,
    end: int | None = None,
    as_of: datetime | None = None,
    latest: bool = True,
) -> str:
    """Flux for observations: the latest revision per series reported by ``as_of``, or every revision.

    ``range`` stops one second after ``as_of`` because a point's time is its report second plus its
    revision in nanoseconds, and reports up to and including ``as_of`` count.
    """
    stop = flux_time(None if as_of is None else as_of + pd.Timedelta(seconds=1))
    lines = [
        f"from(bucket: {flux_string(bucket)})",
        f"  |> range(start: 1970-01-01T00:00:00Z, stop: {stop})",
        f'  |> filter(fn: (r) => r._measurement == "{OBSERVATION}")',
        '  |> filter(fn: (r) => r._field == "value" or r._field == "revision" or r._field == "batch")',
    ]
    if indicators is not None:
        lines.append(f"  |> filter(fn: (r) => {_any_of('indicator', indicators) or 'false'})")
    if units is not None:
        lines.append(f"  |> filter(fn: (r) => {_any_of('unit', units) or 'false'})")
    # Period codes are eight digits, so comparing them as strings orders them as numbers.
    if start is not None:
        lines.append(f'  |> filter(fn: (r) => r.period >= "{int(start):08d}")')
    if end is not None:
        lines.append(f'  |> filter(fn: (r) => r.period <= "{int(end):08d}")')
    if latest:
        lines.append("  |> last()")
    lines += [
        '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
        '  |> keep(columns: ["_time", "indicator", "unit", "period", "basis", "value", "revision", "batch"])',
        '  |> group()',
        '  |> sort(columns: ["indicator", "period", "unit", "basis", "_time"])',
    ]
    return "\n".join(lines)


def parse_annotated_csv(text: str) -> pd.DataFrame:
    """Every table of an annotated-CSV answer, concatenated, typed by its ``#datatype`` row.

    A response holds one or more blocks, each introduced by ``#datatype``, ``#group`` and ``#default``
    annotation rows and a header row, separated by blank lines. Empty cells take the ``#default`` value.
    """
    frames = []
    for block in _blocks(text):
        annotations = {row[0]: row for row in block["annotations"]}
        body = "\n".join(block["lines"])
        header = next(csv.reader([block["header"]]))
        frame = pd.read_csv(io.StringIO(body), header=None, names=header, dtype=str, keep_default_na=False)
        defaults = annotations.get("#default")
        types = annotations.get("#datatype")
        for i, name in enumerate(header):
            if not name:
                continue
            col = frame[name]
            if defaults is not None and i < len(defaults) and defaults[i]:
                col = col.where(col != "", defaults[i])
            frame[name] = _typed(col, types[i] if types is not None and i < len(types) else "string")
        frames.append(frame.drop(columns=[""], errors="ignore"))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def _blocks(text: str) -> list[dict]:
    blocks: list[dict] = []
    current: dict | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            current = None
            continue
        if line.startswith("#"):
            if current is None or current["header"] is not None:
                current = {"annotations": [], "header": None, "lines": []}
                blocks.append(current)
            current["annotations"].append(next(csv.reader([line])))
        elif current is None:
            current = {"annotations": [], "header": line, "lines": []}
            blocks.append(current)
        elif current["header"] is None:
            current["header"] = line
        else:
            current["lines"].append(line)
    return [b for b in blocks if b["header"] is not None and b["lines"]]


def _typed(col: pd.Series, datatype: str) -> pd.Series:
    if datatype in ("long", "unsignedLong"):
        return pd.to_numeric(col.replace("", np.nan)).astype("Int64")
    if datatype == "double":
        return pd.to_numeric(col.replace("", np.nan), errors="coerce").astype("float64")
    if datatype == "boolean":
        return col == "true"
    if datatype.startswith("dateTime"):
        return pd.to_datetime(col.replace("", None), utc=True, format="ISO8601")
    return col
