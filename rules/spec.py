"""The target language, version ``targetwatch/v1``: what a rule file may say (pydantic, JSON Schema).

Rule files live in ``config/rules/*.yaml``; a file may hold several documents (``---``). Each document
has the OpenSLO envelope ``apiVersion / kind / metadata / spec``. Two kinds exist: ``Rule`` (one target
on one indicator, for some units) and ``Scorecard`` (weighted points over rules, bands, a composite
rank). The ``spec.target`` of a rule is a tagged union on ``kind``; the other fields of ``spec`` are
the same for every target kind: which indicator and metric, which units and peer group, which periods,
who owns it, where it comes from, its version, and per-unit overrides or an allocation (分解任务).

A rule (seed 003 item (2): 规模工业增加值 全市前七名（且不得并列名次）)::

    apiVersion: targetwatch/v1
    kind: Rule
    metadata:
      id: daxiang_industry_top7
      title: 规模工业增加值增速全市前七名（不得并列）
      version: 1
      effective_from: 2023-05-01
    spec:
      indicator: industrial_va_growth      # a reported growth series: read as reported
      metric: value                        # value | yoy | pp_change | change | prev_change
      units: [daxiang]                     # omit to judge every member of the group
      group: shaoyang_counties             # peers for ranks, means and the group's own figure
      period: {from: 2023-05, to: 2023-06} # frequency defaults to the indicator's
      target: {kind: rank, top: 7, ties: fail}
      owners: {leader: wu_yi, lead_department: [daxiang_kgxj], responsible: [gao_yuntou], contacts: [xia_debao]}
      source: {document: 大祥区2023年5-6月重点工作任务清单, issued: 2023-05-04, seed: "003", line: 33}

The target kinds, one line each::

    target: {kind: threshold, op: ">=", floor: 6.5, stretch: 7}        # 增长6.5%以上，力争7% (metric yoy or a growth series)
    target: {kind: threshold, op: "<=", floor: 4.5}                    # 控制在4.5%以内 (a ceiling: floor is the limit)
    target: {kind: decline, floor: 15}                                 # 同比下降15%以上
    target: {kind: range, min: 3, max: 5}                              # 3—5个
    target: {kind: approximate, value: 10, tolerance: 1}              # 10个左右 (or tolerance_pct: 10)
    target: {kind: share, of: {indicator: fiscal_revenue}, op: ">=", floor: 70}   # 占比; of: {unit: parent} for a child in its parent
    target: {kind: pacing, annual: 1350, profile: checkpoints, checkpoints: {6: 55}, at_risk_within: 5}  # 6月底前完成年度任务的55%
    target: {kind: pacing, annual: 1000, profile: linear}              # 时间过半、任务过半
    target: {kind: pacing, annual: 1000, profile: seasonal, seasonal: [4, 4, 8, 8, 8, 10, 8, 8, 10, 10, 10, 12]}
    target: {kind: compare, reference: group_figure, op: ">", margin: 0}   # 高于全市平均水平 (= 邵阳市's own figure)
    target: {kind: compare, reference: peer_mean, margin: 1}           # 高于各县市区平均1个百分点
    target: {kind: rank, not_bottom: 3}                                # 排名不落于全市后三位
    target: {kind: rank, improve: true}                                # 排名较上月有进位
    target: {kind: rank, top: 2, stretch: 1}                           # 保二争一
    target: {kind: break_zero}                                         # 破零
    target: {kind: clear_zero, mode: dynamic}                          # 动态清零 (mode: once, by: 2023-06-30 for 6月底前清零)
    target: {kind: never}                                              # 全年不发生较大及以上安全事故
    target: {kind: milestone, by: 2023-06-30, value: 1}                # 6月底前完成
    target: {kind: consistency, children: [xdt_longquan, xdt_jinfeng], tolerance: 0}   # 街道之和 = 全区 (data quality)
    target: {kind: consistency, children_group: xiangyin_towns, tolerance_pct: 0.5}    # each unit vs its registered children

Allocation (分解任务) of a parent target: the rows must add up to ``total``, and each row becomes that
unit's floor (``rules check`` reports a sum that does not match)::

    spec:
      indicator: new_urban_jobs
      units: [xdt_longquan, xdt_jinfeng]
      target: {kind: pacing, profile: linear}
      allocation: {total: 1000, values: {xdt_longquan: 600, xdt_jinfeng: 400}}

Per-unit overrides change the floor or stretch for some units only::

      overrides: {daxiang: {floor: 7.0}, beita: {floor: 5.0, stretch: 6.0}}

Tiers (确保 / 力争). ``floor`` is what must be reached (确保), ``stretch`` what is striven for (力争). A
target stated only with 力争 says ``tier: stretch`` (or gives a ``stretch`` and no ``floor``): missing it
is ``behind`` with severity ``warning`` and the wording of ``rules.vocabulary.TIERS`` (未达力争目标), not
a critical 落后; a 力争 band (力争打造3-5个品牌) is then no ceiling. Missing a floor stays critical::

      tier: stretch                        # 力争外贸进出口增长10%以上
      target: {kind: threshold, op: ">=", floor: 10}

An amount within a window (5-6月净增2415户) is the difference of the 累计 figures at the window's end
and just before its start, or, where 累计 is missing, the sum of the window's 当月 figures::

      window: {from: 2023-05, to: 2023-06} # judged at 2023-05 (May alone) and 2023-06 (May + June)

A 进位 target compares ranks with the previous period of the rule's own frequency (a yearly rule on a
monthly 累计 series: December of the year before), or with ``improve_on: last_year`` the same period a
year earlier (较上年同期进位). Keeping 1st place is on track. Without the earlier period's ranks the
verdict is ``no_data``.

Ranks with missing reports. Rank verdicts say how complete the group is (已报送8/13). Before the
deadline a verdict that the missing reports could still change is provisional (``at_risk``, never
``behind``). After it, ``unreported: last`` (default) ranks the silent units below every reporter, as a
通报 lists 未报送 last; ``unreported: exclude`` ranks the reporters among themselves only.

Precision. Ranks and comparisons use the values at full precision (derived growth is never rounded
before it is ranked; equal published figures still tie). The indicator's ``decimals`` is the precision
its own figures are *shown* at; a derived growth rate, share or percentage-point change is shown at
the indicator's ``growth_decimals`` (default 1), and a gap too small to show reads 差不足0.1个百分点.

A scorecard (seed 003 item 10: 按项目总数排名及年度目标完成进度情况计分，未破零的记零分)::

    apiVersion: targetwatch/v1
    kind: Scorecard
    metadata: {id: daxiang_projects_score, title: 项目建设计分, version: 1, effective_from: 2023-01-01}
    spec:
      group: daxiang_departments
      period: {from: 2023-01, to: 2023-12, frequency: monthly}
      items:
        - {rule: dept_projects_pacing, points: 60, scoring: proportional, zero_unless_broken: true}
        - {rule: dept_projects_count, points: 40, scoring: rank, zero_unless_broken: true}
      bands: [{min: 90, payout: 100}, {min: 80, payout: 80}, {min: 60, payout: 50}, {min: 0, payout: 0}]
      floor: 60          # a composite below 60 is behind

How an item scores (``scoring``):

- ``pass_fail`` (default): all its points when the rule is on track, none otherwise.
- ``proportional``: points × value/target, capped at the points (完成进度计分).
- ``rank`` (按排名计分): the rule's value is ranked among the group's units that reported it (1 = best,
  the indicator's direction or the rank target's ``order``; equal values share a rank). With ``n`` units
  ranked, rank ``r`` scores ``points × (n − r + 1)/n``: the first all the points, the last ``points/n``.
  A declared table replaces the formula: ``rank_points: [40, 35, 30, 25]`` gives rank 1 forty points,
  rank 4 twenty-five, and any rank past the table nothing.

``zero_unless_broken`` (未破零记零分) then sets a zero value's points to nothing, whatever the scoring.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from rules.targets import (  # re-exported: the target kinds are part of this spec
    TARGET_KINDS, Approximate, BreakZero, ClearZero, Compare, Consistency, Decline, Milestone, Never, Pacing, Range, Rank,
    Share, ShareOf, Strict, Target, Threshold,
)
from targetwatch import periods
from targetwatch.errors import PeriodError
from targetwatch.model import Basis, Id, Owners

API_VERSION = "targetwatch/v1"


class Metric(StrEnum):
    """What is judged: the reported value, or a change derived from it."""

    value = "value"  # as reported (a growth indicator is its own growth series)
    yoy = "yoy"  # year-on-year growth in %: reported for a growth indicator, derived from levels otherwise
    pp_change = "pp_change"  # change in percentage points vs the same period last year (rates, growth)
    change = "change"  # absolute change vs the same period last year, in the indicator's measure
    prev_change = "prev_change"  # change vs the previous period of the same frequency (较上月)


class Severity(StrEnum):
    """How loud a behind verdict is; overrides the default (critical)."""

    critical = "critical"
    warning = "warning"
    none = "none"


class Source(Strict):
    """Where the target was set: document number and title, issue date, and the seed line."""

    document: str | None = Field(None, description="文号 or title of the document")
    issued: date | None = None
    seed: str | None = Field(None, description="seed file number, e.g. 003")
    line: int | None = None
    quote: str | None = Field(None, description="the sentence as published")


class PeriodWindow(Strict):
    """Which periods the rule judges: a frequency and an inclusive range of canonical periods."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    frequency: str | None = Field(None, description="monthly, quarterly, half_yearly, yearly; default: the indicator's")
    from_: str | None = Field(None, alias="from", description="first period judged, e.g. 2023-01 or 2023-Q2")
    to: str | None = Field(None, description="last period judged, e.g. 2023-12")


class Window(Strict):
    """The months an amount is counted over, within one year (5-6月: from 2023-05 to 2023-06)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: str = Field(alias="from", description="first month counted, e.g. 2023-05")
    to: str = Field(description="last month counted, e.g. 2023-06")

    @model_validator(mode="after")
    def _one_year(self) -> Window:
        try:
            first, last = periods.parse(self.from_), periods.parse(self.to)
        except PeriodError as exc:
            raise ValueError(str(exc)) from None
        if first.year != last.year or first.first_month > last.last_month:
            raise ValueError(f"window {self.from_}..{self.to}: give months of one year, the first not after the last")
        return self

    @property
    def first_month(self) -> int:
        return periods.parse(self.from_).first_month

    @property
    def last(self):
        return periods.parse(self.to)


class Override(Strict):
    """Per-unit tiers: a different floor, stretch or annual task for one unit."""

    floor: float | None = None
    stretch: float | None = None
    annual: float | None = None


class Allocation(Strict):
    """分解任务: per-unit shares of a parent target; they must add up to ``total`` (± tolerance)."""

    total: float
    values: dict[Id, float]
    tolerance: float = Field(0.0, ge=0)


# ---- documents -----------------------------------------------------------------------------------------


class Metadata(Strict):
    """Identity and version of a document. Versions of one id must not overlap in time."""

    id: Id
    title: str = Field(description="Chinese title a leader recognises")
    version: int = Field(1, ge=1)
    effective_from: date | None = Field(None, description="first day this version applies (period end ≥ it)")
    effective_until: date | None = Field(None, description="last day; default: until the next version")
    labels: dict[str, str] = Field(default_factory=dict)


class RuleSpec(Strict):
    """Everything a rule says besides its target kind."""

    indicator: Id
    metric: Metric = Metric.value
    basis: Basis | None = Field(None, description="period (当月) or ytd (累计); default: the indicator's")
    units: list[Id] = Field(default_factory=list, description="units judged; default: every member of group")
    group: Id | None = Field(None, description="peer group for ranks, means and the group's figure")
    period: PeriodWindow = Field(default_factory=PeriodWindow)
    target: Target
    owners: Owners | None = None
    source: Source | None = None
    severity: Severity | None = Field(None, description="override: default critical for behind, warning for late/at_risk")
    tier: Literal["floor", "stretch"] = Field(
        "floor", description="floor (确保): a miss is critical; stretch (力争 only): a miss is a warning, and a band is no ceiling")
    window: Window | None = Field(None, description="an amount within these months: 累计 difference or sum of 当月")
    overrides: dict[Id, Override] = Field(default_factory=dict)
    allocation: Allocation | None = None

    @model_validator(mode="after")
    def _who(self) -> RuleSpec:
        if not self.units and not self.group:
            raise ValueError("name the units judged (units: [...]) or a peer group (group: ...)")
        if self.target.kind in ("rank", "compare") and not self.group:
            raise ValueError(f"a {self.target.kind} target needs a peer group (group: ...)")
        return self


class Rule(Strict):
    """One target document (``kind: Rule``)."""

    apiVersion: Literal["targetwatch/v1"]
    kind: Literal["Rule"]
    metadata: Metadata
    spec: RuleSpec


class ScoreItem(Strict):
    """Points of one rule in a scorecard."""

    rule: Id
    points: float = Field(gt=0)
    scoring: Literal["pass_fail", "proportional", "rank"] = Field(
        "pass_fail",
        description="pass_fail: all points when on track; proportional: points × value/target, capped; "
                    "rank: by the rule's value ranked among the group's units that reported "
                    "(rank_points, or points × (n − rank + 1)/n)",
    )
    rank_points: list[float] | None = Field(
        None, description="scoring rank: the points of rank 1, 2, 3, …; a rank past the list scores 0 (tied units share a rank)"
    )
    zero_unless_broken: bool = Field(False, description="未破零记零分: a value of zero scores nothing")

    @model_validator(mode="after")
    def _rank_table(self) -> ScoreItem:
        if self.rank_points is None:
            return self
        if self.scoring != "rank":
            raise ValueError("rank_points only applies to scoring: rank")
        if not self.rank_points or any(not 0 <= p <= self.points for p in self.rank_points):
            raise ValueError(f"rank_points must be a non-empty list of points between 0 and points ({self.points:g})")
        return self


class Band(Strict):
    """A score band: at or above ``min`` points, ``payout`` % (90/80/60 → 100/80/50/0)."""

    min: float
    payout: float


class ScorecardSpec(Strict):
    units: list[Id] = Field(default_factory=list)
    group: Id
    period: PeriodWindow = Field(default_factory=PeriodWindow)
    items: list[ScoreItem] = Field(min_length=1)
    bands: list[Band] = Field(default_factory=list)
    floor: float | None = Field(None, description="a composite score below this is behind")
    owners: Owners | None = None
    source: Source | None = None
    severity: Severity | None = None


class Scorecard(Strict):
    """A weighted scorecard (``kind: Scorecard``): composite score, band and rank across units."""

    apiVersion: Literal["targetwatch/v1"]
    kind: Literal["Scorecard"]
    metadata: Metadata
    spec: ScorecardSpec


KINDS: dict[str, type[Strict]] = {"Rule": Rule, "Scorecard": Scorecard}


def json_schema() -> dict:
    """The JSON Schema of one rule document, for editors (``targetwatch rules schema``)."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "targetwatch rule document",
        "oneOf": [{"$ref": "#/$defs/Rule"}, {"$ref": "#/$defs/Scorecard"}],
        "$defs": {},
    }
    for name, model in KINDS.items():
        sub = model.model_json_schema(ref_template="#/$defs/{model}", by_alias=True)
        schema["$defs"].update(sub.pop("$defs", {}))
        schema["$defs"][name] = sub
    return schema
