"""Workbooks are parsed in a child process with a memory and time limit, so no workbook can abort the caller.

calamine is Rust: a workbook that makes it allocate beyond what the machine has ends in an allocation
failure that aborts the whole process (SIGABRT), which no ``except`` can catch. The limits of
:mod:`collectors.limits` reject the known shapes of such files before any parsing; this child is the
backstop for the shapes nobody has thought of. It parses the sheets a mapping asks for under
``RLIMIT_AS`` and sends their cells back; its death becomes a located rejection of that one file.

The child is started as ``python -I -m collectors.sandbox`` and imports nothing but python-calamine. It sends
each sheet as soon as it has parsed it, so the caller reads one sheet while the child parses the next. With a
gate (``collectors.limits.SheetGate``), the child parses each sheet only once the caller has let it through.
"""

from __future__ import annotations

import datetime as _dt
import json
import pickle
import re
import signal
import subprocess
import sys
import tempfile
import threading
from typing import Callable, Iterator

# Cell values calamine returns besides str, int, float and bool: the only classes the parent unpickles.
_CELL_CLASSES = {("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta")}


class WorkbookParseError(Exception):
    """The child could not parse the workbook; the message says why (never a traceback)."""


class _CellUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _CELL_CLASSES:
            return getattr(_dt, name)
        raise pickle.UnpicklingError(f"unexpected class {module}.{name} from the workbook parser")


class SheetStream:
    """The sheets a child parses, as it parses them: ``names`` (every sheet of the workbook) first, then each
    sheet matching ``patterns`` as ``(name, grid)``, so that the caller reads one sheet while the next is parsed.

    Use as a context manager; leaving it ends the child. Raises :class:`WorkbookParseError` (on opening or while
    iterating) when the workbook is unreadable, or the child exceeds its limits or dies."""

    def __init__(self, path: str, patterns: list[str], memory_mb: int, seconds: float, gate: Callable[[str], None] | None = None):
        """``gate``: called with each sheet's name, in order, before the child may parse that sheet (it raises to stop
        the child); it runs in a thread of its own, so that the gate of sheet N+1 runs while the caller reads sheet N."""
        self.memory_mb, self.seconds = memory_mb, seconds
        self._gate_error: BaseException | None = None
        request = json.dumps({"path": path, "patterns": patterns, "memory_mb": memory_mb, "gated": gate is not None}).encode() + b"\n"
        # A checked file passed as /proc/self/fd/N (collectors.ingest): the child inherits descriptor N.
        inherited = (int(path.rsplit("/", 1)[1]),) if path.startswith("/proc/self/fd/") else ()
        # -I (isolated): neither the working directory nor PYTHON* variables reach the child's sys.path, so a
        # collectors/sandbox.py planted where the service runs is never imported in its place.
        # Its stderr goes to a file: a pipe nobody reads while sheets stream could fill up and stall the child.
        self._stderr = tempfile.TemporaryFile()
        self._child = subprocess.Popen([sys.executable, "-I", "-m", "collectors.sandbox"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=self._stderr, pass_fds=inherited)
        self._gate: threading.Thread | None = None
        self._expired = threading.Event()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()
        try:
            try:
                self._child.stdin.write(request)
                self._child.stdin.flush()
                if gate is None:
                    self._child.stdin.close()
            except BrokenPipeError:  # the child is gone already: reading its answer says why
                pass
            self.names = list(self._next("names"))
        except BaseException:
            self.close()
            raise
        if gate is not None:
            wanted = [re.compile(p) for p in patterns]
            parsed = [name for name in self.names if any(p.search(name) for p in wanted)]  # as the child chooses them
            self._gate = threading.Thread(target=self._open_gates, args=(gate, parsed), daemon=True)
            self._gate.start()

    def _open_gates(self, gate: Callable[[str], None], names: list[str]) -> None:
        """Let the child parse each sheet once ``gate`` passes it; a gate that raises stops the child."""
        try:
            for name in names:
                gate(name)
                self._child.stdin.write(b"go\n")
                self._child.stdin.flush()
            self._child.stdin.close()
        except (BrokenPipeError, ValueError):  # the child is gone (or its pipe closed): reading its answer says why
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the reader: it raises it in place of the child's answer
            self._gate_error = exc
            self._child.kill()

    def _expire(self) -> None:
        self._expired.set()
        self._child.kill()

    def _next(self, expected: str):
        try:
            status, payload = _CellUnpickler(self._child.stdout).load()  # one unpickler per message: memos are per dump
        except Exception:  # anything unreadable on the pipe is a failed parse, never trusted further
            raise self._failure() from None
        if status == "error":
            raise WorkbookParseError(str(payload))
        if status != expected and not (expected == "sheet" and status == "done"):
            raise WorkbookParseError(f"the workbook parser answered {status!r} where {expected!r} was due")
        return None if status == "done" else payload

    def _failure(self) -> BaseException:
        self._child.kill()
        returncode = self._child.wait()
        if self._gate is not None:
            self._gate.join()
        if self._gate_error is not None:
            return self._gate_error
        if self._expired.is_set():
            return WorkbookParseError(f"the workbook parser did not finish within {self.seconds:g} s (settings limits.parser_seconds)")
        if returncode < 0:
            try:
                name = signal.Signals(-returncode).name
            except ValueError:
                name = f"signal {-returncode}"
            return WorkbookParseError(f"the workbook parser died ({name}) within its memory limit of {self.memory_mb} MB "
                                      "(settings limits.parser_memory_mb): the file is too large or malformed")
        self._stderr.seek(max(self._stderr.seek(0, 2) - 65536, 0))  # its last words are enough
        detail = self._stderr.read().decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        return WorkbookParseError(f"the workbook parser failed (exit {returncode}): {detail[0][:300]}")

    def __iter__(self) -> Iterator[tuple[str, list[list]]]:
        while (sheet := self._next("sheet")) is not None:
            name, grid = sheet
            yield name, grid

    def close(self) -> None:
        self._timer.cancel()
        if self._child.poll() is None:
            self._child.kill()
        self._child.wait()
        if self._gate is not None:
            self._gate.join()
        for stream in (self._child.stdin, self._child.stdout, self._stderr):
            try:
                stream.close()
            except OSError:  # a request the child never read
                pass

    def __enter__(self) -> "SheetStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_sheets(path: str, patterns: list[str], memory_mb: int, seconds: float) -> tuple[list[str], dict[str, list[list]]]:
    """The sheet names of a workbook and the cell grids of the sheets matching ``patterns`` (regular expressions).

    Raises :class:`WorkbookParseError` when the workbook is unreadable, or the child exceeds its limits or dies."""
    with SheetStream(path, patterns, memory_mb, seconds) as stream:
        return stream.names, dict(stream)


def _child() -> int:
    import resource

    request = json.loads(sys.stdin.buffer.readline())
    limit = int(request["memory_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out = sys.stdout.buffer

    def send(status: str, payload) -> None:
        pickle.dump((status, payload), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    try:
        from python_calamine import CalamineWorkbook

        workbook = CalamineWorkbook.from_path(request["path"])
        names = list(workbook.sheet_names)
        send("names", names)
        wanted = [re.compile(p) for p in request["patterns"]]
        for name in names:
            if any(p.search(name) for p in wanted):
                if request.get("gated") and sys.stdin.buffer.readline().strip() != b"go":
                    return 0  # the caller stopped before this sheet (a limit): nothing more is parsed
                send("sheet", (name, workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)))
        send("done", None)
    except MemoryError:
        send("error", f"the workbook needs more than the parser's memory limit of {request['memory_mb']} MB "
                      "(settings limits.parser_memory_mb)")
    except Exception as exc:  # calamine raises its own error types for broken or non-Excel files
        send("error", f"not a readable workbook: {type(exc).__name__}: {str(exc)[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(_child())
