"""The ``dropfolder`` source: departments drop workbooks into a (possibly shared) folder.

Each new file goes through the file collectors (:func:`collectors.ingest.ingest_file`) as one batch.
Then it moves: to ``archive/`` when it was read (with a report beside it if rows were quarantined), to
``rejected/`` with a report beside it when it could not be read at all, and to ``archive/`` unread when
its content was already ingested (a duplicate). A file still being copied is left alone: its size and
modification time must stay the same for ``settle_seconds`` before it is read. Office lock files and
temporary names are never read.

The folder is shared, so nothing in it is trusted: entries are judged without following links
(``lstat``, ``O_NOFOLLOW``). A symbolic link or anything but a regular file is refused unread and
moved (the link itself) to ``rejected/``; an ``archive/`` or ``rejected/`` that is a link or not a
folder stops the collector before any file is read or moved. Both are then held open (``O_NOFOLLOW``)
and every move and report goes through those descriptors, so swapping a folder for a link while files
settle redirects nothing. Folders are created 0700 and reports
0600 (:mod:`targetwatch.private`); nothing is written outside the configured folders.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from datetime import datetime
from pathlib import Path

from pydantic import Field

from collectors.ingest import IngestResult, content_hash, due_entries, ingest_file
from collectors.sources import CollectionResult, FileOutcome, SourceKind, register_source
from collectors.sources.files import file_reported_at, seen_hashes
from targetwatch.errors import Location, SourceError
from targetwatch.model import Strict
from targetwatch.private import open_folder, private_dir, write_private
from targetwatch.store import Store

log = logging.getLogger("targetwatch.collectors")
_TEMPORARY_PREFIXES = (".", "~$", "~")
_TEMPORARY_SUFFIXES = (".tmp", ".part", ".crdownload", ".partial", ".filepart")


class DropFolderOptions(Strict):
    """Options of the drop-folder source; folders are relative to the folder of each file glob."""

    archive: str = Field("archive", description="where read files go")
    rejected: str = Field("rejected", description="where unreadable files go, each with a .report.txt")
    settle_seconds: float = Field(5.0, ge=0, description="a file must keep its size and mtime this long before it is read")


def _is_temporary(path: Path) -> bool:
    return path.name.startswith(_TEMPORARY_PREFIXES) or path.name.lower().endswith(_TEMPORARY_SUFFIXES)


def settled_files(paths: list[Path], settle_seconds: float) -> tuple[list[Path], list[Path]]:
    """Split ``paths`` into files that stayed unchanged for ``settle_seconds`` and files still changing."""
    def signature(p: Path):
        try:
            st = p.stat()
            return st.st_size, st.st_mtime_ns
        except FileNotFoundError:
            return None

    before = {p: signature(p) for p in paths}
    if settle_seconds and paths:
        time.sleep(settle_seconds)
    settled, moving = [], []
    now = time.time()
    for p in paths:
        sig = signature(p)
        if sig is None:
            continue
        stable = sig == before[p] and now - sig[1] / 1e9 >= settle_seconds
        (settled if stable else moving).append(p)
    return settled, moving


def check_folder(folder: Path) -> None:
    """Refuse ``folder`` when it exists as anything but a real folder (a link could send files anywhere)."""
    try:
        mode = os.lstat(folder).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(mode):
        what = "a symbolic link" if stat.S_ISLNK(mode) else "not a folder"
        raise SourceError(f"{folder.name}/ is {what}: refusing to move files or write reports there", Location(file=str(folder)))


def _open_checked(folder: Path) -> int:
    """A descriptor of ``archive/`` or ``rejected/`` as checked: every later move and report goes through it,
    so renaming the folder and planting a link in its place (while files settle) redirects nothing."""
    try:
        return open_folder(folder)
    except OSError:
        check_folder(folder)  # names what it is now (a link, not a folder)
        raise SourceError(f"{folder.name}/ changed while it was being opened: refusing to move files or write reports there",
                          Location(file=str(folder))) from None


def _move(path: Path, folder: Path, folder_fd: int, digest: str) -> Path:
    """Rename into the open ``folder`` (a link moves as itself); a name already taken gets a suffix, so nothing
    is overwritten."""
    def taken(name: str) -> bool:
        try:
            os.lstat(name, dir_fd=folder_fd)
            return True
        except FileNotFoundError:
            return False

    name = path.name
    if taken(name):
        name, n = f"{path.stem}.{digest[:12]}{path.suffix}", 1
        while taken(name):
            name, n = f"{path.stem}.{digest[:12]}.{n}{path.suffix}", n + 1
    os.rename(path, name, dst_dir_fd=folder_fd)  # within the drop folder's own tree: never a copy that could follow a link
    return folder / name


def _report(result: IngestResult, store: Store, target: Path, folder_fd: int) -> Path:
    """A plain-text report beside a moved file: why it was rejected, or which rows were quarantined."""
    lines = [f"文件 / file: {result.file}"]
    if result.error:
        lines.append(f"拒收原因 / rejected: {result.error}")
    rows = store.quarantined(result.file)
    if len(rows):
        lines.append(f"隔离行 / quarantined rows: {len(rows)}")
        for r in rows.itertuples(index=False):
            where = Location(file=target.name, sheet=r.sheet, row=None if r.row is None or r.row != r.row else int(r.row),
                             column=r.column)
            lines.append(f"  {where}: {r.reason}")
    return write_private(target.with_name(target.name + ".report.txt"), "\n".join(lines) + "\n", dir_fd=folder_fd)


@register_source("dropfolder")
class DropFolderSource(SourceKind):
    """Ingest settled new files from the folders of ``spec.files``, then archive or reject them."""

    Options = DropFolderOptions

    def collect(self, store: Store, reported_at: datetime) -> CollectionResult:
        opts = self.options
        result = CollectionResult(self.collector.metadata.name)
        files, refused = due_entries(self.deployment, [self.collector])
        targets = sorted({p.parent / name for p in files + refused for name in (opts.archive, opts.rejected)})
        for folder in targets:  # all checked before anything is read, moved or created
            check_folder(folder)
        fds: dict[Path, int] = {}
        try:
            for folder in targets:
                private_dir(folder)
                fds[folder] = _open_checked(folder)
            self._collect(store, reported_at, files, refused, targets, fds, result)
        finally:
            for fd in fds.values():
                os.close(fd)
        return result

    def _collect(self, store: Store, reported_at: datetime, files: list[Path], refused: list[Path], targets: list[Path],
                 fds: dict[Path, int], result: CollectionResult) -> None:
        opts = self.options
        for path in refused:
            if _is_temporary(path) or path in targets:
                continue
            rejected = path.parent / opts.rejected
            moved = _move(path, rejected, fds[rejected], "link" if path.is_symlink() else "special")
            write_private(moved.with_name(moved.name + ".report.txt"),
                          f"文件 / file: {path}\n拒收原因 / refused: a symbolic link or not a regular file; it was not read\n",
                          dir_fd=fds[rejected])
            result.files.append(FileOutcome(str(path), "refused", "a symbolic link or not a regular file: not read", str(moved)))
        candidates = [p for p in files if not _is_temporary(p)]
        settled, moving = settled_files(candidates, opts.settle_seconds)
        result.files += [FileOutcome(str(p), "unsettled", "still being written; read on a later run") for p in moving]
        seen = seen_hashes(store)
        for path in settled:
            archive, rejected = path.parent / opts.archive, path.parent / opts.rejected
            digest = content_hash(path)
            if digest in seen:
                moved = _move(path, archive, fds[archive], digest)
                result.files.append(FileOutcome(str(path), "duplicate", "content already ingested", str(moved)))
                continue
            ingested = ingest_file(self.deployment, store, path, collectors=[self.collector], reported_at=file_reported_at(self.collector, reported_at))
            seen.add(digest)
            if ingested.batch:
                result.batches.append(ingested.batch)
            if ingested.error:
                moved = _move(path, rejected, fds[rejected], digest)
                _report(ingested, store, moved, fds[rejected])
                result.files.append(FileOutcome(str(path), "rejected", ingested.error, str(moved)))
            else:
                moved = _move(path, archive, fds[archive], digest)
                if ingested.batch and ingested.batch.quarantined:
                    _report(ingested, store, moved, fds[archive])
                result.files.append(FileOutcome(str(path), "archived", "", str(moved)))
            log.info("drop folder %s: %s → %s", self.collector.metadata.name, path.name, moved)
