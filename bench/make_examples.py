"""Generate the example deployment's inbox: SYNTHETIC workbooks and CSVs, not official figures.

    python bench/make_examples.py [OUT_DIR]      # default: config/inbox

The files have the messy shape departments really send: a title row, merged group headers, unit names
padded with spaces, "/" and blanks for not reported, numbers stored as text, one report written in 万元
where the catalogue keeps 亿元, a later 修订 file that corrects one value, and a CSV in GBK. The numbers
come from ``numpy.random.default_rng(2023)`` (``bench/example_series.py``), shaped so that the targets
of seed 003 (大祥区, May–June 2023) and seed 000 (西洞庭管理区, 2025) give a mix of verdicts.

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
sys.path.insert(0, str(ROOT / "bench"))  # also when a test loads this file by its path

from example_series import (  # noqa: E402
    COUNTED, COUNTIES, IDS, LEFT_OUT, MARGIN_TURNS, MIX_STRICT, MONTHS, XDT_MONTHS, check_story, daxiang_long, gdp_frames, shaoyang_series,
    target_metric, xidongting_series,
)

NR = "/"  # how departments write "not reported"
XDT_ROWS = {"xidongting": "西洞庭管理区", "xdt_longquan": "龙泉街道", "xdt_jinfeng": "金凤街道"}

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


# ---- department returns: every other figure the rules read ----------------------------------------

# The days whose picture the returns complete: 大祥区's May–June tasks and 湘阴县's first half as of
# 2023-07-20 (the seed-003 story), 西洞庭管理区's January–September as of 2025-10-20, and every year-end
# once all windows have closed and all reports were due (西洞庭管理区's 2025 R&D figure by 2026-04-30).
PICTURES = ("2023-07-20", "2025-10-20", "2026-05-31")
FIRST_HALF_SENT = "2023-07-12"  # when 大祥区's departments sent their January–June returns
JURISDICTIONS = {"daxiang_2023_may_june": "大祥区", "xidongting_2025": "西洞庭管理区", "xidongting_qidagongjian_2025": "西洞庭管理区",
                 "xiangyin_2023": "湘阴县"}


@dataclass
class Returns:
    """The department returns: rows (unit, indicator, period, value, basis, reported_at) per file, and
    the (rule, unit) pairs whose report was deliberately left out."""

    files: dict[str, list[list]]
    left_out: list[tuple[str, str]]


def department_returns(have: set[tuple[str, str, str, str]]) -> Returns:
    """A figure for every (rule, unit) whose indicator the workbooks and CSVs above leave out, at the
    period each rule judges once its window has closed, in the rule's basis; drawn so that most targets
    are met, some missed and some short only within their at-risk margin (``MIX``). ``LEFT_OUT`` pairs get
    no figure: the example's deliberate late reports. Each file is one report date of one jurisdiction,
    and says so in its ``reported_at`` column."""
    import tempfile

    from rules import evaluate, load_rules
    from rules.derive import Observations
    from rules.judge import plan
    from targetwatch import periods
    from targetwatch.deployment import load_deployment
    from targetwatch.model import IndicatorKind
    from targetwatch.store.sqlite import SQLiteStore

    dep = load_deployment(ROOT / "config")
    ruleset = load_rules(dep.root, dep)
    files = {d.id: Path(d.file).stem for d in ruleset.docs}
    rng = np.random.default_rng(2025)
    rows: dict[tuple, tuple[float, str, str]] = {}  # (unit, indicator, period, basis) → (value, reported_at, rule)
    pairs: list[tuple[str, str, list[tuple]]] = []
    margined = 0
    generated: dict[tuple, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "empty.db")
        try:
            for picture in PICTURES:
                verdicts = evaluate(dep, store, as_of=picture, ruleset=ruleset)
                obs = Observations(store, periods.as_of_instant(picture), dep)
                day = periods.as_of_instant(picture).date()
                for v in verdicts.sort_values(["rule", "unit"]).itertuples(index=False):
                    if v.status not in ("late", "no_data") or ruleset.versions(v.rule)[0].is_scorecard:
                        continue
                    j = plan(ruleset, v.rule, dep, obs, day, v.period)
                    target = j.target
                    code, basis, ind = j.code, j.basis.value, j.ind
                    key = lambda c, unit, indicator=ind.id: (unit, indicator, str(periods.Period.from_code(int(c))), basis)  # noqa: E731

                    def figures(unit: str, metric: float) -> list[tuple[tuple, float]]:
                        """The stored figures that give ``unit`` the rule's ``metric`` (a level a year or a period
                        earlier where the metric is a growth or a change; worked back from the current level
                        when another rule's returns already hold it)."""
                        level = float(np.round(rng.uniform(20, 400), 2))
                        now = generated.get(key(code, unit))
                        if now is not None and j.metric == "yoy" and ind.kind is not IndicatorKind.growth:
                            return [(key(code - 10000, unit), now / (1 + metric / 100))]
                        if now is not None and j.metric in ("pp_change", "change"):
                            return [(key(code - 10000, unit), now - metric)]
                        if j.spec.window is not None and j.metric == "value":
                            # An amount within a window: the 累计 before it opens and at its end (or, where the
                            # month before sits in a combined 1-2月 release, each 当月 figure of the window).
                            end, base = j._window_ends(code)
                            ytd = lambda c: (unit, ind.id, str(periods.Period.from_code(int(c))), "ytd")  # noqa: E731
                            held = generated.get(ytd(end))  # another rule's returns already hold the window's end
                            if base is None:
                                return [] if held is not None or ytd(end) in have else [(ytd(end), metric)]
                            if base != -1:
                                if ytd(base) in generated or ytd(base) in have:
                                    return []
                                if held is not None:
                                    return [(ytd(base), held - metric)]
                                return [] if ytd(end) in have else [(ytd(base), level), (ytd(end), level + metric)]
                            months = j._window_months(code)
                            return [((unit, ind.id, str(periods.Period.from_code(int(c))), "period"), metric / len(months))
                                    for c in months]
                        if j.metric == "value" or (ind.kind is IndicatorKind.growth and j.metric == "yoy"):
                            return [(key(code, unit), metric)]
                        if j.metric == "yoy":
                            return [(key(code - 10000, unit), level), (key(code, unit), level * (1 + metric / 100))]
                        if j.metric in ("pp_change", "change"):
                            return [(key(code - 10000, unit), level), (key(code, unit), level + metric)]
                        if j.metric == "prev_change":
                            return [(key(j.prev_code, unit), level), (key(code, unit), level + metric)]
                        return []

                    if target.kind not in ("rank", "compare") and j.spec.window is None and (key(code, v.unit) in have or (
                            key(code, v.unit) in generated and j.metric not in ("yoy", "pp_change", "change"))):
                        continue
                    if target.kind in ("rank", "compare"):
                        # Judged within the peer group: every member (and the group's own figure) reports.
                        # Rank: the whole group, unless the city's report has the indicator (then a unit
                        # without a figure is a deliberate "/"). Compare: the judged units and the reference.
                        members = list(dep.group_members(j.spec.group)) if target.kind == "rank" else list(j.units)
                        if target.kind == "rank" and any(key(code, u) in have for u in members):
                            members = [u for u in j.units if key(code, u) not in have]
                        reference = getattr(target, "reference_unit", None) or dep.groups[j.spec.group].reference_unit
                        centre = float(rng.uniform(3, 9)) if ind.measure == "%" else float(rng.uniform(60, 90))
                        wanted = []
                        for unit in [*members, *([reference] if reference and target.kind == "compare" else [])]:
                            wanted += figures(unit, float(np.round(rng.normal(centre, 2.0), 1)))
                            if getattr(target, "improve", False):
                                wanted.append((key(j.prev_code, unit), float(np.round(rng.normal(centre, 2.0), 1))))
                        wanted = [(k, x) for k, x in wanted if k not in have and k not in generated]  # the city's reports already hold some
                    else:
                        if getattr(target, "at_risk_within", None) or target.kind == "range":
                            # Rules with an at-risk margin take turns, so that each outcome shows whatever the draw.
                            want = MARGIN_TURNS[margined % len(MARGIN_TURNS)]
                            margined += 1
                        else:
                            want = str(rng.choice(list(MIX_STRICT), p=list(MIX_STRICT.values())))
                        base = float(v.target) if v.target == v.target and v.target is not None else 0.0
                        metric = target_metric(target, base, want, rng, getattr(target, "annual", None))
                        if metric is None:
                            continue
                        wanted = figures(v.unit, metric)
                        if target.kind == "share" and target.of.indicator:
                            denominator = float(np.round(rng.uniform(50, 500), 2))
                            wanted = [((v.unit, target.of.indicator, key(code, v.unit)[2], basis), denominator),
                                      (key(code, v.unit), metric * denominator / 100)]
                    if not wanted:
                        continue
                    due = date_of(v.deadline)
                    # Sent a few days before the deadline, and by the day of the picture at the latest.
                    stamp = min((due - pd.Timedelta(days=int(rng.integers(1, 6)))).strftime("%Y-%m-%d"), picture)
                    def decimals(indicator: str) -> int:
                        spec = dep.indicators[indicator]
                        return 0 if spec.measure in COUNTED else spec.decimals

                    pairs.append((v.rule, picture, [(k, round(float(x), decimals(k[1])), stamp) for k, x in wanted]))
                    generated.update(wanted)
        finally:
            store.close()
    # The deliberate gaps: reports of a few (rule, unit) pairs that no other pair needs.
    uses: dict[tuple, int] = {}
    for _rule, _picture, wanted in pairs:
        for k, _x, _s in wanted:
            uses[k] = uses.get(k, 0) + 1
    # One among 大祥区's and 湘阴县's first-half returns (a 2023-06 report that never came), the others among
    # the year-end returns.
    def alone(picture: str) -> list[int]:
        return [i for i, (_r, p, wanted) in enumerate(pairs) if p == picture and all(uses[k] == 1 for k, _x, _s in wanted)]

    later = {rule for rule, p, _w in pairs if p != PICTURES[0]}  # rules judged again at a later period
    first = [i for i in alone(PICTURES[0]) if pairs[i][0] not in later
             and {k[:3:2] for k, _x, _s in pairs[i][2]} == {(pairs[i][2][0][0][0], "2023-06")}]
    last = alone(PICTURES[-1])
    gaps = set(rng.choice(first, size=min(1, len(first)), replace=False).tolist())
    gaps |= set(rng.choice(last, size=min(LEFT_OUT - len(gaps), len(last)), replace=False).tolist())
    # One file per jurisdiction and picture, sent on the latest day of its rows.
    grouped: dict[tuple[str, str], list[list]] = {}
    for i, (rule, picture, wanted) in enumerate(pairs):
        if i in gaps:
            continue
        for (unit, indicator, period, basis), value, stamp in wanted:
            if (unit, indicator, period, basis) in rows:
                continue
            rows[(unit, indicator, period, basis)] = (value, stamp, rule)
            grouped.setdefault((JURISDICTIONS.get(files[rule], files[rule]), picture), []).append(
                [unit, indicator, period, value, "累计" if basis == "ytd" else "当月", stamp])
    out: dict[str, list[list]] = {}
    for (jurisdiction, _picture), file_rows in grouped.items():
        sent = max(r[5] for r in file_rows)
        for r in file_rows:
            r[5] = sent
        name = f"long/{jurisdiction}部门报送_{sent[:4]}年{int(sent[5:7])}月{int(sent[8:10])}日.csv"
        out[name] = sorted(file_rows)
    left_out = sorted({(pairs[i][0], pairs[i][2][0][0][0]) for i in gaps if any(k not in rows for k, _x, _s in pairs[i][2])})
    return Returns(dict(sorted(out.items())), left_out)


def date_of(text: str) -> pd.Timestamp:
    return pd.Timestamp(str(text)[:10])


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
        return f"{v:.12g}" if isinstance(v, float) else str(v)

    body = "".join(",".join(text(v) for v in row) + "\r\n" for row in [header, *rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body.encode(encoding))


README = """\
# Example inbox (SYNTHETIC data)

Every file in this folder is **synthetic**: generated by `bench/make_examples.py` from
`numpy.random.default_rng(2023)`. These are **not official figures** of 邵阳市, 大祥区 or 西洞庭管理区;
the numbers are shaped only so that the example targets (seeds 003, 004 and 000) give a mix of verdicts.
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
- `hunan/湖南省主要经济指标_2023年5-6月.csv`: the province's own figures (the `全省` row, what 高于全省平均水平
  compares with), as a province publishes them: the period as the date that closes it (2023/6/30) and the
  basis as a word (累计同比), and the day it was released in `reported_at`. Mapping: `config/collectors/hunan-province.yaml`.

- `long/*部门报送_YYYY年M月D日.csv`: the department returns that supply every other indicator the
  example rules read, one file per jurisdiction and report date, drawn against each rule's own target
  so that most targets are met, some missed and some short only within their at-risk margin. A few
  reports are **deliberately left out**: they are the example's only late (逾期未报) verdicts.

Every CSV has a `reported_at` column: the day its department sent it. The long-CSV collector takes it
as the report time, so evaluating as of a past day sees only what had been sent by then.

When each jurisdiction's picture is current (`targetwatch run --as-of DATE`):

| jurisdiction | as of | what it shows |
|---|---|---|
| 大祥区 (seed 003) | 2023-07-20 | the May–June 2023 tasks: ranks, 进位, comparisons with 邵阳市, the 55%-by-June pacing |
| 湘阴县 (seed 004) | 2023-07-20 | the first half of 2023 |
| 西洞庭管理区 (seed 000) | 2025-10-20 | January–September 2025 |
| all three, year end | 2026-05-31 or later (`make run`, today) | every window closed and every report due |

In the 1-2月 sheets, indicators that are not released as a combined January–February figure (fiscal
revenue, electricity, jobs, projects) read "/": not reported, never zero.
"""


def write_all(out: Path) -> list[Path]:
    """Write every example file under ``out``; returns the paths written."""
    books, (jobs, entities), _expected, returns = build()
    written = []
    for book in books:
        write_book(book, out / book.path)
        written.append(out / book.path)
    # Each CSV carries the date its department sent it (reported_at): the collector reads it as the
    # report time, so that evaluating as of a past day sees only what had been sent by then.
    files = [
        (out / "long" / "大祥区部门报送_2023年1-6月.csv", ["unit", "indicator", "period", "value", "basis", "source", "reported_at"],
         [[*r, FIRST_HALF_SENT] for r in jobs], "utf-8-sig"),
        (out / "long" / "大祥区市场监管局_经营主体_2023年1-6月.csv", ["unit", "indicator", "period", "value", "source", "reported_at"],
         [[*r, FIRST_HALF_SENT] for r in entities], "gbk"),
    ]
    header = ["unit", "indicator", "period", "value", "basis", "reported_at"]
    files += [(out / name, header, rows, "utf-8-sig") for name, rows in returns.files.items()]
    files.append((out / "hunan" / "湖南省主要经济指标_2023年5-6月.csv", PROVINCE_HEADER, province_rows(), "utf-8-sig"))
    for path, header, rows, encoding in files:
        write_csv(path, header, rows, encoding)
        written.append(path)
    (out / "README.md").write_text(README, encoding="utf-8")
    return written


# ---- the province's own figures (全省) -----------------------------------------------------------------

PROVINCE_HEADER = ["地区", "统计截止日期", "口径", "进出口总额增速（%）", "出口总额增速（%）", "进口总额增速（%）", "reported_at"]
# When the province's 1-6月 release came out: the file says so (like every CSV of the inbox), so that judging
# as of a day in July 2023 sees it, whenever the file was copied or checked out.
PROVINCE_SENT = "2023-07-18"
# (closing day, trade, export, import): 大祥区's trade growth (-7.4 in May, -3.6 in June) is above the
# province in May and below it in June, so 高于全省平均水平 is met once and missed once.
PROVINCE = [("2023/5/31", "2023-05", -9.8, -6.1, -15.2), ("2023/6/30", "2023-06", -2.5, 1.4, -8.9)]
PROVINCE_INDICATORS = ("trade_total_growth", "export_growth", "import_growth")


def province_rows() -> list[list]:
    return [["全省", day, "累计同比", *figures, PROVINCE_SENT] for day, _period, *figures in PROVINCE]


# ---- the whole set, and what it must show ---------------------------------------------------------


def build() -> tuple[list[Book], tuple[list, list], pd.DataFrame, Returns]:
    """Every workbook, the long CSV rows, the expected observations (latest revision of each) and the
    department returns."""
    rng = np.random.default_rng(2023)
    frames = shaoyang_series(rng)
    level, growth = gdp_frames(rng)
    x = xidongting_series(rng)
    jobs, entities = daxiang_long(rng)
    check_story(frames, level, growth, jobs)
    books = [*shaoyang_books(frames, not_in_jan_feb()), gdp_book(level, growth), xidongting_book(x)]
    held = expected(books, jobs, entities)
    returns = department_returns(set(held[["unit", "indicator", "period", "basis"]].itertuples(index=False, name=None)))
    return books, (jobs, entities), expected(books, jobs, entities, returns), returns


def expected(books: list[Book], jobs: list, entities: list, returns: Returns | None = None) -> pd.DataFrame:
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
    for file_rows in (returns.files.values() if returns else []):
        for unit, indicator, period, value, basis, _reported in file_rows:
            rows[(unit, indicator, period, "ytd" if basis == "累计" else "period")] = float(value)
    for _day, period, *figures in PROVINCE:
        for indicator, value in zip(PROVINCE_INDICATORS, figures):
            rows[("hunan", indicator, period, "ytd")] = float(value)
    frame = pd.DataFrame([(*k, v) for k, v in rows.items()], columns=["unit", "indicator", "period", "basis", "value"])
    return frame.sort_values(["indicator", "unit", "period", "basis"]).reset_index(drop=True)


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "config" / "inbox"
    written = write_all(out)
    # The inbox is wholly the generator's: a return of an earlier draw (another report date) would linger.
    for stale in sorted(p for p in out.rglob("*") if p.is_file() and p not in written and p.name != "README.md"):
        stale.unlink()
    expected_rows = len(build()[2])
    print(f"wrote {len(written)} files under {out} ({expected_rows} observations; SYNTHETIC, not official figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
