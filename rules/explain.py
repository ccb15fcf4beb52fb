"""``explain``: how one verdict was reached, step by step, from the observations and the rule version."""

from __future__ import annotations

import difflib

import pandas as pd

from rules.derive import Observations, deadlines
from rules.check import load_valid_rules
from rules.judge import judge, plan
from rules.kinds import rank_table
from rules.load import RuleSet
from rules.scorecard import score
from rules.vocabulary import label
from targetwatch import periods
from targetwatch.errors import ConfigError
from targetwatch.model import Basis


def resolve_rule(ruleset: RuleSet, written: str) -> str:
    """The rule id for an id or a rule's Chinese title (or a unique part of it); an unknown one is an
    error that suggests the closest ids and titles, not the whole catalogue."""
    if written in ruleset.ids:
        return written
    titles = {d.id: d.doc.metadata.title for d in ruleset.docs}
    exact = [i for i, t in titles.items() if t == written]
    partial = [i for i, t in titles.items() if written and written in t]
    if len(set(exact)) == 1 or len(set(partial)) == 1:
        return (exact or partial)[0]
    if len(set(partial)) > 1:
        raise ConfigError(f"「{written}」对应多条规则，请写规则编号：" + "；".join(f"{i}（{titles[i]}）" for i in sorted(set(partial))[:8]))
    by_title = {t: i for i, t in titles.items()}
    close = difflib.get_close_matches(written, list(titles) + list(by_title), n=5, cutoff=0.5)
    hints = list(dict.fromkeys(by_title.get(c, c) for c in close))
    hint = "；是否要找：" + "；".join(f"{i}（{titles[i]}）" for i in hints) if hints else "；`targetwatch evaluate` 列出全部规则"
    raise ConfigError(f"未知规则「{written}」{hint}")


def resolve_unit(deployment, written: str) -> str:
    """The unit id for an id, a Chinese name or an alias; an unknown one suggests the closest names."""
    found = deployment.unit_id(written)
    if found:
        return found
    names = {u.name: u.id for u in deployment.units.values()} | {u.id: u.id for u in deployment.units.values()}
    close = difflib.get_close_matches(written, list(names), n=5, cutoff=0.5)
    hints = list(dict.fromkeys(names[c] for c in close))
    hint = "；是否要找：" + "、".join(f"{deployment.units[u].name}（{u}）" for u in hints) if hints else ""
    raise ConfigError(f"未知单位「{written}」{hint}")


def explain(deployment, store, rule_id: str, unit: str, *, period=None, as_of=None, ruleset: RuleSet | None = None) -> list[str]:
    """Lines that walk through one verdict, in Chinese: version, period, every threshold, observations and
    revisions, group, rank table. ``rule_id`` and ``unit`` may be ids or Chinese names."""
    return explanation(deployment, store, rule_id, unit, period=period, as_of=as_of, ruleset=ruleset)["lines"]


def explanation(deployment, store, rule_id: str, unit: str, *, period=None, as_of=None, ruleset: RuleSet | None = None) -> dict:
    """The explanation as data (for ``--format json``): the rule, unit, period, thresholds, verdict and lines."""
    ruleset = ruleset or load_valid_rules(deployment.root, deployment)
    rule_id = resolve_rule(ruleset, rule_id)
    unit = resolve_unit(deployment, unit)
    instant = periods.as_of_instant(as_of)
    obs = Observations(store, instant, deployment)
    title = ruleset.versions(rule_id)[-1].doc.metadata.title
    out = {"rule": rule_id, "title": title, "unit": unit, "unit_name": deployment.units[unit].name, "period": None,
           "thresholds": {}, "status": None, "status_zh": None, "lines": []}
    if ruleset.versions(rule_id)[0].is_scorecard:
        out["lines"] = _explain_scorecard(ruleset, rule_id, unit, deployment, obs, instant.date(), period)
        return out
    j = plan(ruleset, rule_id, deployment, obs, instant.date(), period)
    if j is None:
        out["lines"] = [f"规则 {rule_id}「{title}」在 {instant.date()} 没有需要评估的期别（期别 {period or '最新'}）。"]
        return out
    if unit not in j.units:
        listed = "、".join(f"{deployment.units[u].name}（{u}）" for u in j.units)
        raise ConfigError(f"规则 {rule_id}「{title}」不评估{deployment.units[unit].name}（{unit}）；它评估的单位：{listed}")
    out["period"] = str(j.judged_period)
    out["thresholds"] = thresholds(j.target)
    out["lines"] = _explain_rule(j, store, unit, deployment, instant)
    verdict = judge(j).set_index("unit").loc[unit]
    out["status"], out["status_zh"] = str(verdict["status"]), label(str(verdict["status"]))
    return out


# The Chinese name of each threshold field of a target (rules.targets), in the order they are stated.
THRESHOLD_WORDS = {
    "op": "比较", "floor": "目标值（确保）", "stretch": "力争值", "at_risk_within": "预警幅度（差距不超过此值为有风险）",
    "min": "下限", "max": "上限", "value": "目标值", "tolerance": "允许偏差", "tolerance_pct": "允许偏差（%）",
    "annual": "年度任务", "profile": "进度方式", "checkpoints": "节点进度（累计完成年度任务的 %）", "seasonal": "季节权重",
    "reference": "参照", "reference_unit": "参照单位", "margin": "超出幅度", "top": "前 N 名", "not_bottom": "不落后于倒数第 N 名",
    "improve": "较上期进位", "ties": "并列名次", "order": "排序方向", "mode": "方式", "by": "完成期限", "of": "分母",
}
KIND_WORDS = {
    "threshold": "下限/上限", "decline": "下降幅度", "range": "区间", "approximate": "左右", "share": "占比", "pacing": "序时进度",
    "compare": "与对比组比较", "rank": "排名", "break_zero": "破零", "clear_zero": "清零", "never": "不发生", "milestone": "节点目标",
}
SCORING_WORDS = {"proportional": "按完成比例计分", "pass_fail": "达标得分", "rank": "按排名计分", "bands": "分档计分"}
METRIC_WORDS = {"value": "报送值", "yoy": "同比增速", "pp_change": "同比增减（百分点）", "change": "同比增减", "prev_change": "较上期增减"}


def thresholds(target) -> dict[str, object]:
    """Every threshold a target states (its kind first), with Chinese names: nothing the verdict used is left out."""
    fields = target.model_dump(exclude_none=True, mode="json")
    kind = fields.pop("kind")
    stated = {"类型": KIND_WORDS.get(kind, kind)}
    for name, value in fields.items():
        if value in ({}, [], False) and name not in ("improve",):
            continue
        stated[THRESHOLD_WORDS.get(name, name)] = value
    if "at_risk_within" not in fields and kind in ("threshold", "share", "decline", "pacing"):
        stated[THRESHOLD_WORDS["at_risk_within"]] = "未设（未达目标即为落后）"
    return stated


def _explain_rule(j, store, unit: str, deployment, instant) -> list[str]:
    meta, spec = j.doc.doc.metadata, j.spec
    lines = [
        f"1. 规则 {meta.id}「{meta.title}」版本 v{meta.version}（生效 {meta.effective_from or '—'}），来源 {j.doc.where('metadata', 'id')}",
        f"   出处：{spec.source.document if spec.source else '—'} {spec.source.issued if spec.source and spec.source.issued else ''}",
        f"2. 期别 {j.judged_period}（{j.judged_period.label_zh()}，读取 {j.period}），截至 {instant.date()}；报送截止 {deadlines([j.code], j.ind)[j.code]}",
        f"3. 指标 {j.ind.id}「{j.ind.name}」，口径 {j.basis.label_zh}，度量 {METRIC_WORDS.get(j.metric, j.metric)}，"
        f"目标类型 {KIND_WORDS.get(j.target.kind, j.target.kind)}",
        "   阈值：" + "；".join(f"{k} {_threshold_text(v)}" for k, v in thresholds(j.target).items() if k != "类型")
        + ("" if getattr(j.target, "at_risk_within", None) is None or j.target.kind != "pacing" else "（百分点，占年度任务）"),
        "4. 使用的观测值（各期最新修订，及全部修订与来源）：",
    ]
    for code in sorted(j.needs()):
        revs = store.revisions(j.ind.id, unit, code)
        if revs is None or len(revs) == 0:
            lines.append(f"   {periods.format_code(code)}: 无数据")
            continue
        revs = revs[revs["reported_at"] <= pd.Timestamp(instant)]
        used = set(revs.groupby("basis", observed=True)["revision"].max().items())
        for row in revs.itertuples(index=False):
            day = row.reported_at.tz_convert(periods.TZ)
            mark = " ← 采用" if (row.basis, row.revision) in used else ""
            lines.append(f"   {periods.format_code(code)} {Basis(row.basis).label_zh}: {row.value:g} 第{row.revision}次修订 "
                         f"报送于 {day:%Y-%m-%d} 来源 {row.source}{mark}")
    from rules.projects import projects_behind

    behind = projects_behind(deployment, store, j.ind.id, unit, j.code, instant)  # a figure derived from the 项目台账
    if behind:
        lines += ["   项目台账中构成该数的项目：", *behind]
    rows = judge(j).set_index("unit")
    if spec.group:
        members = j.members
        lines.append(f"5. 比较组 {spec.group}「{deployment.groups[spec.group].name}」：{len(members)} 个成员")
        ref = j.reference_unit()
        if ref:
            ref_value = j.values().get(ref, float("nan"))
            lines.append(f"   参照单位 {ref}「{deployment.units[ref].name}」：{'未报送' if ref_value != ref_value else f'{ref_value:g}'}")
        table = rank_table(j.values().reindex(members), j.direction)
        lines.append(f"   排名表（{'越高越好' if j.direction.value == 'higher' else '越低越好'}，{len(table)} 个已报送）：")
        for u, r in table.iterrows():
            mark = " ←" if u == unit else ""
            lines.append(f"     第{int(r['rank'])}位 {deployment.units[u].name} {r['value']:g}{' 并列' if r['tied'] else ''}{mark}")
        unreported = [deployment.units[u].name for u in members if u not in table.index]
        if unreported:
            lines.append(f"   未报送：{'、'.join(unreported)}")
    v = rows.loc[unit]
    lines.append(f"6. 结论：{label(str(v['status']))}；值 {_num(v['value'])}，目标 {_num(v['target'])}，差距 {_num(v['gap'])}，排名 {_num(v['rank'])}")
    lines.append(f"   {v['message']}")
    return lines


def _explain_scorecard(ruleset, card_id, unit, deployment, obs, as_of_day, period) -> list[str]:
    doc = ruleset.versions(card_id)[-1]
    spec = doc.doc.spec
    members = deployment.group_members(spec.group)
    lines = [f"1. 计分卡 {card_id}「{doc.doc.metadata.title}」v{doc.version}，比较组 {spec.group}（{len(members)} 个成员）",
             "2. 各项得分："]
    for item in spec.items:
        j = plan(ruleset, item.rule, deployment, obs, as_of_day, period, units=members)
        if j is None:
            lines.append(f"   {item.rule}: 本期无评估")
            continue
        row = judge(j).set_index("unit").loc[unit]
        lines.append(f"   {item.rule}（{item.points:g}分，{SCORING_WORDS.get(item.scoring, item.scoring)}{'，未破零记零分' if item.zero_unless_broken else ''}）："
                     f"{label(str(row['status']))}，值 {_num(row['value'])}，目标 {_num(row['target'])} — {row['message']}")
    card = score(doc, ruleset, deployment, obs, as_of_day, period).set_index("unit")
    if unit in card.index:
        v = card.loc[unit]
        lines.append(f"3. 结论：{label(str(v['status']))}；总分 {_num(v['value'])}，排名 {_num(v['rank'])}/{_num(v['reported'])}")
        lines.append(f"   {v['message']}")
    return lines


# The Chinese of the words a threshold's value may be (rules.targets).
VALUE_WORDS = {
    "fail": "不得并列（并列即未达标）", "allow": "允许并列", "linear": "按时间均匀", "checkpoints": "按节点", "seasonal": "按季节权重",
    "group_figure": "对比组自身数值", "peer_mean": "同组已报送单位平均", "dynamic": "动态清零", "once": "一次清零",
    "higher": "越高越好", "lower": "越低越好",
}


def _threshold_text(value) -> str:
    if isinstance(value, dict):
        return "，".join(f"{k}月 {_threshold_text(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:g}"
    return VALUE_WORDS.get(str(value), str(value))


def _num(value) -> str:
    """A figure as people write it: 7.5, 2 (not 2.0), — when absent."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "—"
    return f"{float(value):g}"
