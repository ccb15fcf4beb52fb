"""Project metrics on /metrics: the pipeline funnel, days in stage, stalls and 到位资金 by month.

Built at each scrape from the project listing the service took at its last evaluation
(``rules.projects.list_projects``). Label values are ids; Chinese names are in ``targetwatch_project_info``.
"""

from __future__ import annotations

from typing import Iterator

import pandas as pd
from prometheus_client.metrics_core import Metric

from targetwatch.projects import PIPELINE

PREFIX = "targetwatch_project"


def project_snapshot(deployment, store, as_of=None, verdicts: pd.DataFrame | None = None) -> pd.DataFrame:
    """The listing the metrics are built from (every project, as of the evaluation, flagged by its verdicts)."""
    from rules.projects import list_projects

    return list_projects(deployment, store, as_of=as_of, verdicts=verdicts)


def project_rule_infos() -> list[tuple[str, str, str]]:
    """(rule, title, document) of the project checks, for ``targetwatch_rule_info`` (alert annotations read it)."""
    from rules.projects import CHECKS

    return [(rule, f"项目{title}", "项目台账") for rule, title in CHECKS.items()]


def project_families(projects: pd.DataFrame) -> Iterator[Metric]:
    """Every ``targetwatch_project_*`` family of one listing."""
    if projects is None or projects.empty:
        return
    ids = projects["project"].astype(str).tolist()
    units = projects["unit"].fillna("").astype(str).tolist()
    stages = projects["stage"].astype(str).tolist()
    reached = _gauge("reached", "1 for each pipeline stage the project has reached (洽谈, 签约, 开工, 投产): the funnel.")
    current = _gauge("stage", "1 for the project's current stage.")
    days = _gauge("days_in_stage", "Days since the project entered its current stage.")
    for pid, unit, stage, d in zip(ids, units, stages, projects["days_in_stage"]):
        level = PIPELINE.index(stage) if stage in PIPELINE else 0
        for s in PIPELINE[: level + 1]:
            reached.add_sample(reached.name, {"project": pid, "unit": unit, "stage": s}, 1.0)
        current.add_sample(current.name, {"project": pid, "unit": unit, "stage": stage}, 1.0)
        if pd.notna(d):
            days.add_sample(days.name, {"project": pid, "unit": unit, "stage": stage}, float(d))
    yield from (reached, current, days)
    stalled = _gauge("stalled", "1 when the project is stalled (签约未开工 or 开工未投产 beyond its sector's limit), else 0.")
    leaders = projects["leader"].fillna("").astype(str).tolist()
    departments = projects["department"].fillna("").astype(str).tolist()
    for pid, unit, leader, dept, flag in zip(ids, units, leaders, departments, projects["stalled"]):
        stalled.add_sample(stalled.name, {"project": pid, "unit": unit, "leader": leader, "department": dept}, float(bool(flag)))
    yield stalled
    for name, column, help_text in (("investment_yi", "investment", "Contracted investment of the project, 亿元."),
                                    ("funds_in_place_yi", "funds_to_date", "到位资金 of the project to date, 亿元.")):
        metric = _gauge(name, help_text)
        for pid, unit, value in zip(ids, units, projects[column]):
            if pd.notna(value):
                metric.add_sample(metric.name, {"project": pid, "unit": unit}, float(value))
        yield metric
    monthly = _gauge("funds_monthly_yi", "到位资金 arrived in each month, per unit, 亿元 (month label YYYY-MM).")
    sums: dict[tuple[str, str], float] = {}
    for unit, by_month in zip(units, projects["funds_by_month"]):
        for month, value in (by_month or {}).items():
            sums[(unit, month)] = sums.get((unit, month), 0.0) + float(value)
    for (unit, month), value in sorted(sums.items()):
        monthly.add_sample(monthly.name, {"unit": unit, "month": month}, round(value, 6))
    yield monthly
    info = _gauge("info", "A project's Chinese name, unit, sector, 包联领导 and stage word.")
    for row in projects.itertuples(index=False):
        info.add_sample(info.name, {"project": str(row.project), "name": str(row.name), "unit": str(row.unit or ""),
                                    "unit_name": str(row.unit_name or ""), "sector": str(row.sector or ""),
                                    "leader": str(row.leader or ""), "leader_name": str(row.leader_name or ""),
                                    "stage_zh": str(row.stage_zh or "")}, 1.0)
    yield info


def _gauge(name: str, help_text: str) -> Metric:
    return Metric(f"{PREFIX}_{name}", help_text, "gauge")
