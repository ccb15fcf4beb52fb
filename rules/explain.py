"""``explain``: how one verdict was reached, step by step, from the observations and the rule version."""

from __future__ import annotations

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


def explain(deployment, store, rule_id: str, unit: str, *, period=None, as_of=None, ruleset: RuleSet | None = None) -> list[str]:
    """Lines that walk through one verdict: version, period, observations and revisions, group, rank table."""
    ruleset = ruleset or load_valid_rules(deployment.root, deployment)
    if rule_id not in ruleset.ids:
        raise ConfigError(f"unknown rule {rule_id!r}; known: {', '.join(ruleset.ids)}")
    if unit not in deployment.units:
        raise ConfigError(f"unknown unit {unit!r}")
    instant = periods.as_of_instant(as_of)
    obs = Observations(store, instant, deployment)
    if ruleset.versions(rule_id)[0].is_scorecard:
        return _explain_scorecard(ruleset, rule_id, unit, deployment, obs, instant.date(), period)
    j = plan(ruleset, rule_id, deployment, obs, instant.date(), period)
    if j is None:
        return [f"规则 {rule_id} 在 {instant.date()} 没有需要评估的期别（period {period or '最新'}）。"]
    if unit not in j.units:
        j.units = [*j.units, unit]
    meta, spec = j.doc.doc.metadata, j.spec
    lines = [
        f"1. 规则 {meta.id}「{meta.title}」版本 v{meta.version}（生效 {meta.effective_from or '—'}），来源 {j.doc.where('metadata', 'id')}",
        f"   出处：{spec.source.document if spec.source else '—'} {spec.source.issued if spec.source and spec.source.issued else ''}",
        f"2. 期别 {j.judged_period}（{j.judged_period.label_zh()}，读取 {j.period}），截至 {instant.date()}；报送截止 {deadlines([j.code], j.ind)[j.code]}",
        f"3. 指标 {j.ind.id}「{j.ind.name}」，口径 {j.basis.label_zh}，度量 {j.metric}，类型 {j.target.kind}",
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
            lines.append(f"   {periods.format_code(code)} {row.basis}: {row.value:g} 第{row.revision}次修订 报送于 {day:%Y-%m-%d} 来源 {row.source}{mark}")
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
            ref_value = j.value().get(ref, float("nan"))
            lines.append(f"   参照单位 {ref}「{deployment.units[ref].name}」：{'未报送' if ref_value != ref_value else f'{ref_value:g}'}")
        table = rank_table(j.value().reindex(members), j.direction)
        lines.append(f"   排名表（{'越高越好' if j.direction.value == 'higher' else '越低越好'}，{len(table)} 个已报送）：")
        for u, r in table.iterrows():
            mark = " ←" if u == unit else ""
            lines.append(f"     第{int(r['rank'])}位 {deployment.units[u].name} {r['value']:g}{' 并列' if r['tied'] else ''}{mark}")
        unreported = [deployment.units[u].name for u in members if u not in table.index]
        if unreported:
            lines.append(f"   未报送：{'、'.join(unreported)}")
    v = rows.loc[unit]
    lines.append(f"6. 结论：{_status(v['status'])}；值 {_num(v['value'])}，目标 {_num(v['target'])}，差距 {_num(v['gap'])}，排名 {_num(v['rank'])}")
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
        lines.append(f"   {item.rule}（{item.points:g}分，{item.scoring}{'，未破零记零分' if item.zero_unless_broken else ''}）："
                     f"{_status(row['status'])}，值 {_num(row['value'])}，目标 {_num(row['target'])} — {row['message']}")
    card = score(doc, ruleset, deployment, obs, as_of_day, period).set_index("unit")
    if unit in card.index:
        v = card.loc[unit]
        lines.append(f"3. 结论：{_status(v['status'])}；总分 {_num(v['value'])}，排名 {_num(v['rank'])}/{_num(v['reported'])}")
        lines.append(f"   {v['message']}")
    return lines


def _status(status: str) -> str:
    """The status as a leader reads it, with the id that rules and tests use: 达标（on_track）."""
    return f"{label(status)}（{status}）"


def _num(value) -> str:
    """A figure as people write it: 7.5, 2 (not 2.0), — when absent."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "—"
    return f"{float(value):g}"
