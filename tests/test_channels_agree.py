"""Channels agree: one owner chain, one status vocabulary, one configuration per cycle, for every channel.

The deployment is the example's, with its rules replaced by one rule on 社会消费品零售总额 of 大祥区 and
双清区 whose owners are spread over three levels: the rule names the leader (伍毅), the indicator names
a leader (夏丹波, overridden) and the contacts (刘一凡), and 大祥区 names a leader (刘海龙, overridden), a
contact (刘伟云, overridden) and the lead department (区发改局, which nobody above names). On 22 October
2025 大祥区 is behind (90 < 100) and 双清区, which has not sent September, is late.
"""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from typer.testing import CliRunner

import rules
from exporters.alertmanager import export_alertmanager, notification_templates
from exporters.channels import Channel, NotifierConfig
from exporters.digest import build_digest
from exporters.ledger import Ledger, ledger_path
from exporters.promrules import prometheus_rules
from exporters.service import Service
from collectors.ingest import ingest_file
from dashboards.build import dashboards
from rules.vocabulary import WORDS, StatusWords
from targetwatch.cli import app
from targetwatch.deployment import load_deployment
from tests.collectors.schedule_helpers import at
from tests.conftest import free_port, require_binary
from tests.exporters.receivers import Receiver

AS_OF = at(2025, 10, 22, 9)
RULE = """apiVersion: targetwatch/v1
kind: Rule
metadata: {id: retail_total, title: 社会消费品零售总额每月不低于100亿元, version: 1}
spec:
  indicator: retail_sales
  units: [daxiang, shuangqing]
  target: {kind: threshold, op: ">=", floor: 100}
  owners: {leader: wu_yi}
"""


def _replace(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def owned(deployment_dir, store, tmp_path):
    """The deployment described in the module docstring, with 大祥区's September report in the store."""
    for old in (deployment_dir / "rules").glob("*.yaml"):
        old.unlink()
    (deployment_dir / "projects.yaml").unlink()  # no project ledgers either: their 包联领导 would have routes and verdicts
    (deployment_dir / "rules" / "retail.yaml").write_text(RULE, encoding="utf-8")
    registry = deployment_dir / "registry"
    _replace(registry / "indicators.yaml", "aliases: [社零总额], deadline: {working_days: 10}}", "aliases: [社零总额], deadline: {working_days: 10}, owners: {leader: xia_danbo, contacts: [liu_yifan]}}")
    _replace(registry / "units.yaml", "aliases: [大祥]}", "aliases: [大祥], owners: {leader: liu_hailong, contacts: [liu_weiyun], lead_department: [daxiang_fgj]}}")
    dep = load_deployment(deployment_dir)
    csv = tmp_path / "retail.csv"
    csv.write_text("unit,indicator,period,value\n大祥区,retail_sales,2025-09,90\n", encoding="utf-8")
    assert ingest_file(dep, store, csv, collectors=[], reported_at=at(2025, 10, 9, 12)).ok
    return dep


@pytest.fixture
def receiver():
    hook = Receiver("webhook", free_port()).start()
    yield hook
    hook.stop()


def service(dep, store, hook) -> Service:
    config = NotifierConfig(channels=[Channel(id="hook", kind="webhook", options={"url": hook.url})], recipients={"*": ["hook"]})
    return Service(dep, store, as_of=AS_OF, notifier_config=config, ledger=Ledger(ledger_path(dep.settings)), port=0)


def metric_leaders(scrape: bytes) -> dict[str, str]:
    """unit → the leader label of its status series on /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    return {s.labels["unit"]: s.labels["leader"] for family in text_string_to_metric_families(scrape.decode())
            if family.name == "targetwatch_verdict_status" for s in family.samples}


def test_the_digest_the_reminder_the_alertmanager_route_and_the_metrics_label_name_the_same_people(owned, store, receiver, tmp_path):
    svc = service(owned, store, receiver)
    cycle = svc.evaluate_and_notify()
    verdicts = rules.evaluate(owned, store, as_of=AS_OF).set_index("unit")
    assert verdicts["status"].to_dict() == {"daxiang": "behind", "shuangqing": "late"}
    # The chain, role by role: the rule's leader, the indicator's contacts, the unit's lead department.
    assert verdicts.loc["daxiang", "owners"] == {"leader": "wu_yi", "lead_department": ["daxiang_fgj"], "responsible": [], "contacts": ["liu_yifan"]}
    assert verdicts.loc["shuangqing", "owners"] == {"leader": "wu_yi", "lead_department": [], "responsible": [], "contacts": ["liu_yifan"]}
    assert (cycle.queued, cycle.reminders) == (1, 1)
    digests = [m for m in receiver.received if "leader" in m["data"]]
    reminders = [m for m in receiver.received if m["data"].get("kind") == "late_reminder"]
    assert [m["recipient"] for m in digests] == ["wu_yi"]
    assert [(m["recipient"], [(i["unit"], i["period"]) for i in m["data"]["items"]]) for m in reminders] == [("liu_yifan", [("shuangqing", "2025-09")])]
    assert metric_leaders(svc.scrape()) == {"daxiang": "wu_yi", "shuangqing": "wu_yi"}
    svc.ledger.close()
    # Alertmanager routes the verdict's labels to the same leader's receiver.
    amtool = require_binary("amtool")
    # (with via: alertmanager, the path on which Alertmanager routes leaders' alerts at all)
    path = export_alertmanager(owned, tmp_path / "am", svc.config.model_copy(update={"via": "alertmanager"}))
    for unit, (alert, severity) in {"daxiang": ("TargetBehind", "critical"), "shuangqing": ("TargetLate", "warning")}.items():
        routed = subprocess.run([amtool, "config", "routes", "test", f"--config.file={path}", f"alertname={alert}", f"unit={unit}",
                                 "leader=wu_yi", "period=2025-09", f"severity={severity}"], capture_output=True, text=True)
        assert routed.returncode == 0 and routed.stdout.strip() == "leader-wu_yi", routed.stdout + routed.stderr
    # The overridden leaders lead nothing: no route of their own.
    routes = {r["receiver"] for r in yaml.safe_load(path.read_text(encoding="utf-8"))["route"]["routes"]}
    assert "leader-wu_yi" in routes and not routes & {"leader-xia_danbo", "leader-liu_hailong"}


def test_an_edit_while_serving_changes_verdicts_titles_and_reminder_contacts_together(owned, store, receiver, deployment_dir):
    svc = service(owned, store, receiver)
    svc.evaluate_and_notify()
    rule_file = deployment_dir / "rules" / "retail.yaml"
    _replace(rule_file, "每月不低于100亿元", "每月不低于80亿元")
    _replace(rule_file, "floor: 100}", "floor: 80}")
    _replace(rule_file, "owners: {leader: wu_yi}", "owners: {leader: wu_yi, contacts: [chen_yaoxu]}")
    cycle = svc.evaluate_and_notify()
    scrape = svc.scrape().decode()
    assert 'title="社会消费品零售总额每月不低于80亿元"' in scrape and "不低于100亿元" not in scrape
    assert svc.state.verdicts.set_index("unit")["status"].to_dict() == {"daxiang": "on_track", "shuangqing": "late"}
    assert cycle.reminders == 1
    assert [m["recipient"] for m in receiver.received if m["data"].get("kind") == "late_reminder"] == ["liu_yifan", "chen_yaoxu"]
    svc.ledger.close()


def test_one_word_changed_in_the_vocabulary_changes_on_every_channel(owned, store, deployment_dir, monkeypatch, tmp_path):
    monkeypatch.setitem(WORDS, "late", StatusWords("迟交了", "迟交了句", "迟交了警", "purple", "warning"))
    # `run` (over the deployment's own store: the inbox has nothing of 2025-09, so both units are late):
    # the status column and the summary line of the briefing, and the verdict sentence of its JSON.
    result = CliRunner().invoke(app, ["run", "--config", str(deployment_dir), "--as-of", "2025-10-22"])
    rows = [line.split() for line in result.stdout.splitlines()]
    assert sum(1 for r in rows if r[:1] == ["迟交了"]) == 2 and "迟交了 2" in result.stdout, result.output
    as_json = json.loads(CliRunner().invoke(app, ["run", "--config", str(deployment_dir), "--as-of", "2025-10-22", "--format", "json"]).stdout)
    assert all("数据迟交了句（截止2025-10-21）" in v["message"] for leader in as_json["leaders"] for v in leader["verdicts"])
    # A digest.
    verdicts = rules.evaluate(owned, store, as_of=AS_OF)
    digest = build_digest(owned, "wu_yi", "2025-09", verdicts)
    assert "【迟交了】" in digest.text and "迟交了1项" in digest.text
    # The Prometheus rules' annotations, and the Alertmanager templates that word e-mail and WeCom bodies.
    late_rule = next(r for g in prometheus_rules()["groups"] for r in g["rules"] if r.get("alert") == "TargetLate")
    assert late_rule["annotations"]["summary"].endswith("迟交了警")
    assert 'if eq .Labels.status "late" }}- 【迟交了】' in notification_templates()
    # The bulletin command's summary line (both units late in the deployment's own store, as for `run`).
    out = tmp_path / "bulletin.html"
    made = CliRunner().invoke(app, ["bulletin", "--config", str(deployment_dir), "--as-of", "2025-10-22", "--period", "2025-09",
                                    "--format", "html", "--out", str(out)])
    assert made.exit_code == 0 and "2 项迟交了" in made.stderr and "逾期未报" not in made.stderr, made.output
    # The dashboards: the traffic-light mapping and the stat panel of the status.
    text = json.dumps(dashboards(owned), ensure_ascii=False)
    assert '"text": "迟交了"' in text and '"title": "迟交了"' in text and '"fixedColor": "purple"' in text


def test_the_all_clear_line_of_a_digest_and_of_the_alertmanager_templates_says_the_on_track_word(owned, store, monkeypatch):
    # A leader whose verdicts all caught up reads "已全部<on_track>" in the built-in digest and in Alertmanager's
    # e-mail and WeCom bodies alike, in the vocabulary's word.
    monkeypatch.setitem(WORDS, "on_track", StatusWords("完成了", "完成了", "完成了目标", "green", "none"))
    verdicts = rules.evaluate(owned, store, as_of=AS_OF)
    caught_up = verdicts.assign(status="on_track")
    digest = build_digest(owned, "wu_yi", "2025-09", caught_up.iloc[0:0], recovered=caught_up)
    assert "您牵头的目标已全部完成了或无需预警。" in digest.text and "达标" not in digest.text
    templates = notification_templates()
    assert templates.count("您牵头的目标已全部完成了或无需预警。") == 2 and "达标" not in templates


BROKEN = """apiVersion: targetwatch/v1
kind: Rule
metadata: {id: broken_rule, title: 写错了指标的规则, version: 1}
spec:
  indicator: no_such_indicator
  units: [daxiang]
  target: {kind: threshold, op: ">=", floor: 1}
"""


def test_a_broken_rule_file_is_left_out_and_reported_located_while_run_and_serve_evaluate_the_rest(owned, store, deployment_dir, caplog):
    broken = deployment_dir / "rules" / "broken.yaml"
    broken.write_text(BROKEN, encoding="utf-8")
    where = f"{broken}:5:"
    result = CliRunner().invoke(app, ["run", "--config", str(deployment_dir), "--as-of", "2025-10-22"])
    assert result.exit_code == 1, result.output  # bad input, as for quarantined rows; not 2 (the deployment is usable)
    assert "2 项目标判定" in result.stdout and where in result.stderr and "unknown indicator 'no_such_indicator'" in result.stderr
    # serve: one cycle evaluates the good rule, logs the located error, and counts the file on /metrics.
    with caplog.at_level("WARNING", logger="targetwatch.serve"):
        svc = Service(owned, store, as_of=AS_OF, notifier_config=NotifierConfig(), ledger=Ledger(ledger_path(owned.settings)), port=0)
        verdicts, _ = svc.evaluate()
    svc.ledger.close()
    assert set(verdicts["rule"]) == {"retail_total"}
    assert any(where in r.getMessage() for r in caplog.records)
    assert "targetwatch_rule_files_invalid 1.0" in svc.scrape().decode()
    once = CliRunner().invoke(app, ["serve", "--once", "--config", str(deployment_dir), "--as-of", "2025-10-22"])
    assert once.exit_code == 0 and 'rule="retail_total"' in once.stdout and where in once.stderr, once.output


def test_notifier_settings_and_collector_mappings_are_loaded_each_cycle_and_a_broken_edit_keeps_the_last_good(owned, store, deployment_dir,
                                                                                                                 receiver, caplog):
    notifiers = deployment_dir / "notifiers.yaml"
    notifiers.write_text(f"channels:\n  - {{id: hook, kind: webhook, options: {{url: '{receiver.url}'}}}}\nrecipients: {{'*': [hook]}}\n",
                         encoding="utf-8")
    svc = Service(owned, store, as_of=AS_OF, ledger=Ledger(ledger_path(owned.settings)), port=0)
    seen = []
    svc.config_listeners.append(lambda config: seen.append(sorted(c.metadata.name for c in config.collectors)))
    svc.evaluate_and_notify()
    assert [m["recipient"] for m in receiver.received if "leader" in m["data"]] == ["wu_yi"]
    _replace(notifiers, "recipients: {'*': [hook]}", "recipients: {'*': [hook], liu_yifan: []}")
    (deployment_dir / "collectors" / "long-csv.yaml").unlink()
    svc.evaluate_and_notify()
    assert svc.config.recipients["liu_yifan"] == [] and seen[-1] == ["hunan-province", "shaoyang-gdp", "shaoyang-monthly", "xidongting"]
    notifiers.write_text("channels: [oops\n", encoding="utf-8")
    with caplog.at_level("WARNING", logger="targetwatch.serve"):
        svc.evaluate_and_notify()
    assert svc.config.recipients["liu_yifan"] == [] and any("notifiers.yaml has an error" in r.getMessage() for r in caplog.records)
    svc.ledger.close()


def test_the_first_cycle_loads_the_configuration_once(owned, store, deployment_dir, caplog):
    # Starting the service reads the configuration; its first cycle uses that reading instead of parsing the
    # rules again, so a broken file is reported once per cycle, also on the first.
    (deployment_dir / "rules" / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    with caplog.at_level("WARNING", logger="targetwatch.serve"):
        svc = Service(owned, store, as_of=AS_OF, notifier_config=NotifierConfig(), ledger=Ledger(ledger_path(owned.settings)), port=0)
        svc.evaluate()
        first = [r.getMessage() for r in caplog.records if "rule file left out" in r.getMessage()]
        svc.evaluate()
        second = [r.getMessage() for r in caplog.records if "rule file left out" in r.getMessage()]
    svc.ledger.close()
    assert len(first) == 1 and len(second) == 2, (first, second)


DATA_CHECK = """apiVersion: targetwatch/v1
kind: Rule
metadata: {id: retail_counties_add_up, title: 社会消费品零售总额：区县合计不超过全市, version: 1}
spec:
  indicator: retail_sales
  units: [shaoyang]
  target: {kind: consistency, children: [daxiang, shuangqing], partial: true}
  owners: {leader: wu_yi}
"""


def test_a_data_quality_verdict_names_the_same_contact_on_every_channel(owned, store, receiver, deployment_dir, tmp_path):
    # 邵阳市 reports 100 while 大祥区 and 双清区 report 90 and 20: the city's figure cannot hold its parts. The check's
    # owner chain names the leader 伍毅 (the rule) and the contact 刘一凡 (the indicator): the contact hears of it on
    # every channel (rules.owners.recipients), the leader on none.
    from exporters.bulletin.model import build as build_bulletin
    from exporters.push import AlertmanagerPusher

    (deployment_dir / "rules" / "data.yaml").write_text(DATA_CHECK, encoding="utf-8")
    dep = load_deployment(deployment_dir)
    csv = tmp_path / "more.csv"
    csv.write_text("unit,indicator,period,value\n双清区,retail_sales,2025-09,20\n邵阳市,retail_sales,2025-09,100\n", encoding="utf-8")
    assert ingest_file(dep, store, csv, collectors=[], reported_at=at(2025, 10, 9, 12)).ok
    svc = service(dep, store, receiver)
    svc.evaluate_and_notify()
    check = svc.state.verdicts.set_index("rule").loc["retail_counties_add_up"]
    assert (check["status"], check["tier"], check["owners"]["leader"]) == ("behind", "data", "wu_yi")
    # the digest: the contact's, in its data section; the leader's digest has no data section
    digests = {m["recipient"]: m for m in receiver.received if "leader" in m["data"]}
    assert set(digests) == {"wu_yi", "liu_yifan"}
    assert [(i["rule"], i.get("section")) for i in digests["liu_yifan"]["data"]["items"]] == [("retail_counties_add_up", "data")]
    assert all(i["rule"] == "retail_total" for i in digests["wu_yi"]["data"]["items"])
    # the ledger records the decision under the contact
    decisions = svc.ledger.notifications()
    assert set(decisions.loc[decisions["rule"] == "retail_counties_add_up", "leader"]) == {"liu_yifan"}
    # /metrics: the routing label of the check is the contact's
    assert metric_leaders(svc.scrape())["shaoyang"] == "liu_yifan"
    svc.ledger.close()
    # the alert pushed to Alertmanager, and the route Alertmanager gives it (with via: alertmanager)
    alerts = AlertmanagerPusher("http://127.0.0.1:9", dep).alerts(svc.state.verdicts)
    (alert,) = [a for a in alerts.values() if a["labels"]["rule"] == "retail_counties_add_up"]
    assert alert["labels"]["leader"] == "liu_yifan" and alert["labels"]["alertname"] == "TargetDataInconsistent"
    amtool = require_binary("amtool")
    path = export_alertmanager(dep, tmp_path / "am", svc.config.model_copy(update={"via": "alertmanager"}))
    routed = subprocess.run([amtool, "config", "routes", "test", f"--config.file={path}",
                             *[f"{k}={v}" for k, v in alert["labels"].items()]], capture_output=True, text=True)
    assert routed.returncode == 0 and routed.stdout.strip() == "leader-liu_yifan", routed.stdout + routed.stderr
    # the bulletin: a data check of its own naming the contact, not a missed 确保 target
    bulletin = build_bulletin(dep, store, period="2025-09", as_of=AS_OF)
    assert bulletin.data_checks[["rule", "contact", "contact_name"]].values.tolist() == [["retail_counties_add_up", "liu_yifan", "刘一凡"]]
    assert "retail_counties_add_up" not in set(bulletin.behind["rule"])
    from exporters.bulletin.html import render_html
    from exporters.bulletin.xlsx import render_xlsx

    page = render_html(bulletin)
    assert "八、数据核对" in page and page.index("刘一凡") > page.index("八、数据核对")
    assert render_xlsx(bulletin)[:2] == b"PK"
