"""Investment projects (项目台账): the stages a project passes, the record every stage shares, and how
a deployment judges them (``config/projects.yaml``).

A project is signed (签约), started (开工) and put into production (投产, or 竣工 for a building).
The ledger keeps the date of each stage it reached, the contracted investment, and money by month:
到位资金 (funds arrived) and 完成投资 (investment completed). Collectors read the ledgers; the store
keeps their revisions; rules derive the unit indicators and judge stalls, funding pace and milestones.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field

from targetwatch import yamlio
from targetwatch.model import Id, Strict

# Stage ids in pipeline order, with the Chinese word of each. A stage date may be empty (not reached).
STAGES: dict[str, str] = {
    "negotiating": "洽谈",
    "signed": "签约",
    "registered": "注册",
    "started": "开工",
    "in_stats": "入统",
    "in_production": "投产",
    "completed": "竣工",
}
# Pairs that must not go backwards: (earlier, later). 注册 and 入统 sit beside the main line.
STAGE_ORDER = [
    ("negotiating", "signed"), ("signed", "started"), ("started", "in_production"), ("started", "completed"),
    ("signed", "registered"), ("started", "in_stats"),
]
# The stage a project is in: the furthest of these it reached (投产 and 竣工 both end the pipeline).
PIPELINE = ("negotiating", "signed", "started", "in_production")
SOURCE_TYPES = ("内资", "外资", "湘商回湘", "三类500强")

# Columns of a project frame (one row per project), the form in which stages exchange projects.
# Dates are datetime64 days; amounts are 亿元; ``funds`` and ``invested`` map "YYYY-MM" to 亿元 per month.
PROJECT_COLUMNS = [
    "project", "name", "unit", "sector", "chain", "investment", "source_type", "leader", "department",
    *STAGES, "planned_start", "planned_production", "batch", "annual_plan", "plan_year", "funds", "invested", "notes",
]


class StallLimits(Strict):
    """How long a project may sit in a stage before it counts as stalled."""

    signed_days_without_start: int | None = Field(None, ge=1, description="签约后多少天未开工算停滞")
    started_months_without_production: int | None = Field(None, ge=1, description="开工后多少个月未投产算停滞")


class FundsPacing(Strict):
    """到位资金 against the contracted amount: expected to arrive evenly over ``months_to_full`` from 签约."""

    months_to_full: int = Field(24, ge=1)
    grace_months: float = Field(3, ge=0, description="months after 签约 before pacing is judged")
    at_risk_below: float = Field(0.8, gt=0, le=1, description="share of the expected funds below which a project is at risk")
    behind_below: float = Field(0.5, gt=0, le=1, description="share below which it is behind")


class ProjectConfig(Strict):
    """``config/projects.yaml``: where the ledgers are and how their projects are judged."""

    ledgers: list[str] = Field(default_factory=list, description="globs of 台账 workbooks, relative to the deployment")
    stalls: StallLimits = Field(default_factory=lambda: StallLimits(signed_days_without_start=90,
                                                                     started_months_without_production=18))
    sectors: dict[str, StallLimits] = Field(default_factory=dict, description="stall limits per sector (行业), over the defaults")
    funds: FundsPacing | None = Field(default_factory=FundsPacing, description="到位资金 pacing; null to judge none")
    milestone_warning_days: int = Field(30, ge=0, description="a milestone this close and not reached is at risk")
    over_100m: float = Field(1.0, description="过亿元: investment of at least this many 亿元")
    over_1b: float = Field(10.0, description="过10亿元")
    owner: Id | None = Field(None, description="the person who gets verdicts of projects without a 包联领导")

    def limits(self, sector: str | None) -> StallLimits:
        """The stall limits of a sector: its own where it sets them, else the defaults."""
        own = self.sectors.get(sector or "")
        if own is None:
            return self.stalls
        return StallLimits(
            signed_days_without_start=own.signed_days_without_start or self.stalls.signed_days_without_start,
            started_months_without_production=own.started_months_without_production or self.stalls.started_months_without_production,
        )


def load_project_config(root: str | Path) -> ProjectConfig:
    """The deployment's project settings; a deployment without ``projects.yaml`` tracks no ledgers."""
    path = Path(root) / "projects.yaml"
    if not path.exists():
        return ProjectConfig()
    return yamlio.parse_model(ProjectConfig, yamlio.load(path), str(path))


def months_between(start: date, end: date) -> float:
    """Whole and part months from ``start`` to ``end`` (30.44 days each), for stage ages in months."""
    return (end - start).days / 30.436875
