"""A deployment: a ``--config`` folder read into one object that every stage takes.

Layout of the folder (the example deployment is ``config/``)::

    settings.yaml              optional; see targetwatch.settings
    registry/units.yaml        units and peer groups
    registry/people.yaml       leaders, department heads and contacts
    registry/indicators.yaml   the indicator catalogue
    collectors/*.yaml          sources and the layout of each workbook or CSV
    rules/*.yaml               targets (the rule language)
    inbox/                     files the example collectors read
    provisioning/              Grafana, Prometheus and Alertmanager files for docker-compose
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from targetwatch import yamlio
from targetwatch.errors import ConfigError, Location, UnknownReference
from targetwatch.model import Indicator, PeerGroup, Person, Unit
from targetwatch.settings import Settings, load_settings

DEFAULT_CONFIG = Path("config")


@dataclass
class Deployment:
    """The registries and settings of one deployment."""

    root: Path
    settings: Settings
    settings_origin: dict[str, str]
    units: dict[str, Unit]
    groups: dict[str, PeerGroup]
    people: dict[str, Person]
    indicators: dict[str, Indicator]
    _unit_names: dict[str, str] = field(default_factory=dict, repr=False)
    _indicator_names: dict[str, str] = field(default_factory=dict, repr=False)
    _members: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for unit in self.units.values():
            for name in (unit.id, unit.name, *unit.aliases):
                self._unit_names.setdefault(normalise_name(name), unit.id)
        for ind in self.indicators.values():
            for name in (ind.id, ind.name, *ind.aliases):
                self._indicator_names.setdefault(normalise_name(name), ind.id)

    # -- lookups ------------------------------------------------------------------------------------

    def unit_id(self, name: str) -> str | None:
        """The unit id for an id, a Chinese name or an alias, as written in a source file."""
        return self._unit_names.get(normalise_name(name))

    def indicator_id(self, name: str) -> str | None:
        return self._indicator_names.get(normalise_name(name))

    @property
    def unit_lookup(self) -> dict[str, str]:
        """Normalised name → unit id, for vectorised mapping of a whole column."""
        return self._unit_names

    @property
    def indicator_lookup(self) -> dict[str, str]:
        return self._indicator_names

    def group_members(self, group_id: str) -> list[str]:
        """Member unit ids of a peer group, in registry order (a new list: callers may change it)."""
        if group_id not in self.groups:
            raise UnknownReference(f"unknown peer group {group_id!r}; known: {', '.join(self.groups)}")
        if group_id not in self._members:  # rule checks ask per rule: a scan of 40,000 units each time
            extra = set(self.groups[group_id].members)
            self._members[group_id] = [u.id for u in self.units.values() if group_id in u.groups or u.id in extra]
        return list(self._members[group_id])

    def path(self, relative: str | Path) -> Path:
        """A path inside the deployment folder."""
        p = Path(relative)
        return p if p.is_absolute() else self.root / p


def normalise_name(name) -> str:
    """A name as compared with the registry: without any whitespace, which source files pad names with
    (大  祥, 刘\u3000剑; ``str.split`` also splits on the full-width space)."""
    return "".join(str(name).split())


def _load_list(path: Path, key: str, model: type, required: bool = True, doc: Any = None) -> dict[str, Any]:
    """The ``key`` list of a registry file as models by id; ``doc`` is the file already loaded."""
    if doc is None:
        if not path.exists():
            if required:
                raise ConfigError(f"missing registry file {path} (it lists the {key})")
            return {}
        doc = yamlio.load(path)
    items = doc.get(key, []) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"expected a list under {key!r}", Location(file=str(path), line=1, col=1))
    out: dict[str, Any] = {}
    for i, item in enumerate(items):
        obj = yamlio.parse_model(model, item, str(path))
        if obj.id in out:
            loc = yamlio.locate(items, [i], str(path))
            raise ConfigError(f"duplicate {key[:-1]} id {obj.id!r}", loc)
        out[obj.id] = obj
    return out


def load_deployment(config_dir: str | Path | None = None, settings_overrides: dict[str, Any] | None = None) -> Deployment:
    """Read a deployment folder; every cross-reference is checked, with the file and line of a bad one."""
    root = Path(config_dir) if config_dir else DEFAULT_CONFIG
    if not root.is_dir():
        raise ConfigError(f"no deployment folder at {root.resolve()} (pass --config DIR)")
    settings, origin = load_settings(root, settings_overrides)
    reg = root / "registry"
    units_path = reg / "units.yaml"
    if not units_path.exists():
        raise ConfigError(f"missing registry file {units_path} (it lists the units)")
    units_doc = yamlio.load(units_path)  # once: parsing a national registry is most of loading it
    units = _load_list(units_path, "units", Unit, doc=units_doc)
    groups = _load_list(units_path, "groups", PeerGroup, doc=units_doc)
    people = _load_list(reg / "people.yaml", "people", Person, required=False)
    indicators = _load_list(reg / "indicators.yaml", "indicators", Indicator)
    dep = Deployment(root, settings, origin, units, groups, people, indicators)
    _check_references(dep)
    return dep


def _check_references(dep: Deployment) -> None:
    units_file = str(dep.root / "registry" / "units.yaml")
    for unit in dep.units.values():
        if unit.parent and unit.parent not in dep.units:
            raise UnknownReference(f"unit {unit.id!r}: unknown parent {unit.parent!r}", Location(file=units_file))
        for g in unit.groups:
            if g not in dep.groups:
                raise UnknownReference(f"unit {unit.id!r}: unknown peer group {g!r}", Location(file=units_file))
        _check_owners(dep, unit.owners, f"unit {unit.id!r}", units_file)
    for group in dep.groups.values():
        for ref in [group.reference_unit, *group.members]:
            if ref and ref not in dep.units:
                raise UnknownReference(f"group {group.id!r}: unknown unit {ref!r}", Location(file=units_file))
    ind_file = str(dep.root / "registry" / "indicators.yaml")
    for ind in dep.indicators.values():
        if ind.growth_of and ind.growth_of not in dep.indicators:
            raise UnknownReference(f"indicator {ind.id!r}: unknown growth_of {ind.growth_of!r}", Location(file=ind_file))
        _check_owners(dep, ind.owners, f"indicator {ind.id!r}", ind_file)


def _check_owners(dep: Deployment, owners, what: str, file: str) -> None:
    if owners is None:
        return
    for pid in [owners.leader, *owners.responsible, *owners.contacts]:
        if pid and pid not in dep.people:
            raise UnknownReference(f"{what}: unknown person {pid!r}", Location(file=file))
    for uid in owners.lead_department:
        if uid not in dep.units:
            raise UnknownReference(f"{what}: unknown lead department {uid!r}", Location(file=file))
