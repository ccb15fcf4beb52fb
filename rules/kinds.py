"""The target kinds: each judges every judgement of its kind at once, as columns over a :class:`Batch`.

A batch holds the judgements (rule version × period) of one kind, with one row per (judgement, judged
unit). A judge returns columns over those rows: ``value, target, gap`` (gap < 0 means short, NaN where
undecidable), ``met`` (bool; read only where the gap is known), ``soft`` (True where a miss is only
at_risk), ``stretch_met`` (codes into :data:`STRETCH`: True, False or None per row; or None for the whole batch) and where they
apply ``rank, group_size, reported, reference, required_run_rate`` and the figures a message quotes.
Whether the unit reported at all is decided by the caller, from the raw observation, unless the kind
returns ``has_report`` (``never``: an event in a reported month is judged although another month is
missing; ``partial`` marks those rows for the message).

Judging one rule (``explain``, scorecards) is a batch of one: there is one copy of each kind's arithmetic.
Only ``never`` and ``consistency`` loop over their judgements (each still on whole columns).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from rules.context import Judgement
from rules.derive import year_periods
from targetwatch.model import Basis, Direction

_HIGHER = (">=", ">")
# True, False and None as the objects a verdict's stretch_met holds: taken by code (0 None, 1 False, 2 True).
STRETCH = np.array([None, False, True], dtype=object)


class Batch:
    """The judgements of one kind, judged together: one row per (judgement, judged unit), in order."""

    def __init__(self, judgements: list[Judgement]):
        self.js = judgements
        sizes = np.array([len(j.units) for j in judgements], dtype=np.intp)
        self.jidx = np.repeat(np.arange(len(judgements)), sizes)  # row → judgement
        self.starts = np.concatenate([[0], np.cumsum(sizes)])
        self.uid = np.concatenate([j.positions for j in judgements]) if judgements else np.zeros(0, dtype=np.intp)

    def __len__(self) -> int:
        return len(self.jidx)

    def subset(self, rows: np.ndarray) -> "Batch":
        """The same judgements with only some of their rows (a boolean mask over rows)."""
        out = Batch.__new__(Batch)
        out.js, out.jidx, out.uid = self.js, self.jidx[rows], self.uid[rows]
        out.starts = np.concatenate([[0], np.cumsum(np.bincount(out.jidx, minlength=len(self.js)))])
        return out

    def per(self, values, dtype=np.float64) -> np.ndarray:
        """One value per judgement (a list in judgement order), broadcast to its rows."""
        return np.asarray(values, dtype=dtype)[self.jidx]

    def each(self, column) -> np.ndarray:
        """Per-judgement row arrays (``column(j)`` for each), concatenated in row order."""
        parts = [np.asarray(column(j), dtype=np.float64) for j in self.js]
        return np.concatenate(parts) if parts else np.zeros(0)

    def on_units(self, arrays: list[np.ndarray]) -> np.ndarray:
        """Per-judgement arrays over every registry unit, read at each judgement's own units."""
        return np.concatenate([a[j.positions] for a, j in zip(arrays, self.js)]) if self.js else np.zeros(0)

    @cached_property
    def value(self) -> np.ndarray:
        """The rule's metric of each judged unit."""
        return self.on_units([j.value() for j in self.js])

    @cached_property
    def raw(self) -> np.ndarray:
        """The reported figure of each judged unit (NaN where it has not reported)."""
        return self.on_units([j.raw() for j in self.js])

    def target_attr(self, name: str) -> np.ndarray:
        """A number of the target per row (NaN where a judgement's target lacks it or leaves it unset)."""
        values = [getattr(j.target, name, None) for j in self.js]
        return self.per([np.nan if v is None else v for v in values])

    def flag(self, test) -> np.ndarray:
        """A per-judgement condition, broadcast to rows."""
        return self.per([bool(test(j)) for j in self.js], dtype=bool)


def _result(b: Batch, value, target, gap, met, soft=False, stretch_met=None, **extra) -> dict:
    n = len(b)
    out = {"value": value, "target": target, "gap": gap, "met": met, "soft": soft, **extra}
    for key, column in out.items():
        out[key] = np.broadcast_to(np.asarray(column), (n,)) if np.ndim(column) == 0 else np.asarray(column)
    out["stretch_met"] = stretch_met
    return out


def _compare(b: Batch, value: np.ndarray, limit: np.ndarray, ops: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(gap, met) of value against limit under each judgement's op; the gap is negative when short."""
    higher = b.per([op in _HIGHER for op in ops], dtype=bool)
    inclusive = b.per([op in (">=", "<=") for op in ops], dtype=bool)
    gap = np.where(higher, value - limit, limit - value)
    return gap, np.where(inclusive, gap >= 0, gap > 0)


def _ops(b: Batch) -> list[str]:
    return [j.target.op for j in b.js]


def _stretch(met: np.ndarray, known: np.ndarray) -> np.ndarray:
    """stretch_met per row as codes into :data:`STRETCH` (True, False, or None where unknown)."""
    return np.where(known, 1 + met.astype(np.intp), 0)


def _tiered(b: Batch, value: np.ndarray, ops: list[str]) -> dict:
    floor = b.each(lambda j: j.floors(j.target.floor))
    stretch = b.each(lambda j: j.floors(j.target.stretch, "stretch"))
    stretch_only = b.flag(lambda j: j.target.floor is None and j.target.stretch is not None)
    floor = np.where(stretch_only & np.isnan(floor), stretch, floor)  # 力争 only: the stretch is the one line
    gap, met = _compare(b, value, floor, ops)
    _, s_met = _compare(b, value, stretch, ops)
    within = b.target_attr("at_risk_within")
    soft = ~np.isnan(within) & (-gap <= within)
    return _result(b, value, floor, gap, met, soft=soft, stretch_met=_stretch(s_met, ~np.isnan(stretch) & ~np.isnan(value)))


def threshold(b: Batch) -> dict:
    return _tiered(b, b.value, _ops(b))


def decline(b: Batch) -> dict:
    return _tiered(b, -b.value, [">="] * len(b.js))


def share(b: Batch) -> dict:
    def denominator(j: Judgement) -> np.ndarray:
        of = j.target.of
        den_all = j.raw(indicator=of.indicator) if of.indicator else j.raw()
        if of.unit == "parent":
            pos = j.obs.parent_positions[j.positions]
        elif of.unit:
            pos = np.full(len(j.units), j.obs.positions([of.unit])[0])
        else:
            pos = j.positions
        return np.where(pos >= 0, den_all[pos], np.nan)

    den = b.each(denominator)
    return _tiered(b, 100.0 * b.raw / np.where(den != 0, den, np.nan), _ops(b))


def range_(b: Batch) -> dict:
    value, lo, hi = b.value, b.target_attr("min"), b.target_attr("max")
    # 力争打造3-5个 (stretch only): the upper end is a stretch, never a ceiling
    stretch_only = b.flag(lambda j: j.stretch_only)
    gap = np.where(stretch_only, value - lo, np.where(value < lo, value - lo, np.where(value > hi, hi - value, value - lo)))
    met = np.where(stretch_only, value >= lo, (value >= lo) & (value <= hi))
    return _result(b, value, lo, gap, met, soft=~stretch_only & (value > hi))


def approximate(b: Batch) -> dict:
    value, aim = b.value, b.target_attr("value")
    tol = b.per([t.tolerance if t.tolerance is not None else abs(t.value) * t.tolerance_pct / 100.0 for t in (j.target for j in b.js)])
    higher = b.flag(lambda j: j.direction is Direction.higher)
    gap = np.where(higher, value - aim, aim - value)
    return _result(b, value, aim, gap, gap >= -tol)


def pacing(b: Batch) -> dict:
    month = b.per([j.period.last_month for j in b.js])
    due = b.per([due_share(j.target, j.period.last_month) for j in b.js])
    annual = b.each(lambda j: j.floors(j.target.annual, "annual"))
    cum = b.raw
    target = annual * due / 100.0
    gap = cum - target
    remaining = 12 - month
    short = annual - cum
    short = np.where(np.isnan(short) | (short >= 0), short, 0.0)  # clipped at zero, NaN kept
    with np.errstate(divide="ignore", invalid="ignore"):
        run_rate = np.where(remaining != 0, short / remaining, np.nan)
    within = b.target_attr("at_risk_within")
    soft = ~np.isnan(within) & (-gap / annual * 100.0 <= within)
    stretch = b.target_attr("stretch")
    stretch_met = _stretch(cum >= stretch * due / 100.0, ~np.isnan(cum) & ~np.isnan(stretch))
    return _result(b, cum, target, gap, gap >= 0, soft=soft, stretch_met=stretch_met,
                   required_run_rate=np.where(np.isnan(cum), np.nan, run_rate), due_share=due, annual=annual)


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


def compare(b: Batch) -> dict:
    def reference(j: Judgement) -> float:
        values = j.value()
        if j.target.reference == "group_figure":
            ref_unit = j.reference_unit()
            return float(values[j.obs.positions([ref_unit])[0]]) if ref_unit else np.nan
        peers = values[j.member_positions]
        known = ~np.isnan(peers)
        # pandas' mean, to the bit: the sum of every peer with the silent ones as zero, over the count
        return float(np.where(known, peers, 0.0).sum() / known.sum()) if known.any() else np.nan

    refs = [reference(j) for j in b.js]
    value = b.value
    reference = b.per(refs)
    target = reference + b.target_attr("margin")
    gap, met = _compare(b, value, target, _ops(b))
    return _result(b, value, target, gap, met, reference=reference, group_size=b.per([len(j.members) for j in b.js]),
                   reported=b.per([int((~np.isnan(j.value()[j.member_positions])).sum()) for j in b.js]))


def grouped_ranks(group: np.ndarray, values: np.ndarray, ascending) -> tuple[np.ndarray, np.ndarray]:
    """Competition ranks (1, 2, 2, 4) within each group, at full precision: only equal values tie (rounded
    to 9 decimals, far below any published figure, so that float noise in derived growth does not split a
    real tie). ``ascending`` (per row or one for all) ranks the lowest first. Returns (rank, tied) per
    row: NaN and False where the value is missing."""
    n = len(values)
    ranks, tied = np.full(n, np.nan), np.zeros(n, dtype=bool)
    ok = np.flatnonzero(~np.isnan(values))
    if not len(ok):
        return ranks, tied
    rounded = np.round(values[ok], 9)
    key = np.where(np.broadcast_to(ascending, (n,))[ok], rounded, -rounded)
    order = np.lexsort((key, group[ok]))
    g, k = group[ok][order], key[order]
    pos = np.arange(len(order))
    new_group = np.r_[True, g[1:] != g[:-1]]
    new_value = new_group | np.r_[True, k[1:] != k[:-1]]
    group_start = np.maximum.accumulate(np.where(new_group, pos, 0))
    run = np.cumsum(new_value) - 1
    run_start = pos[new_value]
    ranks[ok[order]] = (run_start[run] - group_start + 1).astype(np.float64)
    tied[ok[order]] = np.bincount(run)[run] > 1
    return ranks, tied


def rank_table(values: pd.Series, direction: Direction) -> pd.DataFrame:
    """The ranks of the units that reported (:func:`grouped_ranks` of one group), best first."""
    reported = values.dropna().round(9)
    ranks, tied = grouped_ranks(np.zeros(len(reported), dtype=np.intp), reported.to_numpy(np.float64), direction is Direction.lower)
    table = pd.DataFrame({"value": reported, "rank": ranks, "tied": tied}, index=reported.index)
    return table.sort_values("rank", kind="stable")


def _member_ranks(b: Batch, values: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rank, tied) of each judged unit among its judgement's members, and how many members reported."""
    members = [j.member_positions for j in b.js]
    group = np.repeat(np.arange(len(b.js)), [len(m) for m in members])
    flat = np.concatenate([v[m] for v, m in zip(values, members)])
    lower = np.asarray([j.direction is Direction.lower for j in b.js], dtype=bool)[group]
    ranks, tied = grouped_ranks(group, flat, lower)
    reported = np.bincount(group[~np.isnan(flat)], minlength=len(b.js))
    # Read at the judged units: (judgement, unit) keys looked up among the (judgement, member) keys.
    n_units = len(b.js[0].obs.unit_index)
    keys = group * n_units + np.concatenate(members)
    order = np.argsort(keys, kind="stable")
    wanted = b.jidx * n_units + b.uid
    at = np.minimum(np.searchsorted(keys[order], wanted), max(len(keys) - 1, 0))
    found = keys[order][at] == wanted if len(keys) else np.zeros(len(wanted), dtype=bool)
    rank_of, tied_of = np.full(len(wanted), np.nan), np.zeros(len(wanted), dtype=bool)
    rank_of[found], tied_of[found] = ranks[order][at[found]], tied[order][at[found]]
    return rank_of, tied_of, reported


def rank(b: Batch) -> dict:
    js = b.js
    ranks, tied, reported_j = _member_ranks(b, [j.value() for j in js])
    size_j = np.array([len(j.members) for j in js], dtype=np.intp)
    size, reported = size_j[b.jidx], reported_j[b.jidx]
    top, not_bottom = b.target_attr("top"), b.target_attr("not_bottom")
    closed = b.flag(lambda j: j.as_of_day > j.due)
    improve = b.flag(lambda j: j.target.top is None and j.target.not_bottom is None)
    # After the deadline the silent units rank below every reporter (unreported: last) or not at all.
    last = b.flag(lambda j: j.target.unreported == "last")
    ranked = np.where(closed & last, size, reported)
    prev_rank = np.full(len(b), np.nan)
    if improve.any():
        prev, _, _ = _member_ranks(b, [j.value(j.prev_code) if j.target.top is None and j.target.not_bottom is None
                                       else np.full(len(j.obs.unit_index), np.nan) for j in js])
        prev_rank = np.where(improve, prev, np.nan)
    # top: reports still missing can only push a reporter down, behind stays behind; improve: keeping
    # 1st place is on track
    target = np.where(~np.isnan(top), top, np.where(~np.isnan(not_bottom), ranked - not_bottom,
                                                     np.where(prev_rank == 1, 1.0, prev_rank - 1)))
    # provisional: before the deadline the missing reports could still land below this unit
    soft = ~np.isnan(not_bottom) & ~closed & (size > reported) & (ranks <= size - not_bottom)
    gap = target - ranks
    fail_ties = b.flag(lambda j: j.target.ties == "fail")
    met = (ranks <= target) & ~(fail_ties & tied)
    stretch = b.target_attr("stretch")
    stretch_met = None
    if not np.isnan(stretch).all():
        stretch_met = _stretch((ranks <= stretch) & ~(fail_ties & tied), ~np.isnan(stretch) & ~np.isnan(ranks))
    extra = {"prev_rank": prev_rank} if improve.any() else {}
    return _result(b, b.value, target, gap, met, soft=soft, rank=ranks, group_size=size, reported=reported,
                   tied=tied, stretch_met=stretch_met, **extra)


def break_zero(b: Batch) -> dict:
    value = b.raw
    return _result(b, value, 1.0, value - 1.0, value >= 1)


def clear_zero(b: Batch) -> dict:
    value = b.raw
    not_due = b.flag(lambda j: j.target.mode == "once" and j.target.by is not None and j.period.end < j.target.by)
    return _result(b, value, 0.0, -value, value <= 0, soft=not_due)


def never(b: Batch) -> dict:
    # The year's total needs every month; an event in a month that was reported fails the year anyway.
    value = b.raw
    known = ~np.isnan(value)
    seen = b.each(lambda j: events_seen(j)[j.positions]) if not known.all() else np.full(len(b), np.nan)
    partial = ~known & (seen > 0)
    value = np.where(known, value, np.where(partial, seen, np.nan))
    extra = {"has_report": known | partial, "partial": partial} if not known.all() else {}
    return _result(b, value, 0.0, -value, value <= 0, **extra)


def events_seen(j: Judgement) -> np.ndarray:
    """The fewest events the year's reports so far prove, over every registry unit: the sum of the 当月
    counts reported, or the largest 累计 count reported, whichever is larger (NaN where nothing of the year
    was reported)."""
    codes = year_periods(j.code, j.ind)
    monthly = j.obs.wide(j.ind.id, Basis.period, codes).sum(axis=1, min_count=1)
    cumulative = j.obs.wide(j.ind.id, Basis.ytd, codes).max(axis=1)
    return j.obs.densify(pd.concat([monthly, cumulative], axis=1).max(axis=1))


def milestone(b: Batch) -> dict:
    value, aim = b.raw, b.target_attr("value")
    not_due = b.flag(lambda j: j.period.end < j.target.by)  # an unreached milestone is still on track
    return _result(b, value, aim, value - aim, not_due | (value >= aim), not_due=not_due)


def consistency(b: Batch) -> dict:
    """The judged unit's figure against the weighted sum of its children's (NaN until every child reported)."""
    parts = [_consistency(j) for j in b.js]
    columns = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]} if parts else {}
    value, total = columns.get("value", np.zeros(0)), columns.get("total", np.zeros(0))
    allowed, partial = columns.get("allowed", np.zeros(0)), b.flag(lambda j: j.target.partial)
    # negative: the difference is beyond the tolerance (with partial children, only a parent below their sum is)
    gap = np.where(partial, value - total + allowed, allowed - np.abs(value - total))
    return _result(b, value, total, gap, gap >= -1e-9, reported=columns.get("reported", np.zeros(0)),
                   group_size=columns.get("size", np.zeros(0)), reference=total, difference=value - total)


def _consistency(j: Judgement) -> dict:
    t = j.target
    if t.children:
        parent = pd.Series([u for u in j.units for _ in t.children], index=pd.Index([c for _ in j.units for c in t.children], dtype=object))
    else:
        members = j.dep.group_members(t.children_group)
        parent = pd.Series({m: j.dep.units[m].parent for m in members}, dtype=object)
        parent = parent[parent.isin(j.units)]
    values = j.raw()
    pos = j.obs.unit_index.get_indexer(parent.index)
    child_values = np.where(pos >= 0, values[pos], np.nan)
    weights = pd.Series(t.weights, dtype=np.float64).reindex(parent.index).fillna(1.0).to_numpy()
    frame = pd.DataFrame({"parent": parent.to_numpy(), "weighted": child_values * weights, "known": ~np.isnan(child_values)})
    by = frame.groupby("parent", sort=False)
    index = pd.Index(j.units, dtype=object)
    total = by["weighted"].sum().where(by["known"].all()).reindex(index).to_numpy(np.float64)
    return {"value": values[j.positions], "total": total, "allowed": t.tolerance + t.tolerance_pct / 100.0 * np.abs(total),
            "reported": by["known"].sum().reindex(index).fillna(0).to_numpy(np.float64),
            "size": by.size().reindex(index).fillna(0).to_numpy(np.float64)}


JUDGES = {
    "threshold": threshold, "decline": decline, "range": range_, "approximate": approximate, "share": share,
    "pacing": pacing, "compare": compare, "rank": rank, "break_zero": break_zero, "clear_zero": clear_zero,
    "never": never, "milestone": milestone, "consistency": consistency,
}
