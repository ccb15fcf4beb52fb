"""The example deployment's inbox: it ingests cleanly, every value lands as generated, and the seeded
generator reproduces the committed files."""

import importlib.util
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from collectors.ingest import document_time, due_files, ingest_file
from collectors.layout import load_collectors
from targetwatch import periods
from targetwatch.cli import app
from tests.conftest import EXAMPLE_CONFIG, ROOT

GENERATOR = ROOT / "bench" / "make_examples.py"
INBOX = EXAMPLE_CONFIG / "inbox"
# The generator's design: 邵阳 monthly + GDP + 西洞庭 + two long CSVs + 全省 (2,004), and the department returns
# that supply every other indicator the rules read, two 累计 figures for an amount within a window (574).
EXPECTED_OBSERVATIONS = 2578
SHIPPED_FILES = 17  # 7 邵阳 workbooks, 1 西洞庭 workbook, 2 大祥区 CSVs of January–June, 6 department returns, 1 全省 CSV


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("make_examples", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module



def report_time(path: Path) -> datetime:
    """When a file was reported: a workbook's own modified date; a CSV's reported_at column."""
    if path.suffix == ".xlsx":
        return load_workbook(path, read_only=True).properties.modified.replace(tzinfo=timezone.utc)
    return document_time(path)


def ingest_inbox(deployment, db) -> list:
    collectors = load_collectors(deployment.root)
    files = due_files(deployment, collectors)
    return [ingest_file(deployment, db, f, collectors=collectors, reported_at=report_time(f)) for f in files]


def test_every_shipped_file_is_due_and_has_a_mapping(deployment):
    files = due_files(deployment)
    shipped = sorted(p for p in (deployment.root / "inbox").rglob("*") if p.is_file() and p.name != "README.md")
    ledgers = sorted((deployment.root / "ledgers").glob("*.xlsx"))  # 项目台账, config/projects.yaml
    assert files == sorted(shipped + ledgers) and len(shipped) == SHIPPED_FILES and len(ledgers) == 4


def test_the_inbox_ingests_with_nothing_quarantined_and_every_value_as_generated(deployment, db, generator):
    results = ingest_inbox(deployment, db)
    assert [r.file for r in results if not r.ok] == []
    assert sum(r.batch.quarantined for r in results) == 0
    expected = generator.build()[2]
    assert len(expected) == EXPECTED_OBSERVATIONS
    got = db.read()
    got = pd.DataFrame({"unit": got["unit"].astype(str), "indicator": got["indicator"].astype(str),
                        "period": [periods.format_code(c) for c in got["period"]],
                        "basis": got["basis"].astype(str), "value": got["value"]})
    keys = ["indicator", "unit", "period", "basis"]
    got = got.sort_values(keys).reset_index(drop=True)
    expected = expected.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[keys], expected[keys])
    # Scaled columns (万元 ↔ 亿元) are float products: equal to the last bit or so.
    assert got["value"].to_numpy() == pytest.approx(expected["value"].to_numpy(), rel=1e-12)


def test_the_full_city_row_is_shaoyang_and_not_reported_cells_stay_missing(deployment, db):
    ingest_inbox(deployment, db)
    frame = db.read(indicators=["trade_total_growth"])
    assert "chengbu" not in set(frame["unit"].astype(str))  # "/" in every report
    assert "shaoyang" in set(frame["unit"].astype(str))
    feb = db.read(indicators=["fiscal_revenue"], start=20230102, end=20230102)
    assert feb.empty  # not released as 1-2月: "/" there, never zero


def test_the_revised_may_report_corrects_one_value_and_keeps_the_first(deployment, db):
    results = ingest_inbox(deployment, db)
    revised = next(r for r in results if r.file.endswith("_修订.xlsx"))
    assert (revised.batch.revisions_added, revised.batch.unchanged) == (1, revised.batch.rows_read - 1)
    history = db.revisions("retail_sales_growth", "daxiang", 20230505)
    assert history["revision"].tolist() == [1, 2]
    first, corrected = history["value"].tolist()
    assert first != corrected
    before = db.read(indicators=["retail_sales_growth"], units=["daxiang"], start=20230505, end=20230505,
                     as_of=periods.as_of_instant("2023-06-15"))
    after = db.read(indicators=["retail_sales_growth"], units=["daxiang"], start=20230505, end=20230505)
    assert before["value"].tolist() == [first] and after["value"].tolist() == [corrected]


def test_the_ingest_command_takes_the_whole_inbox_and_exits_0(deployment_dir):
    files = [str(p) for p in sorted((deployment_dir / "inbox").glob("*/*"))]
    result = CliRunner().invoke(app, ["ingest", "--config", str(deployment_dir), *files])
    assert result.exit_code == 0, result.output
    export = CliRunner().invoke(app, ["observations", "--config", str(deployment_dir), "--format", "csv"])
    assert export.exit_code == 0 and len(export.stdout.strip().splitlines()) == 1 + EXPECTED_OBSERVATIONS


def test_the_generator_reproduces_the_committed_inbox(tmp_path):
    out = tmp_path / "inbox"
    subprocess.run([sys.executable, str(GENERATOR), str(out)], check=True, capture_output=True, cwd=tmp_path)
    committed = sorted(p.relative_to(INBOX) for p in INBOX.rglob("*") if p.is_file())
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) == committed
    for rel in committed:
        if rel.suffix != ".xlsx":
            assert (out / rel).read_bytes() == (INBOX / rel).read_bytes(), rel
            continue
        mine, theirs = CalamineWorkbook.from_path(str(out / rel)), CalamineWorkbook.from_path(str(INBOX / rel))
        assert mine.sheet_names == theirs.sheet_names, rel
        for name in theirs.sheet_names:
            assert (mine.get_sheet_by_name(name).to_python(skip_empty_area=False)
                    == theirs.get_sheet_by_name(name).to_python(skip_empty_area=False)), (rel, name)


def test_a_long_csv_is_reported_when_its_reported_at_column_says(deployment):
    csv = deployment.root / "inbox" / "long" / "大祥区部门报送_2023年1-6月.csv"
    gbk = deployment.root / "inbox" / "long" / "大祥区市场监管局_经营主体_2023年1-6月.csv"
    for path in (csv, gbk):
        assert document_time(path) == periods.as_of_instant("2023-07-12"), path.name
    # The collector of the long CSVs takes the document's time, not the ingest time.
    assert next(c for c in load_collectors(deployment.root) if c.metadata.name == "long-csv").spec.reported_at == "document"


def test_a_bad_reported_at_rejects_the_file_into_the_quarantine_located(deployment, db):
    from targetwatch.errors import SourceError

    bad = deployment.root / "inbox" / "long" / "returns.csv"
    bad.write_text("unit,indicator,period,value,reported_at\ndaxiang,gdp,2023-06,1,next tuesday\n", encoding="utf-8")
    with pytest.raises(SourceError, match="reported_at 'next tuesday'") as caught:
        document_time(bad)
    assert "returns.csv" in str(caught.value) and caught.value.location.column == "reported_at"
    result = ingest_file(deployment, db, bad)
    assert not result.ok and "reported_at 'next tuesday'" in result.error
    listed = db.quarantined()
    assert listed["column"].tolist() == ["reported_at"] and listed["file"].str.endswith("returns.csv").all()
