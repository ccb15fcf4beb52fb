"""Grafana annotations that ``serve`` posts, so that operators see on every time-series panel why a line moved:
数据更新 when new figures land for a unit and period, 规则生效 when a rule version takes effect.

They go to Grafana's own annotation store (``POST /api/annotations`` through grafana-client) with the tag
``targetwatch``, which every generated dashboard queries. The annotator remembers the last batch and day it
saw: at start it posts nothing for what was already there, then each new batch and each version whose
effective date is passed once.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time

import pandas as pd

from targetwatch import periods
from targetwatch.grafana import ANNOTATION_TAG, connect

log = logging.getLogger("targetwatch.annotations")
DATA_UPDATE, RULE_EFFECTIVE = "数据更新", "规则生效"


class Annotator:
    """Posts the annotations of one deployment to one Grafana."""

    def __init__(self, url: str, api_token: str, deployment):
        self.grafana = connect(url, api_token)
        self.deployment = deployment
        self.last_batch: int | None = None
        self.last_day: date | None = None

    def cycle(self, store, day: date, rule_docs) -> int:
        """Post what landed since the last cycle and the versions that took effect since; the number posted."""
        posted = self._data_updates(store) + self._versions(day, rule_docs)
        self.last_day = day
        return posted

    def _data_updates(self, store) -> int:
        batches = store.batches()
        top = int(batches["id"].max()) if len(batches) else 0
        seen, self.last_batch = self.last_batch, top
        if seen is None or top <= seen:
            return 0
        rows = store.read()
        rows = rows[rows["batch"] > seen]
        if rows.empty:
            return 0
        landed = batches.set_index("id")["ingested_at"]
        rows = rows.assign(period=[periods.format_code(c) for c in rows["period"]], at=rows["batch"].map(landed))
        posted = 0
        for (unit, period), group in rows.groupby(["unit", "period"], sort=True):
            names = [self.deployment.indicators[i].name if i in self.deployment.indicators else i
                     for i in sorted(group["indicator"].astype(str).unique())]
            unit_name = self.deployment.units[unit].name if unit in self.deployment.units else unit
            text = f"{DATA_UPDATE}：{unit_name} {periods.parse(period).label_zh()} — {'、'.join(names)}（{len(names)}项）"
            self._post(_ms(group["at"].max()), [ANNOTATION_TAG, DATA_UPDATE, str(unit), period], text)
            posted += 1
        return posted

    def _versions(self, day: date, rule_docs) -> int:
        since, posted = self.last_day, 0
        if since is None:
            return 0
        for doc in rule_docs:
            meta = doc.doc.metadata
            if meta.effective_from is not None and since < meta.effective_from <= day:
                at = datetime.combine(meta.effective_from, time.min, tzinfo=periods.TZ)
                self._post(_ms(at), [ANNOTATION_TAG, RULE_EFFECTIVE, doc.id], f"{RULE_EFFECTIVE}：{meta.title}（{doc.id} 第{meta.version}版）")
                posted += 1
        return posted

    def _post(self, when_ms: int, tags: list[str], text: str) -> None:
        self.grafana.annotations.add_annotation(time_from=when_ms, time_to=when_ms, tags=tags, text=text)


def _ms(when) -> int:
    return int(pd.Timestamp(when).timestamp() * 1000)
