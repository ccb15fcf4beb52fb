"""What users open and compare: CSV exports Excel reads, summaries that count rows, re-sends in another measure."""

from __future__ import annotations

import codecs
from datetime import datetime, timezone

import pandas as pd
from typer.testing import CliRunner

from collectors.ingest import ingest_file
from targetwatch.cli import app
from targetwatch.store import StagedChunk


def test_csv_outputs_start_with_a_utf8_byte_order_mark(deployment_dir):
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", "--config", str(deployment_dir),
                               str(deployment_dir / "inbox" / "long" / "大祥区部门报送_2023年1-6月.csv")]).exit_code == 0
    for command in (["evaluate", "--format", "csv"], ["observations", "--format", "csv"], ["quarantine", "list", "--format", "csv"]):
        result = runner.invoke(app, [*command[:-2], "--config", str(deployment_dir), *command[-2:]])
        assert result.exit_code == 0, result.output
        assert result.stdout_bytes.startswith(codecs.BOM_UTF8), command
        assert result.stdout_bytes.count(codecs.BOM_UTF8) == 1
    evaluated = runner.invoke(app, ["evaluate", "--config", str(deployment_dir), "--format", "csv"]).stdout_bytes
    assert "大祥区".encode("utf-8") in evaluated or "rule".encode() in evaluated


def test_a_value_resent_in_wanyuan_is_unchanged_not_a_new_revision(deployment, db, tmp_path):
    first = tmp_path / "社零_亿元.csv"
    first.write_text("unit,indicator,period,value,measure\ndaxiang,retail_sales,2023-06,52.83,亿元\n", encoding="utf-8")
    again = tmp_path / "社零_万元.csv"
    again.write_text("unit,indicator,period,value,measure\ndaxiang,retail_sales,2023-06,528300,万元\n", encoding="utf-8")
    landed = ingest_file(deployment, db, first)
    assert landed.ok and landed.batch.revisions_added == 1
    resent = ingest_file(deployment, db, again)
    assert resent.ok and (resent.batch.revisions_added, resent.batch.unchanged) == (0, 1)
    assert db.revisions("retail_sales", "daxiang", 20230606)["value"].tolist() == [52.83]
    # A figure that really differs at the indicator's precision is a revision.
    changed = tmp_path / "社零_万元_修订.csv"
    changed.write_text("unit,indicator,period,value,measure\ndaxiang,retail_sales,2023-06,528412,万元\n", encoding="utf-8")
    assert ingest_file(deployment, db, changed).batch.revisions_added == 1
    assert db.revisions("retail_sales", "daxiang", 20230606)["value"].tolist() == [52.83, 52.8412]


def test_the_ingest_summary_counts_quarantined_rows_as_the_quarantine_lists_them(db):
    # A wide sheet's row with an unknown unit: both of its cells are flagged, at the unit column.
    bad = pd.DataFrame([
        {"sheet": "2023年1-6月", "row": 7, "column": "A", "reason": "unknown unit '大 祥'", "raw": "retail"},
        {"sheet": "2023年1-6月", "row": 7, "column": "A", "reason": "unknown unit '大 祥'", "raw": "retail growth"},
        {"sheet": "2023年1-6月", "row": 9, "column": "C", "reason": "not a number: 'x'", "raw": "x"},
        {"sheet": "2023年1-6月", "row": 9, "column": "D", "reason": "not a number: 'y'", "raw": "y"},
    ])
    good = pd.DataFrame(columns=["indicator", "unit", "period", "basis", "value", "row", "sheet", "column"])
    result = db.ingest([StagedChunk(good=good, bad=bad)], source="wide.xlsx", content_hash="h",
                       reported_at=datetime(2023, 7, 20, tzinfo=timezone.utc))
    listed = db.quarantined()
    assert result.quarantined == 2 == listed[["sheet", "row"]].drop_duplicates().shape[0]
