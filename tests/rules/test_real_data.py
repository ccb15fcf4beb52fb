"""Proof on real data: ranks and comparisons computed by the engine agree with the published tables.

A small deployment of Hunan's 14 市州 plus 全省 (the group's reference unit) is built in a temporary
folder. The official tables go through the CSV collector into a real SQLite store, and rank and
above-reference rules are evaluated with ``rules.evaluate``. Every expected fact is derived from the
CSV with plain pandas, independently of the engine, and checked against the published picture where
the data README states it (郴州 8.8 top and 张家界 4.5 bottom in 2021).
"""

from __future__ import annotations

import textwrap
from datetime import date, datetime, timezone

import pandas as pd
import pytest

import rules
from collectors.ingest import ingest_file
from targetwatch.deployment import load_deployment
from targetwatch.store.sqlite import SQLiteStore
from tests.conftest import shared_data

PREFECTURES = {
    "changsha": "长沙市", "zhuzhou": "株洲市", "xiangtan": "湘潭市", "hengyang": "衡阳市", "shaoyang": "邵阳市",
    "yueyang": "岳阳市", "changde": "常德市", "zhangjiajie": "张家界市", "yiyang": "益阳市", "chenzhou": "郴州市",
    "yongzhou": "永州市", "huaihua": "怀化市", "loudi": "娄底市", "xiangxi": "湘西自治州",
}
ID_OF = {name: uid for uid, name in PREFECTURES.items()}

INDICATORS = """
indicators:
  - {id: iva_cum_growth, name: 规模工业增加值累计增速, measure: "%", kind: growth, frequency: monthly, basis: ytd, decimals: 1, deadline: {days: 20}}
  - {id: iva_month_growth, name: 规模工业增加值当月增速, measure: "%", kind: growth, frequency: monthly, basis: period, decimals: 1, deadline: {days: 20}}
  - {id: gdp_growth, name: 地区生产总值增速, measure: "%", kind: growth, frequency: yearly, basis: ytd, decimals: 2, deadline: {days: 120}}
"""

COLLECTORS = """
apiVersion: targetwatch/v1
kind: Collector
metadata: {name: hunan-2017m11, title: 湖南省14市州规模工业增加值（2017年1-11月）}
spec:
  files: [hunan_prefecture_industry_2017m11_official.csv]
  sheets:
    - shape: wide
      unit_column: unit
      period: {from: fixed, value: 2017-11}
      columns:
        - {header: ind_va_cum_yoy_pct_2017_jan_nov, indicator: iva_cum_growth, basis: ytd}
        - {header: ind_va_month_yoy_pct_2017_11, indicator: iva_month_growth, basis: period}
---
apiVersion: targetwatch/v1
kind: Collector
metadata: {name: hunan-2012m04, title: 湖南省14市州规模工业增加值（2012年1-4月）}
spec:
  files: [hunan_prefecture_industry_2012m04_official.csv]
  sheets:
    - shape: wide
      unit_column: unit
      period: {from: fixed, value: 2012-04}
      columns:
        - {header: ind_va_cum_yoy_pct, indicator: iva_cum_growth, basis: ytd}
---
apiVersion: targetwatch/v1
kind: Collector
metadata: {name: city-panel, title: 地级市面板（湖南）}
spec:
  files: [cn_prefecture_city_panel_1990_2023.csv]
  sheets:
    - shape: wide
      unit_column: city
      period: {from: column, column: year}
      where: {province: 湖南省}
      columns:
        - {header: gdp_growth, indicator: gdp_growth}
"""


def _rule(rule_id: str, indicator: str, target: str) -> str:
    return textwrap.dedent(f"""\
        ---
        apiVersion: targetwatch/v1
        kind: Rule
        metadata: {{id: {rule_id}, title: {rule_id}, version: 1}}
        spec:
          indicator: {indicator}
          group: hunan_prefectures
          target: {target}
        """)


RULES = "".join([
    # The rank of every 市州 (top: 1 only to make the engine rank the whole group) and the bottom one.
    _rule("iva_rank", "iva_cum_growth", "{kind: rank, top: 1}"),
    _rule("iva_not_last", "iva_cum_growth", "{kind: rank, not_bottom: 1}"),
    # 排名不落于后三位 (seed 003) on the official table; the ties at 6.5 and 7.0 share their places
    _rule("iva_not_bottom3", "iva_cum_growth", "{kind: rank, not_bottom: 3}"),
    # 全省前七名（且不得并列名次）, seed 003's wording applied to the province's 市州
    _rule("iva_top7_no_ties", "iva_cum_growth", "{kind: rank, top: 7, ties: fail}"),
    # 高于全省平均水平: strictly above the province's own reported figure.
    _rule("iva_above_province", "iva_cum_growth", '{kind: compare, reference: group_figure, op: ">"}'),
    _rule("iva_month_above_province", "iva_month_growth", '{kind: compare, reference: group_figure, op: ">"}'),
    # The panel has no province row: ranks, and the comparison with the mean of the cities that reported.
    _rule("gdp_rank", "gdp_growth", "{kind: rank, top: 1}"),
    _rule("gdp_above_peer_mean", "gdp_growth", '{kind: compare, reference: peer_mean, op: ">"}'),
])


@pytest.fixture(scope="module")
def hunan(tmp_path_factory):
    """The deployment and a store holding the three real tables, each ingested as one batch."""
    root = tmp_path_factory.mktemp("hunan")
    for sub in ("registry", "collectors", "rules"):
        (root / sub).mkdir()
    members = "\n".join(
        f"  - {{id: {uid}, name: {name}, kind: prefecture, parent: hunan, groups: [hunan_prefectures]"
        + (", aliases: [湘西土家族苗族自治州]}" if uid == "xiangxi" else "}")
        for uid, name in PREFECTURES.items()
    )
    (root / "registry" / "units.yaml").write_text(
        "groups:\n  - {id: hunan_prefectures, name: 湖南省市州, reference_unit: hunan}\n"
        f"units:\n  - {{id: hunan, name: 湖南省, kind: province, aliases: [全省]}}\n{members}\n", encoding="utf-8")
    (root / "registry" / "indicators.yaml").write_text(INDICATORS, encoding="utf-8")
    (root / "collectors" / "hunan.yaml").write_text(COLLECTORS, encoding="utf-8")
    (root / "rules" / "hunan.yaml").write_text(RULES, encoding="utf-8")
    (root / "settings.yaml").write_text(f"sqlite_path: {root / 'store.db'}\n", encoding="utf-8")
    dep = load_deployment(root)
    store = SQLiteStore(root / "store.db")
    reported = datetime(2024, 6, 30, tzinfo=timezone.utc)
    results = {name: ingest_file(dep, store, shared_data(name), reported_at=reported) for name in (
        "hunan_prefecture_industry_2017m11_official.csv",
        "hunan_prefecture_industry_2012m04_official.csv",
        "cn_prefecture_city_panel_1990_2023.csv",
    )}
    yield dep, store, results
    store.close()


def _verdicts(hunan, period: str, rule: str) -> pd.DataFrame:
    dep, store, _ = hunan
    frame = rules.evaluate(dep, store, as_of=date(2024, 12, 31), period=period, rules=[rule])
    return frame.set_index("unit")


def _official(name: str, column: str) -> tuple[pd.Series, float]:
    """The 14 市州 values (by unit id) and the 全省 figure of one column of an official table."""
    raw = pd.read_csv(shared_data(name))
    province = float(raw.loc[raw["unit_level"] == "province", column].iloc[0])
    cities = raw[raw["unit_level"] == "prefecture"]
    return cities.set_index(cities["unit"].map(ID_OF))[column], province


def _expected_ranks(values: pd.Series) -> pd.Series:
    """Competition ranks, highest growth first (1, 2, 2, 4), of the values that are present."""
    return values.dropna().rank(ascending=False, method="min").astype(int)


def test_every_table_lands_whole_without_quarantine(hunan):
    _, _, results = hunan
    for name, result in results.items():
        assert result.ok, (name, result.error, result.reasons)
        assert result.batch.quarantined == 0


# ---- 2017: 规模工业增加值, January–November cumulative and November alone ------------------------------


OFFICIAL_2017 = "hunan_prefecture_industry_2017m11_official.csv"


def test_2017_ranks_agree_with_the_official_table(hunan):
    cities, _ = _official(OFFICIAL_2017, "ind_va_cum_yoy_pct_2017_jan_nov")
    got = _verdicts(hunan, "2017-11", "iva_rank")
    expected = _expected_ranks(cities)
    assert got.loc[expected.index, "rank"].astype(int).to_dict() == expected.to_dict()
    assert set(got["group_size"]) == {14} and set(got["reported"]) == {14}
    # the published picture: 娄底 first at 8.6 (ahead of 长沙's 8.3), 岳阳 last at 5.4
    assert got.loc["loudi", "rank"] == 1 and got.loc["loudi", "value"] == pytest.approx(8.6)
    assert got.loc["changsha", "rank"] == 2 and got.loc["changsha", "value"] == pytest.approx(8.3)
    assert got.loc["yueyang", "rank"] == 14 and got.loc["yueyang", "value"] == pytest.approx(5.4)
    # only the top city is on track for top: 1
    assert got.index[got["status"] == "on_track"].tolist() == ["loudi"]


def test_2017_ties_share_a_rank(hunan):
    cities, _ = _official(OFFICIAL_2017, "ind_va_cum_yoy_pct_2017_jan_nov")
    got = _verdicts(hunan, "2017-11", "iva_rank")
    tied_groups = [sorted(g.index) for _, g in cities.groupby(cities) if len(g) > 1]
    assert tied_groups == [["changde", "hengyang"], ["shaoyang", "zhuzhou"]]  # 6.5 and 7.0
    for group in tied_groups:
        assert got.loc[group, "rank"].nunique() == 1
    assert got.loc["zhuzhou", "rank"] == got.loc["shaoyang", "rank"] == 6  # after 娄底, 长沙, 永州, 益阳, 湘潭
    assert got.loc["chenzhou", "rank"] == 8  # the next rank after a tie is skipped
    assert got.loc["hengyang", "rank"] == got.loc["changde", "rank"] == 10


def test_2017_bottom_city_fails_not_last(hunan):
    got = _verdicts(hunan, "2017-11", "iva_not_last")
    assert got.index[got["status"] == "behind"].tolist() == ["yueyang"]


@pytest.mark.parametrize("table, column, period", [
    ("hunan_prefecture_industry_2017m11_official.csv", "ind_va_cum_yoy_pct_2017_jan_nov", "2017-11"),
    ("hunan_prefecture_industry_2012m04_official.csv", "ind_va_cum_yoy_pct", "2012-04"),
])
def test_not_bottom_three_agrees_with_pandas_on_both_official_tables(hunan, table, column, period):
    cities, _ = _official(table, column)
    expected_behind = sorted(cities.index[_expected_ranks(cities) > len(cities) - 3])
    got = _verdicts(hunan, period, "iva_not_bottom3")
    assert sorted(got.index[got["status"] == "behind"]) == expected_behind
    assert len(expected_behind) == 3  # no tie straddles the line in either table
    assert set(got["reported"]) == set(got["group_size"]) == {14}  # complete: no provisional verdicts


def test_2017_top7_without_ties_fails_the_two_cities_sharing_sixth_place(hunan):
    cities, _ = _official(OFFICIAL_2017, "ind_va_cum_yoy_pct_2017_jan_nov")
    ranks = _expected_ranks(cities)
    shared = cities.duplicated(keep=False)
    expected = sorted(cities.index[(ranks.reindex(cities.index) <= 7) & ~shared])
    assert expected == ["changsha", "loudi", "xiangtan", "yiyang", "yongzhou"]
    got = _verdicts(hunan, "2017-11", "iva_top7_no_ties")
    assert sorted(got.index[got["status"] == "on_track"]) == expected
    assert got.loc[["zhuzhou", "shaoyang"], "status"].tolist() == ["behind", "behind"]
    assert got.loc[["zhuzhou", "shaoyang"], "rank"].tolist() == [6, 6]


def test_2017_exactly_the_cities_strictly_above_the_province_are_on_track(hunan):
    cities, province = _official(OFFICIAL_2017, "ind_va_cum_yoy_pct_2017_jan_nov")
    assert province == 7.1
    got = _verdicts(hunan, "2017-11", "iva_above_province")
    expected_above = sorted(cities.index[cities > province])
    assert expected_above == ["changsha", "loudi", "yiyang", "yongzhou"]
    assert sorted(got.index[got["status"] == "on_track"]) == expected_above
    assert sorted(got.index[got["status"] == "behind"]) == sorted(cities.index[cities <= province])
    # 湘潭 equals the province: not above it
    assert got.loc["xiangtan", "value"] == pytest.approx(7.1) and got.loc["xiangtan", "status"] == "behind"
    assert got.loc["xiangtan", "gap"] == pytest.approx(0.0)
    assert got["reference"].tolist() == pytest.approx([7.1] * 14)
    assert (got["gap"] - (got["value"] - province)).abs().max() < 1e-9


def test_2017_november_alone_is_compared_with_the_province_month(hunan):
    cities, province = _official(OFFICIAL_2017, "ind_va_month_yoy_pct_2017_11")
    got = _verdicts(hunan, "2017-11", "iva_month_above_province")
    assert province == 9.4
    assert sorted(got.index[got["status"] == "on_track"]) == sorted(cities.index[cities > province])
    assert sorted(cities.index[cities > province]) == ["changsha", "huaihua", "shaoyang", "yongzhou"]


# ---- 2012: 规模工业增加值, January–April cumulative -------------------------------------------------------


OFFICIAL_2012 = "hunan_prefecture_industry_2012m04_official.csv"


def test_2012_ranks_and_comparison_with_the_province(hunan):
    cities, province = _official(OFFICIAL_2012, "ind_va_cum_yoy_pct")
    assert province == 15.9
    ranks = _verdicts(hunan, "2012-04", "iva_rank")
    expected = _expected_ranks(cities)
    assert ranks.loc[expected.index, "rank"].astype(int).to_dict() == expected.to_dict()
    assert ranks.loc["changde", "rank"] == 1 and ranks.loc["changde", "value"] == pytest.approx(20.3)
    assert ranks.loc["xiangxi", "rank"] == 14 and ranks.loc["xiangxi", "value"] == pytest.approx(7.9)
    assert ranks.loc["zhuzhou", "rank"] == ranks.loc["loudi", "rank"] == 9  # both 14.1
    above = _verdicts(hunan, "2012-04", "iva_above_province")
    expected_above = sorted(cities.index[cities > province])
    assert expected_above == ["changde", "chenzhou", "hengyang", "shaoyang", "yiyang", "yongzhou", "yueyang"]
    assert sorted(above.index[above["status"] == "on_track"]) == expected_above


# ---- the city panel: Hunan's 13 cities, gdp_growth --------------------------------------------------------


PANEL = "cn_prefecture_city_panel_1990_2023.csv"


def _panel_year(year: int) -> pd.Series:
    raw = pd.read_csv(shared_data(PANEL), encoding="utf-8-sig", usecols=["year", "province", "city", "gdp_growth"])
    rows = raw[(raw["province"] == "湖南省") & (raw["year"] == year)]
    return rows.set_index(rows["city"].map(ID_OF))["gdp_growth"]


@pytest.mark.parametrize("year", [2021, 2022, 2023])
def test_panel_gdp_growth_ranks_and_peer_mean_agree_with_pandas(hunan, year):
    growth = _panel_year(year)
    assert len(growth) == 13 and growth.notna().all()
    ranks = _verdicts(hunan, str(year), "gdp_rank")
    expected = _expected_ranks(growth)
    assert ranks.loc[expected.index, "rank"].astype(int).to_dict() == expected.to_dict()
    # 湘西自治州 is not a city in the panel: it is a member that never reported, so no rank and no verdict of behind
    assert pd.isna(ranks.loc["xiangxi", "rank"]) and ranks.loc["xiangxi", "status"] in ("no_data", "late")
    assert set(ranks["reported"]) == {13}
    above = _verdicts(hunan, str(year), "gdp_above_peer_mean")
    assert above["reference"].tolist() == pytest.approx([growth.mean()] * 14)
    assert sorted(above.index[above["status"] == "on_track"]) == sorted(growth.index[growth > growth.mean()])


def test_panel_2021_published_extremes(hunan):
    ranks = _verdicts(hunan, "2021", "gdp_rank")
    assert ranks.loc["chenzhou", "rank"] == 1 and ranks.loc["chenzhou", "value"] == pytest.approx(8.8)
    assert ranks.loc["zhangjiajie", "rank"] == 13 and ranks.loc["zhangjiajie", "value"] == pytest.approx(4.5)


def test_panel_ties_in_2022_and_2023(hunan):
    r2022 = _verdicts(hunan, "2022", "gdp_rank")
    assert r2022.loc[["changsha", "zhuzhou", "changde"], "rank"].nunique() == 1  # all 4.5
    r2023 = _verdicts(hunan, "2023", "gdp_rank")
    assert r2023.loc["chenzhou", "rank"] == r2023.loc["loudi", "rank"]  # both 5.0


def test_panel_blank_stays_missing_never_zero(hunan):
    growth = _panel_year(1995)
    blank = growth.index[growth.isna()].tolist()
    assert len(blank) == 1 and growth.notna().sum() == 12
    ranks = _verdicts(hunan, "1995", "gdp_rank")
    assert set(ranks["reported"]) == {12}
    assert pd.isna(ranks.loc[blank[0], "value"]) and pd.isna(ranks.loc[blank[0], "rank"])
    assert ranks.loc[blank[0], "status"] in ("no_data", "late")
    # the blank city is not ranked last as if it were zero: the last rank goes to a city that reported
    assert ranks["rank"].max() == 12
    above = _verdicts(hunan, "1995", "gdp_above_peer_mean")
    assert above["reference"].tolist() == pytest.approx([growth.mean()] * 14)  # the mean of the 12 that reported
