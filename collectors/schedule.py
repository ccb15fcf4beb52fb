"""The scheduled collection service: APScheduler 3 in Asia/Shanghai with a persistent job store.

Each collector mapping with a ``schedule`` becomes one job, triggered by cron, an interval, or "the
Nth Chinese working day of the month" (:class:`WorkingDayTrigger`). Jobs live in an SQLite file beside
the store (``runs.jobs_db_path``), so a restart after downtime finds the missed run and, with
coalescing, runs it once, within ``misfire_grace``. ``max_instances=1`` keeps a slow collection from
overlapping itself. A failing collection is retried with doubling backoff, then reported through
``on_failed`` (an operational alert) and recorded; the store keeps its previous data because each
batch lands whole or not at all. ``shutdown`` lets a collection in progress finish; a process killed
harder leaves the store as it was, because the batch transaction never committed.

``serve`` (exporters/cli.py) builds one :class:`CollectionScheduler` and calls ``start()``; after every successful
collection that changed the store it calls ``on_collected(result)``, where the service evaluates and notifies.

Drop-folder collectors are also driven by filesystem events (:class:`collectors.sources.dropfolder.DropFolderWatcher`),
with or without a schedule: a settled new file runs the collector at once, in a worker thread of its own.
Runs of one collector never overlap, whichever of the schedule and the watcher started them.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime
from typing import Callable

import pandas as pd
from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import create_engine
from apscheduler.schedulers.background import BackgroundScheduler

from collectors import runs, sources
from collectors.layout import Collector, ScheduleSpec, load_collectors
from collectors.sources import CollectionResult
from collectors.sources.dropfolder import DropFolderWatcher
from collectors.triggers import WorkingDayTrigger, describe, trigger_for  # noqa: F401  (re-exported: persisted jobs may name them here)
from targetwatch.deployment import Deployment
from targetwatch.errors import ConfigError, TargetwatchError
from targetwatch.periods import TZ
from targetwatch.private import create_private
from targetwatch.store import Store, store_for

log = logging.getLogger("targetwatch.collectors")
_ACTIVE: dict[str, CollectionScheduler] = {}


def run_job(key: str, name: str, fingerprint: str = "") -> None:
    """The persisted job's entry point: find the live scheduler of this deployment and run the collector."""
    scheduler = _ACTIVE.get(key)
    if scheduler is None:
        log.error("no running scheduler for %s; job %s skipped", key, name)
        return
    scheduler.run_collector(name)


def _default_on_failed(name: str, error: BaseException) -> None:
    log.error("operational alert: collector %s failed after retries: %s", name, error)


class CollectionScheduler:
    """Runs a deployment's scheduled collectors; see the module docstring.

    ``store`` is a Store or a zero-argument factory; by default each run opens the deployment's store in
    its own worker thread and closes it after (an SQLite connection belongs to one thread).
    ``clock`` gives "now" for run records and report times, so tests can control it.
    """

    def __init__(self, deployment: Deployment, store: Store | Callable[[], Store] | None = None, *,
                 on_collected: Callable[[CollectionResult], None] | None = None,
                 on_failed: Callable[[str, BaseException], None] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(TZ), max_workers: int = 2):
        self.deployment = deployment
        self._store = store
        self.on_collected = on_collected
        self.on_failed = on_failed or _default_on_failed
        self.clock = clock
        self.key = str(deployment.root.resolve())
        self.jobs_db = runs.jobs_db_path(deployment.settings)
        self.collectors = {c.metadata.name: c for c in load_collectors(deployment.root)}
        self._stopping = threading.Event()
        self._run_locks: dict[str, threading.Lock] = {}  # one run of a collector at a time
        self._locks_lock = threading.Lock()
        self.watcher = DropFolderWatcher(self.collect_soon)
        self._soon: list[str] = []  # collectors the watcher asked for, run in order by the event worker
        self._soon_cond = threading.Condition()
        self._event_worker: threading.Thread | None = None
        create_private(self.jobs_db)  # SQLAlchemy opens it later; it is born 0600 here
        self.scheduler = BackgroundScheduler(
            timezone=TZ,
            # The run history writes to the same file; wait for its lock as long as it waits (30 s), not
            # SQLAlchemy's default 5 s, so a busy machine does not turn into "database is locked".
            jobstores={"default": SQLAlchemyJobStore(
                engine=create_engine(f"sqlite:///{self.jobs_db}", connect_args={"timeout": 30}))},
            executors={"default": ThreadPoolExecutor(max_workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self.scheduler.add_listener(self._missed, EVENT_JOB_MISSED)

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start in the background: sync the persisted jobs with the mappings, then run what is due."""
        _ACTIVE[self.key] = self
        self._stopping.clear()
        self.scheduler.start(paused=True)
        self._sync_jobs()
        self.scheduler.resume()
        self._event_worker = threading.Thread(target=self._run_soon, name="targetwatch-collect-events", daemon=True)
        self._event_worker.start()
        self.watcher.start()
        self.watcher.watch(self.deployment, list(self.collectors.values()))

    def shutdown(self, wait: bool = True) -> None:
        """Stop: no new runs, retries waiting for their backoff give up, a run in progress finishes."""
        self._stopping.set()
        self.watcher.stop()
        with self._soon_cond:
            self._soon_cond.notify_all()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        if wait and self._event_worker is not None:
            self._event_worker.join(timeout=60)
        _ACTIVE.pop(self.key, None)

    def collect_soon(self, name: str) -> None:
        """Run collector ``name`` as soon as the event worker is free (the watcher calls this; any thread)."""
        with self._soon_cond:
            if name not in self._soon:
                self._soon.append(name)
            self._soon_cond.notify_all()

    def _run_soon(self) -> None:
        while not self._stopping.is_set():
            with self._soon_cond:
                while not self._soon and not self._stopping.is_set():
                    self._soon_cond.wait()
                if self._stopping.is_set():
                    return
                name = self._soon.pop(0)
            try:
                if name in self.collectors:
                    self.run_collector(name)
            except Exception:  # a mapping gone between the event and the run, say: the worker keeps going
                log.exception("collector %s: the run a drop-folder event asked for failed", name)

    def run_until_signal(self) -> None:
        """Start, block until SIGTERM or SIGINT, then shut down gracefully (for the main thread)."""
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            log.info("collection scheduler running: %d jobs", len(self.scheduler.get_jobs()))
            while not stop.wait(1.0):
                pass
            log.info("shutting down: waiting for collections in progress")
            self.shutdown(wait=True)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def use_collectors(self, collectors: list[Collector], deployment: Deployment | None = None) -> None:
        """Take newly loaded mappings (and registry): later runs read with them, and the jobs follow their schedules."""
        if deployment is not None:
            self.deployment = deployment
        self.collectors = {c.metadata.name: c for c in collectors}
        if self.scheduler.running:
            self._sync_jobs()
            self.watcher.watch(self.deployment, collectors)

    def run_now(self, name: str) -> None:
        """Ask the running service to run a scheduled collector now (once, as the same job)."""
        self.scheduler.modify_job(name, next_run_time=datetime.now(TZ))

    def _sync_jobs(self) -> None:
        wanted = {n: c for n, c in self.collectors.items() if c.spec.schedule is not None}
        for job in self.scheduler.get_jobs():
            if job.id not in wanted:
                log.info("removing job %s: no scheduled collector of that name", job.id)
                job.remove()
        for name, collector in wanted.items():
            schedule = collector.spec.schedule
            fingerprint = schedule.model_dump_json()
            existing = self.scheduler.get_job(name)
            if existing is not None and existing.args == (self.key, name, fingerprint):
                continue  # keep its persisted next run time: a run missed during downtime still runs
            self.scheduler.add_job(run_job, trigger_for(schedule), args=(self.key, name, fingerprint), id=name,
                                   name=collector.metadata.title or name, replace_existing=True,
                                   misfire_grace_time=schedule.misfire_grace, coalesce=True, max_instances=1)

    # -- running ------------------------------------------------------------------------------------

    def _open_store(self) -> tuple[Store, bool]:
        return store_for(self._store, self.deployment.settings)

    def run_collector(self, name: str, scheduled_for: datetime | None = None) -> CollectionResult | None:
        """Collect now, retrying with backoff; ``None`` when every attempt failed (then ``on_failed`` ran)."""
        with self._locks_lock:
            lock = self._run_locks.setdefault(name, threading.Lock())
        with lock:
            return self._run_collector(name, scheduled_for)

    def _run_collector(self, name: str, scheduled_for: datetime | None) -> CollectionResult | None:
        collector: Collector = self.collectors[name]
        schedule = collector.spec.schedule or ScheduleSpec(every="1d", retries=0)
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                store, owned = self._open_store()
                try:
                    result = sources.collect(self.deployment, store, collector, reported_at=self.clock())
                finally:
                    if owned:
                        store.close()
            except Exception as exc:  # any failure of a source is retried, then alerted
                log.warning("collector %s: attempt %d failed: %s", name, attempt, exc)
                delay = schedule.backoff * 2 ** (attempt - 1)
                if attempt > schedule.retries or self._stopping.wait(delay):
                    runs.record_run(self.jobs_db, name, scheduled_for=scheduled_for, started_at=started,
                                    finished_at=self.clock(), status="failed", attempts=attempt, detail=str(exc))
                    self.on_failed(name, exc)
                    return None
                continue
            runs.record_run(self.jobs_db, name, scheduled_for=scheduled_for, started_at=started, finished_at=self.clock(),
                            status="ok", attempts=attempt, batches=len(result.batches), rows=result.rows,
                            revisions=result.revisions_added, quarantined=result.quarantined, detail=result.summary(),
                            unchanged=result.unchanged, skipped=result.skipped)
            if self.on_collected is not None and result.changed:  # an empty drop folder is no reason to re-evaluate
                try:
                    self.on_collected(result)
                except Exception:  # evaluation trouble must not be mistaken for a failed collection
                    log.exception("collector %s: the after-collection hook failed", name)
            return result

    def _missed(self, event: JobExecutionEvent) -> None:
        now = self.clock()
        runs.record_run(self.jobs_db, event.job_id, scheduled_for=event.scheduled_run_time, started_at=now, finished_at=now,
                        status="missed", attempts=0, detail="missed by more than misfire_grace; the next run is kept")


class CollectionFailed(TargetwatchError):
    """A collector failed on every attempt; the store kept its previous data."""


def collect(deployment: Deployment, name: str, store: Store | Callable[[], Store] | None = None) -> CollectionResult:
    """Run one collector now, with its retries, recording the run as the service does (``targetwatch collect``)."""
    service = CollectionScheduler(deployment, store)
    if name not in service.collectors:
        raise ConfigError(f"no collector named {name!r}; known: {', '.join(sorted(service.collectors)) or '(none)'}")
    failures: list[BaseException] = []
    service.on_failed = lambda _name, exc: (_default_on_failed(_name, exc), failures.append(exc))
    result = service.run_collector(name)
    if result is None:
        raise CollectionFailed(f"collector {name!r} failed: {failures[-1]}")
    return result


def jobs(deployment: Deployment, now: datetime | None = None) -> pd.DataFrame:
    """One row per collector: source, schedule, next run, last run, last result and rows (``targetwatch jobs``)."""
    now = now or datetime.now(TZ)
    path = runs.jobs_db_path(deployment.settings)
    persisted = runs.next_run_times(path)
    history = runs.run_history(path)
    last = history.groupby("collector").tail(1).set_index("collector") if len(history) else history
    rows = []
    for collector in load_collectors(deployment.root):
        name, schedule = collector.metadata.name, collector.spec.schedule
        next_run = (persisted.get(name) or trigger_for(schedule).get_next_fire_time(None, now)) if schedule else None
        done = last.loc[name] if name in last.index else None
        rows.append({
            "collector": name,
            "source": collector.spec.source.kind if collector.spec.source else "files",
            "schedule": describe(schedule) if schedule else "manual",
            "next_run": next_run.isoformat(timespec="minutes") if next_run else "",
            "last_run": done["finished_at"][:16] if done is not None else "",
            "last_result": f"{done['status']}: {done['detail']}" if done is not None else "",
            "rows": int(done["rows"]) if done is not None else 0,
        })
    return pd.DataFrame(rows, columns=["collector", "source", "schedule", "next_run", "last_run", "last_result", "rows"])
