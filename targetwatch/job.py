"""The main job: ingest every file the collectors name, evaluate every rule, return what is behind.

It sits above the stages (like the CLI), so it may import them; the stages never import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from collectors.ingest import IngestResult, due_files, ingest, record_runs
from rules import RuleSet, evaluate, load_valid_rules
from rules.verdict import worst_first
from targetwatch.deployment import Deployment
from targetwatch.periods import TZ
from targetwatch.store import Store


@dataclass
class RunResult:
    """What one run did: the files ingested, the rules evaluated (and the files left out), the verdicts, worst first."""

    ingested: list[IngestResult]
    verdicts: pd.DataFrame
    rules: RuleSet

    @property
    def ok(self) -> bool:
        """Every file landed without a quarantined row, and every rule file was evaluated."""
        return all(r.ok for r in self.ingested) and not self.rules.invalid_files


def run(dep: Deployment, store: Store, *, as_of=None, progress=None) -> RunResult:
    """Ingest what is due (recorded as a run of each collector), then evaluate as of a date (default: the
    deployment's ``as_of`` or today)."""
    started = datetime.now(TZ)
    results = ingest(dep, store, due_files(dep), progress=progress)
    record_runs(dep, results, started_at=started, finished_at=datetime.now(TZ))
    ruleset = load_valid_rules(dep.root, dep)
    verdicts = evaluate(dep, store, as_of=as_of or dep.settings.as_of, ruleset=ruleset)
    return RunResult(results, worst_first(verdicts), ruleset)


def by_leader(dep: Deployment, verdicts: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Verdicts grouped by leader (display name), each group worst first; leaders with a worse verdict come first."""
    if verdicts.empty:
        return []
    names = verdicts["leader"].map(lambda p: dep.people[p].name if isinstance(p, str) and p in dep.people else "（未指定牵头领导）")
    order = pd.unique(names)  # verdicts are already worst first, so leaders come in order of their worst verdict
    return [(leader, verdicts[names == leader]) for leader in order]
