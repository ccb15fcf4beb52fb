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

from targetwatch.model import Owners


def owner_chain(rule: Owners | None, indicator: Owners | None = None, unit: Owners | None = None) -> Owners:
    """The owners of one verdict: each role from the rule, else the indicator, else the unit."""
    owners = Owners()
    for level in (rule, indicator, unit):
        owners = owners.merged_over(level)
    return owners


def owners_of_units(dep, rule: Owners | None, indicator: Owners | None, units) -> list[dict]:
    """The owner chain of each unit, as the verdicts' ``owners`` column (plain dicts).

    Most units name no owners of their own: they share one dict, built once."""
    shared = owner_chain(rule, indicator).model_dump()
    own = {u: dep.units[u].owners for u in dict.fromkeys(units) if u in dep.units and dep.units[u].owners is not None}
    merged = {u: owner_chain(rule, indicator, o).model_dump() for u, o in own.items()}
    return [merged.get(u, shared) for u in units]
