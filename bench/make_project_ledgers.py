"""Generate the example project ledgers (项目台账) of ``config/ledgers/``.

    python bench/make_project_ledgers.py [OUT_DIR]      # default: config/ledgers

Two kinds of ledger:

* 大祥区 (2023, 1-6月) and 西洞庭管理区 (2025, 1-9月): **SYNTHETIC** projects, amounts and dates from
  ``numpy.random.default_rng(2023)``, with the dates typed the ways offices type them (2023.5.6,
  2023年5月6日, 5月6日, Excel serials, date cells) and a few projects that stall, miss a milestone
  or fall behind on 到位资金, so that the project rules give a mix of verdicts.
* Seed 002 (``002_e1b2c6009affd81b.txt``): the projects it reports. The seed gives the totals and some
  names, not every project's figures: 11 projects signed together for 14亿元 in 邵阳经济技术开发区 (five
  named; 国碳纳米 about 5亿元), a 16亿元 battery project signed there on its own, and the province's 十大
  产业项目 with 252.29亿元 invested in January–October 2023 against a 206.5亿元 annual plan (完成率
  122.17%; seven named). Unnamed projects, per-project amounts, monthly splits and dates are synthetic
  allocations whose totals are exactly the seed's figures; the titles say so.

Re-running reproduces the committed files (workbook dates pinned like ``bench/make_examples.py``).
``SEED_002`` holds the figures tests check the ledger reproduces.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from make_examples import pin_zip  # noqa: E402

# The figures seed 002 states, which the ledgers below must reproduce (tests/rules/test_projects.py).
SEED_002 = {
    "batch": "2023年邵阳市招商引资重点产业项目集中签约", "batch_projects": 11, "batch_investment": 14.0,
    "ten_projects_invested": 252.29, "ten_projects_plan": 206.5, "completion_rate": 122.17,
}
BASE = ["项目编号", "项目名称", "所属单位", "所属行业", "产业链", "总投资（亿元）", "项目来源", "包联领导", "责任部门",
        "签约时间", "注册时间", "开工时间", "入统时间", "投产时间", "计划开工时间", "计划投产时间"]


@dataclass
class Ledger:
    file: str
    title: str
    columns: list[str]
    money_group: str | None  # a merged header over monthly sub-columns
    months: list[str]
    rows: list[list]
    reported: datetime


def _split(total_cents: int, parts: int, rng, spread: float = 1.0) -> list[float]:
    """``parts`` amounts in 0.01 that add up exactly to ``total_cents``."""
    weights = rng.gamma(4.0 / spread, size=parts)
    cents = np.floor(weights / weights.sum() * total_cents).astype(int)
    cents[np.argmax(weights)] += total_cents - cents.sum()
    return [round(c / 100, 2) for c in cents]


def daxiang(rng) -> Ledger:
    # (编号, 名称, 单位, 行业, 产业链, 总投资, 来源, 包联领导, 责任部门, 签约, 注册, 开工, 入统, 投产, 计划开工, 计划投产)
    projects = [
        ("DX-2023-001", "智能装备制造产业园项目", "大祥区", "先进制造", "装备制造", 12.0, "三类500强", "伍毅", "区科工信局",
         "2023.1.10", "2023.2.3", None, None, None, "5月底前", "2024年12月"),
        ("DX-2023-002", "新型建材生产线项目", "大祥产业开发区", "新材料", "新材料", 3.5, "湘商回湘", "夏向阳", "大祥产业开发区",
         "2023年2月8日", "2023年2月20日", "2023年3月18日", "2023年4月", None, None, "2023年12月"),
        ("DX-2023-003", "锂电池材料项目", "大祥产业开发区", "新能源", "新能源", 8.0, "内资", "伍毅", "大祥产业开发区",
         "3月15日", None, None, None, None, "2023.9.30", None),
        ("DX-2023-004", "农产品冷链物流中心项目", "大祥区", "现代物流", "商贸物流", 2.2, "内资", "刘海龙", "区商务局",
         45052, 45070, 45090, None, None, None, None),
        ("DX-2023-005", "电子信息产业园项目", "大祥区", "电子信息", "电子信息", 5.6, "外资", "伍毅", "区商务局",
         datetime(2023, 4, 12), None, datetime(2023, 6, 2), None, None, None, None),
        ("DX-2023-006", "文旅融合综合体项目", "大祥区", "文化旅游", "文化旅游", 0.8, "内资", "夏丹波", "区文化旅游广电体育局",
         "2023.6.8", None, None, None, None, "2023.8.31", None),
        ("DX-2022-011", "食品精深加工项目", "大祥产业开发区", "食品加工", "绿色食品", 1.6, "湘商回湘", "夏向阳", "大祥产业开发区",
         "2021.6.1", "2021.7.1", "2021.9.15", "2022年1月", None, None, "2022年12月"),
        ("DX-2022-014", "医药中间体项目", "大祥产业开发区", "生物医药", "生物医药", 2.8, "内资", "伍毅", "区科工信局",
         "2022.5.20", "2022.6.10", "2022.8.8", "2022.11.30", "2023.5.6", None, None),
        ("DX-2023-007", "城市更新配套基础设施项目", "大祥区", "基础设施", None, 4.2, "内资", "蒋金亮", "区发改局",
         "2023.5.26", None, None, None, None, None, None),
    ]
    months = [f"{m}月" for m in range(1, 7)]
    rows = [[*p, *([None] * 6), "（示例数据）"] for p in projects]
    # 到位资金 by month, 亿元, at a pace per project (share of the contract a month): a few lag far behind.
    paces = {"DX-2023-002": 0.16, "DX-2023-004": 0.06, "DX-2023-005": 0.015, "DX-2022-011": 0.05, "DX-2022-014": 0.12,
             "DX-2023-001": 0.004}
    start_month = {"DX-2023-002": 2, "DX-2023-004": 5, "DX-2023-005": 4, "DX-2022-011": 1, "DX-2022-014": 1, "DX-2023-001": 2}
    for row in rows:
        pace = paces.get(row[0])
        if pace is None:
            continue
        for m in range(start_month[row[0]], 7):
            row[len(BASE) + m - 1] = round(row[5] * pace * float(rng.uniform(0.7, 1.3)), 2)
    return Ledger("大祥区2023年招商引资项目台账（1-6月）.xlsx", "大祥区2023年招商引资项目台账（1-6月）（示例数据，虚构，非官方统计）",
                  [*BASE, *months, "备注"], "2023年到位资金（亿元）", months, rows, datetime(2023, 7, 5, 9, 0))


def xidongting(rng) -> Ledger:
    projects = [
        ("XDT-2025-01", "稻虾综合种养加工项目", "西洞庭管理区", "农产品加工", "绿色食品", 3.0, "内资", "郑涵文", "商务局",
         "2025.1.16", "2025.2.10", "2025.3.20", None, None, None, "2025年10月"),
        ("XDT-2025-02", "生物饲料产业园项目", "西洞庭管理区", "生物医药", "生物饲料", 12.5, "三类500强", "王亮", "科工局",
         "2025年2月26日", None, None, None, None, "2025.6.30", None),
        ("XDT-2025-03", "光伏发电项目", "西洞庭管理区", "新能源", "新能源", 6.0, "内资", "谈海波", "发改局",
         "3月8日", "3月20日", "5月12日", None, None, None, None),
        ("XDT-2025-04", "预制菜加工项目", "西洞庭管理区", "农产品加工", "绿色食品", 1.2, "湘商回湘", "郑涵文", "商务局",
         45755, None, None, None, None, None, None),
        ("XDT-2025-05", "智能农机装备项目", "西洞庭管理区", "先进制造", "装备制造", 2.4, "内资", "辛勤", "科工局",
         datetime(2025, 5, 9), None, datetime(2025, 7, 1), None, None, None, None),
        ("XDT-2025-06", "冷链仓储项目", "西洞庭管理区", "现代物流", "商贸物流", 0.9, "内资", "任立", "商务局",
         "2025.6.18", None, None, None, None, "2025.10.31", None),
        ("XDT-2025-07", "水产品精深加工项目", "西洞庭管理区", "农产品加工", "绿色食品", 1.5, "外资", "郑涵文", "商务局",
         "2025.7.22", None, None, None, None, None, None),
        ("XDT-2024-09", "生态肥料项目", "西洞庭管理区", "新材料", "新材料", 1.1, "内资", "覃政", "农业农村局",
         "2023.3.2", "2023.4.1", "2023.6.6", "2023.12.1", None, None, "2024.12.31"),
        ("XDT-2025-08", "乡村旅游综合体项目", "西洞庭管理区", "文化旅游", "文化旅游", 0.6, "内资", "任立", "发改局",
         "2025.8.28", None, None, None, None, None, None),
    ]
    months = [f"{m}月" for m in range(1, 10)]
    rows = [[*p, *([None] * 9), "（示例数据）"] for p in projects]
    start = {"XDT-2025-01": 2, "XDT-2025-02": 3, "XDT-2025-03": 4, "XDT-2025-05": 6, "XDT-2024-09": 1}
    pace = {"XDT-2025-01": 0.07, "XDT-2025-02": 0.004, "XDT-2025-03": 0.05, "XDT-2025-05": 0.08, "XDT-2024-09": 0.02}
    for row in rows:
        if row[0] in start:
            for m in range(start[row[0]], 10):
                row[len(BASE) + m - 1] = round(row[5] * pace[row[0]] * float(rng.uniform(0.7, 1.3)), 2)
    return Ledger("西洞庭管理区2025年招商引资项目台账（1-9月）.xlsx", "西洞庭管理区2025年招商引资项目台账（1-9月）（示例数据，虚构，非官方统计）",
                  [*BASE, *months, "备注"], "到位资金（亿元）", months, rows, datetime(2025, 10, 8, 9, 0))


def shaoyang_signing(rng) -> Ledger:
    """Seed 002 L14-15: 11 projects signed together, 14亿元 in all (and L6-7: the 16亿元 battery project)."""
    named = [("动力与储能用新型磷酸铁锂材料项目", "新能源", "新能源", 2.0),
             ("华为邵阳运营中心项目", "数字经济", "大数据", 1.5),
             ("国碳纳米锂离子导电材料项目", "新材料", "新能源", 5.0),  # 总投资约5亿元 (seed 002 L15)
             ("区块链技术应用中心项目", "数字经济", "区块链", 0.8),
             ("工业互联网平台项目", "数字经济", "工业互联网", 1.0)]
    rest = _split(int(round((SEED_002["batch_investment"] - sum(p[3] for p in named)) * 100)), 6, rng)
    unnamed = [(f"集中签约项目{i}（原文未列名）", "先进制造", None, amount) for i, amount in enumerate(rest, 1)]
    batch = SEED_002["batch"]
    rows = []
    for i, (name, sector, chain, amount) in enumerate(named + unnamed, 1):
        rows.append([f"SYETDZ-2023-{i:02d}", name, "邵阳经济技术开发区", sector, chain, amount, "内资", None, None,
                     "2023年3月28日", None, None, None, None, None, None, batch, "签约日期为示例（原文只写2023年）"])
    rows.append(["SYETDZ-2023-12", "锂离子动力电池项目（山西易高能源有限公司）", "邵阳经济技术开发区", "新能源", "新能源", 16.0, "内资",
                 None, None, "2023.6.18", None, None, None, None, None, None, "2023年锂离子动力电池项目签约",
                 "seed 002 L6-7；签约日期为示例（原文只写2023年）"])
    return Ledger("邵阳经济技术开发区2023年签约项目台账.xlsx", "邵阳经济技术开发区2023年签约项目台账（据 seed 002；日期与未列名项目金额为示例）",
                  [*BASE, "签约批次", "备注"], None, [], rows, datetime(2023, 7, 3, 9, 0))


def hunan_ten(rng) -> Ledger:
    """Seed 002 L22-23: the province's 十大产业项目, 252.29亿元 invested in 1-10月 2023 against a 206.5亿元 plan."""
    names = [("上汽大众新能源汽车项目", "长沙经开区", "汽车制造"), ("蓝思科技电子信息项目", "长沙市", "电子信息"),
             ("山河工业城项目", "湘潭市", "装备制造"), ("中联智慧产业城项目", "长沙市", "工程机械"),
             ("华菱钢铁项目", "湘潭市", "新材料"), ("比亚迪电池项目", "长沙市", "新能源"),
             ("中车轨道交通项目", "株洲市", "轨道交通"),
             ("十大产业项目之八（原文未列名）", None, "先进制造"), ("十大产业项目之九（原文未列名）", None, "先进制造"),
             ("十大产业项目之十（原文未列名）", None, "先进制造")]
    plans = _split(int(round(SEED_002["ten_projects_plan"] * 100)), 10, rng)
    invested = _split(int(round(SEED_002["ten_projects_invested"] * 100)), 10, rng)
    rows = []
    for i, ((name, place, sector), plan, total) in enumerate(zip(names, plans, invested), 1):
        months = _split(int(round(total * 100)), 10, rng, spread=0.5)
        started = f"2023.{1 + i % 4}.{8 + i}"  # all started in 2023 (seed 002 L23: 全部开工建设); days are synthetic
        rows.append([f"HN10-2023-{i:02d}", name, "湖南省", sector, None, None, None, None, None,
                     None, None, started, None, None, None, None, plan, *months,
                     f"所在地：{place}；分项目金额与日期为示例" if place else "原文未列名；分项目金额与日期为示例"])
    months = [f"{m}月完成投资（亿元）" for m in range(1, 11)]
    return Ledger("湖南省2023年十大产业项目台账（1-10月）.xlsx", "湖南省2023年十大产业项目投资完成情况台账（1-10月）（据 seed 002；分项目数为示例，合计为原文数据）",
                  [*BASE, "年度计划投资（亿元）", *months, "备注"], None, [], rows, datetime(2023, 11, 10, 9, 0))


def write(ledger: Ledger, out: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "项目台账"
    width = len(ledger.columns)
    ws.cell(1, 1, ledger.title).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    two_rows = ledger.money_group is not None
    first_month = ledger.columns.index(ledger.months[0]) + 1 if two_rows else None
    for c, name in enumerate(ledger.columns, 1):
        if two_rows and first_month <= c < first_month + len(ledger.months):
            ws.cell(3, c, name)
            continue
        ws.cell(2, c, name)
        if two_rows:
            ws.merge_cells(start_row=2, start_column=c, end_row=3, end_column=c)
    if two_rows:
        ws.cell(2, first_month, ledger.money_group)
        ws.merge_cells(start_row=2, start_column=first_month, end_row=2, end_column=first_month + len(ledger.months) - 1)
    for row in ws.iter_rows(min_row=2, max_row=3 if two_rows else 2):
        for cell in row:
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.font = Font(bold=True)
    body = 4 if two_rows else 3
    for r, values in enumerate(ledger.rows, body):
        for c, value in enumerate(values, 1):
            if value is not None:
                cell = ws.cell(r, c, value)
                if isinstance(value, datetime):
                    cell.number_format = "yyyy-mm-dd"
    total = ws.cell(body + len(ledger.rows), 2, "合计")  # offices add a total row; the reader skips it
    total.font = Font(bold=True)
    wb.properties.creator = wb.properties.lastModifiedBy = "targetwatch example generator (synthetic data)"
    wb.properties.title = "SYNTHETIC example ledger (seed 002 totals are the document's own figures)"
    wb.properties.created = ledger.reported
    path = out / ledger.file
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    pin_zip(path, ledger.reported)
    return path


def build() -> list[Ledger]:
    rng = np.random.default_rng(2023)
    return [daxiang(rng), xidongting(rng), shaoyang_signing(rng), hunan_ten(rng)]


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "config" / "ledgers"
    for ledger in build():
        print(write(ledger, out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
