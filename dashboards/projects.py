"""The project pipeline dashboard (项目推进): the funnel by stage per unit, stalled projects, 到位资金 by month.

Its queries read the ``targetwatch_project_*`` metrics of :mod:`exporters.projects` from Prometheus;
``tests/exporters/test_project_dashboard.py`` runs each of them against a real Prometheus.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import barchart, bargauge, dashboard, stat, table
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from dashboards.common import (
    PROMETHEUS, TAG, UIDS, alert_annotation, links, promql, query_variable, standard_variables, update_annotation,
)
from targetwatch.projects import PIPELINE, STAGES

UNIT = 'unit=~"${group}", unit=~"${unit}"'
NAMES = "* on(project) group_left(name, unit_name, leader_name, stage_zh) targetwatch_project_info"
# Every query of the dashboard, by panel: the test runs these against Prometheus (variables = all).
QUERIES = {
    "funnel": f"sum by (stage) (targetwatch_project_reached{{{UNIT}}})",
    "funnel_by_unit": f'sum by (unit_name, stage) (targetwatch_project_reached{{{UNIT}}} * on(unit) group_left(unit_name) '
                      'label_replace(targetwatch_unit_info, "unit_name", "$1", "name", "(.+)"))',
    "stalled_count": f'count(targetwatch_project_stalled{{{UNIT}, leader=~"${{leader}}"}} == 1) or vector(0)',
    "stalled": f'(targetwatch_project_stalled{{{UNIT}, leader=~"${{leader}}"}} == 1) {NAMES}',
    # The same labels as "stalled" (its rows), the value the days in stage: Grafana's merge puts them on one row.
    "stalled_days": f'((targetwatch_project_stalled{{{UNIT}, leader=~"${{leader}}"}} == 1) {NAMES}) * 0'
                    ' + on(project) group_left() max by (project) (targetwatch_project_days_in_stage)',
    "funds_by_month": f"sum by (month) (targetwatch_project_funds_monthly_yi{{{UNIT}}})",
}
STAGE_WORDS = {s: STAGES[s] for s in PIPELINE}


def _stage_names() -> list[model.ValueMap]:
    return [model.ValueMap(options={s: model.ValueMappingResult(text=w, index=i) for i, (s, w) in enumerate(STAGE_WORDS.items())})]


def projects(groups, group_names) -> dashboard.Dashboard:
    """项目推进: the ledgers' projects, filtered by peer group, unit and 包联领导 (indicator and period do not apply)."""
    board = (
        dashboard.Dashboard("项目推进").uid(UIDS["projects"]).description("项目台账：签约→开工→投产漏斗、停滞项目、到位资金")
        .tags([TAG]).timezone("Asia/Shanghai").time("now-2y", "now").refresh("5m").editable().annotation(alert_annotation()).annotation(update_annotation())
    )
    for variable in standard_variables(groups, group_names):
        board = board.with_variable(variable)
    board = board.with_variable(
        query_variable("leader", "包联领导", "label_values(targetwatch_project_stalled, leader)").all_value(".*")).links(links("projects"))
    funnel = (
        bargauge.Panel().id(1).title("项目漏斗（已达到各阶段的项目数）").datasource(PROMETHEUS)
        .with_target(promql("A", QUERIES["funnel"], legend="{{stage}}", instant=True))
        .orientation(common.VizOrientation.HORIZONTAL).display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .height(8).span(12)
    )
    for stage, word in STAGE_WORDS.items():
        funnel = funnel.override_by_name(stage, [model.DynamicConfigValue(id_val="displayName", value=word)])
    stalled_count = (
        stat.Panel().id(2).title("停滞项目").datasource(PROMETHEUS)
        .with_target(promql("A", QUERIES["stalled_count"], instant=True))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .color_scheme(dashboard_builders.FieldColor().mode(model.FieldColorModeId.FIXED).fixed_color("red"))
        .height(8).span(12)
    )
    by_unit = (
        table.Panel().id(3).title("各单位漏斗（单位 × 阶段）").datasource(PROMETHEUS)
        .with_target(promql("A", QUERIES["funnel_by_unit"], instant=True, table=True))
        .with_transformation(model.DataTransformerConfig(id_val="groupingToMatrix", options={
            "rowField": "unit_name", "columnField": "stage", "valueField": "Value", "emptyValue": "zero"}))
        .with_transformation(model.DataTransformerConfig(id_val="organize", options={
            "indexByName": {"unit_name\\stage": 0, **{s: i + 1 for i, s in enumerate(PIPELINE)}},
            "renameByName": {"unit_name\\stage": "单位", **STAGE_WORDS}}))
        .height(10).span(24)
    )
    stalled = (
        table.Panel().id(4).title("停滞项目清单").datasource(PROMETHEUS)
        .with_target(promql("A", QUERIES["stalled"], instant=True, table=True))
        .with_target(promql("B", QUERIES["stalled_days"], instant=True, table=True))
        .with_transformation(model.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(model.DataTransformerConfig(id_val="organize", options={
            "excludeByName": {"Time": True, "__name__": True, "job": True, "instance": True, "Value #A": True,
                              "leader": True, "unit": True, "department": True, "stage": True},
            "renameByName": {"project": "项目编号", "name": "项目名称", "unit_name": "单位", "leader_name": "包联领导",
                             "stage_zh": "所处阶段", "Value #B": "停留天数"}}))
        .sort_by([common_builders.TableSortByFieldState().display_name("停留天数").desc(True)])
        .filterable(True).height(12).span(24)
    )
    funds = (
        barchart.Panel().id(5).title("到位资金（亿元，按月）").datasource(PROMETHEUS)
        .with_target(promql("A", QUERIES["funds_by_month"], instant=True, table=True))
        .x_field("month").orientation(common.VizOrientation.VERTICAL).unit("亿元")
        .height(10).span(24)
    )
    return (
        board.with_row(dashboard.Row("漏斗").id(121)).with_panel(funnel).with_panel(stalled_count).with_panel(by_unit)
        .with_row(dashboard.Row("停滞项目").id(122)).with_panel(stalled)
        .with_row(dashboard.Row("到位资金").id(123)).with_panel(funds)
    )
