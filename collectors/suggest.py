"""``mapping suggest``: read a workbook nobody has mapped yet and propose its collector mapping (YAML).

Per sheet it finds, from the registry: the unit column (the column whose cells name most known units or
aliases), the first data row (the first known unit or total row below the header), the title rows above
the header (rows with a single filled cell), the header rows between (merged group cells, a 计量单位
row), the period (in the sheet name, else in a title cell, read from that cell), and for every other
column the indicator its header names, with 累计/当月 as the basis and 亿元/万元 as the written measure.
It lists what it could not match: unknown headers, 备注 and 位次 columns (not read), rows naming no
known unit. The proposal is checked against the mapping schema before it is returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from collectors.layout import Collector
from collectors.limits import check_before_parsing
from collectors.sandbox import WorkbookParseError, read_sheets
from collectors.table import _clean, column_letter, header_names
from targetwatch import periods
from targetwatch.errors import PeriodError, SourceError
from targetwatch.model import MEASURES, scale_factor

SKIP_WORDS = ("合计", "总计", "小计", "全市合计", "备注")  # the layout's default skip_units
NOTE_HEADERS = ("备注", "说明", "注")
RANK_HEADERS = ("位次", "排名", "排位", "名次")
SERIAL_HEADERS = ("序号", "编号")
_MEASURE = re.compile(r"[（(]\s*(" + "|".join(sorted(map(re.escape, [*MEASURES, "%"]), key=len, reverse=True)) + r")\s*[)）]")
_BASIS_WORDS = {"累计": "ytd", "本年累计": "ytd", "1-本月": "ytd", "当月": "period", "本月": "period"}
_GROWTH_WORDS = ("增速", "增长", "同比", "增幅", "比上年")
_LABEL = re.compile(r"\d{4}年[^，,。（(/]*?(?:月|季度|半年|年)")


@dataclass
class Proposal:
    """A proposed mapping: its YAML text and what could not be matched."""

    yaml: str
    collector: Collector
    unmatched: list[str] = field(default_factory=list)


def _text(cell) -> str:
    return _clean(cell)


def _period_label(text: str) -> str | None:
    found = _LABEL.search(text or "")
    if not found:
        return None
    try:
        periods.parse_label(found.group(0))
    except PeriodError:
        return None
    return found.group(0)


def _generic(text: str, label: str) -> str:
    """A regular expression for ``text`` with its period label generalised (2023年1-6月 → any such label)."""
    i = text.index(label)
    return "^" + re.escape(text[:i]) + r"\d{4}年[^/]*?(?:月|季度|半年|年)" + re.escape(text[i + len(label):]) + "$"


def _indicator_for(dep, parts: list[str]) -> tuple[str | None, str | None, str | None]:
    """(indicator id, basis, measure written) that a column's header parts name."""
    measure, words = None, []
    for part in parts:
        found = _MEASURE.search(part)
        if found:
            measure = found.group(1)
            part = _MEASURE.sub("", part)
        if part in MEASURES or part == "%":
            measure = part
            continue
        if part and not part.startswith(("计量单位", "单位：", "单位:")):
            words.append(part)
    basis = next((b for w, b in _BASIS_WORDS.items() if any(p == w or p.startswith(w) for p in words)), None)
    growth = any(g in p for p in words for g in _GROWTH_WORDS)
    stripped = [re.sub(r"^(本年累计|累计|当月|本月|1-\d{1,2}月)", "", p) for p in words]
    subject = stripped[0] if stripped else ""
    candidates = ["".join(words), "".join(stripped), *words, *stripped]
    if growth:
        candidates = [subject + "增速", subject + "增长", *candidates]
    for text in candidates:
        for variant in (text, text.replace("增长", "增速").replace("增幅", "增速").replace("同比", "")):
            ind = dep.indicator_id(variant) if variant else None
            if ind is None:
                continue
            if growth and dep.indicators[ind].kind.value not in ("growth", "rate"):
                series = next((i.id for i in dep.indicators.values() if i.growth_of == ind), None)
                if series is None:
                    continue
                ind = series
            return ind, basis, measure
    return None, basis, measure


def _sheet(dep, name: str, grid: list[list], unmatched: list[str]) -> dict | None:
    rows = [[_text(c) for c in r] for r in grid]
    width = max((len(r) for r in rows), default=0)
    rows = [r + [""] * (width - len(r)) for r in rows]
    scan = rows[:60]
    hits = [sum(dep.unit_id(r[c]) is not None for r in scan if r[c]) for c in range(width)]
    if not hits or max(hits) == 0:
        unmatched.append(f"sheet {name!r}: no column names a known unit; not mapped")
        return None
    unit_col = hits.index(max(hits))
    first = next(i for i, r in enumerate(rows) if dep.unit_id(r[unit_col]) is not None or r[unit_col] in SKIP_WORDS)
    top = next((i for i in range(first) if sum(bool(c) for c in rows[i]) >= 2), first)
    if top == first:
        unmatched.append(f"sheet {name!r}: no header row above the first unit row {first + 1}; not mapped")
        return None
    if first - top > 5:
        top = first - 5  # more than five header rows is not a header; keep the lowest five
    headers = header_names(grid[top:first])
    layout: dict = {"name": "", "skip_rows": top, "header_rows": first - top, "unit_column": headers[unit_col]}
    label = _period_label(name)
    if label:
        layout["name"] = _generic(name, label)
        layout["period"] = {"from": "sheet"}
    else:
        layout["name"] = "^" + re.escape(name) + "$"
        cell = next(((r, c) for r in range(top) for c in range(width) if _period_label(rows[r][c])), None)
        if cell is None:
            unmatched.append(f"sheet {name!r}: states no period in its name or title; add period: {{from: fixed, value: ...}}")
            layout["period"] = {"from": "fixed", "value": "YYYY-MM"}
        else:
            layout["period"] = {"from": "cell", "cell": f"{column_letter(cell[1])}{cell[0] + 1}"}
    columns = []
    for c, header in enumerate(headers):
        if c == unit_col or not header:
            continue
        where = f"sheet {name!r} column {column_letter(c)} {header!r}"
        parts = header.split("/")
        if any(p.startswith(NOTE_HEADERS) for p in parts):
            unmatched.append(f"{where}: a note column, not read")
            continue
        if any(p.startswith(RANK_HEADERS) for p in parts):
            unmatched.append(f"{where}: a rank column, not read (ranks are computed from the values)")
            continue
        if any(p.startswith(SERIAL_HEADERS) for p in parts):
            continue
        ind, basis, measure = _indicator_for(dep, parts)
        if ind is None:
            unmatched.append(f"{where}: names no known indicator; add it to the registry or map it by hand")
            continue
        column = {"header": header, "indicator": ind}
        if basis and dep.indicators[ind].kind.value in ("level", "count"):
            column["basis"] = basis
        if measure and measure != "%" and measure in MEASURES:
            try:
                scale_factor(measure, dep.indicators[ind].measure)
                column["measure"] = measure
            except ValueError:
                unmatched.append(f"{where}: written in {measure}, which does not convert to {dep.indicators[ind].measure}")
        columns.append(column)
    skip = set(SKIP_WORDS)
    for i in range(first, len(rows)):
        text = rows[i][unit_col]
        if text and text not in skip and dep.unit_id(text) is None:
            unmatched.append(f"sheet {name!r} row {i + 1}: {text!r} is no known unit (add an alias, or it will be quarantined)")
    if not columns:
        unmatched.append(f"sheet {name!r}: no column matched an indicator; not mapped")
        return None
    layout["columns"] = columns
    return layout


def suggest(dep, path: str | Path, *, name: str | None = None) -> Proposal:
    """The proposed mapping for one workbook (xlsx, xls, ods) and what it could not match."""
    path = Path(path)
    limits = dep.settings.limits
    # The same limits and the same memory-limited child as ingest: an unfamiliar workbook is untrusted too.
    check_before_parsing(path, limits, excel=True)
    try:
        names, grids = read_sheets(str(path), [""], limits.parser_memory_mb, limits.parser_seconds)
    except WorkbookParseError as exc:
        raise SourceError(f"{path}: {exc}") from None
    unmatched: list[str] = []
    sheets = []
    for sheet in names:
        layout = _sheet(dep, sheet, grids.get(sheet, []), unmatched)
        if layout and not any(s["name"] == layout["name"] for s in sheets):
            sheets.append(layout)
    if not sheets:
        raise SourceError(f"{path}: no sheet could be mapped: " + "; ".join(unmatched))
    label = _period_label(path.stem)
    glob = path.name.replace(label, "*") if label else f"{path.stem}*{path.suffix}"
    slug = name or re.sub(r"[^a-z0-9_-]+", "-", path.stem.lower()).strip("-") or "suggested"
    if not re.match(r"^[a-z0-9]", slug):
        slug = "suggested-" + slug
    doc = {"apiVersion": "targetwatch/v1", "kind": "Collector",
           "metadata": {"name": slug, "title": path.stem},
           "spec": {"files": [f"inbox/{slug}/{glob}"], "sheets": sheets}}
    collector = Collector.model_validate(doc)
    head = (f"# Proposed by `targetwatch mapping suggest {path.name}`: check it, save it as collectors/{slug}.yaml,\n"
            f"# and put the workbooks in inbox/{slug}/.\n")
    if unmatched:
        head += "# Not matched:\n" + "".join(f"#   {u}\n" for u in unmatched)
    text = head + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, default_flow_style=None, width=140)
    return Proposal(text, collector, unmatched)
