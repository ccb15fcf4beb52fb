"""One Chinese sentence per verdict, built column-wise: actual value, target, gap, rank and group.

Example: ``大祥区2023年6月规模工业增加值增速为6.2%，目标为全市前7名（不得并列），在邵阳市县市区12个已报送单位中排第9位，差2位，落后。``
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STATUS_ZH = {"behind": "落后", "late": "逾期未报", "at_risk": "有风险", "no_data": "尚未报送", "on_track": "达标"}
METRIC_ZH = {"value": "", "yoy": "同比增速", "pp_change": "同比变动", "change": "同比增量", "prev_change": "较上期变动"}


def fmt(values, decimals: int) -> pd.Series:
    """Numbers as text with fixed decimals and trailing zeros trimmed; empty where missing."""
    s = pd.Series(values, dtype="float64")
    text = s.map(lambda v: _trim(f"{v:.{decimals}f}") if v == v else "")
    return text.replace("-0", "0")


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def target_phrase(j, frame: pd.DataFrame, unit_zh: str) -> pd.Series:
    """How the target reads in Chinese for each judged unit."""
    t, d = j.target, j.ind.decimals
    target = fmt(frame["target"], d)
    group = j.dep.groups[j.spec.group].name if j.spec.group else ""
    kind = t.kind
    if kind == "threshold" or kind == "share":
        word = {">=": "不低于", ">": "高于", "<=": "不高于", "<": "低于"}[t.op]
        return word + target + unit_zh
    if kind == "decline":
        return "同比下降" + target + "%以上"
    if kind == "range":
        return pd.Series(f"{t.min:g}—{t.max:g}{unit_zh}", index=frame.index)
    if kind == "approximate":
        tol = f"±{t.tolerance:g}{unit_zh}" if t.tolerance is not None else f"±{t.tolerance_pct:g}%"
        return pd.Series(f"{t.value:g}{unit_zh}左右（{tol}）", index=frame.index)
    if kind == "pacing":
        due = f"{frame['due_share'].iloc[0]:.0f}" if len(frame) else ""
        return "序时进度" + due + "%，即累计" + target + unit_zh + "（全年" + fmt(frame["annual"], d) + unit_zh + "）"
    if kind == "compare":
        label = "全市平均水平" if t.reference == "group_figure" else f"{group}平均水平"
        margin = f"{t.margin:g}个百分点" if t.margin else ""
        return ("高于" if t.op == ">" else "不低于") + label + margin + "（" + fmt(frame["reference"], d) + unit_zh + "）"
    if kind == "rank":
        ties = "（不得并列）" if t.ties == "fail" else ""
        if t.top is not None:
            return pd.Series(f"{group}前{t.top}名{ties}", index=frame.index)
        if t.not_bottom is not None:
            return pd.Series(f"不落于{group}后{t.not_bottom}位{ties}", index=frame.index)
        return "排名较上期进位（上期第" + fmt(frame["target"] + 1, 0) + "位）"
    if kind == "break_zero":
        return pd.Series("破零（至少1" + unit_zh + "）", index=frame.index)
    if kind == "clear_zero":
        return pd.Series("动态清零" if t.mode == "dynamic" else f"{t.by or ''}前清零", index=frame.index)
    if kind == "never":
        return pd.Series("全年不发生", index=frame.index)
    return pd.Series(f"{t.by}前达到{t.value:g}{unit_zh}", index=frame.index)


def sentences(j, frame: pd.DataFrame, unit_names: pd.Series, status: pd.Series, deadline: str) -> pd.Series:
    """The message column: who, when, what value, what target, the gap, the rank, the status."""
    ind, d = j.ind, j.ind.decimals
    measure = "%" if j.metric == "yoy" or j.target.kind in ("decline", "share") else ind.measure
    if j.metric == "pp_change":
        measure = "个百分点"
    head = unit_names + j.period.label_zh() + ind.name + METRIC_ZH.get(j.metric, "")
    if j.target.kind == "decline":
        head = unit_names + j.period.label_zh() + ind.name + "同比降幅"
    value = fmt(frame["value"], d)
    phrase = target_phrase(j, frame, measure)
    gap_abs = fmt(frame["gap"].abs(), d if j.target.kind != "rank" else 0)
    gap_unit = "位" if j.target.kind == "rank" else ("个百分点" if measure == "%" else measure)
    gap_text = np.where(frame["gap"] < 0, "，差" + gap_abs + gap_unit, np.where(frame["gap"] > 0, "，超出" + gap_abs + gap_unit, ""))
    rank_text = pd.Series("", index=frame.index)
    if "rank" in frame and frame["rank"].notna().any():
        group = j.dep.groups[j.spec.group].name
        rank_text = ("，在" + group + fmt(frame["reported"], 0) + "个已报送单位中排第" + fmt(frame["rank"], 0) + "位").where(frame["rank"].notna(), "")
        if "tied" in frame:
            rank_text = rank_text + np.where(frame["tied"].fillna(False).astype(bool), "（并列）", "")
    elif "reported" in frame and j.target.kind == "compare":
        rank_text = pd.Series(f"（{j.dep.groups[j.spec.group].name}{int(frame['reported'].iloc[0]) if len(frame) else 0}个单位已报送）", index=frame.index)
    body = head + "为" + value + measure + "，目标" + phrase + gap_text + rank_text
    if "required_run_rate" in frame:
        rate = frame["required_run_rate"]
        body = body + np.where(rate > 0, "，全年余下每月需完成" + fmt(rate, d) + measure, "")
    missing = unit_names + j.period.label_zh() + ind.name + "数据" + np.where(status == "late", "逾期未报（截止" + deadline + "）", "尚未报送（截止" + deadline + "）")
    no_base = head + "无法计算（缺少对比数据）"
    text = np.where(status.isin(["late"]) | frame["value_reported"].eq(False), missing, np.where(frame["value"].isna() | frame["gap"].isna(), no_base, body + "，" + status.map(STATUS_ZH)))
    return pd.Series(text, index=frame.index).astype(object) + "。"
