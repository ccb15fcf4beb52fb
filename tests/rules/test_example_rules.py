"""The example deployment's rules (config/rules/): they check clean, their unit tests pass, and every
rule can be traced back to the line of the seed document it encodes.

Both ways in are exercised: the library functions (``rules.check.check``, ``rules.ruletest.run_rule_tests``)
and the commands (``targetwatch rules check`` / ``rules test``) through typer's CliRunner.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

import rules
from rules.check import check
from rules.check import load_rules
from rules.ruletest import run_rule_tests
from targetwatch import yamlio
from targetwatch.cli import app
from targetwatch.deployment import load_deployment
from targetwatch.store.sqlite import SQLiteStore
from tests.conftest import EXAMPLE_CONFIG, ROOT, require

RULE_TESTS = sorted((EXAMPLE_CONFIG / "rules" / "tests").glob("*_test.yaml"))
SEED_FILES = {"000": "000_d0ce50ffedb95717.txt", "003": "003_5ec870b4533af18b.txt", "004": "004_a3b394d0850e17df.txt"}
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="module")
def example():
    return load_deployment(EXAMPLE_CONFIG)


@pytest.fixture(scope="module")
def ruleset(example):
    return load_rules(EXAMPLE_CONFIG, example)


def _case_count(files) -> int:
    return sum(len(yamlio.load(f)["tests"]) for f in files)


# Seed 003 names no 分管副区长 for the 六岭 project (L433–440 leave the cell empty): its rule keeps the
# 责任人 and 联络人 the seed gives, and rules check warns that no leader will get its verdicts.
KNOWN_WARNINGS = ["dx_liuling_investment_may_jun: no leader"]


def test_rules_check_finds_no_error_and_only_the_known_warning(example):
    problems = check(EXAMPLE_CONFIG, example)
    assert [p for p in problems if p.level == "error"] == []
    assert [p.message.split(":")[0] + ": no leader" for p in problems] == KNOWN_WARNINGS
    assert all(p.message.startswith(KNOWN_WARNINGS[0]) for p in problems)


def test_rules_check_command_exits_zero_on_the_example():
    result = CliRunner().invoke(app, ["rules", "check", "--config", str(EXAMPLE_CONFIG)])
    assert result.exit_code == 0, result.output
    assert "0 error(s), 1 warning(s)" in result.output


def test_each_seed_has_its_rule_file_and_test_file(ruleset):
    files = {Path(d.file).name for d in ruleset.docs}
    assert files == {"xidongting_2025.yaml", "daxiang_2023_may_june.yaml", "xiangyin_2023.yaml"}
    assert [f.name for f in RULE_TESTS] == ["daxiang_2023_may_june_test.yaml", "xiangyin_2023_test.yaml", "xidongting_2025_test.yaml"]


def test_rule_unit_tests_pass_through_the_library(example):
    results = run_rule_tests(example, RULE_TESTS)
    assert [f"{r.name}: {r.failures}" for r in results if not r.ok] == []
    assert len(results) == _case_count(RULE_TESTS)


def test_rule_unit_tests_pass_through_the_command():
    # Each case judges only the rules it names, so the command runs every file as the library test does.
    files = RULE_TESTS
    result = CliRunner().invoke(app, ["rules", "test", *map(str, files), "--config", str(EXAMPLE_CONFIG)])
    assert result.exit_code == 0, result.output
    assert f"{_case_count(files)} passed, 0 failed" in result.output
    assert "FAIL" not in result.output


def test_a_wrong_expectation_makes_the_command_fail(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "xidongting_2025.yaml").write_bytes((EXAMPLE_CONFIG / "rules" / "xidongting_2025.yaml").read_bytes())
    broken = tmp_path / "tests" / "broken_test.yaml"
    text = (EXAMPLE_CONFIG / "rules" / "tests" / "xidongting_2025_test.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("status: on_track, value: 5.6, target: 5.5, gap: 0.1",
                                   "status: behind, value: 5.6, target: 5.5, gap: 0.1"), encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "test", str(broken), "--config", str(EXAMPLE_CONFIG)])
    assert result.exit_code != 0
    assert "xdt_gdp_growth xidongting status: expected 'behind', got 'on_track'" in result.output
    assert f"{_case_count([broken]) - 1} passed, 1 failed" in result.output


def test_every_rule_names_an_owner_and_its_source_line(ruleset):
    for doc in ruleset.rules:
        spec = doc.doc.spec
        assert spec.owners and (spec.owners.leader or spec.owners.responsible), doc.id
        assert spec.owners.leader or doc.id + ": no leader" in KNOWN_WARNINGS, doc.id
        assert spec.source and spec.source.seed in SEED_FILES and spec.source.line and spec.source.quote, doc.id
        assert doc.doc.metadata.effective_from is not None, doc.id


def _squash(text: str) -> str:
    # Word tables put spaces inside names and numbers ("王  亮", "8.5% 以上"); compare without any.
    return re.sub(r"\s+", "", text)


def test_every_quote_is_found_at_its_seed_line(ruleset):
    require(SEEDS.is_dir(), f"the seed documents are absent from {SEEDS}")
    lines = {seed: (SEEDS / name).read_text(encoding="utf-8").splitlines() for seed, name in SEED_FILES.items()}
    missing = []
    for doc in [*ruleset.rules, *ruleset.scorecards]:
        src = doc.doc.spec.source
        near = _squash("".join(lines[src.seed][max(src.line - 3, 0): src.line + 2]))
        for fragment in filter(None, (_squash(f) for f in src.quote.split("…"))):
            if fragment.rstrip("。；") not in near:
                missing.append(f"{doc.id}: {src.seed}:L{src.line} lacks {fragment!r}")
    assert missing == []


def test_contradicting_targets_are_dated_versions_of_one_rule(ruleset):
    trade = ruleset.versions("xy_trade_growth")
    assert [(d.version, d.doc.metadata.effective_from, d.doc.spec.target.floor) for d in trade] == [
        (1, date(2023, 2, 12), 10.0), (2, date(2023, 3, 9), 30.0)]
    training = ruleset.versions("xy_skills_training")
    assert [(d.doc.metadata.effective_from, d.doc.spec.target.annual) for d in training] == [
        (date(2023, 2, 2), 2000.0), (date(2023, 2, 12), 2500.0)]


def test_without_any_report_no_rule_says_behind(example, tmp_path):
    store = SQLiteStore(tmp_path / "empty.db")
    try:
        for day in (date(2023, 6, 20), date(2023, 7, 31), date(2025, 7, 31)):
            verdicts = rules.evaluate(example, store, as_of=day)
            assert len(verdicts) > 0
            assert set(verdicts["status"]) <= {"no_data", "late"}, day
            assert verdicts["value"].isna().all()
    finally:
        store.close()
