"""The verdict contract: the columns every exporter and dashboard reads, and the order of statuses.

One row per (rule, unit, period) for one as-of date. ``gap`` is signed so that a negative gap means
short of the target, in the indicator's measure, in percentage points, or in rank places.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules.owners import AUDIENCE, CONTACTS
from rules.vocabulary import STATUSES, TIERS, WORDS

VERDICT_COLUMNS = [
    "rule", "unit", "indicator", "period", "as_of", "status", "stretch_met",
    "value", "target", "gap", "rank", "group_size", "reference", "required_run_rate",
    "target_version", "owners", "message",
    # extras
    "severity", "rule_title", "group", "reported", "measure", "leader", "lead_department", "deadline",
    "tier",  # floor (确保), stretch (力争 only) or data (a consistency check): rules.vocabulary.TIERS
    "audience",  # leader, or contacts (联络人) for a data-quality verdict, which carries no leader
]

# The identity of a verdict: one state per key in the notification ledger, one series per key on /metrics.
KEY = ("rule", "unit", "indicator", "period")


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
    for col in ("group", "leader", "lead_department", "tier", "audience"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out.reset_index(drop=True)


def rows(*, rule: str, unit, indicator: str, period: str, as_of: str, status, owners: list[dict], message, rule_title: str,
         group, measure, target_version: str, deadline, severity: str | None = None, stretch_met=None, value=None,
         target=None, gap=None, rank=None, group_size=None, reference=None, required_run_rate=None, reported=None,
         tier: str | None = "floor") -> dict[str, np.ndarray]:
    """The verdict rows of one rule at one period, as columns: the one place a verdict row is made.

    ``unit``, ``status``, ``owners`` and ``message`` are per row; any other field may be one value for
    every row, and a figure left out is NaN. ``severity`` is the rule's override of each status's
    default severity; ``leader`` and ``lead_department`` come from ``owners`` (:mod:`rules.owners`).
    ``tier`` (``rules.vocabulary.TIERS``) words and grades a miss: a missed 力争-only target (stretch) is a
    warning; a failed data check (data) is a warning for the contacts (``audience``), with no leader.
    """
    units = np.asarray(unit, dtype=object)
    n = len(units)

    def text(values) -> np.ndarray:
        if np.ndim(values) == 0:
            return np.full(n, values, dtype=object)
        if isinstance(values, np.ndarray) and values.dtype == object:
            return values
        out = np.empty(n, dtype=object)  # element by element: a list of dicts must not become a 2-D array
        out[:] = list(values)
        return out

    def number(values) -> np.ndarray:
        if values is None:
            return np.full(n, np.nan)
        return np.broadcast_to(np.asarray(values, dtype=np.float64), (n,)).copy()

    status = text(status)
    owners = text(owners)
    tier = text(tier)
    # Owners are a few dicts shared by many rows: read each distinct one once.
    which, distinct = pd.factorize(np.frompyfunc(id, 1, 1)(owners).astype(np.int64)) if n else (np.zeros(0, dtype=np.intp), [])
    first = np.zeros(len(distinct), dtype=np.intp)
    first[which[::-1]] = np.arange(n)[::-1]
    leaders = np.array([None] + [owners[i]["leader"] for i in first], dtype=object)[which + 1]
    departments = np.array([None] + [owners[i]["lead_department"][0] if owners[i]["lead_department"] else None for i in first],
                           dtype=object)[which + 1]
    audience = _lookup(tier, AUDIENCE)  # rules.owners decides who each tier's verdicts are for
    return {
        "rule": text(rule), "unit": units, "indicator": text(indicator), "period": text(period), "as_of": text(as_of),
        "status": status, "stretch_met": text(stretch_met), "value": number(value),
        "target": number(target), "gap": number(gap), "rank": number(rank), "group_size": number(group_size),
        "reference": number(reference), "required_run_rate": number(required_run_rate),
        "target_version": text(target_version), "owners": owners, "message": text(message),
        "severity": severities(status, text(severity), tier), "rule_title": text(rule_title), "group": text(group),
        "reported": number(reported), "measure": text(measure),
        "leader": np.where(audience == CONTACTS, None, leaders), "lead_department": departments,
        "deadline": text(deadline), "tier": tier, "audience": audience,
    }


def _lookup(values: np.ndarray, table: dict) -> np.ndarray:
    """``table.get(value)`` of each value of an object array, looked up once per distinct value."""
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    return np.array([table.get(v) for v in distinct] or [None], dtype=object)[codes] if len(values) else np.empty(0, dtype=object)


def as_frame(parts: list[dict[str, np.ndarray]], rows_at: list[np.ndarray] | None = None) -> pd.DataFrame:
    """Verdict rows from the columns of one or more :func:`rows` calls, one after another, or each part's
    rows placed at its ``rows_at`` positions (the rows of judgements judged out of order)."""
    columns = {}
    for name, first in parts[0].items():
        if rows_at is not None:
            values = np.empty(sum(len(at) for at in rows_at), dtype=first.dtype)
            for part, at in zip(parts, rows_at):
                values[at] = part[name]
        else:
            values = np.concatenate([part[name] for part in parts]) if len(parts) > 1 else first
        # Object columns, built as such: letting pandas infer its str dtype for every column of every
        # rule (and converting back in conform) would double the evaluation time.
        columns[name] = pd.Series(values, dtype=object) if values.dtype == object else values
    return pd.DataFrame(columns, copy=False)


def severities(status, override=None, tier="floor") -> np.ndarray:
    """critical for behind (warning for a missed 力争-only target or data check), warning for late and
    at_risk, none otherwise; a rule may override. ``override`` and ``tier`` are one value or one per row:
    decided once per distinct (status, override, tier)."""
    status = np.asarray(status, dtype=object)
    n = len(status)
    columns = [status] + [np.full(n, v, dtype=object) if np.ndim(v) == 0 else np.asarray(v, dtype=object) for v in (override, tier)]
    combo, seen = np.zeros(n, dtype=np.int64), []
    for column in columns:
        codes, distinct = pd.factorize(column, use_na_sentinel=False)
        # factorize reads None as NaN: give the rule's None back
        combo, seen = combo * max(len(distinct), 1) + codes, seen + [[None if pd.isna(v) else v for v in distinct]]
    which, distinct = pd.factorize(combo)
    sizes = [max(len(d), 1) for d in seen]
    table = []
    for c in distinct.tolist():
        t, c = c % sizes[2], c // sizes[2]
        o, s_ = c % sizes[1], c // sizes[1]
        table.append(_severity(seen[0][s_], seen[1][o], seen[2][t]))
    return np.array(table or [None], dtype=object)[which] if n else np.empty(0, dtype=object)


def _severity(status: str, override: str | None, tier: str | None) -> str | None:
    """The severity of one verdict (see :func:`severities`)."""
    words = WORDS.get(status)
    sev = words.severity if words else None
    if status == "behind" and tier in TIERS and tier != "floor":
        sev = TIERS[tier].severity
    if override is not None:
        if status == "behind":
            sev = override
        if override == "none" and status in ("late", "at_risk"):
            sev = "none"
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
