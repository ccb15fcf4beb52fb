"""The rules and their owners, as the generated Prometheus and Alertmanager files need them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleInfo:
    """One rule (its latest version): id, Chinese title, source document, and its leader."""

    id: str
    title: str
    document: str
    leader: str | None
    unit: str | None = None  # the first unit the rule judges (an example for generated tests)
    indicator: str | None = None
    lead_department: str = ""


def rule_catalogue(deployment) -> list[RuleInfo]:
    """Every rule and scorecard of the deployment, in file order; empty when it has no ``rules/`` folder."""
    if not (deployment.root / "rules").is_dir():
        return []
    from rules import load_rules

    latest: dict[str, object] = {}
    for doc in load_rules(deployment.root, deployment).docs:
        if doc.id not in latest or doc.version > latest[doc.id].version:
            latest[doc.id] = doc
    out = []
    for doc in latest.values():
        spec = doc.doc.spec
        owners = spec.owners
        indicator = deployment.indicators.get(getattr(spec, "indicator", None) or "")
        if indicator is not None and indicator.owners is not None:
            owners = owners.merged_over(indicator.owners) if owners else indicator.owners
        source = getattr(spec, "source", None)
        units = list(getattr(spec, "units", None) or [])
        group = getattr(spec, "group", None)
        if not units and group in deployment.groups:
            units = deployment.group_members(group)
        out.append(RuleInfo(doc.id, doc.doc.metadata.title, (source.document or "") if source else "",
                            owners.leader if owners else None, units[0] if units else None,
                            getattr(spec, "indicator", None), ",".join(owners.lead_department) if owners else ""))
    return out


def leaders(deployment, catalogue: list[RuleInfo] | None = None) -> list[str]:
    """Person ids that lead a rule, an indicator or a unit, in registry order."""
    ids = {r.leader for r in (catalogue if catalogue is not None else rule_catalogue(deployment)) if r.leader}
    for owned in (*deployment.units.values(), *deployment.indicators.values()):
        if owned.owners is not None and owned.owners.leader:
            ids.add(owned.owners.leader)
    return [p for p in deployment.people if p in ids]
