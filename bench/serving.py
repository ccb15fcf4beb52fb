"""What ``bench/latency.py`` and ``bench/soak.py`` share: ``targetwatch serve`` on a copy of the example
deployment, its 邵阳 monthly workbooks arriving through a drop folder, and the digests at a local receiver.

The pieces are the test suite's own (``tests/conftest.py``: free ports, waiting, stopping by PID;
``tests/exporters/receivers.py``: the webhook receiver), set up the way the end-to-end test
``tests/collectors/test_schedule_serve.py`` sets them up, except that the drop folder keeps the source's
default settle time unless a settle time is given, and nothing polls it: ``serve`` watches it. Everything binds 127.0.0.1 and stops by PID.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import EXAMPLE_CONFIG, free_port, stop, wait_http  # noqa: E402
from tests.collectors.schedule_helpers import shaoyang_drop_folder  # noqa: E402
from tests.exporters.receivers import Receiver, send_digests_to  # noqa: E402

WORKBOOK = EXAMPLE_CONFIG / "inbox" / "shaoyang" / "邵阳市县市区主要经济指标_2023年1-6月.xlsx"
LEADER = "xia_xiangyang"  # owns 大祥区's fiscal revenue rules, whose verdict each variant flips
PERIOD = "2023-06"


class TimedReceiver(Receiver):
    """The test suite's webhook receiver, noting when each accepted request arrived (monotonic clock)."""

    def __init__(self, port: int):
        super().__init__("webhook", port)
        self.arrivals: list[tuple[float, str, dict]] = []
        self._lock = threading.Lock()

    def check(self, path: str, body: bytes) -> tuple[int, dict]:
        import json

        status, answer = super().check(path, body)
        with self._lock:
            self.arrivals.append((time.monotonic(), path, json.loads(body)))
        return status, answer

    def digests_since(self, since: float, recipient: str = LEADER) -> list[float]:
        """Arrival times of the digests for ``recipient`` that arrived after ``since``."""
        with self._lock:
            return [t for t, path, body in self.arrivals
                    if t > since and path.endswith("/digest") and body.get("recipient") == recipient]


def deployment(root: Path, receiver: Receiver, *, settle_seconds: float | None) -> Path:
    """A copy of the example deployment whose 邵阳 monthly mapping reads ``drop/`` (watched by ``serve`` with
    filesystem events; the mapping keeps its monthly schedule) and whose digests go to the receiver."""
    config = root / "config"
    shutil.copytree(EXAMPLE_CONFIG, config, ignore=shutil.ignore_patterns("__pycache__"))
    (config / "settings.yaml").write_text(f"sqlite_path: {root / 'store.db'}\n", encoding="utf-8")
    source = "{kind: dropfolder}" if settle_seconds is None else f"{{kind: dropfolder, settle_seconds: {settle_seconds}}}"
    shaoyang_drop_folder(config, source, '{working_day: 8, at: "09:00"}')
    send_digests_to(config, receiver)
    return config


def workbook_variants(folder: Path, count: int) -> list[Path]:
    """``count`` copies of the June workbook, each with its own 大祥区 fiscal revenue growth: below the
    city's 3.8% (behind) and above it (on track) in turn, so that every drop changes a verdict of LEADER
    and has a content of its own (a repeated file would be archived unread as a duplicate)."""
    import openpyxl

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(count):
        wb = openpyxl.load_workbook(WORKBOOK)
        ws = wb["2023年1-6月"]
        column = _column(ws, "地方一般公共预算收入", "增速（%）")
        row = next(r for r in range(1, ws.max_row + 1) if "".join(str(ws.cell(r, 1).value or "").split()) in ("大祥", "大祥区"))
        ws.cell(row, column).value = round(5.0 + k / 100, 2) if k % 2 == 0 else round(3.0 - k / 100, 2)
        path = folder / f"{WORKBOOK.stem}_修订{k + 1:02d}.xlsx"
        wb.save(path)
        out.append(path)
    return out


def _column(ws, group: str, header: str) -> int:
    """The column under a merged group header (row 2) with a sub-header (row 3)."""
    current = None
    for c in range(1, ws.max_column + 1):
        current = ws.cell(2, c).value or current
        if current == group and ws.cell(3, c).value == header:
            return c
    raise SystemExit(f"{WORKBOOK.name}: no column {group}/{header}")


def drop(workbook: Path, config: Path) -> float:
    """Copy a workbook into the drop folder as a department would (a temporary name, then the real one);
    return the monotonic time at which the complete file is there."""
    folder = config / "drop"
    partial = folder / f".{workbook.name}.part"
    shutil.copyfile(workbook, partial)
    os.replace(partial, folder / workbook.name)
    return time.monotonic()


def start_serve(config: Path, port: int, log: Path) -> subprocess.Popen:
    """``targetwatch serve`` with its defaults (evaluation interval, collection on), judging June 2023."""
    proc = subprocess.Popen([sys.executable, "-c", "from targetwatch.cli import app; app()", "serve", "--config", str(config),
                             "--port", str(port), "--period", PERIOD],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(log, "w"),
                            env={**os.environ, "TARGETWATCH_LOG_LEVEL": "INFO"})
    wait_http(f"http://127.0.0.1:{port}/-/healthy", timeout=60)
    return proc


def settled(receiver: TimedReceiver, seconds: float, timeout: float, *, first: bool = False) -> None:
    """Wait until no request has reached the receiver for ``seconds``; with ``first``, until one has come
    at all before that (the first evaluation's digests: the example deployment always has late reports)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = receiver.arrivals[-1][0] if receiver.arrivals else None
        if (last is not None or not first) and time.monotonic() - (last or 0.0) >= seconds:
            return
        time.sleep(0.2)
    raise SystemExit(f"the receiver did not settle within {timeout:.0f} s")


__all__ = ["TimedReceiver", "deployment", "drop", "free_port", "settled", "start_serve", "stop", "workbook_variants"]
