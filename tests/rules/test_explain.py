"""`targetwatch explain` as a leader uses it on the example: Chinese names, refusals, suggestions, thresholds."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from rules.vocabulary import WORDS
from targetwatch.cli import app


@pytest.fixture
def example(deployment_dir):
    result = CliRunner().invoke(app, ["run", "--config", str(deployment_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    return deployment_dir


def explain(config, *args: str):
    return CliRunner().invoke(app, ["explain", *args, "--config", str(config)])


def test_chinese_rule_and_unit_names_explain_the_same_verdict_as_ids(example):
    by_id = explain(example, "dx_new_urban_jobs", "daxiang")
    by_name = explain(example, "2023年城镇新增就业1350人（6月底前完成55%）", "大祥区")
    by_part = explain(example, "城镇新增就业1350人", "大祥")  # a unique part of the title; the registry's alias
    assert by_id.exit_code == by_name.exit_code == by_part.exit_code == 0, by_name.output
    assert by_id.stdout == by_name.stdout == by_part.stdout


def test_a_unit_outside_the_rule_is_refused_with_the_rules_units(example):
    refused = explain(example, "dx_new_urban_jobs", "双清区")
    assert refused.exit_code != 0
    assert "不评估双清区（shuangqing）" in refused.output and "它评估的单位：大祥区（daxiang）" in refused.output
    assert "结论" not in refused.output  # no verdict computed for a unit the rule does not judge


def test_an_unknown_rule_gets_close_matches_not_the_catalogue(example):
    unknown = explain(example, "dx_new_urban_job", "大祥区")
    assert unknown.exit_code != 0
    assert "未知规则「dx_new_urban_job」" in unknown.output and "dx_new_urban_jobs" in unknown.output
    assert unknown.output.count("（") <= 12  # at most five suggestions, each with its title
    assert "xdt_made_in_xidongting_brands" not in unknown.output
    unit = explain(example, "dx_new_urban_jobs", "大祥去")
    assert unit.exit_code != 0 and "未知单位「大祥去」" in unit.output and "大祥区（daxiang）" in unit.output


def test_every_threshold_is_stated_including_the_at_risk_margin(example):
    pacing = explain(example, "dx_new_urban_jobs", "大祥区").stdout
    thresholds = next(line for line in pacing.splitlines() if line.strip().startswith("阈值："))
    for stated in ("年度任务 1350", "节点进度", "6月 55", "预警幅度", "5（百分点，占年度任务）"):
        assert stated in thresholds, (stated, thresholds)
    floor = explain(example, "dx_industrial_va_top7_no_ties", "大祥区").stdout
    assert "前 N 名 7" in floor and "不得并列" in floor
    no_margin = explain(example, "xdt_gdp_growth", "西洞庭管理区").stdout
    assert "预警幅度（差距不超过此值为有风险） 未设（未达目标即为落后）" in no_margin


def test_the_explanation_is_chinese_throughout_and_has_json(example):
    text = explain(example, "dx_new_urban_jobs", "大祥区").stdout
    conclusion = next(line for line in text.splitlines() if "结论" in line)
    assert any(words.label in conclusion for words in WORDS.values())
    # No English status ids, bases or kinds in what a leader reads (ids of rules, units and files aside).
    for english in ("on_track", "at_risk", "behind", "no_data", " ytd", "pacing", "checkpoints", "threshold"):
        assert english not in re.sub(r"dx_[a-z_]+|/[^ ]+", "", text), english
    data = json.loads(explain(example, "dx_new_urban_jobs", "大祥区", "--format", "json").stdout)
    assert (data["rule"], data["unit"], data["unit_name"]) == ("dx_new_urban_jobs", "daxiang", "大祥区")
    assert data["status_zh"] == WORDS[data["status"]].label
    assert data["thresholds"]["类型"] == "序时进度" and data["lines"][0].startswith("1. 规则 dx_new_urban_jobs")
