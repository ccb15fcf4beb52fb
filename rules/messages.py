"""One Chinese sentence per verdict, built column-wise: actual value, target, gap, rank and group.

Example: ``大祥区2023年6月规模工业增加值增速为6.2%，目标为全市前7名（不得并列），在邵阳市县市区12个已报送单位中排第9位，差2位，落后。``

The sentences of a batch are joined as Arrow string columns (UTF-8, one pass over all the parts of a
sentence): the words that are the same for every unit of a rule are written once per rule, each figure
once per distinct value, and only what varies by unit is joined row by row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rules.kinds import due_share
from rules.vocabulary import STATUSES, TIERS, WORDS

# Sentences are made and dropped kind by kind: with the system allocator their buffers go back to the heap
# the verdict frame is made from next, where Arrow's default pool (mimalloc) keeps them (35 MB more peak at 16.8 M).
POOL = pa.system_memory_pool()

METRIC_ZH = {"value": "", "yoy": "同比增速", "pp_change": "同比变动", "change": "同比增量", "prev_change": "较上期变动"}


def _figures(values, decimals: int) -> tuple[np.ndarray, list[str]]:
    """Numbers as text with fixed decimals and trailing zeros trimmed (empty where missing), as each
    row's position among the distinct texts and those texts: each distinct value is formatted once."""
    arr = values if isinstance(values, np.ndarray) and values.dtype == np.float64 else \
        np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=np.float64)
    arr = arr.round(decimals) + 0.0
    inverse, uniq = pd.factorize(arr, use_na_sentinel=False)
    return inverse, [_trim(f"{v:.{decimals}f}") if v == v else "" for v in uniq.tolist()]


def fmt(values, decimals: int) -> np.ndarray:
    """Numbers as text with fixed decimals and trailing zeros trimmed; empty where missing."""
    inverse, text = _figures(values, decimals)
    return np.array(text or [""], dtype=str)[inverse] if len(inverse) else np.array([], dtype=str)


def cat(*parts) -> np.ndarray:
    """Element-wise concatenation of text columns and constants (numpy strings, no per-row Python)."""
    out = np.asarray(parts[0], dtype=str)
    for part in parts[1:]:
        out = np.strings.add(out, np.asarray(part, dtype=str))
    return out


def sentence_words(status) -> np.ndarray:
    """The word that ends a verdict sentence, per status id (``rules.vocabulary.WORDS``)."""
    codes, distinct = pd.factorize(np.asarray(status, dtype=object))
    words = {s: w.sentence for s, w in WORDS.items()}
    return np.array([words[s] for s in distinct] or [""], dtype=str)[codes] if len(codes) else np.zeros(0, dtype=str)


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_rows(values, decimals: np.ndarray) -> pa.Array:
    """:func:`fmt` with its own decimals per row (the rules of a batch may show different precisions), as
    an Arrow string column."""
    values = np.asarray(values, dtype=np.float64)
    decimals = np.asarray(decimals, dtype=np.intp)
    distinct = np.flatnonzero(np.bincount(decimals)) if len(decimals) else np.zeros(0, dtype=np.intp)
    if len(distinct) <= 1:
        inverse, text = _figures(values, int(distinct[0]) if len(distinct) else 0)
        return _take(text, inverse)
    codes, table = np.empty(len(values), dtype=np.intp), []
    for d in distinct.tolist():
        at = decimals == d
        inverse, text = _figures(values[at], d)
        codes[at] = inverse + len(table)
        table += text
    return _take(table, codes)


def _take(table: list[str], codes: np.ndarray) -> pa.Array:
    """A string column from a table of texts and each row's position in it."""
    return pc.take(pa.array(table or [""], pa.string(), memory_pool=POOL), codes, memory_pool=POOL)


def _where(condition: np.ndarray, yes, no) -> pa.Array:
    """``yes`` where the condition holds, else ``no`` (text columns or constants), as a string column."""
    return pc.if_else(np.asarray(condition, dtype=bool), yes, no, memory_pool=POOL).cast(pa.string(), memory_pool=POOL)


def _join(*parts) -> pa.Array:
    """Element-wise concatenation of string columns and constants, in one pass."""
    return pc.binary_join_element_wise(*parts, "", memory_pool=POOL)


class Each(list):
    """Text that is one string per judgement of a batch (a sentence part that does not vary by unit)."""


def compose(b, *parts) -> pa.Array:
    """A sentence per row of batch ``b`` from parts: a constant string, an :class:`Each` (one per
    judgement) or a text column. Neighbouring constant parts are joined per judgement first, so that the
    row-wise concatenation is only of parts that vary by unit."""
    pieces: list = []
    for part in parts:
        if isinstance(part, str):
            part = Each([part] * len(b.js))
        if isinstance(part, Each) and pieces and isinstance(pieces[-1], Each):
            pieces[-1] = Each(x + y for x, y in zip(pieces[-1], part))
        else:
            pieces.append(part)
    columns = [_each(p, b) for p in pieces if not (isinstance(p, Each) and not any(p))]
    if not any(isinstance(c, pa.Array) for c in columns):  # nothing varies by row: one judgement's words, taken
        return _take([_join(*columns).as_py() if columns else ""], np.zeros(len(b), dtype=np.intp))
    return _join(*columns)


def _each(part, b):
    """A part of a sentence as :func:`_join` takes it: a constant, or a string column of the batch's rows."""
    if isinstance(part, Each):
        distinct = set(part)
        return next(iter(distinct)) if len(distinct) == 1 else _take(list(part), b.jidx)
    return part


def target_phrase(b, cols: dict, unit_zh: Each, decimals: np.ndarray) -> list:
    """How the target reads in Chinese for each judged unit of a batch (one kind), as parts for :func:`compose`."""
    js = b.js
    kind = js[0].target.kind
    if kind in ("threshold", "share", "decline", "pacing", "consistency"):
        target = fmt_rows(cols["target"], decimals)
    if kind == "threshold" or kind == "share":
        return [Each({">=": "不低于", ">": "高于", "<=": "不高于", "<": "低于"}[j.target.op] for j in js), target, unit_zh]
    if kind == "decline":
        return ["同比下降", target, "%以上"]
    if kind == "pacing":
        due = Each(f"{due_share(j.target, j.period.last_month):.0f}" for j in js)
        return ["序时进度", due, "%，即累计", target, unit_zh, "（全年", fmt_rows(cols["annual"], decimals), unit_zh, "）"]
    if kind == "compare":
        def label(j) -> str:
            t = j.target
            if t.reference != "group_figure":
                return f"{j.dep.groups[j.spec.group].name if j.spec.group else ''}平均水平"
            ref = j.dep.units.get(j.reference_unit() or "")
            # 高于全省平均水平 compares with the province's own figure, 全市 with the city's
            return ("全省" if ref is not None and ref.kind == "province" else "全市") + "平均水平"
        lead = Each(("高于" if j.target.op == ">" else "不低于") + label(j) + (f"{j.target.margin:g}个百分点" if j.target.margin else "") + "（"
                    for j in js)
        return [lead, fmt_rows(cols["reference"], decimals), unit_zh, "）"]
    if kind == "rank":
        phrase = Each()
        for j in js:
            t = j.target
            group = j.dep.groups[j.spec.group].name if j.spec.group else ""
            ties = "（不得并列）" if t.ties == "fail" else ""
            if t.top is not None:
                phrase.append(f"{group}前{t.top}名{ties}")
            elif t.not_bottom is not None:
                phrase.append(f"不落于{group}后{t.not_bottom}位{ties}")
            else:
                before = "上年同期" if t.improve_on == "last_year" else ("上年" if j.judged_period.frequency == "yearly" else "上期")
                phrase.append(f"排名较{before}进位（{before}第")
        if "prev_rank" not in cols:
            return [phrase]
        prev = np.asarray(cols["prev_rank"], dtype=np.float64)
        improve = b.per([j.target.top is None and j.target.not_bottom is None for j in js], dtype=bool)
        places = _join(fmt_rows(prev, np.zeros(len(prev), dtype=np.intp)), _where(prev == 1, "位，保持第1位即可）", "位）"))
        return [phrase, _where(improve, places, "")]
    if kind == "consistency":
        lead, tail = Each(), Each()
        for j, unit in zip(js, unit_zh):
            t = j.target
            tol = (f"±{t.tolerance:g}{unit}" if t.tolerance else "") + ("，" if t.tolerance and t.tolerance_pct else "") \
                + (f"±{t.tolerance_pct:g}%" if t.tolerance_pct else "")
            lead.append("不低于已报送下级单位合计（合计" if t.partial else "与下级单位合计一致（合计")
            tail.append("）" if t.partial else f"，允许误差{tol or '0'}）")
        return [lead, target, unit_zh, tail]
    return [Each(_fixed_phrase(j.target, unit) for j, unit in zip(js, unit_zh))]


def _fixed_phrase(t, unit_zh: str) -> str:
    """The target phrase of a kind whose words do not depend on the unit's figures."""
    kind = t.kind
    if kind == "range":
        return f"{t.min:g}—{t.max:g}{unit_zh}"
    if kind == "approximate":
        tol = f"±{t.tolerance:g}{unit_zh}" if t.tolerance is not None else f"±{t.tolerance_pct:g}%"
        return f"{t.value:g}{unit_zh}左右（{tol}）"
    if kind == "break_zero":
        return "破零（至少1" + unit_zh + "）"
    if kind == "clear_zero":
        return "动态清零" if t.mode == "dynamic" else f"{t.by or ''}前清零"
    if kind == "never":
        return "全年不发生"
    return f"{t.by}前达到{t.value:g}{unit_zh}"


def _measure(j) -> str:
    """The measure a judgement's figures are quoted in."""
    kind = j.target.kind
    if j.metric == "pp_change":
        return "个百分点"
    return "%" if j.metric == "yoy" or kind in ("decline", "share") else j.ind.measure


_LATE, _BEHIND, _ON_TRACK = STATUSES.index("late"), STATUSES.index("behind"), STATUSES.index("on_track")


def sentences(b, cols: dict, status: np.ndarray, deadline: list[str]) -> np.ndarray:
    """The message column of a batch (one kind), one str object per row: who, when, what value, what
    target, the gap, the rank, the status (``status``: codes into ``rules.vocabulary.STATUSES``). Each part
    is built on whole columns; a row gets only the sentence it shows."""
    js = b.js
    kind = js[0].target.kind
    n = len(b)
    if kind == "rank" and "_judgement_ranked" not in cols:  # whether any unit of each judgement has a rank
        ranked = np.zeros(len(js), dtype=bool)
        ranked[b.jidx[~np.isnan(np.asarray(cols["rank"], dtype=np.float64))]] = True
        cols = {**cols, "_judgement_ranked": ranked[b.jidx]}
    if n > _BLOCK:  # worded block by block: the text of a whole kind at once would be hundreds of MB at scale
        out = np.empty(n, dtype=object)
        for start in range(0, n, _BLOCK):
            at = np.zeros(n, dtype=bool)
            at[start:start + _BLOCK] = True
            out[at] = sentences(b.subset(at), _rows(cols, at), status[at], deadline)
        return out
    names = pc.take(js[0].obs.unit_names_text, b.uid, memory_pool=POOL)
    about = Each(j.judged_period.label_zh() + j.ind.name for j in js)
    label = Each(("同比降幅" if kind == "decline" else METRIC_ZH.get(j.metric, "")) for j in js)
    gap = np.asarray(cols["gap"], dtype=np.float64)
    unreported = ~np.asarray(cols["_reported"], dtype=bool)
    undecided = ~unreported & (np.isnan(np.asarray(cols["value"], dtype=np.float64)) | np.isnan(gap))
    judged = ~unreported & ~undecided
    out = np.empty(n, dtype=object)
    if unreported.any():
        at = unreported
        words = _take([WORDS["no_data"].sentence, WORDS["late"].sentence], (status[at] == _LATE).astype(np.intp))
        out[at] = _objects(compose(b.subset(at), pc.filter(names, at, memory_pool=POOL), about, "数据", words, Each(f"（截止{x}）。" for x in deadline)))
    if undecided.any():
        at = undecided
        out[at] = _objects(compose(b.subset(at), pc.filter(names, at, memory_pool=POOL), about, label, "无法计算（缺少对比数据）。"))
    if judged.any():
        at = judged
        out[at] = _objects(_bodies(b.subset(at), _rows(cols, at), status[at], pc.filter(names, at, memory_pool=POOL), about, label))
    return out


def _objects(text: pa.Array) -> np.ndarray:
    return text.to_numpy(zero_copy_only=False)


# Rows worded at once: a block's text columns stay in the tens of MB.
_BLOCK = 1 << 18


def _rows(cols: dict, at: np.ndarray) -> dict:
    """The per-row columns of a batch at some rows (columns of another length are kept whole)."""
    return {k: (v[at] if isinstance(v, np.ndarray) and v.ndim == 1 and len(v) == len(at) else v) for k, v in cols.items()}


def _bodies(b, cols, status, names, about: Each, label: Each) -> pa.Array:
    """The sentences of the rows judged: value, target, gap, rank, the status word."""
    js = b.js
    kind = js[0].target.kind
    d = b.per([j.decimals for j in js], dtype=np.intp)
    unit = Each(_measure(j) for j in js)
    gap = np.asarray(cols["gap"], dtype=np.float64)
    gap_d = d if kind != "rank" else np.zeros_like(d)
    gap_abs = fmt_rows(np.abs(gap), gap_d)
    # A gap that rounds to nothing at the shown precision is still a gap: 差不足0.1个百分点, never 差0.
    tiny = pc.equal(gap_abs, "0", memory_pool=POOL).to_numpy(zero_copy_only=False) & (gap != 0)
    if tiny.any():
        gap_abs = _where(tiny, _join("不足", fmt_rows(10.0 ** -gap_d.astype(np.float64), gap_d)), gap_abs)
    gap_unit = Each("位" if kind == "rank" else ("个百分点" if u == "%" else u) for u in unit)
    gap_text = _where(gap == 0, "", _join(_where(gap < 0, "，差", "，超出"), gap_abs, _each(gap_unit, b)))
    if kind == "consistency":  # the difference between the unit's figure and its children's sum, either way
        diff = np.asarray(cols["difference"], dtype=np.float64)
        gap_text = _where(diff != 0, _join("，相差", fmt_rows(np.abs(diff), d), _each(unit, b)), "")
        partial = b.per([j.target.partial for j in js], dtype=bool)
        gap_text = _where(partial & ~(diff < 0), "", gap_text)
    extra: list = []
    if kind == "rank":
        rank = np.asarray(cols["rank"], dtype=np.float64)
        group = Each(j.dep.groups[j.spec.group].name for j in js)
        zero = np.zeros(len(b), dtype=np.intp)
        place = _where(~np.isnan(rank), compose(b, "，在", group, fmt_rows(cols["reported"], zero), "个已报送单位中排第", fmt_rows(rank, zero), "位"), "")
        completeness = Each()
        for j, size, reported in zip(js, _first(b, cols["group_size"]), _first(b, cols["reported"])):
            if reported < size:  # how complete the group is, and what the silent units count as
                closed = j.as_of_day > j.due
                policy = "，未报送单位按末位计" if getattr(j.target, "unreported", "last") == "last" else "，未报送单位不参与排名"
                completeness.append(f"（已报送{int(reported)}/{int(size)}" + (policy if closed else "，报送截止前为暂排") + "）")
            else:
                completeness.append("")
        tail = compose(b, _where(np.asarray(cols["tied"], dtype=bool), "（并列）", ""), completeness)
        # Only where some unit of the judgement has a rank (a judgement without ranks says nothing of its group).
        extra = [_where(cols["_judgement_ranked"], _join(place, tail), "")]
    elif kind == "compare":
        extra = [Each(f"（{j.dep.groups[j.spec.group].name}{int(r) if r == r else 0}个单位已报送）" for j, r in zip(js, _first(b, cols["reported"])))]
    if kind == "pacing":
        rate = np.asarray(cols["required_run_rate"], dtype=np.float64)
        count = b.per([j.ind.kind.value == "count" for j in js], dtype=bool)
        rate = np.where(count, np.ceil(rate - 1e-9), rate)  # whole people, firms and projects: round the monthly need up
        extra.append(_where(rate > 0, compose(b, "，全年余下每月需完成", fmt_rows(rate, d), unit), ""))
    if "partial" in cols:  # a never-event judged on the months reported so far
        extra.append(_where(np.asarray(cols["partial"], dtype=bool), "（部分月份未报送，按已报送数计）", ""))
    windows = [j.spec.window for j in js]
    extra.append(Each(f"（{w.last.year}年{w.first_month}-{w.last.last_month}月合计）"
                      if w is not None and w.first_month != w.last.last_month else "" for w in windows))
    return compose(b, names, about, label, "为", fmt_rows(cols["value"], d), unit, "，目标", *target_phrase(b, cols, unit, d),
                   gap_text, *extra, _ending(b, cols, status, gap))


# The endings of a sentence: "，" + each status's word + "。", then each tier's own word for a miss, then 尚未到期.
_TIER_NAMES = [name for name in TIERS if name != "floor"]
_ENDINGS = [f"，{WORDS[s].sentence}。" for s in STATUSES] + [f"，{TIERS[name].missed}。" for name in _TIER_NAMES] + ["，尚未到期。"]


def _ending(b, cols, status: np.ndarray, gap: np.ndarray) -> pa.Array:
    """"，" + the status word + "。" per row: a missed 力争-only target or a data check has its own words
    (``rules.vocabulary.TIERS``), a milestone not reached yet but not due yet either reads 尚未到期."""
    ending = np.asarray(status, dtype=np.intp).copy()
    tier = b.per([j.tier for j in b.js], dtype=object)
    for name in {j.tier for j in b.js} - {"floor"}:
        ending[(status == _BEHIND) & (tier == name)] = len(STATUSES) + _TIER_NAMES.index(name)
    if "not_due" in cols:
        ending[np.asarray(cols["not_due"], dtype=bool) & (gap < 0) & (status == _ON_TRACK)] = len(_ENDINGS) - 1
    return _take(_ENDINGS, ending)


def _first(b, column) -> np.ndarray:
    """The value of a per-judgement column at each judgement's first row (NaN for a judgement without rows)."""
    column = np.asarray(column, dtype=np.float64)
    starts = b.starts[:-1]
    has = starts < b.starts[1:]
    out = np.full(len(b.js), np.nan)
    out[has] = column[starts[has]]
    return out
