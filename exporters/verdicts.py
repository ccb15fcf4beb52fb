"""The verdict frame as the exporters read it: statuses, label columns, and normalisation.

``rules.evaluate`` produces the frame (``rules.verdict`` defines it). The exporters depend on a small
part of it only, listed here, so that a verdict frame built by hand in a test is enough to drive them.
"""

from __future__ import annotations

import pandas as pd

from rules.verdict import KEY, STATUSES  # STATUSES: worst first, sorts digests and is the StateSet's order

__all__ = ["STATUSES", "DIGEST_STATUSES", "LABELS", "KEY", "GAUGES", "label_frame", "status_rank"]
# Statuses a leader is told about in a digest (no_data is not yet a fault: the deadline has not passed).
DIGEST_STATUSES = ("behind", "late", "at_risk")
# Label columns of every per-verdict metric, in exposition order.
LABELS = ("rule", "unit", "indicator", "period", "leader", "lead_department", "severity")
# Gauges exposed per verdict: (metric suffix, column, help).
GAUGES = (
    ("value", "value", "Reported value the verdict judged, in the indicator's unit of measure."),
    ("target", "target", "Target the value was held against (the floor tier)."),
    ("gap", "gap", "Value minus target, signed so that negative is short of the target."),
    ("rank", "rank", "Rank of the unit in its peer group (1 = best), when the rule ranks."),
    ("group_size", "group_size", "Number of units ranked in the peer group."),
    ("required_run_rate", "required_run_rate", "Value per remaining period still needed to meet an annual target."),
    ("stretch_met", "stretch_met", "1 when the stretch tier (力争) is met, 0 otherwise."),
)


def label_frame(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The seven label columns as clean strings: missing values become "", lists join with ","."""
    out = pd.DataFrame(index=verdicts.index)
    for col in LABELS:
        series = verdicts[col] if col in verdicts.columns else pd.Series("", index=verdicts.index)
        out[col] = series.map(_label_text, na_action="ignore").fillna("").astype(str)
    return out


def _label_text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def status_rank(status: pd.Series) -> pd.Series:
    """0 for the worst status, len(STATUSES) for an unknown one: sorts verdicts worst first."""
    order = {s: i for i, s in enumerate(STATUSES)}
    return status.map(order).fillna(len(STATUSES)).astype(int)
