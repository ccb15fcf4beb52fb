"""Verdict frames built by hand (imported by the exporter tests as ``verdict_fixtures``), with exactly the columns of ``rules.verdict`` (the rule engine's contract)."""

from __future__ import annotations

import pandas as pd

VERDICT_COLUMNS = [
    "rule", "unit", "indicator", "period", "as_of", "status", "stretch_met", "value", "target", "gap",
    "rank", "group_size", "reference", "required_run_rate", "target_version", "owners", "message",
    "severity", "rule_title", "group", "reported", "measure", "leader", "lead_department", "deadline",
]


def good_verdict(**changes) -> dict:
    """A known-good verdict: 大祥区 behind on industrial value-added growth, owned by 伍毅. Tests change one field."""
    row = {
        "rule": "daxiang_industrial_va_growth", "unit": "daxiang", "indicator": "industrial_va_growth",
        "period": "2023-06", "as_of": "2023-07-20", "status": "behind", "stretch_met": False,
        "value": 5.1, "target": 7.0, "gap": -1.9, "rank": 9, "group_size": 12, "reference": 6.2,
        "required_run_rate": None, "target_version": 1,
        "owners": {"leader": "wu_yi", "lead_department": ["daxiang_kgxj"], "responsible": ["gao_yuntou"], "contacts": ["xia_debao"]},
        "message": "大祥区规模工业增加值增速5.1%，低于目标7.0%，差1.9个百分点，全市排名第9。",
        "severity": "critical", "rule_title": "规模工业增加值增速增长7%以上", "group": "shaoyang_counties",
        "reported": True, "measure": "%", "leader": "wu_yi", "lead_department": ["daxiang_kgxj"], "deadline": "2023-07-14",
    }
    unknown = set(changes) - set(row)
    assert not unknown, f"not verdict columns: {unknown}"
    row.update(changes)
    return row


def verdict_frame(*rows: dict) -> pd.DataFrame:
    """A verdict frame of the given rows, typed like the engine's (nullable ints for rank and group size)."""
    frame = pd.DataFrame(list(rows), columns=VERDICT_COLUMNS)
    for col in ("rank", "group_size"):
        frame[col] = frame[col].astype("Int64")
    return frame
