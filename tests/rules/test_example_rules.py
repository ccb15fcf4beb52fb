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
SEED_FILES = {"000": "000_d0ce50ffedb95717.txt", "001": "001_d60dd8ae0f53930d.txt", "003": "003_5ec870b4533af18b.txt",
              "004": "004_a3b394d0850e17df.txt"}
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
    assert files == {"xidongting_2025.yaml", "xidongting_qidagongjian_2025.yaml", "daxiang_2023_may_june.yaml", "xiangyin_2023.yaml"}
    assert [f.name for f in RULE_TESTS] == ["daxiang_2023_may_june_test.yaml", "xiangyin_2023_test.yaml", "xidongting_2025_test.yaml",
                                            "xidongting_qidagongjian_2025_test.yaml"]


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


def test_seed_001_rules_are_owned_by_their_taskforce(ruleset, example):
    # 西管办发〔2025〕5号: each 攻坚 has a 工作专班; a rule names its 牵头单位 first, then the 专班
    rules_001 = [d for d in ruleset.rules if d.doc.spec.source.seed == "001"]
    assert len(rules_001) >= 55
    for doc in rules_001:
        owners = doc.doc.spec.owners
        assert owners.leader in example.people, doc.id
        assert example.units[owners.lead_department[0]].kind in ("department", "enterprise"), doc.id
        assert example.units[owners.lead_department[-1]].kind == "taskforce", doc.id
        assert doc.doc.spec.source.document.startswith("西管办发〔2025〕5号") and doc.doc.spec.source.issued == date(2025, 4, 27)
    titles = " ".join(d.doc.metadata.title for d in rules_001)
    for target in ("民间投资占全部投资的比重保持在60%以上", "技术合同认定登记额度超过5亿元", "24家", "49家", "1.1亿元", "增长8%", "5万美元",
                   "外资破零", "13.8%", "一网通办率达到90%", "1%以下", "9600万元", "融资平台清零", "30%", "电脑170台", "1300万元", "1706人",
                   "740元", "残疾儿童8人", "危旧房22套", "30.2公里", "580人", "就业困难人员就业150人", "143人"):
        assert target in titles, target


def test_contradicting_targets_are_dated_versions_of_one_rule(ruleset):
    trade = ruleset.versions("xy_trade_growth")
    assert [(d.version, d.doc.metadata.effective_from, d.doc.spec.target.floor) for d in trade] == [
        (1, date(2023, 2, 12), 10.0), (2, date(2023, 3, 9), 30.0)]
    labour = ruleset.versions("xdt_rural_labour_transfer")  # 000 (150) then 001 (143, 力争150)
    assert [(d.version, d.doc.metadata.effective_from, d.doc.spec.target.annual, d.doc.spec.target.stretch) for d in labour] == [
        (1, date(2025, 1, 1), 150.0, None), (2, date(2025, 4, 27), 143.0, 150.0)]
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


def test_owner_slips_found_in_review_are_fixed(ruleset):
    owners = {d.id: d.doc.spec.owners for d in ruleset.rules}
    # seed 003 item 8 (L211–227) prints one leader, 夏丹波, for every row
    item8 = [d for d in ruleset.rules if d.doc.spec.source.seed == "003" and 211 <= d.doc.spec.source.line <= 227]
    assert len(item8) >= 10 and {d.doc.spec.owners.leader for d in item8} == {"xia_danbo"}
    # 003:L181 pairs 张向东 (区文旅广体局) with 联络人 刘仕璇
    assert owners["dx_culture_revenue_above_province"].contacts == ["liu_shixuan"]
    # 000 row 44: 应急（水利）局 leads 安全生产; row 16: 畜牧中心 is among the 乡村振兴资金 departments
    assert owners["xdt_major_safety_accidents"].lead_department == ["xdt_yjj"]
    assert "xdt_xmzx" in owners["xdt_rural_funds_industry_share"].lead_department


def test_seed_004_targets_added_and_dated(ruleset):
    for rule_id in ("xy_new_market_entities_growth", "xy_individual_to_enterprise", "xy_new_trade_services_enterprises",
                    "xy_trade_breakzero_doubling_enterprises", "xy_town_funds_secured"):
        assert rule_id in ruleset.ids, rule_id
    towns = ruleset.versions("xy_town_funds_secured")[0].doc.spec
    assert towns.group == "xiangyin_towns" and towns.target.annual == 0.363
    bonds = ruleset.versions("xy_special_bonds_secured")  # 确保20亿 (L617, L719), then 15亿以上 (L1524)
    assert [(d.version, d.doc.spec.target.annual, d.doc.spec.target.stretch, d.doc.spec.tier) for d in bonds] == [
        (1, 20.0, None, "floor"), (2, 15.0, None, "floor")]
    grain = ruleset.versions("xy_grain_area")  # 118万亩 (L521), then 117万亩 (L1428) with 118 as the stretch
    assert [(d.doc.metadata.effective_from, d.doc.spec.target.floor, d.doc.spec.target.stretch) for d in grain] == [
        (date(2023, 2, 12), 118.0, None), (date(2023, 3, 9), 117.0, 118.0)]


def test_scorecards_score_as_their_seed_writes(ruleset):
    # 003:L248 按…排名…计分，未破零的记零分: by rank across 邵阳's county-level units, no invented bands
    cards = {d.id: d.doc.spec for d in ruleset.scorecards}
    qbs = [cards[i] for i in ("dx_qbs_projects_rank_score", "dx_qbs_projects_progress_score", "dx_qbs_enterprises_rank_score")]
    assert all(c.group == "shaoyang_counties" and not c.bands and c.floor is None for c in qbs)
    assert [c.items[0].scoring for c in qbs] == ["rank", "proportional", "rank"]
    assert all(c.items[0].zero_unless_broken for c in qbs)
    # the 90/80/60 bands belong to seed 004's 五好园区 evaluation (L271)
    parks = cards["xy_five_good_parks_score"]
    assert [(b.min, b.payout) for b in parks.bands] == [(90, 100), (80, 80), (60, 50), (0, 0)]
    assert "dx_industry_scorecard" not in cards


def _listing() -> list[tuple[str, int, str, str]]:
    """The README's per-target listing: (seed, line, quote, how) per row, under each seed's heading."""
    readme = (EXAMPLE_CONFIG / "rules" / "README.md").read_text(encoding="utf-8")
    listing = readme[readme.index("## Every quantified target, by seed and line"):]
    rows, seed = [], None
    for line in listing.splitlines():
        if line.startswith("### "):
            seed = line.split()[1]
        elif (row := re.match(r"^\| L(\d+) \| (.+) \| (.+) \|$", line)) and seed:
            rows.append((seed, int(row.group(1)), row.group(2).replace("\\|", "|"), row.group(3)))
    return rows


RULE_ID = re.compile(r"`((?:xdt7?|dx|xy)_[a-z0-9_]+(?: v\d+)?)`")


def test_the_readme_lists_every_rule_at_its_seed_line(ruleset):
    rows = _listing()
    missing = []
    for doc in [*ruleset.rules, *ruleset.scorecards]:
        src = doc.doc.spec.source
        entry = doc.id + (f" v{doc.version}" if doc.version > 1 else "")
        if not any(seed == src.seed and line == src.line and entry in RULE_ID.findall(how) for seed, line, _, how in rows):
            missing.append(f"{src.seed}:L{src.line} {entry}")
    assert missing == []


def test_every_row_of_the_readme_listing_names_a_known_rule_or_says_why_not(ruleset):
    known = {d.id for d in [*ruleset.rules, *ruleset.scorecards]}
    known |= {f"{d.id} v{d.version}" for d in ruleset.docs if d.version > 1}
    rows = _listing()
    assert {seed for seed, *_ in rows} == set(SEED_FILES) | {"002"}  # every seed, the news page 002 too
    unknown = [(seed, line, i) for seed, line, _, how in rows for i in RULE_ID.findall(how) if i not in known]
    assert unknown == []
    unsaid = [(seed, line, how) for seed, line, _, how in rows
              if not (how.startswith("not encoded: ") and how.removeprefix("not encoded: ").strip()) and not RULE_ID.search(how)]
    assert unsaid == []


def test_every_quote_of_the_readme_listing_is_found_at_its_seed_line():
    require(SEEDS.is_dir(), f"the seed documents are absent from {SEEDS}")
    files = {**SEED_FILES, "002": next(p.name for p in SEEDS.glob("002_*.txt"))}
    lines = {seed: (SEEDS / name).read_text(encoding="utf-8").splitlines() for seed, name in files.items()}
    missing = []
    for seed, line, quote, _ in _listing():
        near = _squash("".join(lines[seed][max(line - 3, 0): line + 2]))
        missing += [f"{seed}:L{line} lacks {f!r}" for f in filter(None, (_squash(q) for q in quote.split("…"))) if f not in near]
    assert missing == []
