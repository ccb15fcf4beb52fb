"""The verdict frame as the exporters read it: statuses, label columns, and normalisation.

``rules.evaluate`` produces the frame (``rules.verdict`` defines it). The exporters depend on a small
part of it only, listed here, so that a verdict frame built by hand in a test is enough to drive them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules.owners import recipients
from rules.verdict import KEY, STATUSES  # STATUSES: worst first, sorts digests and is the StateSet's order

__all__ = ["STATUSES", "DIGEST_STATUSES", "LABELS", "KEY", "GAUGES", "HISTORIC", "historic", "HISTORY_LABELS", "HISTORY_GAUGES",
           "label_frame", "status_rank", "with_rank_change", "history_kinds"]
# Statuses a leader is told about in a digest (no_data is not yet a fault: the deadline has not passed).
DIGEST_STATUSES = ("behind", "late", "at_risk")
# Column marking a verdict of a period older than the current reporting period: "true" or None. Such
# verdicts are recorded in the ledger as backfilled and not sent, exposed as targetwatch_verdict_historic
# (which the generated alert rules exclude) and not pushed, so neither a first start nor a restart after
# downtime floods leaders with history.
HISTORIC = "historic"
# Label columns of every per-verdict metric, in exposition order. ``tier`` is set only on a 力争-only target
# (tier="stretch") or a data check (tier="data"); a 确保 floor, the default, carries no tier label. ``leader`` is
# whom the verdict is for: a data check's is its contact (联络人).
LABELS = ("rule", "unit", "indicator", "period", "leader", "lead_department", "severity", "tier")
# Gauges exposed per verdict: (metric suffix, column, help).
GAUGES = (
    ("value", "value", "Reported value the verdict judged, in the indicator's unit of measure."),
    ("target", "target", "Target the value was held against (the floor tier)."),
    ("gap", "gap", "Value minus target, signed so that negative is short of the target."),
    ("rank", "rank", "Rank of the unit in its peer group (1 = best), when the rule ranks."),
    ("group_size", "group_size", "Number of units ranked in the peer group."),
    ("required_run_rate", "required_run_rate", "Value per remaining period still needed to meet an annual target."),
    ("stretch_met", "stretch_met", "1 when the stretch tier (力争) is met, 0 otherwise."),
    ("reference", "reference", "The figure the value was compared with: the group's own figure or the peers' mean."),
    ("rank_change", "rank_change", "Places gained since the previous period (positive = 进位, negative = 退位)."),
)
# The per-period history the league table and the pacing charts read (``targetwatch_period_*``): every
# period of the year so far of the rules that rank, compare with their group or pace an annual target,
# judged for every member of the rule's peer group.
HISTORY_LABELS = ("rule", "unit", "indicator", "period", "kind")  # kind: the rule's target kind (rank, compare, pacing)
HISTORY_GAUGES = (
    ("value", "value", "The unit's value at each period of the rule's year (cumulative for pacing rules)."),
    ("target", "target", "The target at each period (for pacing rules the pacing line to the annual target)."),
    ("gap", "gap", "Value minus target at each period, negative = short."),
    ("rank", "rank", "Rank in the peer group at each period (1 = best)."),
    ("group_size", "group_size", "Number of units ranked at each period."),
    ("reference", "reference", "The group's own figure (or the peers' mean) at each period."),
    ("rank_change", "rank_change", "Places gained since the previous period (positive = 进位, negative = 退位)."),
)
# Target kinds whose history is exposed (a league table or a pacing chart reads it).
HISTORY_KINDS = ("rank", "compare", "pacing")


def history_kinds(ruleset) -> dict[str, str]:
    """Rule id → target kind of the rules whose per-period history is exposed (their latest version ranks,
    compares or paces)."""
    latest = {d.id: d for d in sorted(ruleset.docs, key=lambda d: d.version) if not d.is_scorecard}
    return {i: d.doc.spec.target.kind for i, d in latest.items() if d.doc.spec.target.kind in HISTORY_KINDS}


def with_rank_change(frame: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``rank_change`` column: the places each (rule, unit) gained since the previous
    period of ``history`` (positive = 进位); NaN where either rank is missing."""
    out = frame.copy()
    if history.empty or frame.empty:
        out["rank_change"] = np.nan
        return out
    ranks = history[["rule", "unit", "period", "rank"]].copy()
    ranks["rank"] = pd.to_numeric(ranks["rank"], errors="coerce").astype("float64")
    ranks = ranks.sort_values(["rule", "unit", "period"], kind="stable")  # period codes sort in time order
    ranks["rank_change"] = ranks.groupby(["rule", "unit"])["rank"].shift(1) - ranks["rank"]
    keyed = ranks.drop(columns="rank").drop_duplicates(["rule", "unit", "period"], keep="last")
    return out.drop(columns="rank_change", errors="ignore").merge(keyed, on=["rule", "unit", "period"], how="left")


def label_frame(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The label columns as clean strings: missing values become "", lists join with ","; the default
    tier (floor) is no label. ``leader`` is the verdict's recipient (:func:`rules.owners.recipients`): for a
    data-quality verdict (tier="data") the contact (联络人) it goes to, so that /metrics, the alerts pushed to
    Alertmanager and its routes name the same person as the digest."""
    out = pd.DataFrame(index=verdicts.index)
    for col in LABELS:
        series = verdicts[col] if col in verdicts.columns else pd.Series("", index=verdicts.index)
        if col == "leader":  # whom the verdict is for (rules.owners): a data check's contact, else the leader
            series = recipients(verdicts)
        out[col] = series.map(_label_text, na_action="ignore").fillna("").astype(str)
    out["tier"] = out["tier"].where(out["tier"] != "floor", "")
    return out


def _label_text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def status_rank(status: pd.Series) -> pd.Series:
    """0 for the worst status, len(STATUSES) for an unknown one: sorts verdicts worst first."""
    order = {s: i for i, s in enumerate(STATUSES)}
    return status.map(order).fillna(len(STATUSES)).astype(int)


def historic(verdicts: pd.DataFrame, judged: str | None = None) -> np.ndarray:
    """True for each verdict whose period is older than the current reporting period of its frequency.

    The current reporting period of a frequency is the latest one that had ended by the verdict's
    ``as_of`` day (as of 2023-07-20: 2023-06, 2023-Q2, 2023-H1, 2022); a period still running is current
    too. When the operator names the period judged (``serve --period 2023-06``), that period is current
    and nothing is historic.
    """
    if verdicts.empty or "as_of" not in verdicts or (judged is not None and judged != "all"):
        return np.zeros(len(verdicts), dtype=bool)
    from targetwatch import periods

    keys = verdicts["period"].fillna("").astype(str) + "|" + verdicts["as_of"].fillna("").astype(str)
    # One answer per distinct (period, as-of): a handful, whatever the number of verdicts.
    answer = {}
    for key in keys.unique():
        period, day = key.split("|")
        answer[key] = bool(day) and _older_than_current(periods.parse(period), pd.Timestamp(day).date())
    return keys.map(answer).to_numpy(dtype=bool)


def _older_than_current(period, day) -> bool:
    span = 1 if period.is_jan_feb else period.span  # 1-2月 is the monthly release of February
    last_ended = day.year * 12 + day.month - 2  # months counted from year 0; the month before as-of has ended
    current_end = last_ended - (last_ended % 12 + 1) % span  # the latest period boundary of this span
    return period.year * 12 + period.last_month - 1 < current_end
