"""项目台账 ingest: every date form, every bad-input case as a located error, revisions and quarantine."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from collectors.ingest import ingest_file
from collectors.projects import read_ledger
from targetwatch.store.projects import ProjectLedger

HEADER = ["项目编号", "项目名称", "所属单位", "所属行业", "总投资（亿元）", "项目来源", "包联领导", "责任部门", "签约时间", "开工时间", "投产时间"]
GOOD = ["T-01", "测试项目甲", "大祥区", "先进制造", 2.5, "内资", "伍毅", "区商务局", "2023.2.1", "2023.3.1", None]


def workbook(path: Path, rows: list[list], title: str = "大祥区2023年招商引资项目台账（1-6月）", header=HEADER) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append([title])
    ws.append(header)
    for row in rows:
        ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


@pytest.mark.parametrize("typed", ["2023.5.6", "2023年5月6日", "5月6日", 45052, datetime(2023, 5, 6), "2023-05-06", "2023/5/6"],
                         ids=["dots", "chinese", "year_from_title", "excel_serial", "date_cell", "iso", "slashes"])
def test_each_date_form_reads_as_the_same_day(tmp_path, deployment, typed):
    row = ["T-01", "测试项目甲", "大祥区", "先进制造", 2.5, "内资", "伍毅", "区商务局", typed, None, None]
    read = read_ledger(workbook(tmp_path / "t.xlsx", [row]), deployment)
    assert read.errors.empty, read.errors.to_dict("records")
    assert read.projects.loc[0, "signed"] == pd.Timestamp(2023, 5, 6)


def test_month_end_deadlines_and_the_title_period(tmp_path, deployment):
    header = [*HEADER, "计划开工时间", "2023年到位资金（万元）/3月"]
    row = [*GOOD, "5月底前", 1500]
    read = read_ledger(workbook(tmp_path / "t.xlsx", [row], header=header), deployment)
    assert read.errors.empty, read.errors.to_dict("records")
    project = read.projects.iloc[0]
    assert project["planned_start"] == pd.Timestamp(2023, 5, 31)
    assert project["funds"] == {"2023-03": 0.15}  # 万元 in the header: kept in 亿元
    assert str(read.through) == "2023-06"  # 1-6月 in the title


BAD_CASES = {
    # case: (the row, the column the error names, a phrase of the reason)
    "stage_backwards": (["T-02", "倒序项目", "大祥区", "先进制造", 1, "内资", "伍毅", "区商务局", "2023.5.1", "2023.4.1", None],
                        "开工时间", "stage goes backwards: 开工 2023-04-01 before 签约 2023-05-01"),
    "unknown_unit": (["T-02", "外地项目", "火星区", "先进制造", 1, "内资", "伍毅", "区商务局", "2023.5.1", None, None],
                     "所属单位", "unknown unit '火星区'"),
    "impossible_date": (["T-02", "日期错项目", "大祥区", "先进制造", 1, "内资", "伍毅", "区商务局", "2023.2.30", None, None],
                        "签约时间", "impossible date '2023.2.30'"),
    "unreadable_date": (["T-02", "日期乱项目", "大祥区", "先进制造", 1, "内资", "伍毅", "区商务局", "上个月", None, None],
                        "签约时间", "cannot read date '上个月'"),
    "bad_amount": (["T-02", "金额错项目", "大祥区", "先进制造", "约两亿", "内资", "伍毅", "区商务局", "2023.5.1", None, None],
                   "总投资（亿元）", "not an amount: '约两亿'"),
    "unknown_leader": (["T-02", "无领导项目", "大祥区", "先进制造", 1, "内资", "张三", "区商务局", "2023.5.1", None, None],
                       "包联领导", "unknown 包联领导 '张三'"),
    "unknown_department": (["T-02", "无部门项目", "大祥区", "先进制造", 1, "内资", "伍毅", "区宇宙局", "2023.5.1", None, None],
                           "责任部门", "unknown department '区宇宙局'"),
    "unknown_source_type": (["T-02", "来源错项目", "大祥区", "先进制造", 1, "火星资本", "伍毅", "区商务局", "2023.5.1", None, None],
                            "项目来源", "unknown source type '火星资本'"),
    "no_unit": (["T-02", "无单位项目", None, "先进制造", 1, "内资", "伍毅", "区商务局", "2023.5.1", None, None],
                "所属单位", "a project without a 所属单位"),
    "no_name": (["T-02", None, "大祥区", "先进制造", 1, "内资", "伍毅", "区商务局", "2023.5.1", None, None],
                "项目名称", "a project without a 项目名称"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_each_bad_row_is_a_located_error_and_the_good_row_still_reads(tmp_path, deployment, case):
    row, column, reason = BAD_CASES[case]
    # A title that names no unit: a row without a 所属单位 has none to fall back on.
    path = workbook(tmp_path / f"{case}.xlsx", [GOOD, row], title="2023年招商引资项目台账（1-6月）")
    read = read_ledger(path, deployment)
    assert list(read.projects["project"]) == ["T-01"]
    assert len(read.errors) == 1, read.errors.to_dict("records")
    error = read.errors.iloc[0]
    assert (error["sheet"], error["row"], error["column"]) == ("台账", 4, column)
    assert reason in error["reason"]


def test_two_projects_with_one_name_in_one_unit_are_both_errors(tmp_path, deployment):
    twin = ["T-03", "测试项目甲", "大祥区", "新材料", 1, "内资", "伍毅", "区商务局", "2023.4.1", None, None]
    other_unit = ["T-04", "测试项目甲", "大祥产业开发区", "新材料", 1, "内资", "伍毅", "区商务局", "2023.4.1", None, None]
    read = read_ledger(workbook(tmp_path / "t.xlsx", [GOOD, twin, other_unit]), deployment)
    assert list(read.projects["project"]) == ["T-04"]  # the same name in another unit is another project
    assert sorted(read.errors["row"]) == [3, 4]
    assert all("appears more than once in unit 'daxiang'" in r for r in read.errors["reason"])


@pytest.mark.parametrize("content", [b"", b"not a workbook at all", b"PK\x03\x04broken zip"], ids=["empty", "text", "broken_zip"])
def test_read_ledger_never_raises_on_a_broken_file(tmp_path, content):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    read = read_ledger(path)
    assert read.projects.empty and len(read.errors) == 1
    assert read.errors.iloc[0]["reason"].startswith("file rejected")


def test_a_workbook_that_is_not_a_ledger_says_so(tmp_path, deployment):
    read = read_ledger(workbook(tmp_path / "t.xlsx", [["x", 1]], header=["单位", "数值"]), deployment)
    assert "no sheet has a 项目名称 header" in read.errors.iloc[0]["reason"]


def test_ingest_quarantines_errors_keeps_revisions_and_reads_as_of(tmp_path, deployment, db):
    inbox = deployment.root / "ledgers"
    bad = BAD_CASES["stage_backwards"][0]
    first = ingest_file(deployment, db, workbook(inbox / "台账v1.xlsx", [GOOD, bad]), reported_at=datetime(2023, 7, 1, tzinfo=timezone.utc))
    assert first.batch.quarantined == 1 and first.collector == "项目台账"
    quarantined = db.quarantined()
    assert quarantined[["sheet", "row", "column"]].values.tolist() == [["台账", 4, "开工时间"]]
    again = ingest_file(deployment, db, inbox / "台账v1.xlsx", reported_at=datetime(2023, 7, 1, tzinfo=timezone.utc))
    assert again.batch.revisions_added == 0 and len(db.quarantined()) == 1  # re-ingest changes nothing

    moved = [*GOOD[:9], "2023.3.15", None]  # a corrected 开工 date, reported later
    ingest_file(deployment, db, workbook(inbox / "台账v2.xlsx", [moved]), reported_at=datetime(2023, 8, 1, tzinfo=timezone.utc))
    ledger = ProjectLedger(deployment.settings.sqlite_path)
    try:
        assert list(ledger.revisions("T-01")["started"]) == [pd.Timestamp(2023, 3, 1), pd.Timestamp(2023, 3, 15)]
        before = ledger.read(as_of=datetime(2023, 7, 15, tzinfo=timezone.utc))
        assert before.loc[0, "started"] == pd.Timestamp(2023, 3, 1) and before.loc[0, "revision"] == 1
    finally:
        ledger.close()
    # The derived count follows the revision: one project started in March 2023, whichever day.
    obs = db.read(indicators=["projects_started"], units=["daxiang"], start=20230303, end=20230303)
    assert set(obs["value"]) == {1.0}


def test_parse_date_reads_a_month_without_a_day_as_its_first_or_last_day():
    from targetwatch.periods import parse_date

    assert parse_date("2023年5月") == date(2023, 5, 1)
    assert parse_date("2023年5月", month_only="last") == date(2023, 5, 31)
    assert parse_date("5月底前", 2024) == date(2024, 5, 31)


def test_the_generator_reproduces_the_committed_ledgers(tmp_path):
    import subprocess
    import sys

    from python_calamine import CalamineWorkbook

    from tests.conftest import EXAMPLE_CONFIG
    from tests.ledgers import GENERATOR

    subprocess.run([sys.executable, str(GENERATOR), str(tmp_path)], check=True, capture_output=True, cwd=tmp_path)
    committed = sorted(p.name for p in (EXAMPLE_CONFIG / "ledgers").glob("*.xlsx"))
    assert sorted(p.name for p in tmp_path.glob("*.xlsx")) == committed and len(committed) == 4
    for name in committed:
        mine, theirs = CalamineWorkbook.from_path(str(tmp_path / name)), CalamineWorkbook.from_path(str(EXAMPLE_CONFIG / "ledgers" / name))
        assert [mine.get_sheet_by_name(s).to_python() for s in mine.sheet_names] == \
               [theirs.get_sheet_by_name(s).to_python() for s in theirs.sheet_names], name


def test_a_ledger_outside_the_configured_folder_is_recognised_by_its_header(tmp_path, deployment, db):
    path = workbook(tmp_path / "elsewhere" / "台账.xlsx", [GOOD])
    result = ingest_file(deployment, db, path, reported_at=datetime(2023, 7, 1, tzinfo=timezone.utc))
    assert result.ok and result.collector == "项目台账"
    assert set(db.read(indicators=["projects_signed"], units=["daxiang"])["value"]) >= {1.0}


def test_a_ledger_of_one_unit_may_name_it_in_its_title_only(tmp_path, deployment):
    header = [h for h in HEADER if h != "所属单位"]
    row = [v for h, v in zip(HEADER, GOOD) if h != "所属单位"]
    read = read_ledger(workbook(tmp_path / "t.xlsx", [row], title="大祥区2023年招商引资项目台账", header=header), deployment)
    assert read.errors.empty and read.projects.loc[0, "unit"] == "daxiang"


def test_random_cells_never_raise_and_every_row_lands_or_is_located(tmp_path, deployment):
    import random

    rng = random.Random(12)
    pool = [None, "", "/", "2023.5.6", "5月底前", "2023.13.40", 45052, -3, 1e308, "约两亿", "大祥区", "火星区", "伍毅", "张三",
            "内资", "湘商回湘", "=1+1", "项目名称", "合计", datetime(2023, 1, 1), True, "\u3000", "１２"]
    rows = [[f"R-{i}", f"随机项目{i}", *[rng.choice(pool) for _ in HEADER[2:]]] for i in range(200)]
    read = read_ledger(workbook(tmp_path / "random.xlsx", rows, title="2023年招商引资项目台账（1-6月）"), deployment)
    landed = set(read.projects["project"])
    located = set(read.errors["row"].dropna().astype(int))
    # Every data row (sheet rows 3..202) either landed as a project or has at least one located error.
    for i in range(200):
        assert (f"R-{i}" in landed) != (i + 3 in located), i


@pytest.mark.parametrize("typed", ["inf", "1e309", "Infinity", "nan", "-inf"])
@pytest.mark.parametrize("column", ["总投资（亿元）", "1月到位资金（亿元）", "年度计划投资（亿元）"])
def test_a_non_finite_amount_is_a_located_error_not_a_landed_value(tmp_path, deployment, typed, column):
    # float() reads these words: inf landed as a 总投资 or a month's 到位资金, and nan looked like a blank cell.
    header = [*HEADER, "1月到位资金（亿元）", "年度计划投资（亿元）"]
    row = [*GOOD, 0.5, 1.0]
    row[header.index(column)] = typed
    read = read_ledger(workbook(tmp_path / "t.xlsx", [row], header=header), deployment)
    assert read.projects.empty, read.projects.to_dict("records")
    [error] = read.errors.to_dict("records")
    assert (error["row"], error["column"]) == (3, column) and "not an amount" in error["reason"], error


def test_both_rows_of_a_duplicate_name_keep_their_cells_in_the_quarantine(tmp_path, deployment):
    # Nothing is lost: the duplicate rows were quarantined with raw=None, so their amounts and dates
    # existed nowhere once the ledger was ingested.
    twin = ["T-03", "测试项目甲", "大祥区", "新材料", 7.25, "内资", "伍毅", "区商务局", "2023.4.1", None, None]
    read = read_ledger(workbook(tmp_path / "t.xlsx", [GOOD, twin]), deployment)
    raws = read.errors.sort_values("row")["raw"].tolist()
    assert raws[0].startswith("T-01,测试项目甲,大祥区") and "2.5" in raws[0], raws
    assert raws[1].startswith("T-03,测试项目甲,大祥区") and "7.25" in raws[1] and "2023.4.1" in raws[1], raws
