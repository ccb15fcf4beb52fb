"""One digest per leader per period: what they own that is behind, late or at risk, worst first.

The lines are the verdicts' own ``message`` sentences (the rule engine writes them in Chinese), headed
by the status, the rule title and the unit, and followed by a link to the leader's dashboard.
"""

from __future__ import annotations

import urllib.parse

import numpy as np
import pandas as pd

from exporters.notifiers import Message, Recipient
from exporters.verdicts import DIGEST_STATUSES, status_rank
from rules.projects import RULE_PREFIX as PROJECT_RULE_PREFIX
from rules.vocabulary import TIERS, label, status_label

PERIOD_JOIN = "、"  # a digest of several periods (a leader's monthly and quarterly targets) names them joined


def all_clear() -> str:
    """The line of a digest with nothing behind, late or at risk, in the vocabulary's word for on_track
    (read at call time, so that the Alertmanager templates say the same)."""
    return f"您牵头的目标已全部{label('on_track')}或无需预警。"


def recipient(deployment, person_id: str) -> Recipient:
    """A registry person as a message recipient (an unknown id still gets a recipient with that name)."""
    person = deployment.people.get(person_id)
    if person is None:
        return Recipient(id=person_id, name=person_id)
    return Recipient(id=person.id, name=person.name, mobile=person.mobile, email=person.email,
                     wecom_userid=person.wecom_userid, dingtalk_userid=person.dingtalk_userid)


def build_digest(deployment, leader: str, period: str, verdicts: pd.DataFrame, recovered: pd.DataFrame | None = None,
                 dashboard_url: str = "", as_of: str | None = None) -> Message:
    """The digest of one leader for one period from that leader's verdicts of the period.

    ``recovered`` lists verdicts that left a digest status since the last digest (they are named once).
    """
    who = recipient(deployment, leader)
    mine = verdicts[verdicts["status"].isin(DIGEST_STATUSES)]
    mine = mine.assign(_rank=status_rank(mine["status"]).to_numpy(), _gap=mine["gap"].fillna(0).to_numpy())
    mine = mine.sort_values(["_rank", "_gap", "rule", "unit"], kind="stable")
    # Data-quality verdicts (a parent that does not add up to its children) have a section of their own.
    is_data = (mine["tier"] == "data").to_numpy() if "tier" in mine.columns else np.zeros(len(mine), dtype=bool)
    data, mine = mine[is_data], mine[~is_data]
    counts = mine["status"].value_counts()
    summary = "，".join(f"{label(s)}{int(counts[s])}项" for s in DIGEST_STATUSES if s in counts)
    day = as_of or (str(verdicts["as_of"].iloc[0]) if len(verdicts) and "as_of" in verdicts else "")
    # A contact's digest of failed data checks only is about the figures they reported, not targets they lead.
    title = (f"数据核对｜{period}｜{who.name}同志报送的数据" if len(data) and not len(mine) and not (recovered is not None and len(recovered))
             else f"目标预警｜{period}｜{who.name}同志分管事项")
    head = f"截至{day}，" if day else ""
    lines = [f"{head}您牵头的目标中{summary}。" if summary else (f"{head}{all_clear()}" if not len(data) else
             f"{head}您报送的数据有{len(data)}项核对不一致。")]
    items = []
    # Project checks (rules/projects.py) come last, under their own heading 项目: the leader's stalled projects.
    is_project = mine["rule"].astype(str).str.startswith(PROJECT_RULE_PREFIX).to_numpy()
    for section, rows in ((None, mine[~is_project]), ("项目", mine[is_project])):
        if section and len(rows):
            lines.append(f"{section}：")
        for i, row in enumerate(rows.itertuples(index=False), 1):
            unit = deployment.units[row.unit].name if row.unit in deployment.units else row.unit
            # a missed 力争-only target reads 未达力争目标, not 落后 (rules.vocabulary.TIERS)
            lines.append(f"{i}. 【{status_label(row.status, getattr(row, 'tier', None))}】{row.rule_title}（{unit}）：{row.message}")
            items.append({"rule": row.rule, "unit": row.unit, "indicator": row.indicator, "status": row.status,
                          "value": _num(row.value), "target": _num(row.target), "gap": _num(row.gap)})
    if len(data):
        lines.append(f"数据核对（{TIERS['data'].missed}，请核实后更正重报）：")
        for i, row in enumerate(data.itertuples(index=False), 1):
            unit = deployment.units[row.unit].name if row.unit in deployment.units else row.unit
            lines.append(f"{i}. {row.rule_title}（{unit}）：{row.message}")
            items.append({"rule": row.rule, "unit": row.unit, "indicator": row.indicator, "status": row.status,
                          "value": _num(row.value), "target": _num(row.target), "gap": _num(row.gap), "section": "data"})
    if recovered is not None and len(recovered):
        # Left a digest status: reached the target (已改善), or no longer judged on data (e.g. a withdrawn figure).
        for head, rows in (("已改善", recovered[recovered["status"] == "on_track"]),
                           ("不再预警", recovered[recovered["status"] != "on_track"])):
            if len(rows):
                names = "、".join(f"{r.rule_title}（{deployment.units[r.unit].name if r.unit in deployment.units else r.unit}）"
                                 f"{'' if r.status == 'on_track' else '，现为' + label(r.status)}"
                                 for r in rows.itertuples(index=False))
                lines.append(f"{head}：{names}。")
    link = dashboard_link(dashboard_url, leader, period)
    text = "\n".join([title, "", *lines, "", f"详情：{link}"])
    markdown = "\n".join([f"**{title}**", "", *lines, "", f"[查看仪表盘]({link})"])
    return Message(subject=title, markdown=markdown, text=text, recipient=who,
                   data={"leader": leader, "period": period, "as_of": day, "items": items})


def dashboard_link(dashboard_url: str, leader: str, period: str) -> str:
    """The dashboard URL with the leader and period(s) as Grafana variables."""
    query = urllib.parse.urlencode([("var-leader", leader)] + [("var-period", p) for p in period.split(PERIOD_JOIN)])
    return f"{dashboard_url}?{query}"


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
