"""Panel shapes the dashboards reuse: status counts, verdict tables with traffic lights, Flux history."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import stat, table, timeseries
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from dashboards.common import PROMETHEUS, SELECT, promql, status_mappings, with_names
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


def status_matrix(panel_id: int, title: str, rows: str, columns: str, selector: str = SELECT) -> table.Panel:
    """A traffic-light matrix: ``rows`` × ``columns`` (label names), each cell the current status."""
    expr = with_names(f"targetwatch_verdict_status{{{selector}}} == 1")
    return (
        table.Panel().id(panel_id).title(title).datasource(PROMETHEUS)
        .with_target(promql("A", expr, instant=True, table=True))
        .with_transformation(_transform("groupingToMatrix", {"rowField": rows, "columnField": columns, "valueField": "status", "emptyValue": "null"}))
        # Every cell is a status: map it to its light; the first column holds the row names.
        .mappings(status_mappings()).cell_options(common.TableColoredBackgroundCellOptions())
        .override_by_name(f"{rows}\\{columns}", [model.DynamicConfigValue(id_val="displayName", value="单位"),
                                                   model.DynamicConfigValue(id_val="custom.cellOptions", value=common.TableAutoCellOptions())])
        .no_value("—").height(14).span(24)
    )


def verdict_table(panel_id: int, title: str, selector: str, sort_field: str, link: str | None = None) -> table.Panel:
    """Current verdicts as rows: unit, indicator, period, status light, value, target, gap, rank, group size."""
    metrics = ("value", "target", "gap", "rank", "group_size", "required_run_rate")
    panel = table.Panel().id(panel_id).title(title).datasource(PROMETHEUS)
    panel = panel.with_target(promql("S", with_names(f"targetwatch_verdict_status{{{selector}}} == 1"), instant=True, table=True))
    for i, name in enumerate(metrics):
        panel = panel.with_target(promql(chr(ord("A") + i), f"targetwatch_verdict_{name}{{{selector}}}", instant=True, table=True))
    names = {
        "unit_name": "单位", "indicator_name": "指标", "period": "期别", "status": "状态", "Value #A": "数值",
        "Value #B": "目标", "Value #C": "差距", "Value #D": "排名", "Value #E": "组内单位数", "Value #F": "所需月均进度",
    }
    panel = (
        panel.with_transformation(_transform("merge", {}))
        .with_transformation(_transform("organize", {
            "excludeByName": {"Time": True, "Value #S": True, "__name__": True, "job": True, "instance": True,
                              "severity": True, "leader": True, "lead_department": True},
            "renameByName": names,
            "indexByName": {key: i for i, key in enumerate(names)},
        }))
        .override_by_name("status", _colour_cells())
        # Ids stay in the frame (hidden) because the data links below read them.
        .override_by_regexp("^(unit|indicator|rule)$", [model.DynamicConfigValue(id_val="custom.hidden", value=True)])
        .sort_by([common_builders.TableSortByFieldState().display_name(sort_field)])
        .filterable(True).height(16).span(24)
    )
    if link:
        panel = panel.override_by_name("unit_name", [model.DynamicConfigValue(id_val="links", value=[
            {"title": "下钻", "url": link}])])
    return panel


def flux_history(panel_id: int, title: str, targets: list, unit: str = "none") -> timeseries.Panel:
    """A time series from InfluxDB (Flux), stepped: values change once per report, not in between."""
    panel = timeseries.Panel().id(panel_id).title(title).unit(unit).height(10).span(24)
    for target in targets:
        panel = panel.with_target(target)
    return panel.line_interpolation(common.LineInterpolation.STEP_AFTER).show_points(common.VisibilityMode.ALWAYS)
