"""``mapping suggest`` on three differently shaped workbooks made here: once the proposed mapping is saved,
each ingests with nothing quarantined and every value lands where the workbook put it."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from collectors.ingest import ingest_file
from collectors.layout import load_collectors
from collectors.suggest import suggest
from targetwatch import periods
from targetwatch.cli import app
from targetwatch.deployment import load_deployment

COUNTIES = ["双清区", "大祥区", "北塔区", "邵东市", "武冈市", "新邵县", "邵阳县", "隆回县", "洞口县", "绥宁县", "新宁县", "城步苗族自治县"]


def _value(i: int, k: int) -> float:
    return round(3 + i * 0.7 + k * 1.3, 1)


def title_merged_units_row(path: Path) -> dict:
    """A title row, merged group headers, a 计量单位 row, a 备注 column and a 合计 row at the bottom; period in the title."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["邵阳市各县市区2023年1-6月主要经济指标完成情况"])
    ws.merge_cells("A1:G1")
    ws.append(["县市区", "社会消费品零售总额", None, "规模工业增加值", "地方一般公共预算收入", None, "备注"])
    ws.append([None, "累计", "累计增速", "累计增速", "累计", "增速", None])
    ws.append(["计量单位", "亿元", "%", "%", "万元", "%", None])
    ws.merge_cells("B2:C2")
    ws.merge_cells("E2:F2")
    ws.merge_cells("A2:A3")
    ws.merge_cells("G2:G4")
    expected = {}
    for i, name in enumerate(COUNTIES):
        row = [name] + [_value(i, k) for k in range(5)] + ["数据为快报" if i == 3 else None]
        ws.append(row)
        expected.update({(name, ind): row[1 + k] for k, ind in enumerate(
            ["retail_sales", "retail_sales_growth", "industrial_va_growth", "fiscal_revenue", "fiscal_revenue_growth"])})
    ws.append(["合计", 999.0, 9.9, 9.9, 99999.0, 9.9, None])
    wb.save(path)
    return expected


def sheet_per_period_total_first(path: Path) -> dict:
    """The period in the sheet name, one header row with the measure in brackets, the 合计 row first,
    a 位次 column, and the city's own row under its alias 全市."""
    wb = Workbook()
    ws = wb.active
    ws.title = "2023年1-5月"
    ws.append(["地区", "固定资产投资增速（%）", "位次", "规模以上服务业营业收入（亿元）", "规模以上服务业营业收入增速(%)", "备注"])
    ws.append(["合计", 5.0, None, 300.0, 6.0, None])
    expected = {}
    for i, name in enumerate(["全市", *COUNTIES]):
        row = [name, _value(i, 0), i + 1, _value(i, 1) * 10, _value(i, 2), None]
        ws.append(row)
        unit = "邵阳市" if name == "全市" else name
        expected.update({(unit, "fixed_asset_investment_growth"): row[1], (unit, "services_revenue"): row[3],
                         (unit, "services_revenue_growth"): row[4]})
    wb.save(path)
    return expected


def quarterly_with_serial_and_units_row(path: Path) -> dict:
    """Two title rows, a 序号 column, the units in a row of their own, money in 万元 for an indicator kept in
    亿元, a period named as a quarter, a note row (备注) at the bottom."""
    wb = Workbook()
    ws = wb.active
    ws.title = "GDP"
    ws.append(["附表3"])
    ws.append(["2023年第二季度各县市区地区生产总值"])
    ws.append(["序号", "单位名称", "地区生产总值", "地区生产总值增速"])
    ws.append([None, None, "万元", "%"])
    expected = {}
    for i, name in enumerate(COUNTIES):
        row = [i + 1, name, 1_000_000 + i * 12_345.0, _value(i, 3)]
        ws.append(row)
        expected.update({(name, "gdp"): row[2] / 10_000, (name, "gdp_growth"): row[3]})
    ws.append([None, "备注", "地区生产总值按现价计算", None])
    wb.save(path)
    return expected


SHAPES = {
    "titled": (title_merged_units_row, "邵阳市主要指标_2023年1-6月.xlsx", "2023-06"),
    "by-sheet": (sheet_per_period_total_first, "县市区月报.xlsx", "2023-05"),
    "quarterly": (quarterly_with_serial_and_units_row, "地区生产总值季报_2023年二季度.xlsx", "2023-Q2"),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_suggested_mapping_ingests_the_workbook_with_nothing_quarantined(deployment_dir, store, tmp_path, shape):
    make, file_name, period = SHAPES[shape]
    source = tmp_path / file_name
    expected = make(source)
    dep = load_deployment(deployment_dir)
    proposal = suggest(dep, source, name=shape)
    (deployment_dir / "collectors" / f"{shape}.yaml").write_text(proposal.yaml, encoding="utf-8")
    dep = load_deployment(deployment_dir)
    collector = next(c for c in load_collectors(dep.root) if c.metadata.name == shape)
    inbox = dep.root / Path(collector.spec.files[0]).parent
    inbox.mkdir(parents=True, exist_ok=True)
    target = inbox / file_name
    target.write_bytes(source.read_bytes())
    result = ingest_file(dep, store, target)
    assert result.error is None, (result.error, proposal.yaml)
    assert result.batch.quarantined == 0, (store.quarantined().to_dict("records"), proposal.yaml)
    landed = store.read()
    got = {(dep.units[u].name, i): v for u, i, v in zip(landed["unit"], landed["indicator"], landed["value"])}
    assert got == pytest.approx(expected), proposal.yaml
    assert set(periods.format_code(c) for c in landed["period"]) == {period}


def test_the_unmatched_list_names_notes_ranks_and_unknowns(deployment, tmp_path):
    path = tmp_path / "县市区月报.xlsx"
    sheet_per_period_total_first(path)
    proposal = suggest(deployment, path, name="by-sheet")
    text = "\n".join(proposal.unmatched)
    assert "column C '位次': a rank column" in text and "column F '备注': a note column" in text
    # An unknown header and an unknown unit are listed, and the mapping still reads the rest.
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb.active
    ws["G1"] = "神秘指标"
    ws["A5"] = "火星区"
    wb.save(path)
    proposal = suggest(deployment, path, name="by-sheet")
    text = "\n".join(proposal.unmatched)
    assert "'神秘指标': names no known indicator" in text and "'火星区' is no known unit" in text
    assert [c.indicator for c in proposal.collector.spec.sheets[0].columns] == [
        "fixed_asset_investment_growth", "services_revenue", "services_revenue_growth"]


def test_the_suggest_command_prints_yaml_and_writes_it(deployment_dir, tmp_path):
    path = tmp_path / "邵阳市主要指标_2023年1-6月.xlsx"
    title_merged_units_row(path)
    out = tmp_path / "titled.yaml"
    result = CliRunner().invoke(app, ["mapping", "suggest", str(path), "--config", str(deployment_dir), "--name", "titled",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "kind: Collector" in text and "inbox/titled/邵阳市主要指标_*.xlsx" in text and "measure: 亿元" in text
    assert "备注" in result.output  # listed as not matched
