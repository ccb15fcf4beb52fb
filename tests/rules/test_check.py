"""``rules check``: each case changes one field of a good rule and expects one located diagnostic."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from typer.testing import CliRunner

from conftest import write_rules
from rules.check import check
from rules.load import parse_documents, rule_files
from targetwatch.cli import app


def good_rule() -> dict:
    return {
        "apiVersion": "targetwatch/v1",
        "kind": "Rule",
        "metadata": {"id": "daxiang_iva_top7", "title": "规模工业增加值增速全市前七名", "version": 1, "effective_from": "2023-01-01"},
        "spec": {
            "indicator": "iva_growth",
            "units": ["daxiang"],
            "group": "shaoyang_counties",
            "period": {"from": "2023-01/02", "to": "2023-12"},
            "target": {"kind": "rank", "top": 7, "ties": "fail"},
            "owners": {"leader": "wu_yi", "lead_department": ["dept"]},
            "source": {"document": "大祥区2023年5-6月重点工作任务清单", "seed": "003", "line": 33},
        },
    }


def _set(doc: dict, path: str, value) -> dict:
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[key]
    node[last] = value
    return doc


def _check(mini, dep, *docs) -> list[str]:
    write_rules(mini, yaml.safe_dump_all(list(docs), allow_unicode=True, sort_keys=False))
    return [str(p) for p in check(mini, dep)]


def test_the_good_rule_passes(mini, dep):
    assert _check(mini, dep, good_rule()) == []


@pytest.mark.parametrize(
    "path, value, needle, expected",
    [
        ("spec.indicator", "gdp_growht", "indicator: gdp_growht", "unknown indicator 'gdp_growht'"),
        ("spec.units", ["daxiang", "dazhang"], "- dazhang", "unknown unit 'dazhang'"),
        ("spec.group", "shaoyang_towns", "group: shaoyang_towns", "unknown peer group 'shaoyang_towns'"),
        ("spec.period", {"frequency": "monthly", "from": "2023-Q1"}, "from: 2023-Q1", "period 2023-Q1 is quarterly, but the rule is judged monthly"),
        ("spec.owners", {"leader": "nobody"}, "leader: nobody", "unknown person 'nobody'"),
        ("spec.target", {"kind": "rank", "top": 7, "bottom": 3}, "bottom: 3", "unknown key 'bottom'"),
        ("spec.target", {"kind": "podium"}, "kind: podium", "tag 'podium' found using 'kind' does not match any of the expected tags"),
        ("apiVersion", "targetwatch/v2", "apiVersion:", "apiVersion must be 'targetwatch/v1'"),
    ],
    ids=["an unknown indicator is located", "an unknown unit is located at its list item", "an unknown group is located",
         "a period of the wrong frequency is located", "an unknown leader is located", "an unknown target key is located",
         "an unknown target kind is located", "an unknown api version is located"],
)
def test_one_bad_field_gives_one_located_error(mini, dep, path, value, needle, expected):
    problems = _check(mini, dep, _set(good_rule(), path, value))
    assert len(problems) == 1, problems
    assert expected in problems[0]
    lines = (mini / "rules" / "rules.yaml").read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if needle in text)
    assert f"rules.yaml:{line}:" in problems[0]


def test_a_monthly_rule_on_a_quarterly_indicator_is_an_error(mini, dep):
    problems = _check(mini, dep, _set(_set(good_rule(), "spec.indicator", "gdp_growth"), "spec.period", {"frequency": "monthly"}))
    assert len(problems) == 1 and "frequency monthly is finer than indicator 'gdp_growth', reported quarterly" in problems[0]


def test_an_empty_group_is_an_error(mini, dep):
    (mini / "registry" / "units.yaml").write_text((mini / "registry" / "units.yaml").read_text() .replace("  - {id: streets, name: 街道}", "  - {id: streets, name: 街道}\n  - {id: nobody_group, name: 空组}"), encoding="utf-8")
    from targetwatch.deployment import load_deployment

    problems = _check(mini, load_deployment(mini), _set(good_rule(), "spec.group", "nobody_group"))
    assert len(problems) == 1 and "peer group 'nobody_group' has no members" in problems[0]


def test_duplicate_ids_and_overlapping_versions_are_errors(mini, dep):
    v2 = _set(_set(good_rule(), "metadata.version", 2), "metadata.effective_from", "2023-06-01")
    v1 = _set(good_rule(), "metadata.effective_until", "2023-06-30")
    assert _check(mini, dep, v1, v2) == [
        f"{mini}/rules/rules.yaml:36:19: error: daxiang_iva_top7: version 2 overlaps version 1 (in force until 2023-06-30)"
    ]
    problems = _check(mini, dep, good_rule(), good_rule())
    assert len(problems) == 1 and "duplicate id: version 1 is also defined at" in problems[0]


def test_consecutive_versions_pass(mini, dep):
    v2 = _set(_set(good_rule(), "metadata.version", 2), "metadata.effective_from", "2023-07-01")
    assert _check(mini, dep, good_rule(), v2) == []


def test_the_versions_of_an_id_follow_the_docs_as_they_change(mini, dep):
    """RuleSet.versions indexes the docs once; a doc added or a list of docs replaced is seen at once."""
    v2 = _set(_set(good_rule(), "metadata.version", 2), "metadata.effective_from", "2023-07-01")
    write_rules(mini, yaml.safe_dump_all([good_rule(), v2], allow_unicode=True))
    ruleset = parse_documents(rule_files(mini))
    rule_id = ruleset.ids[0]
    first, second = ruleset.docs
    assert [d.version for d in ruleset.versions(rule_id)] == [1, 2] and ruleset.versions("nobody") == []
    ruleset.docs = [second]
    assert ruleset.versions(rule_id) == [second]
    ruleset.docs.append(first)
    assert ruleset.versions(rule_id) == [first, second]
    ruleset.versions(rule_id).clear()  # a caller's list is its own
    assert len(ruleset.versions(rule_id)) == 2


def test_an_allocation_that_does_not_add_up_is_an_error(mini, dep):
    rule = _set(good_rule(), "spec.target", {"kind": "pacing", "profile": "linear"})
    rule = _set(rule, "spec.units", ["longquan", "jinfeng"])
    rule = _set(rule, "spec.allocation", {"total": 1000, "values": {"longquan": 600, "jinfeng": 300}})
    rule["spec"].pop("group")
    rule = _set(rule, "spec.indicator", "jobs")
    problems = _check(mini, dep, rule)
    assert len(problems) == 1 and "allocation rows add up to 900, not the total 1000 (difference -100)" in problems[0]


def test_check_reports_every_problem_of_every_file_before_failing(mini, dep):
    write_rules(mini, yaml.safe_dump(_set(good_rule(), "spec.indicator", "nope"), allow_unicode=True), "a.yaml")
    write_rules(mini, yaml.safe_dump(_set(_set(good_rule(), "metadata.id", "other"), "spec.units", ["nowhere"]), allow_unicode=True), "b.yaml")
    result = CliRunner().invoke(app, ["rules", "check", "--config", str(mini)])
    assert result.exit_code == 1
    assert "a.yaml:10:14: error: daxiang_iva_top7: unknown indicator 'nope'" in result.stderr
    assert "b.yaml:" in result.stderr and "unknown unit 'nowhere'" in result.stderr
    assert "2 error(s), 0 warning(s)" in result.stderr


def test_schema_is_valid_json_schema_that_accepts_the_good_rule():
    import jsonschema

    result = CliRunner().invoke(app, ["rules", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.validate(good_rule(), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_set(good_rule(), "spec.target", {"kind": "podium"}), schema)


def test_the_schema_accepts_every_rule_document_of_the_example_deployment():
    import jsonschema

    from tests.conftest import EXAMPLE_CONFIG
    from targetwatch import yamlio

    schema = json.loads(CliRunner().invoke(app, ["rules", "schema"]).stdout)
    docs = [doc for path in sorted((EXAMPLE_CONFIG / "rules").glob("*.yaml")) for doc in yamlio.load_all(path)]
    assert len(docs) > 100
    validator = jsonschema.validators.validator_for(schema)(schema)  # check the schema once, not per document
    validator.check_schema(schema)
    for doc in docs:
        validator.validate(json.loads(json.dumps(doc, default=str)))


def test_a_ranked_unit_outside_the_peer_group_is_an_error(mini, dep):
    problems = _check(mini, dep, _set(good_rule(), "spec.units", ["longquan"]))
    assert len(problems) == 1 and "unit 'longquan' is not a member of peer group 'shaoyang_counties'" in problems[0]


def test_a_rule_nobody_leads_is_a_warning_not_an_error(mini, dep):
    rule = copy.deepcopy(good_rule())
    rule["spec"].pop("owners")
    rule["spec"]["indicator"] = "retail"  # iva_growth's registry entry names a leader, retail's does not
    rule["spec"]["units"] = ["beita"]  # 大祥区 has a leader of its own in the registry, 北塔区 none
    problems = _check(mini, dep, rule)
    assert len(problems) == 1 and ": warning: daxiang_iva_top7: no leader" in problems[0]
    rule["spec"]["units"] = ["daxiang"]
    assert _check(mini, dep, rule) == []
