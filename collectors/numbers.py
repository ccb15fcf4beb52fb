"""Reading the value column as numbers, strictly: what a statistics officer would accept as a figure.

A figure is digits with an optional sign and decimals, and thousands separators (``,`` or ``，``) only in
their proper places (``1,234.5``). ``"1,5"`` (a decimal comma, or a typo) and ``"12 34"`` (a space inside
a number) are not figures, and neither is a TRUE/FALSE cell, however a spreadsheet stores it: each is
rejected with its reason rather than read as 15, 1234 or 1/0.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_FIGURE = re.compile(r"^[+-]?(?:\d{1,3}(?:[,，]\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?$|^[+-]?\.\d+$")
_BOOLEAN_WORDS = {"true", "false"}
# Cells that mean *not reported*: skipped, never read as zero.
NOT_REPORTED = {"", "/", "／", "-", "－", "—", "--", "——", "…", "nan", "NaN", "null", "NULL", "N/A", "n/a", "无"}


def figure_reason(text: str) -> str | None:
    """Why a (trimmed, non-blank) cell text is not a figure; None when it is one."""
    if text.lower() in _BOOLEAN_WORDS:
        return f"not a number: {text!r} is a TRUE/FALSE value"
    if _FIGURE.match(text):
        return None
    if re.fullmatch(r"[+-]?[\d,，]+(?:\.\d+)?", text):
        return f"not a number: {text!r} has a thousands separator out of place (write 1,234.5 or 1234.5)"
    if re.fullmatch(r"[+-]?[\d.,，]+(?:\s+[\d.,，]+)+", text):
        return f"not a number: {text!r} has a space inside the number"
    return f"not a number: {text!r}"


# What pandas infers for a column of number cells (blank cells among them): read as the numbers they are.
_NUMBER_CELLS = {"floating", "integer", "mixed-integer-float", "empty"}
# The figures Arrow's cast reads exactly as Python's float() does: digits, decimals, a short exponent. Every
# other text (a sign, separators, spaces, words) is judged one distinct text at a time by figure_reason.
PLAIN_FIGURE = r"^-?\d+(\.\d+)?([eE][+-]?\d{1,2})?$"


def read_values(cells: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, reasons, not reported) per cell: a float per figure (NaN otherwise), why a cell that is
    reported is not a figure (None for figures), and which cells are not reported (blank, "/", "-"…).

    A numeric column is read as it is; any other column is judged per distinct cell, the plain figures
    among the texts at once (Arrow), the rest one by one."""
    n = len(cells)
    if pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
        values = cells.to_numpy(dtype="float64", na_value=np.nan)
        return values, np.full(n, None, dtype=object), np.isnan(values)
    if cells.dtype == object and pd.api.types.infer_dtype(cells, skipna=True) in _NUMBER_CELLS:
        # Number cells (a spreadsheet's), blanks among them: read as they are. Written out, an infinity is no figure.
        try:
            values = cells.to_numpy(dtype=object).astype(np.float64)  # None is NaN; one conversion in C
        except (TypeError, ValueError):  # another kind of missing value (pd.NA)
            values = cells.to_numpy(dtype="float64", na_value=np.nan)
        reasons = np.full(n, None, dtype=object)
        reasons[values == np.inf], reasons[values == -np.inf] = "not a number: 'inf'", "not a number: '-inf'"
        return np.where(np.isinf(values), np.nan, values), reasons, np.isnan(values)
    codes, uniques = pd.factorize(cells, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    values = np.full(len(uniques) + 1, np.nan)
    reasons = np.full(len(uniques) + 1, None, dtype=object)
    missing = np.zeros(len(uniques) + 1, dtype=bool)
    missing[-1] = True  # the slot of missing cells (code -1)
    todo = np.ones(len(uniques), dtype=bool)
    texts = np.fromiter((type(u) is str for u in uniques), dtype=bool, count=len(uniques))
    if texts.any():
        where = np.flatnonzero(texts)
        plain = pc.match_substring_regex(pa.array(uniques[where], type=pa.string()), PLAIN_FIGURE).to_numpy(zero_copy_only=False)
        chosen = where[plain]
        values[chosen] = pc.cast(pa.array(uniques[chosen], type=pa.string()), pa.float64()).to_numpy()
        todo[chosen] = False
    for j in np.flatnonzero(todo):
        values[j], reasons[j], missing[j] = _one_cell(uniques[j])
    return values[codes], reasons[codes], missing[codes]


def _one_cell(cell) -> tuple[float, str | None, bool]:
    """(value, reason, not reported) of one distinct cell that is not a plain figure."""
    if isinstance(cell, (bool, np.bool_)):  # a TRUE/FALSE cell, however a spreadsheet stores it
        return np.nan, "not a number: a TRUE/FALSE value", False
    if "".join(str(cell).split()) in NOT_REPORTED:
        return np.nan, None, True
    text = str(cell).strip().replace("\u3000", "")
    reason = figure_reason(text)
    if reason is not None:
        return np.nan, reason, False
    return float(text.replace(",", "").replace("，", "")), None, False


_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[list(b"0123456789")] = True


def plain_figures(column: pa.Array) -> np.ndarray | None:
    """The floats of a text column when every cell is a plain figure (``PLAIN_FIGURE``) or blank, else None.

    A column of digits, minus signs and points only is judged on its bytes: Arrow's cast then rejects what is
    not a number at all ("1-2", "1.2.3", "-"), and what it would read that is no plain figure is a point at
    the end or at the start ("1.", ".5", "-.5"). Any other column (exponents, signs, words) is judged by the
    regular expression."""
    if len(column) == 0:
        return np.empty(0, dtype=np.float64)
    if column.type != pa.string():
        return None
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[column.offset:column.offset + len(column) + 1]
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8) if column.buffers()[2] is not None else np.empty(0, np.uint8)
    text = data[offsets[0]:offsets[-1]]
    # Every byte within "-" (0x2D) … "9" (0x39) and none of them "/" (0x2F): digits, minus signs and points only.
    if not len(text) or (text.min() >= 0x2D and text.max() <= 0x39 and not (text == 0x2F).any()):
        starts, ends = offsets[:-1], offsets[1:]
        filled = ends > starts  # a null cell (blank) has no bytes
        starts, ends = starts[filled], ends[filled]
        first = data[starts]
        second = data[np.minimum(starts + 1, ends - 1)]
        if (data[ends - 1] != 0x2E).all() and (_DIGIT[first] | ((first == 0x2D) & _DIGIT[second])).all():
            try:
                return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
            except pa.ArrowInvalid:
                return None
        return None
    plain = pc.match_substring_regex(column, PLAIN_FIGURE)
    if pc.all(pc.or_kleene(plain, pc.is_null(column))).as_py():
        return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    return None
