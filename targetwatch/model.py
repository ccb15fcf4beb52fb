"""The domain model every stage shares: units, peer groups, people and owner roles, indicators, units of measure.

Identifiers are stable English ids; Chinese belongs in ``name`` and ``aliases``, which is what the
departments write in their files.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from targetwatch import periods

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64, description="stable English id: a-z, 0-9, _")]


class Strict(BaseModel):
    """Base for registry models: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Direction(StrEnum):
    """Whether a higher or a lower value is better (GDP vs unemployment)."""

    higher = "higher"
    lower = "lower"


class Basis(StrEnum):
    """How a value is reported: for the period alone (当月) or cumulative since January (累计)."""

    period = "period"  # 当月 / 当季
    ytd = "ytd"  # 1–N月累计

    @property
    def label_zh(self) -> str:
        return "当月" if self is Basis.period else "累计"


class IndicatorKind(StrEnum):
    """What the numbers are: an additive level, a rate or share, a published growth rate, a count."""

    level = "level"  # 亿元, 万元, 人: additive, so 当月 ⇄ 累计 and YoY growth can be derived
    rate = "rate"  # 城镇登记失业率, 占比: a ratio, never summed
    growth = "growth"  # a published growth rate (GDP at comparable prices): its own series
    count = "count"  # entities or events (家, 个, 起): additive


class Person(Strict):
    """Someone who owns targets or receives alerts. Contact details are used only by the notifiers."""

    id: Id
    name: str
    title: str | None = None
    mobile: str | None = Field(None, pattern=r"^\+?\d{6,15}$")
    email: str | None = None
    wecom_userid: str | None = None
    dingtalk_userid: str | None = None


class Owners(Strict):
    """The owner chain of a target: 牵头领导 → 牵头部门 → 责任人 → 联络人."""

    leader: Id | None = Field(None, description="牵头领导 / 分管副区长 (a person id)")
    lead_department: list[Id] = Field(default_factory=list, description="牵头部门 / 主要责任单位 (unit ids)")
    responsible: list[Id] = Field(default_factory=list, description="责任人 (person ids)")
    contacts: list[Id] = Field(default_factory=list, description="联络人 (person ids): they get the late-report reminders")

    def merged_over(self, fallback: Owners | None) -> Owners:
        """These owners, with every empty role taken from ``fallback`` (rule → indicator → unit)."""
        if fallback is None:
            return self
        return Owners(
            leader=self.leader or fallback.leader,
            lead_department=self.lead_department or fallback.lead_department,
            responsible=self.responsible or fallback.responsible,
            contacts=self.contacts or fallback.contacts,
        )


class Unit(Strict):
    """A county, district, town, department, park or enterprise that reports and is judged."""

    id: Id
    name: str = Field(description="Chinese display name, as in the documents")
    kind: str = Field(description="county, district, city, province, town, department, park, enterprise…")
    parent: Id | None = None
    groups: list[Id] = Field(default_factory=list, description="peer groups this unit is ranked in")
    aliases: list[str] = Field(default_factory=list, description="other names used in source files")
    owners: Owners | None = None


class PeerGroup(Strict):
    """Units ranked and compared together, such as 全市 (the county-level units of a city)."""

    id: Id
    name: str
    reference_unit: Id | None = Field(
        None,
        description="the unit whose own reported figure is the group's figure (高于全市平均水平 = above this unit)",
    )
    members: list[Id] = Field(default_factory=list, description="extra members besides units that list this group")


class Deadline(Strict):
    """When a period's report is due: calendar days or Chinese working days after the period ends."""

    days: int | None = Field(None, ge=0)
    working_days: int | None = Field(None, ge=0)


class Bounds(Strict):
    """The plausible values of an indicator, in its own measure; a value outside is quarantined, not stored."""

    min: float | None = Field(None, description="lowest plausible value; none = the default of the indicator's kind")
    max: float | None = Field(None, description="highest plausible value; none = the default of the indicator's kind")


# No figure a local government reports comes near this, in any measure: beyond it a value is a typo or an attack.
MAX_MAGNITUDE = 1e15
# Measures of things that cannot be negative (entities, people, visits).
_NON_NEGATIVE_DIMENSIONS = {"count", "people", "visits"}


class Indicator(Strict):
    """A reported statistic: its unit of measure, frequency, basis, direction and reporting deadline."""

    id: Id
    name: str
    measure: str = Field(description="unit of measure: 亿元, 万元, 元, %, 人, 万人, 家, 个, 户 …")
    kind: IndicatorKind = IndicatorKind.level
    frequency: str = Field(periods.MONTHLY, description="monthly, quarterly, half_yearly or yearly")
    basis: Basis = Field(Basis.ytd, description="the basis in which the indicator is reported")
    direction: Direction = Direction.higher
    jan_feb_combined: bool = Field(False, description="January and February are released together (1-2月)")
    growth_of: Id | None = Field(None, description="for a published growth series: the level indicator it measures")
    deadline: Deadline = Field(default_factory=lambda: Deadline(days=15))
    decimals: int = Field(2, ge=0, description="the precision the indicator's own figures are shown at (never ranked at)")
    growth_decimals: int = Field(1, ge=0, description="the precision a growth rate, share or pp change derived from it is shown at")
    aliases: list[str] = Field(default_factory=list)
    owners: Owners | None = None
    bounds: Bounds = Field(default_factory=Bounds, description="plausible values; defaults by kind and measure (value_bounds)")

    def value_bounds(self) -> tuple[float, float]:
        """(lowest, highest) plausible value: the registry's bounds, else the defaults of the kind and measure.

        Defaults: a growth rate lies between -100 and 1000 (%), a count or a number of people is not
        negative, and nothing exceeds ±1e15."""
        lo, hi = -MAX_MAGNITUDE, MAX_MAGNITUDE
        if self.kind is IndicatorKind.growth:
            lo, hi = -100.0, 1000.0
        elif self.kind is IndicatorKind.count or MEASURES.get(self.measure, ("",))[0] in _NON_NEGATIVE_DIMENSIONS:
            lo = 0.0
        return (lo if self.bounds.min is None else self.bounds.min, hi if self.bounds.max is None else self.bounds.max)

    @field_validator("frequency")
    @classmethod
    def _known_frequency(cls, value: str) -> str:
        if value not in periods.FREQUENCIES:
            raise ValueError(f"frequency must be one of {', '.join(periods.FREQUENCIES)}")
        return value


# ---- units of measure -----------------------------------------------------------------------------

# Factor to the base unit of each dimension; values convert only within one dimension.
MEASURES: dict[str, tuple[str, float]] = {
    "元": ("money", 1.0),
    "万元": ("money", 1e4),
    "亿元": ("money", 1e8),
    "美元": ("usd", 1.0),
    "万美元": ("usd", 1e4),
    "亿美元": ("usd", 1e8),
    "人": ("people", 1.0),
    "万人": ("people", 1e4),
    "人次": ("visits", 1.0),
    "万人次": ("visits", 1e4),
    "%": ("percent", 1.0),
    "个百分点": ("points", 1.0),
    "家": ("count", 1.0),
    "个": ("count", 1.0),
    "户": ("count", 1.0),
    "项": ("count", 1.0),
    "起": ("count", 1.0),
    "件": ("count", 1.0),
    "座": ("count", 1.0),
    "天": ("days", 1.0),
    "亩": ("area_mu", 1.0),
    "万亩": ("area_mu", 1e4),
    "平方米": ("area_m2", 1.0),
    "万平方米": ("area_m2", 1e4),
    "千瓦时": ("energy", 1.0),
    "万千瓦时": ("energy", 1e4),
    "亿千瓦时": ("energy", 1e8),
    "吨": ("mass", 1.0),
    "万吨": ("mass", 1e4),
    "分": ("score", 1.0),
    "位": ("rank", 1.0),
}


def scale_factor(source: str, target: str) -> float:
    """The factor that turns a value in ``source`` units into ``target`` units (亿元 → 万元 is 10,000)."""
    if source == target:
        return 1.0
    try:
        (dim_s, f_s), (dim_t, f_t) = MEASURES[source], MEASURES[target]
    except KeyError as exc:
        raise ValueError(f"unknown unit of measure {exc.args[0]!r}; known: {', '.join(MEASURES)}") from None
    if dim_s != dim_t:
        raise ValueError(f"cannot convert {source} to {target}")
    return f_s / f_t
