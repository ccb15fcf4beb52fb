"""Reading data as published (issue 11): basis words, a basis column, several layouts of one CSV, month-end
dates, the Jan–Feb release, globs that climb out of the deployment, and strict figures."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from collectors.ingest import ingest_file
from collectors.layout import load_collectors
from targetwatch.errors import ConfigError

HEADER = "unit,indicator,period,value,basis\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def mapping(deployment_dir: Path, name: str, text: str) -> None:
    (deployment_dir / "collectors" / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")


def _bases(db) -> dict:
    frame = db.read()
    return {(u, p): b for u, p, b in frame[["unit", "period", "basis"]].itertuples(index=False)}


@pytest.mark.parametrize("word, basis", [("累计同比", "ytd"), ("1-6月", "ytd"), ("1—6月累计", "ytd"), ("累计", "ytd"),
                                         ("当月同比", "period"), ("本月", "period"), ("当月", "period")])
def test_published_basis_words_are_read(tmp_path, deployment, db, word, basis):
    f = write(tmp_path / "a.csv", HEADER + f"大祥区,规模工业增加值增速,2023-06,6.1,{word}\n")
    res = ingest_file(deployment, db, f)
    assert res.ok, res.reasons
    assert list(_bases(db).values()) == [basis]


def test_an_unknown_basis_word_is_quarantined_with_the_words_that_are_known(tmp_path, deployment, db):
    f = write(tmp_path / "a.csv", HEADER + "大祥区,规模工业增加值增速,2023-06,6.1,上旬\n")
    res = ingest_file(deployment, db, f)
    assert res.batch.quarantined == 1
    assert "unknown basis '上旬'" in db.quarantined()["reason"][0] and "累计同比" in db.quarantined()["reason"][0]


def test_a_wide_layout_takes_each_rows_basis_from_a_column(deployment_dir, deployment, db):
    mapping(deployment_dir, "wide-basis", """
        apiVersion: targetwatch/v1
        kind: Collector
        metadata: {name: wide-basis}
        spec:
          files: ["inbox/wide/*.csv"]
          sheets:
            - shape: wide
              unit_column: 县市区
              basis_column: 口径
              period: {from: column, column: 期别}
              columns:
                - {header: 规模工业增加值增速, indicator: industrial_va_growth}
        """)
    (deployment_dir / "inbox" / "wide").mkdir()
    f = write(deployment_dir / "inbox" / "wide" / "iva.csv",
              "县市区,期别,口径,规模工业增加值增速\n大祥区,2023-06,累计同比,6.1\n北塔区,2023-06,当月同比,7.2\n")
    res = ingest_file(deployment, db, f)
    assert res.ok, res.reasons
    assert _bases(db) == {("daxiang", 20230606): "ytd", ("beita", 20230606): "period"}


def test_every_layout_of_a_mapping_reads_a_csv(deployment_dir, deployment, db):
    # one table, two views: the growth columns and the level columns, each with its own layout
    mapping(deployment_dir, "two-layouts", """
        apiVersion: targetwatch/v1
        kind: Collector
        metadata: {name: two-layouts}
        spec:
          files: ["inbox/two/*.csv"]
          sheets:
            - shape: wide
              unit_column: 县市区
              period: {from: fixed, value: 2023-06}
              columns: [{header: 社零增速, indicator: retail_sales_growth}]
            - shape: wide
              unit_column: 县市区
              period: {from: fixed, value: 2023-06}
              columns: [{header: 社零总额, indicator: retail_sales, measure: 亿元}]
        """)
    (deployment_dir / "inbox" / "two").mkdir()
    f = write(deployment_dir / "inbox" / "two" / "retail.csv", "县市区,社零增速,社零总额\n大祥区,6.5,88.1\n")
    res = ingest_file(deployment, db, f)
    assert res.ok and res.batch.revisions_added == 2
    assert sorted(db.read()["indicator"]) == ["retail_sales", "retail_sales_growth"]


@pytest.mark.parametrize("written", ["20230630", "2023-06-30", "2023/6/30"])
def test_a_month_end_date_is_the_month_it_closes(tmp_path, deployment, db, written):
    f = write(tmp_path / "a.csv", HEADER + f"大祥区,规模工业增加值增速,{written},6.1,累计\n")
    assert ingest_file(deployment, db, f).ok
    assert list(_bases(db)) == [("daxiang", 20230606)]


@pytest.mark.parametrize("written", ["20230228", "2023-02-28", "2023/2/28"])
def test_a_february_date_of_a_jan_feb_indicator_is_the_combined_release(tmp_path, deployment, db, written):
    # 规模工业增加值 is released as 1-2月 (jan_feb_combined); 一般公共预算收入 is not
    f = write(tmp_path / "a.csv", HEADER + f"大祥区,规模工业增加值增速,{written},6.1,累计\n大祥区,fiscal_revenue,{written},9000,累计\n")
    assert ingest_file(deployment, db, f).ok
    got = {i: p for i, p in db.read()[["indicator", "period"]].itertuples(index=False)}
    assert got == {"industrial_va_growth": 20230102, "fiscal_revenue": 20230202}


def test_a_date_that_does_not_end_a_month_is_quarantined_with_its_reason(tmp_path, deployment, db):
    f = write(tmp_path / "a.csv", HEADER + "大祥区,规模工业增加值增速,2023-06-15,6.1,累计\n")
    res = ingest_file(deployment, db, f)
    q = db.quarantined()
    assert res.batch.quarantined == 1 and q[["row", "column"]].values.tolist() == [[2, "period"]]
    assert "does not end a month" in q["reason"][0] and "2023-06-30" in q["reason"][0]


def test_a_glob_that_climbs_out_of_the_deployment_is_refused_at_load(deployment_dir):
    mapping(deployment_dir, "climb", """
        apiVersion: targetwatch/v1
        kind: Collector
        metadata: {name: climb}
        spec:
          files: ["../elsewhere/*.csv"]
          sheets: [{shape: long}]
        """)
    with pytest.raises(ConfigError) as err:
        load_collectors(deployment_dir)
    assert "climb.yaml" in str(err.value) and "'..'" in str(err.value)


@pytest.mark.parametrize("value, reason", [
    ("TRUE", "is a TRUE/FALSE value"), ("false", "is a TRUE/FALSE value"),
    ('"1,5"', "thousands separator out of place"), ('"12,34.5"', "thousands separator out of place"),
    ("12 34", "space inside the number"), ("1.2.3", "not a number: '1.2.3'"),
])
def test_values_that_are_not_figures_are_quarantined_with_their_reason(tmp_path, deployment, db, value, reason):
    f = write(tmp_path / "a.csv", "unit,indicator,period,value\n北塔区,gdp,2023-Q2,10\n大祥区,gdp,2023-Q2," + value + "\n")
    res = ingest_file(deployment, db, f)
    assert res.batch.quarantined == 1 and res.batch.revisions_added == 1
    q = db.quarantined()
    assert q[["row", "column"]].values.tolist() == [[3, "value"]]
    assert reason in q["reason"][0]


@pytest.mark.parametrize("value, number", [('"1,234.5"', 1234.5), ('"12,345,678"', 12345678.0), ("-3.5", -3.5), ('"1，234"', 1234.0)])
def test_thousands_separators_in_their_places_are_read(tmp_path, deployment, db, value, number):
    f = write(tmp_path / "a.csv", "unit,indicator,period,value\n大祥区,gdp,2023-Q2," + value + "\n")
    assert ingest_file(deployment, db, f).ok
    assert db.read()["value"].tolist() == [number]


def test_an_excel_boolean_column_is_rejected_not_stored_as_one_and_zero(deployment_dir, deployment, db):
    from openpyxl import Workbook

    mapping(deployment_dir, "flags", """
        apiVersion: targetwatch/v1
        kind: Collector
        metadata: {name: flags}
        spec:
          files: ["inbox/flags/*.xlsx"]
          sheets:
            - shape: wide
              unit_column: 县市区
              period: {from: fixed, value: 2023-Q2}
              columns: [{header: 地区生产总值, indicator: gdp}]
        """)
    (deployment_dir / "inbox" / "flags").mkdir()
    wb = Workbook()
    ws = wb.active
    ws.append(["县市区", "地区生产总值"])
    ws.append(["大祥区", True])
    ws.append(["北塔区", 12.5])
    path = deployment_dir / "inbox" / "flags" / "gdp.xlsx"
    wb.save(path)
    res = ingest_file(deployment, db, path)
    assert res.batch.quarantined == 1 and db.read()["unit"].tolist() == ["beita"]
    assert "TRUE/FALSE" in db.quarantined()["reason"][0]
