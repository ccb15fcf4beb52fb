"""The Excel collector on real workbooks written with openpyxl: merged headers, scaling, not-reported
cells, and every kind of bad input, each located by sheet, row and column while the good rows land."""

from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from collectors.ingest import ingest_file
from targetwatch.cli import app

MAPPING = """\
apiVersion: targetwatch/v1
kind: Collector
metadata: {name: test-monthly}
spec:
  files: ["drop/*.xlsx"]
  sheets:
    - name: '^\\d{4}年'
      period: {from: sheet}
      skip_rows: 1
      header_rows: 2
      unit_column: 县市区
      columns:
        - {header: 规模工业增加值/累计增速（%）, indicator: industrial_va_growth}
        - {header: 社会消费品零售总额/累计（万元）, indicator: retail_sales, measure: 万元}
        - {header: 社会消费品零售总额/累计增速（%）, indicator: retail_sales_growth}
        - {header: 地方一般公共预算收入/累计（亿元）, indicator: fiscal_revenue, measure: 亿元}
"""
# Column letters as the quarantine names them.
IVA, RETAIL, RETAIL_G, FISCAL = ("B 规模工业增加值/累计增速（%）", "C 社会消费品零售总额/累计（万元）",
                                 "D 社会消费品零售总额/累计增速（%）", "E 地方一般公共预算收入/累计（亿元）")


def good_rows() -> list[list]:
    """Units down the side (全市 is 邵阳市's own figure; 大  祥 is padded), values across; F is 位次."""
    return [
        ["全市", 6.1, 4656500, 6.9, 81.76, None],
        ["大  祥", 5.2, 528300, 7.1, 6.98, 2],
        ["邵东市", "7.0", 951000, 6.0, "/", 1],
        ["北塔区", None, 224000, 5.5, 3.01, 3],
    ]


# (unit, indicator) → value in the indicator's unit of measure, for good_rows().
GOOD = {
    ("shaoyang", "industrial_va_growth"): 6.1, ("shaoyang", "retail_sales"): 465.65,
    ("shaoyang", "retail_sales_growth"): 6.9, ("shaoyang", "fiscal_revenue"): 817600.0,
    ("daxiang", "industrial_va_growth"): 5.2, ("daxiang", "retail_sales"): 52.83,
    ("daxiang", "retail_sales_growth"): 7.1, ("daxiang", "fiscal_revenue"): 69800.0,
    ("shaodong", "industrial_va_growth"): 7.0, ("shaodong", "retail_sales"): 95.1, ("shaodong", "retail_sales_growth"): 6.0,
    ("beita", "retail_sales"): 22.4, ("beita", "retail_sales_growth"): 5.5, ("beita", "fiscal_revenue"): 30100.0,
}


def write_workbook(path: Path, sheets: dict[str, list[list] | None]) -> Path:
    """A report as departments lay it out: a title row, then merged group headers over sub-headers.

    A sheet given as None is left empty."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        if rows is None:
            continue
        ws["A1"] = f"邵阳市县市区主要经济指标（{name}）"
        ws.merge_cells("A1:F1")
        ws["A2"], ws["B2"], ws["C2"], ws["E2"] = "县市区", "规模工业增加值", "社会消费品零售总额", "地方一般公共预算收入"
        ws.merge_cells("A2:A3")
        ws.merge_cells("C2:D2")
        ws.merge_cells("E2:F2")
        ws["B3"], ws["C3"], ws["D3"], ws["E3"], ws["F3"] = "累计增速（%）", "累计（万元）", "累计增速（%）", "累计（亿元）", "位次"
        for row in rows:
            ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


@pytest.fixture
def drop(deployment_dir: Path) -> Path:
    """The folder the test mapping reads, inside a private copy of the example deployment."""
    (deployment_dir / "collectors" / "zz-test.yaml").write_text(MAPPING, encoding="utf-8")
    return deployment_dir / "drop"



def landed(db) -> dict:
    frame = db.read()
    return {(u, i): v for u, i, v in frame[["unit", "indicator", "value"]].itertuples(index=False)}


def quarantine(db) -> list[tuple]:
    return [tuple(r) for r in db.quarantined()[["sheet", "row", "column"]].itertuples(index=False)]


def test_merged_group_headers_read_each_sub_column_and_scale_to_the_catalogue_unit(drop, deployment, db):
    f = write_workbook(drop / "a.xlsx", {"2023年1-6月": good_rows()})
    res = ingest_file(deployment, db, f)
    assert res.ok and res.collector == "test-monthly"
    assert res.batch.revisions_added == len(GOOD)
    got = landed(db)
    # 万元 → 亿元 (retail_sales) and 亿元 → 万元 (fiscal_revenue) are float products: equal to the last bit or so.
    assert got == pytest.approx(GOOD, rel=1e-12)
    frame = db.read()
    assert set(frame["period"]) == {20230606} and set(frame["basis"].astype(str)) == {"ytd"}


def test_slash_and_blank_cells_are_not_reported_and_never_zero(drop, deployment, db):
    f = write_workbook(drop / "a.xlsx", {"2023年1-6月": good_rows()})
    res = ingest_file(deployment, db, f)
    assert res.ok and res.not_reported == 2
    got = landed(db)
    assert ("shaodong", "fiscal_revenue") not in got and ("beita", "industrial_va_growth") not in got
    assert 0.0 not in got.values()


def test_a_jan_feb_sheet_is_the_combined_release(drop, deployment, db):
    f = write_workbook(drop / "a.xlsx", {"2023年1-2月": good_rows()[:2]})
    assert ingest_file(deployment, db, f).ok
    assert set(db.read()["period"]) == {20230102}


@pytest.mark.parametrize(
    "row, cell, column, reason",
    [
        (4, (0, "火星区"), "县市区", "unknown unit '火星区'"),
        (5, (1, "十二"), IVA, "not a number: '十二'"),
        (6, (4, "约3亿"), FISCAL, "not a number: '约3亿'"),
    ],
    ids=["an unknown unit", "a non-numeric growth", "a non-numeric amount"],
)
def test_a_bad_cell_is_quarantined_with_sheet_row_and_column_and_good_rows_land(drop, deployment, db, row, cell, column, reason):
    rows = good_rows()
    index, value = cell
    rows[row - 4][index] = value
    f = write_workbook(drop / "a.xlsx", {"2023年1-6月": rows})
    res = ingest_file(deployment, db, f)
    assert not res.ok
    q = db.quarantined()
    assert quarantine(db) == [("2023年1-6月", row, column)] * len(q)
    assert all(reason in r for r in q["reason"]) and q["file"].eq(str(f)).all()
    bad_unit = {4: "shaoyang", 5: "daxiang", 6: "shaodong"}[row]
    still = {k: v for k, v in GOOD.items() if not (index == 0 and k[0] == bad_unit)
             and not (k == (bad_unit, "industrial_va_growth") and index == 1)}
    assert landed(db) == pytest.approx(still, rel=1e-12)
    assert res.batch.revisions_added == len(still)


def test_an_unknown_indicator_in_the_mapping_quarantines_its_column_only(drop, deployment, db, deployment_dir):
    mapping = deployment_dir / "collectors" / "zz-test.yaml"
    mapping.write_text(MAPPING.replace("indicator: retail_sales_growth", "indicator: moon_growth"), encoding="utf-8")
    f = write_workbook(drop / "a.xlsx", {"2023年1-6月": good_rows()})
    res = ingest_file(deployment, db, f)
    assert not res.ok and res.batch.quarantined == 4
    assert quarantine(db) == [("2023年1-6月", r, RETAIL_G) for r in (4, 5, 6, 7)]
    assert set(db.quarantined()["reason"]) == {"unknown indicator 'moon_growth'"}
    assert landed(db) == pytest.approx({k: v for k, v in GOOD.items() if k[1] != "retail_sales_growth"}, rel=1e-12)


def test_an_impossible_period_in_a_sheet_name_rejects_that_sheet_and_the_others_land(drop, deployment, db):
    f = write_workbook(drop / "a.xlsx", {"2023年1-6月": good_rows(), "2023年1-13月": good_rows()})
    res = ingest_file(deployment, db, f)
    assert not res.ok and res.batch.quarantined == 1
    q = db.quarantined()
    assert q["sheet"].tolist() == ["2023年1-13月"]
    assert q["reason"][0].startswith("sheet rejected: sheet name '2023年1-13月'") and "impossible period" in q["reason"][0]
    assert landed(db) == pytest.approx(GOOD, rel=1e-12)


def test_the_same_key_twice_with_different_values_quarantines_both_rows(drop, deployment, db):
    rows = good_rows() + [["大祥区", 5.9, 528300, 7.1, 6.98, 2]]  # 大  祥 again, another 规模工业 growth
    f = write_workbook(drop / "a.xlsx", {"2023年1-6月": rows})
    res = ingest_file(deployment, db, f)
    assert not res.ok and res.batch.quarantined == 2
    assert quarantine(db) == [("2023年1-6月", 5, IVA), ("2023年1-6月", 8, IVA)]
    assert all("conflicting duplicate" in r and "5.2, 5.9" in r for r in db.quarantined()["reason"])
    # The same values given twice are harmless: they land once.
    assert landed(db) == pytest.approx({k: v for k, v in GOOD.items() if k != ("daxiang", "industrial_va_growth")}, rel=1e-12)


def test_the_same_key_in_two_sheets_with_different_values_names_both_sheets(drop, deployment, db):
    other = good_rows()
    other[1][1] = 5.6
    f = write_workbook(drop / "a.xlsx", {"2023年1-6月": good_rows(), "2023年1-6月(续)": other})
    res = ingest_file(deployment, db, f)
    assert res.batch.quarantined == 2
    assert sorted(quarantine(db)) == [("2023年1-6月", 5, IVA), ("2023年1-6月(续)", 5, IVA)]


def test_a_missing_sheet_rejects_the_file_records_it_and_ingest_exits_3(drop, deployment_dir, db):
    f = write_workbook(drop / "a.xlsx", {"Sheet1": good_rows()})
    result = CliRunner().invoke(app, ["ingest", "--config", str(deployment_dir), str(f)])
    assert result.exit_code == 3, result.output  # a whole file rejected (1 is for quarantined rows)
    q = db.quarantined()
    assert q[["file", "sheet", "row"]].values.tolist() == [[str(f), None, None]]
    assert q["reason"][0] == "file rejected: missing sheet matching '^\\d{4}年'; the workbook has: Sheet1"
    assert db.read().empty


def test_an_empty_sheet_is_quarantined_and_the_other_sheets_land(drop, deployment, db):
    f = write_workbook(drop / "a.xlsx", {"2023年1-6月": good_rows(), "2023年1-5月": None})
    res = ingest_file(deployment, db, f)
    assert not res.ok and res.error is None
    assert db.quarantined()[["sheet", "reason"]].values.tolist() == [
        ["2023年1-5月", "sheet rejected: sheet is empty or shorter than its header"]]
    assert landed(db) == pytest.approx(GOOD, rel=1e-12)


def test_a_text_file_named_xlsx_is_rejected_and_recorded(drop, deployment, db):
    drop.mkdir(parents=True)
    f = drop / "not-a-workbook.xlsx"
    f.write_text("unit,indicator,period,value\n大祥区,gdp,2023-Q2,1\n", encoding="utf-8")
    res = ingest_file(deployment, db, f)
    assert not res.ok and "not a readable workbook" in res.error
    q = db.quarantined()
    assert len(q) == 1 and q["reason"][0].startswith("file rejected: not a readable workbook")
    assert db.read().empty


def test_a_workbook_no_mapping_names_is_rejected_with_the_fix(tmp_path, deployment, db):
    f = write_workbook(tmp_path / "elsewhere" / "a.xlsx", {"2023年1-6月": good_rows()})
    res = ingest_file(deployment, db, f)
    assert not res.ok and "add its glob to a mapping's files" in res.error


def test_reingesting_a_workbook_changes_nothing_not_even_the_quarantine(drop, deployment, db):
    rows = good_rows()
    rows[2][0] = "火星区"
    f = write_workbook(drop / "a.xlsx", {"2023年1-6月": rows, "2022年1-6月": good_rows()})
    first = ingest_file(deployment, db, f)
    before = (db.read(), db.quarantined().drop(columns=["batch", "ingested_at"]))
    again = ingest_file(deployment, db, f)
    assert first.batch.revisions_added == again.batch.unchanged > 0
    # One row (火星区) quarantined, counted as the quarantine lists it: a row, not its three cells.
    assert again.batch.revisions_added == 0 and again.batch.quarantined == first.batch.quarantined == 1 == len(before[1])
    after = (db.read(), db.quarantined().drop(columns=["batch", "ingested_at"]))
    assert after[0].drop(columns=["batch"]).equals(before[0].drop(columns=["batch"]))
    assert after[1].equals(before[1])


def test_ragged_rows_mixed_cells_and_a_blank_row_read_cell_by_cell_with_their_row_numbers(drop, deployment, db):
    # A row longer than the header, a row cut short, a blank row; numbers typed as numbers, as text with separators,
    # as whole numbers, and a TRUE that is no figure.
    rows = [
        ["全市", 6.1, 4656500, 6.9, 81.76, None],
        ["大  祥", True, "528,300", 7, 6.98, 2, "a note past the header"],
        [],
        ["北塔区", "5 5"],
    ]
    f = write_workbook(drop / "a.xlsx", {"2023年1-6月": rows})
    res = ingest_file(deployment, db, f)
    assert (res.batch.quarantined, res.not_reported) == (2, 3)
    assert quarantine(db) == [("2023年1-6月", 5, IVA), ("2023年1-6月", 7, IVA)]
    reasons = db.quarantined()["reason"].tolist()
    assert "TRUE/FALSE value" in reasons[0] and "space inside the number" in reasons[1]
    expected = {k: v for k, v in GOOD.items() if k[0] == "shaoyang" or (k[0] == "daxiang" and k[1] != "industrial_va_growth")}
    assert landed(db) == pytest.approx({**expected, ("daxiang", "retail_sales_growth"): 7.0}, rel=1e-12)


def test_a_parser_over_its_time_limit_is_stopped_and_the_workbook_rejected_located(drop, deployment_dir):
    # The child streams sheets while the service reads them; its time limit still ends it, and nothing lands.
    from targetwatch.deployment import load_deployment
    from targetwatch.store.sqlite import SQLiteStore

    settings = deployment_dir / "settings.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + "limits: {parser_seconds: 0.001}\n", encoding="utf-8")
    dep = load_deployment(deployment_dir)
    store = SQLiteStore(dep.settings.sqlite_path)
    try:
        f = write_workbook(drop / "a.xlsx", {"2023年1-6月": good_rows()})
        res = ingest_file(dep, store, f)
        assert res.rejected and "the workbook parser did not finish within 0.001 s (settings limits.parser_seconds)" in res.error
        assert store.quarantined()[["file", "sheet", "row"]].values.tolist() == [[str(f), None, None]]
        assert store.read().empty
    finally:
        store.close()
