"""The CSV collector: canonical long files, encodings, and every kind of bad input, located."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from collectors.ingest import ingest_file
from targetwatch.cli import app

HEADER = "unit,indicator,period,value\n"


def write(path: Path, text: str, encoding="utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path



def test_a_good_long_file_lands_every_row(tmp_path, deployment, db):
    f = write(tmp_path / "a.csv", HEADER + "大祥区,gdp,2023-Q2,123.4\n邵东市,地区生产总值,2023-Q2,456\ndaxiang,retail_sales,2023-01/02,20.5\n")
    res = ingest_file(deployment, db, f)
    assert res.ok and res.batch.revisions_added == 3
    got = {(u, i): v for u, i, v in db.read()[["unit", "indicator", "value"]].itertuples(index=False)}
    assert got == {("daxiang", "gdp"): 123.4, ("shaodong", "gdp"): 456.0, ("daxiang", "retail_sales"): 20.5}


@pytest.mark.parametrize(
    "line, column, reason",
    [
        ("火星区,gdp,2023-Q2,1", "unit", "unknown unit '火星区'"),
        ("大祥区,moon_gdp,2023-Q2,1", "indicator", "unknown indicator 'moon_gdp'"),
        ("大祥区,gdp,2023-Q2,十二", "value", "not a number: '十二'"),
        ("大祥区,retail_sales,2023-13,1", "period", "impossible period '2023-13': month 13"),
        ("大祥区,retail_sales,June,1", "period", "cannot read period 'June'"),
        ("大祥区,gdp,2023-06,1", "period", "does not match the frequency of gdp (quarterly)"),
    ],
    ids=["an unknown unit", "an unknown indicator", "a non-numeric value", "an impossible period",
         "an unreadable period", "a period of the wrong frequency"],
)
def test_a_bad_row_is_quarantined_with_row_column_and_reason_and_good_rows_still_land(tmp_path, deployment, db, line, column, reason):
    f = write(tmp_path / "bad.csv", HEADER + "北塔区,gdp,2023-Q2,10\n" + line + "\n邵东市,gdp,2023-Q2,11\n")
    res = ingest_file(deployment, db, f)
    assert not res.ok and res.batch.quarantined == 1 and res.batch.revisions_added == 2
    q = db.quarantined()
    assert q[["file", "row", "column"]].values.tolist() == [[str(f), 3, column]]
    assert reason in q["reason"][0]


@pytest.mark.parametrize("blank", ["", "/", "-", "—"])
def test_not_reported_cells_stay_missing_never_zero(tmp_path, deployment, db, blank):
    f = write(tmp_path / "a.csv", HEADER + f"北塔区,gdp,2023-Q2,{blank}\n邵东市,gdp,2023-Q2,0\n")
    res = ingest_file(deployment, db, f)
    assert res.ok and res.not_reported == 1
    assert db.read()[["unit", "value"]].values.tolist() == [["shaodong", 0.0]]


def test_a_conflicting_duplicate_in_one_file_is_quarantined_at_every_row(tmp_path, deployment, db):
    f = write(tmp_path / "a.csv", HEADER + "北塔区,gdp,2023-Q2,10\n北塔区,gdp,2023-Q2,12\n邵东市,gdp,2023-Q2,11\n")
    res = ingest_file(deployment, db, f)
    assert res.batch.quarantined == 2
    assert db.quarantined()["row"].tolist() == [2, 3]
    assert db.read()["unit"].astype(str).tolist() == ["shaodong"]


def test_an_empty_file_is_rejected_and_recorded(tmp_path, deployment, db):
    f = write(tmp_path / "empty.csv", "")
    res = ingest_file(deployment, db, f)
    assert not res.ok and "empty file" in res.error
    assert "file rejected: empty file" in db.quarantined()["reason"][0]


def test_a_missing_required_column_names_the_columns_it_found(tmp_path, deployment, db):
    f = write(tmp_path / "cols.csv", "unit,indicator,when,value\n大祥区,gdp,2023-Q2,1\n")
    res = ingest_file(deployment, db, f)
    assert "no period column 'period'; the header has: unit, indicator, when, value" in res.error


def test_a_malformed_line_is_quarantined_by_line_number_and_the_rest_lands(tmp_path, deployment, db):
    f = write(tmp_path / "m.csv", HEADER + "北塔区,gdp,2023-Q2,10\n邵东市,gdp,2023-Q2,11,extra\n武冈市,gdp,2023-Q2,12\n")
    res = ingest_file(deployment, db, f)
    assert res.batch.quarantined == 1 and res.batch.revisions_added == 2
    q = db.quarantined()
    assert q["row"].tolist() == [3] and "expected 4 fields, found 5" in q["reason"][0]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_chinese_text_reads_in_gbk_gb18030_and_utf8_with_or_without_bom(tmp_path, deployment, db, encoding):
    f = write(tmp_path / f"{encoding}.csv", "unit,indicator,period,value,basis\n城步苗族自治县,社会消费品零售总额,2023-06,30.5,累计\n", encoding)
    res = ingest_file(deployment, db, f)
    assert res.ok, res.error
    got = db.read()
    assert got[["unit", "indicator", "basis", "value"]].values.tolist() == [["chengbu", "retail_sales", "ytd", 30.5]]


def test_an_explicit_basis_column_reads_chinese_words(tmp_path, deployment, db):
    f = write(tmp_path / "b.csv", "unit,indicator,period,value,basis\n大祥区,retail_sales,2023-06,11,当月\n大祥区,retail_sales,2023-06,60,累计\n大祥区,retail_sales,2023-05,1,季末\n")
    res = ingest_file(deployment, db, f)
    assert res.batch.revisions_added == 2 and "unknown basis '季末'" in db.quarantined()["reason"][0]


def test_reingesting_a_file_changes_nothing_not_even_the_quarantine(tmp_path, deployment, db):
    f = write(tmp_path / "a.csv", HEADER + "北塔区,gdp,2023-Q2,10\n火星区,gdp,2023-Q2,1\n")
    ingest_file(deployment, db, f)
    before = (db.read().drop(columns="batch").values.tolist(), len(db.quarantined()))
    again = ingest_file(deployment, db, f)
    assert again.batch.revisions_added == 0 and again.batch.unchanged == 1
    assert (db.read().drop(columns="batch").values.tolist(), len(db.quarantined())) == before


def test_ingest_command_prints_a_summary_and_exits_1_when_anything_was_quarantined(tmp_path, deployment_dir):
    f = write(tmp_path / "a.csv", HEADER + "北塔区,gdp,2023-Q2,10\n火星区,gdp,2023-Q2,1\n")
    result = CliRunner().invoke(app, ["ingest", "--config", str(deployment_dir), str(f)])
    assert result.exit_code == 1, result.output
    assert "a.csv" in result.output and "quarantined" in result.output
    listed = CliRunner().invoke(app, ["quarantine", "list", "--config", str(deployment_dir), "--format", "csv"])
    assert "unknown unit '火星区'" in listed.output
    out = tmp_path / "q.csv"
    CliRunner().invoke(app, ["quarantine", "export", str(out), "--config", str(deployment_dir)])
    assert "火星区" in out.read_text(encoding="utf-8-sig")


def test_observations_command_exports_the_latest_revisions_as_csv_and_json(tmp_path, deployment_dir):
    f = write(tmp_path / "a.csv", HEADER + "北塔区,gdp,2023-Q2,10\n")
    assert CliRunner().invoke(app, ["ingest", "--config", str(deployment_dir), str(f)]).exit_code == 0
    csv_out = CliRunner().invoke(app, ["observations", "--config", str(deployment_dir), "--format", "csv"])
    assert "gdp,beita,2023-Q2,ytd,10.0,1," in csv_out.output
    json_out = CliRunner().invoke(app, ["observations", "--config", str(deployment_dir), "--format", "json"])
    assert '"unit":"beita"' in json_out.output.replace(" ", "")


def test_a_workbook_is_reported_when_it_says_it_was_saved(tmp_path):
    from datetime import datetime, timezone

    from collectors.ingest import document_time
    from tests.conftest import EXAMPLE_CONFIG

    revised = EXAMPLE_CONFIG / "inbox" / "shaoyang" / "邵阳市县市区主要经济指标_2023年1-5月_修订.xlsx"
    assert document_time(revised) == datetime(2023, 6, 21, 16, 0, tzinfo=timezone.utc)
    f = write(tmp_path / "plain.csv", HEADER)
    assert abs(document_time(f).timestamp() - f.stat().st_mtime) < 1
