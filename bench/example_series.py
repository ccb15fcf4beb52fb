"""The numbers of the example inbox: seeded series, and the verdict mix they must show.

Everything comes from one ``numpy.random.default_rng(2023)`` stream, drawn in a fixed order by
``bench/make_examples.py``. The data are SYNTHETIC. The story of seed 003 is placed on 大祥区 (ranks,
ties, comparisons with 邵阳市's own figure) and ``check_story`` asserts it; the 2025 paths of
西洞庭管理区 are set against the targets of seed 000.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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


# ---- every other indicator the example's rules read (department returns) --------------------------

# Status mix of the department returns: most targets met, some missed, some short only within the
# rule's at-risk margin, and a few reports deliberately left out (the example's only late verdicts).
MARGIN_TURNS = ("at_risk", "on_track", "at_risk", "behind")  # rules with an at-risk margin (or a range), in turn
MIX_STRICT = {"on_track": 0.82, "behind": 0.18}  # the others: a miss is behind
COUNTED = {"人", "人次", "家", "个", "户", "件", "次", "盏", "处", "项", "名", "批", "场", "起", "所", "种", "条"}
LEFT_OUT = 4


def target_metric(kind_target, target: float, want: str, rng: np.random.Generator, annual: float | None = None) -> float | None:
    """A value of the rule's metric that lands in ``want`` (on_track, at_risk or behind) for one target.

    ``target`` is the verdict's own target (the pacing line for pacing rules); None when the kind is
    not one this generator fills in (rank and compare rules read the city's reports instead)."""
    kind = kind_target.kind
    margin = lambda base: max(abs(base) * rng.uniform(0.03, 0.15), rng.uniform(0.2, 0.8))  # noqa: E731
    if kind in ("threshold", "share"):
        sign = -1.0 if kind_target.op in ("<=", "<") else 1.0
        within = kind_target.at_risk_within
        if want == "at_risk" and within:
            return target - sign * within * rng.uniform(0.2, 0.8)
        return target + sign * margin(target) * (1 if want == "on_track" else -1)
    if kind == "decline":  # target: the largest growth allowed (-floor)
        return target - margin(target) if want == "on_track" else target + margin(target)
    if kind == "pacing":
        within = kind_target.at_risk_within
        if want == "at_risk" and within and annual:
            return target - annual * within / 100 * rng.uniform(0.2, 0.8)
        return target * (1 + rng.uniform(0.02, 0.12)) if want == "on_track" else target * (1 - rng.uniform(0.06, 0.2))
    if kind == "range":
        if want == "at_risk":  # above the range
            return kind_target.max + margin(kind_target.max)
        return rng.uniform(kind_target.min, kind_target.max) if want == "on_track" else kind_target.min - margin(kind_target.min)
    if kind == "approximate":
        tol = kind_target.tolerance if kind_target.tolerance is not None else abs(kind_target.value) * kind_target.tolerance_pct / 100
        return kind_target.value + (rng.uniform(-0.5, 0.5) * tol if want == "on_track" else 3 * tol)
    if kind == "break_zero":
        return float(rng.integers(1, 4)) if want == "on_track" else 0.0
    if kind in ("clear_zero", "never"):
        return 0.0 if want == "on_track" else float(rng.integers(1, 3))
    if kind == "milestone":
        return kind_target.value if want == "on_track" else kind_target.value * 0.5
    return None
