"""The live scheduler with a controllable clock: downtime, misfire, retries and alerts, SIGTERM."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from collectors import runs
from collectors.schedule import CollectionScheduler
from targetwatch.deployment import load_deployment
from tests.collectors.schedule_helpers import LONG_CSV, Clock, at, install_clock, write_collector
from tests.conftest import ROOT

DAILY_FILES = """\
  files: ["daily/*.csv"]
  sheets: [{shape: long}]
  schedule: {cron: "0 9 * * *", misfire_grace: GRACE}
"""


@pytest.fixture
def clock(monkeypatch):
    c = Clock(at(2025, 9, 30, 8))
    install_clock(monkeypatch, c)
    return c


@pytest.fixture
def daily(deployment_dir, request):
    # Four days of grace by default: every run missed during a three-day downtime is still due, and
    # coalescing must turn them into one run.
    grace = getattr(request, "param", 4 * 86400)
    write_collector(deployment_dir, "daily", DAILY_FILES.replace("GRACE", str(grace)))
    (deployment_dir / "daily").mkdir()
    (deployment_dir / "daily" / "retail.csv").write_text(LONG_CSV, encoding="utf-8")
    return load_deployment(deployment_dir)


def test_jobs_persist_beside_the_store_with_their_next_run(daily, clock):
    service = CollectionScheduler(daily, clock=clock)
    service.start()
    service.shutdown()
    assert service.jobs_db == daily.root.parent / "store.jobs.db"
    assert runs.next_run_times(service.jobs_db) == {"daily": at(2025, 9, 30, 9)}


def test_a_run_missed_during_downtime_runs_once_after_restart(daily, clock):
    first = CollectionScheduler(daily, clock=clock)
    first.start()
    first.shutdown()
    clock.now = at(2025, 10, 3, 10)  # down over the 09:00 runs of 30 Sep, 1, 2 and 3 Oct
    collected = threading.Event()
    second = CollectionScheduler(daily, clock=clock, on_collected=lambda result: collected.set())
    second.start()
    assert collected.wait(15)
    second.shutdown(wait=True)
    history = runs.run_history(second.jobs_db)
    assert history[["collector", "status", "attempts", "rows", "revisions"]].values.tolist() == [["daily", "ok", 1, 3, 3]]
    assert runs.next_run_times(second.jobs_db) == {"daily": at(2025, 10, 4, 9)}


@pytest.mark.parametrize("daily", [21600], indirect=True)
def test_a_run_missed_by_more_than_the_grace_time_is_recorded_not_run(daily, clock, store):
    first = CollectionScheduler(daily, clock=clock)
    first.start()
    first.shutdown()
    clock.now = at(2025, 10, 3, 15, 1)  # the last missed run (3 Oct 09:00) is 6 h 1 min late
    second = CollectionScheduler(daily, clock=clock)
    second.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and runs.run_history(second.jobs_db).empty:
        time.sleep(0.05)
    second.shutdown(wait=True)
    history = runs.run_history(second.jobs_db)
    assert history[["status", "scheduled_for"]].values.tolist() == [["missed", "2025-10-03T09:00:00+08:00"]]
    assert runs.next_run_times(second.jobs_db) == {"daily": at(2025, 10, 4, 9)}


def test_a_changed_schedule_replaces_the_persisted_job(daily, clock):
    first = CollectionScheduler(daily, clock=clock)
    first.start()
    first.shutdown()
    write_collector(daily.root, "daily", DAILY_FILES.replace('cron: "0 9 * * *"', "working_day: 1, at: '10:00'").replace("GRACE", "60"))
    clock.now = at(2025, 9, 30, 8, 30)
    second = CollectionScheduler(load_deployment(daily.root), clock=clock)
    second.start()
    second.shutdown()
    assert runs.next_run_times(second.jobs_db) == {"daily": at(2025, 10, 9, 10)}  # National Day: 1st working day is the 9th


SIGTERM_SCRIPT = textwrap.dedent("""
    import sys, threading, time
    import pandas as pd
    from collectors.schedule import CollectionScheduler
    from collectors.sources import CollectionResult, SourceKind, register_source
    from collectors.sources.records import records_to_raw
    from collectors.validate import validate
    from targetwatch.deployment import load_deployment
    from targetwatch.model import Strict

    class SlowOptions(Strict):
        marker: str

    @register_source("slow")
    class Slow(SourceKind):
        # Lands two chunks in one batch, pausing between them, so that SIGTERM arrives mid-batch.
        Options = SlowOptions

        def collect(self, store, reported_at):
            mapping = self.collector.spec.mapping
            def chunks():
                for i, unit in enumerate(["大祥区", "双清区"]):
                    frame = pd.DataFrame({"u": [unit], "v": [10.0 + i]})
                    yield validate(records_to_raw(frame, mapping, "slow"), self.deployment)
                    if i == 0:
                        open(self.options.marker, "w").write("mid-batch")
                        time.sleep(3)
            batch = store.ingest(chunks(), source="slow", content_hash="slow-1", reported_at=reported_at)
            open(self.options.marker, "a").write(" done")
            return CollectionResult(self.collector.metadata.name, batches=[batch])

    service = CollectionScheduler(load_deployment(sys.argv[1]))
    threading.Timer(1.0, lambda: service.run_now("slow")).start()
    service.run_until_signal()
    print("stopped cleanly")
""")


def _start_slow_service(deployment_dir, tmp_path):
    marker = tmp_path / "marker"
    write_collector(deployment_dir, "slow", f"""\
  source: {{kind: slow, marker: "{marker}"}}
  schedule: {{every: 1d}}
  mapping: {{fields: {{unit: u, value: v}}, fixed: {{indicator: retail_sales, period: "2025-08"}}}}
""")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SIGTERM_SCRIPT, str(deployment_dir)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if not marker.exists():
        proc.kill()
        raise AssertionError(proc.communicate()[1])
    assert marker.read_text() == "mid-batch"
    return proc, marker


def _landed(tmp_path) -> list:
    from targetwatch.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "store.db")
    try:
        frame = store.read()
        return sorted(zip(frame.unit, frame.value)), len(store.batches())
    finally:
        store.close()


def test_sigterm_during_a_collection_lets_the_batch_finish(deployment_dir, tmp_path):
    proc, marker = _start_slow_service(deployment_dir, tmp_path)
    try:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out.strip() == "stopped cleanly"
    assert marker.read_text() == "mid-batch done"
    assert _landed(tmp_path) == ([("daxiang", 10.0), ("shuangqing", 11.0)], 1)
    assert runs.run_history(runs.jobs_db_path(load_deployment(deployment_dir).settings))["status"].tolist() == ["ok"]


def test_a_collection_killed_mid_batch_leaves_the_store_as_it_was(deployment_dir, tmp_path):
    proc, marker = _start_slow_service(deployment_dir, tmp_path)
    proc.kill()
    proc.communicate(timeout=30)
    assert marker.read_text() == "mid-batch"
    assert _landed(tmp_path) == ([], 0)


def test_newly_loaded_mappings_reschedule_the_running_scheduler(daily, clock, deployment_dir):
    from collectors.layout import load_collectors

    service = CollectionScheduler(daily, clock=clock)
    service.start()
    try:
        assert [job.id for job in service.scheduler.get_jobs()] == ["daily"]
        path = deployment_dir / "collectors" / "daily.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace('cron: "0 9 * * *"', 'cron: "0 11 * * *"'), encoding="utf-8")
        service.use_collectors(load_collectors(deployment_dir))
        assert service.scheduler.get_job("daily").next_run_time == at(2025, 9, 30, 11)
        path.unlink()
        service.use_collectors(load_collectors(deployment_dir))
        assert service.scheduler.get_jobs() == [] and "daily" not in service.collectors
    finally:
        service.shutdown()


def test_a_schedule_added_while_serving_is_taken_up_even_when_no_collector_was_scheduled_at_start(deployment_dir):
    # serve reloads the mappings every cycle; a deployment that starts with manual collectors only must
    # still schedule one that gains a schedule, without a restart.
    from exporters.cli import _attach_scheduler
    from exporters.ledger import Ledger, ledger_path
    from exporters.service import Service

    for path in (deployment_dir / "collectors").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text("\n".join(line for line in text.splitlines() if "schedule:" not in line) + "\n", encoding="utf-8")
    dep = load_deployment(deployment_dir)
    service = Service(dep, evaluate=lambda *a, **k: __import__("pandas").DataFrame(), ledger=Ledger(ledger_path(dep.settings)), port=0)
    _attach_scheduler(service, dep)
    try:
        assert service.config_listeners, "nothing listens for newly loaded mappings"
        for start, _ in service._backgrounds:
            start()
        service.evaluate()  # the first cycle, as serve runs it at start
        path = deployment_dir / "collectors" / "long-csv.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace("spec:\n", 'spec:\n  schedule: {cron: "0 9 5 * *"}\n', 1), encoding="utf-8")
        service.evaluate()  # the next cycle loads the mappings and hands them to the scheduler
        [(start, _)] = service._backgrounds
        assert [job.id for job in start.__self__.scheduler.get_jobs()] == ["long-csv"]
    finally:
        for _, stop in service._backgrounds:
            stop()
        service.ledger.close()
