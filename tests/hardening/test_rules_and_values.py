"""Findings of issue 14 about rule files and values: located errors instead of tracebacks, bounds after scaling."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from collectors.ingest import ingest_file
from targetwatch.cli import app
from targetwatch.deployment import load_deployment
from targetwatch.store.sqlite import SQLiteStore

RULE = """\
apiVersion: targetwatch/v1
kind: Rule
metadata: {id: dx_gdp_growth, title: 地区生产总值增速, version: 1, effective_from: 2023-01-01}
spec:
  indicator: gdp_growth
  units: [daxiang]
  period: {from: 2023-Q1, to: 2023-Q4}
  target: {kind: floor, value: 5.5}
"""


@pytest.mark.parametrize("change, where, message", [
    (("effective_from: 2023-01-01", "effective_from: 2023-02-30"), ":3:", "invalid date '2023-02-30': day is out of range for month"),
    (("kind: Rule", "kind: []"), ":2:7", "unknown kind []"),
    (("kind: Rule", "kind: {a: 1}"), ":2:7", "unknown kind"),
])
def test_rules_check_reports_a_bad_rule_at_its_line_without_a_traceback(change, where, message, deployment_dir):
    (deployment_dir / "rules" / "zz_bad.yaml").write_text(RULE.replace(*change), encoding="utf-8")
    run = CliRunner().invoke(app, ["rules", "check", "--config", str(deployment_dir)])
    assert run.exit_code == 1, run.output
    assert "Traceback" not in run.output and run.exception is None or isinstance(run.exception, SystemExit)
    line = next(line for line in run.output.splitlines() if "zz_bad.yaml" in line)
    assert where in line and message in line, run.output


def test_an_impossible_date_in_a_registry_is_a_located_configuration_error(deployment_dir):
    (deployment_dir / "settings.yaml").write_text("as_of: 2023-02-30\n", encoding="utf-8")
    run = CliRunner().invoke(app, ["config", "show", "--config", str(deployment_dir)])
    assert run.exit_code == 2 and "settings.yaml:1:8" in run.output and "invalid date" in run.output, run.output


def _ingest(deployment, db, tmp_path: Path, text: str):
    f = tmp_path / "values.csv"
    f.write_text("unit,indicator,period,value,measure\n" + text, encoding="utf-8")
    return ingest_file(deployment, db, f)


def test_a_value_that_overflows_when_scaled_is_quarantined_not_stored_as_inf(tmp_path, deployment, db):
    assert deployment.indicators["fiscal_revenue"].measure == "万元"
    result = _ingest(deployment, db, tmp_path, "北塔区,fiscal_revenue,2023-06,1e305,亿元\n双清区,fiscal_revenue,2023-06,1.5,亿元\n")
    assert db.read(indicators=["fiscal_revenue"])["value"].tolist() == [15000.0]
    reasons = db.quarantined(result.file)["reason"].tolist()
    assert reasons == ["not a finite number in 万元 after scaling: inf"]


@pytest.mark.parametrize("row, reason", [
    ("北塔区,gdp_growth,2023-Q2,1001,", "implausible value 1001 % for gdp_growth: outside [-100, 1000] (indicator bounds)"),
    ("北塔区,gdp_growth,2023-Q2,-100.5,", "implausible value -100.5 % for gdp_growth: outside [-100, 1000] (indicator bounds)"),
    ("北塔区,gdp,2023-Q2,1e300,", "implausible value 1e+300 亿元 for gdp: outside [-1e+15, 1e+15] (indicator bounds)"),
])
def test_values_outside_the_default_bounds_of_their_kind_are_quarantined_with_the_reason(row, reason, tmp_path, deployment, db):
    result = _ingest(deployment, db, tmp_path, row + "\n双清区,gdp_growth,2023-Q2,-99.9,\n")
    assert db.quarantined(result.file)["reason"].tolist() == [reason]
    assert db.read(units=["shuangqing"])["value"].tolist() == [-99.9]


def test_a_negative_count_is_quarantined_and_registry_bounds_override_the_defaults(tmp_path, deployment_dir):
    counts = [i for i in load_deployment(deployment_dir).indicators.values() if i.kind == "count"]
    count = counts[0]
    registry = deployment_dir / "registry" / "indicators.yaml"
    text = registry.read_text(encoding="utf-8")
    # gdp_growth: a registry bound narrower than the default
    registry.write_text(text.replace("{id: gdp_growth,", "{id: gdp_growth, bounds: {min: -20, max: 30},", 1), encoding="utf-8")
    dep = load_deployment(deployment_dir)
    assert dep.indicators["gdp_growth"].value_bounds() == (-20, 30) and count.value_bounds()[0] == 0
    db = SQLiteStore(dep.settings.sqlite_path)
    try:
        period = "2023-06" if count.frequency == "monthly" else "2023-Q2"
        result = _ingest(dep, db, tmp_path, f"北塔区,{count.id},{period},-1,\n北塔区,gdp_growth,2023-Q2,31,\n北塔区,gdp_growth,2023-Q1,29,\n")
        assert sorted(db.quarantined(result.file)["reason"]) == [
            f"implausible value -1 {count.measure} for {count.id}: outside [0, 1e+15] (indicator bounds)",
            "implausible value 31 % for gdp_growth: outside [-20, 30] (indicator bounds)",
        ]
        assert db.read()["value"].tolist() == [29.0]
    finally:
        db.close()


@pytest.mark.parametrize("value, where, message", [
    ("version: !!int", ":3:", "not a valid integer"),  # fuzz seed 14, case 2177: IndexError in PyYAML
    ("version: " + "9" * 5000, ":3:", "invalid integer '999"),  # fuzz seed 20261114, case 942: ValueError
    ("version: !!bool maybe", ":3:", "not a valid true/false value 'maybe'"),
    ("[a]: 1, version: 1", ":3:", "a mapping key must be a single value"),  # fuzz seed 14, case 536: unhashable key
    ("version: 1\x00", ":3:", "invalid YAML: character U+0000"),  # fuzz seed 1, case 105: ReaderError
])
def test_values_pyyaml_cannot_construct_are_located_errors_found_by_the_fuzzer(value, where, message, deployment_dir):
    (deployment_dir / "rules" / "zz_bad.yaml").write_text(RULE.replace("version: 1", value), encoding="utf-8")
    run = CliRunner().invoke(app, ["rules", "check", "--config", str(deployment_dir)])
    assert run.exit_code == 1 and "Traceback" not in run.output, run.output
    line = next(line for line in run.output.splitlines() if "zz_bad.yaml" in line)
    assert where in line and message in line, run.output


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "1e400"])
def test_a_rule_threshold_that_is_not_a_finite_number_is_a_located_error(value, deployment_dir):
    # A NaN floor makes every comparison false and an infinite one is never met: rules check must say so, not pass.
    rule = RULE.replace("target: {kind: floor, value: 5.5}", f'target: {{kind: threshold, op: ">=", floor: {value}}}')
    (deployment_dir / "rules" / "zz_bad.yaml").write_text(rule, encoding="utf-8")
    run = CliRunner().invoke(app, ["rules", "check", "--config", str(deployment_dir)])
    assert run.exit_code == 1, run.output
    line = next(line for line in run.output.splitlines() if "zz_bad.yaml" in line)
    assert ":8:" in line and "finite number" in line, run.output


@pytest.mark.parametrize("bounds", ["{min: .nan}", "{max: .inf}"])
def test_registry_bounds_that_are_not_finite_numbers_are_a_located_configuration_error(bounds, deployment_dir):
    # A NaN bound compares false with every value, so it would silently let anything land.
    registry = deployment_dir / "registry" / "indicators.yaml"
    text = registry.read_text(encoding="utf-8")
    registry.write_text(text.replace("{id: gdp_growth,", f"{{id: gdp_growth, bounds: {bounds},", 1), encoding="utf-8")
    run = CliRunner().invoke(app, ["rules", "check", "--config", str(deployment_dir)])
    assert run.exit_code == 2 and "indicators.yaml:" in run.output and "finite number" in run.output, run.output
