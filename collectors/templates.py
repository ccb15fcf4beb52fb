"""The workbooks departments fill in: one per collector mapping, laid out exactly as the mapping reads.

``build_templates(deployment, period=...)`` writes, for each mapping, a file that its own ``files`` glob
matches (so the inbox and the drop folder take it as it is):

- a wide mapping gets an Excel workbook (XlsxWriter): a sheet per layout, named so the layout matches and
  states the period; the title row with the period and the reporting deadline; the header rows as the
  mapping reads them (merged group cells over their sub-headers), so the units of measure the mapping
  names (（亿元）, （万元）, （%）) are in the header; the units down the side; every value cell limited to
  numbers by data validation whose prompt names the unit of measure; the sheet protected so that only
  the value cells can be edited (rows cannot be deleted or inserted); a 填报说明 sheet; and a very hidden
  sheet listing where each unit's row is, so that a workbook whose unit row was deleted anyway gets a
  located error at the template's own cell (:func:`missing_rows`, called by the Excel reader);
- a long mapping (``unit,indicator,period,value``) gets a CSV with one row per (unit, indicator) to fill.

Which units and indicators: the indicators are the mapping's columns; the units are those the rules judge
on those indicators (their own units, or all members of their peer group, and the group's reference unit,
whose own figure is the group's), in registry order.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from collectors.layout import Collector, ColumnMap, SheetLayout, load_collectors
from targetwatch import periods, yamlio
from targetwatch.errors import ConfigError
from targetwatch.periods import Period
from targetwatch.workdays import deadline_of

INSTRUCTIONS = "填报说明"
INDEX_SHEET = "_targetwatch_template"  # very hidden: sheet, row, unit of every expected unit row
TEMPLATE_SHEETS = (INSTRUCTIONS, INDEX_SHEET)  # never data, whatever a layout's sheet pattern says
FONT = "Noto Sans CJK SC"
_CN = "一二三四"


@dataclass
class Template:
    """One written template: its collector, file, and what it asks for."""

    collector: str
    path: Path
    units: list[str]
    cells: int


def _period_labels(p: Period) -> list[tuple[str, Period]]:
    """Labels a sheet or header may state for the periods a report of month ``p`` covers, most specific first."""
    y, m = p.year, p.last_month
    q = (m - 1) // 3  # the quarter ended by m (0 = none this year)
    out = [(f"{y}年1-{m}月", p) if m > 1 else (f"{y}年1月", p), (f"{y}年{m}月", p)]
    if m % 3 == 0:
        out += [(f"{y}年第{_CN[m // 3 - 1]}季度", Period(y, m - 2, m)), (f"{y}年{_CN[m // 3 - 1]}季度", Period(y, m - 2, m))]
    elif q:
        out += [(f"{y}年第{_CN[q - 1]}季度", Period(y, 3 * q - 2, 3 * q)), (f"{y}年{_CN[q - 1]}季度", Period(y, 3 * q - 2, 3 * q))]
    else:
        out += [(f"{y - 1}年第四季度", Period(y - 1, 10, 12)), (f"{y - 1}年四季度", Period(y - 1, 10, 12))]
    out += [(f"{y}年上半年", Period(y, 1, 6))] if m >= 6 else []
    out += [(f"{y}年", Period(y, 1, 12))] if m == 12 else [(f"{y - 1}年", Period(y - 1, 1, 12))]
    return out


def _literal(pattern: str) -> str | None:
    """The one text a regular expression without metacharacters matches (``^地区生产总值$``)."""
    body = pattern.removeprefix("^").removesuffix("$")
    text = re.sub(r"\\(.)", r"\1", body)
    return text if re.fullmatch(pattern, text) else None


def _name_for(pattern: str, p: Period) -> tuple[str, Period | None]:
    """A text ``pattern`` matches: a literal, or the first period label of ``p`` it accepts."""
    lit = _literal(pattern)
    if lit is not None and not re.search(r"[\\\[\](){}.*+?|]", pattern.strip("^$")):
        return lit, None
    for text, period in _period_labels(p):
        if re.search(pattern, text):
            return text, period
    raise ConfigError(f"cannot name a sheet or header that matches {pattern!r} for {p.label_zh()}: "
                      "give the layout a header instead of match, or a sheet name pattern with a period label")


def _column_header(cmap: ColumnMap, p: Period) -> tuple[list[str], Period | None]:
    if cmap.header is not None:
        return cmap.header.split("/"), None
    parts, found = [], None
    for part in cmap.match.removeprefix("^").removesuffix("$").split("/"):
        text, period = _name_for(f"^{part}$", p)
        parts.append(text)
        found = found or period
    return parts, found


def rule_targets(deployment) -> list[tuple[str, list[str], str | None]]:
    """(indicator, units, group) of every rule document of the deployment, read from the YAML as it is:
    collectors sit upstream of the rules engine, and a template only needs to know who reports what."""
    out = []
    folder = deployment.root / "rules"
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        for doc in yamlio.load_all(path):
            spec = doc.get("spec") if isinstance(doc, dict) and doc.get("kind") == "Rule" else None
            if isinstance(spec, dict) and spec.get("indicator"):
                out.append((str(spec["indicator"]), [str(u) for u in spec.get("units") or []], spec.get("group")))
    return out


def reported_units(deployment, store, collector: Collector, indicators: set[str]) -> set[str]:
    """The units that have reported these indicators in files this collector reads (its earlier workbooks)."""
    from collectors.ingest import collector_for  # the reader imports this module: import the other way lazily

    batches = store.batches()
    if batches.empty:
        return set()
    mine = [int(b) for b, src in zip(batches["id"], batches["source"])
            if collector_for(Path(str(src)), deployment, [collector]) is not None]
    if not mine:
        return set()
    frame = store.read(indicators=sorted(indicators))
    return set(frame.loc[frame["batch"].isin(mine), "unit"])


def template_units(deployment, indicators: set[str], store=None, collector: Collector | None = None) -> list[str]:
    """The units to list, in registry order: those that reported through this collector before, when the
    store knows any; else those the rules judge on these indicators (with their peers and the group's own unit)."""
    if store is not None and collector is not None:
        seen = reported_units(deployment, store, collector, indicators)
        if seen:
            return [u for u in deployment.units if u in seen]
    wanted: set[str] = set()
    for indicator, units, group in rule_targets(deployment):
        if indicator not in indicators:
            continue
        if group in deployment.groups:
            wanted.update(deployment.group_members(group))
            ref = deployment.groups[group].reference_unit
            if ref:
                wanted.add(ref)
        wanted.update(units)
    return [u for u in deployment.units if u in wanted]


def _file_name(collector: Collector, label: str) -> str:
    if not collector.spec.files:
        raise ConfigError(f"collector {collector.metadata.name!r} names no files: nothing to fill in")
    pattern = Path(collector.spec.files[0]).name
    title = collector.metadata.title or collector.metadata.name
    if "*" not in pattern:
        return pattern
    return pattern.replace("*", label if pattern.index("*") > 0 else f"{title}_{label}", 1)


def _layouts(collector: Collector) -> list[SheetLayout]:
    required = [s for s in collector.spec.sheets if s.required]
    return required or collector.spec.sheets[:1]


def build_templates(deployment, *, period: str | None = None, collector: str | None = None, out: Path | None = None,
                    store=None) -> list[Template]:
    """Write the template of every collector mapping (or one) for the month ``period`` into ``out``.

    With a ``store``, each workbook lists the units that reported through that collector before."""
    p = periods.parse(period) if period else _last_month()
    if p.frequency != periods.MONTHLY or p.is_jan_feb:
        raise ConfigError(f"templates are built for a month (2023-06), not {period!r}")
    out = Path(out or "templates")
    out.mkdir(parents=True, exist_ok=True)
    chosen = [c for c in load_collectors(deployment.root) if collector is None or c.metadata.name == collector]
    if collector is not None and not chosen:
        raise ConfigError(f"unknown collector {collector!r}")
    written = []
    for c in chosen:
        if not c.spec.files or not c.spec.sheets:
            continue  # an HTTP, SQL or SDMX collector: nobody fills it in
        if c.spec.sheets[0].shape == "long":
            written.append(_long_template(deployment, c, p, out))
        else:
            written.append(_wide_template(deployment, c, p, out, store))
    return written


def _last_month() -> Period:
    today = date.today()
    return Period(today.year - (today.month == 1), 12 if today.month == 1 else today.month - 1, 12 if today.month == 1 else today.month - 1)


def _deadline(deployment, indicators: list[str], period: Period) -> date:
    days = [deadline_of(period, deployment.indicators[i].deadline).date() for i in indicators if i in deployment.indicators]
    return min(days) if days else period.end


def _wide_template(deployment, c: Collector, p: Period, out: Path, store=None) -> Template:
    sheets = []
    for layout in _layouts(c):
        if layout.header_rows > 2:
            raise ConfigError(f"collector {c.metadata.name!r}: templates lay out at most two header rows")
        name, sheet_period = _name_for(layout.name, p)
        heads, col_period = [], None
        for cmap in layout.columns:
            parts, found = _column_header(cmap, p)
            heads.append(parts)
            col_period = col_period or found
        sheet_p = sheet_period or col_period or p
        inds = [cm.indicator or layout.indicator for cm in layout.columns]
        sheets.append((layout, name, heads, inds, sheet_p))
    all_inds = {i for *_, inds, _ in sheets for i in inds if i}
    units = template_units(deployment, all_inds, store, c)
    if not units:
        raise ConfigError(f"collector {c.metadata.name!r}: no rule judges its indicators, so no unit is expected to report")
    main_p = sheets[0][4]
    path = out / _file_name(c, main_p.label_zh() if main_p.frequency != periods.MONTHLY else f"{main_p.year}年1-{main_p.last_month}月")
    import xlsxwriter  # only the writer needs it; the Excel reader imports this module for missing_rows

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False})
    base = {"font_name": FONT, "font_size": 10, "border": 1, "valign": "vcenter", "align": "center"}
    f_title = wb.add_format({"font_name": FONT, "font_size": 14, "bold": True, "align": "center", "valign": "vcenter"})
    f_head = wb.add_format(base | {"bold": True, "bg_color": "#E7ECF2", "text_wrap": True})
    f_unit = wb.add_format(base | {"bold": True, "align": "left"})
    f_value = wb.add_format(base | {"locked": False, "bg_color": "#FFFDE7", "num_format": "0.00"})
    index_rows: list[tuple[str, int, str, str, str]] = []
    cells = 0
    for layout, name, heads, inds, sheet_p in sheets:
        ws = wb.add_worksheet(name)
        top = layout.skip_rows
        width = 1 + len(heads)
        deadline = _deadline(deployment, [i for i in inds if i], sheet_p)
        title = f"{c.metadata.title or c.metadata.name}（{sheet_p.label_zh()}）　报送截止：{deadline:%Y年%m月%d日}"
        if top:
            ws.merge_range(0, 0, 0, width - 1, "", f_title)
            ws.write_string(0, 0, title, f_title)
            ws.set_row(0, 28)
        rows = layout.header_rows
        # The unit column's header spans every header row.
        if rows > 1:
            ws.merge_range(top, 0, top + rows - 1, 0, "", f_head)
        ws.write_string(top, 0, layout.unit_column, f_head)
        col = 1
        while col <= len(heads):
            parts = heads[col - 1]
            if rows == 1 or len(parts) == 1:
                text = "/".join(parts) if rows == 1 else parts[0]
                if rows > 1:
                    ws.merge_range(top, col, top + rows - 1, col, "", f_head)
                ws.write_string(top, col, text, f_head)
                col += 1
                continue
            # A group cell merged over the run of columns that share it.
            end = col
            while end < len(heads) and len(heads[end]) > 1 and heads[end][0] == parts[0]:
                end += 1
            if end > col:
                ws.merge_range(top, col, top, end, "", f_head)
            ws.write_string(top, col, parts[0], f_head)
            for k in range(col, end + 1):
                ws.write_string(top + 1, k, "/".join(heads[k - 1][1:]), f_head)
            col = end + 1
        first = top + rows
        for r, unit in enumerate(units):
            ws.write_string(first + r, 0, deployment.units[unit].name, f_unit)
            index_rows.append((name, first + r + 1, unit, deployment.units[unit].name, layout.unit_column))
            for k in range(1, width):
                ws.write_blank(first + r, k, None, f_value)
        last = first + len(units) - 1
        for k, (parts, ind) in enumerate(zip(heads, inds), start=1):
            measure = _measure(layout.columns[k - 1], ind, deployment)
            ws.data_validation(first, k, last, k, {
                "validate": "decimal", "criteria": "between", "minimum": -1e15, "maximum": 1e15, "ignore_blank": True,
                "input_title": "只填数字"[:32], "input_message": f"{'/'.join(parts)}\n单位：{measure}\n未报送留空"[:255],
                "error_title": "请填写数字", "error_message": f"此格只能填写数字（单位：{measure}），不能填写文字、空格或符号；未报送请留空。"[:255],
                "error_type": "stop"})
            cells += len(units)
        ws.set_column(0, 0, 18)
        ws.set_column(1, width - 1, 16)
        ws.set_row(top + rows - 1, 36)
        ws.freeze_panes(first, 1)
        ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True, "format_columns": True, "format_rows": True})
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0, first - 1)
    _instructions(wb, c, sheets, units, deployment)
    idx = wb.add_worksheet(INDEX_SHEET)
    for r, (sheet, row, unit, unit_name, unit_column) in enumerate(index_rows):
        for k, v in enumerate((sheet, str(row), unit, unit_name, unit_column)):
            idx.write_string(r, k, v)
    idx.very_hidden()
    idx.protect()
    wb.close()
    return Template(c.metadata.name, path, units, cells)


def _measure(cmap: ColumnMap, indicator: str | None, deployment) -> str:
    if cmap.measure:
        return cmap.measure
    ind = deployment.indicators.get(indicator or "")
    return ind.measure if ind else "见表头"


def _instructions(wb, c: Collector, sheets, units: list[str], deployment) -> None:
    ws = wb.add_worksheet(INSTRUCTIONS)
    wrap = wb.add_format({"font_name": FONT, "text_wrap": True, "valign": "top"})
    bold = wb.add_format({"font_name": FONT, "bold": True})
    ws.set_column(0, 0, 110)
    lines = [
        (f"{c.metadata.title or c.metadata.name} 填报说明", bold),
        ("1. 只在浅黄色格子里填写数字；单位、表头和表格结构已锁定，请勿增删行列、改动表头或工作表名称。", wrap),
        ("2. 金额的计量单位以表头括号为准：（万元）填万元，（亿元）填亿元，不要换算；增速、占比填百分数的数值（增长6.5%填6.5）。", wrap),
        ("3. 未报送或无此项的格子留空，不要填“/”“—”“0”或文字。", wrap),
        ("4. 填好后按原文件名报送（或放入报送文件夹），文件名和工作表名称请勿修改。", wrap),
        ("", wrap),
        ("各工作表的期别与报送截止：", bold),
    ]
    for layout, name, heads, inds, sheet_p in sheets:
        lines.append((f"· {name}：{sheet_p.label_zh()}，报送截止 {_deadline(deployment, [i for i in inds if i], sheet_p):%Y年%m月%d日}", wrap))
        for parts, cmap, ind in zip(heads, layout.columns, inds):
            lines.append((f"    {'/'.join(parts)}：单位 {_measure(cmap, ind, deployment)}", wrap))
    lines.append((f"填报单位（{len(units)} 个）：" + "、".join(deployment.units[u].name for u in units), wrap))
    for r, (text, fmt) in enumerate(lines):
        ws.write_string(r, 0, text, fmt)
    ws.protect()


def _long_template(deployment, c: Collector, p: Period, out: Path) -> Template:
    """A canonical long CSV with a row per (unit, indicator) the rules need and no workbook mapping reads."""
    wide = {cm.indicator or s.indicator for other in load_collectors(deployment.root) for s in other.spec.sheets
            if s.shape == "wide" for cm in s.columns}
    pairs: list[tuple[str, str]] = []
    for indicator, units, group in rule_targets(deployment):
        if indicator in wide or indicator not in deployment.indicators:
            continue
        ind = deployment.indicators[indicator]
        if ind.frequency != periods.MONTHLY:
            continue
        for unit in units or (deployment.group_members(group) if group in deployment.groups else []):
            if unit not in deployment.units:
                continue
            if (unit, ind.id) not in pairs:
                pairs.append((unit, ind.id))
    path = out / _file_name(c, p.label_zh())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["unit", "indicator", "period", "value", "measure", "basis"])
    for unit, ind_id in pairs:
        ind = deployment.indicators[ind_id]
        writer.writerow([deployment.units[unit].name, ind.name, str(p), "", ind.measure, ind.basis.value])
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")  # the BOM makes Excel open it as UTF-8
    return Template(c.metadata.name, path, sorted({u for u, _ in pairs}), len(pairs))


def missing_rows(workbook, path: Path) -> list[dict]:
    """Quarantine rows for every unit row of a filled template that is gone (deleted or renamed), located at
    the template's own cell; nothing for a workbook that is not a template."""
    if INDEX_SHEET not in workbook.sheet_names:
        return []
    from collectors.table import _clean

    expected = workbook.get_sheet_by_name(INDEX_SHEET).to_python()
    present: dict[str, set[str]] = {}
    out = []
    for sheet, row, unit, unit_name, unit_column in (r[:5] for r in expected if len(r) >= 5):
        if sheet not in present:
            grid = workbook.get_sheet_by_name(sheet).to_python() if sheet in workbook.sheet_names else []
            present[sheet] = {_clean(r[0]) for r in grid if r}
        if _clean(unit_name) not in present[sheet]:
            out.append({"sheet": sheet, "row": int(float(row)), "column": f"A {unit_column}",
                        "reason": f"template row {int(float(row))} of unit {unit_name} ({unit}) is missing: "
                                  "its row was deleted or its name changed; restore the row from the template", "raw": None})
    return out
