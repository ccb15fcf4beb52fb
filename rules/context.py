"""What judging one rule version at one period needs: the units, the peers, the metric, the floors.

A :class:`Judgement` is built once per rule; every method works on whole columns, never on one unit at a
time. Values are arrays over every unit of the registry, in its order (:meth:`rules.derive.Observations.dense`),
so that the judgements of a kind read their own units with one fancy index (:class:`rules.kinds.Batch`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import date

import numpy as np
import pandas as pd

from rules.derive import ADDITIVE, Observations, deadlines, year_periods, yoy
from rules.load import RuleDoc
from rules.owners import rule_tier_is_data
from targetwatch import periods
from targetwatch.model import Basis, Direction, Indicator, IndicatorKind

# Metrics that compare with the same period a year earlier.
LAST_YEAR_METRICS = ("yoy", "pp_change", "change")
# Kinds whose value is the year-to-date total whatever the indicator's basis.
YTD_KINDS = ("pacing", "break_zero", "never", "milestone")


def data_period(code: int, ind: Indicator) -> int:
    """The indicator's own period that answers for a coarser rule period: the one ending in the same month.

    A year-to-date figure at June is the first half's; a 当期 figure of a coarser period is not stored, and
    ``rules check`` rejects such a rule unless the indicator is additive (then 累计 differences give it).
    """
    p = periods.Period.from_code(code)
    if p.frequency == ind.frequency:
        return code
    step = periods.MONTHS[ind.frequency]
    if ind.frequency == periods.MONTHLY and ind.jan_feb_combined and p.last_month <= 2:
        return periods.Period(p.year, 1, 2).code
    return periods.Period(p.year, p.last_month - step + 1, p.last_month).code


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
    _windows: dict = field(default_factory=dict, repr=False)  # window amounts by period, as arrays
    _values: dict = field(default_factory=dict, repr=False)  # the metric by period, as arrays

    def __post_init__(self) -> None:
        spec = self.spec
        group = spec.group
        if group and group not in self.obs.members:
            self.obs.members[group] = self.dep.group_members(group)
        self.members = self.obs.members[group] if group else []
        self.units = list(spec.units) or list(self.members)
        self._member_units = None if spec.units else self.units  # the units are the group's, until replaced

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
        """The data period a 较上期 comparison reads: the previous period of the rule's own frequency, mapped
        to the indicator's (a yearly rule on a monthly 累计 series: December of the year before), or the same
        period a year earlier for ``improve_on: last_year``."""
        if getattr(self.target, "improve_on", "previous") == "last_year":
            return periods.Period.from_code(self.code).last_year().code
        if self.judged is not None:
            return data_period(int(periods.previous_codes([self.judged])[0]), self.ind)
        return int(periods.previous_codes([self.code], self.ind.jan_feb_combined and self.period.frequency == periods.MONTHLY)[0])

    @property
    def stretch_only(self) -> bool:
        """A 力争-only target: ``tier: stretch``, or a stretch without a floor. Missing it is a warning."""
        t = self.target
        return self.spec.tier == "stretch" or (getattr(t, "floor", 0) is None and getattr(t, "stretch", None) is not None)

    @property
    def tier(self) -> str:
        """The key of ``rules.vocabulary.TIERS`` a miss reads and alerts as: data, stretch or floor."""
        if rule_tier_is_data(self.spec):
            return "data"
        return "stretch" if self.stretch_only else "floor"

    @property
    def decimals(self) -> int:
        """The precision the judged figure is shown at: the indicator's own, or its growth precision for a
        derived growth rate, share or percentage-point change (ranks and comparisons never round)."""
        derived_pct = (self.metric in LAST_YEAR_METRICS and not self._reported_growth and self.metric != "change") \
            or self.target.kind in ("decline", "share")
        return self.ind.growth_decimals if derived_pct else self.ind.decimals

    @cached_property
    def due(self) -> date:
        """The reporting deadline of the judged data period (asked by the kind, the engine and the message)."""
        return deadlines([self.code], self.ind)[self.code]

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
        window = self.spec.window
        if window is not None:  # the 累计 at the window's ends, and its 当月 figures (either gives the amount)
            codes |= {c for c in [*self._window_ends(self.code), *self._window_months(self.code)] if c}
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

    def raw(self, code: int | None = None, indicator: str | None = None) -> np.ndarray:
        """The reported (or 当月⇄累计 derived) value at a period as an array over every registry unit (NaN
        where a unit has none: :meth:`rules.derive.Observations.dense`); with a ``window``, the rule's amount
        within it."""
        code = self.code if code is None else code
        if self.spec.window is not None and indicator in (None, self.ind.id):
            if code not in self._windows:
                self._windows[code] = self.obs.densify(self.window_amount(code))
            return self._windows[code]
        return self.obs.dense(indicator or self.ind.id, self.basis, code)

    def value(self, code: int | None = None) -> np.ndarray:
        """The rule's metric at a period over every registry unit (reported value, growth or change)."""
        code = self.code if code is None else code
        if code not in self._values:
            self._values[code] = self._value(code)
        return self._values[code]

    def _value(self, code: int) -> np.ndarray:
        current = self.raw(code)
        metric = self.metric
        if metric == "value" or self._reported_growth:
            return current
        if metric == "prev_change":
            return current - self.raw(self.prev_code if code == self.code else int(periods.previous_codes([code])[0]))
        last = self.raw(code - 10000)
        if metric == "yoy":
            return yoy(current, last)
        return current - last

    def values(self, code: int | None = None) -> pd.Series:
        """:meth:`value` as a Series indexed by unit (for explanations)."""
        return pd.Series(self.value(code), index=self.obs.unit_index)

    @property
    def positions(self) -> np.ndarray:
        """The registry positions of the judged units (looked up again only when ``units`` is replaced)."""
        if getattr(self, "_positions_of", None) is not self.units:
            group = self.spec.group if self.units is self._member_units else None
            self._positions_of, self._positions = self.units, self.obs.positions(self.units, group=group)
        return self._positions

    @cached_property
    def member_positions(self) -> np.ndarray:
        """The registry positions of the peer group's members."""
        return self.obs.positions(self.members, group=self.spec.group)

    def _window_ends(self, code: int) -> tuple[int | None, int | None]:
        """(the data period whose 累计 closes the window at ``code``, the one just before the window opens)."""
        w, p = self.spec.window, periods.Period.from_code(code)
        last = w.last
        if (p.year, p.last_month) < (last.year, w.first_month):
            return None, None
        end_month = last.last_month if (p.year, p.last_month) > (last.year, last.last_month) else p.last_month
        end = data_period(periods.Period(last.year, end_month, end_month).code, self.ind)
        base_month = w.first_month - 1
        base = data_period(periods.Period(last.year, base_month, base_month).code, self.ind) if base_month else None
        if base is not None and periods.Period.from_code(base).last_month != base_month:
            base = -1  # the month before the window is inside a combined Jan–Feb release: no 累计 to subtract
        return end, base

    def _window_months(self, code: int) -> list[int]:
        end, _ = self._window_ends(code)
        if end is None:
            return []
        w = self.spec.window
        first = periods.Period(w.last.year, w.first_month, w.first_month)
        jan_feb = self.ind.jan_feb_combined
        return [q.code for q in periods.periods_between(first, periods.Period.from_code(end), periods.MONTHLY, jan_feb)]

    def window_amount(self, code: int) -> pd.Series:
        """The amount within the window up to ``code``: 累计 at its end minus 累计 before it opens, or, for
        units without those, the sum of every 当月 figure of the window (NaN where neither is complete)."""
        end, base = self._window_ends(code)
        if end is None:
            return pd.Series(dtype=np.float64)
        months = self._window_months(code)
        amount = self.obs.wide(self.ind.id, Basis.period, months).sum(axis=1, min_count=len(months))
        if base != -1:
            ytd = self.obs.wide(self.ind.id, Basis.ytd, [end] if base is None else [base, end])
            from_ytd = ytd[end] - (0.0 if base is None else ytd[base])
            amount = from_ytd.combine_first(amount)
        return amount.dropna()

    def floors(self, default: float | None, key: str = "floor") -> np.ndarray:
        """Per judged unit: the override, then the allocation row, then the rule's own value."""
        out = np.full(len(self.units), np.nan if default is None else float(default))
        alloc = self.spec.allocation
        over = {u: getattr(o, key) for u, o in self.spec.overrides.items() if getattr(o, key) is not None}
        tables = ([alloc.values] if alloc is not None and key in ("floor", "annual") else []) + ([over] if over else [])
        units = np.asarray(self.units, dtype=object) if tables else None  # most rules have no rows of their own
        for rows in tables:
            for unit, value in rows.items():  # a handful of rows per rule, each set on the whole column
                if value is not None and float(value) == float(value):
                    out[units == unit] = float(value)
        return out

    def reference_unit(self) -> str | None:
        ref = getattr(self.target, "reference_unit", None)
        if ref:
            return ref
        group = self.dep.groups.get(self.spec.group) if self.spec.group else None
        return group.reference_unit if group else None
