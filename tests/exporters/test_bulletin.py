"""The monthly bulletin (通报) on the example deployment: its figures are the verdicts of ``rules.evaluate``
in every format; the xlsx is real Excel; the html is one self-contained page; the pdf reads in Chinese."""

from __future__ import annotations

import copy
import io
import re
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

import rules
from exporters.bulletin import build, render, style
from exporters.bulletin.model import BOTTOM, widened
from exporters.bulletin.xlsx import list_sheets
from rules.vocabulary import WORDS, label
from targetwatch.cli import app
from tests.collectors.test_examples import ingest_inbox
from tests.conftest import EXAMPLE_CONFIG, require_binary

PERIOD, AS_OF = "2023-06", "2023-07-31"
HOSTILE = '=HYPERLINK("http://x","<b>点我</b>")'


@pytest.fixture
def example(deployment, db):
    ingest_inbox(deployment, db)
    return deployment, db


@pytest.fixture(scope="module")
def example_once(tmp_path_factory):
    """The example deployment ingested once for the module's read-only tests (building a bulletin takes seconds)."""
    from targetwatch.deployment import load_deployment
    from targetwatch.store.sqlite import SQLiteStore

    folder = tmp_path_factory.mktemp("bulletin")
    shutil.copytree(EXAMPLE_CONFIG, folder / "config", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "config" / "settings.yaml").write_text(f"sqlite_path: {folder / 'store.db'}\n", encoding="utf-8")
    deployment = load_deployment(folder / "config")
    db = SQLiteStore(deployment.settings.sqlite_path)
    ingest_inbox(deployment, db)
    yield deployment, db, build(deployment, db, period=PERIOD, as_of=AS_OF)
    db.close()


@pytest.fixture
def bulletin(example_once):
    return copy.deepcopy(example_once[2])  # a test may change its copy


def _key(frame: pd.DataFrame, cols=("rule", "unit", "value", "target", "rank", "reference", "status")) -> pd.DataFrame:
    cols = list(cols)
    return frame[cols].astype(object).where(frame[cols].notna(), None).sort_values(["rule", "unit"]).reset_index(drop=True)


def test_every_figure_is_a_verdict_of_evaluate(example_once, bulletin):
    deployment, db, _ = example_once
    plain = rules.evaluate(deployment, db, as_of=AS_OF, period=PERIOD)
    assert _key(bulletin.verdicts).equals(_key(plain))
    # The targets' own units in the league tables read exactly as evaluate judged them ...
    figures = ("rule", "unit", "value", "target", "reference", "status")
    own = bulletin.league[bulletin.league["responsible"]]
    grouped = plain[plain["group"].notna()]
    assert _key(own, figures).equals(_key(grouped, figures))
    # ... and their peers as evaluate judges the same rule over the whole group.
    wide = rules.evaluate(deployment, db, as_of=AS_OF, period=PERIOD, ruleset=widened(rules.load_rules(deployment.root, deployment))[0])
    wide = wide[wide["group"].notna()]
    assert _key(bulletin.league, figures).equals(_key(wide, figures))
    # Places are evaluate's ranks where the rule ranks ...
    ranked = _key(wide)["rank"].notna()
    assert _key(bulletin.league)[ranked].equals(_key(wide)[ranked])
    # ... and elsewhere the engine's ranking of the table's values (高于全市平均水平 has no rank of its own).
    above = bulletin.league[bulletin.league["rule"] == "dx_retail_sales_above_city"]
    assert wide.loc[wide["rule"] == "dx_retail_sales_above_city", "rank"].isna().all()
    assert above["rank"].tolist() == list(range(1, 13)) and above["value"].is_monotonic_decreasing
    # Every table of 12 counties ranks the reporting ones 1..n, in order.
    table = bulletin.league[bulletin.league["rule"] == "dx_industrial_va_top7_no_ties"]
    assert len(table) == 12 and table["rank"].tolist() == list(range(1, 13))
    assert table["value"].is_monotonic_decreasing
    # The lists: behind and met are evaluate's statuses; the bottom five are the last five places.
    assert sorted(bulletin.behind["rule"]) == sorted(plain.loc[plain["status"] == "behind", "rule"])
    assert sorted(bulletin.met["rule"]) == sorted(plain.loc[plain["status"] == "on_track", "rule"])
    bottom = bulletin.bottom[bulletin.bottom["rule"] == "dx_industrial_va_top7_no_ties"]
    assert bottom["rank"].tolist() == list(range(12 - BOTTOM + 1, 13))
    # Late reporters are reports of the registry's indicators: a scorecard's composite "score" is not a report
    # anyone files (its late components are listed under their own indicators).
    late = plain[(plain["status"] == "late") & plain["indicator"].isin(deployment.indicators)]
    assert set(zip(late["unit"], late["indicator"])) <= set(zip(bulletin.late["unit"], bulletin.late["indicator"]))
    # (Issue 10's example supplies every report, so no scorecard is late at this period; none may be listed.)
    assert "score" not in set(bulletin.late["indicator"])
    assert bulletin.on_time == len(bulletin.units) - len(bulletin.late_units)


def test_the_default_period_is_the_latest_with_reports_due(example_once, bulletin):
    """Without --period the bulletin is of the latest period whose reports are due by the as-of date, and all
    of it is of that period: as of 31 July (July's figures due in August) it is June's bulletin, not one
    titled 2023年7月 whose tables are June's and the second quarter's."""
    deployment, db, _ = example_once
    latest = build(deployment, db, as_of=AS_OF)
    assert latest.period == PERIOD and "2023年6月" in latest.title
    assert _key(latest.verdicts).equals(_key(bulletin.verdicts)) and _key(latest.league).equals(_key(bulletin.league))
    # As of 31 August July's figures are due (the task list's rules end in June): July's bulletin.
    assert build(deployment, db, as_of="2023-08-31").period == "2023-07"


def test_rank_moves_are_the_engines_ranks_of_the_previous_month(example_once, bulletin):
    deployment, db, _ = example_once
    may = rules.evaluate(deployment, db, as_of=AS_OF, period="2023-05",
                         ruleset=widened(rules.load_rules(deployment.root, deployment))[0], rules=["dx_industrial_va_top7_no_ties"])
    june = bulletin.league[bulletin.league["rule"] == "dx_industrial_va_top7_no_ties"].set_index("unit")
    before = may.set_index("unit")["rank"]
    expected = (before.reindex(june.index) - june["rank"]).astype("Int64")
    assert june["rank_change"].astype("Int64").equals(expected)
    assert june["rank_change"].abs().sum() > 0  # the example's ranks do move between May and June


def test_xlsx_is_real_excel_with_the_verdicts_charts_and_traffic_lights(bulletin):
    body = render(bulletin, "xlsx")
    wb = load_workbook(io.BytesIO(body))
    sheets = list_sheets()
    assert wb.sheetnames == ["封面", "排名", "图表", sheets["behind"], "约谈", sheets["late"], sheets["on_track"], "进度", "进度图"]
    assert sheets == {"behind": "确保落后", "late": "逾期未报", "on_track": "已达标"}
    league = wb["排名"]
    assert league.freeze_panes == "A2"
    assert league.page_setup.orientation == "landscape" and str(league.page_setup.paperSize) == "9"
    rules_of_cf = [r for cf in league.conditional_formatting for r in cf.rules]
    assert {r.formula[0] for r in rules_of_cf} == {f'"{w.label}"' for w in WORDS.values()}
    assert len(wb["图表"]._charts) == len(bulletin.tables)
    assert len(wb["进度图"]._charts) == bulletin.pacing_due["rule"].nunique() == bulletin.pacing["rule"].nunique() > 0
    # The rows are the league frame's figures, read back by openpyxl and by calamine (what ingest uses).
    rows = list(league.iter_rows(min_row=2, values_only=True))
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(body)).get_sheet_by_name("排名").to_python()[1:]
    L = bulletin.league
    assert len(rows) == len(L) == len(calamine)
    for got in (rows, calamine):
        values = [np.nan if r[5] in (None, "") else float(r[5]) for r in got]
        assert np.allclose(values, L["value"].to_numpy(dtype=np.float64), equal_nan=True)
        assert [r[11] for r in got] == [label(s) for s in L["status"]]
        assert [None if r[2] in (None, "") else int(r[2]) for r in got] == [None if pd.isna(x) else int(x) for x in L["rank"]]
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == len(bulletin.tables) + len(wb["进度图"]._charts)
        # Charts are numbered as placed, one per table: the first table with a group figure has its line.
        with_line = int(np.flatnonzero(bulletin.tables["reference"].notna().to_numpy())[0]) + 1
        chart = z.read(f"xl/charts/chart{with_line}.xml").decode()
        assert "<c:barChart>" in chart and "<c:lineChart>" in chart and "全组" in chart


def test_user_text_is_never_a_formula_nor_markup(bulletin):
    bulletin.league.loc[0, "unit_name"] = HOSTILE
    bulletin.tables.loc[0, "rule_title"] = "<script>alert(1)</script>"
    wb = load_workbook(io.BytesIO(render(bulletin, "xlsx")))
    cell = wb["排名"]["D2"]
    assert cell.value == HOSTILE and cell.data_type == "s" and cell.quotePrefix
    page = render(bulletin, "html").decode()
    assert "<script>" not in page and HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "=HYPERLINK(&quot;http://x&quot;,&quot;&lt;b&gt;点我&lt;/b&gt;&quot;)" in page


class _LeagueCells(HTMLParser):
    """The text of every cell of every league table of the page, row by row."""

    def __init__(self):
        super().__init__()
        self.rows, self._in_league, self._cell = [], False, None

    def handle_starttag(self, tag, attrs):
        if tag == "section" and ("class", "league") in attrs:
            self._in_league = True
        elif self._in_league and tag == "tr":
            self.rows.append([])
        elif self._in_league and tag == "td":
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "section":
            self._in_league = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def _league_text(bulletin) -> list[list[str]]:
    """What every format prints for the league rows: place, unit, value, growth, move, target, group, status."""
    L = bulletin.league
    return [list(r) for r in zip(style.numbers(L["rank"], 0), np.where(L["responsible"], "★", "") + L["unit_name"],
                                 style.numbers(L["value"]), style.numbers(L["growth"]), style.rank_moves(L["rank_change"]),
                                 style.targets(L["target"], L["target_kind"]), style.numbers(L["reference"]),
                                 style.status_labels(L["status"]))]


def test_html_tables_print_the_league_figures(bulletin):
    parser = _LeagueCells()
    parser.feed(render(bulletin, "html").decode())
    rows = [r for r in parser.rows if r]
    assert rows == _league_text(bulletin)
    assert ["6", "★大祥区", "5.2", "5.2", "▲1", "前7名", "—", "达标"] in rows  # as evaluate judged 大祥区 in June


def test_html_is_one_self_contained_page_with_every_table_and_chart(bulletin):
    page = render(bulletin, "html").decode()
    assert page.count('<section class="league">') == len(bulletin.tables)
    assert page.count("<svg") >= (bulletin.league.groupby("table")["value"].count() > 0).sum()
    assert not re.search(r'<(link|script|img)\b|\b(src|href)\s*=\s*"https?:', page)  # nothing fetched
    assert "Noto Sans CJK SC" in page and "@page { size: A4 landscape" in page
    assert bulletin.title in page and "时间过半" in page
    for word in (label(s) for s in bulletin.league["status"].unique()):
        assert f">{word}</td>" in page


def test_a_target_that_is_the_groups_figure_is_one_labelled_line(bulletin):
    """高于全市平均水平: the target is the group's figure. Two labels drawn at the same place read as neither
    (目标 over 全组); the chart draws one dashed line that says it is both."""
    from exporters.bulletin.html import bar_chart

    [t] = bulletin.tables[bulletin.tables["rule"] == "dx_retail_sales_above_city"].itertuples(index=False)
    assert t.target == t.reference
    block = bulletin.league[bulletin.league["table"] == t.table]
    svg = bar_chart(block, style.value_line(t.target, t.target_kind), t.reference, t.measure)
    labels = re.findall(r'<text x="([\d.]+)" y="([\d.]+)"[^>]*fill="[^"]+">([^<]*)</text>', svg)
    assert [text for _, _, text in labels] == [f"目标（全组）{t.target:g}"]
    assert svg.count("stroke-dasharray") == 1
    # Different figures keep a line each, labelled apart.
    apart = bar_chart(block, t.target + 1.0, t.reference, t.measure)
    texts = re.findall(r'<text x="([\d.]+)" y="([\d.]+)"[^>]*fill="[^"]+">([^<]*)</text>', apart)
    assert [x[2].split()[0] for x in texts] == ["目标", "全组"] and texts[0][1] != texts[1][1]


def test_pdf_is_printed_from_the_page_and_reads_in_chinese(bulletin, tmp_path):
    require_binary("chromium")
    pdftotext = require_binary("pdftotext")
    pdf = tmp_path / "b.pdf"
    pdf.write_bytes(render(bulletin, "pdf"))
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert bulletin.title in text.replace(" ", "")
    for expected in ("总体情况", "各项指标排名", "逾期未报", "规模工业增加值增速全市前七名", "邵阳县", "达标"):
        assert expected in text
    # Every row of the first league table, as the page prints it, is a line of the PDF.
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.splitlines()]
    first = [r for r, t in zip(_league_text(bulletin), bulletin.league["table"]) if t == bulletin.tables["table"].iloc[0]]
    assert len(first) == 12
    for row in first:
        assert " ".join(row) in lines, row


def test_the_bulletin_command_writes_each_format(deployment_dir, example, tmp_path):
    runner = CliRunner()
    for fmt in ("xlsx", "html"):
        out = tmp_path / f"b.{fmt}"
        result = runner.invoke(app, ["bulletin", "--config", str(deployment_dir), "--period", PERIOD, "--as-of", AS_OF,
                                     "--group", "shaoyang_counties", "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 1000
    assert "邵阳市县市区" in (tmp_path / "b.html").read_text(encoding="utf-8")
    bad = runner.invoke(app, ["bulletin", "--config", str(deployment_dir), "--group", "nowhere", "--out", str(tmp_path / "x.html")])
    assert bad.exit_code == 2 and "unknown peer group" in bad.output


def test_pacing_reads_the_share_of_the_annual_task_against_the_year(example_once, bulletin):
    """2023年城镇新增就业1350人（6月底前完成55%）: the June total against 1350, with 55% due and half the year gone."""
    deployment, db, _ = example_once
    verdict = rules.evaluate(deployment, db, as_of=AS_OF, period=PERIOD, rules=["dx_new_urban_jobs"]).iloc[0]
    assert verdict["value"] > 0  # the example reports it
    row = bulletin.pacing.set_index("rule").loc["dx_new_urban_jobs"]
    assert (row["value"], row["annual"], row["due_pct"], row["time_pct"]) == (verdict["value"], 1350, 55, 50)
    assert row["done_pct"] == pytest.approx(verdict["value"] / 1350 * 100)
    assert row["ahead_pct"] == pytest.approx(verdict["value"] / 1350 * 100 - 50)
    assert row["status"] == verdict["status"] and row["target"] == pytest.approx(1350 * 0.55)
    path = bulletin.pacing_path[bulletin.pacing_path["rule"] == "dx_new_urban_jobs"].set_index("month")
    assert path.loc[6, "done_pct"] == pytest.approx(row["done_pct"]) and path.loc[6, "due_pct"] == pytest.approx(55)
    # The target path runs over the whole year: 55% by June, 100% by December (checkpoints {6: 55}).
    due = bulletin.pacing_due[bulletin.pacing_due["rule"] == "dx_new_urban_jobs"].set_index("month")["due_pct"]
    assert list(due.index) == list(range(1, 13)) and due[6] == pytest.approx(55) and due[12] == pytest.approx(100)
    page = render(bulletin, "html").decode()
    assert f"{row['done_pct']:.1f}%" in page and f"{row['ahead_pct']:+.1f}个百分点" in page


def test_pacing_figures_carry_their_unit_of_measure(bulletin):
    """完成地方一般公共预算收入26.7亿元 is kept in the catalogue's 万元: its annual task reads 267000, which
    without the unit beside it reads as 267000亿元. Every pacing row says its unit, on the page and in Excel."""
    row = bulletin.pacing.set_index("rule").loc["xy_fiscal_revenue"]
    assert (row["measure"], row["annual"]) == ("万元", 267000)
    page = render(bulletin, "html").decode()
    assert re.search(r"完成地方一般公共预算收入26.7亿元</td><td>万元</td><td>267000</td>", page)
    ws = load_workbook(io.BytesIO(render(bulletin, "xlsx")))["进度"]
    header = [c.value for c in ws[1]]
    rows = {(r[0], r[1]): dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows[("湘阴县", "完成地方一般公共预算收入26.7亿元")]["计量单位"] == "万元"
    assert rows[("湘阴县", "完成地方一般公共预算收入26.7亿元")]["年度任务"] == 267000


def test_the_cover_wraps_its_long_lines(bulletin):
    """The list of units that did not report on time is longer than a cell: wrapped, it prints whole on A4."""
    ws = load_workbook(io.BytesIO(render(bulletin, "xlsx")))["封面"]
    facts = {ws.cell(r, 1).value: ws.cell(r, 2) for r in range(1, ws.max_row + 1)}
    assert len(facts["未按期报送"].value) > 40 and facts["未按期报送"].alignment.wrap_text


def test_a_word_changed_in_the_vocabulary_changes_in_every_format(bulletin, monkeypatch):
    from rules.vocabulary import StatusWords

    monkeypatch.setitem(WORDS, "late", StatusWords("迟交了", "迟交了句", "迟交了警", "purple", "warning"))
    page = render(bulletin, "html").decode()
    assert ">迟交了</td>" in page and "<h2>五、迟交了</h2>" in page and ">逾期未报<" not in page
    wb = load_workbook(io.BytesIO(render(bulletin, "xlsx")))
    assert "迟交了" in wb.sheetnames
    words = {r.formula[0] for cf in wb["排名"].conditional_formatting for r in cf.rules}
    assert '"迟交了"' in words and '"逾期未报"' not in words
    assert "迟交了" in {c for (c,) in wb["排名"].iter_rows(min_row=2, min_col=12, max_col=12, values_only=True)}


def test_a_not_bottom_target_no_place_can_meet_never_reads_as_a_negative_place(deployment, db, tmp_path):
    # 不落于全市后三位 (dx_services_revenue_not_bottom3) while only 大祥区 and 双清区 have reported, before the deadline:
    # the engine ranks the two reporters, so the place to beat is 2 − 3 = −1. The bulletin printed 前-1名.
    from collectors.ingest import ingest_file
    from tests.collectors.schedule_helpers import at

    csv = tmp_path / "services.csv"
    csv.write_text("unit,indicator,period,value\n大祥区,services_revenue_growth,2023-05,8.1\n双清区,services_revenue_growth,2023-05,6.4\n",
                   encoding="utf-8")
    assert ingest_file(deployment, db, csv, collectors=[], reported_at=at(2023, 6, 10, 12)).ok
    b = build(deployment, db, period="2023-05", as_of="2023-06-15")
    table = b.league[b.league["rule"] == "dx_services_revenue_not_bottom3"]
    assert set(table.loc[table["rank"].notna(), "target"]) == {-1.0}  # the engine's place, as the test is about
    shown = style.targets(table["target"], table["target_kind"])
    assert set(shown[table["rank"].notna()]) == {style.NO_PLACE}
    page = render(b, "html").decode("utf-8")
    assert "前-" not in page and "前0名" not in page and style.NO_PLACE in page


def test_the_interview_list_names_each_indicator_once_when_two_rules_read_it(bulletin):
    # 社零增速 is read by dx_retail_sales_above_city and dx_retail_sales_rank_improve, 进出口 by the city and the
    # province comparisons: one ranking each, so the 约谈 list names its last five once.
    league = bulletin.league[bulletin.league["indicator"] == "retail_sales_growth"]
    assert league["rule"].nunique() == 2  # two tables in the league: the precondition of the test
    bottom = bulletin.bottom
    assert not bottom.duplicated(["indicator", "group", "period", "unit"]).any()
    retail = bottom[bottom["indicator"] == "retail_sales_growth"]
    assert len(retail) == BOTTOM and retail["rank"].tolist() == sorted(retail["rank"].tolist())
    page = render(bulletin, "html").decode("utf-8")
    interview = page[page.index(f"各项排名后{BOTTOM}位单位（约谈）"):]
    interview = interview[:interview.index("</table>")]
    name = retail["indicator_name"].iloc[0]
    assert interview.count(f">{name}<") == BOTTOM  # one ranking's five rows, not ten
