"""The target kinds of the rule language (``spec.target``), a union tagged by ``kind``.

Each class is one way of saying "on target" in the documents; ``rules.kinds`` judges each of them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from targetwatch.model import Direction, Id


class Strict(BaseModel):
    """Base of the spec: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Tiered(Strict):
    floor: float | None = Field(None, description="确保: the value that must be reached (or not exceeded)")
    stretch: float | None = Field(None, description="力争: the optional stretch value")
    at_risk_within: float | None = Field(None, ge=0, description="short by at most this much: at_risk, not behind")


class Threshold(_Tiered):
    """Level or growth floor (>=) or ceiling (<=): 增长X%以上, 控制在X%以内."""

    kind: Literal["threshold"]
    op: Literal[">=", ">", "<=", "<"] = ">="


class Decline(_Tiered):
    """A fall of at least ``floor`` % on the same period last year (同比下降X%以上)."""

    kind: Literal["decline"]


class Range(Strict):
    """``min <= value <= max`` (3—5家); below the range is behind, above it is at_risk.

    A band stated with 力争 (``spec.tier: stretch``, 力争打造3-5个品牌) is no ceiling: above it is on track.
    """

    kind: Literal["range"]
    min: float
    max: float


class Approximate(Strict):
    """``value`` 左右: within an absolute ``tolerance`` or a relative ``tolerance_pct``."""

    kind: Literal["approximate"]
    value: float
    tolerance: float | None = Field(None, ge=0)
    tolerance_pct: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one_tolerance(self) -> Approximate:
        if (self.tolerance is None) == (self.tolerance_pct is None):
            raise ValueError("give exactly one of tolerance (in the measure) or tolerance_pct (% of value)")
        return self


class ShareOf(Strict):
    """The denominator of a share: another indicator of the same unit, and/or the same indicator of a unit."""

    indicator: Id | None = None
    unit: str | None = Field(None, description="'parent' or a unit id; omit for the same unit")


class Share(_Tiered):
    """``100 × value / denominator`` against a floor or ceiling (占比, 比重, 占全县…%)."""

    kind: Literal["share"]
    of: ShareOf
    op: Literal[">=", ">", "<=", "<"] = ">="


class Pacing(Strict):
    """Cumulative value ≥ the share of the annual task due by the period (时间过半、任务过半)."""

    kind: Literal["pacing"]
    annual: float | None = Field(None, description="the annual task; per unit from overrides or allocation")
    profile: Literal["linear", "checkpoints", "seasonal"] = "linear"
    checkpoints: dict[int, float] = Field(default_factory=dict, description="month → % of the annual task due by its end")
    seasonal: list[float] | None = Field(None, description="12 monthly weights; the due share is their running sum")
    stretch: float | None = Field(None, description="力争: a higher annual task")
    at_risk_within: float | None = Field(None, ge=0, description="short of the due share by at most this many pp: at_risk")

    @model_validator(mode="after")
    def _profile_data(self) -> Pacing:
        if self.profile == "checkpoints" and not self.checkpoints:
            raise ValueError("profile checkpoints needs checkpoints: {month: percent}, e.g. {3: 25, 6: 55}")
        if self.profile == "seasonal" and (self.seasonal is None or len(self.seasonal) != 12):
            raise ValueError("profile seasonal needs seasonal: a list of 12 monthly weights")
        if any(not 1 <= m <= 12 for m in self.checkpoints):
            raise ValueError("checkpoint months are 1..12")
        return self


class Compare(Strict):
    """Above the group's own reported figure (group_figure) or the mean of the peers who reported."""

    kind: Literal["compare"]
    reference: Literal["group_figure", "peer_mean"] = "group_figure"
    reference_unit: Id | None = Field(None, description="override the group's reference unit (全省 instead of 全市)")
    op: Literal[">", ">="] = ">"
    margin: float = Field(0.0, description="required margin in the metric's terms (percentage points for growth)")


class Rank(Strict):
    """Rank within the peer group (1 = best, direction-aware): top N, not bottom N, improved (进位)."""

    kind: Literal["rank"]
    top: int | None = Field(None, ge=1, description="全市前N名")
    not_bottom: int | None = Field(None, ge=1, description="不落于后N位")
    improve: bool = Field(False, description="排名较上期有进位 (keeping 1st place counts as on track)")
    improve_on: Literal["previous", "last_year"] = Field(
        "previous", description="improve against the previous period of the rule's own frequency (a yearly rule: "
                                "the year before), or against the same period last year (较上年同期进位)")
    unreported: Literal["last", "exclude"] = Field(
        "last", description="after the deadline, units that did not report rank below every reporter (last, as "
                            "通报 treat 未报送) or are left out of the ranking (exclude); before it, a verdict that "
                            "their reports could still change is provisional (at_risk)")
    stretch: int | None = Field(None, ge=1, description="力争前N名 (保二争一: top 2, stretch 1)")
    ties: Literal["allow", "fail"] = Field("allow", description="fail: a shared rank fails (不得并列名次)")
    order: Direction | None = Field(None, description="which way is better; default: the indicator's direction")

    @model_validator(mode="after")
    def _one_condition(self) -> Rank:
        if sum([self.top is not None, self.not_bottom is not None, self.improve]) != 1:
            raise ValueError("give exactly one of top, not_bottom or improve: true")
        return self


class BreakZero(Strict):
    """破零: the cumulative count reaches at least one."""

    kind: Literal["break_zero"]


class ClearZero(Strict):
    """清零: the backlog is zero by a date (once), or at every observation (dynamic, 动态清零)."""

    kind: Literal["clear_zero"]
    mode: Literal["once", "dynamic"] = "dynamic"
    by: date | None = Field(None, description="for once: the date by which it must be zero")


class Never(Strict):
    """An event that must never occur in the year (不发生): any occurrence so far fails the year."""

    kind: Literal["never"]


class Milestone(Strict):
    """A value reached by a date (…月底前完成); before the date an unreached milestone is on track."""

    kind: Literal["milestone"]
    by: date
    value: float = 1.0


class Consistency(Strict):
    """Cross-level data check: a parent's figure equals the (weighted) sum of its children's, within a tolerance.

    The children are listed (``children``), or they are the members of ``children_group`` whose registry
    parent is the judged unit. A miss is a data-quality verdict: it goes to the contacts (联络人), not the
    leader (``rules.vocabulary.TIERS["data"]``).
    """

    kind: Literal["consistency"]
    children: list[Id] = Field(default_factory=list, description="child units whose figures add up to the judged unit's")
    children_group: Id | None = Field(None, description="or: the members of this group whose parent is the judged unit")
    weights: dict[Id, float] = Field(default_factory=dict, description="per-child weight (default 1): a weighted sum")
    tolerance: float = Field(0.0, ge=0, description="allowed difference, in the indicator's measure")
    tolerance_pct: float = Field(0.0, ge=0, description="allowed difference, in % of the children's sum (added to tolerance)")
    partial: bool = Field(False, description="the children are only some of the parts (a town that does not report): "
                                             "the parent must be at least their sum, not equal to it")

    @model_validator(mode="after")
    def _one_source(self) -> Consistency:
        if bool(self.children) == (self.children_group is not None):
            raise ValueError("give the children (children: [...]) or a group of them (children_group: ...), not both")
        return self


Target = Annotated[
    Union[Threshold, Decline, Range, Approximate, Share, Pacing, Compare, Rank, BreakZero, ClearZero, Never, Milestone,
          Consistency],
    Field(discriminator="kind"),
]
TARGET_KINDS = ("threshold", "decline", "range", "approximate", "share", "pacing", "compare", "rank",
                "break_zero", "clear_zero", "never", "milestone", "consistency")
