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
    COUNTIES, IDS, MONTHS, XDT_MONTHS, check_story, daxiang_long, gdp_frames, shaoyang_series, xidongting_series,
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
- `hunan/湖南省主要经济指标_2023年5-6月.csv`: the province's own figures (the `全省` row, what 高于全省平均水平
  compares with), as a province publishes them: the period as the date that closes it (2023/6/30) and the
  basis as a word (累计同比). Mapping: `config/collectors/hunan-province.yaml`.

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
    files.append((out / "hunan" / "湖南省主要经济指标_2023年5-6月.csv", PROVINCE_HEADER, province_rows(), "utf-8-sig"))
    for path, header, rows, encoding in files:
        write_csv(path, header, rows, encoding)
        written.append(path)
    (out / "README.md").write_text(README, encoding="utf-8")
    return written


# ---- the province's own figures (全省) -----------------------------------------------------------------

PROVINCE_HEADER = ["地区", "统计截止日期", "口径", "进出口总额增速（%）", "出口总额增速（%）", "进口总额增速（%）"]
# (closing day, trade, export, import): 大祥区's trade growth (-7.4 in May, -3.6 in June) is above the
# province in May and below it in June, so 高于全省平均水平 is met once and missed once.
PROVINCE = [("2023/5/31", "2023-05", -9.8, -6.1, -15.2), ("2023/6/30", "2023-06", -2.5, 1.4, -8.9)]
PROVINCE_INDICATORS = ("trade_total_growth", "export_growth", "import_growth")


def province_rows() -> list[list]:
    return [["全省", day, "累计同比", *figures] for day, _period, *figures in PROVINCE]


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
    for _day, period, *figures in PROVINCE:
        for indicator, value in zip(PROVINCE_INDICATORS, figures):
            rows[("hunan", indicator, period, "ytd")] = float(value)
    frame = pd.DataFrame([(*k, v) for k, v in rows.items()], columns=["unit", "indicator", "period", "basis", "value"])
    return frame.sort_values(["indicator", "unit", "period", "basis"]).reset_index(drop=True)


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "config" / "inbox"
    written = write_all(out)
    expected_rows = len(build()[2])
    print(f"wrote {len(written)} files under {out} ({expected_rows} observations; SYNTHETIC, not official figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
