"""Observations as the evaluator needs them: one wide frame (unit × period) per indicator and basis.

Reads exactly the periods the rules need, as of the evaluation time, in one store call per period.
Where the store lacks the wanted basis, 当月 ⇄ 累计 is derived for additive indicators (level, count):
累计 is the running sum of a complete year of 当月 values, 当月 the difference of consecutive 累计 values.
A growth or rate indicator is read as reported and never derived. Year-on-year growth is derived from
levels; a growth indicator's reported value *is* its year-on-year growth.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa

from targetwatch import periods, workdays
from targetwatch.model import Basis, Indicator, IndicatorKind

ADDITIVE = (IndicatorKind.level, IndicatorKind.count)


class Observations:
    """A read-through cache of the store as of one instant: ``wide(indicator, basis, codes)``."""

    def __init__(self, store, as_of, deployment):
        self.store, self.as_of, self.dep = store, as_of, deployment
        self._long: dict[tuple[str, int], pd.DataFrame] = {}
        self._wide: dict[tuple, pd.DataFrame] = {}
        self.members: dict[str, list[str]] = {}  # peer group → members, computed once per evaluation
        self._names: dict[tuple, np.ndarray] = {}
        self._owners: dict | None = None
        self._dense: dict[tuple, np.ndarray] = {}
        self._positions: dict[tuple, np.ndarray] = {}
        self._categories: tuple = (None, None)  # the last categories of store units looked up, and their positions
        # Every registry unit has a fixed position: a rule's values are one array over all of them, so
        # that the judgements of a kind read their units with one fancy index (rules.kinds).
        self.unit_index = pd.Index(list(deployment.units), dtype=object)
        self.unit_ids = self.unit_index.to_numpy(dtype=object)  # one table of unit ids for every verdict row
        self.unit_names_all = np.array([u.name for u in deployment.units.values()], dtype=object)
        self.parent_positions = self.unit_index.get_indexer(pd.Index([u.parent for u in deployment.units.values()], dtype=object))

    @cached_property
    def unit_names_text(self) -> pa.Array:
        """The registry's unit names as an Arrow string column, in registry order (messages take from it)."""
        return pa.array(self.unit_names_all.tolist(), pa.string(), memory_pool=pa.system_memory_pool())

    def positions(self, units, group: str | None = None) -> np.ndarray:
        """The registry positions of units (cached: most rules judge the same groups). ``group`` says that
        the units are that peer group's members: cached by its name, without reading the units again."""
        key = (None, group) if group else tuple(units)
        if key not in self._positions:
            units = list(units)
            pos = self.unit_index.get_indexer(pd.Index(units, dtype=object)) if units else np.zeros(0, dtype=np.intp)
            if (pos < 0).any():
                raise KeyError(f"units not in the registry: {[u for u, p in zip(units, pos) if p < 0]}")
            self._positions[key] = pos
        return self._positions[key]

    def dense(self, indicator: str, basis: Basis, code: int) -> np.ndarray:
        """One period of :meth:`wide` as an array over every registry unit (NaN where absent), read-only."""
        key = (indicator, basis, int(code))
        if key not in self._dense:
            self._dense[key] = self._dense_as_read(indicator, basis, int(code))
            if self._dense[key] is None:  # 当月⇄累计 may fill gaps: the general path
                self._dense[key] = self.densify(self.wide(indicator, basis, [code])[int(code)])
        return self._dense[key]

    def _dense_as_read(self, indicator: str, basis: Basis, code: int) -> np.ndarray | None:
        """The rows read at ``code`` in ``basis`` straight into an array, or None where the wanted basis is
        incomplete for an additive indicator (the same test as :meth:`_incomplete`, on the rows read)."""
        self.prefetch({code: {indicator}})
        long = self._long[(indicator, code)]
        want = (long["basis"] == basis.value).to_numpy(bool)
        values = long["value"].to_numpy(np.float64)[want]
        units = long["unit"]
        # A categorical column (as the store decodes it) is read by its codes: no string per row.
        keys = units.cat.codes.to_numpy() if isinstance(units.dtype, pd.CategoricalDtype) else units.to_numpy(dtype=object)
        if self.dep.indicators[indicator].kind in ADDITIVE:
            other = (long["basis"] == (Basis.period if basis is Basis.ytd else Basis.ytd).value).to_numpy(bool)
            if not len(values) or np.isnan(values).any() or (other.any() and not pd.Index(keys[other]).isin(keys[want]).all()):
                return None
        out = np.full(len(self.unit_index), np.nan)
        if isinstance(units.dtype, pd.CategoricalDtype):
            codes = keys[want]
            at = np.where(codes >= 0, self._category_positions(units.cat.categories)[codes], -1)
        else:
            at = self.unit_index.get_indexer(pd.Index(keys[want], dtype=object))
        found = at >= 0
        out[at[found]] = values[found]
        out.flags.writeable = False
        return out

    def _category_positions(self, categories: pd.Index) -> np.ndarray:
        """The registry positions of the units of a categorical column read from the store, looked up once
        per categories object (every indicator of one read shares it)."""
        seen, pos = self._categories
        if seen is not categories:
            pos = self.unit_index.get_indexer(pd.Index(categories, dtype=object))
            self._categories = (categories, pos)
        return pos

    def densify(self, series: pd.Series) -> np.ndarray:
        """A per-unit Series as an array over every registry unit (NaN where absent; units outside the
        registry are never judged and are dropped)."""
        out = np.full(len(self.unit_index), np.nan)
        if len(series):
            pos = self.unit_index.get_indexer(series.index)
            found = pos >= 0
            out[pos[found]] = series.to_numpy(np.float64)[found]
        out.flags.writeable = False
        return out

    def unit_owners(self) -> dict:
        """Units whose registry entry names owners of their own, and those owners."""
        if self._owners is None:
            self._owners = {u.id: u.owners for u in self.dep.units.values() if u.owners is not None}
        return self._owners

    def prefetch(self, needs: dict[int, set[str]]) -> None:
        """Read, for each period code, every indicator that needs it, in one store call per period."""
        by_code: dict[int, set[str]] = defaultdict(set)
        for code, inds in needs.items():
            missing = {i for i in inds if (i, code) not in self._long}
            if missing:
                by_code[code] |= missing
        for code, inds in sorted(by_code.items()):
            frame = self.store.read(indicators=sorted(inds), start=code, end=code, as_of=self.as_of)
            frame = frame[frame["period"] == code]
            parts = {str(k): v for k, v in frame.groupby("indicator", sort=False, observed=True)}
            for ind in inds:
                self._long[(ind, code)] = parts.get(ind, frame.iloc[:0])

    def long(self, indicator: str, codes) -> pd.DataFrame:
        """The rows read for an indicator at these periods (both bases), for explanations."""
        self.prefetch({int(c): {indicator} for c in codes})
        parts = [self._long[(indicator, int(c))] for c in codes]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def wide(self, indicator: str, basis: Basis, codes) -> pd.DataFrame:
        """Values unit × period for one basis; a column per requested code (NaN where absent)."""
        codes = sorted({int(c) for c in codes})
        key = (indicator, basis, tuple(codes))
        if key not in self._wide:
            self._wide[key] = self._wide_uncached(indicator, basis, codes)
        return self._wide[key]

    def _wide_uncached(self, indicator: str, basis: Basis, codes: list[int]) -> pd.DataFrame:
        self.prefetch({c: {indicator} for c in codes})
        out = self._pivot(indicator, basis.value, codes)
        ind = self.dep.indicators[indicator]
        if ind.kind in ADDITIVE and self._incomplete(out, indicator, basis, codes):
            derived = self._derived(ind, basis, codes)
            if len(derived.columns):
                out = out.combine_first(derived)
        return out.reindex(columns=codes)

    def _incomplete(self, wide: pd.DataFrame, indicator: str, basis: Basis, codes: list[int]) -> bool:
        """Whether some unit lacks the wanted basis at some code (so 当月⇄累计 may fill it)."""
        if wide.empty or wide.isna().to_numpy().any():
            return True
        other = Basis.period.value if basis is Basis.ytd else Basis.ytd.value
        for code in codes:
            long = self._long.get((indicator, code))
            if long is None or not len(long):
                continue
            has_other = (long["basis"] == other).to_numpy(bool)
            if has_other.any() and not pd.Index(long["unit"].to_numpy(dtype=object)[has_other]).isin(wide.index).all():
                return True
        return False

    def _pivot(self, indicator: str, basis: str, codes: list[int]) -> pd.DataFrame:
        frames = [self._long[(indicator, c)] for c in codes if (indicator, c) in self._long]
        long = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["unit", "period", "basis", "value"])
        long = long[(long["basis"] == basis).to_numpy(bool)]
        if not len(long):
            return pd.DataFrame(dtype=np.float64, columns=codes)
        units = long["unit"].to_numpy(dtype=object)
        if len(codes) == 1:  # the common case: one period, no reshaping needed
            return pd.DataFrame({codes[0]: long["value"].to_numpy(np.float64)}, index=pd.Index(units, dtype=object))
        wide = pd.Series(
            long["value"].to_numpy(np.float64),
            index=pd.MultiIndex.from_arrays([pd.Index(units, dtype=object), long["period"].to_numpy(np.int64)]),
        ).unstack()
        return wide.reindex(columns=codes)

    def _derived(self, ind: Indicator, basis: Basis, codes: list[int]) -> pd.DataFrame:
        """The wanted basis computed from the other one, where the data allow."""
        other = Basis.period if basis is Basis.ytd else Basis.ytd
        cols = {}
        for code in codes:
            # Either way the other basis is needed at the period itself: without it nothing can be
            # derived, and the year need not be read (an indicator nobody reported costs no reads).
            here = self._long.get((ind.id, code))
            if here is None or not (here["basis"] == other.value).to_numpy(bool).any():
                continue
            year_codes = year_periods(code, ind)
            if basis is Basis.ytd:  # running sum of a complete year of 当月 values
                self.prefetch({c: {ind.id} for c in year_codes})
                src = self._pivot(ind.id, other.value, year_codes)
                complete = src.notna().all(axis=1)
                cols[code] = src.sum(axis=1).where(complete)
            else:  # difference of this and the previous 累计 value of the same year
                prev = [c for c in year_codes if c < code][-1:]
                self.prefetch({c: {ind.id} for c in [*prev, code]})
                src = self._pivot(ind.id, other.value, [*prev, code])
                cols[code] = src[code] - src[prev[0]] if prev else src[code]
        return pd.DataFrame(cols)


def year_periods(code: int, ind: Indicator) -> list[int]:
    """Every period of ``code``'s frequency from the year's first to ``code``, as codes."""
    p = periods.Period.from_code(code)
    freq = p.frequency
    jan_feb = ind.jan_feb_combined and freq == periods.MONTHLY
    step = 2 if jan_feb else periods.MONTHS[freq]
    if p.is_jan_feb:
        return [code]
    first = periods.Period(p.year, 1, step)
    return [q.code for q in periods.periods_between(first, p, freq, jan_feb)]


def yoy(current: np.ndarray, last_year: np.ndarray) -> np.ndarray:
    """Year-on-year growth in %, NaN where last year is missing or zero (never divide by a zero base)."""
    return (current / np.where(last_year != 0, last_year, np.nan) - 1.0) * 100.0


def report_status(code: int, ind: Indicator, as_of_day: date) -> tuple[str, date]:
    """Lateness, decided once for every channel: a missing report of period ``code`` is ``no_data`` up to
    and including its due day, ``late`` after it. Returns the status of a missing report and the due day."""
    due = deadlines([code], ind)[code]
    return ("late" if as_of_day > due else "no_data"), due


def deadlines(codes, ind: Indicator) -> dict[int, date]:
    """The reporting deadline (due day) of each period: calendar days, or Chinese working days, after its end."""
    return {code: workdays.deadline_of(periods.Period.from_code(code), ind.deadline).date() for code in {int(c) for c in codes}}
