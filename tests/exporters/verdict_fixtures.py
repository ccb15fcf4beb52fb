"""Verdict frames built by hand, typed by the rule engine's own contract (``rules.verdict.conform``)."""

from __future__ import annotations

import pandas as pd

from rules.verdict import VERDICT_COLUMNS, conform


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
        "tier": "floor", "audience": "leader",
    }
    unknown = set(changes) - set(row)
    assert not unknown, f"not verdict columns: {unknown}"
    row.update(changes)
    return row


def verdict_frame(*rows: dict) -> pd.DataFrame:
    """A verdict frame of the given rows, with the engine's columns and dtypes (``rules.verdict.conform``)."""
    return conform(pd.DataFrame(list(rows), columns=VERDICT_COLUMNS))
