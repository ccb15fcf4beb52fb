"""Who owns a verdict: the one owner chain.

Role by role (牵头领导 leader, 牵头部门 lead_department, 责任人 responsible, 联络人 contacts), the first
level that names the role gives it: the rule's ``spec.owners``, then the indicator's owners, then the
unit's. A rule that names only a leader keeps the indicator's contacts, and a unit's own owners fill in
what neither the rule nor the indicator names.

Every channel reads owners through here: the verdict rows (``owners``, ``leader``, ``lead_department``,
hence the /metrics labels, the digests, the Alertmanager routes and the late-report reminders), the rule
catalogue of the generated Prometheus and Alertmanager files, and the "no leader" warning of
``rules check``.

Who a verdict is *for* (its recipient) is decided here too, once: the leader (牵头领导), or for a data-quality
verdict (tier ``data``: a consistency check, :data:`rules.vocabulary.TIERS`) the first contact (联络人), who
reported the figures and can correct them. The digests, the /metrics ``leader`` label, the alerts pushed to
Alertmanager and its routes, and the bulletin's data-check list all read :func:`recipients` or
:func:`recipient`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules.vocabulary import TIERS
from targetwatch.model import Owners

# Who each tier's verdicts are for: a failed data check goes to the contacts (联络人), every target to its leader.
CONTACTS = "contacts"
AUDIENCE: dict[str, str] = {tier: CONTACTS if tier == "data" else "leader" for tier in TIERS}
# Target kinds whose verdicts are data-quality checks (tier data), for code that sees a rule and no verdict.
DATA_KINDS = ("consistency",)


def owner_chain(rule: Owners | None, indicator: Owners | None = None, unit: Owners | None = None) -> Owners:
    """The owners of one verdict: each role from the rule, else the indicator, else the unit."""
    owners = Owners()
    for level in (rule, indicator, unit):
        owners = owners.merged_over(level)
    return owners


def owners_of_units(dep, rule: Owners | None, indicator: Owners | None, units, own: dict | None = None) -> np.ndarray:
    """The owner chain of each unit, as the verdicts' ``owners`` column (an object array of plain dicts).

    ``own`` is the registry's units with owners of their own, when the caller has them at hand
    (:meth:`rules.derive.Observations.unit_owners`)."""
    chains, which = owner_chains(dep, rule, indicator, units, own)
    table = np.empty(len(chains), dtype=object)
    table[:] = chains
    return table[which]


def owner_chains(dep, rule: Owners | None, indicator: Owners | None, units, own: dict | None = None) -> tuple[list[dict], np.ndarray]:
    """The distinct owner chains of units (plain dicts) and each unit's position among them.

    Most units name no owners of their own: they share the first chain, built once, and only the few
    that do get chains of their own."""
    if own is None:
        own = {u.id: u.owners for u in dep.units.values() if u.owners is not None}
    chains = [owner_chain(rule, indicator).model_dump()]
    which = np.zeros(len(units), dtype=np.intp)
    if own:
        at = np.asarray(units, dtype=object)
        hits = np.flatnonzero(pd.Index(at, dtype=object).isin(list(own)))
        if len(hits):
            first = dict.fromkeys(at[hits].tolist())
            position = {u: len(chains) + i for i, u in enumerate(first)}
            chains += [owner_chain(rule, indicator, own[u]).model_dump() for u in first]
            which[hits] = [position[u] for u in at[hits].tolist()]
    return chains, which


def rule_tier_is_data(spec) -> bool:
    """Whether a rule's verdicts are data-quality checks (tier ``data``): its target kind is a consistency check."""
    target = getattr(spec, "target", None)
    return getattr(target, "kind", None) in DATA_KINDS


def recipient(owners: Owners | dict | None, audience: str | None = "leader") -> str | None:
    """The one person a verdict is for: the leader, or with ``audience="contacts"`` the first contact (联络人)."""
    if owners is None:
        return None
    if isinstance(owners, Owners):
        owners = owners.model_dump()
    if audience == CONTACTS:
        return next(iter(owners.get("contacts") or []), None)
    return owners.get("leader") or None


def recipients(verdicts: pd.DataFrame) -> pd.Series:
    """Each verdict's recipient (:func:`recipient`), or None: the ``leader`` column, and for a data-quality verdict
    (``audience`` contacts, else ``tier`` data) the first contact of its owner chain.

    Column-wise: the owner dicts are read only for the data checks, a handful among thousands of verdicts."""
    out = verdicts["leader"].astype(object) if "leader" in verdicts.columns else pd.Series(None, index=verdicts.index, dtype=object)
    if "audience" in verdicts.columns:
        data = (verdicts["audience"] == CONTACTS).to_numpy()
    elif "tier" in verdicts.columns:
        data = verdicts["tier"].map(AUDIENCE).eq(CONTACTS).to_numpy()
    else:
        data = np.zeros(len(verdicts), dtype=bool)
    if data.any() and "owners" in verdicts.columns:
        out = out.copy()
        out[data] = verdicts.loc[data, "owners"].map(lambda o: recipient(o if isinstance(o, dict) else None, CONTACTS)).to_numpy(dtype=object)
    return out.where(out.notna(), None)
