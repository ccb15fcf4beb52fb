"""The six dashboards, generated from a deployment's registries (peer groups and their members).

Each function returns a dashboard builder; :func:`dashboards.build.build` encodes them to JSON.
Panel ids are fixed so that deep links (``/d/<uid>/?viewPanel=<id>``) stay valid across builds.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, dashboard, stat, table
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from dashboards.common import (
    MIXED, PROMETHEUS, SELECT, TAG, UIDS, Flux, alert_annotation, links, promql, query_variable, standard_variables,
    update_annotation, with_names,
)
from dashboards.panels import flux_history, league_table, pacing_chart, status_counts, status_matrix, verdict_table
from rules.vocabulary import TIERS, WORDS, label

SCORECARD_LINK = "/d/tw-scorecard/?var-unit=${__data.fields.unit}&${__url_time_range}"
TRENDS_LINK = "/d/tw-trends/?var-unit=${__data.fields.unit}&var-indicator=${__data.fields.indicator}&${__url_time_range}"


def _board(key: str, title: str, description: str, groups, group_names, **variable_options) -> dashboard.Dashboard:
    board = (
        dashboard.Dashboard(title).uid(UIDS[key]).description(description).tags([TAG]).timezone("Asia/Shanghai")
        .time("now-2y", "now").refresh("5m").editable().annotation(alert_annotation()).annotation(update_annotation())
    )
    for variable in standard_variables(groups, group_names, **variable_options):
        board = board.with_variable(variable)
    return board.links(links(key))


def overview(groups, group_names) -> dashboard.Dashboard:
    board = _board("overview", "目标完成情况总览", "各单位各指标最新一期的红黄绿灯", groups, group_names)
    board = board.with_row(dashboard.Row("当前状态").id(101))
    for panel in status_counts(1, 0):
        board = board.with_panel(panel)
    board = board.with_row(dashboard.Row("红黄绿灯矩阵（目标 × 单位，每条目标一格）").id(102))
    board = board.with_panel(status_matrix(10, "全部单位（当前对比组）"))
    # One matrix per peer group of the registry, so that each group's laggards stand together.
    for i, (group, members) in enumerate(groups.items()):
        if not members:
            continue
        selector = f'unit=~"{"|".join(members)}", indicator=~"${{indicator}}", period=~"${{period}}"'
        board = board.with_row(dashboard.Row(group_names[group]).id(200 + i).collapsed(True).with_panel(
            status_matrix(20 + i, f"{group_names[group]}：红黄绿灯", selector)))
    return board


def league(groups, group_names) -> dashboard.Dashboard:
    # 指标 lists only the indicators that some rule ranks, so that the repeated tables are never empty.
    board = _board("league", "指标排名表", "每个指标在对比组内的排名、进位/退位、数值、目标与对比组自身数值", groups, group_names,
                   multi_indicator=True, indicators="targetwatch_period_rank")
    ranking = (
        league_table(2, "排名表：${indicator}", SELECT, SCORECARD_LINK)
        .repeat("indicator").repeat_direction("v")
    )
    board = board.with_row(dashboard.Row("排名").id(104)).with_panel(ranking)
    rank_history = f'''from(bucket: "targetwatch")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "verdict" and r._field == "rank" and r.indicator == "${{indicator}}" and r.unit =~ /^(${{group}})$/)
  |> group(columns: ["unit"])'''
    history = flux_history(3, "排名变化（1 = 第一名，InfluxDB 历史）", [Flux("A", rank_history)]).datasource(MIXED)
    return board.with_row(dashboard.Row("排名走势").id(105)).with_panel(history)


def scorecard(groups, group_names) -> dashboard.Dashboard:
    board = _board("scorecard", "单位记分卡", "一个单位的全部目标：状态、数值、目标、差距与排名", groups, group_names,
                   multi_unit=False)
    board = board.with_row(dashboard.Row("${unit}：当前状态").id(106))
    for panel in status_counts(1, 0):
        board = board.with_panel(panel)
    return board.with_row(dashboard.Row("全部目标").id(107)).with_panel(
        verdict_table(10, "目标清单", SELECT, "状态", TRENDS_LINK))


def trends(groups, group_names) -> dashboard.Dashboard:
    board = _board("trends", "指标趋势", "实际值、目标线与年度目标的进度曲线", groups, group_names,
                   multi_unit=False, multi_indicator=False)
    verdicts = '''from(bucket: "targetwatch")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "verdict" and r.unit == "${unit}" and r.indicator == "${indicator}")
  |> filter(fn: (r) => r._field == "value" or r._field == "target")
  |> map(fn: (r) => ({r with _field: if r._field == "value" then "实际值" else "目标（进度要求）"}))
  |> group(columns: ["_field", "rule"])'''
    reported = '''from(bucket: "targetwatch")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "observation" and r._field == "value" and r.unit == "${unit}" and r.indicator == "${indicator}")
  |> map(fn: (r) => ({r with _field: "报送值（" + r.period + "，" + r.basis + "）"}))
  |> group(columns: ["_field"])'''
    run_rate = '''from(bucket: "targetwatch")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "verdict" and r._field == "required_run_rate" and r.unit == "${unit}" and r.indicator == "${indicator}")
  |> group(columns: ["rule"])'''
    gap = stat.Panel().id(1).title("当前差距").datasource(PROMETHEUS).with_target(
        promql("A", f"targetwatch_verdict_gap{{{SELECT}}}", legend="{{rule}}", instant=True)).height(4).span(24)
    pacing = pacing_chart(5, "年度目标进度：累计完成与进度要求（各期）", 'unit=~"${unit}", indicator=~"${indicator}", kind="pacing"')
    return (
        board.with_row(dashboard.Row("${unit} · ${indicator}").id(108)).with_panel(gap).with_panel(pacing)
        .with_panel(flux_history(2, "实际值与目标线（含进度曲线，InfluxDB 历史）", [Flux("A", verdicts)]).datasource(MIXED))
        .with_panel(flux_history(3, "每次报送的数值（含修订，InfluxDB 历史）", [Flux("A", reported)]).datasource(MIXED))
        .with_panel(flux_history(4, "完成年度目标所需的月均进度（InfluxDB 历史）", [Flux("A", run_rate)]).datasource(MIXED))
    )


def freshness(groups, group_names) -> dashboard.Dashboard:
    board = _board("freshness", "数据报送及时性", f"{label('late')}、{label('no_data')}的单位，以及各数据源最近一次成功入库的时间",
                   groups, group_names)

    def by_unit(panel_id: int, status: str, note: str) -> bargauge.Panel:
        words = WORDS[status]
        selected = "targetwatch_verdict_status{status=\"" + status + "\", " + SELECT + "} == 1"
        expr = f"sum by (unit_name) ({with_names(selected)})"
        return (
            bargauge.Panel().id(panel_id).title(f"{words.label}（{note}）").datasource(PROMETHEUS)
            .with_target(promql("A", expr, legend="{{unit_name}}", instant=True))
            .orientation(common.VizOrientation.HORIZONTAL).display_mode(common.BarGaugeDisplayMode.BASIC)
            .color_scheme(dashboard_builders.FieldColor().mode(model.FieldColorModeId.FIXED).fixed_color(words.colour))
            .height(10).span(12)
        )

    ages = (
        table.Panel().id(3).title("各数据源距上次成功入库").datasource(PROMETHEUS)
        .with_target(promql("A", "time() - targetwatch_last_successful_ingest_timestamp_seconds", instant=True, table=True))
        .with_transformation(model.DataTransformerConfig(id_val="organize", options={
            "excludeByName": {"Time": True, "__name__": True, "job": True, "instance": True},
            "renameByName": {"source": "数据源", "Value": "距今"}}))
        .unit("s").thresholds(dashboard.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps([
            model.Threshold(value=None, color="green"), model.Threshold(value=3 * 86400, color="yellow"),
            model.Threshold(value=35 * 86400, color="red")]))
        .height(8).span(24)
    )
    late = verdict_table(4, f"{label('late')}与{label('no_data')}明细", SELECT, "单位", SCORECARD_LINK, statuses="late|no_data")
    # Cross-level consistency checks that failed (a parent that does not add up to its children): data quality.
    inconsistent = verdict_table(5, f"{TIERS['data'].name}：{TIERS['data'].missed}（上下级合计）", SELECT + ', tier="data"', "单位", SCORECARD_LINK, statuses="behind")
    return (
        board.with_row(dashboard.Row("按单位").id(109))
        .with_panel(by_unit(1, "late", "已过报送期限"))
        .with_panel(by_unit(2, "no_data", "期限未到"))
        .with_row(dashboard.Row("数据源").id(110)).with_panel(ages).with_panel(late).with_panel(inconsistent)
    )


def alerts(groups, group_names) -> dashboard.Dashboard:
    """Firing alerts, and the verdicts behind them, per leader: the page alerts and digests link to
    (``/d/tw-alerts/?var-leader=…&var-period=…``, exporters.promrules and exporters.digest)."""
    board = _board("alerts", "正在告警", "Prometheus 中正在触发的目标告警，按牵头领导筛选；点击单位进入记分卡", groups, group_names)
    # All = ".*", so that service alerts (which carry no leader) show too.
    board = board.with_variable(query_variable("leader", "牵头领导", "label_values(targetwatch_verdict_status, leader)").all_value(".*"))
    firing = 'ALERTS{alertstate="firing", leader=~"${leader}"}'
    count = (
        stat.Panel().id(1).title("正在告警").datasource(PROMETHEUS)
        .with_target(promql("A", f"count({firing}) or vector(0)", instant=True))
        .color_mode(common.BigValueColorMode.BACKGROUND).height(4).span(24)
    )
    listing = (
        table.Panel().id(2).title("告警清单").datasource(PROMETHEUS)
        .with_target(promql("A", firing, instant=True, table=True))
        .with_transformation(model.DataTransformerConfig(id_val="organize", options={
            "excludeByName": {"Time": True, "Value": True, "__name__": True, "alertstate": True},
            "renameByName": {"alertname": "告警", "unit": "单位", "indicator": "指标", "period": "期别",
                             "severity": "级别", "leader": "牵头领导", "rule": "规则"}}))
        .override_by_name("unit", [model.DynamicConfigValue(id_val="links", value=[{"title": "查看该单位记分卡", "url": SCORECARD_LINK}])])
        .filterable(True).height(12).span(24)
    )
    followed_up = ("behind", "late", "at_risk")
    behind = verdict_table(3, f"需要督办的目标（{'、'.join(label(s) for s in followed_up)}）", SELECT + ', leader=~"${leader}"', "状态",
                           TRENDS_LINK, statuses="|".join(followed_up))
    return (
        board.with_row(dashboard.Row("告警").id(111)).with_panel(count).with_panel(listing)
        .with_row(dashboard.Row("督办清单").id(112)).with_panel(behind)
    )


BOARDS = {"overview": overview, "league": league, "scorecard": scorecard, "trends": trends, "freshness": freshness, "alerts": alerts}

from dashboards.projects import projects  # noqa: E402  (its own module; registered here like the others)

BOARDS["projects"] = projects
