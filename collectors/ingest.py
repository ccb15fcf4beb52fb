"""Ingest files into the store: find each file's mapping, read, validate, land one batch per file.

A file lands whole or not at all. Rows that fail validation are quarantined with file, sheet, row,
column and reason, and the good rows still land. A file that cannot be read at all (empty, missing
sheet, missing column, undecodable, over a limit of :mod:`collectors.limits`, or failing in any way
nobody foresaw) is rejected whole and recorded in the quarantine too, so nothing is lost silently,
and the next file is read. Re-ingesting a file changes nothing: unchanged values add no revision and
quarantine rows are unique. Symbolic links and anything but a regular file are never read.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import itertools
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

import xml.etree.ElementTree as ET  # parses only docProps/core.xml of a workbook, never entities from input
import zipfile

import pandas as pd

from collectors import csv as csv_reader
from collectors import excel as excel_reader
from collectors import limits as file_limits
from collectors import runs
from collectors.layout import LONG_CSV, Collector, load_collectors
from collectors.validate import Counts, validate
from targetwatch.deployment import Deployment
from targetwatch.errors import Location, PeriodError, SourceError, TargetwatchError
from targetwatch.periods import as_of_instant
from targetwatch.store import QUARANTINE_COLUMNS, BatchResult, StagedChunk, Store

log = logging.getLogger("targetwatch.collectors")
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}


@dataclass
class IngestResult:
    """What happened to one file."""

    file: str
    collector: str | None
    batch: BatchResult | None = None
    not_reported: int = 0
    skipped: int = 0
    error: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and (self.batch is None or self.batch.ok)

    @property
    def rejected(self) -> bool:
        """The file as a whole was not read (as opposed to some of its rows being quarantined)."""
        return self.error is not None


def not_a_regular_file(path: Path) -> str | None:
    """Why ``path`` is not read, checked without following links: missing, a symbolic link, not a regular file."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "no such file"
    if stat.S_ISLNK(mode):
        return "refused: a symbolic link is never read (it could point anywhere the service can read)"
    if not stat.S_ISREG(mode):
        return "refused: not a regular file"
    return None


def open_regular(path: Path) -> int:
    """A read descriptor of ``path``, opened without following a link; refused unless it is a regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)  # NONBLOCK: a FIFO cannot hang us
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SourceError("refused: not a regular file", Location(file=str(path)))
    return fd


def _hash_fd(fd: int) -> str:
    digest = hashlib.sha256()
    offset = 0
    while block := os.pread(fd, 1 << 20, offset):
        digest.update(block)
        offset += len(block)
    return digest.hexdigest()


def content_hash(path: Path) -> str:
    """SHA-256 of a regular file, opened without following a link (a link swapped in meanwhile fails)."""
    fd = open_regular(path)
    try:
        return _hash_fd(fd)
    finally:
        os.close(fd)


def _through_descriptor(fd: int, path: Path) -> Path:
    """A name that opens exactly the file behind ``fd``, whatever ``path`` names by the time a parser opens it.

    ``/proc/self/fd/N`` reopens the checked file itself (Linux); a link swapped in at ``path`` after the
    check is never followed. Without /proc the path itself is used."""
    via = Path(f"/proc/self/fd/{fd}")
    return via if via.exists() else path


def document_time(path: Path, suffix: str | None = None, name: Path | None = None) -> datetime:
    """When a document says it was sent: an Office file's ``dcterms:modified``, a CSV's ``reported_at``
    column (its latest value), else the file's mtime.

    The workbook property and the column travel with the file through e-mail and shares, where the mtime
    does not. ``suffix`` and ``name``: the file's own suffix and name when ``path`` is a descriptor path
    (``/proc/self/fd/N``). A ``reported_at`` that is not a date is a located SourceError.
    """
    if (suffix or path.suffix).lower() == ".csv":
        stated = csv_reader.stated_report_time(path)
        if stated:
            try:
                return as_of_instant(stated)
            except PeriodError as exc:
                raise SourceError(f"reported_at {stated!r} is not a date or time: {exc}",
                                  Location(file=str(name or path), column="reported_at")) from exc
    if (suffix or path.suffix).lower() in {".xlsx", ".xlsm"}:
        try:
            with zipfile.ZipFile(path) as zf:
                if zf.getinfo("docProps/core.xml").file_size <= _CORE_XML_BYTES:
                    core = ET.fromstring(zf.read("docProps/core.xml"))
                    stamp = core.find("{http://purl.org/dc/terms/}modified")
                    if stamp is not None and stamp.text:
                        return datetime.fromisoformat(stamp.text.strip().replace("Z", "+00:00"))
        except Exception:  # noqa: BLE001 - not an Office zip, no such property, or a broken one (zlib, encrypted…)
            pass  # fall back to the file's own time; reading the workbook itself reports what is wrong with it
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


_CORE_XML_BYTES = 1 << 20  # a document-properties part is a few hundred bytes


def collector_for(path: Path, dep: Deployment, collectors: list[Collector]) -> Collector | None:
    """The collector whose file globs match ``path`` (relative to the deployment, or absolute)."""
    resolved = path.resolve()
    for collector in collectors:
        for pattern in collector.spec.files:
            full = str((dep.root / pattern).resolve()) if not Path(pattern).is_absolute() else pattern
            if fnmatch.fnmatch(str(resolved), full) or fnmatch.fnmatch(path.name, pattern):
                return collector
    return None


def due_entries(dep: Deployment, collectors: list[Collector] | None = None) -> tuple[list[Path], list[Path]]:
    """What the deployment names (its collectors' globs and its 项目台账; with ``collectors``, only theirs):
    (regular files, entries refused), each in a stable order."""
    from collectors.projects import ledger_globs

    ledgers = ledger_globs(dep) if collectors is None else []  # 项目台账 (config/projects.yaml)
    collectors = collectors if collectors is not None else load_collectors(dep.root)
    return glob_entries(dep, [*ledgers, *(p for collector in collectors for p in collector.spec.files)])


def glob_entries(dep: Deployment, patterns: Iterable[str]) -> tuple[list[Path], list[Path]]:
    """The entries the globs name: (regular files, entries refused), each in a stable order.

    Judged without following links: a symbolic link (to a file or not) and anything that is neither a
    regular file nor a folder (a FIFO, a socket, a device) is refused, never read; folders are ignored."""
    files: set[Path] = set()
    refused: set[Path] = set()
    for pattern in patterns:
        base = Path(pattern) if Path(pattern).is_absolute() else dep.root / pattern
        for p in base.parent.glob(base.name):
            try:
                mode = os.lstat(p).st_mode
            except FileNotFoundError:
                continue
            if stat.S_ISREG(mode):
                files.add(p)
            elif not stat.S_ISDIR(mode):
                refused.add(p)
    return sorted(files), sorted(refused)


def due_files(dep: Deployment, collectors: list[Collector] | None = None) -> list[Path]:
    """Every regular file the deployment's collectors name, in a stable order (links are never listed)."""
    return due_entries(dep, collectors)[0]


def _chunks(raw_iter: Iterable, dep: Deployment, counts: Counts, bad_extra: list[dict], path: Path) -> Iterator[StagedChunk]:
    try:
        for raw, skipped, bad_lines in raw_iter:
            counts.skipped += skipped
            chunk = validate(raw, dep, counts)
            if bad_lines:
                chunk.bad = pd.concat([chunk.bad, pd.DataFrame(bad_lines, columns=QUARANTINE_COLUMNS)], ignore_index=True)
            yield chunk
    except (TargetwatchError, csv_reader.BadLine):
        raise
    except Exception as exc:
        # A failure nobody foresaw in reading this file rejects the file (the batch rolls back), located,
        # instead of printing a traceback and skipping the files after it. The details go to the debug log.
        log.debug("%s: unexpected failure while reading", path, exc_info=True)
        raise SourceError(f"cannot be read: {type(exc).__name__}: {str(exc)[:300]}", Location(file=str(path))) from None
    if bad_extra:
        yield StagedChunk(good=pd.DataFrame(), bad=pd.DataFrame(bad_extra, columns=QUARANTINE_COLUMNS))


def ingest_file(
    dep: Deployment,
    store: Store,
    path: str | Path,
    *,
    collectors: list[Collector] | None = None,
    reported_at: datetime | None = None,
) -> IngestResult:
    """Ingest one file as one batch; see the module docstring for the guarantees."""
    path = Path(path)
    from collectors.projects import ingest_ledger, is_ledger, looks_like_ledger

    collectors = collectors if collectors is not None else load_collectors(dep.root)
    collector = collector_for(path, dep, collectors)
    # A 项目台账: named by config/projects.yaml, or a workbook no mapping names that has a 项目名称 header.
    if is_ledger(path, dep) or (collector is None and path.suffix.lower() in EXCEL_SUFFIXES and looks_like_ledger(path, dep)):
        return ingest_ledger(dep, store, path, reported_at=reported_at)
    name = collector.metadata.name if collector else None
    result = IngestResult(file=str(path), collector=name)
    refused = not_a_regular_file(path)
    if refused:
        result.error = f"{path}: {refused}"
        return result
    try:
        fd = open_regular(path)
    except (OSError, SourceError) as exc:  # replaced by a link or a special file since it was listed
        result.error = f"{path}: refused: {getattr(exc, 'message', None) or exc.strerror or exc}"
        return result
    try:
        # Every reader below opens the checked file through its descriptor; ``path`` only labels.
        return _ingest_checked(dep, store, path, _through_descriptor(fd, path), _hash_fd(fd), collector, result, reported_at)
    finally:
        os.close(fd)


def _ingest_checked(dep: Deployment, store: Store, path: Path, source: Path, digest: str, collector: Collector | None,
                    result: IngestResult, reported_at: datetime | None) -> IngestResult:
    """Read ``source`` (the checked file) as the file ``path``: one batch, or one rejection."""
    by_document = reported_at is None and collector is not None and collector.spec.reported_at == "document"
    reported_at = reported_at or datetime.now(timezone.utc)

    def attempt(make_raw: Callable[[], Iterable]) -> BatchResult:
        counts = Counts()
        batch = store.ingest(_chunks(make_raw(), dep, counts, [], path), source=str(path), content_hash=digest, reported_at=reported_at)
        result.not_reported, result.skipped = counts.not_reported, counts.skipped
        return batch

    limits = dep.settings.limits
    try:
        excel = path.suffix.lower() in EXCEL_SUFFIXES
        # A zip workbook's sheets are checked one by one just before the parser reads each (the parser reads one
        # sheet while the next is checked); without a mapping nothing is parsed, and everything is checked here.
        gated = excel and collector is not None and path.suffix.lower() in file_limits.ZIP_WORKBOOKS
        file_limits.check_before_parsing(source, limits, excel=excel, suffix=path.suffix, sheets=not gated)
        if by_document:  # a date the document states that cannot be read rejects the file, located
            reported_at = document_time(source, path.suffix, path)
        if excel:
            if collector is None:
                raise SourceError("no collector mapping in config/collectors names this workbook; add its glob to a mapping's files")
            result.batch = attempt(lambda: excel_reader.read_raw(source, collector, limits, gated=gated))
        else:
            # Every layout of the mapping that a CSV can have (its one sheet has no name: the layout's name pattern
            # matches "") reads the CSV, one table and several views of it, not only the first.
            layouts = ([lay for lay in collector.spec.sheets if re.search(lay.name, "")] or collector.spec.sheets[:1]) if collector else [LONG_CSV]
            encoding = collector.spec.encoding if collector else None

            def read(slow: bool = False) -> Iterable:
                return itertools.chain.from_iterable(csv_reader.read_raw(source, layout, encoding, slow=slow) for layout in layouts)

            try:
                result.batch = attempt(read)
            except csv_reader.BadLine:
                log.info("%s: malformed lines; rereading line by line", path)
                result.batch = attempt(lambda: read(slow=True))
    except TargetwatchError as exc:
        # The file as a whole is unreadable: record it in the quarantine so that it is listed and kept.
        if exc.location is not None and exc.location.file == str(source):
            exc.location = dataclasses.replace(exc.location, file=str(path))  # name the file, not its descriptor
        loc = exc.location
        bad = [{"sheet": loc.sheet if loc else None, "row": loc.row if loc else None,
                "column": loc.column if loc else None, "reason": f"file rejected: {exc.message}", "raw": None}]
        result.error = str(exc)
        result.batch = store.ingest(iter([StagedChunk(good=pd.DataFrame(), bad=pd.DataFrame(bad, columns=QUARANTINE_COLUMNS))]),
                                    source=str(path), content_hash=digest, reported_at=reported_at)
    if result.batch:
        result.reasons = dict(result.batch.reasons)
    log.info("%s: %s", path, summary_line(result))
    return result


def ingest(dep: Deployment, store: Store, paths: Iterable[str | Path], *, reported_at: datetime | None = None,
           progress: Callable[[IngestResult], None] | None = None) -> list[IngestResult]:
    """Ingest several files, one batch each."""
    collectors = load_collectors(dep.root)
    out = []
    for path in paths:
        try:
            res = ingest_file(dep, store, path, collectors=collectors, reported_at=reported_at)
        except TargetwatchError as exc:  # e.g. the store refused the batch: this file fails, the next one is tried
            res = IngestResult(file=str(path), collector=None, error=str(exc))
        except Exception as exc:
            log.debug("%s: unexpected failure", path, exc_info=True)
            res = IngestResult(file=str(path), collector=None, error=f"{path}: failed: {type(exc).__name__}: {str(exc)[:300]}")
        out.append(res)
        if progress:
            progress(res)
    return out


def record_runs(dep: Deployment, results: list[IngestResult], *, started_at: datetime, finished_at: datetime) -> None:
    """Record what ``targetwatch run`` read as one run per collector, where ``targetwatch jobs`` and
    /metrics read the scheduler's runs."""
    by_collector: dict[str, list[IngestResult]] = {}
    for r in results:
        by_collector.setdefault(r.collector or "(no mapping)", []).append(r)
    for name, mine in by_collector.items():
        batches = [r.batch for r in mine if r.batch]
        errors = [r.error for r in mine if r.error]
        counts = {"rows": sum(b.rows_read for b in batches), "revisions": sum(b.revisions_added for b in batches),
                  "unchanged": sum(b.unchanged for b in batches), "quarantined": sum(b.quarantined for b in batches)}
        detail = (f"targetwatch run: {len(mine)} files, {counts['rows']} rows, {counts['revisions']} new revisions, "
                  f"{counts['unchanged']} unchanged, {counts['quarantined']} quarantined" + "".join(f"; {e}" for e in errors))
        runs.record_run(runs.jobs_db_path(dep.settings), name, scheduled_for=None, started_at=started_at, finished_at=finished_at,
                        status="ok", attempts=1, batches=len(batches), detail=detail, **counts)


def summary_line(r: IngestResult) -> str:
    b = r.batch
    if b is None:
        return r.error or "nothing read"
    text = (f"{b.rows_read} rows read, {b.revisions_added} new revisions, {b.unchanged} unchanged, "
            f"{b.quarantined} quarantined, {r.not_reported} not reported")
    return f"{text}; {r.error}" if r.error else text
