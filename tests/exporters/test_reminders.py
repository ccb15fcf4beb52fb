"""Late-report reminders to the contacts (联络人) through the service's outbox, beside the leaders' digests.

Real SQLite store and ledger, real local webhook receivers. A rule watches the monthly reports of
retail_sales from 大祥区 and 双清区. retail_sales of 2025-09 is due on 21 Oct 2025 (10 Chinese working
days after the period, National Day holiday and 调休 counted), so on 22 Oct 双清区, which sent July and
August but not September, is late; the rule and the indicator name no contacts, so the unit's own
contacts, 刘一凡 and 夏得宝, are reminded (the owner chain's last level). The reminders act on the
cycle's verdicts: the leaders' fixed verdicts plus the rule's real ones.
"""

from __future__ import annotations

import json
import threading
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

import rules

from collectors.ingest import ingest_file
from exporters.channels import Channel, NotifierConfig, Retry
from exporters.ledger import Ledger, ledger_path
from exporters.reminders import late_items, reminders
from exporters.service import Service
from targetwatch.cli import app
from targetwatch.deployment import load_deployment
from tests.collectors.schedule_helpers import at
from tests.conftest import free_port
from tests.exporters.receivers import Receiver
from tests.exporters.test_notifiers import smtp_server  # noqa: F401  (aiosmtpd with STARTTLS and AUTH)

ROWS = """unit,indicator,period,value
大祥区,retail_sales,2025-07,70
双清区,retail_sales,2025-07,60
大祥区,retail_sales,2025-08,80
双清区,retail_sales,2025-08,65
大祥区,retail_sales,2025-09,90
"""
TEXT = ("刘一凡同志：截至2025年10月22日，以下数据已过报送期限仍未报送，请尽快组织报送：\n"
        "1. 双清区：社会消费品零售总额（2025年9月），报送截止 2025年10月21日\n"
        "（本提醒由 targetwatch 自动发送，报送后不再提醒。）")


class Clock:
    """The ledger's clock, so that the outbox's backoff can be stepped through without sleeping."""

    def __init__(self, now: float = 1_760_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def receivers():
    contacts, leaders = Receiver("webhook", free_port()).start(), Receiver("webhook", free_port()).start()
    yield contacts, leaders
    contacts.stop()
    leaders.stop()


@pytest.fixture
def reported(deployment_dir, store, tmp_path):
    units = deployment_dir / "registry" / "units.yaml"
    text = units.read_text(encoding="utf-8")
    for anchor, contacts in (("aliases: [双清]}", "liu_yifan, xia_debao"), ("aliases: [大祥]}", "liu_weiyun")):
        assert anchor in text
        text = text.replace(anchor, anchor[:-1] + f", owners: {{contacts: [{contacts}]}}}}", 1)
    units.write_text(text, encoding="utf-8")
    (deployment_dir / "rules" / "retail_reporting.yaml").write_text(REPORTING_RULE, encoding="utf-8")
    dep = load_deployment(deployment_dir)
    ingest(dep, store, tmp_path, "retail.csv", ROWS, at(2025, 10, 9, 12))
    return dep


REPORTING_RULE = """apiVersion: targetwatch/v1
kind: Rule
metadata: {id: retail_reported, title: 社会消费品零售总额按月报送, version: 1}
spec:
  indicator: retail_sales
  units: [daxiang, shuangqing]
  target: {kind: threshold, op: ">=", floor: 0}
"""


def with_late_reports(leader_verdicts):
    """The leaders' fixed verdicts and the real verdicts of the reporting rule, as one cycle's evaluation."""
    def evaluate(deployment, store, *, as_of=None, period=None):
        return pd.concat([leader_verdicts, rules.evaluate(deployment, store, as_of=as_of, rules=["retail_reported"])], ignore_index=True)
    return evaluate


def ingest(dep, store, folder, name, rows, when):
    path = folder / name
    path.write_text(rows, encoding="utf-8")
    assert ingest_file(dep, store, path, collectors=[], reported_at=when).ok


def service(dep, store, receivers, verdicts, as_of, clock=None, contacts_channel=True, **loop):
    """The service with fixed leader verdicts (``verdicts``: wu_yi behind, xia_danbo at risk) over the real store."""
    contacts, leaders = receivers
    channels = [Channel(id="leaders_hook", kind="webhook", options={"url": leaders.url}),
                Channel(id="contacts_hook", kind="webhook", options={"url": contacts.url})]
    mine = ["contacts_hook"] if contacts_channel else []
    config = NotifierConfig(channels=channels, recipients={"liu_yifan": mine, "xia_debao": mine, "liu_weiyun": mine, "*": ["leaders_hook"]},
                            retry=Retry(base_seconds=30, max_seconds=600))
    ledger = Ledger(ledger_path(dep.settings), clock=clock or Clock())
    return Service(dep, store, evaluate=with_late_reports(verdicts), as_of=as_of, notifier_config=config, ledger=ledger, port=0, **loop)


def reminders_of(receiver):
    return [m for m in receiver.received if m["data"].get("kind") == "late_reminder"]


def test_each_late_contact_is_reminded_once_across_cycles_and_restarts(reported, store, receivers, verdicts):
    contacts, leaders = receivers
    first = service(reported, store, receivers, verdicts, at(2025, 10, 22, 9))
    cycle = first.evaluate_and_notify()
    assert (cycle.queued, cycle.reminders, cycle.delivery.sent) == (2, 2, 4)
    assert [(m["recipient"], m["recipient_name"], m["subject"]) for m in contacts.received] == [
        ("liu_yifan", "刘一凡", "【数据报送提醒】1项数据逾期未报"), ("xia_debao", "夏得宝", "【数据报送提醒】1项数据逾期未报")]
    liu = contacts.received[0]
    assert liu["text"] == "【数据报送提醒】1项数据逾期未报\n\n" + TEXT
    assert liu["markdown"] == "**【数据报送提醒】1项数据逾期未报**\n\n" + TEXT
    assert liu["data"] == {"kind": "late_reminder", "key": "liu_yifan:retail_sales/shuangqing/2025-09", "person": "liu_yifan",
                           "period": "2025-09", "as_of": "2025-10-22",
                           "items": [{"indicator": "retail_sales", "unit": "shuangqing", "period": "2025-09", "period_label": "2025年9月",
                                      "deadline": "2025-10-21", "status": "late"}]}
    # The leaders' digests are what they were, and no reminder reaches the leaders' channel.
    assert sorted(m["subject"] for m in leaders.received) == ["目标预警｜2023-06｜伍毅同志分管事项", "目标预警｜2023-06｜夏丹波同志分管事项"]
    assert reminders_of(leaders) == [] and all("leader" in m["data"] for m in leaders.received)

    again = first.evaluate_and_notify()
    assert (again.queued, again.reminders, again.delivery.sent) == (0, 0, 0)
    first.ledger.close()
    restarted = service(reported, store, receivers, verdicts, at(2025, 10, 23, 9))
    after = restarted.evaluate_and_notify()
    assert (after.queued, after.reminders, after.delivery.sent) == (0, 0, 0)
    assert len(contacts.received) == 2 and len(leaders.received) == 2
    restarted.ledger.close()


def test_a_unit_that_reports_is_not_reminded_again_while_one_still_late_is(reported, store, receivers, verdicts, tmp_path):
    contacts, _ = receivers
    october = service(reported, store, receivers, verdicts, at(2025, 10, 22, 9))
    assert october.evaluate_and_notify().reminders == 2
    october.ledger.close()
    # 双清区 sends September late and October on time; 大祥区 (contact 刘伟云) does not send October.
    ingest(reported, store, tmp_path, "late.csv", "unit,indicator,period,value\n双清区,retail_sales,2025-09,70\n", at(2025, 10, 24, 10))
    ingest(reported, store, tmp_path, "oct.csv", "unit,indicator,period,value\n双清区,retail_sales,2025-10,72\n", at(2025, 11, 10, 10))
    november = service(reported, store, receivers, verdicts, at(2025, 11, 20, 9))
    assert november.evaluate_and_notify().reminders == 1
    assert november.evaluate_and_notify().reminders == 0
    november.ledger.close()
    assert [m["recipient"] for m in contacts.received] == ["liu_yifan", "xia_debao", "liu_weiyun"]
    assert [(i["unit"], i["period"]) for i in contacts.received[2]["data"]["items"]] == [("daxiang", "2025-10")]


def test_a_reminder_refused_by_the_receiver_is_retried_and_delivered_exactly_once(reported, store, receivers, verdicts):
    contacts, _ = receivers
    clock = Clock()
    svc = service(reported, store, receivers, verdicts, at(2025, 10, 22, 9), clock)
    contacts.fail_next = 2  # both reminders are refused once (HTTP 500)
    cycle = svc.evaluate_and_notify()
    assert (cycle.reminders, cycle.delivery.sent, cycle.delivery.failed) == (2, 2, 2)
    assert contacts.received == []
    assert svc.evaluate_and_notify().delivery.sent == 0  # not due yet, and nothing queued again
    clock.now += 30
    retry = svc.evaluate_and_notify()
    assert (retry.reminders, retry.delivery.sent) == (0, 2)
    assert [m["recipient"] for m in contacts.received] == ["liu_yifan", "xia_debao"]
    outbox = svc.ledger.outbox()
    reminders = outbox[outbox["channel"] == "contacts_hook"]
    assert reminders[["recipient", "result", "failures"]].values.tolist() == [["liu_yifan", "sent", 1], ["xia_debao", "sent", 1]]
    svc.ledger.close()


def test_notifications_lists_reminders_apart_from_digests(reported, deployment_dir, store, receivers, verdicts):
    svc = service(reported, store, receivers, verdicts, at(2025, 10, 22, 9))
    svc.evaluate_and_notify()
    svc.ledger.close()
    result = CliRunner().invoke(app, ["notifications", "--config", str(deployment_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    # The late verdict itself has no leader (the reporting rule names none): its decision says nobody is notified.
    assert sorted(r["kind"] for r in rows) == ["digest", "digest", "digest", "late_reminder", "late_reminder"]
    assert [r["note"] for r in rows if r["kind"] == "digest" and r["leader"] is None] == ["no leader owns this verdict: nobody to notify"]
    reminded = [{k: r[k] for k in ("leader", "rule", "unit", "indicator", "period", "new_status", "channel", "recipient", "result", "note")}
                for r in rows if r["kind"] == "late_reminder"]
    assert reminded == [
        {"leader": p, "rule": "", "unit": "shuangqing", "indicator": "retail_sales", "period": "2025-09", "new_status": "late",
         "channel": "contacts_hook", "recipient": p, "result": "sent", "note": None} for p in ("liu_yifan", "xia_debao")]
    assert {r["leader"] for r in rows if r["kind"] == "digest" and r["leader"]} == {"wu_yi", "xia_danbo"}


def test_a_contact_without_a_channel_is_recorded_once_not_dropped(reported, store, receivers, verdicts):
    contacts, _ = receivers
    svc = service(reported, store, receivers, verdicts, at(2025, 10, 22, 9), contacts_channel=False)
    assert svc.evaluate_and_notify().reminders == 0
    assert svc.evaluate_and_notify().reminders == 0
    rows = svc.ledger.notifications()
    noted = rows[rows["kind"] == "late_reminder"]
    assert noted[["leader", "unit", "note"]].values.tolist() == [
        ["liu_yifan", "shuangqing", "no channel configured for this contact in notifiers.yaml"],
        ["xia_debao", "shuangqing", "no channel configured for this contact in notifiers.yaml"]]
    assert noted["message"].isna().all() and svc.ledger.outbox()["channel"].tolist() == ["leaders_hook", "leaders_hook"]
    assert contacts.received == []
    svc.ledger.close()


def test_a_ledger_written_before_reminders_gains_the_kind_and_keeps_its_digests(tmp_path):
    import sqlite3

    path = tmp_path / "notify.db"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE decision (id INTEGER PRIMARY KEY, decided_at REAL NOT NULL, rule TEXT NOT NULL, unit TEXT NOT NULL, "
        "indicator TEXT NOT NULL, period TEXT NOT NULL, old_status TEXT, new_status TEXT NOT NULL, value REAL, target REAL, "
        "gap REAL, leader TEXT, outbox_id INTEGER, note TEXT);"
        "INSERT INTO decision(decided_at, rule, unit, indicator, period, new_status, leader) "
        "VALUES (1700000000, 'r', 'daxiang', 'i', '2023-06', 'behind', 'wu_yi');")
    con.commit()
    con.close()
    ledger = Ledger(path)
    assert ledger.notifications()[["rule", "leader", "kind"]].values.tolist() == [["r", "wu_yi", "digest"]]
    assert ledger.reminded().empty
    ledger.close()


def test_a_contact_reached_by_email_gets_the_reminder_at_their_registry_address(reported, store, verdicts, smtp_server,
                                                                                  monkeypatch, caplog):
    port, ca, mails = smtp_server
    monkeypatch.setenv("TARGETWATCH_SMTP_PASSWORD", "pw-s3cret")
    mail = Channel(id="contacts_mail", kind="email", options={"host": "127.0.0.1", "port": port, "ca_file": ca, "username": "targetwatch"})
    config = NotifierConfig(channels=[mail], recipients={"liu_yifan": ["contacts_mail"]})
    svc = Service(reported, store, evaluate=with_late_reports(verdicts.iloc[0:0]), as_of=at(2025, 10, 22, 9), notifier_config=config,
                  ledger=Ledger(ledger_path(reported.settings)), port=0)
    with caplog.at_level("DEBUG"):
        cycle = svc.evaluate_and_notify()
    assert (cycle.reminders, cycle.delivery.sent) == (1, 1)  # xia_debao has no channel: recorded, not sent
    [(to, message)] = mails
    assert to == ["liu_yifan@example.gov.cn"] and message["Subject"] == "【数据报送提醒】1项数据逾期未报"
    key = svc.ledger.outbox().iloc[0]["idempotency_key"]
    assert message.get_content().rstrip("\n") == "【数据报送提醒】1项数据逾期未报\n\n" + TEXT + f"\n\n消息编号：{key}-1"
    assert message["Message-ID"] == f"<{key}-1@targetwatch>"
    assert "pw-s3cret" not in svc.ledger.notifications().to_csv() + svc.ledger.outbox().to_csv() + caplog.text
    svc.ledger.close()


def test_the_serve_loop_reminds_with_a_store_opened_per_cycle(reported, store, receivers, verdicts, tmp_path):
    from targetwatch.store.sqlite import SQLiteStore

    contacts, leaders = receivers
    # A store factory, as `targetwatch serve` uses: each cycle opens the store in the loop's thread.
    svc = service(reported, lambda: SQLiteStore(tmp_path / "test.db"), receivers, verdicts, at(2025, 10, 22, 9),
                  interval=0.05, retry_tick=0.02)
    loop = threading.Thread(target=svc.run)
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while len(contacts.received) < 2 or len(leaders.received) < 2:
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.02)
        time.sleep(0.3)  # several more cycles
    finally:
        svc.stop()
        loop.join(timeout=10)
    assert not loop.is_alive()
    assert [m["recipient"] for m in contacts.received] == ["liu_yifan", "xia_debao"] and len(leaders.received) == 2


def test_a_late_report_is_reminded_to_the_contact_the_rule_names_when_the_registry_names_none(deployment, store):
    # seed 003: 规模工业增加值 of 大祥区 — 联络人 夏得宝; 社会消费品零售总额 — 陈尧栩. Nothing reported: late after the deadline.
    late = rules.evaluate(deployment, store, as_of="2023-08-31", rules=["dx_industrial_va_top7_no_ties", "dx_retail_sales_above_city"])
    items = late_items(late)
    assert items[["person", "indicator", "unit", "period"]].values.tolist() == [
        ["chen_yaoxu", "retail_sales_growth", "daxiang", "2023-06"], ["xia_debao", "industrial_va_growth", "daxiang", "2023-06"]]


def test_before_the_working_day_deadline_a_missing_report_is_no_data_and_nobody_is_reminded(reported, store):
    # retail_sales is due 10 working days after 30 Sep 2025: 9, 10, 11 (调休 Saturday), 13–17, 20, 21 Oct.
    before = rules.evaluate(reported, store, as_of=at(2025, 10, 21, 20), rules=["retail_reported"]).set_index("unit")
    assert before.loc["shuangqing", ["period", "deadline", "status"]].tolist() == ["2025-09", "2025-10-21", "no_data"]
    assert late_items(before.reset_index()).empty
    after = rules.evaluate(reported, store, as_of=at(2025, 10, 22, 9), rules=["retail_reported"])
    assert after.set_index("unit").loc["shuangqing", "status"] == "late"
    sent = reminders(reported, late_items(after), at(2025, 10, 22, 9))
    assert [(r.person, r.name, r.mobile) for r in sent] == [("liu_yifan", "刘一凡", "13800000301"), ("xia_debao", "夏得宝", "13800000302")]
    assert sent[0].subject == "【数据报送提醒】1项数据逾期未报" and sent[0].text == TEXT
    assert sent[0].items == [{"indicator": "retail_sales", "unit": "shuangqing", "period": "2025-09", "period_label": "2025年9月",
                              "deadline": "2025-10-21", "status": "late"}]
    assert sent[0].key == "liu_yifan:retail_sales/shuangqing/2025-09" and sent[0].period == "2025-09"
    json.dumps(sent[0].items)  # ready for an outbox message
