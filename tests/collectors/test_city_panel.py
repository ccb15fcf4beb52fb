"""The real city panel through the CSV collector, with a small wide mapping: published facts hold.

Reads ../shared/data/cn_prefecture_city_panel_1990_2023.csv (UTF-8 with BOM, one row per year and city).
"""

import textwrap

import pandas as pd
import pytest

from collectors.ingest import ingest_file
from targetwatch import periods
from targetwatch.deployment import load_deployment
from targetwatch.store.sqlite import SQLiteStore
from tests.conftest import shared_data

HUNAN = ["长沙市", "株洲市", "湘潭市", "衡阳市", "邵阳市", "岳阳市", "常德市", "张家界市", "益阳市", "郴州市", "永州市", "怀化市", "娄底市"]
IDS = ["changsha", "zhuzhou", "xiangtan", "hengyang", "shaoyang", "yueyang", "changde", "zhangjiajie", "yiyang", "chenzhou", "yongzhou", "huaihua", "loudi"]

MAPPING = textwrap.dedent(
    """
    apiVersion: targetwatch/v1
    kind: Collector
    metadata: {name: city-panel, title: 地级市面板（湖南）}
    spec:
      files: ["*.csv"]
      sheets:
        - shape: wide
          unit_column: city
          period: {from: column, column: year}
          where: {province: 湖南省}
          columns:
            - {header: gdp_growth, indicator: gdp_growth}
            - {header: gdp, indicator: gdp, measure: 万元}
            - {header: fixed_asset_inv, indicator: fixed_asset_inv, measure: 万元}
    """
)


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    path = shared_data("cn_prefecture_city_panel_1990_2023.csv")
    root = tmp_path_factory.mktemp("panel")
    (root / "registry").mkdir()
    (root / "collectors").mkdir()
    units = "\n".join(f"  - {{id: {i}, name: {n}, kind: city, parent: hunan, groups: [hunan_cities]}}" for i, n in zip(IDS, HUNAN))
    (root / "registry" / "units.yaml").write_text(
        "groups:\n  - {id: hunan_cities, name: 湖南省地级市, reference_unit: hunan}\n"
        f"units:\n  - {{id: hunan, name: 湖南省, kind: province}}\n{units}\n", encoding="utf-8")
    (root / "registry" / "indicators.yaml").write_text(textwrap.dedent(
        """
        indicators:
          - {id: gdp, name: 地区生产总值, measure: 亿元, frequency: yearly}
          - {id: gdp_growth, name: 地区生产总值增速, measure: "%", kind: growth, growth_of: gdp, frequency: yearly}
          - {id: fixed_asset_inv, name: 固定资产投资, measure: 亿元, frequency: yearly}
        """), encoding="utf-8")
    (root / "collectors" / "panel.yaml").write_text(MAPPING, encoding="utf-8")
    (root / "settings.yaml").write_text(f"sqlite_path: {root / 'store.db'}\n", encoding="utf-8")
    dep = load_deployment(root)
    store = SQLiteStore(root / "store.db")
    result = ingest_file(dep, store, path)
    yield dep, store, result, path
    store.close()


def test_the_panel_ingests_without_quarantine_and_skips_other_provinces(panel):
    _, _, result, path = panel
    raw = pd.read_csv(path, encoding="utf-8-sig", usecols=["province"])
    assert result.ok, result.error
    assert result.skipped == int((raw["province"] != "湖南省").sum())


def test_hunan_has_13_cities_in_the_panel(panel):
    _, store, _, _ = panel
    assert sorted(store.read(indicators=["gdp_growth"])["unit"].astype(str).unique()) == sorted(IDS)


def test_in_2021_chenzhou_grew_fastest_and_zhangjiajie_slowest(panel):
    _, store, _, _ = panel
    y2021 = periods.parse("2021").code
    growth = store.read(indicators=["gdp_growth"], start=y2021, end=y2021).set_index("unit")["value"]
    assert growth.idxmax() == "chenzhou" and growth.max() == pytest.approx(8.8)
    assert growth.idxmin() == "zhangjiajie" and growth.min() == pytest.approx(4.5)


def test_gdp_in_wan_yuan_is_scaled_to_yi_yuan(panel):
    _, store, _, path = panel
    raw = pd.read_csv(path, encoding="utf-8-sig", usecols=["year", "city", "gdp"])
    published = raw[(raw["year"] == 2023) & (raw["city"] == "长沙市")]["gdp"].iloc[0]
    y = periods.parse("2023").code
    got = store.read(indicators=["gdp"], units=["changsha"], start=y, end=y)["value"].iloc[0]
    assert got == pytest.approx(published / 1e4)
    assert round(got) == 14332  # README spot check: Changsha 2023 GDP 14,332 亿元


def test_blanks_stay_missing_never_zero(panel):
    _, store, result, path = panel
    raw = pd.read_csv(path, encoding="utf-8-sig", usecols=["year", "province", "fixed_asset_inv", "gdp_growth", "gdp"])
    hunan = raw[raw["province"] == "湖南省"]
    assert result.not_reported == int(hunan[["gdp_growth", "gdp", "fixed_asset_inv"]].isna().sum().sum())
    y2018 = periods.parse("2018").code
    assert store.read(indicators=["fixed_asset_inv"], start=y2018, end=y2018).empty  # blank from 2017 on
    # exactly the non-blank cells are stored: no blank became a zero
    assert len(store.read(indicators=["gdp_growth"])) == int(hunan["gdp_growth"].notna().sum())
