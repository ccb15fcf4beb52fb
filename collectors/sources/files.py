"""The ``files`` source (the default): ingest every file the collector's globs name, once per content."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from collectors.ingest import content_hash, due_files, ingest_file
from collectors.sources import CollectionResult, FileOutcome, SourceKind, register_source
from targetwatch.model import Strict
from targetwatch.store import Store


def file_reported_at(collector, collected_at: datetime) -> datetime | None:
    """The collection time, unless the mapping takes each workbook's own save time (``reported_at: document``)."""
    return None if collector.spec.reported_at == "document" else collected_at


def seen_hashes(store: Store) -> set[str]:
    """Content hashes of every batch the store has landed."""
    batches = store.batches()
    return set(batches["content_hash"]) if len(batches) else set()


class FilesOptions(Strict):
    """Options of the files source."""

    reingest: bool = Field(False, description="ingest a file again even when its content was seen before")


@register_source("files")
class FilesSource(SourceKind):
    """Ingest the files named by ``spec.files``; files whose content was already ingested are skipped."""

    Options = FilesOptions

    def collect(self, store: Store, reported_at: datetime) -> CollectionResult:
        result = CollectionResult(self.collector.metadata.name)
        seen = set() if self.options.reingest else seen_hashes(store)
        for path in due_files(self.deployment, [self.collector]):
            if content_hash(path) in seen:
                result.files.append(FileOutcome(str(path), "duplicate", "content already ingested"))
                continue
            ingested = ingest_file(self.deployment, store, path, collectors=[self.collector], reported_at=file_reported_at(self.collector, reported_at))
            if ingested.batch:
                result.batches.append(ingested.batch)
            result.files.append(FileOutcome(str(path), "rejected" if ingested.error else "ingested", ingested.error or ""))
        return result
