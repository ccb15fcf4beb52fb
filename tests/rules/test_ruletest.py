"""Rule unit tests (``rules.ruletest``): a case judges only the rules its expectations name."""

from __future__ import annotations

import json

from conftest import write_rules
from rules.check import load_rules
from rules.ruletest import case_verdicts, run_rule_tests

RULES = """
apiVersion: targetwatch/v1
kind: Rule
metadata: {id: pace, title: 项目序时进度}
spec: {indicator: projects, group: streets, target: {kind: pacing, annual: 12, profile: linear}}
---
apiVersion: targetwatch/v1
kind: Rule
metadata: {id: top1, title: 项目数第一}
spec: {indicator: projects, group: streets, target: {kind: rank, top: 1}}
---
apiVersion: targetwatch/v1
kind: Rule
metadata: {id: jobs, title: 城镇新增就业}
spec: {indicator: jobs, units: [daxiang], target: {kind: pacing, annual: 1000}}
---
apiVersion: targetwatch/v1
kind: Scorecard
metadata: {id: card, title: 项目建设计分}
spec:
  group: streets
  items:
    - {rule: pace, points: 60, scoring: proportional}
    - {rule: top1, points: 40}
"""
INPUT = [{"indicator": "projects", "period": "2023-06", "reported": "2023-07-10", "values": {"longquan": 5, "jinfeng": 1}},
         {"indicator": "jobs", "period": "2023-06", "reported": "2023-07-06", "values": {"daxiang": 600}}]


def _case(*expect: dict) -> dict:
    return {"name": "case", "as_of": "2023-07-20", "input": INPUT, "expect": list(expect)}


def test_a_case_judges_only_the_rules_it_names(mini, dep):
    write_rules(mini, RULES)
    verdicts = case_verdicts(dep, load_rules(mini, dep), _case({"rule": "jobs", "unit": "daxiang", "status": "on_track"}))
    assert verdicts[["rule", "unit", "status"]].values.tolist() == [["jobs", "daxiang", "on_track"]]


def test_a_named_scorecard_still_judges_its_items_but_reports_only_itself(mini, dep):
    write_rules(mini, RULES)
    verdicts = case_verdicts(dep, load_rules(mini, dep), _case({"rule": "card", "unit": "longquan"}))
    assert sorted(set(verdicts["rule"])) == ["card"]
    scores = dict(zip(verdicts["unit"], verdicts["value"]))
    # longquan: pace 5/6 of 60 = 50, top1 40; jinfeng: pace 1/6 of 60 = 10, not first
    assert scores == {"longquan": 90.0, "jinfeng": 10.0}


def test_a_missing_verdict_says_why(mini, dep, tmp_path):
    write_rules(mini, RULES)
    tests = tmp_path / "cases_test.yaml"
    case = _case({"rule": "jobs", "unit": "beita", "status": "on_track"}, {"rule": "nosuch", "unit": "daxiang"},
                 {"rule": "pace", "unit": "longquan", "status": "on_track"})
    # JSON is YAML: the test file written from the same dict
    tests.write_text(json.dumps({"rule_files": [str(mini / "rules" / "rules.yaml")], "tests": [case]}, ensure_ascii=False), encoding="utf-8")
    [result] = run_rule_tests(dep, [tests])
    assert result.failures == [
        "jobs beita: no verdict (units judged: daxiang)",
        "nosuch daxiang: no verdict (no such rule)",
        "pace longquan status: expected 'on_track', got 'behind'",
    ]
