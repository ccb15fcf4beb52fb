"""The generated dashboards: the committed JSON is exactly what the example deployment builds."""

from __future__ import annotations

import json
import re

from tests.conftest import EXAMPLE_CONFIG, ROOT, require
from typer.testing import CliRunner

from dashboards.build import GENERATED, build, dashboards, render, rule_units
from targetwatch.deployment import load_deployment

UIDS = ["tw-alerts", "tw-freshness", "tw-league", "tw-overview", "tw-projects", "tw-scorecard", "tw-trends"]


def boards() -> dict[str, dict]:
    return dashboards(load_deployment(EXAMPLE_CONFIG))


def panels(board: dict) -> list[dict]:
    out = []
    for panel in board["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def test_the_committed_json_is_what_the_build_writes_byte_for_byte(tmp_path):
    written = build(load_deployment(EXAMPLE_CONFIG), tmp_path)
    assert sorted(p.name for p in written) == [f"{uid}.json" for uid in UIDS]
    assert sorted(p.name for p in GENERATED.glob("*.json")) == [f"{uid}.json" for uid in UIDS]
    for path in written:
        committed = GENERATED / path.name
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"{committed.relative_to(ROOT)} is stale: run `targetwatch dashboards build` and commit it")


def test_the_cli_builds_into_the_folder_it_is_given(tmp_path):
    from targetwatch.cli import app

    result = CliRunner().invoke(app, ["dashboards", "build", "--config", str(EXAMPLE_CONFIG), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{uid}.json" for uid in UIDS]
    assert (tmp_path / "tw-overview.json").read_text(encoding="utf-8") == render(boards()["tw-overview"])


def test_every_dashboard_has_a_chinese_title_a_stable_uid_the_four_variables_and_links():
    titles = {uid: b["title"] for uid, b in boards().items()}
    assert titles == {
        "tw-overview": "目标完成情况总览", "tw-league": "指标排名表", "tw-scorecard": "单位记分卡",
        "tw-trends": "指标趋势", "tw-freshness": "数据报送及时性", "tw-alerts": "正在告警", "tw-projects": "项目推进",
    }
    for board in boards().values():
        assert board["schemaVersion"] == 41
        assert [v["name"] for v in board["templating"]["list"]][:4] == ["group", "unit", "indicator", "period"]
        assert board["links"][0]["type"] == "dashboards" and board["links"][0]["tags"] == ["targetwatch"]
        assert board["links"][0]["includeVars"] and board["links"][0]["keepTime"]
        assert "targetwatch" in board["tags"]
        ids = [p["id"] for p in panels(board)]
        assert len(ids) == len(set(ids)), "panel ids must be unique: deep links use them"


def test_the_peer_group_variable_comes_from_the_registry_with_member_regexes():
    deployment = load_deployment(EXAMPLE_CONFIG)
    group = boards()["tw-overview"]["templating"]["list"][0]
    members = "|".join(deployment.group_members("shaoyang_counties"))
    assert members.startswith("shuangqing|daxiang|beita|shaodong")
    assert group["options"][0] == {"selected": True, "text": "全部单位", "value": ".+"}
    assert {"selected": False, "text": "邵阳市县市区", "value": members} in group["options"]
    assert f"邵阳市县市区 : {members}" in group["query"]
    # One collapsed matrix per peer group that some target covers, restricted to its members; the groups
    # no rule of the example judges (西洞庭管理区街道, 湘阴县县直单位) would be empty matrices.
    rows = [p for p in boards()["tw-overview"]["panels"] if p["type"] == "row" and p.get("collapsed")]
    covered = {u for _rule, u in rule_units(deployment)}
    judged = [g.name for gid, g in deployment.groups.items() if covered & set(deployment.group_members(gid))]
    assert [r["title"] for r in rows] == judged
    assert "西洞庭管理区街道" not in judged and "邵阳市县市区" in judged
    assert f'unit=~"{members}"' in rows[0]["panels"][0]["targets"][0]["expr"]


def test_queries_use_the_exporters_metric_names_and_influx_measurements():
    text = json.dumps(boards(), ensure_ascii=False)
    metrics = set(re.findall(r"targetwatch_[a-z_]+", text))
    assert metrics == {
        "targetwatch_verdict_status", "targetwatch_verdict_value", "targetwatch_verdict_target", "targetwatch_verdict_gap",
        "targetwatch_verdict_rank", "targetwatch_verdict_group_size", "targetwatch_verdict_required_run_rate",
        "targetwatch_verdict_reference", "targetwatch_verdict_rank_change",
        "targetwatch_period_value", "targetwatch_period_target", "targetwatch_period_gap", "targetwatch_period_rank",
        "targetwatch_period_group_size", "targetwatch_period_reference", "targetwatch_period_rank_change",
        "targetwatch_unit_info", "targetwatch_indicator_info", "targetwatch_rule_info",
        "targetwatch_last_successful_ingest_timestamp_seconds",
        "targetwatch_project_reached", "targetwatch_project_stalled", "targetwatch_project_info",
        "targetwatch_project_days_in_stage", "targetwatch_project_funds_monthly_yi",
    }
    from exporters.verdicts import GAUGES, HISTORY_GAUGES

    exposed = {f"targetwatch_verdict_{s}" for s, _c, _h in GAUGES} | {f"targetwatch_period_{s}" for s, _c, _h in HISTORY_GAUGES}
    assert {m for m in metrics if m.startswith(("targetwatch_verdict_", "targetwatch_period_"))} - {"targetwatch_verdict_status"} <= exposed
    flux = [t["query"] for b in boards().values() for p in panels(b) for t in p.get("targets", []) if "query" in t]
    assert flux and all(q.startswith('from(bucket: "targetwatch")') for q in flux)
    assert any('r._measurement == "observation"' in q for q in flux)
    league = next(p for p in panels(boards()["tw-league"]) if p["id"] == 2)
    assert any("targetwatch_period_rank_change" in t["expr"] for t in league["targets"])  # 进位/退位 since the last period


def test_tables_link_down_to_the_scorecard_and_trends_of_the_row():
    league = boards()["tw-league"]
    table = next(p for p in panels(league) if p["id"] == 2)
    links = [prop for o in table["fieldConfig"]["overrides"] for prop in o["properties"] if prop["id"] == "links"]
    assert links == [{"id": "links", "value": [{"title": "下钻", "url": "/d/tw-scorecard/?var-unit=${__data.fields.unit}&${__url_time_range}"}]}]
    assert table["repeat"] == "indicator"


def test_the_alerts_board_answers_the_links_in_alerts_and_digests():
    import importlib.util

    require(importlib.util.find_spec("exporters.promrules") is not None, "exporters/promrules.py is not committed yet")
    from exporters.promrules import prometheus_rules

    board = boards()["tw-alerts"]
    assert [v["name"] for v in board["templating"]["list"]] == ["group", "unit", "indicator", "period", "leader"]
    assert board["templating"]["list"][4]["allValue"] == ".*"
    link = prometheus_rules()["groups"][0]["rules"][0]["annotations"]["dashboard"]
    assert link.startswith(f"http://127.0.0.1:3000/d/{board['uid']}/?var-leader=")
    exprs = [t["expr"] for p in panels(board) for t in p.get("targets", [])]
    assert 'count(ALERTS{alertstate="firing", leader=~"${leader}"}) or vector(0)' in exprs


def test_flux_uses_the_peer_group_value_as_a_regex_unescaped():
    # The group's value is already the member regex (a|b|c); ${group:regex} would escape its bars.
    text = json.dumps(boards(), ensure_ascii=False)
    assert "group:regex" not in text
    assert "r.unit =~ /^(${group})$/" in text


def test_the_freshness_board_lists_failed_consistency_checks():
    by_title = {p["title"]: p for p in panels(boards()["tw-freshness"])}
    data = by_title["数据核对：数据不一致（上下级合计）"]
    # Every column of the table is joined to the failed (behind) data-tier verdicts, like every verdict table.
    assert data["targets"] and all('tier="data", status=~"behind"} == 1' in t["expr"] for t in data["targets"])
