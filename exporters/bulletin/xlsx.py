"""The bulletin as a real Excel workbook (XlsxWriter): formatting, frozen headers, traffic-light conditional
formats, native charts, and an A4 landscape print set-up on every sheet.

Sheets: 封面 (the cover), 排名 (every league table, one block of rows per table, in rank order),
图表 (a native bar chart per league table over the 排名 rows, with the target and the group's figure as
lines), 确保落后, 约谈, 逾期未报, 已达标, 进度 (pacing) and 进度图 (per pacing target, a chart of the shares done against
the target path). Text is only ever written as text: no string becomes a formula, and a text that
starts like one (= + - @) carries Excel's quote prefix.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import xlsxwriter

from exporters.bulletin import style
from exporters.bulletin.model import BOTTOM, Bulletin
from exporters.bulletin.sheetdata import FORMULA_START, BulkSheet
from rules.vocabulary import STATUSES, WORDS, label

LEAGUE_HEAD = ["目标", "比较组", "位次", "单位", "责任单位", "数值", "计量单位", "增速(%)", "进位/退位", "目标值", "全组", "状态",
               "目标线", "全组线"]


class _Sheets:
    """Formats of one workbook and the few ways cells are written."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self.wb = wb
        base = {"font_name": style.EXCEL_FONT, "font_size": 10, "border": 1, "valign": "vcenter"}
        self.base = base
        self.text = wb.add_format(base)
        self.text_q = wb.add_format(base | {"quote_prefix": True})
        self.bold = wb.add_format(base | {"bold": True})
        self.bold_q = wb.add_format(base | {"bold": True, "quote_prefix": True})
        self.wrap = wb.add_format(base | {"text_wrap": True})  # the cover's long lines print whole
        self.wrap_q = wb.add_format(base | {"text_wrap": True, "quote_prefix": True})
        self.num = wb.add_format(base | {"num_format": "0.00"})
        self.int = wb.add_format(base | {"num_format": "0", "align": "center"})
        self.pct = wb.add_format(base | {"num_format": "0.0\\%"})
        self.signed = wb.add_format(base | {"num_format": "+0.0;-0.0;0.0"})
        self.head = wb.add_format(base | {"bold": True, "bg_color": "#E7ECF2", "align": "center", "text_wrap": True})
        self.title = wb.add_format({"font_name": style.EXCEL_FONT, "font_size": 18, "bold": True, "font_color": "#9C0006", "align": "center"})
        self.status = {s: wb.add_format({"bg_color": style.status_fill(s)[0], "font_color": style.status_fill(s)[1]})
                       for s in STATUSES}

    def string(self, ws, row: int, col: int, value, bold: bool = False) -> None:
        text = "" if value is None or (isinstance(value, float) and value != value) else str(value)
        quoted = text.startswith(FORMULA_START)
        fmt = (self.bold_q if quoted else self.bold) if bold else (self.text_q if quoted else self.text)
        ws.write_string(row, col, text, fmt)

    def strings(self, ws, row: int, col: int, values, bold=None) -> None:
        bold = np.zeros(len(values), dtype=bool) if bold is None else bold
        for i, (v, b) in enumerate(zip(values, bold)):
            self.string(ws, row + i, col, v, bool(b))

    def numbers(self, ws, row: int, col: int, values, fmt=None) -> None:
        fmt = fmt or self.num
        arr = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
        for i, v in enumerate(arr):
            if v == v:
                ws.write_number(row + i, col, float(v), fmt)
            else:
                ws.write_blank(row + i, col, None, fmt)

    def header(self, ws, head: list[str], row: int = 0, widths: list[int] | None = None) -> None:
        for c, h in enumerate(head):
            ws.write_string(row, c, h, self.head)
            if widths:
                ws.set_column(c, c, widths[c])
        ws.freeze_panes(row + 1, 0)
        ws.repeat_rows(row)

    def traffic_lights(self, ws, first_row: int, last_row: int, col: int) -> None:
        """红黄绿: the status column coloured by the word in the cell (the words of rules.vocabulary)."""
        if last_row < first_row:
            return
        for s in STATUSES:
            ws.conditional_format(first_row, col, last_row, col, {"type": "cell", "criteria": "==",
                                                                  "value": f'"{WORDS[s].label}"', "format": self.status[s]})


def _print_setup(ws, landscape: bool = True) -> None:
    ws.set_paper(9)  # A4
    if landscape:
        ws.set_landscape()
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页")


def list_sheets() -> dict[str, str]:
    """The list sheets, named by the status they list in the vocabulary's words (确保落后, 逾期未报, 已达标)."""
    return {"behind": f"确保{label('behind')}", "late": label("late"), "on_track": f"已{label('on_track')}"}


def render_xlsx(b: Bulletin) -> bytes:
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
                                      "strings_to_urls": False, "nan_inf_to_errors": False})
    f = _Sheets(wb)
    _cover(wb, f, b)
    spans = _league(wb, f, b)
    _charts(wb, b, spans)
    sheets = list_sheets()
    _simple(wb, f, sheets["behind"], ["单位", "目标", "期别", "数值", "目标值", "差距", "状态", "说明"], b.behind,
            ["unit_name", "rule_title", "period", "value", "target", "gap", "status", "message"], [14, 36, 10, 10, 10, 10, 10, 80])
    _simple(wb, f, "约谈", ["指标", "比较组", "位次", "单位", "数值", "状态"], b.bottom,
            ["indicator_name", "group_name", "rank", "unit_name", "value", "status"], [36, 14, 8, 16, 10, 10],
            note=f"各项排名后{BOTTOM}位的单位（每季度对排名后五位的单位主要负责人进行集体约谈）。")
    _simple(wb, f, sheets["late"], ["单位", "指标", "期别", "报送截止"], b.late, ["unit_name", "indicator_name", "period", "deadline"],
            [18, 30, 10, 14])
    _simple(wb, f, sheets["on_track"], ["单位", "目标", "期别", "数值", "目标值", "状态"], b.met,
            ["unit_name", "rule_title", "period", "value", "target", "status"], [14, 40, 10, 10, 10, 10])
    _pacing(wb, f, b)
    if len(b.data_checks):  # failed data checks, each with the contact (联络人) who corrects the figure
        _simple(wb, f, "数据核对", ["单位", "核对", "期别", "联络人", "说明"], b.data_checks,
                ["unit_name", "rule_title", "period", "contact_name", "message"], [14, 36, 10, 12, 80])
    wb.close()
    return buffer.getvalue()


def _cover(wb, f: _Sheets, b: Bulletin) -> None:
    ws = wb.add_worksheet("封面")
    ws.set_column(0, 0, 16)
    ws.set_column(1, 1, 90)
    ws.merge_range(0, 0, 0, 1, "", f.title)
    ws.write_string(0, 0, b.title, f.title)
    facts = [("辖区", b.jurisdiction), ("通报期别", f"{b.period_label}（{b.period}）"), ("数据截至", b.as_of.isoformat()),
             ("比较组", b.group or "全部"), ("按期报送", f"{b.on_time} / {len(b.units)} 个单位"), ("目标判定", style.count_line(b.status_counts)),
             ("未按期报送", "、".join(b.late_unit_names) or "无"),
             ("排名表", f"{len(b.tables)} 张"), (f"{label('behind')}（确保目标未完成）", f"{len(b.behind)} 项"), ("已完成目标", f"{len(b.met)} 项")]
    for i, (k, v) in enumerate(facts, start=2):
        ws.write_string(i, 0, k, f.head)
        ws.write_string(i, 1, v, f.wrap_q if v.startswith(FORMULA_START) else f.wrap)
    row = len(facts) + 3
    ws.write_string(row, 0, "图例", f.head)
    for i, (s, word, _) in enumerate(style.legend()):
        ws.write_string(row + 1 + i, 0, word, wb.add_format(f.base | {"bg_color": style.status_fill(s)[0], "font_color": style.status_fill(s)[1]}))
    ws.write_string(row + 1 + len(STATUSES), 0, "★ 为目标责任单位；▲ 进位、▼ 退位（与上期比）", f.text)
    _print_setup(ws, landscape=False)


def _bulk_header(ws, bulk: BulkSheet, f: _Sheets, head: list[str], row: int, widths: list[int]) -> None:
    for c, h in enumerate(head):
        bulk.header(row, c, h, f.head)
        ws.set_column(c, c, widths[c])
    ws.freeze_panes(row + 1, 0)
    ws.repeat_rows(row)


def _league(wb, f: _Sheets, b: Bulletin) -> list[tuple[int, int, int]]:
    """The 排名 sheet; returns (table index, first row, last row) of each table's rows."""
    ws = wb.add_worksheet("排名")
    L = b.league
    n = len(L)
    bulk = BulkSheet(ws, 1, n)
    _bulk_header(ws, bulk, f, LEAGUE_HEAD, 0, [34, 14, 6, 16, 8, 10, 8, 9, 9, 9, 9, 9, 7, 7])
    if n:
        tables = b.tables.set_index("table")
        target_line = np.where(L["target_kind"].eq("rank").to_numpy(), np.nan, L["table"].map(tables["target"]).to_numpy(dtype=np.float64))
        reference_line = L["table"].map(tables["reference"]).to_numpy(dtype=np.float64)
        own = L["responsible"].to_numpy(dtype=bool)
        bulk.text(0, L["rule_title"], f.text, f.text_q)
        bulk.text(1, L["group_name"], f.text, f.text_q)
        bulk.number(2, L["rank"], f.int)
        bulk.text(3, L["unit_name"], f.text, f.text_q, bold=own, bold_fmt=f.bold, bold_quoted=f.bold_q)
        bulk.text(4, np.where(own, "★", ""), f.text, f.text_q)
        bulk.number(5, L["value"], f.num)
        bulk.text(6, L["measure"], f.text, f.text_q)
        bulk.number(7, L["growth"], f.num)
        bulk.text(8, style.rank_moves(L["rank_change"]), f.text, f.text_q)
        bulk.text(9, style.targets(L["target"], L["target_kind"]), f.text, f.text_q)
        bulk.number(10, L["reference"], f.num)
        bulk.text(11, style.status_labels(L["status"]), f.text, f.text_q)
        bulk.number(12, target_line, f.num)
        bulk.number(13, reference_line, f.num)
        f.traffic_lights(ws, 1, n, 11)
        ws.autofilter(0, 0, n, len(LEAGUE_HEAD) - 1)
    _print_setup(ws)
    ends = np.cumsum(b.tables["rows"].to_numpy(dtype=np.int64)) if len(b.tables) else np.array([], dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1]]) if len(ends) else ends
    return [(i, int(s) + 1, int(e)) for i, (s, e) in enumerate(zip(starts, ends))]


def _charts(wb, b: Bulletin, spans) -> None:
    ws = wb.add_worksheet("图表")
    _print_setup(ws)
    for i, first, last in spans:
        t = b.tables.iloc[i]
        bars = wb.add_chart({"type": "column"})
        bars.add_series({"name": "数值", "categories": ["排名", first, 3, last, 3], "values": ["排名", first, 5, last, 5],
                         "fill": {"color": style.BAR}, "gap": 60})
        lines = wb.add_chart({"type": "line"})
        if style.value_line(t["target"], t["target_kind"]) == style.value_line(t["target"], t["target_kind"]):
            lines.add_series({"name": "目标", "categories": ["排名", first, 3, last, 3], "values": ["排名", first, 12, last, 12],
                              "line": {"color": style.TARGET_LINE, "dash_type": "dash", "width": 2}, "marker": {"type": "none"}})
        if t["reference"] == t["reference"]:
            lines.add_series({"name": "全组", "categories": ["排名", first, 3, last, 3], "values": ["排名", first, 13, last, 13],
                              "line": {"color": style.REFERENCE_LINE, "dash_type": "dash", "width": 2}, "marker": {"type": "none"}})
        if lines.series:
            bars.combine(lines)
        bars.set_title({"name": f"{t['rule_title']}（{t['group_name']}）", "name_font": {"name": style.EXCEL_FONT, "size": 11}})
        bars.set_x_axis({"num_font": {"name": style.EXCEL_FONT, "rotation": -45, "size": 8}})
        bars.set_y_axis({"name": t["measure"], "name_font": {"name": style.EXCEL_FONT, "size": 9}})
        bars.set_legend({"position": "bottom", "font": {"name": style.EXCEL_FONT}})
        bars.set_size({"width": 760, "height": 300})
        ws.insert_chart(i * 16, 0, bars)


def _simple(wb, f: _Sheets, name: str, head: list[str], frame: pd.DataFrame, cols: list[str], widths: list[int],
            note: str | None = None) -> None:
    ws = wb.add_worksheet(name)
    top = 1 if note else 0
    bulk = BulkSheet(ws, top + 1, len(frame))
    if note:
        bulk.header(0, 0, note, wb.add_format({"font_name": style.EXCEL_FONT, "italic": True}))
    _bulk_header(ws, bulk, f, head, top, widths)
    for c, col in enumerate(cols):
        values = frame[col] if col in frame else pd.Series([None] * len(frame))
        if col == "status":
            bulk.text(c, style.status_labels(values), f.text, f.text_q)
        elif col == "rank":
            bulk.number(c, values, f.int)
        elif col in ("value", "target", "gap"):
            bulk.number(c, values, f.num)
        else:
            bulk.text(c, values.astype(object), f.text, f.text_q)
    if "status" in cols:
        f.traffic_lights(ws, top + 1, top + len(frame), cols.index("status"))
    _print_setup(ws)


def _pacing(wb, f: _Sheets, b: Bulletin) -> None:
    ws = wb.add_worksheet("进度")
    head = ["单位", "目标", "计量单位", "年度任务", "累计完成", "完成年度任务(%)", "应完成(%)", "时间进度(%)", "快于/慢于时间进度(百分点)", "状态"]
    p = b.pacing
    bulk = BulkSheet(ws, 1, len(p))
    _bulk_header(ws, bulk, f, head, 0, [14, 40, 8, 10, 10, 14, 10, 10, 16, 10])
    if len(p):
        bulk.text(0, p["unit_name"], f.text, f.text_q)
        bulk.text(1, p["rule_title"], f.text, f.text_q)
        bulk.text(2, p["measure"], f.text, f.text_q)  # 267000 is 万元 although the title says 26.7亿元
        bulk.number(3, p["annual"], f.num)
        bulk.number(4, p["value"], f.num)
        bulk.number(5, p["done_pct"], f.pct)
        bulk.number(6, p["due_pct"], f.pct)
        bulk.number(7, p["time_pct"], f.pct)
        bulk.number(8, p["ahead_pct"], f.signed)
        bulk.text(9, style.status_labels(p["status"]), f.text, f.text_q)
        f.traffic_lights(ws, 1, len(p), 9)
    _print_setup(ws)
    # Per target, the month-by-month shares (应完成 and each charted unit's 完成) and a line chart over them.
    ws = wb.add_worksheet("进度图")
    ws.set_column(0, 0, 12)
    row = 0
    paths = dict(tuple(b.pacing_path.groupby("rule", sort=False)))
    for k, (rule, due_rows) in enumerate(b.pacing_due.groupby("rule", sort=False)):
        path = paths.get(rule, b.pacing_path.iloc[:0])
        wide = path.pivot_table(index="month", columns="unit_name", values="done_pct", aggfunc="first", sort=False)
        due = due_rows.set_index("month")["due_pct"]
        months = list(range(1, 13))
        f.string(ws, row, 0, f"{due_rows['rule_title'].iloc[0]}：完成年度任务的进度（%）", bold=True)
        ws.write_string(row + 1, 0, "月份", f.head)
        ws.write_string(row + 1, 1, "应完成", f.head)
        f.strings(ws, row + 2, 0, [f"{m}月" for m in months])
        f.numbers(ws, row + 2, 1, due.reindex(months), f.pct)
        for j, unit in enumerate(wide.columns):
            f.string(ws, row + 1, 2 + j, unit, bold=True)
            f.numbers(ws, row + 2, 2 + j, wide[unit].reindex(months), f.pct)
        first, last = row + 2, row + 1 + len(months)
        chart = wb.add_chart({"type": "line"})
        chart.add_series({"name": "应完成", "categories": ["进度图", first, 0, last, 0], "values": ["进度图", first, 1, last, 1],
                          "line": {"color": style.TARGET_LINE, "dash_type": "dash", "width": 2}})
        for j, _ in enumerate(wide.columns):
            chart.add_series({"name": ["进度图", row + 1, 2 + j], "categories": ["进度图", first, 0, last, 0],
                              "values": ["进度图", first, 2 + j, last, 2 + j],
                              "line": {"color": style.SERIES[j % len(style.SERIES)]}, "marker": {"type": "circle", "size": 4}})
        chart.set_title({"name": f"{due_rows['rule_title'].iloc[0]}：完成年度任务的进度", "name_font": {"name": style.EXCEL_FONT, "size": 10}})
        chart.set_y_axis({"name": "%", "num_font": {"name": style.EXCEL_FONT}})
        chart.set_legend({"position": "right", "font": {"name": style.EXCEL_FONT}})
        chart.set_size({"width": 620, "height": 280})
        ws.insert_chart(k * 15, 10, chart)
        row = last + 2
    _print_setup(ws)

