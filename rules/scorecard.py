"""Weighted scorecards (计分): points per rule, 未破零记零分, a composite score, a band and a rank.

Each item rule is judged for every member of the scorecard's group at the same period. An item scores
its points when on track (``pass_fail``), points × value/target capped at 1 (``proportional``), or by
the unit's rank among the members that reported (``rank``: a ``rank_points`` table, or
points × (n − rank + 1)/n); a zero value scores nothing where ``zero_unless_broken``. A unit with any item unreported gets no score:
it is ``no_data`` or ``late`` like any missing report, and it is left out of the rank.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules import messages, verdict
from rules.judge import judge, plan
from rules.kinds import rank_table
from rules.owners import owners_of_units
from targetwatch import periods
from targetwatch.model import Direction


def score(doc, ruleset, dep, obs, as_of_day, period) -> pd.DataFrame:
    """The verdict rows of one scorecard: value = composite score, target = its floor, rank across units."""
    spec, meta = doc.doc.spec, doc.doc.metadata
    members = dep.group_members(spec.group)
    units = list(spec.units) or members
    points = pd.DataFrame(index=pd.Index(members, name="unit"))
    missing = pd.Series("", index=members, dtype=object)
    code = None
    for i, item in enumerate(spec.items):
        j = plan(ruleset, item.rule, dep, obs, as_of_day, period, units=members)
        if j is None:
            continue
        code = code or j.code
        rows = judge(j).set_index("unit")
        on = rows["status"].eq("on_track")
        if item.scoring == "proportional":
            ratio = (rows["value"] / rows["target"].where(rows["target"] > 0)).clip(0, 1)
            got = item.points * ratio.where(rows["value"].notna(), np.nan).fillna(on.astype(float))
        elif item.scoring == "rank":
            got = rank_points(item, rows["value"], j.direction).reindex(rows.index).fillna(0.0)
        else:
            got = item.points * on.astype(float)
        if item.zero_unless_broken:
            got = got.where(~(rows["value"] <= 0), 0.0)
        unreported = rows["status"].isin(["no_data", "late"]) & rows["value"].isna()
        points[f"item{i}"] = got.where(~unreported)
        missing = missing.where(missing != "", rows["status"].where(unreported, ""))
    if code is None:
        return verdict.empty()
    composite = points.sum(axis=1, min_count=len(points.columns)).where(points.notna().all(axis=1))
    table = rank_table(composite, Direction.higher)
    floor = spec.floor
    status = np.where(composite.isna(), missing.replace("", "no_data"),
                      np.where(floor is None or False, "on_track", np.where(composite >= (floor or 0), "on_track", "behind")))
    status = pd.Series(status, index=members)
    payout = composite.map(lambda s: _payout(spec.bands, s)) if spec.bands else pd.Series(np.nan, index=members)
    p = periods.Period.from_code(code)
    names = [dep.units[u].name for u in members]
    group = dep.groups[spec.group].name
    cat, fmt = messages.cat, messages.fmt
    status_zh = messages.sentence_words(status)
    body = cat(names, p.label_zh() + meta.title + "得分", fmt(composite, 1), f"分，在{group}{len(table)}个已计分单位中排第",
               fmt(table["rank"].reindex(members), 0), "位")
    body = cat(body, np.where(payout.notna().to_numpy(), cat("，按", fmt(payout, 0), "%兑现"), ""))
    body = cat(body, f"，目标{floor:g}分以上" if floor is not None else "", "，", status_zh)
    text = np.where(composite.isna().to_numpy(), cat(names, p.label_zh() + meta.title + "无法计分（有指标", status_zh, "）"), body)
    rank = table["rank"].reindex(members).to_numpy(np.float64)
    out = verdict.as_frame([verdict.rows(
        rule=meta.id, unit=members, indicator="score", period=str(p), as_of=as_of_day.isoformat(), status=status.to_numpy(dtype=object),
        value=composite.to_numpy(np.float64), target=np.nan if floor is None else floor,
        gap=np.nan if floor is None else (composite - floor).to_numpy(np.float64), rank=rank, group_size=len(members),
        reported=len(table), target_version=f"v{meta.version}", owners=owners_of_units(dep, spec.owners, None, members),
        message=cat(text, "。").astype(object), severity=spec.severity.value if spec.severity else None,
        rule_title=meta.title, group=spec.group, measure="分", deadline=None,
    )])
    return out[out["unit"].isin(units)]


def rank_points(item, values: pd.Series, direction: Direction) -> pd.Series:
    """按排名计分: the points of each unit that reported, by its competition rank among them."""
    table = rank_table(values, direction)
    ranks = table["rank"].to_numpy(np.int64)
    if item.rank_points is not None:
        by_rank = np.asarray([*item.rank_points, 0.0], dtype=np.float64)
        got = by_rank[np.minimum(ranks, len(item.rank_points) + 1) - 1]
    else:
        n = len(table)
        got = item.points * (n - ranks + 1) / n if n else np.zeros(0)
    return pd.Series(got, index=table.index, dtype=np.float64)


def _payout(bands, s: float) -> float:
    if s != s:
        return np.nan
    for band in sorted(bands, key=lambda b: -b.min):
        if s >= band.min:
            return band.payout
    return 0.0
