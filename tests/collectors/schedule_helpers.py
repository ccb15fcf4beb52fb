"""Shared by the scheduler tests: a controllable clock for APScheduler, and collector mappings on disk."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

from collectors import runs
from targetwatch.deployment import load_deployment
from targetwatch.periods import TZ
from tests.conftest import EXAMPLE_CONFIG, ROOT, free_port, stop, wait_http
from tests.exporters.receivers import Receiver, send_digests_to

WORKBOOK = EXAMPLE_CONFIG / "inbox" / "shaoyang" / "邵阳市县市区主要经济指标_2023年1-6月.xlsx"
LEADER, LEADER_SUBJECT = "xia_xiangyang", "目标预警｜2023-06｜夏向阳同志分管事项"
# The verdict WORKBOOK turns behind: 大祥区's fiscal revenue growth against the city's mean, in the leader's digest.
BEHIND = ("【落后】地方一般公共预算收入增速高于全市平均水平（大祥区）：大祥区2023年6月地方一般公共预算收入增速为3.2%，"
          "目标高于全市平均水平（3.8%），差0.6个百分点")


def at(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


class Clock:
    """The time the scheduler sees; a test moves it by assigning ``now``."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def install_clock(monkeypatch, clock: Clock) -> None:
    """Make APScheduler's scheduler loop and executor read ``clock`` instead of the wall clock."""
    import apscheduler.executors.base as executor_base
    import apscheduler.schedulers.base as scheduler_base

    class ClockedDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return clock.now.astimezone(tz) if tz else clock.now.replace(tzinfo=None)

    monkeypatch.setattr(scheduler_base, "datetime", ClockedDatetime)
    monkeypatch.setattr(executor_base, "datetime", ClockedDatetime)


def write_collector(config: Path, name: str, body: str, alone: bool = True) -> Path:
    """Write a mapping into a deployment copy; ``alone`` removes the example's own mappings first."""
    folder = config / "collectors"
    folder.mkdir(exist_ok=True)
    if alone:
        for other in folder.glob("*.yaml"):
            if other.stem != name:
                other.unlink()
    path = folder / f"{name}.yaml"
    path.write_text(f"apiVersion: targetwatch/v1\nkind: Collector\nmetadata: {{name: {name}}}\nspec:\n{body}", encoding="utf-8")
    return path


LONG_CSV = "unit,indicator,period,value\n大祥区,社会消费品零售总额,2025-08,101.5\n双清区,社会消费品零售总额,2025-08,88.2\n北塔区,社会消费品零售总额,2025-08,40.1\n"


def shaoyang_drop_folder(config: Path, source: str, schedule: str | None) -> Path:
    """Make the example's 邵阳 monthly mapping read ``drop/`` with ``source`` (a flow mapping such as
    ``{kind: dropfolder}``) on ``schedule`` (None: no schedule at all); returns the new, empty ``drop/``."""
    mapping = config / "collectors" / "shaoyang-monthly.yaml"
    text = mapping.read_text(encoding="utf-8")
    for old, new in (('files: ["inbox/shaoyang/邵阳市县市区主要经济指标_*.xlsx"]', 'files: ["drop/邵阳市县市区主要经济指标_*.xlsx"]'),
                     ("source: {kind: files}", f"source: {source}"),
                     ('  schedule: {working_day: 8, at: "09:00"}\n', f"  schedule: {schedule}\n" if schedule else "")):
        if old not in text:
            raise AssertionError(f"{mapping}: expected {old!r} in the example mapping")
        text = text.replace(old, new)
    mapping.write_text(text, encoding="utf-8")
    (config / "drop").mkdir()
    return config / "drop"


def start_serve(deployment_dir, port: int, log: Path, interval: str) -> subprocess.Popen:
    """``targetwatch serve`` on a deployment as a child process judging 2023-06, logging at INFO into ``log``."""
    return subprocess.Popen([sys.executable, "-c", "from targetwatch.cli import app; app()", "serve", "--config", str(deployment_dir),
                             "--port", str(port), "--period", "2023-06", "--interval", interval],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(log, "w"),
                            env={**os.environ, "TARGETWATCH_LOG_LEVEL": "INFO"})


@contextmanager
def serving_a_drop_folder(deployment_dir: Path, tmp_path: Path, source: str, schedule: str | None,
                          interval: str) -> Iterator[SimpleNamespace]:
    """``serve`` running (healthy) on the example with its 邵阳 monthly mapping on ``drop/`` (see
    :func:`shaoyang_drop_folder`) and digests going to a local webhook receiver. Yields drop, hook, dep, port,
    log and serve; a body that ends normally must see ``serve`` stop cleanly on SIGTERM."""
    drop = shaoyang_drop_folder(deployment_dir, source, schedule)
    hook = Receiver("webhook", free_port()).start()
    send_digests_to(deployment_dir, hook)
    port, log = free_port(), tmp_path / "serve.log"
    serve = start_serve(deployment_dir, port, log, interval)
    try:
        wait_http(f"http://127.0.0.1:{port}/-/healthy", timeout=30)
        yield SimpleNamespace(drop=drop, hook=hook, dep=load_deployment(deployment_dir), port=port, log=log, serve=serve)
        serve.terminate()
        assert serve.wait(timeout=30) == 0
    finally:
        stop(serve)
        hook.stop()


def write_slowly(data: bytes, target: Path, pieces: int = 8, pause: float = 0.1) -> None:
    """Write ``data`` to ``target`` in ``pieces`` with a pause between them, as a slow copy does."""
    step = len(data) // pieces + 1
    with open(target, "wb") as fh:
        for i in range(0, len(data), step):
            fh.write(data[i:i + step])
            fh.flush()
            time.sleep(pause)


def digests_to(hook, marker: str) -> list[tuple[str, str]]:
    """(recipient, subject) of every digest the webhook receiver got whose text holds ``marker``."""
    return [(body["recipient"], body["subject"]) for path, body in list(hook.requests)
            if path.endswith("/digest") and marker in body["markdown"]]


def assert_one_collection_landed(dep) -> None:
    """The jobs database holds exactly one successful run that landed a batch: the 邵阳 monthly collector's."""
    history = runs.run_history(runs.jobs_db_path(dep.settings))
    ok = history[(history.status == "ok") & (history.batches > 0)]
    assert ok[["collector", "batches", "quarantined"]].values.tolist() == [["shaoyang-monthly", 1, 0]]
