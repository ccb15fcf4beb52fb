"""The workbooks departments fill in: every example mapping's template, filled, ingests with nothing
quarantined; a wrongly filled one is quarantined at the template's own cells; the drop folder takes them."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from collectors.ingest import ingest_file
from collectors.layout import load_collectors
from collectors.sources import collect
from collectors.templates import INDEX_SHEET, INSTRUCTIONS, build_templates
from targetwatch.cli import app
from targetwatch.deployment import load_deployment
from tests.collectors.schedule_helpers import write_collector

PERIOD = "2023-06"
EXAMPLE_MAPPINGS = ["hunan-province", "long-csv", "shaoyang-gdp", "shaoyang-monthly", "xidongting"]


def _expected_rows(path: Path) -> list[tuple[str, int, str, str]]:
    index = load_workbook(path)[INDEX_SHEET]
    return [(r[0], int(r[1]), r[2], r[3]) for r in index.iter_rows(values_only=True)]


def fill(template: Path, target: Path) -> int:
    """Fill every value cell of a template with a number, as a department would; return how many."""
    if template.suffix == ".csv":
        with open(template, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        for i, row in enumerate(rows):
            row["value"] = f"{10 + i * 0.5:g}"
        with open(target, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return len(rows)
    wb = load_workbook(template)
    filled = 0
    for sheet, row, _unit, _name in _expected_rows(template):
        ws = wb[sheet]
        for col in range(2, ws.max_column + 1):
            ws.cell(row=row, column=col, value=round(1 + row * 0.25 + col, 2))
            filled += 1
    wb.save(target)
    return filled


def _inbox_path(dep, collector_name: str, template: Path) -> Path:
    collector = next(c for c in load_collectors(dep.root) if c.metadata.name == collector_name)
    folder = dep.root / Path(collector.spec.files[0]).parent
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*"):
        if old.is_file():
            old.unlink()  # only the filled template is in the inbox
    return folder / template.name


def test_there_is_a_template_for_every_example_mapping(deployment, tmp_path):
    written = build_templates(deployment, period=PERIOD, out=tmp_path / "t")
    assert sorted(t.collector for t in written) == EXAMPLE_MAPPINGS


@pytest.mark.parametrize("name", EXAMPLE_MAPPINGS)
def test_a_filled_template_ingests_with_nothing_quarantined(deployment, db, tmp_path, name):
    [template] = build_templates(deployment, period=PERIOD, collector=name, out=tmp_path / "t")
    target = _inbox_path(deployment, name, template.path)
    cells = fill(template.path, target)
    assert cells == template.cells > 0
    result = ingest_file(deployment, db, target)
    assert result.error is None, result.error
    assert result.batch.quarantined == 0, db.quarantined().to_dict("records")
    assert result.batch.rows_read == cells and result.not_reported == 0
    landed = db.read()
    assert set(landed["unit"]) == set(template.units)


def test_the_workbook_is_laid_out_validated_locked_and_explained(deployment, tmp_path):
    [template] = build_templates(deployment, period=PERIOD, collector="shaoyang-monthly", out=tmp_path / "t")
    assert template.path.name == "邵阳市县市区主要经济指标_2023年1-6月.xlsx"
    wb = load_workbook(template.path)
    assert wb.sheetnames == ["2023年1-6月", INSTRUCTIONS, INDEX_SHEET]
    assert wb[INDEX_SHEET].sheet_state == "veryHidden"
    ws = wb["2023年1-6月"]
    title = ws["A1"].value
    assert "2023年6月" in title and "报送截止：2023年07月" in title
    assert ws["A2"].value == "县市区" and ws["B2"].value == "规模工业增加值" and ws["B3"].value == "累计增速（%）"
    assert ws["D3"].value == "累计（亿元）" and ws["H3"].value == "累计（万元）"  # units of measure in the header
    # In OOXML a true deleteRows / insertRows means that action is locked.
    assert ws.protection.sheet and ws.protection.deleteRows and ws.protection.insertRows and ws.protection.deleteColumns
    assert ws["A4"].protection.locked and not ws["B4"].protection.locked
    rules = ws.data_validations.dataValidation
    assert {r.type for r in rules} == {"decimal"} and all(r.errorStyle in (None, "stop") for r in rules)
    by_column = {str(r.sqref).split(":")[0][0]: r for r in rules}
    assert "亿元" in by_column["D"].prompt and "万元" in by_column["H"].prompt and "数字" in by_column["D"].error
    assert ws.freeze_panes == "B4"
    assert "（万元）填万元，（亿元）填亿元" in "".join(str(c.value) for c in wb[INSTRUCTIONS]["A"])


def test_text_in_a_number_cell_is_quarantined_at_that_cell(deployment, db, tmp_path):
    [template] = build_templates(deployment, period=PERIOD, collector="shaoyang-monthly", out=tmp_path / "t")
    target = _inbox_path(deployment, "shaoyang-monthly", template.path)
    cells = fill(template.path, target)
    wb = load_workbook(target)
    wb["2023年1-6月"]["C7"] = "约9.5"  # 固定资产投资 of the fourth unit row
    wb.save(target)
    result = ingest_file(deployment, db, target)
    assert result.batch.quarantined == 1 and result.batch.rows_read == cells - 1  # the good cells land
    [bad] = db.quarantined().to_dict("records")
    assert (bad["sheet"], bad["row"], bad["column"]) == ("2023年1-6月", 7, "C 固定资产投资/累计增速（%）")


def test_a_deleted_unit_row_is_reported_at_the_templates_row(deployment, db, tmp_path):
    [template] = build_templates(deployment, period=PERIOD, collector="shaoyang-monthly", out=tmp_path / "t")
    target = _inbox_path(deployment, "shaoyang-monthly", template.path)
    fill(template.path, target)
    sheet, row, unit, name = _expected_rows(template.path)[2]
    wb = load_workbook(target)
    wb[sheet].protection.sheet = False  # what it takes to delete a row of a locked sheet
    wb[sheet].delete_rows(row)
    wb.save(target)
    result = ingest_file(deployment, db, target)
    assert result.batch.quarantined == 1
    [bad] = db.quarantined().to_dict("records")
    assert (bad["sheet"], bad["row"], bad["column"]) == (sheet, row, "A 县市区")
    assert name in bad["reason"] and "deleted" in bad["reason"]
    assert unit not in set(db.read()["unit"])  # the other units still landed
    assert len(set(db.read()["unit"])) == len(template.units) - 1


def test_the_drop_folder_takes_a_filled_template_as_it_is(deployment_dir, store, tmp_path):
    shutil.rmtree(deployment_dir / "collectors")
    (deployment_dir / "collectors").mkdir()
    monthly = (Path(__file__).resolve().parents[2] / "config" / "collectors" / "shaoyang-monthly.yaml").read_text(encoding="utf-8")
    spec = monthly.split("spec:\n", 1)[1]
    spec = spec.replace('files: ["inbox/shaoyang/邵阳市县市区主要经济指标_*.xlsx"]', 'files: ["drop/shaoyang/*.xlsx"]')
    spec = spec.replace("source: {kind: files}", "source: {kind: dropfolder, settle_seconds: 0}")
    write_collector(deployment_dir, "drop-monthly", spec)
    (deployment_dir / "drop" / "shaoyang").mkdir(parents=True)
    dep = load_deployment(deployment_dir)
    [template] = build_templates(dep, period=PERIOD, out=tmp_path / "t")
    cells = fill(template.path, dep.root / "drop" / "shaoyang" / template.path.name)
    [collector] = load_collectors(dep.root)
    run = collect(dep, store, collector)
    assert [f.outcome for f in run.files] == ["archived"]
    assert (run.rows, run.quarantined) == (cells, 0)


def test_the_templates_command_writes_them(deployment_dir, tmp_path):
    out = tmp_path / "templates"
    result = CliRunner().invoke(app, ["templates", "build", "--config", str(deployment_dir), "--period", PERIOD,
                                      "--collector", "xidongting", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["西洞庭管理区主要指标_2023年1-6月.xlsx"]
    bad = CliRunner().invoke(app, ["templates", "build", "--config", str(deployment_dir), "--collector", "nope", "--out", str(out)])
    assert bad.exit_code == 2 and "unknown collector" in bad.output
