"""From a table (a CSV chunk or an Excel sheet) to a raw frame, by the layout of its sheet.

Shared by the CSV and Excel readers, so a wide CSV and a wide workbook read the same way.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from collectors.layout import SheetLayout
from collectors.validate import RAW_COLUMNS, by_unique_array, by_unique_categorical
from targetwatch import periods
from targetwatch.deployment import normalise_name
from targetwatch.errors import Location, PeriodError, SourceError


def _clean(text) -> str:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    return normalise_name(text)


def constant(value, n: int) -> pd.Categorical:
    """A column holding one value (None: nothing) n times, as a categorical: cheap at millions of rows."""
    if value is None:
        return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), categories=pd.Index([], dtype=object), validate=False)
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([value], dtype=object), validate=False)


def header_names(rows: list[list]) -> list[str]:
    """Join multi-row headers into one name per column, 'group/sub'.

    A merged cell holds its text in its first cell only, so upper header rows are filled to the right
    until the next text; a vertically merged cell (单位 over two rows) leaves the lower cell empty.
    """
    width = max((len(r) for r in rows), default=0)
    filled: list[list[str]] = []
    for depth, row in enumerate(rows):
        cells = [_clean(c) for c in row] + [""] * (width - len(row))
        if depth < len(rows) - 1:
            last = ""
            for i, cell in enumerate(cells):
                # Fill right only under the same parent group, so a group never spills past its parent.
                parent_break = depth > 0 and filled[depth - 1][i] != (filled[depth - 1][i - 1] if i else None)
                if cell:
                    last = cell
                elif last and not parent_break:
                    cells[i] = last
                else:
                    last = ""
        filled.append(cells)
    names = []
    for i in range(width):
        parts: list[str] = []
        for row in filled:
            if row[i] and (not parts or parts[-1] != row[i]):
                parts.append(row[i])
        names.append("/".join(parts))
    return names


def column_letter(index: int) -> str:
    """0 → A, 26 → AA: how a spreadsheet user finds a column."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _find(headers: list[str], wanted: str) -> int | None:
    target = _clean(wanted)
    for i, h in enumerate(headers):
        if h == target:
            return i
    return None


def to_raw(
    data: pd.DataFrame,
    headers: list[str],
    rows: np.ndarray,
    layout: SheetLayout,
    *,
    file: str,
    sheet: str,
    sheet_period: str | None = None,
    cell_period: str | None = None,
) -> tuple[pd.DataFrame, int]:
    """A raw frame (``RAW_COLUMNS``) from a table whose columns are positions 0..n-1.

    ``rows`` are the 1-based source row numbers of ``data``. Returns the raw frame and the number of
    rows skipped on purpose (totals, notes, rows outside ``where``).
    """
    sheet_label = sheet or None

    def need(name: str, role: str) -> int:
        idx = _find(headers, name)
        if idx is None:
            raise SourceError(
                f"no {role} column {name!r}; the header has: {', '.join(h for h in headers if h) or '(nothing)'}",
                Location(file=file, sheet=sheet_label, row=int(rows[0]) - 1 if len(rows) else None),
            )
        return idx

    unit_idx = need(layout.unit_column, "unit")
    keep = np.ones(len(data), dtype=bool)
    for col, value in layout.where.items():
        keep &= by_unique_array(data[need(col, "filter")], _clean, object, None) == _clean(value)
    # Names as categoricals: each distinct name is cleaned and judged once, whatever the number of rows.
    unit_text = by_unique_categorical(data[unit_idx], _clean)
    not_units = {_clean(u) for u in layout.skip_units} | {""}
    keep &= ~by_unique_array(unit_text, lambda u: u in not_units, bool, True)
    skipped = int((~keep).sum())
    if skipped:
        data, rows, unit_text = data[keep], rows[keep], unit_text[keep]

    period_col_name = None
    if layout.period.source == "column":
        pidx = need(layout.period.column or "period", "period")
        period_values = by_unique_categorical(data[pidx], _clean)
        period_col_name = headers[pidx]
    else:
        fixed = {"fixed": layout.period.value, "sheet": sheet_period, "cell": cell_period}.get(layout.period.source)
        period_values = pd.Series(constant(fixed or "", len(data)), index=data.index)
        period_col_name = {"sheet": f"sheet name {sheet!r}", "cell": f"cell {layout.period.cell}"}.get(layout.period.source, "period")

    n = len(data)
    common = {"row": rows, "sheet": constant(sheet_label, n), "unit": unit_text.reset_index(drop=True),
              "unit_col": constant(headers[unit_idx], n)}
    if layout.shape == "long":
        ind_idx = need("indicator", "indicator")
        val_idx = need("value", "value")
        opt = {name: _find(headers, name) for name in ("basis", "measure")}
        raw = pd.DataFrame(
            {
                **common,
                # Series, not arrays: a Series keeps its dtype (categorical or object), where an object
                # array of strings would be converted to Arrow strings by pandas 3, row by row.
                "indicator": data[ind_idx].reset_index(drop=True),
                "period": period_values.reset_index(drop=True),
                "value": data[val_idx].to_numpy(),
                "basis": data[opt["basis"]].to_numpy() if opt["basis"] is not None else constant(None, n),
                "measure": data[opt["measure"]].to_numpy() if opt["measure"] is not None else constant(None, n),
                "indicator_col": constant("indicator", n),
                "period_col": constant(period_col_name, n),
                "value_col": constant("value", n),
            }
        )
        return raw[RAW_COLUMNS], skipped

    row_basis = pd.Categorical(data[need(layout.basis_column, "basis")].to_numpy(dtype=object)) if layout.basis_column else None
    matched: list[tuple[int, object]] = []
    for cmap in layout.columns:
        wanted = _clean(cmap.header) if cmap.header else None
        matches = [i for i, h in enumerate(headers) if (h == wanted if cmap.header else re.search(cmap.match, h))]
        if not matches:
            raise SourceError(
                f"no column {cmap.header or cmap.match!r}; the header has: {', '.join(h for h in headers if h)}",
                Location(file=file, sheet=sheet_label, row=int(rows[0]) - 1 if len(rows) else None),
            )
        matched += [(idx, cmap) for idx in matches]
    if not matched:
        return pd.DataFrame(columns=RAW_COLUMNS), skipped
    # One row per (value column, sheet row), column after column: built at once, never a frame per column, and every
    # text column as a categorical (codes repeated per column), so that validation judges each distinct text once.
    width = len(matched)

    def per_column(values: list) -> pd.Categorical:
        codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        return pd.Categorical.from_codes(np.repeat(codes, n), categories=pd.Index(uniques, dtype=object), validate=False)

    row_period = pd.Categorical(period_values)  # a categorical already: its codes and categories, not a copy of its texts
    labels = [f"{column_letter(idx)} {headers[idx]}" for idx, _ in matched]
    units = unit_text.reset_index(drop=True)
    raw = pd.DataFrame(
        {
            "row": np.tile(rows, width),
            "sheet": constant(sheet_label, n * width),
            "unit": pd.Categorical.from_codes(np.tile(units.cat.codes.to_numpy(), width), categories=units.cat.categories, validate=False),
            "unit_col": constant(headers[unit_idx], n * width),
            "indicator": per_column([cmap.indicator or layout.indicator for _, cmap in matched]),
            "period": _stacked([row_period if cmap.period is None else headers[idx].split("/")[-1] if cmap.period == "header"
                                else cmap.period for idx, cmap in matched], n),
            "value": _as_series(data.to_numpy()[:, [idx for idx, _ in matched]].T.ravel()),  # column after column
            # the column's own basis, else the row's basis column (累计, 当月, 1-6月…), else the indicator's
            "basis": _stacked([cmap.basis.value if cmap.basis else row_basis for _, cmap in matched], n),
            "measure": per_column([cmap.measure for _, cmap in matched]),
            "indicator_col": per_column(labels),
            "period_col": per_column([period_col_name if cmap.period is None else label for (_, cmap), label in zip(matched, labels)]),
            "value_col": per_column(labels),
        }
    )
    return raw[RAW_COLUMNS], skipped


def _stacked(parts: list, n: int) -> pd.Categorical:
    """One categorical of the ``parts`` one after the other, each ``n`` rows: a categorical of n rows, or one
    value (None: nothing) for all n rows of its part."""
    values = [p for p in parts if not isinstance(p, pd.Categorical) and p is not None]
    categories = pd.Index(list(dict.fromkeys(values + [c for p in parts if isinstance(p, pd.Categorical) for c in p.categories])), dtype=object)
    codes: dict[int, np.ndarray] = {}  # by part: most columns share one part (the sheet's period, no basis)
    for part in parts:
        if id(part) in codes:
            continue
        if isinstance(part, pd.Categorical):
            codes[id(part)] = np.append(categories.get_indexer(part.categories), -1)[part.codes]
        else:
            codes[id(part)] = np.full(n, -1 if part is None else categories.get_loc(part), dtype=np.int64)
    stacked = np.concatenate([codes[id(part)] for part in parts]) if parts else np.empty(0, np.int64)
    return pd.Categorical.from_codes(stacked, categories=categories, validate=False)


def _as_series(values: np.ndarray) -> pd.Series:
    return pd.Series(values, dtype=object) if values.dtype == object else pd.Series(values)


def period_from_label(text: str, file: str, sheet: str | None, what: str) -> str:
    """The period label a sheet name or title cell states (``2023年1-6月``), checked to be readable.

    The label is returned as written, so that validation still sees that 1-6月 is year-to-date."""
    found = re.search(r"\d{4}年[^，,。（(]*?(?:月|季度|半年|年)(?:累计)?|\d{4}-(?:\d{1,2}(?:/\d{1,2})?|Q[1-4]|H[12])|\d{4}", text)
    if not found:
        raise SourceError(f"{what} {text!r} states no period", Location(file=file, sheet=sheet))
    try:
        periods.parse_label(found.group(0))
        return found.group(0)
    except PeriodError as exc:
        raise SourceError(f"{what} {text!r}: {exc.message}", Location(file=file, sheet=sheet)) from exc
