"""What a monthly bulletin (通报) says, as frames: every figure is a verdict of ``rules.evaluate``.

A bulletin is built for one period as of one date. Its parts:

- the **league tables**: per rule judged in a peer group, every member of the group with its value,
  growth, place, 进位/退位 since the previous period, the target, the group's own figure and the status.
  The place is the verdict's rank where the rule ranks; where it does not (a floor, 高于全市), the
  table's values are placed by the engine's own ranking (``rules.kinds.rank_table``).
  Task lists name one unit per target (大祥区 must rank in the top seven); a league table shows its
  peers too. They come from the same ``rules.evaluate`` over the same rules with each rule's units
  widened to its group's members, so a peer's row is exactly what the engine says of that peer under
  the same target. ``responsible`` marks the units the rule itself names;
- the **lists** the seeds act on: 确保 floors missed (``behind``), the bottom five of each table
  (约谈), late reporters, targets met, and pacing (完成年度任务的X%, 时间过半任务过半);
- the **cover**: how many units reported on time and which did not;
- the **data checks** that failed (tier ``data``: a parent that does not add up to its children), apart
  from the missed 确保 floors, each naming the contact (联络人) it goes to (:func:`rules.owners.recipients`).

The renderers (``exporters.bulletin.html`` and ``.xlsx``) only lay these frames out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from rules import evaluate, load_rules
from rules.kinds import due_share, rank_table
from rules.load import RuleDoc, RuleSet
from rules.owners import recipients
from rules.verdict import worst_first
from rules.vocabulary import STATUSES
from targetwatch import periods
from targetwatch.errors import ConfigError
from targetwatch.model import Direction

LEAGUE_COLUMNS = [
    "table", "rule", "rule_title", "indicator", "indicator_name", "group", "group_name", "measure",
    "unit", "unit_name", "responsible", "value", "growth", "rank", "rank_change", "target", "reference",
    "status", "group_size", "reported", "period", "target_kind",
]
BOTTOM = 5  # 每季度对排名后五位的单位主要负责人进行集体约谈 (seed 000, L81)
LOOKBACK = 12  # periods the default bulletin steps back to find one with reports due
PACING_LINES = 8  # units drawn per pacing chart: those furthest behind the share due


@dataclass
class Bulletin:
    """One bulletin: the frames every format lays out."""

    title: str
    jurisdiction: str
    period: str
    period_label: str
    as_of: date
    group: str | None
    verdicts: pd.DataFrame  # rules.evaluate as it is: the targets' own units
    league: pd.DataFrame  # LEAGUE_COLUMNS, one block per table, each ordered by rank
    tables: pd.DataFrame  # one row per league table: table, rule_title, indicator_name, group_name, measure, target, reference
    behind: pd.DataFrame
    bottom: pd.DataFrame
    late: pd.DataFrame
    met: pd.DataFrame
    pacing: pd.DataFrame
    pacing_path: pd.DataFrame  # rule, rule_title, unit, unit_name, period, month, value, target, done_pct, due_pct
    pacing_due: pd.DataFrame  # rule, rule_title, month, due_pct: each pacing target's path over the whole year
    data_checks: pd.DataFrame = field(default_factory=pd.DataFrame)  # failed data checks, with contact and contact_name
    units: list[str] = field(default_factory=list)
    late_units: list[str] = field(default_factory=list)
    late_unit_names: list[str] = field(default_factory=list)

    @property
    def status_counts(self) -> dict[str, int]:
        """How many verdicts of the targets' own units have each status, in severity order."""
        counts = self.verdicts["status"].value_counts()
        return {s: int(counts.get(s, 0)) for s in STATUSES}

    @property
    def on_time(self) -> int:
        return len(self.units) - len(self.late_units)


def widened(ruleset: RuleSet) -> tuple[RuleSet, bool]:
    """The rules with every grouped rule judging all members of its group; whether anything changed."""
    docs, changed = [], False
    for d in ruleset.docs:
        spec = d.doc.spec
        if not d.is_scorecard and spec.group and spec.units:
            d = RuleDoc(d.doc.model_copy(update={"spec": spec.model_copy(update={"units": []})}), d.raw, d.file)
            changed = True
        docs.append(d)
    return RuleSet(docs=docs, problems=list(ruleset.problems)), changed


def build(deployment, store, *, period: str | None = None, as_of=None, group: str | None = None,
          ruleset: RuleSet | None = None) -> Bulletin:
    """The bulletin of ``period`` (default: the latest with reports due by ``as_of``) as of ``as_of``, for one peer
    group or all."""
    if group is not None and group not in deployment.groups:
        raise ConfigError(f"unknown peer group {group!r}; known: {', '.join(deployment.groups)}")
    ruleset = ruleset or load_rules(deployment.root, deployment)
    instant = periods.as_of_instant(as_of)
    verdicts = evaluate(deployment, store, as_of=instant, period=period, ruleset=ruleset)
    if period is None:
        period, verdicts = _latest_due(deployment, store, instant, ruleset, verdicts)
    wide_rules, changed = widened(ruleset)
    league_verdicts = evaluate(deployment, store, as_of=instant, period=period, ruleset=wide_rules) if changed else verdicts
    if group is not None:
        members = set(deployment.group_members(group))
        verdicts = verdicts[(verdicts["group"] == group) | verdicts["unit"].isin(members)].reset_index(drop=True)
        league_verdicts = league_verdicts[league_verdicts["group"] == group]
    shown_period = period or _latest(verdicts)
    label = periods.parse(shown_period).label_zh() if shown_period else "—"
    league = _league(deployment, store, instant, verdicts, league_verdicts, wide_rules)
    tables = _tables(league)
    reference_units = {deployment.groups[g].reference_unit for g in tables["group"].unique() if deployment.groups[g].reference_unit}
    jurisdiction = _jurisdiction(deployment, group, reference_units)
    judged_units = sorted(set(verdicts["unit"]) | set(league["unit"]))
    late = _late(deployment, pd.concat([verdicts, league_verdicts], ignore_index=True))
    pacing = _pacing(deployment, verdicts, ruleset)
    return Bulletin(
        title=f"{jurisdiction}{label}目标任务完成情况通报", jurisdiction=jurisdiction, period=shown_period or "",
        period_label=label, as_of=instant.date(), group=group, verdicts=verdicts, league=league, tables=tables,
        behind=_named(deployment, worst_first(verdicts[(verdicts["status"] == "behind") & ~_is_data(verdicts)])),
        data_checks=_data_checks(deployment, verdicts),
        bottom=_bottom(league), late=late, met=_named(deployment, verdicts[verdicts["status"] == "on_track"]),
        pacing=pacing, pacing_path=_pacing_path(deployment, store, instant, pacing, ruleset),
        pacing_due=_pacing_due(pacing, ruleset),
        units=judged_units, late_units=sorted(set(late["unit"])),
        late_unit_names=[deployment.units[u].name if u in deployment.units else u for u in sorted(set(late["unit"]))],
    )


def _is_data(verdicts: pd.DataFrame) -> pd.Series:
    """Data-quality verdicts (tier data): a failed one is no missed target and is listed apart."""
    return verdicts["tier"].eq("data") if "tier" in verdicts.columns else pd.Series(False, index=verdicts.index)


def _data_checks(dep, verdicts: pd.DataFrame) -> pd.DataFrame:
    """The failed data checks, each with the contact it goes to (the same person as the digest's)."""
    failed = verdicts[(verdicts["status"] == "behind") & _is_data(verdicts)]
    out = _named(dep, failed.sort_values(["rule", "unit"], kind="stable"))
    out["contact"] = recipients(out).to_numpy(dtype=object)
    out["contact_name"] = out["contact"].map(lambda p: dep.people[p].name if p in dep.people else (p or "—"))
    return out


def _latest_due(dep, store, instant, ruleset: RuleSet, current: pd.DataFrame) -> tuple[str | None, pd.DataFrame]:
    """The default period and its verdicts. Each rule's own latest period mixes periods (a task list that
    ends in June beside a monthly target already in July), and the latest period ended by the date may
    have no report due yet (July's figures are due in August). The bulletin is of one period, judged whole:
    the latest one, stepping back a period at a time (at most a year), in which some report is due."""
    latest = period = _latest(current)
    if latest is None:
        return None, current
    first = None
    day = pd.Timestamp(instant.date())
    for _ in range(LOOKBACK):
        verdicts = evaluate(dep, store, as_of=instant, period=period, ruleset=ruleset)
        first = verdicts if first is None else first
        # A report due by the date, not merely a verdict: a milestone of December or a never-event is judged
        # (on track) every month before any report of that month is due.
        due = pd.to_datetime(verdicts["deadline"], errors="coerce") <= day
        if ((verdicts["status"] != "no_data") & due).any():
            return period, verdicts
        code = periods.previous_codes(np.array([periods.parse(period).code]))[0]
        period = str(periods.Period.from_code(int(code)))
    return latest, first  # nothing due for a year: the latest period, all of it 待报送


def _jurisdiction(dep, group: str | None, reference_units: set[str]) -> str:
    """Whose bulletin it is: the unit whose own figure is the group's (邵阳市 for its counties), else the
    group's name, else the registry's top units (those without a parent)."""
    names = sorted(dep.units[u].name for u in reference_units if u in dep.units)
    if names:
        return "、".join(names)
    if group:
        return dep.groups[group].name
    return "、".join(u.name for u in dep.units.values() if u.parent is None or u.parent not in dep.units) or "本级"


def _latest(verdicts: pd.DataFrame) -> str | None:
    if verdicts.empty:
        return None
    codes = [periods.parse(p).code for p in verdicts["period"].unique()]
    # Of the periods ending last, the shortest: June's monthly bulletin rather than the second quarter's.
    return str(periods.Period.from_code(max(codes, key=lambda c: (periods.Period.from_code(c).end, c))))


def _named(dep, frame: pd.DataFrame) -> pd.DataFrame:
    """Verdict rows with the unit's and indicator's Chinese names beside the ids."""
    out = frame.reset_index(drop=True).copy()
    units = {u: x.name for u, x in dep.units.items()}
    indicators = {i: x.name for i, x in dep.indicators.items()}
    out["unit_name"] = out["unit"].map(units).fillna(out["unit"])
    out["indicator_name"] = out["indicator"].map(indicators).fillna(out["indicator"])
    return out


def _league(dep, store, instant, verdicts: pd.DataFrame, wide: pd.DataFrame, wide_rules: RuleSet) -> pd.DataFrame:
    rows = wide[wide["group"].notna()]
    if rows.empty:
        return pd.DataFrame(columns=LEAGUE_COLUMNS)
    rows = _named(dep, rows)
    own = set(zip(verdicts["rule"], verdicts["unit"]))
    rows["responsible"] = [(r, u) in own for r, u in zip(rows["rule"], rows["unit"])]
    rows["group_name"] = [dep.groups[g].name for g in rows["group"]]
    # A rank target is a place, not a figure: the value column keeps the indicator's own measure.
    kinds = {d.id: ("scorecard" if d.is_scorecard else d.doc.spec.target.kind) for d in wide_rules.docs}
    rows["target_kind"] = rows["rule"].map(kinds)
    ranked_target = rows["target_kind"].eq("rank").to_numpy()
    rows["measure"] = np.where(ranked_target, [dep.indicators[i].measure if i in dep.indicators else m
                                               for i, m in zip(rows["indicator"], rows["measure"])], rows["measure"])
    rows["table"] = rows["rule"] + "@" + rows["group"]
    rows["growth"] = _growth(dep, rows, wide)
    rows["rank"] = _places(dep, rows)
    rows["rank_change"] = _rank_change(dep, store, instant, rows, wide_rules)
    # Units sorted as the table reads: reported by rank, then the rest by name; tables in rule order.
    rows["_unranked"] = rows["rank"].isna()
    rows["_order"] = rows["rule"].map({r: i for i, r in enumerate(dict.fromkeys(rows["rule"]))})
    rows = rows.sort_values(["_order", "group", "_unranked", "rank", "value", "unit"], ascending=[True, True, True, True, False, True],
                            kind="stable")
    return rows[LEAGUE_COLUMNS].reset_index(drop=True)


def _growth(dep, rows: pd.DataFrame, wide: pd.DataFrame) -> pd.Series:
    """Growth beside the value: the value itself when the rule judges a growth, else the verdict value of a
    rule judging the indicator's published growth series in the same group and period (NaN when none does)."""
    inds = dep.indicators
    is_growth = np.array([inds[i].kind.value == "growth" or inds[i].growth_of is not None if i in inds else False
                          for i in rows["indicator"]], dtype=bool)
    series_of = {i.growth_of: i.id for i in inds.values() if i.growth_of}
    companion = rows["indicator"].map(series_of)
    pool = wide[wide["indicator"].isin(set(series_of.values()))].drop_duplicates(["indicator", "unit", "period", "group"])
    looked = rows.assign(_ind=companion).merge(
        pool[["indicator", "unit", "period", "group", "value"]].rename(columns={"indicator": "_ind", "value": "_growth"}),
        on=["_ind", "unit", "period", "group"], how="left")
    return pd.Series(np.where(is_growth, rows["value"].to_numpy(dtype=np.float64), looked["_growth"].to_numpy(dtype=np.float64)),
                     index=rows.index)


def _places(dep, rows: pd.DataFrame) -> pd.Series:
    """Each row's place in its table: the engine's rank where the rule ranks (rank targets, scorecards), else
    the engine's own competition ranking (``rules.kinds.rank_table``) of the table's values, so that every
    league table ranks its units the same way."""
    out = pd.to_numeric(rows["rank"], errors="coerce").astype("float64")
    keys = rows["rule"].astype(str) + "@" + rows["group"].astype(str)
    unranked = keys[out.isna()].unique()
    for key, block in rows[keys.isin(unranked)].groupby(keys[keys.isin(unranked)], sort=False):
        if pd.to_numeric(block["rank"], errors="coerce").notna().any():
            continue  # the engine ranked this table; its unranked rows did not report
        ind = dep.indicators.get(block["indicator"].iloc[0])
        direction = ind.direction if ind else Direction.higher
        table = rank_table(block.set_index("unit")["value"].astype("float64"), direction)  # full precision, as the engine ranks
        out.loc[block.index] = block["unit"].map(table["rank"]).to_numpy(dtype=np.float64)
    return out.round().astype("Int64")


def _rank_change(dep, store, instant, rows: pd.DataFrame, wide_rules: RuleSet) -> pd.Series:
    """Places gained since the previous period (进位 > 0, 退位 < 0): the same rules judged by the same engine
    for the previous period as of the same date, placed the same way."""
    if rows["rank"].isna().all():
        return pd.Series(pd.NA, index=rows.index, dtype="Int64")
    previous: dict[str, list[str]] = {}
    for (rule, period), block in rows.groupby(["rule", "period"]):
        ind = dep.indicators.get(block["indicator"].iloc[0])
        code = periods.parse(period).code
        prev = periods.previous_codes(np.array([code]), bool(ind and ind.jan_feb_combined))[0]
        previous.setdefault(str(periods.Period.from_code(int(prev))), []).append(rule)
    before = [evaluate(dep, store, as_of=instant, period=p, rules=r, ruleset=wide_rules) for p, r in previous.items()]
    before = pd.concat(before, ignore_index=True)
    before = before[before["group"].notna()]
    before = before.assign(_before=_places(dep, before))[["rule", "unit", "group", "_before"]]
    merged = rows[["rule", "unit", "group", "rank"]].merge(before, on=["rule", "unit", "group"], how="left")
    return pd.Series((merged["_before"] - merged["rank"]).to_numpy(), index=rows.index, dtype="Int64")


def _tables(league: pd.DataFrame) -> pd.DataFrame:
    cols = ["table", "rule", "rule_title", "indicator", "indicator_name", "group", "group_name", "measure", "period", "target_kind"]
    if league.empty:
        return pd.DataFrame(columns=[*cols, "target", "reference", "rows"])
    first = league.groupby("table", sort=False)
    out = first[cols].first().reset_index(drop=True)
    # A table's target line: the target of the responsible units when they share one (the peers' is the same rule's).
    out["target"] = first["target"].agg(lambda s: s.iloc[0] if s.nunique(dropna=False) == 1 else np.nan).to_numpy()
    out["reference"] = first["reference"].agg(lambda s: s.dropna().iloc[0] if s.notna().any() else np.nan).to_numpy()
    out["rows"] = first.size().to_numpy()
    return out


def _bottom(league: pd.DataFrame) -> pd.DataFrame:
    """The last ``BOTTOM`` ranked units of each indicator's ranking that ranks more than ``BOTTOM`` units (约谈).

    约谈 is about an indicator's ranking, not a rule's: two rules that read the same indicator of the same group
    (社零 above the city and 社零 进位) rank it the same way, and the units are named once."""
    ranked = league[league["rank"].notna()]
    counts = ranked.groupby("table")["rank"].transform("size")
    ranked = ranked[counts > BOTTOM]
    last = ranked.groupby("table", sort=False).tail(BOTTOM)
    return last.drop_duplicates(["indicator", "group", "period", "unit", "rank"]).reset_index(drop=True)


def _late(dep, frame: pd.DataFrame) -> pd.DataFrame:
    """Reports of the registry's indicators past their deadline. A scorecard's composite ("score") is late
    because a component is; nobody files it, and its late components are listed under their own indicators."""
    late = frame[(frame["status"] == "late") & frame["indicator"].isin(dep.indicators)].drop_duplicates(["unit", "indicator", "period"])
    late = _named(dep, late.sort_values(["unit", "indicator"], kind="stable"))
    return late[["unit", "unit_name", "indicator", "indicator_name", "period", "deadline"]]


def _pacing_docs(ruleset: RuleSet, rule_ids) -> dict[str, RuleDoc]:
    wanted = set(rule_ids)
    return {d.id: d for d in ruleset.rules if d.id in wanted and d.doc.spec.target.kind == "pacing"}


def _pacing(dep, verdicts: pd.DataFrame, ruleset: RuleSet) -> pd.DataFrame:
    """Pacing targets: 完成年度任务的X% against the share due by now and the share of the year gone."""
    docs = _pacing_docs(ruleset, verdicts["rule"].unique())
    rows = _named(dep, verdicts[verdicts["rule"].isin(docs)])
    if rows.empty:
        return rows.assign(annual=[], done_pct=[], due_pct=[], time_pct=[], ahead_pct=[])
    month = np.array([periods.parse(p).last_month for p in rows["period"]])
    due = np.array([due_share(docs[r].doc.spec.target, m) for r, m in zip(rows["rule"], month)], dtype=np.float64)
    annual = rows["target"].to_numpy(dtype=np.float64) / due * 100.0
    rows["annual"] = annual
    rows["done_pct"] = rows["value"].to_numpy(dtype=np.float64) / annual * 100.0
    rows["due_pct"] = due
    rows["time_pct"] = month / 12 * 100.0
    rows["ahead_pct"] = rows["done_pct"] - rows["time_pct"]  # 时间过半、任务过半: ≥ 0 keeps pace with the year
    return rows


def _pacing_due(pacing: pd.DataFrame, ruleset: RuleSet) -> pd.DataFrame:
    """The share of the annual task due by the end of each month, January to December (the target path),
    by the engine's own ``due_share`` of each pacing target's profile."""
    docs = _pacing_docs(ruleset, pacing["rule"].unique()) if len(pacing) else {}
    titles = dict(zip(pacing["rule"], pacing["rule_title"])) if len(pacing) else {}
    rows = [(r, titles[r], m, due_share(d.doc.spec.target, m)) for r, d in docs.items() for m in range(1, 13)]
    return pd.DataFrame(rows, columns=["rule", "rule_title", "month", "due_pct"])


def _pacing_path(dep, store, instant, pacing: pd.DataFrame, ruleset: RuleSet) -> pd.DataFrame:
    """Each charted pacing target's cumulative value against its target path, month by month, from the engine.

    A chart shows at most ``PACING_LINES`` units per target, those furthest behind the share due, so the
    path is judged for those units only (a pacing verdict does not depend on the peers)."""
    cols = ["rule", "rule_title", "unit", "unit_name", "period", "month", "value", "target", "done_pct", "due_pct"]
    if pacing.empty:
        return pd.DataFrame(columns=cols)
    shortfall = (pacing["done_pct"] - pacing["due_pct"]).fillna(np.inf)
    charted = pacing.assign(_short=shortfall).sort_values(["rule", "_short", "unit"]).groupby("rule", sort=False).head(PACING_LINES)
    units = charted.groupby("rule")["unit"].agg(list).to_dict()
    docs = [RuleDoc(d.doc.model_copy(update={"spec": d.doc.spec.model_copy(update={"units": units[d.id]})}), d.raw, d.file)
            if d.id in units else d for d in ruleset.docs]
    path = evaluate(dep, store, as_of=instant, period="all", rules=list(units), ruleset=RuleSet(docs=docs))
    # The bulletin's year, up to the bulletin's period: the path so far, not the months after it.
    judged = {r: periods.parse(p) for r, p in zip(pacing["rule"], pacing["period"])}
    keep = [(q := periods.parse(p)).year == judged[r].year and q.last_month <= judged[r].last_month
            for r, p in zip(path["rule"], path["period"])]
    path = _named(dep, path[keep]).merge(pacing[["rule", "unit", "annual"]], on=["rule", "unit"], how="left")
    path["month"] = [periods.parse(p).last_month for p in path["period"]]
    # As shares of each unit's own annual task, so units with different tasks share one chart.
    path["done_pct"] = path["value"] / path["annual"] * 100.0
    path["due_pct"] = path["target"] / path["annual"] * 100.0
    return path.sort_values(["rule", "unit", "month"])[cols].reset_index(drop=True)
