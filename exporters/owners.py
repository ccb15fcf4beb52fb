"""The rules and their owners, as the generated Prometheus and Alertmanager files need them."""

from __future__ import annotations

from dataclasses import dataclass

from rules import RuleSet, load_valid_rules
from rules.owners import AUDIENCE, owner_chain, recipient, rule_tier_is_data


@dataclass(frozen=True)
class RuleInfo:
    """One rule (its latest version): id, Chinese title, source document, and its owners for an example unit.

    ``leader`` and ``lead_department`` are the owner chain's (:mod:`rules.owners`) for ``unit``, the first
    unit the rule judges; ``leaders`` are the chain's leaders over all the units it judges. ``leader`` and
    ``leaders`` are whom the verdicts are for (:func:`rules.owners.recipient`): of a data check, the contacts."""

    id: str
    title: str
    document: str
    leader: str | None
    unit: str | None = None  # the first unit the rule judges (an example for generated tests)
    indicator: str | None = None
    lead_department: str = ""
    leaders: tuple[str, ...] = ()


def rule_catalogue(deployment, ruleset: RuleSet | None = None) -> list[RuleInfo]:
    """Every rule and scorecard of the deployment (default: its valid rule files), in file order."""
    ruleset = ruleset or load_valid_rules(deployment.root, deployment)
    latest: dict[str, object] = {}
    for doc in ruleset.docs:
        if doc.id not in latest or doc.version > latest[doc.id].version:
            latest[doc.id] = doc
    out = []
    for doc in latest.values():
        spec = doc.doc.spec
        indicator = deployment.indicators.get(getattr(spec, "indicator", None) or "")
        units = list(getattr(spec, "units", None) or [])
        group = getattr(spec, "group", None)
        if not units and group in deployment.groups:
            units = deployment.group_members(group)
        chains = [owner_chain(spec.owners, indicator.owners if indicator else None,
                              deployment.units[u].owners if u in deployment.units else None) for u in units or [None]]
        source = getattr(spec, "source", None)
        audience = AUDIENCE["data"] if rule_tier_is_data(spec) else AUDIENCE["floor"]
        people = [recipient(c, audience) for c in chains]
        out.append(RuleInfo(doc.id, doc.doc.metadata.title, (source.document or "") if source else "",
                            people[0], units[0] if units else None, getattr(spec, "indicator", None),
                            ",".join(chains[0].lead_department), tuple(dict.fromkeys(p for p in people if p))))
    return out


def leaders(deployment, catalogue: list[RuleInfo] | None = None) -> list[str]:
    """Person ids that lead a verdict (the owner chain of some rule and unit, or a project of the ledgers), in registry order."""
    ids = {p for r in (catalogue if catalogue is not None else rule_catalogue(deployment)) for p in r.leaders}
    from rules.projects import ledger_leaders

    ids.update(ledger_leaders(deployment))  # 包联领导 of the projects: their verdicts reach them too
    return [p for p in deployment.people if p in ids]
