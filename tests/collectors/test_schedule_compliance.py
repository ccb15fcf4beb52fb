"""Late reports and the reminders their contacts (联络人) get, around the 2025 National Day holiday."""

from __future__ import annotations

import json
from datetime import date

import pytest

from collectors.compliance import judged_period, late_reports, reminders
from collectors.ingest import ingest_file
from targetwatch.deployment import load_deployment
from tests.collectors.schedule_helpers import at

ROWS = """unit,indicator,period,value
大祥区,retail_sales,2025-07,70
双清区,retail_sales,2025-07,60
北塔区,retail_sales,2025-07,30
大祥区,retail_sales,2025-08,80
双清区,retail_sales,2025-08,65
北塔区,retail_sales,2025-08,35
大祥区,retail_sales,2025-09,90
"""


@pytest.fixture
def reported(deployment_dir, store, tmp_path):
    units = deployment_dir / "registry" / "units.yaml"
    text = units.read_text(encoding="utf-8")
    anchor = "aliases: [双清]}"
    assert anchor in text
    units.write_text(text.replace(anchor, "aliases: [双清], owners: {contacts: [liu_yifan, xia_debao]}}", 1), encoding="utf-8")
    dep = load_deployment(deployment_dir)
    csv = tmp_path / "retail.csv"
    csv.write_text(ROWS, encoding="utf-8")
    assert ingest_file(dep, store, csv, collectors=[], reported_at=at(2025, 10, 9, 12)).ok
    return dep


def test_the_judged_period_is_the_latest_one_ended(reported):
    assert [str(p) for p in judged_period("monthly", True, date(2025, 3, 1), 2)] == ["2024-11", "2024-12", "2025-01/02"]
    assert [str(p) for p in judged_period("quarterly", False, date(2025, 10, 9), 1)] == ["2025-Q2", "2025-Q3"]


def test_before_the_working_day_deadline_a_missing_report_is_no_data(reported, store):
    # retail_sales is due 10 working days after 30 Sep 2025: 9, 10, 11 (调休 Saturday), 13–17, 20, 21 Oct.
    late = late_reports(reported, store, as_of=at(2025, 10, 21, 20))
    mine = late[late.indicator == "retail_sales"]
    assert mine[["unit", "period", "deadline", "status"]].values.tolist() == [
        ["beita", 20250909, date(2025, 10, 21), "no_data"], ["shuangqing", 20250909, date(2025, 10, 21), "no_data"]]
    assert reminders(reported, late, at(2025, 10, 21, 20)) == []


def test_after_the_deadline_the_contacts_get_a_reminder_not_the_leaders_digest(reported, store):
    now = at(2025, 10, 22, 9)
    late = late_reports(reported, store, as_of=now)
    mine = late[late.indicator == "retail_sales"]
    assert mine[["unit", "status", "contacts"]].values.tolist() == [
        ["beita", "late", []], ["shuangqing", "late", ["liu_yifan", "xia_debao"]]]
    sent = reminders(reported, mine, now)
    assert [(r.person, r.name, r.mobile) for r in sent] == [("liu_yifan", "刘一凡", "13800000301"), ("xia_debao", "夏得宝", "13800000302")]
    assert sent[0].subject == "【数据报送提醒】1项数据逾期未报"
    assert sent[0].text == (
        "刘一凡同志：截至2025年10月22日，以下数据已过报送期限仍未报送，请尽快组织报送：\n"
        "1. 双清区：社会消费品零售总额（2025年9月），报送截止 2025年10月21日\n"
        "（本提醒由 targetwatch 自动发送，报送后不再提醒。）")

    assert sent[0].items == [{"indicator": "retail_sales", "unit": "shuangqing", "period": "2025-09", "period_label": "2025年9月",
                              "deadline": "2025-10-21", "status": "late"}]
    assert sent[0].key == "liu_yifan:retail_sales/shuangqing/2025-09" and sent[0].period == "2025-09"
    json.dumps(sent[0].items)  # ready for an outbox message
