"""The verdict contract: the columns every exporter and dashboard reads, and the order of statuses.

One row per (rule, unit, period) for one as-of date. ``gap`` is signed so that a negative gap means
short of the target, in the indicator's measure, in percentage points, or in rank places.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules.vocabulary import STATUSES, WORDS

VERDICT_COLUMNS = [
    "rule", "unit", "indicator", "period", "as_of", "status", "stretch_met",
    "value", "target", "gap", "rank", "group_size", "reference", "required_run_rate",
    "target_version", "owners", "message",
    # extras
    "severity", "rule_title", "group", "reported", "measure", "leader", "lead_department", "deadline",
]

SEVERITY_DEFAULT = {status: words.severity for status, words in WORDS.items()}


def empty() -> pd.DataFrame:
    """A verdict frame without rows, with the contract's columns and dtypes."""
    return conform(pd.DataFrame({c: [] for c in VERDICT_COLUMNS}))


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with exactly the contract's columns, in order, with their dtypes."""
    out = frame.reindex(columns=VERDICT_COLUMNS)
    for col in ("value", "target", "gap", "reference", "required_run_rate"):
        # Derived figures carry float noise (6.499999999999995): nine decimals is far below any published one.
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64").round(9)
    for col in ("rank", "group_size", "reported"):
        out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
    for col in ("rule", "unit", "indicator", "period", "as_of", "status", "target_version", "message",
                "severity", "rule_title", "measure", "deadline"):
        out[col] = out[col].astype(object)
    out["stretch_met"] = out["stretch_met"].astype(object).where(out["stretch_met"].notna(), None)
    for col in ("group", "leader", "lead_department"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out.reset_index(drop=True)


def severities(status: pd.Series, override: str | None) -> np.ndarray:
    """critical for behind, warning for late and at_risk, none otherwise; a rule may override."""
    sev = np.array([SEVERITY_DEFAULT[s] for s in status.tolist()], dtype=object)
    if override is not None:
        sev = np.where(status.to_numpy() == "behind", override, sev)
        if override == "none":
            sev = np.where(np.isin(status.to_numpy(), ["late", "at_risk"]), "none", sev)
    return sev


def worst_first(frame: pd.DataFrame) -> pd.DataFrame:
    """Verdicts grouped by leader, worst first: leaders ordered by their worst verdict (then their largest
    shortfall), leaderless verdicts last; within a leader by status, then the largest shortfall first."""
    if frame.empty:
        return frame.reset_index(drop=True)
    status = pd.Categorical(frame["status"], categories=list(STATUSES), ordered=True).codes
    gap = frame["gap"].astype("float64").fillna(np.inf).to_numpy()
    leader = frame["leader"].astype(object).where(frame["leader"].notna(), "").to_numpy()
    keyed = pd.DataFrame({"leader": leader, "status": status, "gap": gap}, index=frame.index)
    by_leader = keyed.groupby("leader")
    keyed["leader_status"] = by_leader["status"].transform("min")
    keyed["leader_gap"] = by_leader["gap"].transform("min")
    keyed["leaderless"] = keyed["leader"] == ""
    keyed["rule"], keyed["unit"] = frame["rule"].to_numpy(), frame["unit"].to_numpy()
    order = keyed.sort_values(["leaderless", "leader_status", "leader_gap", "leader", "status", "gap", "rule", "unit"], kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def to_records(frame: pd.DataFrame) -> list[dict]:
    """The verdicts as plain JSON-ready objects: NaN and <NA> become None."""
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    for rec in records:
        for key in ("rank", "group_size", "reported"):
            if rec[key] is not None:
                rec[key] = int(rec[key])
    return records
