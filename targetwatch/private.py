"""Files and folders the service creates are private from birth: files 0600, folders 0700.

Stores, the notification ledger (leaders' contact details), the spool, reports and generated
configuration that holds a secret are created with their final mode in the ``open``/``mkdir`` call
itself, never ``chmod``-ed after the content is written, so there is no moment when another local
user can read them. This module is the one place that creates them.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

FILE_MODE = 0o600
DIR_MODE = 0o700
_UMASK_LOCK = threading.Lock()


def private_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` and any missing parents as 0700 folders; existing folders are left as they are."""
    path = Path(path)
    missing = []
    for p in (path, *path.parents):
        if os.path.lexists(p):
            break
        missing.append(p)
    for p in reversed(missing):
        try:
            os.mkdir(p, DIR_MODE)
        except FileExistsError:
            pass  # created meanwhile by another thread or process
    return path


def create_private(path: str | os.PathLike) -> Path:
    """Make sure ``path`` exists as a regular file; a new one is created 0600 (an existing one is kept).

    ``O_NOFOLLOW``: a symbolic link planted where the file should be is refused, not written through."""
    path = Path(path)
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    os.close(fd)
    return path


def write_private(path: str | os.PathLike, content: str | bytes, encoding: str = "utf-8", *, dir_fd: int | None = None) -> Path:
    """Write a whole file atomically, 0600 from birth: a temporary file beside it, then a rename.

    ``dir_fd``: an open folder to write into (``path``'s name only is used), so a folder swapped for a
    link after it was opened is never written through."""
    path = Path(path)
    if dir_fd is None:
        private_dir(path.parent)
    data = content.encode(encoding) if isinstance(content, str) else content
    tmp_name = f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    tmp, final = (tmp_name, path.name) if dir_fd is not None else (path.with_name(tmp_name), path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    return path


def open_folder(path: str | os.PathLike) -> int:
    """A descriptor of the real folder ``path`` (not a link: ``O_NOFOLLOW``), to move and write into by name
    relative to it. Raises OSError (ELOOP, ENOTDIR) when ``path`` is a link or not a folder."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files created inside the block (by a library that opens them itself) get no group or other bits.

    The umask belongs to the process; the lock keeps two blocks from restoring each other's value."""
    with _UMASK_LOCK:
        old = os.umask(0o077)
        try:
            yield
        finally:
            os.umask(old)


def connect_sqlite(path: str | os.PathLike, *, wal: bool = True, **kwargs) -> sqlite3.Connection:
    """An SQLite connection to a private database file.

    The file is created 0600 before SQLite opens it, and the connection (with its ``-wal`` and ``-shm``
    files when ``wal``) is set up under a private umask, so every file SQLite adds is private too."""
    path = create_private(path)
    with private_umask():
        con = sqlite3.connect(path, **kwargs)
        if wal:
            _set_wal(con)
    return con


def _set_wal(con: sqlite3.Connection, attempts: int = 50) -> None:
    # Switching a new file to WAL while another connection opens it can fail at once with "database is
    # locked": SQLite does not call the busy handler there. The other side finishes within milliseconds.
    for attempt in range(attempts):
        try:
            con.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.1)


def in_tracked_tree(path: str | os.PathLike) -> bool:
    """Whether ``path`` lies in a git work tree and is not ignored there: no place for a file holding a secret."""
    path = Path(path).absolute()
    folder = next((p for p in (path.parent, *path.parent.parents) if p.is_dir()), None)
    if folder is None:
        return False
    try:
        ignored = subprocess.run(["git", "-C", str(folder), "check-ignore", "-q", str(path)], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False  # no git: nothing can commit the file by accident here
    return ignored.returncode == 1  # 0 = ignored, 1 = not ignored (inside a work tree), 128 = not a work tree
