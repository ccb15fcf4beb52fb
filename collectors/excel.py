"""Excel workbooks as departments send them, read with python-calamine (fast, no formulas evaluated)
in a child process with a memory limit (:mod:`collectors.sandbox`).

Each sheet whose name matches a layout of the collector mapping is read: title rows skipped, header
rows joined (merged cells included), units down the side, indicators across. A workbook that lacks a
required sheet is an error with the sheet names it does have; a matching sheet that cannot be read
(empty, an impossible period in its name, a missing column) is quarantined alone, and the other
sheets still land.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
from collectors.layout import Collector, SheetLayout
from collectors.limits import SheetGate
from collectors.sandbox import SheetStream, WorkbookParseError
from collectors.table import header_names, period_from_label, to_raw
from collectors.templates import INDEX_SHEET, TEMPLATE_SHEETS, missing_rows
from collectors.validate import RAW_COLUMNS
from targetwatch.errors import Location, SourceError
from targetwatch.settings import Limits

_A1 = re.compile(r"^([A-Z]+)(\d+)$")


def _cell(grid: list[list], ref: str):
    m = _A1.match(ref.upper())
    if not m:
        raise SourceError(f"not an A1 cell reference: {ref!r}")
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    row = int(m.group(2)) - 1
    return grid[row][col - 1] if row < len(grid) and col - 1 < len(grid[row]) else None


class ParsedSheets:
    """The sheets the sandbox parsed, behind the two calls of a calamine workbook that readers use."""

    def __init__(self, names: list[str], grids: dict[str, list[list]]):
        self.sheet_names = names
        self._grids = grids

    def get_sheet_by_name(self, name: str) -> "_ParsedSheet":
        return _ParsedSheet(self._grids.get(name, []))


class _ParsedSheet:
    def __init__(self, grid: list[list]):
        self.grid = grid

    def to_python(self, skip_empty_area: bool = True) -> list[list]:
        """The grid from A1, or (``skip_empty_area``, calamine's default) from its first non-empty row and column."""
        if not skip_empty_area:
            return self.grid
        filled = [i for i, row in enumerate(self.grid) if any(v not in ("", None) for v in row)]
        if not filled:
            return []
        rows = self.grid[filled[0]:filled[-1] + 1]
        first = min(next(j for j, v in enumerate(r) if v not in ("", None)) for r in rows if any(v not in ("", None) for v in r))
        return [r[first:] for r in rows]


def read_raw(path: Path, collector: Collector, limits: Limits | None = None, gated: bool = False) -> Iterator[tuple[pd.DataFrame, int, list[dict]]]:
    """Yield (raw frame, skipped rows, bad lines) per matching sheet of a workbook.

    calamine parses in a child process with the memory and time limits of ``limits``
    (:mod:`collectors.sandbox`): a workbook that would abort the parser is rejected, located. ``gated``: each sheet's
    limits are checked just before the child parses it (:class:`collectors.limits.SheetGate`), while this process reads
    the sheet before; the caller has checked the rest of the workbook (``check_before_parsing(..., sheets=False)``)."""
    limits = limits or Limits()
    wanted = [layout.name for layout in collector.spec.sheets] + [f"^{re.escape(INDEX_SHEET)}$"]
    gate = SheetGate(path, limits) if gated else None
    try:
        # Each sheet is read here while the child parses the next one.
        with SheetStream(str(path), wanted, limits.parser_memory_mb, limits.parser_seconds, gate=gate.check if gate else None) as stream:
            names, grids = stream.names, {}
            for name, grid in stream:
                grids[name] = grid
                layout = None if name in TEMPLATE_SHEETS else collector.layout_for(name)
                if layout is None:
                    continue
                try:
                    raw, skipped = _sheet_raw(grid, name, layout, path)
                except SourceError as exc:
                    # One unreadable sheet (empty, an impossible period in its name, a missing column) is
                    # quarantined on its own with its location, so that the workbook's good sheets still land.
                    loc = exc.location
                    yield pd.DataFrame(columns=RAW_COLUMNS), 0, [{
                        "sheet": name, "row": loc.row if loc else None, "column": loc.column if loc else None,
                        "reason": f"sheet rejected: {exc.message}", "raw": None}]
                    continue
                yield raw, skipped, []
    except WorkbookParseError as exc:
        raise SourceError(str(exc), Location(file=str(path))) from None
    finally:
        if gate is not None:
            gate.close()
    # Once the whole workbook has parsed (a parser that dies says so first); the batch of its sheets is then rejected whole.
    for layout in collector.spec.sheets:
        if layout.required and not any(re.search(layout.name, n) for n in names):
            raise SourceError(f"missing sheet matching '{layout.name}'; the workbook has: {', '.join(names)}", Location(file=str(path)))
    gone = missing_rows(ParsedSheets(names, grids), path)  # a filled template whose unit row was deleted says where
    if gone:
        yield pd.DataFrame(columns=RAW_COLUMNS), 0, gone


def _grid_block(body: list[list], width: int) -> np.ndarray:
    """The rows of a sheet as one object array of ``width`` columns (a short row is padded with None)."""
    if body and all(len(row) == len(body[0]) for row in body):  # calamine's grids are rectangular: one conversion
        block = np.array(body, dtype=object).reshape(len(body), len(body[0]))
        if block.shape[1] >= width:
            return block[:, :width]
        return np.concatenate([block, np.full((len(body), width - block.shape[1]), None, dtype=object)], axis=1)
    cells = np.full((len(body), width), None, dtype=object)
    for i, row in enumerate(body):
        cells[i, :min(len(row), width)] = row[:width]
    return cells


def _sheet_raw(grid: list[list], name: str, layout: SheetLayout, path: Path) -> tuple[pd.DataFrame, int]:
    """The raw frame of one sheet (its cell grid), and the number of rows skipped on purpose."""
    top = layout.skip_rows + layout.header_rows
    if len(grid) < top:
        raise SourceError("sheet is empty or shorter than its header", Location(file=str(path), sheet=name))
    headers = header_names(grid[layout.skip_rows:top])
    body = grid[top:]
    width = len(headers)
    # One object block for the whole sheet; an empty cell ("") is no value.
    cells = _grid_block(body, width)
    cells[cells == ""] = None
    rows = np.arange(top + 1, top + 1 + len(body), dtype=np.int64)
    blank = pd.isna(cells).all(axis=1)
    data = pd.DataFrame(cells, columns=range(width), dtype=object)
    sheet_period = cell_period = None
    if layout.period.source == "sheet":
        sheet_period = period_from_label(name, str(path), name, "sheet name")
    elif layout.period.source == "cell":
        text = _cell(grid, layout.period.cell or "A1")
        cell_period = period_from_label(str(text or ""), str(path), name, f"cell {layout.period.cell}")
    return to_raw(data[~blank].reset_index(drop=True), headers, rows[~blank], layout,
                  file=str(path), sheet=name, sheet_period=sheet_period, cell_period=cell_period)
