"""Generate the example deployment's inbox: SYNTHETIC workbooks and CSVs, not official figures.

    python bench/make_examples.py [OUT_DIR]      # default: config/inbox

The files have the messy shape departments really send: a title row, merged group headers, unit names
padded with spaces, "/" and blanks for not reported, numbers stored as text, one report written in 万元
where the catalogue keeps 亿元, a later 修订 file that corrects one value, and a CSV in GBK. The numbers
come from ``numpy.random.default_rng(2023)``, shaped so that the targets of seed 003 (大祥区, May–June
2023) and seed 000 (西洞庭管理区, 2025) give a mix of verdicts; ``check_story`` asserts that mix.

Re-running reproduces the committed files: workbook properties and zip entry times are pinned to each
file's report date (byte for byte on the same zlib; the unpacked parts are identical everywhere).
``build()`` also returns every value the files hold, in the indicator's own unit of measure, which
tests/collectors/test_examples.py compares with what the collectors land.
"""

from __future__ import annotations

import re
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

ROOT = Path(__file__).resolve().parents[1]
NR = "/"  # how departments write "not reported"

# The twelve county-level units of 邵阳市 as the city's statistics bureau writes them, some padded.
COUNTIES = {
    "shuangqing": "双清区", "daxiang": "大  祥", "beita": "北塔区", "shaodong": "邵东市", "wugang": "武冈市",
    "xinshao": "新邵县", "shaoyang_county": "邵阳县", "longhui": "隆回县", "dongkou": "洞口县",
    "suining": "绥宁县", "xinning": "新  宁", "chengbu": "城步县",
}
IDS = list(COUNTIES)
DX = IDS.index("daxiang")
MONTHS = [2, 3, 4, 5, 6]  # 2 is the combined 1-2月 release
# Size of each county (share of the city), used for city figures of growth-only indicators.
WEIGHT = np.array([7.5, 8.2, 4.1, 22.0, 8.8, 6.8, 7.2, 9.6, 8.0, 3.9, 5.2, 2.6])
# Year-to-date level at month m as a share of the January–June level.
YTD_SHARE = {2: 0.31, 3: 0.49, 4: 0.655, 5: 0.825, 6: 1.0}


@dataclass
class Col:
    """One value column of a sheet, under a merged group header (None: one header over both rows)."""

    group: str | None
    sub: str
    indicator: str | None = None  # None: a column the mapping does not read (位次)
    key: str | None = None  # the series it shows
    rank: bool = False  # a 位次 column: the counties' rank on ``key``
    factor: float = 1.0  # file value × factor = value in the indicator's unit of measure
    basis: str = "ytd"
    period: str | None = None  # the column's own period (a sheet with one column per quarter)


@dataclass
class Sheet:
    name: str
    title: str
    unit_header: str
    period: str | None  # canonical period of the sheet's values
    cols: list[Col]
    labels: dict[str, str]  # unit id → the name written in the sheet
    cells: dict[str, list] = field(default_factory=dict)  # unit id → cells as written (number, text, "/", None)


@dataclass
class Book:
    path: str  # relative to the inbox
    reported: datetime  # the report date: workbook properties and zip times are pinned to it
    sheets: list[Sheet] = field(default_factory=list)


# ---- numbers -------------------------------------------------------------------------------------


class Numbers:
    """Seeded series with the seed-003 story placed on 大祥区."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def distinct(self, x: np.ndarray, gap: float = 0.3) -> np.ndarray:
        """Spread values so that no two counties tie by accident (ranks must be unambiguous)."""
        order = np.argsort(-x, kind="stable")
        s = x[order].copy()
        for k in range(1, len(s)):
            s[k] = min(s[k], s[k - 1] - gap)
        out = np.empty_like(s)
        out[order] = s
        return np.round(out, 1)

    def walk(self, base: float, spread: float, step: float = 0.45) -> np.ndarray:
        """Year-to-date growth per county (rows) and month (columns): a level that drifts slowly."""
        start = self.rng.normal(base, spread, size=len(IDS))
        steps = self.rng.normal(0, step, size=(len(IDS), len(MONTHS)))
        steps[:, 0] = 0
        g = start[:, None] + np.cumsum(steps, axis=1)
        return np.stack([self.distinct(g[:, j]) for j in range(len(MONTHS))], axis=1)


def place(col: np.ndarray, rank: int, tie: bool = False) -> float:
    """The value that gives 大祥区 ``rank`` (1 = highest) among the counties; ``tie`` shares it with one."""
    others = np.sort(np.delete(col, DX))[::-1]
    return float(others[rank - 1]) if tie else round(float(others[rank - 1]) + 0.1, 1)


def ease_in(series: np.ndarray, drawn: np.ndarray) -> None:
    """Bend 大祥区's earlier months toward its placed May/June values: year-to-date growth drifts, it
    does not jump. Earlier months move by a growing share of the first change, and avoid ties."""
    changed = np.flatnonzero(series[DX] != drawn)
    if not len(changed):
        return
    first = changed[0]
    delta = series[DX, first] - drawn[first]
    for k in range(first):
        value = round(float(drawn[k] + delta * (k + 1) / (first + 1)), 1)
        while (np.delete(series[:, k], DX) == value).any():
            value = round(value + 0.1, 1)
        series[DX, k] = value


def rank_of(col: np.ndarray, i: int = DX) -> int:
    return int((col > col[i]).sum()) + 1


def city_growth(weights: np.ndarray, growth: np.ndarray) -> float:
    return round(float(np.average(growth, weights=weights)), 1)


GROWTH_ONLY = ["iva", "fai", "estate", "housing", "trade", "elec", "elec_ind"]


def shaoyang_series(rng: np.random.Generator) -> dict:
    """The 邵阳 monthly figures: one frame per (year, month), rows 全市 then the counties.

    Columns: the growth-only series, the levels (retail, services in 亿元; fiscal in 万元) with their
    growth (``*_g``), and the tax share of fiscal revenue. Levels of 2022 follow from 2023's growth, and
    the city's growth follows from the levels, so that a derived year-on-year growth agrees.
    """
    n = Numbers(rng)
    j = {mo: k for k, mo in enumerate(MONTHS)}
    now = {"iva": n.walk(6.8, 1.8), "fai": n.walk(6.0, 4.5, 0.8), "retail_g": n.walk(6.6, 1.3),
           "services_g": n.walk(8.5, 4.0, 0.9), "fiscal_g": n.walk(5.0, 6.0, 1.2), "estate": n.walk(-8.0, 8.0, 1.5),
           "housing": n.walk(-3.0, 9.0, 1.5), "trade": n.walk(12.0, 20.0, 3.0), "elec": n.walk(4.0, 2.5, 0.6),
           "elec_ind": n.walk(5.0, 4.0, 0.9)}
    then = {"iva": n.walk(7.4, 2.0), "fai": n.walk(9.5, 4.0), "retail_g": n.walk(2.1, 1.5),
            "services_g": n.walk(4.0, 4.0), "fiscal_g": n.walk(3.0, 6.0), "estate": n.walk(-4.0, 9.0),
            "housing": n.walk(-18.0, 9.0), "trade": n.walk(20.0, 25.0), "elec": n.walk(5.5, 2.5),
            "elec_ind": n.walk(6.0, 4.0)}
    now["tax_share"] = np.round(n.rng.normal(63, 7, len(IDS))[:, None] + n.rng.normal(0, 0.8, (len(IDS), len(MONTHS))), 1)
    then["tax_share"] = np.round(now["tax_share"] + n.rng.normal(1.5, 1.0, now["tax_share"].shape), 1)

    # The story of seed 003 for 大祥区 (5 = 1-5月, 6 = 1-6月); check_story() asserts the outcome.
    drawn = {key: values[DX].copy() for key, values in now.items()}
    for key, month, rank, tie in [
        ("iva", 5, 7, True),  # 全市前七名 but tied with another county: 不得并列 fails
        ("iva", 6, 6, False),  # sixth and alone: on target
        ("fai", 5, 4, False), ("fai", 6, 3, False),  # ahead
        ("services_g", 5, 9, False), ("services_g", 6, 10, False),  # in the bottom three: behind
        ("retail_g", 5, 8, False), ("retail_g", 6, 5, False),  # 进位: eighth (as revised) to fifth
        ("elec", 5, 7, False), ("elec", 6, 5, False),  # 进位
        ("elec_ind", 5, 4, False), ("elec_ind", 6, 6, False),  # lost two places
    ]:
        now[key][DX, j[month]] = place(now[key][:, j[month]], rank, tie)

    shares = np.array([YTD_SHARE[mo] for mo in MONTHS])
    noise = lambda: 1 + n.rng.normal(0, 0.02, (len(IDS), len(MONTHS)))  # noqa: E731
    h1 = {"retail": np.array([48.2, 52.6, 22.4, 95.1, 50.3, 30.2, 35.4, 45.7, 38.1, 15.2, 21.9, 9.8]),
          "services": np.array([14.1, 16.3, 6.2, 21.5, 9.4, 5.1, 5.8, 8.9, 7.7, 2.6, 3.9, 1.7]),
          "fiscal": np.array([61000, 72500, 30100, 162000, 68800, 50200, 55300, 71400, 59900, 30800, 38500, 21600.0])}
    decimals = {"retail": 2, "services": 2, "fiscal": 0}
    for key, level in h1.items():
        now[key] = np.round(level[:, None] * shares * noise(), decimals[key])
    own = np.round(98000 * shares, 0)  # 市本级 fiscal revenue, counted in the city's figure only
    own_then = np.round(own / (1 + n.rng.normal(4.0, 0.5, len(MONTHS)) / 100), 0)

    def city_levels(key, year):
        total = (now if year == 2023 else then)[key].sum(axis=0)
        extra = (own if year == 2023 else own_then) if key == "fiscal" else 0
        return np.round(total + extra, decimals[key])

    def settle_levels():
        for key in h1:
            then[key] = np.round(now[key] / (1 + now[f"{key}_g"] / 100), decimals[key])

    # 大祥区's fiscal revenue grows 0.6 points slower than the city's in June: behind.
    for _ in range(3):
        settle_levels()
        city_g = (city_levels("fiscal", 2023) / city_levels("fiscal", 2022) - 1) * 100
        now["fiscal_g"][DX, j[6]] = round(float(np.round(city_g[j[6]], 1)) - 0.6, 1)
    # Real estate investment falls faster than the city's (behind); housing sales grow faster (ahead).
    for key, delta in (("estate", -2.5), ("housing", 4.0)):
        now[key][DX, j[6]] = round(city_growth(WEIGHT, now[key][:, j[6]]) + delta, 1)
    for key, first in drawn.items():
        ease_in(now[key], first)
    settle_levels()

    frames = {}
    for year, data in ((2023, now), (2022, then)):
        for k, month in enumerate(MONTHS):
            frame = pd.DataFrame({key: values[:, k] for key, values in data.items()}, index=IDS)
            city = {key: city_growth(WEIGHT, frame[key]) for key in GROWTH_ONLY}
            for key in h1:
                city[key] = city_levels(key, year)[k]
                if year == 2023:
                    city[f"{key}_g"] = round(float((city[key] / city_levels(key, 2022)[k] - 1) * 100), 1)
                else:
                    city[f"{key}_g"] = city_growth(h1[key], frame[f"{key}_g"])
            city["tax_share"] = round(float(np.average(frame["tax_share"], weights=frame["fiscal"])), 1)
            frames[(year, month)] = pd.concat([pd.DataFrame(city, index=["shaoyang"]), frame])[frame.columns]
    # The first 1-5月 file carried a typo in 大祥区's retail growth (4th place); the 修订 file fixes it.
    frames["typo"] = place(now["retail_g"][:, j[5]], 4)
    return frames


def gdp_series(rng: np.random.Generator) -> dict:
    """Quarterly GDP (亿元, year to date) and its growth at comparable prices, 2022-Q1 … 2023-Q2."""
    annual22 = np.array([205.0, 231.0, 112.0, 688.0, 262.0, 198.0, 214.0, 281.0, 229.0, 108.0, 149.0, 71.0])
    ytd = np.array([0.22, 0.47, 0.72, 1.0])
    levels22 = np.round(annual22[:, None] * ytd * (1 + rng.normal(0, 0.015, (12, 4))), 2)
    growth22 = np.round(rng.normal(4.3, 0.8, (12, 4)), 1)
    growth23 = np.round(rng.normal(4.6, 0.7, (12, 2)), 1)
    levels23 = np.round(levels22[:, :2] * (1 + (growth23 + 1.2) / 100), 2)  # nominal: real growth + prices
    city = lambda lv: np.round(lv.sum(axis=0) * 0.96, 2)  # noqa: E731  (counties' sum exceeds the city's own)
    g_city = lambda g, lv: np.round(np.average(g, axis=0, weights=lv), 1)  # noqa: E731
    growth23[DX] = [round(float(g_city(growth23, levels23)[0]) + 0.4, 1), round(float(g_city(growth23, levels23)[1]) - 0.4, 1)]
    return {
        "periods": ["2022-Q1", "2022-Q2", "2022-Q3", "2022-Q4", "2023-Q1", "2023-Q2"],
        "labels": ["2022年一季度", "2022年二季度", "2022年三季度", "2022年四季度", "2023年一季度", "2023年二季度"],
        "level": np.hstack([levels22, levels23]),
        "growth": np.hstack([growth22, growth23]),
        "level_city": np.hstack([city(levels22), city(levels23)]),
        "growth_city": np.hstack([g_city(growth22, levels22), g_city(growth23, levels23)]),
    }


def gdp_frames(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """GDP levels and growth as frames: rows 全市 then the counties, one column per quarter label."""
    g = gdp_series(rng)
    index = ["shaoyang", *IDS]
    level = pd.DataFrame(np.vstack([g["level_city"], g["level"]]), index=index, columns=g["labels"])
    growth = pd.DataFrame(np.vstack([g["growth_city"], g["growth"]]), index=index, columns=g["labels"])
    return level, growth


# ---- 西洞庭管理区 2025 (seed 000) ---------------------------------------------------------------

XDT_MONTHS = [2, 3, 4, 5, 6, 7, 8, 9]
XDT_ROWS = {"xidongting": "西洞庭管理区", "xdt_longquan": "龙泉街道", "xdt_jinfeng": "金凤街道"}


def xidongting_series(rng: np.random.Generator) -> dict:
    """Year-to-date figures of 西洞庭管理区 for 2025 (None where the 1-2月 release has no figure).

    The paths are set against the 2025 targets (GDP ≥5.5%, fiscal ≥2.5%, industry ≥6.5%, investment
    ≥5%, retail ≥6%, unemployment ≤4.5%, 12 projects, 1000 jobs) so that some months are behind.
    """
    jitter = lambda size, sd: rng.normal(0, sd, size)  # noqa: E731
    fiscal_g = np.round(np.array([-1.8, 0.6, 1.9, 2.2, 2.8, 2.4, 3.1]) + jitter(7, 0.05), 1)
    fiscal = np.round(26300 * np.array([0.1, 0.21, 0.3, 0.4, 0.52, 0.6, 0.69, 0.78])[1:] * (1 + jitter(7, 0.01)), 0)
    retail = np.round(14.2 * np.array([0.16, 0.24, 0.32, 0.40, 0.49, 0.57, 0.65, 0.74]) * (1 + jitter(8, 0.01)), 2)
    jobs = np.array([230, 320, 410, 505, 590, 680, 760]) + rng.integers(-6, 7, 7)
    return {
        "fiscal": [None, *fiscal], "fiscal_g": [None, *fiscal_g],
        "iva": list(np.round(np.array([7.1, 6.8, 6.2, 6.0, 6.4, 6.6, 6.9, 7.0]) + jitter(8, 0.04), 1)),
        "fai": list(np.round(np.array([3.5, 4.2, 4.8, 5.3, 5.6, 5.1, 4.9, 5.4]) + jitter(8, 0.04), 1)),
        "retail": list(retail),
        "retail_g": list(np.round(np.array([5.2, 5.6, 5.9, 6.1, 6.3, 6.0, 6.2, 6.4]) + jitter(8, 0.04), 1)),
        "projects": [None, 2, 3, 4, 6, 7, 8, 10], "projects_10bn": [None, 0, 0, 0, 1, 1, 1, 1],
        "jobs": [None, *jobs], "jobs_longquan": [None, *np.round(jobs * 0.34)], "jobs_jinfeng": [None, *np.round(jobs * 0.27)],
        "rural": [None, 25, 40, 58, 72, 88, 101, 116],
        "gdp": list(np.round(np.array([9.8, 21.3, 33.0]) * (1 + jitter(3, 0.01)), 2)),
        "gdp_g": [5.8, 5.3, 5.6], "unemployment": [4.2, 4.6, 4.4],
        "rd": 31560, "rd_g": 10.3,
    }


# ---- 大祥区 department counts (long CSVs) -------------------------------------------------------


def cumulative(rng: np.random.Generator, total: int, months: int) -> list[int]:
    """A year-to-date count that reaches ``total`` after ``months`` months, growing unevenly."""
    weights = rng.dirichlet(np.full(months, 6.0))
    return [int(v) for v in np.round(np.cumsum(weights) * total)]


def daxiang_long(rng: np.random.Generator) -> tuple[list[list], list[list]]:
    """Rows of the UTF-8 file (ids, with basis and source) and of the GBK file (Chinese names)."""
    jobs = []
    # 2023: the annual task and what is done by the end of June (55% is the target).
    for indicator, annual, done in [("new_urban_jobs", 1350, 0.511), ("rural_labour_transfer", 340, 0.591),
                                    ("poverty_labour_employment", 2755, 0.566), ("skills_training", 450, 0.511),
                                    ("startup_training", 125, 0.576)]:
        for month, value in enumerate(cumulative(rng, round(annual * done), 6), start=1):
            jobs.append(["daxiang", indicator, f"2023-{month:02d}", value, "ytd", "区人社局"])
    for month, value in enumerate(cumulative(rng, 1322, 12), start=1):
        jobs.append(["daxiang", "new_urban_jobs", f"2022-{month:02d}", value, "ytd", "区人社局"])
    for month, value in enumerate([0, 0, 1, 1, 1, 1], start=1):  # 5-6月新增1家: not yet
        jobs.append(["daxiang", "new_industrial_enterprises", f"2023-{month:02d}", value, "ytd", "区科工信局"])
    entities = []
    for name, total in [("经营主体净增", 2198), ("企业净增", 861), ("个转企净增", 37)]:
        for month, value in enumerate(cumulative(rng, total, 6), start=1):
            entities.append(["大祥区", name, f"2023-{month:02d}", value, "区市场监管局"])
    for month, value in enumerate(np.round(np.array([41.2, 45.0, 48.3, 51.1, 53.6, 56.2]) + rng.normal(0, 0.05, 6), 1), start=1):
        entities.append(["大祥区", "新增涉税企业占比", f"2023-{month:02d}", float(value), "区税务局"])
    return jobs, entities


# ---- sheets -------------------------------------------------------------------------------------

SHAOYANG_LABELS = {"shaoyang": "全市", **COUNTIES}


def shaoyang_cols(money: str) -> list[Col]:
    """The columns of the 邵阳 monthly report; ``money`` is how 社零 and 服务业 are written (亿元 or 万元)."""
    factor = 1.0 if money == "亿元" else 1e-4
    return [
        Col("规模工业增加值", "累计增速（%）", "industrial_va_growth", "iva"), Col("规模工业增加值", "位次", key="iva", rank=True),
        Col("固定资产投资", "累计增速（%）", "fixed_asset_investment_growth", "fai"), Col("固定资产投资", "位次", key="fai", rank=True),
        Col("社会消费品零售总额", f"累计（{money}）", "retail_sales", "retail", factor=factor),
        Col("社会消费品零售总额", "累计增速（%）", "retail_sales_growth", "retail_g"),
        Col("社会消费品零售总额", "位次", key="retail_g", rank=True),
        Col("规模以上服务业营业收入", f"累计（{money}）", "services_revenue", "services", factor=factor),
        Col("规模以上服务业营业收入", "累计增速（%）", "services_revenue_growth", "services_g"),
        Col("地方一般公共预算收入", "累计（万元）", "fiscal_revenue", "fiscal"),
        Col("地方一般公共预算收入", "增速（%）", "fiscal_revenue_growth", "fiscal_g"),
        Col("地方一般公共预算收入", "税收占比（%）", "local_tax_share", "tax_share"),
        Col("房地产开发投资", "增速（%）", "real_estate_investment_growth", "estate"),
        Col("商品房销售面积", "增速（%）", "housing_sales_area_growth", "housing"),
        Col("进出口总额", "增速（%）", "trade_total_growth", "trade"),
        Col("全社会用电量", "增速（%）", "electricity_total_growth", "elec"),
        Col("工业用电量", "增速（%）", "electricity_industrial_growth", "elec_ind"),
    ]


def not_in_jan_feb() -> set[str]:
    """Monthly indicators the registry does not release as 1-2月: their 1-2月 cells read "/"."""
    sys.path.insert(0, str(ROOT))
    from targetwatch.deployment import load_deployment

    dep = load_deployment(ROOT / "config")
    return {i.id for i in dep.indicators.values() if i.frequency == "monthly" and not i.jan_feb_combined}


def shaoyang_sheet(frame: pd.DataFrame, year: int, month: int, money: str, skip: set[str]) -> Sheet:
    span = f"{year}年1-{month}月"
    name = span if money == "亿元" else f"{span}（万元）"
    title = f"邵阳市县市区主要经济指标（{span}）" + ("　金额单位：万元" if money == "万元" else "")
    sheet = Sheet(name, title, "县市区", f"{year}-01/02" if month == 2 else f"{year}-{month:02d}",
                  shaoyang_cols(money), SHAOYANG_LABELS)
    counties = frame.loc[IDS]
    for uid in frame.index:
        cells = []
        for col in sheet.cols:
            value = frame.at[uid, col.key]
            if col.rank:
                cells.append(None if uid == "shaoyang" else int(counties[col.key].rank(method="min", ascending=False)[uid]))
            elif month == 2 and col.indicator in skip:
                cells.append(NR)
            elif col.factor != 1.0:
                cells.append(int(round(value / col.factor)))
            elif col.key == "fiscal":
                cells.append(int(value))
            else:
                cells.append(float(value))
        sheet.cells[uid] = cells
    # Not reported, as departments write it: "/" for no such activity, blank for a missing return.
    idx = {c.key: i for i, c in enumerate(sheet.cols) if not c.rank}
    sheet.cells["chengbu"][idx["trade"]] = NR
    if month in (2, 3):
        sheet.cells["suining"][idx["trade"]] = None
    if month == 2:
        sheet.cells["beita"][idx["services"]] = sheet.cells["beita"][idx["services_g"]] = NR
    if (year, month) == (2023, 4):
        sheet.cells["xinning"][idx["elec_ind"]] = None
        # This clerk's cells were stored as text (Excel's green triangle): still numbers.
        for uid in frame.index:
            sheet.cells[uid][idx["iva"]] = f"{frame.at[uid, 'iva']:.1f}"
    return sheet


def shaoyang_books(frames: dict, skip: set[str]) -> list[Book]:
    report_day = {2: (3, 16), 3: (4, 17), 4: (5, 16), 5: (6, 14), 6: (7, 14)}
    books = []
    for month in MONTHS:
        money = "万元" if month == 3 else "亿元"  # the 1-3月 report was compiled in 万元
        book = Book(f"shaoyang/邵阳市县市区主要经济指标_2023年1-{month}月.xlsx", datetime(2023, *report_day[month], 9, 30))
        book.sheets = [shaoyang_sheet(frames[(year, month)], year, month, money, skip) for year in (2023, 2022)]
        books.append(book)
    # The first 1-5月 file had a typo in 大祥区's retail growth; the 修订 file a week later fixes it.
    first = books[3]
    typo = shaoyang_sheet(frames[(2023, 5)].assign(retail_g=frames[(2023, 5)]["retail_g"].where(
        frames[(2023, 5)].index != "daxiang", frames["typo"])), 2023, 5, "亿元", skip)
    revised = Book("shaoyang/邵阳市县市区主要经济指标_2023年1-5月_修订.xlsx", datetime(2023, 6, 21, 16, 0),
                   [shaoyang_sheet(frames[(2023, 5)], 2023, 5, "亿元", skip), first.sheets[1]])
    revised.sheets[0].title += "（修订）"
    first.sheets[0] = typo
    return [*books, revised]


def gdp_book(level: pd.DataFrame, growth: pd.DataFrame) -> Book:
    periods = ["2022-Q1", "2022-Q2", "2022-Q3", "2022-Q4", "2023-Q1", "2023-Q2"]
    book = Book("shaoyang/邵阳市县市区地区生产总值_2023年二季度.xlsx", datetime(2023, 7, 26, 10, 0))
    for name, title, group, frame, indicator in [
        ("地区生产总值", "邵阳市各县市区地区生产总值（现价，亿元）", "累计", level, "gdp"),
        ("地区生产总值增速", "邵阳市各县市区地区生产总值增速（可比价，%）", "累计增速", growth, "gdp_growth"),
    ]:
        cols = [Col(group, label, indicator, label, period=p) for label, p in zip(frame.columns, periods)]
        sheet = Sheet(name, title, "县市区", None, cols, SHAOYANG_LABELS)
        sheet.cells = {uid: [float(v) for v in frame.loc[uid]] for uid in frame.index}
        book.sheets.append(sheet)
    return book


def xidongting_book(x: dict) -> Book:
    book = Book("xidongting/西洞庭管理区2025年主要指标.xlsx", datetime(2025, 10, 20, 9, 0))
    cols = [
        Col("地方一般公共预算收入", "累计（万元）", "fiscal_revenue", "fiscal"),
        Col("地方一般公共预算收入", "增速（%）", "fiscal_revenue_growth", "fiscal_g"),
        Col("规模工业增加值", "累计增速（%）", "industrial_va_growth", "iva"),
        Col("固定资产投资", "累计增速（%）", "fixed_asset_investment_growth", "fai"),
        Col("社会消费品零售总额", "累计（亿元）", "retail_sales", "retail"),
        Col("社会消费品零售总额", "累计增速（%）", "retail_sales_growth", "retail_g"),
        Col("新引进产业项目", "累计（个）", "new_investment_projects", "projects"),
        Col("新引进产业项目", "其中过10亿元（个）", "new_projects_over_1bn", "projects_10bn"),
        Col("城镇新增就业", "累计（人）", "new_urban_jobs", "jobs"),
        Col("农村劳动力转移就业", "累计（人）", "rural_labour_transfer", "rural"),
    ]
    streets = {"xdt_longquan": "jobs_longquan", "xdt_jinfeng": "jobs_jinfeng"}
    for k, month in enumerate(XDT_MONTHS):
        span = f"2025年1-{month}月"
        sheet = Sheet(span, f"西洞庭管理区主要经济指标完成情况（{span}）", "单位",
                      "2025-01/02" if month == 2 else f"2025-{month:02d}", cols, XDT_ROWS)

        def cell(key):
            v = x[key][k]
            return NR if v is None else (int(v) if key in ("fiscal", "projects", "projects_10bn", "jobs", "rural") or key.startswith("jobs") else float(v))

        sheet.cells["xidongting"] = [cell(c.key) for c in cols]
        for uid, key in streets.items():
            sheet.cells[uid] = [cell(key) if c.key == "jobs" else NR for c in cols]
        book.sheets.append(sheet)
    quarter_cols = [Col("地区生产总值", "累计（亿元）", "gdp", "gdp"), Col("地区生产总值", "累计增速（%）", "gdp_growth", "gdp_g"),
                    Col(None, "城镇登记失业率（%）", "unemployment_rate", "unemployment", basis="period")]
    for q in range(3):
        name = f"2025年第{'一二三'[q]}季度"
        sheet = Sheet(name, f"西洞庭管理区季度指标（{name}）", "单位", f"2025-Q{q + 1}", quarter_cols, XDT_ROWS)
        sheet.cells["xidongting"] = [float(x["gdp"][q]), float(x["gdp_g"][q]), float(x["unemployment"][q])]
        book.sheets.append(sheet)
    rd_cols = [Col("全社会研发投入", "总额（万元）", "rd_expenditure", "rd", factor=1e-4),
               Col("全社会研发投入", "增速（%）", "rd_expenditure_growth", "rd_g")]
    sheet = Sheet("2024年", "西洞庭管理区全社会研发投入（2024年）", "单位", "2024", rd_cols, XDT_ROWS)
    sheet.cells["xidongting"] = [int(x["rd"]), float(x["rd_g"])]
    book.sheets.append(sheet)
    return book


# ---- writing ------------------------------------------------------------------------------------


def write_book(book: Book, path: Path) -> None:
    """Write a workbook as a department would lay it out, then pin its dates so re-runs are identical."""
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in book.sheets:
        ws = wb.create_sheet(sheet.name)
        width = 1 + len(sheet.cols)
        ws.cell(1, 1, sheet.title).font = Font(bold=True, size=14)
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
        ws.cell(2, 1, sheet.unit_header)
        ws.merge_cells("A2:A3")
        c = 0
        while c < len(sheet.cols):
            col = sheet.cols[c]
            if col.group is None:
                ws.cell(2, c + 2, col.sub)
                ws.merge_cells(start_row=2, start_column=c + 2, end_row=3, end_column=c + 2)
                c += 1
                continue
            end = c
            while end + 1 < len(sheet.cols) and sheet.cols[end + 1].group == col.group:
                end += 1
            ws.cell(2, c + 2, col.group)
            if end > c:
                ws.merge_cells(start_row=2, start_column=c + 2, end_row=2, end_column=end + 2)
            for k in range(c, end + 1):
                ws.cell(3, k + 2, sheet.cols[k].sub)
            c = end + 1
        for row in ws.iter_rows(min_row=2, max_row=3):
            for cell in row:
                cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
                cell.font = Font(bold=True)
        for r, (uid, cells) in enumerate(sheet.cells.items(), start=4):
            ws.cell(r, 1, sheet.labels[uid])
            for k, value in enumerate(cells, start=2):
                if value is not None:
                    ws.cell(r, k, value)
        ws.column_dimensions["A"].width = 14
        for k in range(2, width + 1):
            ws.column_dimensions[get_column_letter(k)].width = 12
        ws.freeze_panes = "B4"
    wb.properties.creator = wb.properties.lastModifiedBy = "targetwatch example generator (synthetic data)"
    wb.properties.title = "SYNTHETIC example data, not official figures"
    wb.properties.created = book.reported
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    pin_zip(path, book.reported)


def pin_zip(path: Path, when: datetime) -> None:
    """openpyxl stamps the save time into docProps/core.xml and the zip entries: pin both to ``when``."""
    with zipfile.ZipFile(path) as zin:
        parts = [(info, zin.read(info.filename)) for info in zin.infolist()]
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in parts:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + stamp + rb"\g<2>", data)
            pinned = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            pinned.compress_type = zipfile.ZIP_DEFLATED
            pinned.external_attr = info.external_attr
            zout.writestr(pinned, data)


def write_csv(path: Path, header: list[str], rows: list[list], encoding: str) -> None:
    def text(v):
        return f"{v:g}" if isinstance(v, float) else str(v)

    body = "".join(",".join(text(v) for v in row) + "\r\n" for row in [header, *rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body.encode(encoding))


README = """\
# Example inbox (SYNTHETIC data)

Every file in this folder is **synthetic**: generated by `bench/make_examples.py` from
`numpy.random.default_rng(2023)`. These are **not official figures** of 邵阳市, 大祥区 or 西洞庭管理区;
the numbers are shaped only so that the example targets (seeds 003 and 000) give a mix of verdicts.
Regenerate with `python bench/make_examples.py` (tests/collectors/test_examples.py checks that the
committed files match).

- `shaoyang/邵阳市县市区主要经济指标_2023年1-N月.xlsx`: the city's monthly report, one sheet per period
  (2023 and the same months of 2022), a title row, merged group headers, the 12 county-level units and
  the `全市` row (邵阳市's own figure). The 1-3月 report writes 社会消费品零售总额 and 服务业营业收入 in
  万元; the `_修订` file corrects one value of the 1-5月 report. Mapping: `config/collectors/shaoyang-monthly.yaml`.
- `shaoyang/邵阳市县市区地区生产总值_2023年二季度.xlsx`: one sheet per indicator, one column per quarter
  (year to date). Mapping: `config/collectors/shaoyang-gdp.yaml`.
- `xidongting/西洞庭管理区2025年主要指标.xlsx`: monthly, quarterly and yearly sheets of 西洞庭管理区
  and its streets. Mapping: `config/collectors/xidongting.yaml`.
- `long/*.csv`: the canonical long form `unit,indicator,period,value` from 大祥区's departments, one in
  UTF-8 with a byte-order mark and one in GBK. Mapping: `config/collectors/long-csv.yaml`.

In the 1-2月 sheets, indicators that are not released as a combined January–February figure (fiscal
revenue, electricity, jobs, projects) read "/": not reported, never zero.
"""


def write_all(out: Path) -> list[Path]:
    """Write every example file under ``out``; returns the paths written."""
    books, (jobs, entities) = build()[:2]
    written = []
    for book in books:
        write_book(book, out / book.path)
        written.append(out / book.path)
    files = [
        (out / "long" / "大祥区部门报送_2023年1-6月.csv", ["unit", "indicator", "period", "value", "basis", "source"], jobs, "utf-8-sig"),
        (out / "long" / "大祥区市场监管局_经营主体_2023年1-6月.csv", ["unit", "indicator", "period", "value", "source"], entities, "gbk"),
    ]
    for path, header, rows, encoding in files:
        write_csv(path, header, rows, encoding)
        written.append(path)
    (out / "README.md").write_text(README, encoding="utf-8")
    return written


# ---- the whole set, and what it must show ---------------------------------------------------------


def build() -> tuple[list[Book], tuple[list, list], pd.DataFrame]:
    """Every workbook, the long CSV rows, and the expected observations (latest revision of each)."""
    rng = np.random.default_rng(2023)
    frames = shaoyang_series(rng)
    level, growth = gdp_frames(rng)
    x = xidongting_series(rng)
    jobs, entities = daxiang_long(rng)
    check_story(frames, level, growth, jobs)
    books = [*shaoyang_books(frames, not_in_jan_feb()), gdp_book(level, growth), xidongting_book(x)]
    return books, (jobs, entities), expected(books, jobs, entities)


def expected(books: list[Book], jobs: list, entities: list) -> pd.DataFrame:
    """The observations the files hold, in the indicator's unit of measure; later files win."""
    rows = {}
    for book in books:
        for sheet in book.sheets:
            for uid, cells in sheet.cells.items():
                for col, value in zip(sheet.cols, cells):
                    if col.indicator is None or value is None or value == NR:
                        continue
                    period = col.period or sheet.period
                    rows[(uid, col.indicator, period, col.basis)] = float(value) * col.factor if col.factor != 1.0 else float(value)
    for unit, indicator, period, value, basis, _source in jobs:
        rows[(unit, indicator, period, basis)] = float(value)
    names = {"经营主体净增": "net_new_market_entities", "企业净增": "net_new_enterprises",
             "个转企净增": "individual_to_enterprise", "新增涉税企业占比": "new_taxpaying_enterprise_share"}
    for _unit, name, period, value, _source in entities:
        rows[("daxiang", names[name], period, "ytd")] = float(value)
    frame = pd.DataFrame([(*k, v) for k, v in rows.items()], columns=["unit", "indicator", "period", "basis", "value"])
    return frame.sort_values(["indicator", "unit", "period", "basis"]).reset_index(drop=True)


def check_story(frames: dict, level: pd.DataFrame, growth: pd.DataFrame, jobs: list) -> None:
    """The verdict mix the example must show for 大祥区 in May–June 2023 (seed 003)."""
    may, june = frames[(2023, 5)], frames[(2023, 6)]
    county = lambda f, key: f.loc[IDS, key].to_numpy()  # noqa: E731
    assert rank_of(county(may, "iva")) == 7 and (county(may, "iva") == may.at["daxiang", "iva"]).sum() == 2, "规模工业 May: tied 7th"
    assert rank_of(county(june, "iva")) == 6 and (county(june, "iva") == june.at["daxiang", "iva"]).sum() == 1, "规模工业 June: 6th alone"
    assert rank_of(county(june, "services_g")) == 10, "服务业 June: bottom three"
    assert rank_of(county(june, "fai")) == 3, "固定资产投资 June: top seven"
    assert rank_of(county(may, "retail_g")) == 8 and rank_of(county(june, "retail_g")) == 5, "社零: 进位 8 → 5"
    typo = may["retail_g"].where(may.index != "daxiang", frames["typo"])
    assert rank_of(typo.loc[IDS].to_numpy()) == 4, "社零 May as first reported: 4th"
    assert june.at["daxiang", "retail_g"] > june.at["shaoyang", "retail_g"], "社零 June: above the city"
    assert june.at["daxiang", "fiscal_g"] < june.at["shaoyang", "fiscal_g"], "财政 June: below the city"
    assert june.at["daxiang", "estate"] < june.at["shaoyang", "estate"] and june.at["daxiang", "housing"] > june.at["shaoyang", "housing"]
    assert growth.at["daxiang", "2023年二季度"] < growth.at["shaoyang", "2023年二季度"], "GDP Q2: below the city"
    assert growth.at["daxiang", "2023年一季度"] > growth.at["shaoyang", "2023年一季度"], "GDP Q1: above the city"
    june_jobs = [r[3] for r in jobs if r[1] == "new_urban_jobs" and r[2] == "2023-06"]
    assert june_jobs and june_jobs[0] < 0.55 * 1350, "城镇新增就业: short of 55% by June"


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "config" / "inbox"
    written = write_all(out)
    expected_rows = len(build()[2])
    print(f"wrote {len(written)} files under {out} ({expected_rows} observations; SYNTHETIC, not official figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
