"""Target semantics that follow the documents (issue 11): 进位 against the right period, ranks at full
precision, bottom-N with silent units, 力争 vs 确保, and amounts within a window."""

from __future__ import annotations

import pandas as pd
import pytest

import rules
from conftest import ingest, rule_doc as _rule, write_rules
from rules.vocabulary import TIERS, WORDS

COUNTIES = ("shuangqing", "daxiang", "beita", "shaodong", "wugang")


def _rows(values: dict, period: str, ind: str = "iva_growth", basis: str = "ytd"):
    return [(ind, u, period, v, basis) for u, v in values.items()]


def _by_unit(frame, rule):
    return frame[frame["rule"] == rule].set_index("unit")


# ---- 进位: the previous period of the rule's own frequency, or the same period last year --------------


YEARLY_IMPROVE = "  indicator: iva_growth\n  group: shaoyang_counties\n  period: {frequency: yearly}\n  target: {kind: rank, improve: true}"
# 大祥区: 4th in December 2022, 1st in November 2023, 2nd in December 2023.
DEC_2022 = {"shuangqing": 9.0, "beita": 8.0, "shaodong": 7.0, "daxiang": 6.0, "wugang": 5.0}
NOV_2023 = {"daxiang": 9.0, "shuangqing": 8.0, "beita": 7.0, "shaodong": 6.0, "wugang": 5.0}
DEC_2023 = {"shuangqing": 9.5, "daxiang": 9.0, "beita": 7.0, "shaodong": 6.0, "wugang": 5.0}


def test_a_yearly_improve_rule_on_monthly_cumulative_data_compares_with_december_of_the_year_before(mini, dep, store):
    write_rules(mini, _rule("up_year", YEARLY_IMPROVE))
    ingest(store, _rows(DEC_2022, "2022-12"), "2023-01-10")
    ingest(store, _rows(NOV_2023, "2023-11"), "2023-12-10")
    ingest(store, _rows(DEC_2023, "2023-12"), "2024-01-10")
    v = _by_unit(rules.evaluate(dep, store, as_of="2024-01-20", period="2023"), "up_year")
    # 4th → 2nd: two places up on the year, although one place down on November
    assert v.loc["daxiang", ["status", "rank", "target", "period"]].tolist() == ["on_track", 2, 3.0, "2023"]
    assert "排名较上年进位（上年第4位）" in v.loc["daxiang", "message"]
    assert v.loc["shuangqing", "status"] == "on_track"  # first both years
    assert v.loc["beita", ["status", "rank", "target"]].tolist() == ["behind", 3, 1.0]


def test_a_yearly_improve_rule_without_last_years_ranks_is_no_data(mini, dep, store):
    write_rules(mini, _rule("up_year", YEARLY_IMPROVE))
    ingest(store, _rows(NOV_2023, "2023-11"), "2023-12-10")
    ingest(store, _rows(DEC_2023, "2023-12"), "2024-01-10")
    v = _by_unit(rules.evaluate(dep, store, as_of="2024-01-20", period="2023"), "up_year")
    assert set(v["status"]) == {"no_data"}
    assert v.loc["daxiang", "message"].endswith("无法计算（缺少对比数据）。")


def test_a_monthly_rule_can_improve_on_the_same_month_last_year(mini, dep, store):
    spec = "  indicator: iva_growth\n  group: shaoyang_counties\n  target: {kind: rank, improve: true, improve_on: last_year}"
    write_rules(mini, _rule("up_yoy", spec))
    ingest(store, _rows(DEC_2022, "2022-12"), "2023-01-10")
    ingest(store, _rows(NOV_2023, "2023-11"), "2023-12-10")
    ingest(store, _rows(DEC_2023, "2023-12"), "2024-01-10")
    v = _by_unit(rules.evaluate(dep, store, as_of="2024-01-20", period="2023-12"), "up_yoy")
    assert v.loc["daxiang", ["status", "target"]].tolist() == ["on_track", 3.0]
    assert "较上年同期进位（上年同期第4位）" in v.loc["daxiang", "message"]
    default = _rule("up_month", "  indicator: iva_growth\n  group: shaoyang_counties\n  target: {kind: rank, improve: true}")
    write_rules(mini, default)
    v = _by_unit(rules.evaluate(dep, store, as_of="2024-01-20", period="2023-12"), "up_month")
    assert v.loc["daxiang", ["status", "target"]].tolist() == ["behind", 1.0]  # 1st in November, 2nd now
    assert v.loc["shuangqing", "status"] == "on_track"


# ---- full precision for ranks and comparisons; display at the measure's own precision -------------------


def test_growth_derived_from_whole_number_levels_is_ranked_and_judged_at_full_precision(mini, tmp_path, store):
    from targetwatch.deployment import load_deployment

    registry = mini / "registry" / "indicators.yaml"
    registry.write_text(registry.read_text(encoding="utf-8").replace(
        "{id: retail, name: 社会消费品零售总额, measure: 亿元,", "{id: retail, name: 社会消费品零售总额, measure: 亿元, decimals: 0,"), encoding="utf-8")
    dep = load_deployment(mini)
    assert dep.indicators["retail"].decimals == 0
    text = (_rule("retail_floor", "  indicator: retail\n  metric: yoy\n  units: [daxiang, beita]\n  target: {kind: threshold, floor: 6}")
            + _rule("retail_top1", "  indicator: retail\n  metric: yoy\n  group: shaoyang_counties\n  target: {kind: rank, top: 1, ties: fail}"))
    write_rules(mini, text)
    # 大祥区 +6.2%; 北塔区 +5.96% (rounds to 6 at decimals 0, and is short of 6); 邵东市 and 武冈市 0.003 pp apart
    last = {"daxiang": 1000, "beita": 1000, "shaodong": 100000, "wugang": 100000}
    now = {"daxiang": 1062, "beita": 1059.6, "shaodong": 106203, "wugang": 106206}
    ingest(store, [("retail", u, "2022-06", x) for u, x in last.items()], "2022-07-10")
    ingest(store, [("retail", u, "2023-06", x) for u, x in now.items()], "2023-07-10")
    v = rules.evaluate(dep, store, as_of="2023-07-20")
    floor = _by_unit(v, "retail_floor")
    assert floor.loc["beita", "status"] == "behind" and floor.loc["beita", "gap"] == pytest.approx(-0.04)
    assert floor.loc["daxiang", "message"] == "大祥区2023年6月社会消费品零售总额同比增速为6.2%，目标不低于6%，超出0.2个百分点，达标。"
    assert floor.loc["beita", "message"] == "北塔区2023年6月社会消费品零售总额同比增速为6%，目标不低于6%，差不足0.1个百分点，落后。"
    top = _by_unit(v, "retail_top1")
    assert top.loc[["wugang", "shaodong", "daxiang"], "rank"].tolist() == [1, 2, 3]  # 6.206 > 6.203 > 6.2: no tie
    assert top.loc["wugang", "status"] == "on_track"


# ---- bottom-N with silent units -------------------------------------------------------------------------


NOT_BOTTOM_2 = "  indicator: iva_growth\n  group: shaoyang_counties\n  target: {kind: rank, not_bottom: 2}"


def test_bottom_n_before_the_deadline_is_provisional_and_says_how_complete_the_group_is(mini, dep, store):
    write_rules(mini, _rule("nb2", NOT_BOTTOM_2))
    ingest(store, _rows({"shuangqing": 9.0, "daxiang": 8.0, "beita": 7.0}, "2023-06"), "2023-07-10")
    v = _by_unit(rules.evaluate(dep, store, as_of="2023-07-12"), "nb2")  # deadline 15 July
    assert v.loc["shuangqing", "status"] == "on_track"  # 1st of 3 reporters: two silent units cannot pass it twice
    assert v.loc[["daxiang", "beita"], "status"].tolist() == ["at_risk", "at_risk"]
    assert v.loc[["shaodong", "wugang"], "status"].tolist() == ["no_data", "no_data"]
    assert "（已报送3/5，报送截止前为暂排）" in v.loc["beita", "message"]


def test_bottom_n_after_the_deadline_ranks_silent_units_last_by_default(mini, dep, store):
    # seed 000: 每季度对排名后五位的单位主要负责人进行集体约谈 — the silent units fill the bottom places
    write_rules(mini, _rule("nb2", NOT_BOTTOM_2))
    ingest(store, _rows({"shuangqing": 9.0, "daxiang": 8.0, "beita": 7.0}, "2023-06"), "2023-07-10")
    v = _by_unit(rules.evaluate(dep, store, as_of="2023-07-20"), "nb2")
    assert v.loc[["shuangqing", "daxiang", "beita"], "status"].tolist() == ["on_track"] * 3
    assert v.loc[["shaodong", "wugang"], "status"].tolist() == ["late", "late"]
    assert "（已报送3/5，未报送单位按末位计）" in v.loc["beita", "message"]
    assert set(v["target"].dropna()) == {3.0}


def test_bottom_n_after_the_deadline_can_exclude_silent_units(mini, dep, store):
    write_rules(mini, _rule("nb2", NOT_BOTTOM_2.replace("not_bottom: 2", "not_bottom: 2, unreported: exclude")))
    ingest(store, _rows({"shuangqing": 9.0, "daxiang": 8.0, "beita": 7.0}, "2023-06"), "2023-07-10")
    v = _by_unit(rules.evaluate(dep, store, as_of="2023-07-20"), "nb2")
    assert v.loc[["shuangqing", "daxiang", "beita"], "status"].tolist() == ["on_track", "behind", "behind"]
    assert "（已报送3/5，未报送单位不参与排名）" in v.loc["beita", "message"]


def test_bottom_n_with_a_complete_group_says_nothing_about_completeness(mini, dep, store):
    write_rules(mini, _rule("nb2", NOT_BOTTOM_2))
    ingest(store, _rows(dict(zip(COUNTIES, [9.0, 8.0, 7.0, 6.0, 5.0])), "2023-06"), "2023-07-10")
    v = _by_unit(rules.evaluate(dep, store, as_of="2023-07-12"), "nb2")
    assert v["status"].tolist() == ["on_track", "on_track", "on_track", "behind", "behind"]
    assert not v["message"].str.contains("已报送5/5").any()


# ---- 确保 and 力争 -----------------------------------------------------------------------------------------


def test_a_missed_stretch_only_target_is_a_warning_with_its_own_words(mini, dep, store):
    text = (_rule("floor", "  indicator: iva_growth\n  units: [daxiang]\n  target: {kind: threshold, floor: 10}")
            + _rule("stretch", "  indicator: iva_growth\n  units: [daxiang]\n  tier: stretch\n  target: {kind: threshold, floor: 10}")
            + _rule("stretch_no_floor", "  indicator: iva_growth\n  units: [daxiang]\n  target: {kind: threshold, stretch: 10}"))
    write_rules(mini, text)
    ingest(store, [("iva_growth", "daxiang", "2023-06", 8.0)], "2023-07-10")
    v = rules.evaluate(dep, store, as_of="2023-07-20").set_index("rule")
    assert v.loc["floor", ["status", "severity", "tier"]].tolist() == ["behind", "critical", "floor"]
    assert v.loc["floor", "message"].endswith(f"，{WORDS['behind'].sentence}。")
    for rule in ("stretch", "stretch_no_floor"):
        assert v.loc[rule, ["status", "severity", "tier", "target", "gap"]].tolist() == ["behind", "warning", "stretch", 10.0, -2.0]
        assert v.loc[rule, "message"].endswith(f"，{TIERS['stretch'].missed}。")


@pytest.mark.parametrize("count, status", [(2, "behind"), (3, "on_track"), (6, "on_track"), (9, "on_track")])
def test_a_stretch_band_is_no_ceiling(mini, dep, store, count, status):
    # 000: 力争打造3-5个“西洞庭制造”品牌 — six brands are better, never at risk
    text = _rule("brands", "  indicator: projects\n  units: [daxiang]\n  tier: stretch\n  target: {kind: range, min: 3, max: 5}")
    write_rules(mini, text)
    ingest(store, [("projects", "daxiang", "2023-06", count)], "2023-07-10")
    v = rules.evaluate(dep, store, as_of="2023-07-20").set_index("rule")
    assert v.loc["brands", "status"] == status
    assert v.loc["brands", "severity"] == ("warning" if status == "behind" else "none")


# ---- amounts within a window ------------------------------------------------------------------------------


WINDOW = "  indicator: jobs\n  units: [daxiang, beita]\n  period: {from: 2023-05, to: 2023-06}\n  window: {from: 2023-05, to: 2023-06}\n  target: {kind: milestone, by: 2023-06-30, value: 100}"


def test_a_window_amount_is_the_difference_of_cumulative_figures(mini, dep, store):
    write_rules(mini, _rule("may_jun", WINDOW))
    # 大祥区 reports 累计: 40 by April, 90 by May, 150 by June → 50 in May, 110 in May–June
    ingest(store, [("jobs", "daxiang", p, x, "ytd") for p, x in [("2023-04", 40), ("2023-05", 90), ("2023-06", 150)]], "2023-07-05")
    # 北塔区 reports 当月 for May and June only: 30 + 50 = 80
    ingest(store, [("jobs", "beita", p, x, "period") for p, x in [("2023-05", 30), ("2023-06", 50)]], "2023-07-05", source="b.xlsx")
    june = _by_unit(rules.evaluate(dep, store, as_of="2023-07-20", period="2023-06"), "may_jun")
    assert june.loc["daxiang", ["value", "status"]].tolist() == [110.0, "on_track"]
    assert june.loc["beita", ["value", "status"]].tolist() == [80.0, "behind"]
    assert "（2023年5-6月合计）" in june.loc["daxiang", "message"]
    may = _by_unit(rules.evaluate(dep, store, as_of="2023-07-20", period="2023-05"), "may_jun")
    assert may.loc["daxiang", "value"] == 50.0 and may.loc["beita", "value"] == 30.0


def test_a_window_from_january_is_the_cumulative_figure(mini, dep, store):
    write_rules(mini, _rule("h1", WINDOW.replace("window: {from: 2023-05", "window: {from: 2023-01")))
    ingest(store, [("jobs", "daxiang", "2023-06", 150, "ytd")], "2023-07-05")
    v = _by_unit(rules.evaluate(dep, store, as_of="2023-07-20", period="2023-06"), "h1")
    assert v.loc["daxiang", "value"] == 150.0


def test_a_window_must_lie_within_one_year(mini, dep):
    from rules.check import load_rules
    from targetwatch.errors import ConfigError

    write_rules(mini, _rule("bad", WINDOW.replace("window: {from: 2023-05, to: 2023-06}", "window: {from: 2022-11, to: 2023-02}")))
    with pytest.raises(ConfigError, match="months of one year"):
        load_rules(mini, dep)


# ---- the example: seed 003's window amounts are judged from the inbox ------------------------------------


def test_seed_003_window_amounts_are_judged_from_the_inbox(deployment, db):
    from tests.collectors.test_examples import ingest_inbox

    assert all(r.ok for r in ingest_inbox(deployment, db))
    wanted = ["dx_net_new_market_entities_may_jun", "dx_net_new_enterprises_may_jun", "dx_individual_to_enterprise_may_jun",
              "dx_new_industrial_enterprises_may_jun"]
    v = rules.evaluate(deployment, db, as_of="2023-07-20", period="2023-06", rules=wanted).set_index("rule")
    # 1–6月 reading (config/rules/README.md): the June 累计 of the inbox's 市场监管局 file against 2415, 815, 36
    assert v.loc[wanted[:3], "value"].tolist() == [2198.0, 861.0, 37.0]
    assert v.loc[wanted[:3], "status"].tolist() == ["behind", "on_track", "on_track"]
    # 5-6月 as printed for 规上工业企业 (1 of the year's 4): June 累计 minus April 累计 of the 部门报送 file
    raw = pd.read_csv(deployment.root / "inbox" / "long" / "大祥区部门报送_2023年1-6月.csv", encoding="utf-8-sig")
    firms = raw[raw["indicator"] == "new_industrial_enterprises"].set_index("period")["value"]
    assert v.loc[wanted[3], "value"] == firms["2023-06"] - firms["2023-04"]
    assert set(v["status"]) <= {"on_track", "behind"}  # judged, never late


# ---- cross-level consistency: the district's figure against its streets' ---------------------------------


CONSISTENCY = ("  indicator: jobs\n  units: [{parent}]\n  target: {{kind: consistency, {children}, tolerance: 0}}\n"
               "  owners: {{leader: wu_yi, contacts: [xia_xiangyang]}}")


def test_a_parent_that_does_not_add_up_is_a_data_quality_verdict_for_the_contacts(mini, dep, store):
    text = _rule("sum", CONSISTENCY.format(parent="daxiang", children="children: [longquan, jinfeng]"))
    write_rules(mini, text)
    ingest(store, [("jobs", "daxiang", "2023-06", 500), ("jobs", "longquan", "2023-06", 300), ("jobs", "jinfeng", "2023-06", 180)], "2023-07-05")
    v = rules.evaluate(dep, store, as_of="2023-07-20").set_index("unit")
    row = v.loc["daxiang"]
    assert (row["status"], row["value"], row["target"], row["tier"], row["severity"], row["audience"]) == (
        "behind", 500.0, 480.0, "data", "warning", "contacts")
    assert row["leader"] is None and row["owners"]["contacts"] == ["xia_xiangyang"]
    assert row["message"] == "大祥区2023年6月城镇新增就业为500人，目标与下级单位合计一致（合计480人，允许误差0），相差20人，数据不一致。"


def test_consistency_with_weights_tolerance_and_a_missing_child(mini, dep, store):
    text = (_rule("weighted", CONSISTENCY.format(parent="daxiang", children="children: [longquan, jinfeng], weights: {jinfeng: 0.5}").replace("tolerance: 0", "tolerance: 5"))
            + _rule("missing", CONSISTENCY.format(parent="beita", children="children: [longquan, dept]")))
    write_rules(mini, text)
    ingest(store, [("jobs", "daxiang", "2023-06", 392), ("jobs", "beita", "2023-06", 300),
                   ("jobs", "longquan", "2023-06", 300), ("jobs", "jinfeng", "2023-06", 180)], "2023-07-05")
    v = rules.evaluate(dep, store, as_of="2023-07-20").set_index("rule")
    assert v.loc["weighted", ["status", "target", "gap"]].tolist() == ["on_track", 390.0, 3.0]  # 300 + 0.5 × 180, within ±5
    assert v.loc["missing", "status"] == "no_data"  # 区发改局 has not reported: nothing to add up yet
    assert v.loc["missing", ["reported", "group_size"]].tolist() == [1, 2]


def test_consistency_by_registered_children_judges_every_parent_at_once(mini, dep, store):
    # the cities of shaoyang_counties whose parent is 邵阳市: the city's figure against the sum of the five
    text = _rule("city", CONSISTENCY.format(parent="shaoyang", children="children_group: shaoyang_counties"))
    write_rules(mini, text)
    counties = {"shuangqing": 10, "daxiang": 20, "beita": 30, "shaodong": 40, "wugang": 50}
    ingest(store, [("jobs", u, "2023-06", x) for u, x in {**counties, "shaoyang": 150}.items()], "2023-07-05")
    v = rules.evaluate(dep, store, as_of="2023-07-20").set_index("unit")
    assert v.loc["shaoyang", ["status", "target", "group_size"]].tolist() == ["on_track", 150.0, 5]


def test_the_example_streets_fit_inside_the_zones_new_jobs(deployment, db):
    from tests.collectors.test_examples import ingest_inbox

    assert all(r.ok for r in ingest_inbox(deployment, db))
    v = rules.evaluate(deployment, db, as_of="2025-10-20", period="all", rules=["xdt_new_urban_jobs_streets_add_up"])
    judged = v[v["value"].notna()].set_index("period")
    # 1-3月 to 1-9月 of the inbox workbook: the zone and both streets report every month, and the streets fit inside
    assert list(judged.index) == [f"2025-{m:02d}" for m in range(3, 10)]
    assert set(judged["status"]) == {"on_track"} and set(judged["audience"]) == {"contacts"}
    assert judged.loc["2025-06", ["value", "target"]].tolist() == [506.0, 309.0]
    assert judged["leader"].isna().all()


# ---- the Jan–Feb release -----------------------------------------------------------------------------------


def test_evaluating_february_of_a_jan_feb_indicator_judges_the_combined_release(mini, store):
    from targetwatch.deployment import load_deployment

    registry = mini / "registry" / "indicators.yaml"
    registry.write_text(registry.read_text(encoding="utf-8") + "  - {id: iva_jf, name: 规模工业增加值增速, measure: \"%\", kind: growth, "
                        "frequency: monthly, basis: ytd, jan_feb_combined: true, decimals: 1, deadline: {days: 15}}\n", encoding="utf-8")
    dep = load_deployment(mini)
    write_rules(mini, _rule("iva_floor", "  indicator: iva_jf\n  units: [daxiang]\n  target: {kind: threshold, floor: 6.5}"))
    ingest(store, [("iva_jf", "daxiang", "2023-01/02", 7.0)], "2023-03-10")
    v = rules.evaluate(dep, store, as_of="2023-04-20", period="2023-02").set_index("unit")
    assert v.loc["daxiang", ["period", "status", "value"]].tolist() == ["2023-01/02", "on_track", 7.0]
    every = rules.evaluate(dep, store, as_of="2023-04-20", period="all")
    assert every["period"].tolist() == ["2023-01/02", "2023-03"]  # no January or February of their own


def test_the_province_figure_arrives_through_a_collector_and_above_province_rules_are_judged(deployment, db):
    from tests.collectors.test_examples import ingest_inbox

    assert all(r.ok for r in ingest_inbox(deployment, db))
    v = rules.evaluate(deployment, db, as_of="2023-07-31", period="all", rules=["dx_trade_total_above_province"]).set_index("period")
    # 全省 -9.8 (1-5月) and -2.5 (1-6月), from inbox/hunan (dates 2023/5/31, 2023/6/30, basis 累计同比)
    assert v["reference"].tolist() == [-9.8, -2.5]
    assert v["status"].tolist() == ["on_track", "behind"]  # 大祥区 -7.4 is above the province in May, -3.6 below in June
    assert "目标高于全省平均水平（-2.5%）" in v.loc["2023-06", "message"]
