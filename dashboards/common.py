"""What every dashboard shares: data sources, the Flux query type, template variables, links, colours.

The data sources have fixed uids, provisioned by ``config/provisioning/grafana/datasources/``:
Prometheus (current verdicts, ``targetwatch_*``), InfluxDB with Flux (history: the ``observation`` and
``verdict`` measurements of :mod:`targetwatch.store.influx` and :mod:`exporters.influx`) and Alertmanager.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, prometheus
from grafana_foundation_sdk.models import prometheus as prometheus_model
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from rules.vocabulary import WORDS

PROMETHEUS = DataSourceRef(type_val="prometheus", uid="targetwatch-prometheus")
INFLUX = DataSourceRef(type_val="influxdb", uid="targetwatch-influxdb")
ALERTMANAGER = DataSourceRef(type_val="alertmanager", uid="targetwatch-alertmanager")
# Grafana's built-in annotation store (annotations posted through the HTTP API).
GRAFANA = DataSourceRef(type_val="grafana", uid="-- Grafana --")
# Grafana's built-in mixed data source: a panel with Flux targets says so, each target names its own source.
MIXED = DataSourceRef(type_val="datasource", uid="-- Mixed --")
TAG = "targetwatch"

# Stable dashboard uids: alert annotations and links point at them, so they never change.
UIDS = {
    "overview": "tw-overview",
    "league": "tw-league",
    "scorecard": "tw-scorecard",
    "trends": "tw-trends",
    "freshness": "tw-freshness",
    "alerts": "tw-alerts",  # exporters.promrules and exporters.digest link leaders here
    "projects": "tw-projects",  # dashboards/projects.py
}


class FluxQuery(cogvariants.Dataquery):
    """A Flux target for Grafana's InfluxDB data source (the SDK has no InfluxDB query type)."""

    def __init__(self, ref_id: str, query: str):
        self.ref_id, self.query = ref_id, query

    def to_json(self) -> dict:
        return {"refId": self.ref_id, "query": self.query, "datasource": INFLUX.to_json()}


class Flux(cogbuilder.Builder[FluxQuery]):
    def __init__(self, ref_id: str, query: str):
        self._query = FluxQuery(ref_id, query)

    def build(self) -> FluxQuery:
        return self._query


def promql(ref_id: str, expr: str, legend: str = "", instant: bool = False, table: bool = False) -> prometheus.Dataquery:
    query = prometheus.Dataquery().ref_id(ref_id).expr(expr).datasource(PROMETHEUS)
    if legend:
        query = query.legend_format(legend)
    if instant:
        query = query.instant()
    if table:
        query = query.format(prometheus_model.PromQueryFormat.TABLE)
    return query


def with_names(expr: str) -> str:
    """PromQL that adds the Chinese ``unit_name`` and ``indicator_name`` labels from the info metrics."""
    return (
        f"({expr})"
        ' * on(unit) group_left(unit_name) label_replace(targetwatch_unit_info, "unit_name", "$1", "name", "(.+)")'
        ' * on(indicator) group_left(indicator_name) label_replace(targetwatch_indicator_info, "indicator_name", "$1", "name", "(.+)")'
    )


def with_rule_names(expr: str) -> str:
    """PromQL that adds the ``rule_title`` label (the rule's Chinese title) from ``targetwatch_rule_info``."""
    return f'({expr}) * on(rule) group_left(rule_title) label_replace(targetwatch_rule_info, "rule_title", "$1", "title", "(.+)")'


# A verdict selector honouring the template variables (the group's value is its member-id regex).
SELECT = 'unit=~"${group}", unit=~"${unit}", indicator=~"${indicator}", period=~"${period}"'


def group_variable(groups: dict[str, list[str]], names: dict[str, str]) -> dashboard.CustomVariable:
    """Peer groups from the registry; each option's value is the regex of its member unit ids."""
    options = [("全部单位", ".+")] + [(names[g], "|".join(members)) for g, members in groups.items() if members]
    return (
        dashboard.CustomVariable("group")
        .label("对比组")
        .values(",".join(f"{text} : {value}" for text, value in options))
        .options([model.VariableOption(text=t, value=v, selected=i == 0) for i, (t, v) in enumerate(options)])
        .current(model.VariableOption(text=options[0][0], value=options[0][1], selected=True))
    )


def query_variable(name: str, label: str, query: str, multi: bool = True, sort=model.VariableSort.ALPHABETICAL_ASC):
    variable = (
        dashboard.QueryVariable(name)
        .label(label)
        .datasource(PROMETHEUS)
        .query(query)
        .refresh(model.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(sort)
    )
    if multi:
        variable = variable.multi(True).include_all(True).all_value(".+")
    return variable


def standard_variables(groups, group_names, *, multi_indicator: bool = True, multi_unit: bool = True,
                       indicators: str = "targetwatch_indicator_info") -> list:
    """对比组, 单位 (within the group), 指标 (those of the ``indicators`` series) and 期别 (latest first):
    the variables every dashboard has."""
    return [
        group_variable(groups, group_names),
        query_variable("unit", "单位", 'label_values(targetwatch_unit_info{unit=~"${group}"}, unit)', multi=multi_unit),
        query_variable("indicator", "指标", f"label_values({indicators}, indicator)", multi=multi_indicator),
        query_variable("period", "期别", "label_values(targetwatch_verdict_status, period)", multi=False,
                       sort=model.VariableSort.ALPHABETICAL_DESC),
    ]


def links(current: str) -> list[dashboard.DashboardLink]:
    """A dropdown to every other targetwatch dashboard, keeping the time range and the variables."""
    return [
        dashboard.DashboardLink("目标监测看板").type(model.DashboardLinkType.DASHBOARDS).tags([TAG])
        .as_dropdown(True).include_vars(True).keep_time(True).target_blank(False).icon("external link")
        .tooltip("targetwatch").url("")
    ]


def panel_url(key: str, panel_id: int | None = None, **variables: str) -> str:
    """A relative deep link to a dashboard (and one panel of it) with variables, for data links."""
    query = "&".join(f"var-{k}={v}" for k, v in variables.items())
    view = f"&viewPanel={panel_id}" if panel_id is not None else ""
    return f"/d/{UIDS[key]}/?{query}{view}&${{__url_time_range}}"


def status_mappings() -> list:
    """Value mappings that turn a status id into its Chinese label and traffic-light colour (``rules.vocabulary``)."""
    return [
        model.ValueMap(options={s: model.ValueMappingResult(text=w.label, color=w.colour, index=i) for i, (s, w) in enumerate(WORDS.items())})
    ]


def update_annotation() -> dashboard.AnnotationQuery:
    """Grafana's own annotations that ``serve`` posts (tag ``targetwatch``): 数据更新 when new figures land
    for a unit and period, 规则生效 when a rule version takes effect, so that a line that moved says why."""
    from targetwatch.grafana import ANNOTATION_TAG

    return (
        dashboard.AnnotationQuery()
        .name("数据更新与规则生效")
        .datasource(GRAFANA)
        .enable(True)
        .icon_color("blue")
        .target(dashboard.AnnotationTarget().type("tags").tags([ANNOTATION_TAG]).match_any(False).limit(200))
    )


def alert_annotation() -> dashboard.AnnotationQuery:
    """Firing targetwatch alerts as annotations; the text carries the alert's own deep link."""
    return (
        dashboard.AnnotationQuery()
        .name("告警")
        .datasource(PROMETHEUS)
        .enable(True)
        .icon_color("red")
        .expr('ALERTS{alertstate="firing", unit=~"${unit}", indicator=~"${indicator}"}')
    )
