"""Read rule files (``config/rules/*.yaml``, several documents per file allowed) into located documents.

Parsing gathers every structural problem of every file, as ``rules check`` needs; each problem points
at file:line:column. The checks against the registry, and loading for evaluation, are :mod:`rules.check`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from rules.spec import API_VERSION, KINDS, Rule, Scorecard
from targetwatch import yamlio
from targetwatch.errors import ConfigError, Location


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a rule file: an error fails the check, a warning does not."""

    level: str  # "error" or "warning"
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.level}: {self.message}"


@dataclass
class RuleDoc:
    """One loaded document: the validated spec, and the raw located YAML it came from."""

    doc: Rule | Scorecard
    raw: dict
    file: str

    @property
    def id(self) -> str:
        return self.doc.metadata.id

    @property
    def version(self) -> int:
        return self.doc.metadata.version

    @property
    def is_scorecard(self) -> bool:
        return isinstance(self.doc, Scorecard)

    def where(self, *path) -> Location:
        """The file:line:col of a path inside this document (``"spec", "units", 0``)."""
        return yamlio.locate(self.raw, list(path), self.file)

    def covers(self, day: date) -> bool:
        """Whether this version is in force on ``day`` (its effective range; open ends are open)."""
        meta = self.doc.metadata
        return (meta.effective_from is None or meta.effective_from <= day) and (
            meta.effective_until is None or day <= meta.effective_until
        )


@dataclass
class RuleSet:
    """Every rule and scorecard document of a deployment, with the problems found while loading.

    ``invalid_files`` are the files left out because of an error (see :func:`rules.check.load_valid_rules`)."""

    docs: list[RuleDoc] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)
    invalid_files: list[str] = field(default_factory=list)
    # The versions of each id, oldest first, and the list of docs (and its length) they were read from.
    _by_id: tuple = field(default=(None, 0, {}), init=False, repr=False, compare=False)

    @property
    def rules(self) -> list[RuleDoc]:
        return [d for d in self.docs if not d.is_scorecard]

    @property
    def scorecards(self) -> list[RuleDoc]:
        return [d for d in self.docs if d.is_scorecard]

    def versions(self, rule_id: str) -> list[RuleDoc]:
        """All versions of one id, oldest first (indexed once per list of docs: evaluating asks per rule)."""
        docs, length, by_id = self._by_id
        if docs is not self.docs or length != len(self.docs):
            by_id = {}
            for d in self.docs:
                by_id.setdefault(d.id, []).append(d)
            by_id = {i: sorted(found, key=lambda d: d.version) for i, found in by_id.items()}
            self._by_id = (self.docs, len(self.docs), by_id)
        return list(by_id.get(rule_id, ()))

    @property
    def ids(self) -> list[str]:
        return list(dict.fromkeys(d.id for d in self.docs))


def rule_files(root: str | Path) -> list[Path]:
    """The rule files of a deployment folder (``rules/*.yaml``; none when it has no ``rules/``), or of the
    folder or file given."""
    root = Path(root)
    if root.is_file():
        return [root]
    if (root / "registry").is_dir() and not (root / "rules").is_dir():
        return []  # a deployment without rules: its other YAML files are not rules
    folder = root / "rules" if (root / "rules").is_dir() else root
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def parse_documents(files: list[Path]) -> RuleSet:
    """Validate every document of every file; collect the problems instead of stopping at the first."""
    out = RuleSet()
    for path in files:
        try:
            docs = yamlio.load_all(path)
        except ConfigError as exc:
            out.problems.append(Diagnostic("error", exc.location or Location(file=str(path)), exc.message))
            continue
        for raw in docs:
            _parse_one(raw, str(path), out)
    return out


def _parse_one(raw, file: str, out: RuleSet) -> None:
    if not isinstance(raw, dict):
        out.problems.append(Diagnostic("error", Location(file=file, line=1, col=1), "a rule document must be a mapping"))
        return
    kind, version = raw.get("kind"), raw.get("apiVersion")
    if version != API_VERSION:
        loc = yamlio.locate(raw, ["apiVersion"], file)
        out.problems.append(Diagnostic("error", loc, f"apiVersion must be {API_VERSION!r}, found {version!r}"))
        return
    if not isinstance(kind, str) or kind not in KINDS:  # kind: [] is unhashable: test the type first
        loc = yamlio.locate(raw, ["kind"], file)
        out.problems.append(Diagnostic("error", loc, f"unknown kind {kind!r}; known: {', '.join(KINDS)}"))
        return
    try:
        doc = KINDS[kind].model_validate(raw)
    except ValidationError as exc:
        for loc, msg in yamlio.validation_messages(exc, raw, file):
            out.problems.append(Diagnostic("error", loc, msg))
        return
    out.docs.append(RuleDoc(doc, raw, file))
