"""One Chinese sentence per verdict, built column-wise: actual value, target, gap, rank and group.

Example: ``大祥区2023年6月规模工业增加值增速为6.2%，目标为全市前7名（不得并列），在邵阳市县市区12个已报送单位中排第9位，差2位，落后。``
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules.kinds import due_share
from rules.vocabulary import TIERS, WORDS

METRIC_ZH = {"value": "", "yoy": "同比增速", "pp_change": "同比变动", "change": "同比增量", "prev_change": "较上期变动"}


def fmt(values, decimals: int) -> np.ndarray:
    """Numbers as text with fixed decimals and trailing zeros trimmed; empty where missing."""
    arr = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=np.float64).round(decimals) + 0.0
    # Figures repeat a lot (growth rates to one decimal, ranks): format each distinct value once.
    uniq, inverse = np.unique(arr, return_inverse=True)
    text = np.array([_trim(f"{v:.{decimals}f}") if v == v else "" for v in uniq.tolist()] or [""], dtype=str)
    return text[inverse] if len(arr) else np.array([], dtype=str)


def cat(*parts) -> np.ndarray:
    """Element-wise concatenation of text columns and constants (numpy strings, no per-row Python)."""
    out = np.asarray(parts[0], dtype=str)
    for part in parts[1:]:
        out = np.strings.add(out, np.asarray(part, dtype=str))
    return out


def sentence_words(status) -> np.ndarray:
    """The word that ends a verdict sentence, per status id (``rules.vocabulary.WORDS``)."""
    words = {s: w.sentence for s, w in WORDS.items()}
    return np.array([words[s] for s in np.asarray(status, dtype=object).tolist()], dtype=str)


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_rows(values, decimals: np.ndarray) -> np.ndarray:
    """:func:`fmt` with its own decimals per row (the rules of a batch may show different precisions)."""
    values = np.asarray(values, dtype=np.float64)
    distinct = np.unique(decimals)
    if len(distinct) <= 1:
        return fmt(values, int(distinct[0]) if len(distinct) else 0)
    out = np.empty(len(values), dtype=object)
    for d in distinct.tolist():
        at = decimals == d
        out[at] = fmt(values[at], d)
    return out.astype(str)


def _per(b, values) -> np.ndarray:
    """Text, one per judgement of the batch, broadcast to its rows."""
    return np.asarray(values, dtype=str)[b.jidx] if len(b.js) else np.zeros(0, dtype=str)


def target_phrase(b, cols: dict, unit_zh: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    """How the target reads in Chinese for each judged unit of a batch (one kind)."""
    js = b.js
    kind = js[0].target.kind
    target = fmt_rows(cols["target"], decimals)
    group = [j.dep.groups[j.spec.group].name if j.spec.group else "" for j in js]
    if kind == "threshold" or kind == "share":
        word = _per(b, [{">=": "不低于", ">": "高于", "<=": "不高于", "<": "低于"}[j.target.op] for j in js])
        return cat(word, target, unit_zh)
    if kind == "decline":
        return cat("同比下降", target, "%以上")
    if kind == "pacing":
        due = _per(b, [f"{due_share(j.target, j.period.last_month):.0f}" for j in js])
        return cat("序时进度", due, "%，即累计", target, unit_zh, "（全年", fmt_rows(cols["annual"], decimals), unit_zh, "）")
    if kind == "compare":
        def label(j) -> str:
            t = j.target
            if t.reference != "group_figure":
                return f"{j.dep.groups[j.spec.group].name if j.spec.group else ''}平均水平"
            ref = j.dep.units.get(j.reference_unit() or "")
            # 高于全省平均水平 compares with the province's own figure, 全市 with the city's
            return ("全省" if ref is not None and ref.kind == "province" else "全市") + "平均水平"
        lead = [("高于" if j.target.op == ">" else "不低于") + label(j) + (f"{j.target.margin:g}个百分点" if j.target.margin else "") + "（" for j in js]
        return cat(_per(b, lead), fmt_rows(cols["reference"], decimals), unit_zh, "）")
    if kind == "rank":
        phrase = []
        for j, g in zip(js, group):
            t = j.target
            ties = "（不得并列）" if t.ties == "fail" else ""
            if t.top is not None:
                phrase.append(f"{g}前{t.top}名{ties}")
            elif t.not_bottom is not None:
                phrase.append(f"不落于{g}后{t.not_bottom}位{ties}")
            else:
                before = "上年同期" if t.improve_on == "last_year" else ("上年" if j.judged_period.frequency == "yearly" else "上期")
                phrase.append(f"排名较{before}进位（{before}第")
        out = _per(b, phrase)
        improve = b.per([j.target.top is None and j.target.not_bottom is None for j in js], dtype=bool)
        if improve.any():
            prev = cols["prev_rank"][improve]
            out = out.astype(object)
            out[improve] = cat(out[improve], fmt(prev, 0), np.where(prev == 1, "位，保持第1位即可）", "位）"))
            out = out.astype(str)
        return out
    if kind == "consistency":
        parts = []
        for j in js:
            t = j.target
            unit = _measure(j)
            tol = (f"±{t.tolerance:g}{unit}" if t.tolerance else "") + ("，" if t.tolerance and t.tolerance_pct else "") \
                + (f"±{t.tolerance_pct:g}%" if t.tolerance_pct else "")
            parts.append(("不低于已报送下级单位合计（合计", "）") if t.partial else ("与下级单位合计一致（合计", f"，允许误差{tol or '0'}）"))
        return cat(_per(b, [p[0] for p in parts]), target, unit_zh, _per(b, [p[1] for p in parts]))
    return _per(b, [_fixed_phrase(j.target, _measure(j)) for j in js])


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


def sentences(b, cols: dict, status: np.ndarray, deadline: list[str]) -> np.ndarray:
    """The message column of a batch (one kind): who, when, what value, what target, the gap, the rank,
    the status. Each part is built on whole columns; a row gets only the sentence it shows."""
    js = b.js
    kind = js[0].target.kind
    n = len(b)
    d = b.per([j.decimals for j in js], dtype=np.intp)
    measure = _per(b, [_measure(j) for j in js])
    label = "同比降幅" if kind == "decline" else None
    names = js[0].obs.unit_names_all[b.uid].astype(str)
    about = [j.judged_period.label_zh() + j.ind.name for j in js]
    head_words = _per(b, [a + (label if label is not None else METRIC_ZH.get(j.metric, "")) for a, j in zip(about, js)])
    gap = np.asarray(cols["gap"], dtype=np.float64)
    value = np.asarray(cols["value"], dtype=np.float64)
    unreported = ~np.asarray(cols["_reported"], dtype=bool)
    undecided = ~unreported & (np.isnan(value) | np.isnan(gap))
    body_rows = ~unreported & ~undecided
    out = np.empty(n, dtype=object)

    if unreported.any():
        at = unreported
        words = sentence_words(np.where(status[at] == "late", "late", "no_data"))
        out[at] = cat(names[at], _per(b, [a + "数据" for a in about])[at], words, _per(b, [f"（截止{x}）" for x in deadline])[at], "。")
    if undecided.any():
        at = undecided
        out[at] = cat(names[at], head_words[at], "无法计算（缺少对比数据）。")
    if body_rows.any():
        if kind == "rank":  # whether any unit of each judgement has a rank, whichever sentence it gets
            ranked = np.zeros(len(js), dtype=bool)
            ranked[b.jidx[~np.isnan(np.asarray(cols["rank"], dtype=np.float64))]] = True
            cols = {**cols, "_judgement_ranked": ranked[b.jidx]}
        at = body_rows
        rows = {k: (v[at] if isinstance(v, np.ndarray) and v.ndim == 1 and len(v) == n else v) for k, v in cols.items()}
        out[at] = _bodies(b.subset(at), rows, status[at], names[at], head_words[at], measure[at], d[at])
    return out


def _bodies(b, cols, status, names, head_words, measure, d) -> np.ndarray:
    """The sentences of the rows judged: value, target, gap, rank, the status word."""
    js = b.js
    kind = js[0].target.kind
    gap = np.asarray(cols["gap"], dtype=np.float64)
    gap_d = d if kind != "rank" else np.zeros_like(d)
    gap_abs = fmt_rows(np.abs(gap), gap_d)
    # A gap that rounds to nothing at the shown precision is still a gap: 差不足0.1个百分点, never 差0.
    tiny = (gap_abs == "0") & (gap != 0)
    if tiny.any():
        gap_abs = np.where(tiny, cat("不足", fmt_rows(10.0 ** -gap_d.astype(np.float64), gap_d)), gap_abs)
    gap_unit = np.full(len(gap), "位") if kind == "rank" else np.where(measure == "%", "个百分点", measure)
    gap_text = np.where(gap < 0, cat("，差", gap_abs, gap_unit), np.where(gap > 0, cat("，超出", gap_abs, gap_unit), ""))
    if kind == "consistency":  # the difference between the unit's figure and its children's sum, either way
        diff = np.asarray(cols["difference"], dtype=np.float64)
        gap_text = np.where(diff != 0, cat("，相差", fmt_rows(np.abs(diff), d), measure), "")
        partial = b.per([j.target.partial for j in js], dtype=bool)
        gap_text = np.where(partial & ~(diff < 0), "", gap_text)
    extra = np.full(len(gap), "", dtype=str)
    if kind == "rank":
        rank = np.asarray(cols["rank"], dtype=np.float64)
        ranked = ~np.isnan(rank)
        group = _per(b, [j.dep.groups[j.spec.group].name for j in js])
        extra = np.where(ranked, cat("，在", group, fmt(cols["reported"], 0), "个已报送单位中排第", fmt(rank, 0), "位"), "")
        extra = cat(extra, np.where(np.asarray(cols["tied"], dtype=bool), "（并列）", ""))
        completeness = []
        for j, size, reported in zip(js, _first(b, cols["group_size"]), _first(b, cols["reported"])):
            if reported < size:  # how complete the group is, and what the silent units count as
                closed = j.as_of_day > j.due
                policy = "，未报送单位按末位计" if getattr(j.target, "unreported", "last") == "last" else "，未报送单位不参与排名"
                completeness.append(f"（已报送{int(reported)}/{int(size)}" + (policy if closed else "，报送截止前为暂排") + "）")
            else:
                completeness.append("")
        # Only where some unit of the judgement has a rank (a judgement without ranks says nothing of its group).
        extra = np.where(cols["_judgement_ranked"], cat(extra, _per(b, completeness)), "")
    elif kind == "compare":
        extra = _per(b, [f"（{j.dep.groups[j.spec.group].name}{int(r) if r == r else 0}个单位已报送）" for j, r in zip(js, _first(b, cols["reported"]))])
    if kind == "pacing":
        rate = np.asarray(cols["required_run_rate"], dtype=np.float64)
        count = b.per([j.ind.kind.value == "count" for j in js], dtype=bool)
        rate = np.where(count, np.ceil(rate - 1e-9), rate)  # whole people, firms and projects: round the monthly need up
        extra = cat(extra, np.where(rate > 0, cat("，全年余下每月需完成", fmt_rows(rate, d), measure), ""))
    if "partial" in cols:  # a never-event judged on the months reported so far
        extra = cat(extra, np.where(np.asarray(cols["partial"], dtype=bool), "（部分月份未报送，按已报送数计）", ""))
    windows = [j.spec.window for j in js]
    if any(w is not None for w in windows):
        extra = cat(extra, _per(b, [f"（{w.last.year}年{w.first_month}-{w.last.last_month}月合计）"
                                    if w is not None and w.first_month != w.last.last_month else "" for w in windows]))
    status_zh = sentence_words(status)
    tier = b.per([j.tier for j in js], dtype=object)
    # a missed 力争-only target or a data check has its own words (rules.vocabulary.TIERS)
    for name in {j.tier for j in js} - {"floor"}:
        status_zh = np.where((status == "behind") & (tier == name), TIERS[name].missed, status_zh)
    if "not_due" in cols:  # a milestone not reached yet but not due yet either
        status_zh = np.where(np.asarray(cols["not_due"], dtype=bool) & (gap < 0) & (status == "on_track"), "尚未到期", status_zh)
    return cat(names, head_words, "为", fmt_rows(cols["value"], d), measure, "，目标", target_phrase(b, cols, measure, d),
               gap_text, extra, "，", status_zh, "。").astype(object)


def _first(b, column) -> np.ndarray:
    """The value of a per-judgement column at each judgement's first row (NaN for a judgement without rows)."""
    column = np.asarray(column, dtype=np.float64)
    starts = b.starts[:-1]
    has = starts < b.starts[1:]
    out = np.full(len(b.js), np.nan)
    out[has] = column[starts[has]]
    return out
