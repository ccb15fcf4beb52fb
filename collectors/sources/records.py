"""Record sources (HTTP, SQL, SDMX): a frame of named fields → a raw frame → one validated batch.

A record source fetches everything first and lands it in one batch, so a failure in the middle of a
paginated API or a query leaves the store untouched. The batch's content hash is the hash of the
records, so an unchanged response adds nothing.
"""

from __future__ import annotations

from abc import abstractmethod

import hashlib
from datetime import datetime

import numpy as np
import pandas as pd

from collectors.layout import FieldMapping
from collectors.sources import CollectionResult, SourceKind
from collectors.validate import RAW_COLUMNS, validate
from targetwatch.errors import ConfigError, Location, SourceError, TargetwatchError
from targetwatch.store import Store

_FIELDS = ("unit", "indicator", "period", "value", "basis", "measure")


def records_to_raw(records: pd.DataFrame, mapping: FieldMapping, label: str) -> pd.DataFrame:
    """The raw frame (``RAW_COLUMNS``) of a record frame; ``row`` is the 1-based record number."""
    n = len(records)
    missing = sorted({col for col in mapping.fields.values() if col not in records.columns})
    if missing:
        fields = ", ".join(map(str, records.columns)) or "(none)"
        raise SourceError(f"the records have no field {', '.join(map(repr, missing))}; they have: {fields}", Location(file=label))
    raw = pd.DataFrame({"row": np.arange(1, n + 1, dtype=np.int64), "sheet": None}, index=records.index)
    for name in _FIELDS:
        if name in mapping.fields:
            column = mapping.fields[name]
            series = records[column]
            if series.dtype == object:
                # A nested JSON value (a list, an object) is read as its text: quarantined as such, never a crash.
                series = series.map(lambda v: str(v) if isinstance(v, (dict, list, set, tuple)) else v)
            if name in mapping.codes:
                text = series.astype("string")
                series = text.map(mapping.codes[name]).fillna(text)
            raw[name] = series.to_numpy(dtype=object) if name != "value" else series.to_numpy()
            raw[f"{name}_col"] = f"field {column}"
        else:
            raw[name] = mapping.fixed.get(name)
            raw[f"{name}_col"] = f"fixed {name}"
    return raw.reset_index(drop=True)[RAW_COLUMNS]


def records_hash(records: pd.DataFrame) -> str:
    return hashlib.sha256(records.to_csv(index=False).encode("utf-8")).hexdigest()


class RecordSource(SourceKind):
    """A source whose ``fetch`` returns every record at once; ``collect`` validates and lands them."""

    @abstractmethod
    def fetch(self) -> tuple[pd.DataFrame, str]:
        """All records, and the source label stored with the batch (never containing a secret)."""
        ...

    def collect(self, store: Store, reported_at: datetime) -> CollectionResult:
        mapping = self.collector.spec.mapping
        if mapping is None:
            raise ConfigError(f"collector {self.collector.metadata.name!r}: a {self.collector.spec.source.kind} source "
                              "needs spec.mapping (fields, fixed, codes)", Location(file=str(self.collector.path)))
        records, label = self.fetch()
        try:
            raw = records_to_raw(records, mapping, label)
            chunk = validate(raw, self.deployment)
        except TargetwatchError:
            raise
        except Exception as exc:  # records no check foresaw: the fetch is rejected, located, and nothing lands
            raise SourceError(f"cannot read the records: {type(exc).__name__}: {str(exc)[:300]}", Location(file=label)) from None
        batch = store.ingest(iter([chunk]), source=label, content_hash=records_hash(records), reported_at=reported_at)
        return CollectionResult(self.collector.metadata.name, batches=[batch])
