"""Every target kind on the seeds' own examples, through a real SQLite store and the full evaluator."""

from __future__ import annotations

import math

import pytest

import rules
from conftest import ingest, rule_doc as _rule, write_rules

AS_OF = "2023-07-20"  # after the June deadlines (15 days, 10 days, 5 working days)


def _evaluate(mini, dep, store, text, rows, as_of=AS_OF, reported="2023-07-10", **kw):
    write_rules(mini, text)
    if rows:
        ingest(store, rows, reported)
    return rules.evaluate(dep, store, as_of=as_of, **kw).set_index(["rule", "unit"])


def test_growth_floor_on_a_reported_growth_series_sets_gap_in_points(mini, dep, store):
    # seed 000 row 3: 规模工业增加值 增长6.5%以上 (a published growth series: read as reported)
    text = _rule("iva", "  indicator: iva_growth\n  units: [daxiang, beita]\n  target: {kind: threshold, floor: 6.5, stretch: 7}")
    v = _evaluate(mini, dep, store, text, [("iva_growth", "daxiang", "2023-06", 6.2), ("iva_growth", "beita", "2023-06", 7.3)])
    assert v.loc[("iva", "daxiang"), "status"] == "behind"
    assert v.loc[("iva", "daxiang"), "gap"] == pytest.approx(-0.3)
    assert v.loc[("iva", "beita"), ["status", "stretch_met"]].tolist() == ["on_track", True]
    assert v.loc[("iva", "daxiang"), "message"] == "大祥区2023年6月规模工业增加值增速为6.2%，目标不低于6.5%，差0.3个百分点，落后。"


def test_growth_floor_derives_yoy_from_levels(mini, dep, store):
    # seed 000 row 5: 社会消费品零售总额 增长6%以上, on levels 100 → 105.5
    text = _rule("retail", "  indicator: retail\n  metric: yoy\n  units: [daxiang]\n  target: {kind: threshold, floor: 6}")
    v = _evaluate(mini, dep, store, text, [("retail", "daxiang", "2022-06", 100), ("retail", "daxiang", "2023-06", 105.5)])
    assert v.loc[("retail", "daxiang"), ["status", "value", "gap"]].tolist() == ["behind", pytest.approx(5.5), pytest.approx(-0.5)]


def test_yoy_on_the_period_basis_derives_monthly_values_from_cumulative(mini, dep, store):
    text = _rule("retail_m", "  indicator: retail\n  metric: yoy\n  basis: period\n  units: [daxiang]\n  target: {kind: threshold, floor: 10}")
    rows = [("retail", "daxiang", p, v) for p, v in [("2022-05", 50), ("2022-06", 60), ("2023-05", 55), ("2023-06", 67)]]
    v = _evaluate(mini, dep, store, text, rows)
    # 当月 June: 2022 10, 2023 12 → +20%
    assert v.loc[("retail_m", "daxiang"), "value"] == pytest.approx(20.0)
    assert v.loc[("retail_m", "daxiang"), "status"] == "on_track"


def test_level_ceiling_on_a_lower_is_better_rate(mini, dep, store):
    # seed 000 row 6: 城镇登记失业率 控制在4.5%以内
    text = _rule("unemp", "  indicator: unemployment\n  units: [daxiang, beita]\n  target: {kind: threshold, op: '<=', floor: 4.5}")
    v = _evaluate(mini, dep, store, text, [("unemployment", "daxiang", "2023-Q2", 4.2, "period"), ("unemployment", "beita", "2023-Q2", 4.6, "period")])
    assert v.loc[("unemp", "daxiang"), ["status", "gap"]].tolist() == ["on_track", pytest.approx(0.3)]
    assert v.loc[("unemp", "beita"), ["status", "gap"]].tolist() == ["behind", pytest.approx(-0.1)]


def test_decline_of_at_least_fifteen_percent(mini, dep, store):
    # 004:L535 生产安全事故起数同比下降15%以上 (cumulative counts 20 → 16 is a 20% fall)
    text = _rule("acc", "  indicator: accidents\n  metric: yoy\n  basis: ytd\n  units: [daxiang]\n  target: {kind: decline, floor: 15}")
    v = _evaluate(mini, dep, store, text, [("accidents", "daxiang", "2022-06", 20, "ytd"), ("accidents", "daxiang", "2023-06", 16, "ytd")])
    assert v.loc[("acc", "daxiang"), ["status", "value", "gap"]].tolist() == ["on_track", pytest.approx(20.0), pytest.approx(5.0)]


def test_change_in_percentage_points(mini, dep, store):
    text = _rule("pp", "  indicator: unemployment\n  metric: pp_change\n  units: [daxiang]\n  target: {kind: threshold, op: '<=', floor: -0.5}")
    v = _evaluate(mini, dep, store, text, [("unemployment", "daxiang", "2022-Q2", 4.8, "period"), ("unemployment", "daxiang", "2023-Q2", 4.5, "period")])
    assert v.loc[("pp", "daxiang"), ["status", "value", "gap"]].tolist() == ["behind", pytest.approx(-0.3), pytest.approx(-0.2)]


@pytest.mark.parametrize("count, status", [(2, "behind"), (3, "on_track"), (5, "on_track"), (6, "at_risk")], ids=["below the range is behind", "the lower bound is on track", "the upper bound is on track", "above the range is at risk"])
def test_range_three_to_five(mini, dep, store, count, status):
    # seed 000 row 14: 力争打造3-5个品牌
    text = _rule("brands", "  indicator: projects\n  units: [daxiang]\n  target: {kind: range, min: 3, max: 5}")
    v = _evaluate(mini, dep, store, text, [("projects", "daxiang", "2023-06", count)])
    assert v.loc[("brands", "daxiang"), "status"] == status


@pytest.mark.parametrize("count, status", [(9, "on_track"), (8, "behind"), (14, "on_track")], ids=["within tolerance", "short beyond tolerance", "over is fine when higher is better"])
def test_approximate_ten_projects(mini, dep, store, count, status):
    # 004:L555 力争引进湘商回归项目 10 个左右
    text = _rule("approx", "  indicator: projects\n  units: [daxiang]\n  target: {kind: approximate, value: 10, tolerance: 1}")
    v = _evaluate(mini, dep, store, text, [("projects", "daxiang", "2023-06", count)])
    assert v.loc[("approx", "daxiang"), "status"] == status


def test_share_of_another_indicator(mini, dep, store):
    # seed 003 item (8): 地方税收占地方一般公共预算收入比重
    text = _rule("taxshare", "  indicator: tax\n  units: [daxiang]\n  target: {kind: share, of: {indicator: fiscal}, floor: 70}")
    v = _evaluate(mini, dep, store, text, [("tax", "daxiang", "2023-06", 6900), ("fiscal", "daxiang", "2023-06", 10000)])
    assert v.loc[("taxshare", "daxiang"), ["status", "value", "gap"]].tolist() == ["behind", pytest.approx(69.0), pytest.approx(-1.0)]


def test_share_of_a_child_unit_in_its_parent(mini, dep, store):
    # 004:L219 占全县规模以上工业增加值 75% 以上: the child's value over its parent's
    text = _rule("childshare", "  indicator: retail\n  units: [daxiang]\n  target: {kind: share, of: {unit: parent}, floor: 10}")
    v = _evaluate(mini, dep, store, text, [("retail", "daxiang", "2023-06", 12), ("retail", "shaoyang", "2023-06", 100)])
    assert v.loc[("childshare", "daxiang"), ["status", "value"]].tolist() == ["on_track", pytest.approx(12.0)]


def test_pacing_checkpoint_fifty_five_percent_by_june(mini, dep, store):
    # seed 003 item 7: 城镇新增就业（1350）人…6月底前累计完成年度任务的55%
    text = _rule("jobs", "  indicator: jobs\n  units: [daxiang]\n  target: {kind: pacing, annual: 1350, profile: checkpoints, checkpoints: {6: 55}}")
    v = _evaluate(mini, dep, store, text, [("jobs", "daxiang", "2023-06", 700)])
    row = v.loc[("jobs", "daxiang")]
    assert row["target"] == pytest.approx(742.5)
    assert row["gap"] == pytest.approx(-42.5)
    assert row["required_run_rate"] == pytest.approx(650 / 6)
    assert row["status"] == "behind"


def test_pacing_linear_profile_is_half_by_june(mini, dep, store):
    text = _rule("lin", "  indicator: jobs\n  units: [daxiang]\n  target: {kind: pacing, annual: 1000, profile: linear, at_risk_within: 5}")
    v = _evaluate(mini, dep, store, text, [("jobs", "daxiang", "2023-06", 460)])
    assert v.loc[("lin", "daxiang"), ["target", "status"]].tolist() == [pytest.approx(500.0), "at_risk"]


def test_pacing_seasonal_profile(mini, dep, store):
    weights = "[5, 5, 10, 10, 10, 10, 10, 10, 10, 10, 5, 5]"
    text = _rule("seas", f"  indicator: jobs\n  units: [daxiang]\n  target: {{kind: pacing, annual: 1000, profile: seasonal, seasonal: {weights}}}")
    v = _evaluate(mini, dep, store, text, [("jobs", "daxiang", "2023-06", 500)])
    assert v.loc[("seas", "daxiang"), ["target", "status"]].tolist() == [pytest.approx(500.0), "on_track"]


def test_allocation_rows_become_each_units_annual_task(mini, dep, store):
    text = _rule("alloc", "  indicator: jobs\n  units: [longquan, jinfeng]\n  target: {kind: pacing, profile: linear}\n  allocation: {total: 1000, values: {longquan: 600, jinfeng: 400}}")
    v = _evaluate(mini, dep, store, text, [("jobs", "longquan", "2023-06", 300), ("jobs", "jinfeng", "2023-06", 150)])
    assert v.loc[("alloc", "longquan"), ["target", "status"]].tolist() == [pytest.approx(300.0), "on_track"]
    assert v.loc[("alloc", "jinfeng"), ["target", "status"]].tolist() == [pytest.approx(200.0), "behind"]


def _counties(values: dict, period="2023-06", ind="iva_growth"):
    return [(ind, u, period, v) for u, v in values.items()]


def test_above_the_citys_own_figure_not_the_mean_of_the_counties(mini, dep, store):
    # seed 003 item (1): 增速高于全市平均水平 = above 邵阳市's reported figure
    text = _rule("above", "  indicator: iva_growth\n  units: [daxiang]\n  group: shaoyang_counties\n  target: {kind: compare, reference: group_figure}")
    rows = _counties({"shaoyang": 7.0, "daxiang": 7.2, "shuangqing": 9.0, "beita": 9.0, "shaodong": 9.0, "wugang": 9.0})
    v = _evaluate(mini, dep, store, text, rows)
    row = v.loc[("above", "daxiang")]
    assert (row["status"], row["reference"], row["gap"], row["reported"]) == ("on_track", 7.0, pytest.approx(0.2), 5)


def test_above_the_peers_mean_by_a_margin(mini, dep, store):
    text = _rule("mean", "  indicator: iva_growth\n  units: [daxiang]\n  group: shaoyang_counties\n  target: {kind: compare, reference: peer_mean, margin: 1}")
    rows = _counties({"daxiang": 8.0, "shuangqing": 6.0, "beita": 7.0, "shaodong": 7.0})  # 武冈 not reported: mean of 4 = 7.0
    v = _evaluate(mini, dep, store, text, rows)
    row = v.loc[("mean", "daxiang")]
    assert (row["reference"], row["target"], row["status"], row["reported"]) == (7.0, 8.0, "behind", 4)


RANKS = {"shuangqing": 8.0, "daxiang": 7.1, "beita": 7.1, "shaodong": 6.0, "wugang": 5.0}


@pytest.mark.parametrize(
    "target, unit, status, rank, gap",
    [
        ("{kind: rank, top: 3}", "daxiang", "on_track", 2, 1),
        ("{kind: rank, top: 3, ties: fail}", "daxiang", "behind", 2, 1),
        ("{kind: rank, top: 3, ties: fail}", "shuangqing", "on_track", 1, 2),
        ("{kind: rank, not_bottom: 1}", "wugang", "behind", 5, -1),
        ("{kind: rank, not_bottom: 1}", "shaodong", "on_track", 4, 0),
        ("{kind: rank, top: 1, order: lower}", "wugang", "on_track", 1, 0),
    ],
    ids=["a shared second place is top three", "a shared place fails when ties are not allowed",
         "an unshared first place passes when ties are not allowed", "the last place is in the bottom one",
         "fourth of five is not the bottom one", "lower is better reverses the order"],
)
def test_rank_in_the_peer_group(mini, dep, store, target, unit, status, rank, gap):
    # seed 003 (2) 全市前七名（且不得并列名次）; (3) 排名不落于全市后三位
    text = _rule("rank", f"  indicator: iva_growth\n  group: shaoyang_counties\n  target: {target}")
    v = _evaluate(mini, dep, store, text, _counties(RANKS))
    row = v.loc[("rank", unit)]
    assert (row["status"], row["rank"], row["gap"], row["group_size"], row["reported"]) == (status, rank, gap, 5, 5)


def test_rank_floor_and_stretch_keep_second_strive_for_first(mini, dep, store):
    # 004:L517 保二争一
    text = _rule("p2", "  indicator: iva_growth\n  group: shaoyang_counties\n  target: {kind: rank, top: 2, stretch: 1}")
    v = _evaluate(mini, dep, store, text, _counties(RANKS))
    assert v.loc[("p2", "shuangqing"), ["status", "stretch_met"]].tolist() == ["on_track", True]
    assert v.loc[("p2", "daxiang"), ["status", "stretch_met"]].tolist() == ["on_track", False]
    assert v.loc[("p2", "shaodong"), ["status", "stretch_met"]].tolist() == ["behind", False]


def test_rank_improved_since_last_month(mini, dep, store):
    # seed 003 item (7): 在全市排名较上月有进位
    text = _rule("up", "  indicator: iva_growth\n  group: shaoyang_counties\n  target: {kind: rank, improve: true}")
    write_rules(mini, text)
    ingest(store, _counties({"daxiang": 6.0, "beita": 7.0, "shuangqing": 8.0}, "2023-05"), "2023-06-10")
    ingest(store, _counties({"daxiang": 7.5, "beita": 7.0, "shuangqing": 8.0}, "2023-06"), "2023-07-10")
    v = rules.evaluate(dep, store, as_of=AS_OF).set_index(["rule", "unit"])
    assert v.loc[("up", "daxiang"), ["status", "rank", "target"]].tolist() == ["on_track", 2, 2.0]
    assert v.loc[("up", "beita"), ["status", "rank", "target"]].tolist() == ["behind", 3, 1.0]
    # first stays first: no place to gain, and keeping it is on track (issue 11)
    assert v.loc[("up", "shuangqing"), ["status", "rank", "target"]].tolist() == ["on_track", 1, 1.0]


@pytest.mark.parametrize("policy, status, target", [("last", "on_track", 4.0), ("exclude", "behind", 1.0)])
def test_ranks_use_only_units_that_reported(mini, dep, store, policy, status, target):
    # After the deadline the three silent units rank below every reporter (default), or are left out.
    text = _rule("rank", f"  indicator: iva_growth\n  group: shaoyang_counties\n  target: {{kind: rank, not_bottom: 1, unreported: {policy}}}")
    v = _evaluate(mini, dep, store, text, _counties({"daxiang": 7.0, "beita": 6.0}))
    assert v.loc[("rank", "beita"), ["status", "rank", "target", "reported", "group_size"]].tolist() == [status, 2, target, 2, 5]
    assert v.loc[("rank", "wugang"), "status"] == "late"
    assert math.isnan(v.loc[("rank", "wugang"), "value"])


@pytest.mark.parametrize("value, status", [(0, "behind"), (1, "on_track")], ids=["still zero is behind", "one is broken"])
def test_break_zero(mini, dep, store, value, status):
    # 001:L31 外资破零
    text = _rule("bz", "  indicator: projects\n  units: [daxiang]\n  target: {kind: break_zero}")
    v = _evaluate(mini, dep, store, text, [("projects", "daxiang", "2023-06", value)])
    assert v.loc[("bz", "daxiang"), "status"] == status


def test_clear_zero_once_is_at_risk_before_its_date_and_behind_after(mini, dep, store):
    text = _rule("cz", "  indicator: backlog\n  units: [daxiang]\n  target: {kind: clear_zero, mode: once, by: 2023-09-30}")
    write_rules(mini, text)
    ingest(store, [("backlog", "daxiang", "2023-06", 2, "period"), ("backlog", "daxiang", "2023-10", 1, "period")], "2023-07-03")
    early = rules.evaluate(dep, store, as_of="2023-07-20").set_index("unit")
    assert early.loc["daxiang", "status"] == "at_risk"
    late = rules.evaluate(dep, store, as_of="2023-11-20").set_index("unit")
    assert late.loc["daxiang", ["status", "gap"]].tolist() == ["behind", -1.0]


def test_dynamic_clear_zero_fails_any_month_with_a_backlog(mini, dep, store):
    # 001:L474 确保零就业家庭动态清零
    text = _rule("dcz", "  indicator: backlog\n  units: [daxiang, beita]\n  target: {kind: clear_zero, mode: dynamic}")
    v = _evaluate(mini, dep, store, text, [("backlog", "daxiang", "2023-06", 0, "period"), ("backlog", "beita", "2023-06", 1, "period")])
    assert v.loc[("dcz", "daxiang"), "status"] == "on_track"
    assert v.loc[("dcz", "beita"), "status"] == "behind"


def test_never_event_counts_the_whole_year_from_monthly_reports(mini, dep, store):
    # 004:L535 全年不发生较大及以上安全事故: one event in March fails June too
    text = _rule("never", "  indicator: accidents\n  units: [daxiang]\n  target: {kind: never}")
    rows = [("accidents", "daxiang", f"2023-{m:02d}", 1 if m == 3 else 0, "period") for m in range(1, 7)]
    v = _evaluate(mini, dep, store, text, rows)
    assert v.loc[("never", "daxiang"), ["status", "value"]].tolist() == ["behind", 1.0]


def test_milestone_is_on_track_before_its_date_and_behind_after(mini, dep, store):
    text = _rule("ms", "  indicator: projects\n  units: [daxiang]\n  target: {kind: milestone, by: 2023-09-30, value: 1}")
    write_rules(mini, text)
    ingest(store, [("projects", "daxiang", "2023-06", 0), ("projects", "daxiang", "2023-09", 0)], "2023-07-05")
    assert rules.evaluate(dep, store, as_of="2023-07-20").loc[0, "status"] == "on_track"
    assert rules.evaluate(dep, store, as_of="2023-10-20").loc[0, "status"] == "behind"


def test_scorecard_scores_ranks_and_zeroes_the_unbroken(mini, dep, store):
    # seed 003 item 10: 按项目总数排名及年度目标完成进度情况计分，未破零的记零分; bands 90/80/60 → 100/80/50/0
    text = _rule("pace", "  indicator: projects\n  group: streets\n  target: {kind: pacing, annual: 12, profile: linear}") + _rule(
        "top1", "  indicator: projects\n  group: streets\n  target: {kind: rank, top: 1}") + """
---
apiVersion: targetwatch/v1
kind: Scorecard
metadata: {id: card, title: 项目建设计分}
spec:
  group: streets
  items:
    - {rule: pace, points: 60, scoring: proportional, zero_unless_broken: true}
    - {rule: top1, points: 40}
  bands: [{min: 90, payout: 100}, {min: 80, payout: 80}, {min: 60, payout: 50}, {min: 0, payout: 0}]
  floor: 60
"""
    v = _evaluate(mini, dep, store, text, [("projects", "longquan", "2023-06", 5), ("projects", "jinfeng", "2023-06", 0)])
    assert v.loc[("card", "longquan"), ["value", "rank", "status"]].tolist() == [pytest.approx(90.0), 1, "on_track"]
    assert v.loc[("card", "jinfeng"), ["value", "rank", "status"]].tolist() == [pytest.approx(0.0), 2, "behind"]
    assert "按100%兑现" in v.loc[("card", "longquan"), "message"]


def test_a_half_year_rule_on_a_monthly_cumulative_series_reads_january_to_june(mini, dep, store):
    # seed 003 item 10: 1-6月实现同比增速10%以上, judged as the first half on the monthly 累计 series
    text = _rule("h1", "  indicator: iva_growth\n  units: [daxiang]\n  period: {frequency: half_yearly, from: 2023-H1, to: 2023-H1}\n  target: {kind: threshold, floor: 10}")
    v = _evaluate(mini, dep, store, text, [("iva_growth", "daxiang", "2023-06", 10.4)], as_of="2023-08-20")
    row = v.loc[("h1", "daxiang")]
    assert (row["period"], row["value"], row["status"]) == ("2023-H1", 10.4, "on_track")
    assert row["message"].startswith("大祥区2023年上半年规模工业增加值增速为10.4%")


def test_explain_a_scorecard_lists_each_item(mini, dep, store):
    from rules.explain import explain

    text = _rule("pace", "  indicator: projects\n  group: streets\n  target: {kind: pacing, annual: 12, profile: linear}") + """
---
apiVersion: targetwatch/v1
kind: Scorecard
metadata: {id: card, title: 项目建设计分}
spec:
  group: streets
  items:
    - {rule: pace, points: 100, scoring: proportional, zero_unless_broken: true}
"""
    write_rules(mini, text)
    ingest(store, [("projects", "longquan", "2023-06", 3), ("projects", "jinfeng", "2023-06", 6)], "2023-07-10")
    lines = explain(dep, store, "card", "longquan", as_of=AS_OF)
    assert lines[1] == "2. 各项得分："
    assert lines[2].startswith("   pace（100分，按完成比例计分，未破零记零分）：落后，值 3，目标 6")
    assert lines[3] == "3. 结论：达标；总分 50，排名 2/2"


def test_messages_round_a_count_run_rate_up_and_say_a_milestone_is_not_due(mini, dep, store):
    text = _rule("jobs", "  indicator: jobs\n  units: [daxiang]\n  target: {kind: pacing, annual: 1000}") + _rule(
        "ms", "  indicator: projects\n  units: [daxiang]\n  target: {kind: milestone, by: 2023-12-31, value: 4}")
    v = _evaluate(mini, dep, store, text, [("jobs", "daxiang", "2023-06", 499), ("projects", "daxiang", "2023-06", 1)])
    assert v.loc[("jobs", "daxiang"), "message"] == "大祥区2023年6月城镇新增就业为499人，目标序时进度50%，即累计500人（全年1000人），差1人，全年余下每月需完成84人，落后。"
    assert v.loc[("ms", "daxiang"), "message"] == "大祥区2023年6月新引进项目为1个，目标2023-12-31前达到4个，差3个，尚未到期。"


def test_never_event_reported_while_an_earlier_month_is_missing_is_behind(mini, dep, store):
    # 000:L472 坚决防范遏制较大及以上安全生产事故: February never came, March reports one accident. The
    # year's total cannot be summed, but the event is known: behind, not late.
    text = _rule("never", "  indicator: accidents\n  units: [daxiang, beita]\n  target: {kind: never}")
    rows = [("accidents", "daxiang", f"2023-{m:02d}", 1 if m == 3 else 0, "period") for m in range(1, 7) if m != 2]
    rows += [("accidents", "beita", f"2023-{m:02d}", 0, "period") for m in range(1, 7) if m != 2]
    v = _evaluate(mini, dep, store, text, rows)
    assert v.loc[("never", "daxiang"), ["status", "value", "gap"]].tolist() == ["behind", 1.0, -1.0]
    assert v.loc[("never", "daxiang"), "message"] == (
        "大祥区2023年6月较大及以上安全事故为1起，目标全年不发生，差1起（部分月份未报送，按已报送数计），落后。")
    # Nothing reported shows an event and February is missing: the year is still unknown, and late.
    assert v.loc[("never", "beita"), "status"] == "late"
    assert math.isnan(v.loc[("never", "beita"), "value"])


def test_never_event_seen_in_an_earlier_cumulative_report_is_behind(mini, dep, store):
    # A 累计 count of 1 at March is an event of the year even when June's report is missing.
    text = _rule("never", "  indicator: accidents\n  basis: ytd\n  units: [daxiang]\n  target: {kind: never}")
    rows = [("accidents", "daxiang", "2023-03", 1, "ytd"), ("accidents", "daxiang", "2023-04", 1, "ytd")]
    v = _evaluate(mini, dep, store, text, rows)
    assert v.loc[("never", "daxiang"), ["status", "value"]].tolist() == ["behind", 1.0]


_RANK_CARD = """
---
apiVersion: targetwatch/v1
kind: Scorecard
metadata: {{id: {card}, title: 新增企业数量排名计分}}
spec:
  group: shaoyang_counties
  items:
    - {{rule: firms, points: 40, scoring: rank, zero_unless_broken: true{table}}}
"""


def test_scorecard_gives_points_by_rank_in_the_peer_group(mini, dep, store):
    # 003:L248 ② 新增营业收入1亿元以上规模工业企业…按新增企业数量排名计分，未破零的记零分
    text = _rule("firms", "  indicator: projects\n  group: shaoyang_counties\n  target: {kind: break_zero}") + _RANK_CARD.format(
        card="by_formula", table="") + _RANK_CARD.format(card="by_table", table=", rank_points: [40, 30, 20]")
    counts = {"daxiang": 5, "beita": 3, "shaodong": 3, "wugang": 1, "shuangqing": 0}
    v = _evaluate(mini, dep, store, text, [("projects", u, "2023-06", n) for u, n in counts.items()])
    # five ranked: 1, 2, 2, 4, 5 → 40 × (5 − r + 1)/5 = 40, 32, 32, 16; 双清区 is last but has not broken zero
    formula = {u: v.loc[("by_formula", u), "value"] for u in counts}
    assert formula == {"daxiang": 40.0, "beita": 32.0, "shaodong": 32.0, "wugang": 16.0, "shuangqing": 0.0}
    # the declared table: rank 1 → 40, the two tied second → 30 each, rank 4 is past the table → 0
    table = {u: v.loc[("by_table", u), "value"] for u in counts}
    assert table == {"daxiang": 40.0, "beita": 30.0, "shaodong": 30.0, "wugang": 0.0, "shuangqing": 0.0}
    assert v.loc[("by_formula", "beita"), "rank"] == 2


def test_rank_points_are_checked_and_in_the_schema():
    from pydantic import ValidationError

    from rules.spec import ScoreItem, json_schema

    with pytest.raises(ValidationError, match="rank_points only applies to scoring: rank"):
        ScoreItem(rule="a", points=40, rank_points=[40, 30])
    with pytest.raises(ValidationError, match=r"between 0 and points \(40\)"):
        ScoreItem(rule="a", points=40, scoring="rank", rank_points=[50, 30])
    item = json_schema()["$defs"]["ScoreItem"]["properties"]
    assert item["scoring"]["enum"] == ["pass_fail", "proportional", "rank"]
    assert "rank_points" in item


def test_a_file_with_an_error_is_left_out_whole_and_a_scorecard_that_needed_it_follows(mini, dep):
    from rules import load_valid_rules

    pacing = "  indicator: INDICATOR\n  group: streets\n  target: {kind: pacing, annual: 12, profile: linear}"
    write_rules(mini, _rule("good", pacing.replace("INDICATOR", "projects")), "good.yaml")
    write_rules(mini, _rule("also_in_broken", pacing.replace("INDICATOR", "projects")) + _rule("typo", pacing.replace("INDICATOR", "projcts")),
                "broken.yaml")
    write_rules(mini, """apiVersion: targetwatch/v1
kind: Scorecard
metadata: {id: card, title: 项目建设计分}
spec:
  group: streets
  items:
    - {rule: also_in_broken, points: 100, scoring: pass_fail}
""", "card.yaml")
    ruleset = load_valid_rules(mini, dep)
    assert ruleset.ids == ["good"]
    assert [p.rsplit("/", 1)[-1] for p in ruleset.invalid_files] == ["broken.yaml", "card.yaml"]
    errors = [str(p) for p in ruleset.problems if p.level == "error"]
    assert any("broken.yaml:" in e and "unknown indicator 'projcts'" in e for e in errors)
    assert any("card.yaml:7:" in e and "unknown rule 'also_in_broken'" in e for e in errors)
