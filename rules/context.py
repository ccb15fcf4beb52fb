"""What judging one rule version at one period needs: the units, the peers, the metric, the floors.

A :class:`Judgement` is built once per rule; every method works on whole columns (pandas Series indexed
by unit), never on one unit at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from rules.derive import ADDITIVE, Observations, year_periods, yoy
from rules.load import RuleDoc
from targetwatch import periods
from targetwatch.model import Basis, Direction, Indicator, IndicatorKind

# Metrics that compare with the same period a year earlier.
LAST_YEAR_METRICS = ("yoy", "pp_change", "change")
# Kinds whose value is the year-to-date total whatever the indicator's basis.
YTD_KINDS = ("pacing", "break_zero", "never", "milestone")


@dataclass
class Judgement:
    """One rule version judged at one period ``code`` for its units, with its peers for ranks and means."""

    doc: RuleDoc
    ind: Indicator
    dep: object
    obs: Observations
    code: int
    as_of_day: date
    units: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    judged: int | None = None  # the rule's own period, when coarser than the indicator's (H1 read at 1–6月)

    def __post_init__(self) -> None:
        spec = self.spec
        group = spec.group
        if group and group not in self.obs.members:
            self.obs.members[group] = self.dep.group_members(group)
        self.members = self.obs.members[group] if group else []
        self.units = list(spec.units) or list(self.members)

    @property
    def spec(self):
        return self.doc.doc.spec

    @property
    def target(self):
        return self.spec.target

    @property
    def basis(self) -> Basis:
        if self.target.kind in YTD_KINDS and self.ind.kind in (IndicatorKind.level, IndicatorKind.count):
            return Basis.ytd
        return self.spec.basis or self.ind.basis

    @property
    def period(self) -> periods.Period:
        return periods.Period.from_code(self.code)

    @property
    def judged_period(self) -> periods.Period:
        """The period the verdict is about (the rule's), which labels the verdict and its message."""
        return periods.Period.from_code(self.judged or self.code)

    @property
    def prev_code(self) -> int:
        return int(periods.previous_codes([self.code], self.ind.jan_feb_combined and self.period.frequency == periods.MONTHLY)[0])

    @property
    def direction(self) -> Direction:
        order = getattr(self.target, "order", None)
        return order or self.ind.direction

    @property
    def metric(self) -> str:
        return "yoy" if self.target.kind == "decline" else self.spec.metric.value

    def needs(self) -> dict[int, set[str]]:
        """The period codes and indicators to read before judging (the store is read per period)."""
        codes = {self.code}
        if self.metric in LAST_YEAR_METRICS and not self._reported_growth:
            codes.add(self.code - 10000)
        if self.metric == "prev_change" or getattr(self.target, "improve", False):
            codes.add(self.prev_code)
            if self.metric in LAST_YEAR_METRICS and not self._reported_growth:
                codes.add(self.prev_code - 10000)
        inds = {self.ind.id}
        if self.target.kind == "share" and self.target.of.indicator:
            inds.add(self.target.of.indicator)
        out: dict[int, set[str]] = {}
        for ind_id in inds:
            for code in codes:
                for c in self._source_codes(self.dep.indicators[ind_id], code):
                    out.setdefault(c, set()).add(ind_id)
        return out

    def _source_codes(self, ind: Indicator, code: int) -> list[int]:
        """The periods a value at ``code`` is read from: itself, or what 当月⇄累计 derivation needs
        (read up front, so that the evaluator reads each period once for every rule, not per indicator)."""
        if ind.kind not in ADDITIVE or self.basis is ind.basis:
            return [code]
        year = year_periods(code, ind)
        return year if self.basis is Basis.ytd else year[-2:]

    @property
    def _reported_growth(self) -> bool:
        return self.ind.kind is IndicatorKind.growth and self.metric == "yoy"

    def raw(self, code: int | None = None, indicator: str | None = None) -> pd.Series:
        """The reported (or 当月⇄累计 derived) value at a period, for every unit that has one."""
        code = self.code if code is None else code
        wide = self.obs.wide(indicator or self.ind.id, self.basis, [code])
        return wide[code] if code in wide else pd.Series(dtype=np.float64)

    def value(self, code: int | None = None) -> pd.Series:
        """The rule's metric at a period for every unit read (reported value, growth or change)."""
        code = self.code if code is None else code
        current = self.raw(code)
        metric = self.metric
        if metric == "value" or self._reported_growth:
            return current
        if metric == "prev_change":
            return current - self.raw(self.prev_code if code == self.code else int(periods.previous_codes([code])[0])).reindex(current.index)
        last = self.raw(code - 10000)
        if metric == "yoy":
            return yoy(current, last)
        return current - last.reindex(current.index)

    @property
    def index(self) -> pd.Index:
        """The judged units as an index (object dtype: no string-array conversions on every use)."""
        if getattr(self, "_index_units", None) is not self.units:
            self._index_units, self._index = self.units, pd.Index(self.units, dtype=object)
        return self._index

    def floors(self, default: float | None, key: str = "floor") -> pd.Series:
        """Per-unit floor: the override, then the allocation row, then the rule's own value."""
        out = pd.Series(np.nan if default is None else float(default), index=self.index, dtype=np.float64)
        alloc = self.spec.allocation
        if alloc is not None and key in ("floor", "annual"):
            rows = pd.Series(alloc.values, dtype=np.float64)
            out.update(rows[rows.index.isin(out.index)])
        over = {u: getattr(o, key) for u, o in self.spec.overrides.items() if getattr(o, key) is not None}
        if over:
            rows = pd.Series(over, dtype=np.float64)
            out.update(rows[rows.index.isin(out.index)])
        return out

    def on_units(self, series: pd.Series) -> pd.Series:
        """A per-unit column aligned to the judged units (NaN where a unit has nothing)."""
        return series.reindex(self.index).astype(np.float64)

    def reference_unit(self) -> str | None:
        ref = getattr(self.target, "reference_unit", None)
        if ref:
            return ref
        group = self.dep.groups.get(self.spec.group) if self.spec.group else None
        return group.reference_unit if group else None
