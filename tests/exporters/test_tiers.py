"""A missed 力争-only target (tier stretch) reads and alerts as such on every channel: the digest's heading,
the tier label on /metrics (absent for a 确保 floor), and the alert pushed to Alertmanager."""

from __future__ import annotations

import pandas as pd
from prometheus_client import CollectorRegistry, generate_latest

from exporters.collector import ExporterState, TargetwatchCollector
from exporters.digest import build_digest
from exporters.exposition import render
from exporters.push import AlertmanagerPusher
from rules.vocabulary import TIERS
from tests.exporters.verdict_fixtures import good_verdict, verdict_frame

STRETCH = good_verdict(rule="xy_trade_growth", unit="beita", tier="stretch", severity="warning", rule_title="力争外贸进出口增长10%以上",
                       message=f"北塔区2023年6月外贸进出口同比增速为8%，目标不低于10%，差2个百分点，{TIERS['stretch'].missed}。")


def _frame() -> pd.DataFrame:
    return verdict_frame(good_verdict(), STRETCH)


def test_the_digest_heads_a_missed_stretch_with_its_own_words(deployment):
    digest = build_digest(deployment, "wu_yi", "2023-06", _frame())
    assert "1. 【落后】规模工业增加值增速增长7%以上（大祥区）" in digest.text
    assert f"【{TIERS['stretch'].missed}】力争外贸进出口增长10%以上（北塔区）" in digest.text


def test_only_a_stretch_verdict_carries_a_tier_label_and_both_renderings_agree():
    collector = TargetwatchCollector(ExporterState(verdicts=_frame()))
    text = render(collector).decode()
    lines = [line for line in text.splitlines() if line.startswith("targetwatch_verdict_value{")]
    assert len(lines) == 2
    assert [('tier="stretch"' in line) for line in lines] == [False, True]
    assert 'severity="warning",tier="stretch",unit="beita"' in lines[1]
    registry = CollectorRegistry()
    registry.register(collector)
    assert render(collector) == generate_latest(registry)


def test_the_pushed_alert_of_a_missed_stretch_is_its_own(deployment):
    alerts = AlertmanagerPusher("http://127.0.0.1:9", deployment).alerts(_frame())
    by_unit = {a["labels"]["unit"]: a for a in alerts.values()}
    assert by_unit["daxiang"]["labels"]["alertname"] == "TargetBehind" and "tier" not in by_unit["daxiang"]["labels"]
    stretch = by_unit["beita"]
    assert stretch["labels"]["alertname"] == "TargetStretchMissed"
    assert stretch["labels"]["tier"] == "stretch" and stretch["labels"]["severity"] == "warning"
    assert stretch["annotations"]["summary"].endswith(f"2023-06{TIERS['stretch'].missed}")


def test_a_data_quality_verdict_has_its_own_alert_routed_to_its_contact_not_the_leader(deployment):
    data = good_verdict(rule="xdt_jobs_add_up", tier="data", severity="warning", leader=None, audience="contacts",
                        rule_title="城镇新增就业街道合计与全区一致", message=f"……，{TIERS['data'].missed}。")
    alerts = AlertmanagerPusher("http://127.0.0.1:9", deployment).alerts(verdict_frame(data))
    (alert,) = alerts.values()
    # the routing label names the contact (联络人) of the owner chain, never the leader wu_yi
    assert alert["labels"]["alertname"] == "TargetDataInconsistent" and alert["labels"]["leader"] == "xia_debao"
    assert alert["annotations"]["summary"].endswith(TIERS["data"].missed)


def test_data_quality_verdicts_go_to_the_first_contact_in_a_data_section(deployment):
    from exporters.notify import with_recipients  # reads rules.owners.recipients

    data = good_verdict(rule="xdt_jobs_add_up", unit="beita", tier="data", severity="warning", leader=None, audience="contacts",
                        rule_title="城镇新增就业街道合计与全区一致", message=f"北塔区……相差20人，{TIERS['data'].missed}。")
    frame = with_recipients(verdict_frame(good_verdict(), data))
    assert frame["recipient"].tolist() == ["wu_yi", "xia_debao"]  # the leader; the contact of the data check
    digest = build_digest(deployment, "xia_debao", "2023-06", frame[frame["recipient"] == "xia_debao"])
    assert "您报送的数据有1项核对不一致" in digest.text
    assert f"数据核对（{TIERS['data'].missed}，请核实后更正重报）：\n1. 城镇新增就业街道合计与全区一致（北塔区）" in digest.text
    assert digest.data["items"][0]["section"] == "data"
    leader = build_digest(deployment, "wu_yi", "2023-06", frame[frame["recipient"] == "wu_yi"])
    assert "数据核对" not in leader.text
