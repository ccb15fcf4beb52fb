"""Who owns a verdict: the one owner chain.

Role by role (牵头领导 leader, 牵头部门 lead_department, 责任人 responsible, 联络人 contacts), the first
level that names the role gives it: the rule's ``spec.owners``, then the indicator's owners, then the
unit's. A rule that names only a leader keeps the indicator's contacts, and a unit's own owners fill in
what neither the rule nor the indicator names.

Every channel reads owners through here: the verdict rows (``owners``, ``leader``, ``lead_department``,
hence the /metrics labels, the digests, the Alertmanager routes and the late-report reminders), the rule
catalogue of the generated Prometheus and Alertmanager files, and the "no leader" warning of
``rules check``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from targetwatch.model import Owners


def owner_chain(rule: Owners | None, indicator: Owners | None = None, unit: Owners | None = None) -> Owners:
    """The owners of one verdict: each role from the rule, else the indicator, else the unit."""
    owners = Owners()
    for level in (rule, indicator, unit):
        owners = owners.merged_over(level)
    return owners


def owners_of_units(dep, rule: Owners | None, indicator: Owners | None, units, own: dict | None = None) -> np.ndarray:
    """The owner chain of each unit, as the verdicts' ``owners`` column (an object array of plain dicts).

    Most units name no owners of their own: they share one dict, built once, and only the rows of the
    few that do are set apart. ``own`` is the registry's units with owners of their own, when the caller
    has them at hand (:meth:`rules.derive.Observations.unit_owners`)."""
    if own is None:
        own = {u.id: u.owners for u in dep.units.values() if u.owners is not None}
    out = np.empty(len(units), dtype=object)
    out.fill(owner_chain(rule, indicator).model_dump())
    if own:
        at = np.asarray(units, dtype=object)
        hits = np.flatnonzero(pd.Index(at, dtype=object).isin(list(own)))
        merged = {u: owner_chain(rule, indicator, own[u]).model_dump() for u in dict.fromkeys(at[hits].tolist())}
        for i in hits.tolist():
            out[i] = merged[at[i]]
    return out
