"""Whole columns of cells written as worksheet XML at once, for sheets of hundreds of thousands of rows.

XlsxWriter spends several microseconds per cell; the bulletin of 2,000 units × 100 rules has two
million. :class:`BulkSheet` keeps whole columns and, when XlsxWriter assembles the file, writes the
sheet's ``<sheetData>`` from them with numpy string operations (each distinct text escaped once). Every
other part of the sheet (formats, conditional formats, freeze panes, filters, print set-up) is still
XlsxWriter's. Text goes into the workbook's shared-string table (each distinct text once, registered when the
column is given, before XlsxWriter writes the table); text is never a formula, and a text that starts like
one (= + - @) gets the quote-prefixed format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from collectors.table import column_letter

FORMULA_START = ("=", "+", "-", "@")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class _Column:
    col: int
    kind: str  # text or number
    values: np.ndarray
    fmt: int
    quoted: int = 0
    bold: np.ndarray | None = None
    bold_fmt: int = 0
    bold_quoted: int = 0
    quote: np.ndarray | None = None  # per row: the text starts like a formula


class BulkSheet:
    """The cells of one worksheet: header rows cell by cell, then a block of rows column by column."""

    def __init__(self, ws, first_row: int, rows: int):
        self.ws, self.first, self.n = ws, first_row, rows
        self.head: list[tuple[int, int, str, object]] = []
        self.columns: list[_Column] = []
        ws._write_sheet_data = self._write  # XlsxWriter calls this while assembling the sheet's XML

    def header(self, row: int, col: int, text: str, fmt) -> None:
        self.head.append((row, col, self.ws.str_table._get_shared_string_index(_CONTROL.sub("", text)), _xf(fmt)))
        self._extent(row, col)

    def text(self, col: int, values, fmt, quoted, bold=None, bold_fmt=None, bold_quoted=None) -> None:
        series = pd.Series(values, dtype=object)
        codes, uniques = pd.factorize(series.where(series.notna(), ""))
        texts = [_CONTROL.sub("", str(u)) for u in uniques]
        table = self.ws.str_table
        index = np.array([table._get_shared_string_index(t) if t else -1 for t in texts] + [-1], dtype=np.int64)
        table.count += int((index[codes] >= 0).sum()) - int((index >= 0).sum())  # the table counts every reference
        quote = np.array([t.startswith(FORMULA_START) for t in texts] + [False], dtype=bool)
        self.columns.append(_Column(col, "text", index[codes], _xf(fmt), _xf(quoted), None if bold is None else np.asarray(bold, dtype=bool),
                                    _xf(bold_fmt), _xf(bold_quoted), quote[codes]))
        self._extent(self.first + self.n - 1, col)

    def number(self, col: int, values, fmt) -> None:
        self.columns.append(_Column(col, "number", pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64), _xf(fmt)))
        self._extent(self.first + self.n - 1, col)

    def _extent(self, row: int, col: int) -> None:
        # The sheet's <dimension>, filters and print area read XlsxWriter's extent: a placeholder cell sets it.
        if row >= 0 and self.n >= 0:
            self.ws.write_number(row, col, 0)

    def _cells(self, c: _Column, rows: np.ndarray) -> np.ndarray:
        ref = '<c r="' + column_letter(c.col) + rows
        if c.kind == "number":
            present = np.isfinite(c.values)
            text = np.full(self.n, "", dtype=object)
            text[present] = ref[present] + f'" s="{c.fmt}"><v>' + np.char.mod("%.15g", c.values[present]).astype(object) + "</v></c>"
            return text
        bold = c.bold if c.bold is not None else np.zeros(self.n, dtype=bool)
        xf = np.where(bold, np.where(c.quote, c.bold_quoted, c.bold_fmt), np.where(c.quote, c.quoted, c.fmt))
        present = c.values >= 0
        out = np.full(self.n, "", dtype=object)
        out[present] = (ref[present] + '" s="' + xf[present].astype(str).astype(object) + '" t="s"><v>'
                        + c.values[present].astype(str).astype(object) + "</v></c>")
        return out

    def _write(self) -> None:
        fh = self.ws.fh
        fh.write("<sheetData>")
        for row in sorted({r for r, *_ in self.head}):
            cells = sorted((c, t, f) for r, c, t, f in self.head if r == row)
            fh.write(f'<row r="{row + 1}">' + "".join(
                f'<c r="{column_letter(c)}{row + 1}" s="{f}" t="s"><v>{i}</v></c>' for c, i, f in cells) + "</row>")
        if self.n and self.columns:
            rows = (np.arange(self.first, self.first + self.n) + 1).astype(str).astype(object)
            ordered = sorted(self.columns, key=lambda c: c.col)
            grid = np.empty((self.n, len(ordered) + 2), dtype=object)
            grid[:, 0] = '<row r="' + rows + '">'
            for k, c in enumerate(ordered):
                grid[:, k + 1] = self._cells(c, rows)
            grid[:, -1] = "</row>"
            fh.write("".join(grid.ravel().tolist()))
        fh.write("</sheetData>")


def _xf(fmt) -> int:
    """The cell-format index of a Format (0, Excel's General, for none); assigned now, as XlsxWriter does
    for a format a cell is written with."""
    return 0 if fmt is None else int(fmt._get_xf_index())
