"""Source kinds by name: where a scheduled collector reads, and how a collection lands in the store.

The built-in kinds (``files``, ``dropfolder``, ``http``, ``sql``, ``sdmx``) register through the same
:func:`register_source` decorator a deployment uses for its own kind, and a package can offer one
through the ``targetwatch.sources`` entry-point group. Every kind ends in the same validation and
quarantine as the file collectors, and lands each batch atomically: a source that fails part-way
writes nothing, and the store keeps its previous data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import importlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import entry_points
from typing import Any, Callable

from pydantic import BaseModel

from collectors.layout import Collector
from targetwatch import yamlio
from targetwatch.deployment import Deployment
from targetwatch.errors import ConfigError, Location
from targetwatch.store import BatchResult, Store

log = logging.getLogger("targetwatch.collectors")
ENTRY_POINT_GROUP = "targetwatch.sources"
_BUILTIN_MODULES = ("files", "dropfolder", "http", "sql", "sdmx")
_KINDS: dict[str, type[SourceKind]] = {}


@dataclass
class FileOutcome:
    """What a drop folder did with one file: archived, rejected, duplicate or unsettled (still being written)."""

    file: str
    outcome: str
    detail: str = ""
    moved_to: str | None = None


@dataclass
class CollectionResult:
    """What one run of one collector did."""

    collector: str
    batches: list[BatchResult] = field(default_factory=list)
    files: list[FileOutcome] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(b.rows_read for b in self.batches)

    @property
    def revisions_added(self) -> int:
        return sum(b.revisions_added for b in self.batches)

    @property
    def quarantined(self) -> int:
        return sum(b.quarantined for b in self.batches)

    @property
    def unchanged(self) -> int:
        return sum(b.unchanged for b in self.batches)

    @property
    def skipped(self) -> int:
        """Files not read because their content was already ingested."""
        return sum(f.outcome == "duplicate" for f in self.files)

    @property
    def changed(self) -> bool:
        """Whether a new revision landed, the only thing that can change a verdict."""
        return self.revisions_added > 0

    def summary(self) -> str:
        text = f"{len(self.batches)} batches, {self.rows} rows, {self.revisions_added} new revisions, {self.quarantined} quarantined"
        by_outcome: dict[str, int] = {}
        for f in self.files:
            by_outcome[f.outcome] = by_outcome.get(f.outcome, 0) + 1
        return text + "".join(f", {n} {k}" for k, n in sorted(by_outcome.items()))


class SourceKind(ABC):
    """Base of a source kind: ``Options`` checks the collector's ``source:`` keys, ``collect`` runs it."""

    Options: type[BaseModel]

    def __init__(self, options: BaseModel, collector: Collector, deployment: Deployment):
        self.options = options
        self.collector = collector
        self.deployment = deployment

    @abstractmethod
    def collect(self, store: Store, reported_at: datetime) -> CollectionResult:
        ...


def register_source(name: str) -> Callable[[type[SourceKind]], type[SourceKind]]:
    """Class decorator: make a source kind available to collector mappings as ``source: {kind: name}``."""

    def wrap(cls: type[SourceKind]) -> type[SourceKind]:
        _KINDS[name] = cls
        return cls

    return wrap


def kinds() -> dict[str, type[SourceKind]]:
    """Every registered source kind: the built-ins, then entry points, then explicit registrations."""
    for module in _BUILTIN_MODULES:
        importlib.import_module(f"collectors.sources.{module}")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _KINDS:
            _KINDS[ep.name] = ep.load()
    return dict(_KINDS)


def build_source(collector: Collector, deployment: Deployment) -> SourceKind:
    """The source of a collector, its options checked with a located error naming the allowed kinds."""
    spec = collector.spec.source
    name = spec.kind if spec else "files"
    known = kinds()
    file = str(collector.path) if collector.path else None
    if name not in known:
        raise ConfigError(f"collector {collector.metadata.name!r}: unknown source kind {name!r}; known: {', '.join(sorted(known))}",
                          Location(file=file))
    cls = known[name]
    options: dict[str, Any] = spec.options if spec else {}
    return cls(yamlio.parse_model(cls.Options, options, file), collector, deployment)


def collect(deployment: Deployment, store: Store, collector: Collector, reported_at: datetime | None = None) -> CollectionResult:
    """Run one collector once: read its source, validate, and land its batches."""
    source = build_source(collector, deployment)
    result = source.collect(store, reported_at or datetime.now(timezone.utc))
    log.info("collector %s: %s", collector.metadata.name, result.summary())
    return result
