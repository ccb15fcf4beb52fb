"""The time-series store: one interface, two backends (embedded SQLite by default, InfluxDB in production).

Stages exchange observations as pandas frames. A collector hands the store *staged chunks*; the store
lands a whole batch (one file, one API response) atomically, keeps every revision, and quarantines bad
rows with their location. Readers ask for the latest revision of each observation as of a report time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Protocol, Sequence, runtime_checkable

import pandas as pd

# A staged chunk's good rows: indicator and unit ids, period code, basis, value, and where each came from.
STAGED_COLUMNS = ["indicator", "unit", "period", "basis", "value", "row", "sheet", "column"]
# A staged chunk's bad rows.
QUARANTINE_COLUMNS = ["sheet", "row", "column", "reason", "raw"]
# What read() returns, one row per (indicator, unit, period, basis): the latest revision as of a time.
READ_COLUMNS = ["indicator", "unit", "period", "basis", "value", "revision", "reported_at", "batch"]


@dataclass
class StagedChunk:
    """Part of a batch: rows that passed validation, and rows quarantined with their reason."""

    good: pd.DataFrame
    bad: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=QUARANTINE_COLUMNS))


@dataclass
class BatchResult:
    """What one batch did to the store."""

    batch: int
    source: str
    rows_read: int = 0
    revisions_added: int = 0
    unchanged: int = 0
    duplicates: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    # The (indicator, period code) pairs that got a new revision, for incremental evaluation; None when the
    # backend does not say, and a reader then assumes anything may have changed.
    changed: frozenset[tuple[str, int]] | None = None

    @property
    def ok(self) -> bool:
        return self.quarantined == 0


@runtime_checkable
class Store(Protocol):
    """What every backend offers. The contract tests in tests/store run against each backend."""

    def ingest(
        self,
        chunks: Iterable[StagedChunk],
        *,
        source: str,
        content_hash: str,
        reported_at: datetime,
    ) -> BatchResult:
        """Land a batch whole or not at all. Unchanged values add no revision; a key that appears in
        the batch with different values is quarantined, every occurrence of it."""

    def read(
        self,
        indicators: Sequence[str] | None = None,
        units: Sequence[str] | None = None,
        start: int | None = None,
        end: int | None = None,
        as_of: datetime | None = None,
    ) -> pd.DataFrame:
        """Latest revisions (``READ_COLUMNS``) reported by ``as_of``, for period codes start..end."""

    def revisions(self, indicator: str, unit: str, period: int | None = None) -> pd.DataFrame:
        """Every revision of a series, oldest first, with its source."""

    def quarantined(self, source: str | None = None) -> pd.DataFrame:
        """Quarantined rows with file, sheet, row, column and reason."""

    def batches(self) -> pd.DataFrame:
        """One row per batch: source, content hash, report time, counts."""

    def close(self) -> None: ...


def store_for(source, settings) -> tuple[Store, bool]:
    """The store to use now, and whether the caller owns (and must close) it.

    ``source`` is a store, a factory returning one (a thread opens its own SQLite connection), or
    ``None`` for the store the settings name.
    """
    if source is None:
        return open_store(settings), True
    if callable(source) and not isinstance(source, Store):
        return source(), True
    return source, False


def open_store(settings, deployment_root=None) -> Store:
    """The store a deployment's settings name."""
    if settings.store == "sqlite":
        from targetwatch.store.sqlite import SQLiteStore

        return SQLiteStore(settings.sqlite_path)
    if settings.store == "influxdb":
        from targetwatch.store.influx import InfluxStore  # issue: InfluxDB backend

        return InfluxStore.from_settings(settings)
    raise ValueError(f"unknown store {settings.store!r}")
