"""``rules check``: every problem of every rule file, located at file:line:column, errors apart from warnings.

Structural problems come from parsing (``rules.load``); this module adds the checks that need the
registry: unknown indicators, units, groups and people, empty groups, an incompatible period or
frequency, duplicate ids, overlapping versions, and allocations that do not add up. It also loads the
rules for evaluation: :func:`load_valid_rules` leaves out each file with an error and keeps every other
one, as Prometheus keeps serving its good rules; :func:`load_rules` refuses any error.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rules.load import Diagnostic, RuleDoc, RuleSet, parse_documents, rule_files
from rules.owners import owner_chain
from targetwatch import periods
from targetwatch.errors import ConfigError, PeriodError
from targetwatch.model import Basis, IndicatorKind


def check(config: str | Path, deployment) -> list[Diagnostic]:
    """Every diagnostic for the rule files of a deployment folder (empty when all is well)."""
    ruleset = parse_documents(rule_files(config))
    return [*ruleset.problems, *semantic_problems(ruleset, deployment)]


def load_valid_rules(config: str | Path, deployment) -> RuleSet:
    """The rules to evaluate: every document of every rule file without an error.

    A file with an error (structural, or against the registry) is left out whole and named in
    ``invalid_files``; ``problems`` keeps every located diagnostic. Leaving a file out can break another
    (a scorecard whose item rule it held), so the checks run again until no more files drop out.
    """
    ruleset = parse_documents(rule_files(config))
    problems = list(ruleset.problems)
    while True:
        problems.extend(p for p in semantic_problems(ruleset, deployment) if p not in problems)
        invalid = {p.location.file for p in problems if p.level == "error"}
        kept = [d for d in ruleset.docs if d.file not in invalid]
        if len(kept) == len(ruleset.docs):
            break
        ruleset.docs = kept
    return RuleSet(ruleset.docs, problems, sorted(str(f) for f in invalid))


def load_rules(config: str | Path, deployment=None) -> RuleSet:
    """The rules of a deployment folder; raise one located ConfigError listing every error found.

    With a ``deployment`` the checks against the registry run too.
    """
    ruleset = parse_documents(rule_files(config))
    if deployment is not None:
        ruleset.problems.extend(semantic_problems(ruleset, deployment))
    errors = [p for p in ruleset.problems if p.level == "error"]
    if errors:
        raise ConfigError(
            f"{len(errors)} error(s) in the rule files:\n" + "\n".join(str(p) for p in errors), errors[0].location
        )
    return ruleset


def semantic_problems(ruleset: RuleSet, dep) -> list[Diagnostic]:
    """The checks against the registry and across documents."""
    out: list[Diagnostic] = []
    for doc in ruleset.docs:
        out.extend(_check_scorecard(doc, ruleset, dep) if doc.is_scorecard else _check_rule(doc, dep))
    out.extend(_check_versions(ruleset))
    return out


def _error(doc: RuleDoc, path: tuple, message: str, level: str = "error") -> Diagnostic:
    return Diagnostic(level, doc.where(*path), f"{doc.id}: {message}")


def _check_rule(doc: RuleDoc, dep) -> list[Diagnostic]:
    spec, out = doc.doc.spec, []
    ind = dep.indicators.get(spec.indicator)
    if ind is None:
        out.append(_error(doc, ("spec", "indicator"), f"unknown indicator {spec.indicator!r}; see registry/indicators.yaml"))
    out.extend(_check_units(doc, dep, spec.units, ("spec", "units")))
    out.extend(_check_group(doc, dep, spec.group, ("spec", "group")))
    for uid in spec.overrides:
        if uid not in dep.units:
            out.append(_error(doc, ("spec", "overrides", uid), f"override for unknown unit {uid!r}"))
    out.extend(_check_owners(doc, dep, spec.owners))
    target = spec.target
    if target.kind == "share" and target.of.indicator and target.of.indicator not in dep.indicators:
        out.append(_error(doc, ("spec", "target", "of", "indicator"), f"unknown indicator {target.of.indicator!r}"))
    if target.kind == "share" and target.of.unit not in (None, "parent") and target.of.unit not in dep.units:
        out.append(_error(doc, ("spec", "target", "of", "unit"), f"unknown unit {target.of.unit!r}; write a unit id or 'parent'"))
    if target.kind == "compare" and target.reference_unit and target.reference_unit not in dep.units:
        out.append(_error(doc, ("spec", "target", "reference_unit"), f"unknown unit {target.reference_unit!r}"))
    if target.kind == "compare" and target.reference == "group_figure" and not target.reference_unit:
        group = dep.groups.get(spec.group)
        if group is not None and group.reference_unit is None:
            out.append(_error(doc, ("spec", "target"), f"group {spec.group!r} has no reference_unit: set target.reference_unit or use reference: peer_mean"))
    if target.kind == "consistency":
        out.extend(_check_units(doc, dep, target.children, ("spec", "target", "children")))
        out.extend(_check_group(doc, dep, target.children_group, ("spec", "target", "children_group")))
    if ind is not None:
        out.extend(_check_period(doc, spec.period, ind))
        out.extend(_check_metric(doc, ind))
    out.extend(_check_allocation(doc, dep))
    out.extend(_check_membership(doc, dep))
    out.extend(_check_leader(doc, dep, ind))
    if target.kind == "pacing" and target.annual is None:
        missing = [u for u in (spec.units or []) if u not in spec.overrides and not (spec.allocation and u in spec.allocation.values)]
        if missing or not spec.units:
            out.append(_error(doc, ("spec", "target"), "pacing needs annual: the annual task, or per-unit overrides/allocation for every unit"))
    return out


def _check_units(doc, dep, units, path) -> list[Diagnostic]:
    return [_error(doc, (*path, i), f"unknown unit {u!r}; see registry/units.yaml") for i, u in enumerate(units) if u not in dep.units]


def _check_group(doc, dep, group, path) -> list[Diagnostic]:
    if group is None:
        return []
    if group not in dep.groups:
        return [_error(doc, path, f"unknown peer group {group!r}; known: {', '.join(dep.groups)}")]
    if not dep.group_members(group):
        return [_error(doc, path, f"peer group {group!r} has no members")]
    return []


def _check_owners(doc, dep, owners) -> list[Diagnostic]:
    if owners is None:
        return []
    out = []
    for role in ("leader", "responsible", "contacts"):
        value = getattr(owners, role)
        for pid in [value] if isinstance(value, str) else (value or []):
            if pid not in dep.people:
                out.append(_error(doc, ("spec", "owners", role), f"unknown person {pid!r}; see registry/people.yaml"))
    for uid in owners.lead_department:
        if uid not in dep.units:
            out.append(_error(doc, ("spec", "owners", "lead_department"), f"unknown lead department {uid!r}"))
    return out


def _check_period(doc, window, ind) -> list[Diagnostic]:
    out = []
    freq = window.frequency or ind.frequency
    if freq not in periods.MONTHS:
        return [_error(doc, ("spec", "period", "frequency"), f"unknown frequency {freq!r}; use {', '.join(periods.FREQUENCIES)}")]
    if periods.MONTHS[freq] < periods.MONTHS[ind.frequency]:
        out.append(_error(doc, ("spec", "period", "frequency"), f"frequency {freq} is finer than indicator {ind.id!r}, reported {ind.frequency}"))
    elif periods.MONTHS[freq] > periods.MONTHS[ind.frequency] and (doc.doc.spec.basis or ind.basis) is Basis.period:
        out.append(_error(doc, ("spec", "period", "frequency"), f"a {freq} rule on {ind.id!r} needs a year-to-date (basis: ytd) figure: {ind.frequency} 当期 values are not summed into a {freq} one"))
    for key, text in (("from", window.from_), ("to", window.to)):
        if text is None:
            continue
        try:
            p = periods.parse(str(text))
        except PeriodError as exc:
            out.append(_error(doc, ("spec", "period", key), exc.message))
            continue
        if p.frequency != freq:
            out.append(_error(doc, ("spec", "period", key), f"period {p} is {p.frequency}, but the rule is judged {freq}"))
    return out


def _check_metric(doc, ind) -> list[Diagnostic]:
    spec = doc.doc.spec
    if ind.kind in (IndicatorKind.growth, IndicatorKind.rate) and spec.basis is not None and spec.basis != ind.basis:
        return [_error(doc, ("spec", "basis"), f"{ind.kind.value} indicator {ind.id!r} is reported {ind.basis.value}; a {ind.kind.value} cannot be converted to another basis")]
    if ind.kind is IndicatorKind.rate and spec.metric.value == "yoy":
        return [_error(doc, ("spec", "metric"), f"yoy growth of a rate ({ind.id!r}) is rarely meant; use pp_change", "warning")]
    return []


def _check_allocation(doc, dep) -> list[Diagnostic]:
    alloc = doc.doc.spec.allocation
    if alloc is None:
        return []
    out = _check_units(doc, dep, list(alloc.values), ("spec", "allocation", "values"))
    total = sum(alloc.values.values())
    if abs(total - alloc.total) > alloc.tolerance + 1e-9:
        out.append(_error(doc, ("spec", "allocation", "total"), f"allocation rows add up to {total:g}, not the total {alloc.total:g} (difference {total - alloc.total:+g})"))
    return out


def _check_membership(doc, dep) -> list[Diagnostic]:
    spec = doc.doc.spec
    if spec.target.kind not in ("rank", "compare") or spec.group not in dep.groups or not dep.group_members(spec.group):
        return []
    members = set(dep.group_members(spec.group))
    return [_error(doc, ("spec", "units", i), f"unit {u!r} is not a member of peer group {spec.group!r}, so it has no rank or peers there")
            for i, u in enumerate(spec.units) if u in dep.units and u not in members]


def _check_leader(doc, dep, ind) -> list[Diagnostic]:
    """A warning when nobody leads the rule: its verdicts would reach no leader's digest."""
    spec = doc.doc.spec
    indicator = ind.owners if ind is not None else None
    units = spec.units or (dep.group_members(spec.group) if spec.group in dep.groups else [])
    unit_owners = [dep.units[u].owners if u in dep.units else None for u in units] or [None]
    if all(owner_chain(spec.owners, indicator, owners).leader for owners in unit_owners):
        return []
    return [_error(doc, ("spec",), "no leader: set spec.owners.leader (or the indicator's or unit's owners) so the verdicts reach someone", "warning")]


def _check_scorecard(doc, ruleset: RuleSet, dep) -> list[Diagnostic]:
    spec, out = doc.doc.spec, []
    out.extend(_check_units(doc, dep, spec.units, ("spec", "units")))
    out.extend(_check_group(doc, dep, spec.group, ("spec", "group")))
    known = {d.id for d in ruleset.rules}
    for i, item in enumerate(spec.items):
        if item.rule not in known:
            out.append(_error(doc, ("spec", "items", i, "rule"), f"unknown rule {item.rule!r} in scorecard"))
    return out


def _check_versions(ruleset: RuleSet) -> list[Diagnostic]:
    out = []
    for rule_id in ruleset.ids:
        versions = [d for d in ruleset.docs if d.id == rule_id]
        seen: dict[int, RuleDoc] = {}
        for d in versions:
            if d.version in seen:
                out.append(_error(d, ("metadata", "id"), f"duplicate id: version {d.version} is also defined at {seen[d.version].where('metadata', 'id')}"))
            seen.setdefault(d.version, d)
        spans = sorted((_span(d), d) for d in seen.values())
        for (a_span, a), (b_span, b) in zip(spans, spans[1:]):
            if a.doc.metadata.effective_until is not None and a_span[1] >= b_span[0]:
                out.append(_error(b, ("metadata", "effective_from"), f"version {b.version} overlaps version {a.version} (in force until {a_span[1]})"))
            elif a_span[0] == b_span[0]:
                out.append(_error(b, ("metadata", "effective_from"), f"versions {a.version} and {b.version} take effect on the same day; give each its own effective_from"))
    return out


def _span(doc: RuleDoc) -> tuple[date, date]:
    meta = doc.doc.metadata
    return (meta.effective_from or date.min, meta.effective_until or date.max)
