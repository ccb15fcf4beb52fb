"""Panel shapes the dashboards reuse: status counts, verdict tables with traffic lights, Flux history."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import barchart, stat, table, timeseries
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from dashboards.common import PROMETHEUS, SELECT, promql, status_mappings, with_names, with_rule_names
from rules.vocabulary import WORDS


def _transform(kind: str, options: dict) -> model.DataTransformerConfig:
    return model.DataTransformerConfig(id_val=kind, options=options)


def _colour_cells() -> list[model.DynamicConfigValue]:
    return [
        model.DynamicConfigValue(id_val="mappings", value=status_mappings()),
        model.DynamicConfigValue(id_val="custom.cellOptions", value=common.TableColoredBackgroundCellOptions()),
    ]


def status_counts(panel_id: int, x: int, selector: str = SELECT) -> list[stat.Panel]:
    """One stat per status: how many verdicts are in it now (a traffic light each)."""
    panels = []
    for i, (status, words) in enumerate(WORDS.items()):
        expr = f'count(targetwatch_verdict_status{{status="{status}", {selector}}} == 1) or vector(0)'
        panels.append(
            stat.Panel().id(panel_id + i).title(words.label).datasource(PROMETHEUS).with_target(promql("A", expr, instant=True))
            .color_mode(common.BigValueColorMode.BACKGROUND).graph_mode(common.BigValueGraphMode.NONE)
            .color_scheme(dashboard_builders.FieldColor().mode(model.FieldColorModeId.FIXED).fixed_color(words.colour))
            .height(4).span(4 if i < 4 else 8)
        )
    return panels


def status_matrix(panel_id: int, title: str, selector: str = SELECT) -> table.Panel:
    """A traffic-light matrix, one cell per rule: a row per rule (its Chinese title), a column per unit.

    Two rules on the same indicator and unit (behind, and no_data for another) keep a cell each."""
    expr = with_rule_names(with_names(f"targetwatch_verdict_status{{{selector}}} == 1"))
    rows, columns = "rule_title", "unit_name"
    return (
        table.Panel().id(panel_id).title(title).datasource(PROMETHEUS)
        .with_target(promql("A", expr, instant=True, table=True))
        .with_transformation(_transform("groupingToMatrix", {"rowField": rows, "columnField": columns, "valueField": "status", "emptyValue": "null"}))
        # Every cell is a status: map it to its light; the first column holds the row names.
        .mappings(status_mappings()).cell_options(common.TableColoredBackgroundCellOptions())
        .override_by_name(f"{rows}\\{columns}", [model.DynamicConfigValue(id_val="displayName", value="目标"),
                                                   model.DynamicConfigValue(id_val="custom.cellOptions", value=common.TableAutoCellOptions())])
        .no_value("—").height(14).span(24)
    )


# The per-verdict gauges a verdict table shows, their query letters and their column titles.
VERDICT_COLUMNS = (
    ("value", "数值"), ("target", "目标"), ("gap", "差距"), ("rank", "排名"), ("group_size", "组内单位数"),
    ("reference", "参照值"), ("rank_change", "较上期进位/退位"), ("required_run_rate", "所需月均进度"),
)
_KEY = "rule, unit, indicator, period"


def verdict_table(panel_id: int, title: str, selector: str, sort_field: str, link: str | None = None,
                  statuses: str | None = None) -> table.Panel:
    """Current verdicts as rows: unit, indicator, period, status light, value, target, gap, rank, group size,
    reference, rank change, run rate. ``statuses`` (a regex of status ids) keeps only verdicts in them.

    Every query carries the same labels (the status joined from ``targetwatch_verdict_status``, the Chinese
    names from the info metrics), so that Grafana's merge puts each verdict's figures on one row."""
    current = f"(targetwatch_verdict_status{{{selector}{', status=~' + chr(34) + statuses + chr(34) if statuses else ''}}} == 1)"
    panel = table.Panel().id(panel_id).title(title).datasource(PROMETHEUS)
    panel = panel.with_target(promql("S", with_names(current), instant=True, table=True))
    names = {"unit_name": "单位", "indicator_name": "指标", "period": "期别", "status": "状态"}
    for i, (name, column) in enumerate(VERDICT_COLUMNS):
        ref = chr(ord("A") + i)
        expr = f"targetwatch_verdict_{name}{{{selector}}} * on({_KEY}) group_left(status) {current}"
        panel = panel.with_target(promql(ref, with_names(expr), instant=True, table=True))
        names[f"Value #{ref}"] = column
    panel = (
        panel.with_transformation(_transform("merge", {}))
        .with_transformation(_transform("organize", {
            "excludeByName": {"Time": True, "Value #S": True, "__name__": True, "job": True, "instance": True,
                              "severity": True, "leader": True, "lead_department": True},
            "renameByName": names,
            "indexByName": {key: i for i, key in enumerate(names)},
        }))
        # Overrides match the column's name after the organize step renamed it.
        .override_by_name("状态", _colour_cells())
        # Ids stay in the frame (hidden) because the data links below read them.
        .override_by_regexp("^(unit|indicator|rule)$", [model.DynamicConfigValue(id_val="custom.hidden", value=True)])
        .sort_by([common_builders.TableSortByFieldState().display_name(sort_field)])
        .filterable(True).height(16).span(24)
    )
    if link:
        panel = panel.override_by_name("单位", [model.DynamicConfigValue(id_val="links", value=[
            {"title": "下钻", "url": link}])])
    return panel


# The per-period figures of the league table (``targetwatch_period_*``) and their column titles.
LEAGUE_COLUMNS = (
    ("value", "数值"), ("target", "目标"), ("gap", "差距"), ("rank", "排名"), ("group_size", "组内单位数"),
    ("rank_change", "较上期进位(+)/退位(−)"),
)


def league_table(panel_id: int, title: str, selector: str, link: str | None = None) -> table.Panel:
    """Every member of the peer group at one period: value, target, gap, rank, the group's own figure and
    进位/退位, sorted by rank. The rows are the ranked rules' units; the group's figure is the reference of
    the rule comparing the same indicator with the group, where there is one."""
    ranked = f"targetwatch_period_rank{{{selector}}}"
    panel = table.Panel().id(panel_id).title(title).datasource(PROMETHEUS)
    names = {"unit_name": "单位", "indicator_name": "指标", "period": "期别"}
    for i, (name, column) in enumerate(LEAGUE_COLUMNS):
        ref = chr(ord("A") + i)
        expr = ranked if name == "rank" else f"targetwatch_period_{name}{{{selector}}} and on({_KEY}) {ranked}"
        panel = panel.with_target(promql(ref, with_names(expr), instant=True, table=True))
        names[f"Value #{ref}"] = column
    # The group's own figure is the same for every member: copied onto each ranked row by indicator and period.
    reference = f"{ranked} * 0 + on(indicator, period) group_left() max by (indicator, period) (targetwatch_period_reference)"
    panel = panel.with_target(promql("R", with_names(reference), instant=True, table=True))
    names["Value #R"] = "对比组自身数值"
    panel = (
        panel.with_transformation(_transform("merge", {}))
        .with_transformation(_transform("organize", {
            "excludeByName": {"Time": True, "__name__": True, "job": True, "instance": True, "rule": True, "kind": True},
            "renameByName": names,
            "indexByName": {key: i for i, key in enumerate(names)},
        }))
        .override_by_name("较上期进位(+)/退位(−)", [
            model.DynamicConfigValue(id_val="custom.cellOptions", value=common.TableColoredBackgroundCellOptions()),
            model.DynamicConfigValue(id_val="thresholds", value=dashboard_builders.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps([
                model.Threshold(value=None, color="red"), model.Threshold(value=0, color="text"),
                model.Threshold(value=1, color="green")]).build()),
        ])
        .override_by_regexp("^(unit|indicator)$", [model.DynamicConfigValue(id_val="custom.hidden", value=True)])
        .sort_by([common_builders.TableSortByFieldState().display_name("排名")])
        .filterable(True).height(14).span(24)
    )
    if link:
        panel = panel.override_by_name("单位", [model.DynamicConfigValue(id_val="links", value=[{"title": "下钻", "url": link}])])
    return panel


def pacing_chart(panel_id: int, title: str, selector: str) -> barchart.Panel:
    """Cumulative value against the pacing line at each period of the year, from Prometheus
    (``targetwatch_period_value`` and ``_target`` of the pacing rules): works without InfluxDB."""
    panel = barchart.Panel().id(panel_id).title(title).datasource(PROMETHEUS)
    # The pacing line first: it has every period, also those whose value is not in yet.
    for ref, name in (("A", "target"), ("B", "value")):
        panel = panel.with_target(promql(ref, f"targetwatch_period_{name}{{{selector}}}", instant=True, table=True))
    return (
        panel.with_transformation(_transform("merge", {}))
        .with_transformation(_transform("organize", {
            "excludeByName": {"Time": True, "__name__": True, "rule": True, "unit": True, "indicator": True, "kind": True},
            "renameByName": {"period": "期别", "Value #A": "进度要求", "Value #B": "累计完成"}}))
        .x_field("期别").height(10).span(24)
    )


def flux_history(panel_id: int, title: str, targets: list, unit: str = "none") -> timeseries.Panel:
    """A time series from InfluxDB (Flux), stepped: values change once per report, not in between."""
    panel = timeseries.Panel().id(panel_id).title(title).unit(unit).height(10).span(24)
    for target in targets:
        panel = panel.with_target(target)
    return panel.line_interpolation(common.LineInterpolation.STEP_AFTER).show_points(common.VisibilityMode.ALWAYS)
