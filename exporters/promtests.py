"""``promtool test rules`` tests for the generated alerting rules, built from the deployment's first rule.

The scenario, on the example deployment's first rule R (its leader L, unit U and two peers):
U is behind throughout; a peer is behind with severity "none" (no alert); another peer is behind for
three minutes and then catches up (the alert keeps firing for ``keep_firing_for``, then resolves);
U's previous period is behind but historic (older than the current reporting period: no alert);
U's next period has no data yet (a severity "none" alert that exists only to inhibit); U missed a 力争-only
target in April (tier="stretch": its own alert, a warning, never TargetBehind), and its March figure did
not add up to its children's (tier="data": TargetDataInconsistent). The service's
own alerts: a message stuck in the outbox for an hour, a failed collector run, a source without new
data for 40 days, a rule file left out of the evaluation because of an error, and the service itself
down for 5 minutes.
"""

from __future__ import annotations

from exporters.owners import RuleInfo, rule_catalogue
from exporters.promrules import TIER_ALERTS
from rules.vocabulary import WORDS

PERIOD, NEXT, OLD, APRIL, MARCH = "2023-06", "2023-07", "2023-05", "2023-04", "2023-03"


def _example(deployment) -> tuple[RuleInfo, list[str]]:
    rule = next((r for r in rule_catalogue(deployment) if r.leader and r.unit and r.indicator), None)
    if rule is None:
        leader = next(iter(deployment.people), "leader")
        unit = next(iter(deployment.units))
        rule = RuleInfo("example_rule", "示例目标", "", leader, unit, next(iter(deployment.indicators)), "")
    peers = [u for u in deployment.units if u != rule.unit][:2]
    return rule, [rule.unit, *peers]


def _labels(rule: RuleInfo, unit: str, period: str = PERIOD, severity: str = "critical") -> dict:
    labels = {"rule": rule.id, "unit": unit, "indicator": rule.indicator, "period": period,
              "leader": rule.leader, "lead_department": rule.lead_department, "severity": severity}
    return {k: v for k, v in labels.items() if v}  # an empty label is no label in Prometheus


def _series(name: str, labels: dict) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def prometheus_rule_tests(deployment, *, keep_firing_for: str = "10m", dashboard_url: str = "") -> dict:
    """The test file as a dict (rules file ``rules.yml`` in the same folder)."""
    rule, (unit, quiet_peer, recovering_peer) = _example(deployment)
    name = {u: deployment.units[u].name for u in (unit, quiet_peer, recovering_peer)}
    leader_name = deployment.people[rule.leader].name if rule.leader in deployment.people else rule.leader
    behind = _labels(rule, unit)
    quiet = _labels(rule, quiet_peer, severity="none")
    recovering = _labels(rule, recovering_peer)
    missing = _labels(rule, unit, period=NEXT, severity="none")
    old = _labels(rule, unit, period=OLD)
    stretch = {**_labels(rule, unit, period=APRIL, severity="warning"), "tier": "stretch"}
    data = {**_labels(rule, unit, period=MARCH, severity="warning"), "tier": "data"}
    status = "targetwatch_verdict_status"
    series = [
        (_series(status, {**behind, "status": "behind"}), "1x90"),
        (_series(status, {**quiet, "status": "behind"}), "1x90"),
        (_series(status, {**recovering, "status": "behind"}), "1 1 1 0x87"),
        (_series(status, {**missing, "status": "no_data"}), "1x90"),
        (_series(status, {**old, "status": "behind"}), "1x90"),
        (_series("targetwatch_verdict_historic", old), "1x90"),
        (_series(status, {**stretch, "status": "behind"}), "1x90"),
        (_series(status, {**data, "status": "behind"}), "1x90"),
        (_series("targetwatch_verdict_value", behind), "5.1x90"),
        (_series("targetwatch_verdict_target", behind), "7x90"),
        (_series("targetwatch_verdict_gap", behind), "-1.9x90"),
        (_series("targetwatch_unit_info", {"unit": unit, "name": name[unit], "kind": "x", "parent": ""}), "1x90"),
        (_series("targetwatch_unit_info", {"unit": recovering_peer, "name": name[recovering_peer], "kind": "x"}), "1x90"),
        (_series("targetwatch_rule_info", {"rule": rule.id, "title": rule.title}), "1x90"),
        (_series("targetwatch_person_info", {"person": rule.leader, "name": leader_name}), "1x90"),
        (_series("targetwatch_notifications_pending", {"job": "targetwatch"}), "0 1x90"),
        (_series("targetwatch_collector_failures_total", {"collector": "monthly_xlsx", "job": "targetwatch"}), "0 0 1x88"),
        (_series("targetwatch_last_successful_ingest_timestamp_seconds", {"source": "old.csv", "job": "targetwatch"}), "-3500000x90"),
        (_series("targetwatch_last_successful_ingest_timestamp_seconds", {"source": "new.csv", "job": "targetwatch"}), "0x90"),
        (_series("up", {"job": "targetwatch", "instance": "127.0.0.1:9464"}), "1 1 0x88"),
        (_series("targetwatch_rule_files_invalid", {"job": "targetwatch"}), "0 0 1x88"),
    ]

    def alert(labels: dict, what: str, description: str) -> dict:
        link = f"{dashboard_url}?var-leader={labels.get('leader', '')}&var-period={labels['period']}"
        return {"exp_labels": labels, "exp_annotations": {
            "summary": f"{name[labels['unit']]}「{rule.title}」{labels['period']}{what}",
            "description": description, "dashboard": link, "rule_title": rule.title, "unit_name": name[labels["unit"]]}}

    unknown = f"实际-，目标-，差距-。牵头领导：{leader_name}。"
    behind_words, no_data_words = WORDS["behind"].alert, WORDS["no_data"].alert
    tests = [
        {"eval_time": "5m", "alertname": "TargetBehind", "exp_alerts": [
            alert({**behind, "status": "behind"}, behind_words, f"实际5.1，目标7，差距-1.9。牵头领导：{leader_name}。"),
            alert({**recovering, "status": "behind"}, behind_words, unknown)]},
        {"eval_time": "20m", "alertname": "TargetBehind", "exp_alerts": [
            alert({**behind, "status": "behind"}, behind_words, f"实际5.1，目标7，差距-1.9。牵头领导：{leader_name}。")]},
        {"eval_time": "5m", "alertname": "TargetNoData", "exp_alerts": [
            alert({**missing, "status": "no_data"}, no_data_words, unknown)]},
        {"eval_time": "5m", "alertname": "TargetStretchMissed", "exp_alerts": [
            alert({**stretch, "status": "behind"}, TIER_ALERTS["stretch"][2], unknown)]},
        {"eval_time": "5m", "alertname": "TargetDataInconsistent", "exp_alerts": [
            alert({**data, "status": "behind"}, TIER_ALERTS["data"][2], unknown)]},
        {"eval_time": "5m", "alertname": "TargetLate", "exp_alerts": []},
        {"eval_time": "5m", "alertname": "TargetAtRisk", "exp_alerts": []},
        {"eval_time": "30m", "alertname": "TargetwatchNotificationsStuck", "exp_alerts": []},
        {"eval_time": "70m", "alertname": "TargetwatchNotificationsStuck", "exp_alerts": [
            {"exp_labels": {"job": "targetwatch", "severity": "warning"},
             "exp_annotations": {"summary": "1 条通知滞留在发件箱超过一小时"}}]},
        {"eval_time": "1m", "alertname": "TargetwatchCollectorFailing", "exp_alerts": []},
        {"eval_time": "5m", "alertname": "TargetwatchCollectorFailing", "exp_alerts": [
            {"exp_labels": {"collector": "monthly_xlsx", "job": "targetwatch", "severity": "warning"},
             "exp_annotations": {"summary": "采集任务 monthly_xlsx 最近一小时运行失败"}}]},
        {"eval_time": "5m", "alertname": "TargetwatchIngestStale", "exp_alerts": [
            {"exp_labels": {"source": "old.csv", "job": "targetwatch", "severity": "warning"},
             "exp_annotations": {"summary": "数据源 old.csv 已超过40天没有新数据入库"}}]},
        {"eval_time": "1m", "alertname": "TargetwatchRuleFilesInvalid", "exp_alerts": []},
        {"eval_time": "3m", "alertname": "TargetwatchRuleFilesInvalid", "exp_alerts": [
            {"exp_labels": {"job": "targetwatch", "severity": "warning"},
             "exp_annotations": {"summary": "1 个规则文件有错误，未参与评估；其余规则照常评估。运行 targetwatch rules check 查看出错位置"}}]},
        {"eval_time": "6m", "alertname": "TargetwatchDown", "exp_alerts": []},
        {"eval_time": "8m", "alertname": "TargetwatchDown", "exp_alerts": [
            {"exp_labels": {"job": "targetwatch", "instance": "127.0.0.1:9464", "severity": "critical"},
             "exp_annotations": {"summary": "targetwatch 服务无法抓取（127.0.0.1:9464）"}}]},
    ]
    return {"rule_files": ["rules.yml"], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": [{"series": s, "values": v} for s, v in series],
                       "alert_rule_test": tests}]}
