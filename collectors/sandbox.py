"""Workbooks are parsed in a child process with a memory and time limit, so no workbook can abort the caller.

calamine is Rust: a workbook that makes it allocate beyond what the machine has ends in an allocation
failure that aborts the whole process (SIGABRT), which no ``except`` can catch. The limits of
:mod:`collectors.limits` reject the known shapes of such files before any parsing; this child is the
backstop for the shapes nobody has thought of. It parses the sheets a mapping asks for under
``RLIMIT_AS`` and sends their cells back; its death becomes a located rejection of that one file.

The child is started as ``python -I -m collectors.sandbox`` and imports nothing but python-calamine.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import pickle
import re
import signal
import subprocess
import sys

# Cell values calamine returns besides str, int, float and bool: the only classes the parent unpickles.
_CELL_CLASSES = {("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta")}


class WorkbookParseError(Exception):
    """The child could not parse the workbook; the message says why (never a traceback)."""


class _CellUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _CELL_CLASSES:
            return getattr(_dt, name)
        raise pickle.UnpicklingError(f"unexpected class {module}.{name} from the workbook parser")


def read_sheets(path: str, patterns: list[str], memory_mb: int, seconds: float) -> tuple[list[str], dict[str, list[list]]]:
    """The sheet names of a workbook and the cell grids of the sheets matching ``patterns`` (regular expressions).

    Raises :class:`WorkbookParseError` when the workbook is unreadable, or the child exceeds its limits or dies."""
    request = json.dumps({"path": path, "patterns": patterns, "memory_mb": memory_mb}).encode()
    # A checked file passed as /proc/self/fd/N (collectors.ingest): the child inherits descriptor N.
    inherited = (int(path.rsplit("/", 1)[1]),) if path.startswith("/proc/self/fd/") else ()
    try:
        # -I (isolated): neither the working directory nor PYTHON* variables reach the child's sys.path, so a
        # collectors/sandbox.py planted where the service runs is never imported in its place.
        done = subprocess.run([sys.executable, "-I", "-m", "collectors.sandbox"], input=request, capture_output=True,
                              timeout=seconds, check=False, pass_fds=inherited)
    except subprocess.TimeoutExpired:
        raise WorkbookParseError(f"the workbook parser did not finish within {seconds:g} s (settings limits.parser_seconds)") from None
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        raise WorkbookParseError(f"the workbook parser died ({name}) within its memory limit of {memory_mb} MB "
                                 "(settings limits.parser_memory_mb): the file is too large or malformed")
    try:
        status, payload = _CellUnpickler(io.BytesIO(done.stdout)).load()
    except Exception:  # anything unreadable on the pipe is a failed parse, never trusted further
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise WorkbookParseError(f"the workbook parser failed (exit {done.returncode}): {detail[0][:300]}") from None
    if status != "ok":
        raise WorkbookParseError(str(payload))
    names, grids = payload
    return list(names), dict(grids)


def _child() -> int:
    import resource

    request = json.loads(sys.stdin.buffer.read())
    limit = int(request["memory_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out = sys.stdout.buffer
    try:
        from python_calamine import CalamineWorkbook

        workbook = CalamineWorkbook.from_path(request["path"])
        names = list(workbook.sheet_names)
        wanted = [re.compile(p) for p in request["patterns"]]
        grids = {name: workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
                 for name in names if any(p.search(name) for p in wanted)}
        result = ("ok", (names, grids))
    except MemoryError:
        result = ("error", f"the workbook needs more than the parser's memory limit of {request['memory_mb']} MB "
                           "(settings limits.parser_memory_mb)")
    except Exception as exc:  # calamine raises its own error types for broken or non-Excel files
        result = ("error", f"not a readable workbook: {type(exc).__name__}: {str(exc)[:300]}")
    pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child())
