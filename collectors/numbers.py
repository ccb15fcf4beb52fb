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

_FIGURE = re.compile(r"^[+-]?(?:\d{1,3}(?:[,，]\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?$|^[+-]?\.\d+$")
_BOOLEAN_WORDS = {"true", "false"}


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


def parse_figures(texts: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(values, reasons) of trimmed cell texts: a float per figure, a reason per text that is not one.

    Each distinct text is checked once (a column repeats few distinct spellings of its errors)."""
    codes, uniques = pd.factorize(texts, use_na_sentinel=True)
    values = np.full(len(uniques) + 1, np.nan)
    reasons = np.full(len(uniques) + 1, None, dtype=object)
    for j, text in enumerate(uniques):
        reason = figure_reason(str(text))
        if reason is None:
            values[j] = float(str(text).replace(",", "").replace("，", ""))
        reasons[j] = reason
    return pd.Series(values[codes], index=texts.index), pd.Series(reasons[codes], index=texts.index, dtype=object)


def booleans(series: pd.Series) -> np.ndarray:
    """Where a cell holds a boolean (a TRUE/FALSE column that pandas or the Excel reader typed as such)."""
    if pd.api.types.is_bool_dtype(series):
        return series.notna().to_numpy(dtype=bool)
    if series.dtype == object:
        return np.fromiter((isinstance(v, (bool, np.bool_)) for v in series.to_numpy()), dtype=bool, count=len(series))
    return np.zeros(len(series), dtype=bool)
