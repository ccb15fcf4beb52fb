"""The ``/metrics`` collector: fresh metric families on every scrape, built from the current state.

Nothing here keeps a gauge per verdict (STYLE habit 4). :class:`ExporterState` holds the latest verdict
frame and the store's ``batches()`` frame, both taken at the last evaluation (the store belongs to the
evaluating thread); :class:`TargetwatchCollector` turns them into families when Prometheus scrapes.
Ingest counters come from the store's batches and collector runs from the collection scheduler's run
history, so every counter survives a restart.
"""

from __future__ import annotations

import logging

import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import pandas as pd
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from exporters.exposition import LabelBlock, VerdictFamily
from exporters.projects import project_families
from exporters.verdicts import GAUGES, HISTORIC, HISTORY_GAUGES, HISTORY_LABELS, LABELS, STATUSES, label_frame

PREFIX = "targetwatch"

log = logging.getLogger("targetwatch.exporters")


@dataclass
class ExporterState:
    """What the collector exposes; the service replaces the verdicts after each evaluation."""

    verdicts: pd.DataFrame = field(default_factory=pd.DataFrame)
    evaluation_seconds: float | None = None
    batches: pd.DataFrame = field(default_factory=pd.DataFrame)
    invalid_rule_files: list[str] | None = None
    projects: pd.DataFrame = field(default_factory=pd.DataFrame)  # the project listing (exporters.projects)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set_verdicts(self, verdicts: pd.DataFrame, seconds: float | None = None, batches: pd.DataFrame | None = None,
                     invalid_rule_files: list[str] | None = None, history: pd.DataFrame | None = None) -> None:
        """Replace what the next scrape shows: the verdicts, the evaluation time, the store's batches, the
        rule files the evaluation left out because of an error, and the per-period history
        (``exporters.verdicts.HISTORY_GAUGES``)."""
        with self.lock:
            self.verdicts = verdicts
            if history is not None:
                self.history = history
            if seconds is not None:
                self.evaluation_seconds = seconds
            if batches is not None:
                self.batches = batches
            if invalid_rule_files is not None:
                self.invalid_rule_files = invalid_rule_files


class TargetwatchCollector(Collector):
    """Builds every ``targetwatch_*`` family at each scrape.

    Every source is optional: ``deployment`` for the info metrics, ``batches`` (the store's batch frame)
    for the ingest counters, ``notifications`` (the ledger's counts and pending number), ``rule_infos``
    ((id, title, document) per rule) and ``runs`` (the collection scheduler's run history).
    """

    def __init__(
        self,
        state: ExporterState,
        deployment=None,
        batches: Callable[[], pd.DataFrame] | None = None,
        notifications: Callable[[], tuple[pd.DataFrame, int]] | None = None,
        rule_infos: Callable[[], list[tuple[str, str, str]]] | None = None,
        runs: Callable[[], pd.DataFrame] | None = None,
    ):
        self.state = state
        self.rule_infos = rule_infos
        self.runs = runs
        self.deployment = deployment
        self.batches = batches
        self.notifications = notifications

    def _read(self, name: str, source: Callable | None, fallback):
        """One optional source; a failure (a briefly locked SQLite file, say) is logged and shown as
        ``targetwatch_scrape_source_up{source} 0`` instead of failing the whole scrape."""
        if source is None:
            return fallback
        try:
            value = source()
            self._up[name] = 1
            return value
        except Exception as exc:  # noqa: BLE001 - any source error must leave the scrape standing
            log.warning("scrape: %s unavailable: %s", name, exc)
            self._up[name] = 0
            return fallback

    def collect(self) -> Iterator[Metric]:
        yield from self.state_families(*self.frames())
        yield from self.live_families()

    def frames(self) -> tuple:
        """What the per-verdict and info families are built from: (verdicts, projects, history, rule infos).
        The same frames give the same families, so a caller may keep their rendering until they change."""
        with self.state.lock:
            verdicts, projects, history = self.state.verdicts, self.state.projects, self.state.history
        self._up: dict[str, int] = {}
        return verdicts, projects, history, self._read("rule_infos", self.rule_infos, [])

    def state_families(self, verdicts: pd.DataFrame, projects: pd.DataFrame, history: pd.DataFrame, infos) -> Iterator[Metric]:
        """The families of the last evaluation and of the registry (the bulk of a scrape)."""
        yield from verdict_families(verdicts)
        yield from project_families(projects)
        yield from history_families(history)
        if self.deployment is not None:
            yield from info_families(self.deployment, infos)

    def live_families(self) -> Iterator[Metric]:
        """The families read afresh at every scrape: collector runs, ingest counters, notifications. Call after
        :meth:`frames`, which starts the scrape."""
        with self.state.lock:
            seconds = self.state.evaluation_seconds
            invalid = self.state.invalid_rule_files
        yield from run_families(self._read("runs", self.runs, pd.DataFrame(columns=["collector", "status"])))
        if self.batches is not None:
            batches = self._read("batches", self.batches, None)
            if batches is not None:
                yield from ingest_families(batches)
        duration = Metric(f"{PREFIX}_evaluation_duration_seconds", "Seconds the last rule evaluation took.", "gauge")
        if seconds is not None:
            duration.add_sample(duration.name, {}, seconds)
        yield duration
        if invalid is not None:
            yield _family("rule_files_invalid", "Rule files left out of the last evaluation because of an error (targetwatch rules check locates it).",
                          "gauge", [], [((), len(invalid))])
        if self.notifications is not None:
            read = self._read("notifications", self.notifications, None)
            if read is not None:
                counts, pending = read
                rows = (((r.channel, r.result), r.count) for r in counts.itertuples())
                yield _family("notifications_total", "Outbox messages delivered (result=sent) and failed delivery attempts (result=failed), per channel.",
                              "counter", ["channel", "result"], rows)
                yield _family("notifications_pending", "Outbox messages not delivered yet (waiting for their first or next attempt).",
                              "gauge", [], [((), pending)])
        if self._up:
            yield _family("scrape_source_up", "Whether each optional source of this scrape could be read (1) or not (0).", "gauge",
                          ["source"], (((name,), up) for name, up in sorted(self._up.items())))


def verdict_families(verdicts: pd.DataFrame) -> Iterator[Metric]:
    """The per-verdict gauges and the StateSet-style status family (1 for the current status)."""
    labels = label_frame(verdicts) if not verdicts.empty else pd.DataFrame(columns=list(LABELS), dtype=object)
    block = LabelBlock(labels)
    for suffix, column, help_text in GAUGES:
        if column in verdicts.columns and not verdicts.empty:
            values = pd.to_numeric(verdicts[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        else:
            values = np.full(len(labels), np.nan)
        rows = np.flatnonzero(~np.isnan(values))
        yield VerdictFamily(f"{PREFIX}_verdict_{suffix}", help_text, block, rows, values[rows])
    old = np.flatnonzero(verdicts[HISTORIC].to_numpy() == "true") if HISTORIC in verdicts.columns else np.array([], dtype=int)
    yield VerdictFamily(f"{PREFIX}_verdict_historic", "1 for a verdict of a period older than the current reporting period "
                        "(not notified; the alert rules exclude it).", block, old, np.ones(len(old)))
    current = verdicts["status"].astype(str).to_numpy() if "status" in verdicts.columns else np.array([], dtype=object)
    onehot = (current[:, None] == np.array(STATUSES)[None, :]).astype(float).ravel()
    yield VerdictFamily(f"{PREFIX}_verdict_status", "1 for the verdict's current status, 0 for the others.",
                        block, np.arange(len(labels)), onehot, extra=("status", list(STATUSES)))


def history_families(history: pd.DataFrame) -> Iterator[Metric]:
    """``targetwatch_period_*``: one series per (rule, unit, period) of the history, labelled by period."""
    frame = history.reset_index(drop=True) if not history.empty else pd.DataFrame(columns=list(HISTORY_LABELS))
    labels = pd.DataFrame({c: frame[c].astype(object).fillna("").astype(str) for c in HISTORY_LABELS})
    block = LabelBlock(labels)
    for suffix, column, help_text in HISTORY_GAUGES:
        if column in frame.columns and len(frame):
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        else:
            values = np.full(len(labels), np.nan)
        rows = np.flatnonzero(~np.isnan(values))
        yield VerdictFamily(f"{PREFIX}_period_{suffix}", help_text, block, rows, values[rows])


def info_families(deployment, rules: list[tuple[str, str, str]]) -> Iterator[Metric]:
    """Info metrics that carry the Chinese display names (label values of the verdicts stay ids)."""
    units = ((u.id, u.name, u.kind, u.parent or "") for u in deployment.units.values())
    yield _info("unit", "1 per unit of the registry; the labels carry its display name, kind and parent.", ["unit", "name", "kind", "parent"], units)
    indicators = ((i.id, i.name, i.measure) for i in deployment.indicators.values())
    yield _info("indicator", "1 per indicator of the registry; the labels carry its display name and unit of measure.", ["indicator", "name", "measure"], indicators)
    yield _info("rule", "1 per rule evaluated (its latest version); the labels carry its title and source document.", ["rule", "title", "document"], rules)
    people = ((p.id, p.name, p.title or "") for p in deployment.people.values())
    yield _info("person", "1 per person of the registry; the labels carry their name and title.", ["person", "name", "title"], people)


def run_families(history: pd.DataFrame) -> Iterator[Metric]:
    """Collector runs, failures and skipped files from the jobs database's run history (status ok, failed or missed)."""
    ran = history[history["status"].isin(["ok", "failed"])]
    runs = ran.groupby("collector").size()
    failures = ran[ran["status"] == "failed"].groupby("collector").size().reindex(runs.index, fill_value=0)
    skipped = ran.groupby("collector")["skipped"].sum() if "skipped" in ran else pd.Series(dtype=float)
    yield _family("collector_runs_total", "Collector runs that ended ok or failed: scheduled, by targetwatch collect and by targetwatch run.",
                  "counter", ["collector"], runs.items())
    yield _family("collector_failures_total", "Collector runs that failed after their retries.", "counter", ["collector"], failures.items())
    yield _family("files_skipped_total", "Files a collector run did not read because their content was already ingested.",
                  "counter", ["collector"], skipped.items())


def ingest_families(batches: pd.DataFrame) -> Iterator[Metric]:
    """Per source, from the store's batches: new revisions, rows read again unchanged, rows quarantined,
    and the time new data last landed. Re-reading an unchanged file moves neither the rows ingested nor
    the timestamp, so ``TargetwatchIngestStale`` fires when no new data comes, however often files are read."""
    if batches.empty:
        ingested = unchanged = quarantined = last = pd.Series(dtype=float)
    else:
        frame = batches.assign(
            new=batches["revisions_added"].fillna(0), same=batches["unchanged"].fillna(0), bad=batches["quarantined"].fillna(0),
            at=(batches["ingested_at"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds(),
        )
        by_source = frame.groupby("source")
        ingested, unchanged, quarantined = by_source["new"].sum(), by_source["same"].sum(), by_source["bad"].sum()
        last = frame[frame["new"] > 0].groupby("source")["at"].max()
    yield _family("rows_ingested_total", "New revisions landed in the store per source; a row read again with the value the store had is not counted.",
                  "counter", ["source"], ingested.items())
    yield _family("rows_unchanged_total", "Rows read again per source with the value the store already had (no revision added).",
                  "counter", ["source"], unchanged.items())
    yield _family("rows_quarantined_total", "Bad rows per source, counted at every read of their file (not landed; the quarantine, "
                  "targetwatch quarantine list, keeps each row once).",
                  "counter", ["source"], quarantined.items())
    yield _family("last_successful_ingest_timestamp_seconds", "Unix time a batch of the source last added a new revision to the store.",
                  "gauge", ["source"], last.items())


def _family(name: str, help_text: str, kind: str, labelnames: list[str], rows) -> Metric:
    metric = Metric(f"{PREFIX}_{name.removesuffix('_total') if kind == 'counter' else name}", help_text, kind)
    sample_name = f"{PREFIX}_{name}"
    for key, value in rows:
        key = key if isinstance(key, tuple) else (key,)
        metric.add_sample(sample_name, dict(zip(labelnames, map(str, key))), float(value))
    return metric


def _info(kind: str, help_text: str, labelnames: list[str], rows) -> Metric:
    metric = Metric(f"{PREFIX}_{kind}_info", help_text, "gauge")
    for row in rows:
        metric.add_sample(metric.name, dict(zip(labelnames, row)), 1.0)
    return metric
