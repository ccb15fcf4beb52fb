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


def test_figures_written_many_ways_land_as_the_same_numbers_and_the_rest_is_quarantined_by_row(tmp_path, deployment, db):
    # A column mixing plain figures with other spellings: the plain ones are read at once, the others one by one.
    lines = ["北塔区,gdp,2023-Q1,12.5", '大祥区,gdp,2023-Q1,"1,234.5"', "邵东市,gdp,2023-Q1,+7", "武冈市,gdp,2023-Q1,.5",
             "双清区,gdp,2023-Q1,1e3", "隆回县,gdp,2023-Q1, 42 ", "洞口县,gdp,2023-Q1,12 34", "新邵县,gdp,2023-Q1,/",
             "邵阳县,gdp,2023-Q1,-0.25"]
    f = write(tmp_path / "mixed.csv", HEADER + "\n".join(lines) + "\n")
    res = ingest_file(deployment, db, f)
    assert (res.batch.revisions_added, res.batch.quarantined, res.not_reported) == (7, 1, 1)
    got = dict(db.read()[["unit", "value"]].astype({"unit": str}).values.tolist())
    assert got == {"beita": 12.5, "daxiang": 1234.5, "shaodong": 7.0, "wugang": 0.5, "shuangqing": 1000.0,
                   "longhui": 42.0, "shaoyang_county": -0.25}
    assert db.quarantined()[["row", "column"]].values.tolist() == [[8, "value"]]
    assert "space inside the number" in db.quarantined()["reason"][0]


def test_a_line_with_too_few_fields_is_quarantined_by_line_number_and_the_rest_lands(tmp_path, deployment, db):
    f = write(tmp_path / "short.csv", HEADER + "北塔区,gdp,2023-Q2,10\n邵东市,gdp,2023-Q2\n武冈市,gdp,2023-Q2,12\n")
    res = ingest_file(deployment, db, f)
    assert (res.batch.revisions_added, res.batch.quarantined) == (2, 1)
    q = db.quarantined()
    assert q["row"].tolist() == [3] and "expected 4 fields, found 3" in q["reason"][0]


@pytest.mark.parametrize("blank", ["\n", ",,,\n", "\r\n"])
def test_blank_lines_keep_the_row_numbers_of_the_lines_after_them(tmp_path, deployment, db, blank):
    f = write(tmp_path / "blank.csv", HEADER + "北塔区,gdp,2023-Q2,10\n" + blank + "火星区,gdp,2023-Q2,1\n")
    res = ingest_file(deployment, db, f)
    assert res.batch.revisions_added == 1
    assert db.quarantined()[["row", "column"]].values.tolist() == [[4, "unit"]]


def test_a_quoted_field_holding_commas_and_a_line_break_reads_as_one_field(tmp_path, deployment, db):
    f = write(tmp_path / "quoted.csv", HEADER + '"北塔区",gdp,2023-Q2,"1,000"\n"火星区,\n外",gdp,2023-Q2,1\n邵东市,gdp,2023-Q2,2\n')
    res = ingest_file(deployment, db, f)
    assert (res.batch.revisions_added, res.batch.quarantined) == (2, 1)
    assert "unknown unit '火星区,外'" in db.quarantined()["reason"][0]  # names compare without whitespace
    assert sorted(db.read()["value"].tolist()) == [2.0, 1000.0]


def test_a_byte_that_does_not_decode_deep_in_a_large_file_rejects_it_at_its_line(tmp_path, deployment, db):
    # Past the first megabyte that decides the encoding: the fast reader stops, the line-by-line reader locates it.
    good = "北塔区,gdp,2023-Q2,10\n" * 60_000
    f = tmp_path / "late.csv"
    f.write_bytes((HEADER + good).encode() + b"\xff\xfe,gdp,2023-Q2,1\n")
    res = ingest_file(deployment, db, f)
    assert res.rejected and "cannot decode line 60002" in res.error
    assert db.quarantined()["row"].tolist() == [60002] and db.read().empty


def test_plain_figures_read_at_once_equal_python_floats_bit_for_bit():
    # The Arrow cast behind the fast readers must agree with float(), digit strings long and short, with exponents.
    import random

    import pandas as pd

    from collectors.numbers import read_values

    rng = random.Random(15)
    texts = []
    for _ in range(20_000):
        text = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 25)))
        if rng.random() < 0.5:
            text += "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 20)))
        if rng.random() < 0.3:
            text += rng.choice("eE") + rng.choice(["", "-", "+"]) + str(rng.randint(0, 99))
        texts.append(("-" if rng.random() < 0.3 else "") + text)
    values, reasons, missing = read_values(pd.Series(texts, dtype=object))
    assert values.tolist() == [float(t) for t in texts] and not missing.any() and all(r is None for r in reasons)
