"""The target kinds: each turns a :class:`Judgement` into columns over the judged units.

Every judge returns a frame indexed by unit with ``value, target, gap`` (gap < 0 means short),
``met`` (bool, NaN where undecidable), ``soft`` (True where a miss is only at_risk), ``stretch_met``,
and where they apply ``rank, group_size, reported, reference, required_run_rate``. Whether the unit
reported at all is decided by the caller, from the raw observation, unless the kind returns
``has_report`` (``never``: an event in a reported month is judged although another month is missing;
``partial`` marks those rows for the message).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules.context import Judgement
from rules.derive import year_periods
from targetwatch.model import Basis, Direction

_HIGHER = (">=", ">")


def _frame(j: Judgement, value, target, gap, met, **extra) -> pd.DataFrame:
    # One constructor call: adding the columns one by one cost more than most judgements.
    index = j.index
    gap = gap.reindex(index) if isinstance(gap, pd.Series) else pd.Series(gap, index=index, dtype=np.float64)
    met = pd.Series(met, index=index).where(gap.notna())
    return pd.DataFrame({"value": value, "target": target, "gap": gap, "met": met, **extra}, index=index)


def _compare(value: pd.Series, limit: pd.Series, op: str) -> tuple[pd.Series, pd.Series]:
    """(gap, met) of value against limit under op; the gap is negative when short."""
    gap = value - limit if op in _HIGHER else limit - value
    met = {">=": gap >= 0, ">": gap > 0, "<=": gap >= 0, "<": gap > 0}[op]
    return gap, met


def _tiered(j: Judgement, value: pd.Series, op: str) -> pd.DataFrame:
    floor, stretch = j.floors(j.target.floor), j.floors(j.target.stretch, "stretch")
    if j.target.floor is None and j.target.stretch is not None:  # 力争 only: the stretch is the one line
        floor = floor.fillna(stretch)
    gap, met = _compare(value, floor, op)
    s_gap, s_met = _compare(value, stretch, op)
    within = j.target.at_risk_within
    soft = (-gap <= within) if within is not None else pd.Series(False, index=j.index)
    return _frame(j, value, floor, gap, met, soft=soft, stretch_met=s_met.where(stretch.notna() & value.notna()))


def threshold(j: Judgement) -> pd.DataFrame:
    return _tiered(j, j.on_units(j.value()), j.target.op)


def decline(j: Judgement) -> pd.DataFrame:
    return _tiered(j, -j.on_units(j.value()), ">=")


def share(j: Judgement) -> pd.DataFrame:
    of = j.target.of
    num = j.on_units(j.raw())
    den_all = j.raw(indicator=of.indicator) if of.indicator else j.raw()
    if of.unit == "parent":
        den_units = [j.dep.units[u].parent for u in j.units]
    elif of.unit:
        den_units = [of.unit] * len(j.units)
    else:
        den_units = j.units
    den = pd.Series(den_all.reindex(pd.Index(den_units, dtype=object)).to_numpy(np.float64), index=j.index)
    return _tiered(j, 100.0 * num / den.where(den != 0), j.target.op)


def range_(j: Judgement) -> pd.DataFrame:
    value, lo, hi = j.on_units(j.value()), j.target.min, j.target.max
    if j.stretch_only:  # 力争打造3-5个: the upper end is a stretch, never a ceiling
        return _frame(j, value, lo, value - lo, value >= lo, soft=False)
    gap = np.where(value < lo, value - lo, np.where(value > hi, hi - value, value - lo))
    met = (value >= lo) & (value <= hi)
    return _frame(j, value, lo, gap, met, soft=value > hi)


def approximate(j: Judgement) -> pd.DataFrame:
    t = j.target
    value = j.on_units(j.value())
    tol = t.tolerance if t.tolerance is not None else abs(t.value) * t.tolerance_pct / 100.0
    gap = value - t.value if j.direction is Direction.higher else t.value - value
    return _frame(j, value, t.value, gap, gap >= -tol, soft=False)


def pacing(j: Judgement) -> pd.DataFrame:
    t = j.target
    month = j.period.last_month
    due = due_share(t, month)
    annual = j.floors(t.annual, "annual")
    cum = j.on_units(j.raw())
    target = annual * due / 100.0
    gap = cum - target
    remaining = 12 - month
    run_rate = ((annual - cum).clip(lower=0) / remaining) if remaining else pd.Series(np.nan, index=j.index)
    soft = (-gap / annual * 100.0 <= t.at_risk_within) if t.at_risk_within is not None else False
    stretch_met = (cum >= t.stretch * due / 100.0).where(cum.notna()) if t.stretch is not None else None
    return _frame(j, cum, target, gap, gap >= 0, soft=soft, stretch_met=stretch_met,
                  required_run_rate=run_rate.where(cum.notna()), due_share=due, annual=annual)


def due_share(t, month: int) -> float:
    """The % of the annual task due by the end of ``month`` under the rule's profile."""
    if t.profile == "linear":
        return month / 12 * 100.0
    if t.profile == "seasonal":
        weights = np.asarray(t.seasonal, dtype=np.float64)
        return float(weights[:month].sum() / weights.sum() * 100.0)
    points = sorted({0: 0.0, **t.checkpoints, 12: t.checkpoints.get(12, 100.0)}.items())
    months, shares = zip(*points)
    return float(np.interp(month, months, shares))


def compare(j: Judgement) -> pd.DataFrame:
    t = j.target
    values = j.value()
    peers = values.reindex(j.members)
    if t.reference == "group_figure":
        ref_unit = j.reference_unit()
        reference = float(values.get(ref_unit, np.nan)) if ref_unit else np.nan
    else:
        reference = float(peers.mean()) if peers.notna().any() else np.nan
    value = j.on_units(values)
    target = reference + t.margin
    gap, met = _compare(value, pd.Series(target, index=j.index), t.op)
    return _frame(j, value, target, gap, met, soft=False, reference=reference,
                  group_size=len(j.members), reported=int(peers.notna().sum()))


def rank_table(values: pd.Series, direction: Direction) -> pd.DataFrame:
    """Competition ranks (1, 2, 2, 4) of the units that reported, at full precision: only equal values tie
    (rounded to 9 decimals, far below any published figure, so that float noise in derived growth does
    not split a real tie)."""
    reported = values.dropna().round(9)
    ranks = reported.rank(ascending=direction is Direction.lower, method="min")
    tied = reported.duplicated(keep=False)
    return pd.DataFrame({"value": reported, "rank": ranks, "tied": tied}).sort_values("rank", kind="stable")


def _ranks_of(table: pd.DataFrame, units: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """(rank, tied) of each unit from a rank table, as arrays: NaN and False for a unit without a rank."""
    pos = table.index.get_indexer(units)
    found = pos >= 0
    ranks = np.full(len(units), np.nan)
    tied = np.zeros(len(units), dtype=bool)
    ranks[found] = table["rank"].to_numpy(np.float64)[pos[found]]
    tied[found] = table["tied"].to_numpy(bool)[pos[found]]
    return ranks, tied


def rank(j: Judgement) -> pd.DataFrame:
    # Column arithmetic on arrays: a rank target is judged for every group of every period, so the
    # per-judgement cost matters more than elegance here.
    t = j.target
    values = j.value()
    table = rank_table(values.reindex(j.members), j.direction)
    reported, size = len(table), len(j.members)
    silent = size - reported
    ranks, tied = _ranks_of(table, j.index)
    value = j.on_units(values)
    n = len(ranks)
    soft = np.zeros(n, dtype=bool)
    extra = {}
    if t.top is not None:  # reports still missing can only push a reporter down: behind stays behind
        target = np.full(n, float(t.top))
    elif t.not_bottom is not None:
        closed = j.as_of_day > j.due
        # After the deadline the silent units rank below every reporter (unreported: last) or not at all.
        ranked = size if (closed and t.unreported == "last") else reported
        target = np.full(n, float(ranked - t.not_bottom))
        if not closed and silent:  # provisional: the missing reports could still land below this unit
            soft = ranks <= size - t.not_bottom
    else:
        prev_rank, _ = _ranks_of(rank_table(j.value(j.prev_code).reindex(j.members), j.direction), j.index)
        target = np.where(prev_rank == 1, 1.0, prev_rank - 1)  # keeping 1st place is on track
        extra["prev_rank"] = prev_rank
    gap = target - ranks
    met = ranks <= target
    if t.ties == "fail":
        met = met & ~tied
    stretch_met = None
    if t.stretch is not None:
        ok = ~np.isnan(ranks)
        stretch_met = np.full(n, None, dtype=object)
        stretch_met[ok] = ((ranks <= t.stretch) & ~(tied if t.ties == "fail" else False))[ok].tolist()
    return _frame(j, value, target, gap, met, soft=soft, rank=ranks, group_size=size,
                  reported=reported, tied=tied, stretch_met=stretch_met, **extra)


def break_zero(j: Judgement) -> pd.DataFrame:
    value = j.on_units(j.raw())
    return _frame(j, value, 1.0, value - 1.0, value >= 1, soft=False)


def clear_zero(j: Judgement) -> pd.DataFrame:
    value = j.on_units(j.raw())
    t = j.target
    not_due = t.mode == "once" and t.by is not None and j.period.end < t.by
    return _frame(j, value, 0.0, -value, value <= 0, soft=not_due)


def never(j: Judgement) -> pd.DataFrame:
    value = j.on_units(j.raw())
    known = value.notna()
    if known.all():
        return _frame(j, value, 0.0, -value, value <= 0, soft=False)
    # The year's total needs every month; an event in a month that was reported fails the year anyway.
    seen = j.on_units(events_seen(j))
    partial = ~known & (seen > 0)
    value = value.where(known, seen.where(partial))
    return _frame(j, value, 0.0, -value, value <= 0, soft=False, has_report=known | partial, partial=partial)


def events_seen(j: Judgement) -> pd.Series:
    """The fewest events the year's reports so far prove: the sum of the 当月 counts reported, or the
    largest 累计 count reported, whichever is larger (NaN where nothing of the year was reported)."""
    codes = year_periods(j.code, j.ind)
    monthly = j.obs.wide(j.ind.id, Basis.period, codes).sum(axis=1, min_count=1)
    cumulative = j.obs.wide(j.ind.id, Basis.ytd, codes).max(axis=1)
    return pd.concat([monthly, cumulative], axis=1).max(axis=1)


def milestone(j: Judgement) -> pd.DataFrame:
    t = j.target
    value = j.on_units(j.raw())
    out = _frame(j, value, t.value, value - t.value, value >= t.value, soft=False)
    if j.period.end < t.by:  # not due yet: an unreached milestone is still on track
        out["met"] = out["met"].where(out["met"].isna(), True)
        out["not_due"] = True
    return out


def consistency(j: Judgement) -> pd.DataFrame:
    """The judged unit's figure against the weighted sum of its children's (NaN until every child reported)."""
    t = j.target
    if t.children:
        parent = pd.Series([u for u in j.units for _ in t.children], index=pd.Index([c for _ in j.units for c in t.children], dtype=object))
    else:
        members = j.dep.group_members(t.children_group)
        parent = pd.Series({m: j.dep.units[m].parent for m in members}, dtype=object)
        parent = parent[parent.isin(j.units)]
    values = j.raw()
    child_values = pd.Series(values.reindex(parent.index).to_numpy(np.float64), index=parent.index)
    weights = pd.Series(t.weights, dtype=np.float64).reindex(parent.index).fillna(1.0).to_numpy()
    frame = pd.DataFrame({"parent": parent.to_numpy(), "weighted": child_values.to_numpy() * weights,
                          "known": child_values.notna().to_numpy()})
    by = frame.groupby("parent", sort=False)
    total = by["weighted"].sum().where(by["known"].all()).reindex(j.index)
    reported = by["known"].sum().reindex(j.index).fillna(0)
    size = by.size().reindex(j.index).fillna(0)
    value = j.on_units(values)
    allowed = t.tolerance + t.tolerance_pct / 100.0 * total.abs()
    # negative: the difference is beyond the tolerance (with partial children, only a parent below their sum is)
    gap = (value - total + allowed) if t.partial else allowed - (value - total).abs()
    return _frame(j, value, total, gap, gap >= -1e-9, soft=False, reported=reported, group_size=size,
                  reference=total, difference=value - total)


JUDGES = {
    "threshold": threshold, "decline": decline, "range": range_, "approximate": approximate, "share": share,
    "pacing": pacing, "compare": compare, "rank": rank, "break_zero": break_zero, "clear_zero": clear_zero,
    "never": never, "milestone": milestone, "consistency": consistency,
}
