"""How a bulletin looks in every format: the traffic-light fills, number formats, and the CJK font stack.

Status words and their colour names come from ``rules.vocabulary``; this module only turns a colour
name into the fill and ink of a cell, so Excel, the web page and the PDF show the same light.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules.vocabulary import STATUSES, WORDS, label

# Colour name (rules.vocabulary) → (fill, ink): light fills that print legibly in black and white.
COLOUR_FILL = {
    "red": ("#F4C7C3", "#9C0006"),
    "orange": ("#FCE4CC", "#8A4B00"),
    "yellow": ("#FFF2B3", "#7A5C00"),
    "blue": ("#D6E4F5", "#1F4E79"),
    "green": ("#C6EFCE", "#006100"),
}
TARGET_LINE = "#C00000"
REFERENCE_LINE = "#1F4E79"
BAR = "#8EA9C1"
SERIES = ("#1F4E79", "#2E7D32", "#6A1B9A", "#EF6C00", "#00838F", "#AD1457", "#5D4037", "#455A64")  # pacing lines

# Chinese text needs a font that has it: Noto Sans CJK (Debian fonts-noto-cjk) first, then the usual
# names on other systems. Every format names the same stack.
FONT_STACK = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'
EXCEL_FONT = "Noto Sans CJK SC"


def colour_fill(colour: str) -> tuple[str, str]:
    """(fill, ink) of a vocabulary colour name; a colour this table does not know gets a grey fill."""
    return COLOUR_FILL.get(colour, ("#EDEDED", "#000000"))


def status_fill(status: str) -> tuple[str, str]:
    words = WORDS.get(status)
    return colour_fill(words.colour) if words else ("#FFFFFF", "#000000")


def status_labels(status: pd.Series) -> pd.Series:
    """The short Chinese word of each status (落后, 达标 …), '—' where there is none."""
    return status.astype(object).map({s: label(s) for s in STATUSES}).fillna("—")


def legend() -> list[tuple[str, str, str]]:
    """(status, word, colour name) in severity order."""
    return [(s, WORDS[s].label, WORDS[s].colour) for s in STATUSES]


def _formatted(values, decimals: int, fmt: str) -> pd.Series:
    index = values.index if isinstance(values, pd.Series) else None
    v = pd.to_numeric(pd.Series(values, index=index), errors="coerce").astype("float64").round(decimals)
    codes, uniques = pd.factorize(v)  # each distinct figure formatted once; NaN is code -1
    text = np.array([fmt.format(x) for x in uniques] + ["—"], dtype=object)
    return pd.Series(text[codes], index=v.index)


def numbers(values, decimals: int = 2) -> pd.Series:
    """Figures as people write them (7.5, 12, -3.6), '—' where missing."""
    return _formatted(values, decimals, "{:g}")


def points(values) -> pd.Series:
    """A difference of shares in percentage points, signed (+5.0个百分点, −2.5个百分点)."""
    return _formatted(values, 1, "{:+.1f}个百分点")


def count_line(counts: dict[str, int]) -> str:
    """落后 2 项，逾期未报 3 项 …: the verdict counts in severity order, in the vocabulary's words."""
    return "，".join(f"{label(s)} {n} 项" for s, n in counts.items())


def percents(values) -> pd.Series:
    """Shares as 完成年度任务的X%: one decimal and a % sign, '—' where unknown."""
    return _formatted(values, 1, "{:.1f}%")


def rank_moves(change: pd.Series) -> pd.Series:
    """进位/退位 as the bulletins print them: ▲2, ▼1, — (unchanged or unknown)."""
    c = pd.to_numeric(change, errors="coerce").to_numpy(dtype=np.float64)
    out = np.full(len(c), "—", dtype=object)
    up, down = c > 0, c < 0
    out[up] = "▲" + c[up].astype(np.int64).astype(str).astype(object)
    out[down] = "▼" + (-c[down]).astype(np.int64).astype(str).astype(object)
    return pd.Series(out, index=change.index)


# A rank target no place meets: 不落于后三位 among three or fewer ranked units (the engine's target is then 0 or less).
NO_PLACE = "参评单位不足，无名次可达"


def targets(target: pd.Series, kind: pd.Series) -> pd.Series:
    """The target as written: a figure, or 前N名 for a rank target (a place, not a value); a rank target below 1st
    place (too few units ranked for 不落于后N位) says so instead of 前0名 or 前-1名."""
    text = numbers(target)
    is_rank = kind.astype(object).eq("rank").to_numpy() & target.notna().to_numpy()
    unreachable = is_rank & (pd.to_numeric(target, errors="coerce").to_numpy(dtype=np.float64) < 1)
    text = text.where(~is_rank, "前" + text + "名")
    return text.where(~unreachable, NO_PLACE)


def value_line(target: float, kind: str) -> float:
    """The target as a line on the value axis: none for a rank target (it is a place)."""
    return float("nan") if kind == "rank" else target
