"""The ``dropfolder`` source: departments drop workbooks into a (possibly shared) folder.

Each new file goes through the file collectors (:func:`collectors.ingest.ingest_file`) as one batch.
Then it moves: to ``archive/`` when it was read (with a report beside it if rows were quarantined), to
``rejected/`` with a report beside it when it could not be read at all, and to ``archive/`` unread when
its content was already ingested (a duplicate). A file still being copied is left alone: its size and
modification time must stay the same for ``settle_seconds`` before it is read. Office lock files and
temporary names are never read, so a file copied under a temporary name and then renamed is read whole.

``targetwatch serve`` watches the folders with filesystem events (:class:`DropFolderWatcher`, inotify
through watchdog) instead of polling them: a file that appears or changes is looked at again
``settle_seconds`` after its last event, and once it has settled the collector runs. The watcher notes
when it first saw each file with its current size and modification time, so the run that follows reads
it without settling it again. Where events are unavailable (a network file system, inotify limits), the
watcher polls the folder instead and says so in the log.

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
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Callable

from pydantic import Field
from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

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
    settle_seconds: float = Field(1.0, ge=0, description="a file must keep its size and mtime this long before it is read")


def _is_temporary(path: Path) -> bool:
    return path.name.startswith(_TEMPORARY_PREFIXES) or path.name.lower().endswith(_TEMPORARY_SUFFIXES)


def _signature(p: Path) -> tuple[int, int] | None:
    try:
        st = p.stat()
        return st.st_size, st.st_mtime_ns
    except FileNotFoundError:
        return None


class Sightings:
    """When each file was first seen with its current (size, mtime): by the watcher's events or by a run."""

    def __init__(self):
        self._seen: dict[Path, tuple[tuple[int, int], float]] = {}
        self._lock = threading.Lock()

    def note(self, path: Path) -> tuple[tuple[int, int], float] | None:
        """Look at ``path`` now: its signature and the monotonic time it was first seen with it (None: gone)."""
        sig = _signature(path)
        with self._lock:
            if sig is None:
                self._seen.pop(path, None)
                return None
            known = self._seen.get(path)
            if known is None or known[0] != sig:
                known = self._seen[path] = (sig, time.monotonic())
            return known

    def forget(self, path: Path) -> None:
        with self._lock:
            self._seen.pop(path, None)


SIGHTINGS = Sightings()  # one per process: the watcher and the runs of the drop-folder source share it


def settled_files(paths: list[Path], settle_seconds: float) -> tuple[list[Path], list[Path]]:
    """Split ``paths`` into files that stayed unchanged for ``settle_seconds`` and files still changing.

    A file seen (by the watcher or an earlier run) with its current size and mtime at least
    ``settle_seconds`` ago needs no waiting; otherwise the run waits ``settle_seconds`` and looks again."""
    sighted = {p: SIGHTINGS.note(p) for p in paths}
    before = {p: seen[0] if seen else None for p, seen in sighted.items()}
    known = all(seen is None or time.monotonic() - seen[1] >= settle_seconds for seen in sighted.values())
    if settle_seconds and paths and not known:
        time.sleep(settle_seconds)
    settled, moving = [], []
    now = time.time()
    for p in paths:
        sig = _signature(p)
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
    SIGHTINGS.forget(path)
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


# File systems whose changes made on another machine raise no local inotify event: polled instead.
_REMOTE_FILE_SYSTEMS = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "fuse.sshfs", "fuse.rclone",
                                  "fuse.gvfsd-fuse", "davfs", "fuse.davfs2", "glusterfs", "fuse.glusterfs", "ceph", "fuse.ceph"})


def _file_system(folder: Path) -> str | None:
    """The type of the file system ``folder`` is on (Linux: the longest mount point above it), if known."""
    try:
        mounts = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    best, kind = "", None
    target = str(folder.resolve())
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
            best, kind = point, parts[2]
    return kind


class _Watch:
    """One watched folder: the collectors reading it, by glob, and their settle times."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.patterns: list[tuple[str, str, float]] = []  # (collector, file-name glob, settle_seconds)

    def collectors_of(self, path: Path) -> list[tuple[str, float]]:
        if path.parent != self.folder or _is_temporary(path):
            return []
        return [(name, settle) for name, pattern, settle in self.patterns if path.match(pattern)]


class DropFolderWatcher:
    """Calls ``on_ready(collector)`` when a new file in a drop folder has settled, driven by filesystem events.

    :meth:`watch` takes the deployment's collector mappings (again at every configuration reload); the
    folders of the drop-folder collectors are watched with inotify, or polled every ``poll_seconds``
    where events are unavailable (logged). A file is looked at ``settle_seconds`` after its last event;
    still changing, it waits again. Files already in a folder when it starts being watched count as new.
    """

    def __init__(self, on_ready: Callable[[str], None], poll_seconds: float = 2.0):
        self.on_ready = on_ready
        self.poll_seconds = poll_seconds
        self._watches: dict[Path, _Watch] = {}
        self._observers: dict[Path, object] = {}
        self._due: dict[Path, float] = {}  # path → monotonic time to look at it again
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- what is watched -------------------------------------------------------------------------

    def watch(self, deployment, collectors) -> None:
        """Watch the folders of every ``dropfolder`` collector of ``collectors`` (and stop watching others)."""
        wanted: dict[Path, _Watch] = {}
        for collector in collectors:
            spec = collector.spec.source
            if spec is None or spec.kind != "dropfolder":
                continue
            settle = DropFolderOptions.model_validate(spec.options or {}).settle_seconds
            for pattern in collector.spec.files:
                base = Path(pattern) if Path(pattern).is_absolute() else deployment.root / pattern
                if any(ch in str(base.parent) for ch in "*?["):
                    log.warning("drop folder %s: %s has a wildcard folder; not watched (read by its schedule only)",
                                collector.metadata.name, pattern)
                    continue
                wanted.setdefault(base.parent, _Watch(base.parent)).patterns.append((collector.metadata.name, base.name, settle))
        with self._cond:
            for folder in [f for f in self._observers if f not in wanted]:
                self._unwatch(folder)
            self._watches = wanted
            for folder, watch in wanted.items():
                if folder not in self._observers:
                    self._start_observer(folder, watch)

    def _start_observer(self, folder: Path, watch: _Watch) -> None:
        names = ", ".join(sorted({n for n, _, _ in watch.patterns}))
        if not folder.is_dir():
            log.warning("drop folder %s: %s does not exist; watched from the next configuration reload once it does", names, folder)
            return
        handler = _Handler(self)
        kind = _file_system(folder)
        observer = None
        if kind not in _REMOTE_FILE_SYSTEMS:
            try:
                observer = Observer()
                observer.schedule(handler, str(folder), recursive=False)
                observer.start()
                log.info("drop folder %s: watching %s with filesystem events", names, folder)
            except OSError as exc:  # inotify watch or instance limits
                log.warning("drop folder %s: filesystem events unavailable for %s (%s); polling every %g s instead",
                            names, folder, exc, self.poll_seconds)
                observer = None
        else:
            log.warning("drop folder %s: %s is on a network file system (%s), where events from other machines do not "
                        "arrive; polling every %g s instead", names, folder, kind, self.poll_seconds)
        if observer is None:
            observer = PollingObserver(timeout=self.poll_seconds)
            observer.schedule(handler, str(folder), recursive=False)
            observer.start()
        self._observers[folder] = observer
        for entry in folder.iterdir():  # what is already there counts as new
            self._event(entry)

    def _unwatch(self, folder: Path) -> None:
        observer = self._observers.pop(folder)
        observer.stop()
        self._due = {p: t for p, t in self._due.items() if p.parent != folder}

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            self._stopping = False
        self._thread = threading.Thread(target=self._run, name="targetwatch-dropfolder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            observers = list(self._observers.values())
            self._observers.clear()
            self._cond.notify_all()
        for observer in observers:
            observer.stop()
        for observer in observers:
            observer.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- events and settling ---------------------------------------------------------------------

    def _event(self, path: Path) -> None:
        """Something happened to ``path``: look at it again once it may have settled."""
        with self._cond:
            watch = self._watches.get(path.parent)
            wanted = watch.collectors_of(path) if watch else []
            if not wanted:
                return
            seen = SIGHTINGS.note(path)
            if seen is None:
                self._due.pop(path, None)
                return
            self._due[path] = time.monotonic() + max(settle for _, settle in wanted)
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                now = time.monotonic()
                ready = [p for p, t in self._due.items() if t <= now]
                if not ready:
                    self._cond.wait(min(self._due.values()) - now if self._due else None)
                    continue
                for p in ready:
                    del self._due[p]
                fire = self._settled(ready)
            for name in fire:
                try:
                    self.on_ready(name)
                except Exception:  # the next event or the collector's schedule tries again
                    log.exception("drop folder %s: starting the collection failed", name)

    def _settled(self, paths: list[Path]) -> list[str]:
        """The collectors with a settled file among ``paths``; files still changing are looked at again later."""
        fire: list[str] = []
        now = time.monotonic()
        for path in paths:
            watch = self._watches.get(path.parent)
            wanted = watch.collectors_of(path) if watch else []
            seen = SIGHTINGS.note(path)
            if not wanted or seen is None:
                continue
            settle = max(s for _, s in wanted)
            mtime_age = time.time() - seen[0][1] / 1e9
            wait = max(settle - (now - seen[1]), settle - mtime_age)
            if wait > 0:
                self._due[path] = now + wait
                continue
            fire += [name for name, _ in wanted if name not in fire]
        return fire


class _Handler(FileSystemEventHandler):
    """Forwards the events of a watched folder to its :class:`DropFolderWatcher`."""

    def __init__(self, watcher: DropFolderWatcher):
        super().__init__()
        self.watcher = watcher

    def on_any_event(self, event) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if path:
                self.watcher._event(Path(os.fsdecode(path)))
