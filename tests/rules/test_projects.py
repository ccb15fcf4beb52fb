"""Projects: derived indicators against hand counts, seed 002's figures from its ledger, stall and
milestone checks under a controllable clock, owners, explain, the digest section 项目 and the CLI."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pandas as pd
import pytest
from typer.testing import CliRunner

import rules
from collectors.ingest import ingest
from collectors.projects import ledger_files
from rules.explain import explain
from rules.projects import batch_totals, list_projects, project_verdicts, read_projects
from targetwatch import periods
from tests.ledgers import generator


HUNAN_RULE = """apiVersion: targetwatch/v1
kind: Rule
metadata: {id: hunan_ten_projects_completion, title: 十大产业项目完成年度投资计划, version: 1, effective_from: 2023-01-01}
spec:
  indicator: project_completion_rate
  units: [hunan]
  period: {from: 2023-01, to: 2023-12}
  target: {kind: pacing, annual: 100, profile: linear}
  source: {document: 湖南十大产业项目建设加速赋能区域高质量发展, seed: "002", line: 23, quote: 完成率达122.17%}
"""


@pytest.fixture
def ledgers(deployment, db):
    results = ingest(deployment, db, ledger_files(deployment))
    assert [r.ok for r in results] == [True] * 4
    return deployment, db


def observed(db, indicator: str, unit: str, basis: str = "ytd") -> dict[str, float]:
    frame = db.read(indicators=[indicator], units=[unit])
    frame = frame[frame["basis"] == basis]
    return {periods.format_code(p): v for p, v in zip(frame["period"], frame["value"])}


def test_derived_counts_match_hand_counts_of_the_daxiang_ledger(ledgers):
    _, db = ledgers
    # 大祥区's own rows (not its park's): signed 1.10 (12亿), 4.12, 5.6 (Excel serial 45052), 5.26, 6.8;
    # started 6.2 and 6.13 (serial 45090); nothing in production.
    monthly = observed(db, "projects_signed", "daxiang", "period")
    assert {p: v for p, v in monthly.items() if p.startswith("2023")} == {
        "2023-01": 1, "2023-02": 0, "2023-03": 0, "2023-04": 1, "2023-05": 2, "2023-06": 1}
    # The months run from January of the earliest year the ledger mentions (2021) to its title's 6月.
    assert min(monthly) == "2021-01" and max(monthly) == "2023-06" and sum(monthly.values()) == 5
    assert observed(db, "projects_signed", "daxiang")["2023-06"] == 5
    assert observed(db, "projects_signed_over_1b", "daxiang")["2023-06"] == 1
    assert observed(db, "projects_signed_over_100m", "daxiang")["2023-06"] == 4  # 12, 5.6, 2.2, 4.2 (not 0.8)
    assert observed(db, "projects_signed_investment", "daxiang")["2023-06"] == pytest.approx(12 + 5.6 + 2.2 + 4.2 + 0.8)
    assert observed(db, "projects_started", "daxiang")["2023-06"] == 2
    assert observed(db, "projects_in_production", "daxiang")["2023-06"] == 0
    # The park: signed 2.8 and 3.15 this year (two older projects signed in 2021 and 2022), started 3.18
    # this year, in production 5.6 (医药中间体, signed 2022).
    assert observed(db, "projects_signed", "daxiang_park")["2023-06"] == 2
    assert observed(db, "projects_signed", "daxiang_park")["2022-12"] == 1
    assert observed(db, "projects_started", "daxiang_park", "period")["2023-03"] == 1
    assert observed(db, "projects_in_production", "daxiang_park", "period")["2023-05"] == 1
    # By source: 湘商回湘 新型建材 (park; signed 2.8, registered 2.20; 食品精深加工 signed in 2021), 三类500强 智能装备.
    assert observed(db, "projects_signed_hunan_merchant", "daxiang_park")["2023-06"] == 1
    assert observed(db, "projects_registered_hunan_merchant", "daxiang_park", "period")["2023-02"] == 1
    assert observed(db, "projects_signed_top500", "daxiang")["2023-06"] == 1
    assert observed(db, "projects_signed_top500", "daxiang_park")["2023-06"] == 0
    # 到位资金 year to date: the ledger's monthly columns added up.
    daxiang = generator().build()[0]
    first = daxiang.columns.index("1月")
    own = [r for r in daxiang.rows if r[2] == "大祥区"]
    assert observed(db, "project_funds_in_place", "daxiang")["2023-06"] == pytest.approx(
        sum(v or 0 for r in own for v in r[first:first + 6]))
    merchant = [r for r in daxiang.rows if r[2] == "大祥产业开发区" and r[6] == "湘商回湘"]
    assert observed(db, "project_funds_hunan_merchant", "daxiang_park")["2023-06"] == pytest.approx(
        sum(v or 0 for r in merchant for v in r[first:first + 6]))


def test_seed_002_figures_come_back_from_its_ledger(ledgers):
    deployment, db = ledgers
    seed = generator().SEED_002
    batches = batch_totals(read_projects(deployment, db)).set_index("batch")
    assert batches.loc[seed["batch"], "projects"] == seed["batch_projects"] == 11
    assert batches.loc[seed["batch"], "investment"] == pytest.approx(seed["batch_investment"]) == 14.0
    assert observed(db, "projects_signed", "shaoyang_etdz", "period")["2023-03"] == 11
    assert observed(db, "projects_signed_investment", "shaoyang_etdz", "period")["2023-03"] == pytest.approx(14.0)
    assert observed(db, "projects_signed_over_1b", "shaoyang_etdz", "period")["2023-06"] == 1  # the 16亿元 battery project
    assert observed(db, "project_investment_completed", "hunan")["2023-10"] == pytest.approx(252.29)
    assert round(observed(db, "project_completion_rate", "hunan")["2023-10"], 2) == seed["completion_rate"] == 122.17
    plans = read_projects(deployment, db).query("unit == 'hunan'")["annual_plan"].sum()
    assert plans == pytest.approx(206.5)
    # …and through a rule on the derived indicator, like any reported figure (a rule of this test's own:
    # the example has none, since seed 002 names no leader for the province's projects).
    (deployment.root / "rules" / "hunan_projects.yaml").write_text(HUNAN_RULE, encoding="utf-8")
    verdicts = rules.evaluate(deployment, db, as_of="2023-11-20", rules=["hunan_ten_projects_completion"])
    assert verdicts.loc[0, "status"] == "on_track" and round(verdicts.loc[0, "value"], 2) == 122.17
    lines = "\n".join(explain(deployment, db, "hunan_ten_projects_completion", "hunan", as_of="2023-11-20"))
    assert "1-10月累计：10 个项目，合计 252.29" in lines and "2023年度计划投资：10 个项目，合计 206.5" in lines
    assert "上汽大众新能源汽车项目" in lines


def at(deployment, db, day: str) -> pd.DataFrame:
    """The project checks with the clock at ``day``, on the ledger as finally reported (the controllable clock)."""
    latest = read_projects(deployment, db)
    return project_verdicts(deployment, db, periods.as_of_instant(day), projects=latest).set_index(["rule", "indicator"])


@pytest.mark.parametrize("day, status", [("2023-02-01", "on_track"), ("2023-03-31", "at_risk"), ("2023-04-15", "behind")])
def test_signed_without_start_stalls_after_the_limit(ledgers, day, status):
    # 智能装备制造产业园项目: signed 2023-01-10; 先进制造 uses the default 90 days (at risk from 80% = 72 days).
    row = at(*ledgers, day).loc[("project_stall_signed", "DX-2023-001")]
    assert row["status"] == status
    assert row["leader"] == "wu_yi" and row["lead_department"] == "daxiang_kgxj"


@pytest.mark.parametrize("day, status", [("2023-07-10", "on_track"), ("2023-09-15", "behind")])
def test_a_sector_has_its_own_stall_limit(ledgers, day, status):
    # 锂电池材料项目 (新能源: 180 days), signed 2023-03-15: 117 days on 7-10, 184 on 9-15.
    assert at(*ledgers, day).loc[("project_stall_signed", "DX-2023-003"), "status"] == status


@pytest.mark.parametrize("day, status", [("2022-12-31", "at_risk"), ("2023-03-20", "behind")])
def test_started_without_production_stalls_after_the_limit_in_months(ledgers, day, status):
    # 食品精深加工项目: started 2021-09-15; 18 months (at risk from 14.4).
    assert at(*ledgers, day).loc[("project_stall_started", "DX-2022-011"), "status"] == status


@pytest.mark.parametrize("day, status, overdue", [("2023-04-01", "on_track", 0), ("2023-05-10", "at_risk", 0), ("2023-06-10", "behind", 10)])
def test_a_milestone_by_a_date(ledgers, day, status, overdue):
    # 智能装备制造产业园项目: 计划开工 "5月底前" = 2023-05-31, never started.
    row = at(*ledgers, day).loc[("project_milestone_start", "DX-2023-001")]
    assert (row["status"], row["value"]) == (status, overdue)


def test_a_milestone_reached_in_time_is_on_track(ledgers):
    # 新型建材生产线项目 started 2023-03-18; its 投产 is planned for 2023-12 (month only: its last day).
    row = at(*ledgers, "2023-07-10").loc[("project_milestone_production", "DX-2023-002")]
    assert row["status"] == "on_track" and "2023-12-31" in row["message"]


def test_funds_pacing_against_the_contract(ledgers):
    verdicts = at(*ledgers, "2023-07-10")
    # 智能装备制造产业园项目: 12亿元 signed 6 months ago expects about 3亿元 over 24 months; 0.22 arrived.
    row = verdicts.loc[("project_funds_pacing", "DX-2023-001")]
    assert row["status"] == "behind" and row["value"] == pytest.approx(0.22) and 2.9 < row["target"] < 3.0
    # 新型建材生产线项目 is ahead of its pace; projects signed less than 3 months ago are not judged yet.
    assert verdicts.loc[("project_funds_pacing", "DX-2023-002"), "status"] == "on_track"
    assert ("project_funds_pacing", "DX-2023-006") not in verdicts.index
    # 邵阳经开区's ledger has no 到位资金 columns: no data is not zero, so nothing is judged there.
    assert not any(p.startswith("SYETDZ") for r, p in verdicts.index if r == "project_funds_pacing")


def test_evaluate_carries_project_verdicts_and_rules_on_derived_indicators(ledgers):
    deployment, db = ledgers
    verdicts = rules.evaluate(deployment, db, as_of="2025-10-20")
    ledger_rule = verdicts[verdicts["rule"] == "xdt_projects_signed_ledger"].iloc[0]
    assert ledger_rule["value"] == 8  # 西洞庭管理区: eight projects signed in January–September 2025
    assert {"project_stall_signed", "project_funds_pacing"} <= set(verdicts["rule"])
    assert verdicts[verdicts["rule"].str.startswith("project_")]["period"].unique().tolist() == ["2025-09"]


def test_explain_lists_the_projects_behind_a_count(ledgers):
    deployment, db = ledgers
    lines = "\n".join(explain(deployment, db, "xdt_projects_signed_ledger", "xidongting", as_of="2025-10-20"))
    assert "项目台账中构成该数的项目" in lines and "1-9月累计：8 个项目，合计 8" in lines
    assert "XDT-2025-02 生物饲料产业园项目：1" in lines and "XDT-2024-09" not in lines


def test_a_leaders_digest_has_a_section_with_their_stalled_projects(ledgers):
    from exporters.digest import build_digest

    deployment, db = ledgers
    verdicts = rules.evaluate(deployment, db, as_of="2023-07-10")
    own = verdicts[(verdicts["leader"] == "wu_yi") & (verdicts["period"] == "2023-06")]
    text = build_digest(deployment, "wu_yi", "2023-06", own).text
    head, section = text.split("\n项目：\n")
    assert "智能装备制造产业园项目：签约未开工" in section and "已停滞" in section
    assert "项目：签约未开工" not in head


def test_the_projects_command_lists_stages_and_stalled_projects_as_json(ledgers):
    from targetwatch.cli import app

    deployment, _ = ledgers
    result = CliRunner().invoke(app, ["projects", "--config", str(deployment.root), "--as-of", "2023-07-10", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert len(listed) == 21 and {p["stage"] for p in listed} == {"signed", "started", "in_production"}
    stalled = [p for p in listed if p["stalled"]]
    assert stalled and stalled[0]["project"] == "DX-2023-001"
    first = stalled[0]
    assert (first["stage_zh"], first["days_in_stage"], first["leader_name"]) == ("签约", 181, "伍毅")
    assert "project_stall_signed" in first["flags"] and first["funds_by_month"]["2023-06"] > 0
    only = CliRunner().invoke(app, ["projects", "--config", str(deployment.root), "--as-of", "2023-07-10",
                                    "--unit", "大祥区", "--stage", "开工", "--format", "json"])
    assert {(p["unit"], p["stage"]) for p in json.loads(only.output)} == {("daxiang", "started")}


def test_the_projects_command_prints_the_signing_batches(ledgers):
    from targetwatch.cli import app

    deployment, _ = ledgers
    result = CliRunner().invoke(app, ["projects", "--config", str(deployment.root), "--batches", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert {"batch": "2023年邵阳市招商引资重点产业项目集中签约", "projects": 11, "investment": 14.0} in json.loads(result.output)


def test_listing_respects_the_as_of_time_of_revisions(ledgers):
    deployment, db = ledgers
    early = list_projects(deployment, db, as_of="2023-07-05")  # 邵阳经开区 reported on 07-03, 大祥区 on 07-05
    assert set(early["unit"]) == {"daxiang", "daxiang_park", "shaoyang_etdz"}
    assert list_projects(deployment, db, as_of="2023-07-01").empty  # nothing reported by then


def test_a_project_without_a_leader_goes_to_the_configured_owner(ledgers):
    deployment, db = ledgers
    assert at(deployment, db, "2023-07-10").loc[("project_stall_signed", "SYETDZ-2023-02"), "leader"] is None
    config = deployment.root / "projects.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "owner: liu_jian\n", encoding="utf-8")
    row = at(deployment, db, "2023-07-10").loc[("project_stall_signed", "SYETDZ-2023-02")]
    assert row["leader"] == "liu_jian" and row["lead_department"] is None
    # …whom Alertmanager then routes to, like every 包联领导 of the ledgers.
    from exporters.owners import leaders

    assert "liu_jian" in leaders(deployment) and "xin_qin" in leaders(deployment)


@pytest.mark.parametrize("args, says", [
    (["--unit", "火星区"], "unknown unit '火星区'"),
    (["--stage", "竣工了"], "unknown stage '竣工了'"),
    (["--format", "xml"], "unknown format 'xml'"),
])
def test_the_projects_command_refuses_an_unknown_unit_stage_or_format_with_exit_2(ledgers, args, says):
    # A mistyped --unit or --stage printed an empty table with exit 0 (read as "no projects"), and an
    # unknown --format was reported as an internal error with exit 4.
    from targetwatch.cli import app

    deployment, _ = ledgers
    result = CliRunner().invoke(app, ["projects", "--config", str(deployment.root), *args])
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.output.split()) and "internal error" not in result.output, result.output
