"""One Chinese sentence per verdict, built column-wise: actual value, target, gap, rank and group.

Example: ``大祥区2023年6月规模工业增加值增速为6.2%，目标为全市前7名（不得并列），在邵阳市县市区12个已报送单位中排第9位，差2位，落后。``
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def target_phrase(j, frame: pd.DataFrame, unit_zh: str):
    """How the target reads in Chinese for each judged unit."""
    t, d = j.target, j.decimals
    target = fmt(frame["target"], d)
    group = j.dep.groups[j.spec.group].name if j.spec.group else ""
    kind = t.kind
    if kind == "threshold" or kind == "share":
        word = {">=": "不低于", ">": "高于", "<=": "不高于", "<": "低于"}[t.op]
        return cat(word, target, unit_zh)
    if kind == "decline":
        return cat("同比下降", target, "%以上")
    if kind == "range":
        return f"{t.min:g}—{t.max:g}{unit_zh}"
    if kind == "approximate":
        tol = f"±{t.tolerance:g}{unit_zh}" if t.tolerance is not None else f"±{t.tolerance_pct:g}%"
        return f"{t.value:g}{unit_zh}左右（{tol}）"
    if kind == "pacing":
        due = f"{frame['due_share'].iloc[0]:.0f}" if len(frame) else ""
        return cat("序时进度", due, "%，即累计", target, unit_zh, "（全年", fmt(frame["annual"], d), unit_zh, "）")
    if kind == "compare":
        ref = j.dep.units.get(j.reference_unit() or "") if t.reference == "group_figure" else None
        # 高于全省平均水平 compares with the province's own figure, 全市 with the city's
        label = (("全省" if ref is not None and ref.kind == "province" else "全市") + "平均水平") if t.reference == "group_figure" else f"{group}平均水平"
        margin = f"{t.margin:g}个百分点" if t.margin else ""
        return cat("高于" if t.op == ">" else "不低于", label, margin, "（", fmt(frame["reference"], d), unit_zh, "）")
    if kind == "rank":
        ties = "（不得并列）" if t.ties == "fail" else ""
        if t.top is not None:
            return f"{group}前{t.top}名{ties}"
        if t.not_bottom is not None:
            return f"不落于{group}后{t.not_bottom}位{ties}"
        before = "上年同期" if t.improve_on == "last_year" else ("上年" if j.judged_period.frequency == "yearly" else "上期")
        prev = frame["prev_rank"]
        return cat(f"排名较{before}进位（{before}第", fmt(prev, 0), np.where(prev.to_numpy() == 1, "位，保持第1位即可）", "位）"))
    if kind == "consistency":
        tol = (f"±{t.tolerance:g}{unit_zh}" if t.tolerance else "") + ("，" if t.tolerance and t.tolerance_pct else "") \
            + (f"±{t.tolerance_pct:g}%" if t.tolerance_pct else "")
        if t.partial:
            return cat("不低于已报送下级单位合计（合计", target, unit_zh, "）")
        return cat("与下级单位合计一致（合计", target, unit_zh, "，允许误差", tol or "0", "）")
    if kind == "break_zero":
        return "破零（至少1" + unit_zh + "）"
    if kind == "clear_zero":
        return "动态清零" if t.mode == "dynamic" else f"{t.by or ''}前清零"
    if kind == "never":
        return "全年不发生"
    return f"{t.by}前达到{t.value:g}{unit_zh}"


def sentences(j, frame: pd.DataFrame, unit_names, status: pd.Series, deadline: str) -> np.ndarray:
    """The message column: who, when, what value, what target, the gap, the rank, the status."""
    ind, d, kind = j.ind, j.decimals, j.target.kind
    measure = "%" if j.metric == "yoy" or kind in ("decline", "share") else ind.measure
    if j.metric == "pp_change":
        measure = "个百分点"
    label = "同比降幅" if kind == "decline" else METRIC_ZH.get(j.metric, "")
    names = np.asarray(unit_names, dtype=str)
    head = cat(names, j.judged_period.label_zh() + ind.name + label)
    gap = frame["gap"].to_numpy(np.float64)
    gap_d = d if kind != "rank" else 0
    gap_abs = fmt(np.abs(gap), gap_d)
    # A gap that rounds to nothing at the shown precision is still a gap: 差不足0.1个百分点, never 差0.
    gap_abs = np.where((gap_abs == "0") & (gap != 0), cat("不足", fmt(10.0 ** -gap_d, gap_d)), gap_abs)
    gap_unit = "位" if kind == "rank" else ("个百分点" if measure == "%" else measure)
    gap_text = np.where(gap < 0, cat("，差", gap_abs, gap_unit), np.where(gap > 0, cat("，超出", gap_abs, gap_unit), ""))
    if kind == "consistency":  # the difference between the unit's figure and its children's sum, either way
        diff = frame["difference"].to_numpy(np.float64)
        gap_text = np.where(diff != 0, cat("，相差", fmt(np.abs(diff), d), measure), "")
        if j.target.partial:
            gap_text = np.where(diff < 0, gap_text, "")
    extra = np.full(len(frame), "", dtype=str)
    if "rank" in frame and frame["rank"].notna().any():
        group = j.dep.groups[j.spec.group].name
        ranked = cat("，在", group, fmt(frame["reported"], 0), "个已报送单位中排第", fmt(frame["rank"], 0), "位")
        extra = np.where(frame["rank"].notna().to_numpy(), ranked, "")
        if "tied" in frame:
            extra = cat(extra, np.where(frame["tied"].fillna(False).to_numpy(bool), "（并列）", ""))
        reported, size = int(frame["reported"].iloc[0]), int(frame["group_size"].iloc[0])
        if reported < size:  # how complete the group is, and what the silent units count as
            closed = j.as_of_day > j.due
            policy = "，未报送单位按末位计" if getattr(j.target, "unreported", "last") == "last" else "，未报送单位不参与排名"
            extra = cat(extra, f"（已报送{reported}/{size}" + (policy if closed else "，报送截止前为暂排") + "）")
    elif "reported" in frame and kind == "compare" and len(frame):
        extra = np.full(len(frame), f"（{j.dep.groups[j.spec.group].name}{int(frame['reported'].iloc[0])}个单位已报送）")
    if "required_run_rate" in frame:
        rate = frame["required_run_rate"].to_numpy(np.float64)
        if ind.kind.value == "count":  # whole people, firms and projects: round the monthly need up
            rate = np.ceil(rate - 1e-9)
        extra = cat(extra, np.where(rate > 0, cat("，全年余下每月需完成", fmt(rate, d), measure), ""))
    if "partial" in frame:  # a never-event judged on the months reported so far
        extra = cat(extra, np.where(frame["partial"].to_numpy(bool), "（部分月份未报送，按已报送数计）", ""))
    if j.spec.window is not None:
        w = j.spec.window
        extra = cat(extra, f"（{w.last.year}年{w.first_month}-{w.last.last_month}月合计）" if w.first_month != w.last.last_month else "")
    status_arr = status.to_numpy(dtype=object)
    status_zh = sentence_words(status_arr)
    if j.tier != "floor":  # a missed 力争-only target or a data check has its own words (rules.vocabulary.TIERS)
        status_zh = np.where(status_arr == "behind", TIERS[j.tier].missed, status_zh)
    if "not_due" in frame:  # a milestone not reached yet but not due yet either
        short = (gap < 0) & (status_arr == "on_track")
        status_zh = np.where(short, "尚未到期", status_zh)
    body = cat(head, "为", fmt(frame["value"], d), measure, "，目标", target_phrase(j, frame, measure), gap_text, extra, "，", status_zh)
    missing = cat(names, j.judged_period.label_zh() + ind.name + "数据",
                  sentence_words(np.where(status_arr == "late", "late", "no_data")), f"（截止{deadline}）")
    no_base = cat(head, "无法计算（缺少对比数据）")
    unreported = ~frame["value_reported"].to_numpy(bool)
    undecided = np.isnan(frame["value"].to_numpy(np.float64)) | np.isnan(gap)
    return cat(np.where(unreported, missing, np.where(undecided, no_base, body)), "。").astype(object)
