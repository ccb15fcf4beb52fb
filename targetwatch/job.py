"""The main job: ingest every file the collectors name, evaluate every rule, return what is behind.

It sits above the stages (like the CLI), so it may import them; the stages never import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from collectors.ingest import IngestResult, due_files, ingest, record_runs
from rules import RuleSet, evaluate, load_valid_rules
from rules.verdict import worst_first
from rules.vocabulary import STATUSES, label
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
    """Verdicts grouped by leader (display name), most behind first: leaders ordered by how many of their
    verdicts are behind, then late, then at risk (the vocabulary's order of severity), then by their
    largest shortfall; each leader's verdicts worst first. Verdicts without a leader come last."""
    if verdicts.empty:
        return []
    names = verdicts["leader"].map(lambda p: dep.people[p].name if isinstance(p, str) and p in dep.people else UNASSIGNED)
    counts = pd.crosstab(names, verdicts["status"]).reindex(columns=list(STATUSES), fill_value=0)
    shortfall = verdicts["gap"].astype("float64").groupby(names).min().reindex(counts.index).fillna(np.inf)
    keys = counts.assign(_unassigned=counts.index == UNASSIGNED, _shortfall=shortfall)
    order = keys.sort_values(["_unassigned", *STATUSES, "_shortfall"], ascending=[True, *[False] * len(STATUSES), True],
                             kind="stable").index
    return [(leader, worst_first(verdicts[names == leader])) for leader in order]


UNASSIGNED = "（未指定牵头领导）"


@dataclass
class Briefing:
    """What the main job tells a reader: the counts, whether anything new landed, the leaders' verdicts."""

    as_of: str
    counts: dict[str, int]
    files: int
    landed: bool  # some file brought new revisions, quarantined rows or failed
    leaders: list[tuple[str, pd.DataFrame]]

    def summary(self) -> str:
        """The one line a leader reads first."""
        parts = "，".join(f"{label(s)} {self.counts.get(s, 0)}" for s in STATUSES)
        return f"截至 {self.as_of}：{sum(self.counts.values())} 项目标判定 —— {parts}"


def briefing(dep: Deployment, result: RunResult, *, as_of=None, everything: bool = False) -> Briefing:
    """The briefing of a run: every verdict counted, those not on track (or all) by leader, most behind first."""
    verdicts = result.verdicts
    counts = {s: int(n) for s, n in verdicts["status"].value_counts().items()} if not verdicts.empty else {}
    shown = verdicts if everything else verdicts[verdicts["status"] != "on_track"]
    landed = any(not r.ok or (r.batch is not None and (r.batch.revisions_added or r.batch.quarantined)) for r in result.ingested)
    when = str(verdicts["as_of"].iloc[0]) if not verdicts.empty else str(as_of or dep.settings.as_of or date.today())
    return Briefing(when, counts, len(result.ingested), landed, by_leader(dep, shown))
