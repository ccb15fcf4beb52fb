"""Evaluation as of a date, missing data, versions, the verdict contract and the commands around it."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import rules
from conftest import ingest, write_rules
from rules.verdict import STATUSES, VERDICT_COLUMNS, worst_first
from targetwatch import periods
from targetwatch.cli import app

FLOOR = """
apiVersion: targetwatch/v1
kind: Rule
metadata: {id: iva_floor, title: 规模工业增加值增长6.5%以上, version: 1, effective_from: 2023-01-01}
spec:
  indicator: iva_growth
  units: [daxiang, beita]
  group: shaoyang_counties
  target: {kind: threshold, floor: 6.5}
  owners: {leader: wu_yi}
---
apiVersion: targetwatch/v1
kind: Rule
metadata: {id: iva_floor, title: 规模工业增加值增长7%以上, version: 2, effective_from: 2023-07-01}
spec:
  indicator: iva_growth
  units: [daxiang, beita]
  group: shaoyang_counties
  target: {kind: threshold, floor: 7}
"""


def test_as_of_a_past_date_uses_only_the_revisions_reported_by_then(mini, dep, store):
    write_rules(mini, FLOOR)
    ingest(store, [("iva_growth", "daxiang", "2023-06", 6.0)], "2023-07-08", source="first.xlsx")
    ingest(store, [("iva_growth", "daxiang", "2023-06", 6.8)], "2023-07-18", source="revised.xlsx")
    before = rules.evaluate(dep, store, as_of="2023-07-10").set_index("unit")
    after = rules.evaluate(dep, store, as_of="2023-07-20").set_index("unit")
    assert before.loc["daxiang", ["status", "value"]].tolist() == ["behind", 6.0]
    assert after.loc["daxiang", ["status", "value"]].tolist() == ["on_track", 6.8]


def test_missing_data_is_no_data_before_the_deadline_and_late_after_it(mini, dep, store):
    write_rules(mini, FLOOR)
    ingest(store, [("iva_growth", "daxiang", "2023-06", 7.0)], "2023-07-08")
    on_deadline = rules.evaluate(dep, store, as_of="2023-07-15").set_index("unit")  # 30 June + 15 days
    assert on_deadline.loc["beita", ["status", "deadline", "severity"]].tolist() == ["no_data", "2023-07-15", "none"]
    assert pd.isna(on_deadline.loc["beita", "value"]) and pd.isna(on_deadline.loc["beita", "gap"])
    after = rules.evaluate(dep, store, as_of="2023-07-16").set_index("unit")
    assert after.loc["beita", ["status", "severity"]].tolist() == ["late", "warning"]
    assert after.loc["beita", "message"] == "北塔区2023年6月规模工业增加值增速数据逾期未报（截止2023-07-15）。"


def test_a_working_day_deadline_skips_the_national_day_holiday(mini, dep, store):
    # jobs: 5 Chinese working days after 30 September 2023 → the holiday runs to 6 October, 7–8 October are make-up days
    write_rules(mini, """
apiVersion: targetwatch/v1
kind: Rule
metadata: {id: jobs, title: 城镇新增就业}
spec:
  indicator: jobs
  units: [daxiang]
  target: {kind: pacing, annual: 1000}
""")
    v = rules.evaluate(dep, store, as_of="2023-10-10").iloc[0]
    assert (v["period"], v["deadline"], v["status"]) == ("2023-09", "2023-10-11", "no_data")


def test_the_latest_period_is_judged_by_default_and_the_version_in_force_then(mini, dep, store):
    write_rules(mini, FLOOR)
    ingest(store, [("iva_growth", "daxiang", "2023-06", 6.8), ("iva_growth", "daxiang", "2023-07", 6.8)], "2023-08-10")
    june = rules.evaluate(dep, store, as_of="2023-08-20", period="2023-06").set_index("unit")
    july = rules.evaluate(dep, store, as_of="2023-08-20").set_index("unit")
    assert june.loc["daxiang", ["period", "target", "status", "target_version"]].tolist() == ["2023-06", 6.5, "on_track", "v1 (2023-01-01)"]
    assert july.loc["daxiang", ["period", "target", "status", "target_version"]].tolist() == ["2023-07", 7.0, "behind", "v2 (2023-07-01)"]


def test_owners_come_from_the_rule_then_the_indicator_then_the_unit(mini, dep, store):
    write_rules(mini, FLOOR)
    v = rules.evaluate(dep, store, as_of="2023-07-20").set_index("unit")
    assert v.loc["daxiang", "owners"] == {"leader": "wu_yi", "lead_department": ["dept"], "responsible": [], "contacts": []}
    assert v.loc["daxiang", ["leader", "lead_department"]].tolist() == ["wu_yi", "dept"]


def test_the_frame_keeps_the_verdict_contract(mini, dep, store):
    write_rules(mini, FLOOR)
    ingest(store, [("iva_growth", "daxiang", "2023-06", 7.0)], "2023-07-08")
    v = rules.evaluate(dep, store, as_of="2023-07-20")
    assert list(v.columns) == VERDICT_COLUMNS
    assert STATUSES == ("behind", "late", "at_risk", "no_data", "on_track")
    assert str(v["rank"].dtype) == "Int64" and str(v["value"].dtype) == "float64"
    assert v["as_of"].tolist() == ["2023-07-20", "2023-07-20"]


def test_worst_first_orders_leaders_by_their_worst_verdict_and_leaderless_last():
    frame = pd.DataFrame({
        "leader": ["b", "a", "a", None, "a"], "status": ["behind", "on_track", "late", "behind", "behind"],
        "gap": [-1.0, 2.0, None, -5.0, -0.5], "rule": list("rrrrr"), "unit": list("vwxyz"),
    })
    # b's worst shortfall (-1) is larger than a's (-0.5); inside a: behind, late, on track
    assert worst_first(frame)["unit"].tolist() == ["v", "z", "x", "w", "y"]


def test_evaluate_command_prints_json_with_nulls(mini, dep, store):
    write_rules(mini, FLOOR)
    from targetwatch.store.sqlite import SQLiteStore

    db = SQLiteStore(dep.settings.sqlite_path)
    ingest(db, [("iva_growth", "daxiang", "2023-06", 6.0)], "2023-07-08")
    db.close()
    result = CliRunner().invoke(app, ["evaluate", "--config", str(mini), "--as-of", "2023-07-20", "--format", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["unit"] for r in records] == ["daxiang", "beita"]  # both wu_yi's; behind before late
    assert list(records[0]) == VERDICT_COLUMNS
    assert records[0]["gap"] == pytest.approx(-0.5) and records[1]["value"] is None and records[1]["rank"] is None
    assert records[0]["message"] == "大祥区2023年6月规模工业增加值增速为6%，目标不低于6.5%，差0.5个百分点，落后。"


def test_explain_walks_through_revisions_group_and_rank_table(mini, dep, store):
    write_rules(mini, """
apiVersion: targetwatch/v1
kind: Rule
metadata: {id: top2, title: 全市前二名}
spec:
  indicator: iva_growth
  group: shaoyang_counties
  target: {kind: rank, top: 2}
""")
    from targetwatch.store.sqlite import SQLiteStore

    db = SQLiteStore(dep.settings.sqlite_path)
    ingest(db, [("iva_growth", "daxiang", "2023-06", 6.0), ("iva_growth", "beita", "2023-06", 7.0)], "2023-07-08", source="a.xlsx")
    ingest(db, [("iva_growth", "daxiang", "2023-06", 7.5)], "2023-07-12", source="b.xlsx")
    db.close()
    result = CliRunner().invoke(app, ["explain", "top2", "daxiang", "--config", str(mini), "--as-of", "2023-07-20"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "2023-06 累计: 6 第1次修订 报送于 2023-07-08 来源 a.xlsx" in out
    assert "2023-06 累计: 7.5 第2次修订 报送于 2023-07-12 来源 b.xlsx ← 采用" in out
    assert "第1位 大祥区 7.5 ←" in out and "第2位 北塔区 7" in out
    assert "未报送：双清区、邵东市、武冈市" in out
    assert "6. 结论：达标；值 7.5，目标 2，差距 1，排名 1" in out


RULE_TEST = """
rule_files: [../*.yaml]
tests:
  - name: 大祥区并列第二，不得并列，不达标
    as_of: 2023-07-20
    input:
      - {indicator: iva_growth, period: 2023-06, reported: 2023-07-10, values: {daxiang: 7.1, beita: 7.1, shaodong: 8.0}}
    expect:
      - {rule: top2, unit: daxiang, status: behind, rank: 2, gap: 0}
      - {rule: top2, unit: shaodong, status: on_track, rank: 1}
      - {rule: top2, unit: wugang, status: %s}
"""
TOP2 = """
apiVersion: targetwatch/v1
kind: Rule
metadata: {id: top2, title: 全市前二名（不得并列）}
spec:
  indicator: iva_growth
  group: shaoyang_counties
  target: {kind: rank, top: 2, ties: fail}
"""


@pytest.mark.parametrize("expected, exit_code", [("late", 0), ("no_data", 1)], ids=["a right expectation passes", "a wrong expectation fails with a diff"])
def test_rules_test_command(mini, expected, exit_code):
    write_rules(mini, TOP2)
    (mini / "rules" / "tests").mkdir()
    test_file = mini / "rules" / "tests" / "top2_test.yaml"
    test_file.write_text(RULE_TEST % expected, encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "test", str(test_file), "--config", str(mini)])
    assert result.exit_code == exit_code, result.output
    if exit_code:
        assert "top2 wugang status: expected 'no_data', got 'late'" in result.stdout
    else:
        assert "PASS" in result.stdout


def test_a_rule_may_override_the_severity_of_behind(mini, dep, store):
    write_rules(mini, FLOOR.replace("  owners: {leader: wu_yi}", "  owners: {leader: wu_yi}\n  severity: warning"))
    ingest(store, [("iva_growth", "daxiang", "2023-06", 6.0)], "2023-07-08")
    v = rules.evaluate(dep, store, as_of="2023-07-20").set_index("unit")
    assert v.loc["daxiang", ["status", "severity"]].tolist() == ["behind", "warning"]
    assert v.loc["beita", ["status", "severity"]].tolist() == ["late", "warning"]


def test_only_the_rules_asked_for_are_evaluated(mini, dep, store):
    write_rules(mini, FLOOR + "---\n" + TOP2)
    assert set(rules.evaluate(dep, store, as_of="2023-07-20", rules=["top2"])["rule"]) == {"top2"}
    assert set(rules.evaluate(dep, store, as_of="2023-07-20")["rule"]) == {"top2", "iva_floor"}


def test_a_period_of_another_frequency_judges_nothing(mini, dep, store):
    write_rules(mini, FLOOR)
    assert rules.evaluate(dep, store, as_of="2023-07-20", period="2023-Q2").empty


def test_after_a_combined_january_february_release_march_improves_on_it(mini, dep, store):
    # 规模工业增加值 is released for 1-2月 together; 进位 in March compares with the 1-2月 ranks
    (mini / "registry" / "indicators.yaml").write_text(
        (mini / "registry" / "indicators.yaml").read_text(encoding="utf-8").replace("basis: ytd, decimals: 1, deadline: {days: 15}", "basis: ytd, jan_feb_combined: true, decimals: 1, deadline: {days: 15}", 1),
        encoding="utf-8")
    from targetwatch.deployment import load_deployment

    dep = load_deployment(mini)
    write_rules(mini, """
apiVersion: targetwatch/v1
kind: Rule
metadata: {id: up, title: 进位}
spec:
  indicator: iva_growth
  group: shaoyang_counties
  target: {kind: rank, improve: true}
""")
    ingest(store, [("iva_growth", "daxiang", "2023-01/02", 5.0), ("iva_growth", "beita", "2023-01/02", 6.0)], "2023-03-10")
    ingest(store, [("iva_growth", "daxiang", "2023-03", 7.0), ("iva_growth", "beita", "2023-03", 6.0)], "2023-04-10")
    in_march = rules.evaluate(dep, store, as_of="2023-03-20").set_index("unit")
    assert in_march.loc["daxiang", ["period", "rank"]].tolist() == ["2023-01/02", 2]
    in_april = rules.evaluate(dep, store, as_of="2023-04-20").set_index("unit")
    assert in_april.loc["daxiang", ["period", "rank", "target", "status"]].tolist() == ["2023-03", 1, 1.0, "on_track"]


def test_period_all_judges_every_period_of_the_window_ended_by_then(mini, dep, store):
    write_rules(mini, FLOOR)
    ingest(store, [("iva_growth", "daxiang", f"2023-{m:02d}", 6.0 + m / 10) for m in range(1, 9)], "2023-09-10")
    v = rules.evaluate(dep, store, as_of="2023-09-20", period="all")
    daxiang = v[v["unit"] == "daxiang"].set_index("period")
    assert daxiang.index.tolist() == [f"2023-{m:02d}" for m in range(1, 9)]
    assert daxiang["target"].tolist() == [6.5] * 6 + [7.0] * 2  # version 2 from July
    assert daxiang["status"].tolist() == ["behind"] * 4 + ["on_track"] * 2 + ["behind"] * 2


class CountingStore:
    """The real SQLite store, counting its reads: the evaluator should read each period once for all rules."""

    def __init__(self, store):
        self.store, self.reads = store, []

    def read(self, **kw):
        self.reads.append((kw["start"], tuple(kw["indicators"])))
        return self.store.read(**kw)


NEVER_TWO = """
apiVersion: targetwatch/v1
kind: Rule
metadata: {id: no_accidents, title: 全年不发生较大及以上安全事故}
spec: {indicator: accidents, units: [daxiang], target: {kind: never}}
---
apiVersion: targetwatch/v1
kind: Rule
metadata: {id: no_backlog_cases, title: 全年不新增信访积案}
spec: {indicator: backlog, units: [daxiang], target: {kind: never}}
"""


def test_the_year_a_monthly_count_is_summed_from_is_read_once_per_period_for_every_rule(mini, dep, store):
    # Two never-rules on 当月 counts: the year's six months are read in six store calls, not twelve.
    write_rules(mini, NEVER_TWO)
    rows = [(ind, "daxiang", f"2023-{m:02d}", 0, "period") for ind in ("accidents", "backlog") for m in range(1, 7)]
    ingest(store, rows, "2023-07-03")
    counting = CountingStore(store)
    v = rules.evaluate(dep, counting, as_of="2023-07-20")
    assert v["status"].tolist() == ["on_track", "on_track"]
    assert sorted(counting.reads) == [(periods.parse(f"2023-{m:02d}").code, ("accidents", "backlog")) for m in range(1, 7)]


def test_a_cumulative_count_nobody_reported_is_read_at_its_period_only(mini, dep, store):
    # 累计 counts with no report at June: there are no 当月 values at June either, so nothing can be
    # derived and January to May are not read.
    write_rules(mini, """
apiVersion: targetwatch/v1
kind: Rule
metadata: {id: projects_break_zero, title: 新引进项目破零}
spec: {indicator: projects, units: [daxiang], target: {kind: break_zero}}
---
apiVersion: targetwatch/v1
kind: Rule
metadata: {id: jobs_pacing, title: 城镇新增就业时间过半任务过半}
spec: {indicator: jobs, units: [daxiang], target: {kind: pacing, annual: 1000}}
""")
    counting = CountingStore(store)
    v = rules.evaluate(dep, counting, as_of="2023-07-20")
    assert v["status"].tolist() == ["late", "late"]
    assert counting.reads == [(periods.parse("2023-06").code, ("jobs", "projects"))]
