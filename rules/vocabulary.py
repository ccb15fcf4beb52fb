"""The judgement vocabulary: status ids, their order of severity, and the one table of their Chinese words.

Every surface that names a status (the CLI, verdict messages, digests, reminders, Prometheus rule
annotations, Alertmanager templates, dashboards, bulletins) reads its words from :data:`WORDS`, so that a
leader sees one word per status on every channel. Change a word here and it changes everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StatusWords:
    """How one status reads.

    ``label`` is the short word of tables, dashboards and summaries (落后); ``sentence`` ends a verdict
    sentence (…，落后。); ``alert`` is the headline of an alert or a digest section (落后于目标);
    ``colour`` is the traffic light (a Grafana colour name); ``severity`` the default alert severity.
    """

    label: str
    sentence: str
    alert: str
    colour: str
    severity: str


# Worst first: the order in which leaders read them, and the StateSet order on /metrics.
STATUSES = ("behind", "late", "at_risk", "no_data", "on_track")

WORDS: dict[str, StatusWords] = {
    "behind": StatusWords("落后", "落后", "落后于目标", "red", "critical"),
    "late": StatusWords("逾期未报", "逾期未报", "逾期未报送", "orange", "warning"),
    "at_risk": StatusWords("有风险", "有风险", "存在完不成目标的风险", "yellow", "warning"),
    "no_data": StatusWords("待报送", "待报送", "尚未到报送期限", "blue", "none"),
    "on_track": StatusWords("达标", "达标", "达到目标", "green", "none"),
}

assert tuple(WORDS) == STATUSES


def label(status: str) -> str:
    """The short Chinese word of a status id (the id itself for an unknown one)."""
    words = WORDS.get(status)
    return words.label if words else status


# ---- target tiers (确保 / 力争) ------------------------------------------------------------------------


@dataclass(frozen=True)
class TierWords:
    """How a miss of one tier reads; the status stays ``behind``, the words and the severity differ.

    ``missed`` replaces 落后 at the end of a verdict sentence, in a digest's heading and in the Prometheus
    ``tier`` label's alert summary; ``severity`` is the alert severity of such a miss.
    """

    name: str
    missed: str
    severity: str


# floor (确保): a miss is 落后 and critical. stretch (力争 only): a miss is a warning with its own words.
# data (a cross-level consistency check): a miss is a data-quality warning for the contacts (联络人), not the leader.
TIERS: dict[str, TierWords] = {
    "floor": TierWords("确保", WORDS["behind"].label, WORDS["behind"].severity),
    "stretch": TierWords("力争", "未达力争目标", "warning"),
    "data": TierWords("数据核对", "数据不一致", "warning"),
}


def status_label(status: str, tier: str | None = None) -> str:
    """The short word of a verdict: the status's, or the tier's own for a missed 力争-only target."""
    if status == "behind" and tier in TIERS:
        return TIERS[tier].missed
    return label(status)
