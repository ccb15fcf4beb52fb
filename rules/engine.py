"""``rules.evaluate``: observations → verdicts, one row per (rule, unit, period) for one as-of date.

Every rule is planned first (:mod:`rules.judge`), the observations they all need are read in one pass,
then the rules of each kind are judged together and each scorecard scored (:mod:`rules.scorecard`) into
one verdict frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules import verdict
from rules.check import load_valid_rules
from rules.derive import Observations
from rules.judge import periods_judged, plan, verdict_columns
from rules.load import RuleSet
from rules.projects import project_verdicts
from rules.scorecard import score
from targetwatch import periods


def evaluate(deployment, store, *, as_of=None, period=None, rules=None, ruleset: RuleSet | None = None,
             whole_group: bool = False) -> pd.DataFrame:
    """The verdict frame (``rules.verdict.VERDICT_COLUMNS``) of every rule, or of the ids in ``rules``.

    ``ruleset`` is the configuration of this evaluation (default: the deployment's valid rule files,
    :func:`rules.check.load_valid_rules`). ``as_of`` (a date or YYYY-MM-DD; default today) fixes both the
    period judged by default (the latest one ended by then) and the revisions used (those reported by
    then). ``period`` judges that period; ``period="all"`` judges every period of each rule's window
    ended by then (from January of the latest one when the window has no start), for back-filling histories.
    ``whole_group`` judges a rule with a peer group for every member of the group, not only its own units
    (a league table).
    """
    ruleset = ruleset or load_valid_rules(deployment.root, deployment)
    instant = periods.as_of_instant(as_of)
    day = instant.date()
    obs = Observations(store, instant, deployment)
    wanted = [i for i in ruleset.ids if rules is None or i in set(rules)]
    judgements = [j for doc_id in wanted for p in periods_judged(ruleset, doc_id, deployment, day, period)
                  if (j := plan(ruleset, doc_id, deployment, obs, day, p,
                                units=_group_members(ruleset, doc_id, deployment) if whole_group else None)) is not None]
    needs: dict[int, set[str]] = {}
    for j in judgements:
        for code, inds in j.needs().items():
            needs.setdefault(code, set()).update(inds)
    obs.prefetch(needs)
    frames = [judge_all(judgements)] if judgements else []
    for doc_id in wanted:
        docs = ruleset.versions(doc_id)
        if docs[0].is_scorecard:
            first_item = docs[-1].doc.spec.items[0].rule
            for p in periods_judged(ruleset, first_item, deployment, day, period):
                frames.append(score(docs[-1], ruleset, deployment, obs, day, p))
    if rules is None:  # every rule: the project checks too (rules/projects.py), one row per project
        frames.append(project_verdicts(deployment, store, instant, period=period))
    # The judged rows come in the contract's dtypes already (verdict.as_frame): only the few others are conformed.
    frames = [f if i == 0 and judgements else verdict.conform(f) for i, f in enumerate(frames)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return verdict.empty()
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def judge_all(judgements: list) -> pd.DataFrame:
    """The verdict rows of every judgement, in their order: the judgements of each kind judged together
    (rules as data: one columnar pass per kind, not one per rule), then one frame."""
    by_kind: dict[str, list[int]] = {}
    for i, j in enumerate(judgements):
        by_kind.setdefault(j.target.kind, []).append(i)
    parts = [verdict_columns([judgements[i] for i in at]) for at in by_kind.values()]
    # Back to the judgements' order: the rows of judgement i start at offset[i].
    offset = np.concatenate([[0], np.cumsum([len(j.units) for j in judgements])])
    rows_at = [np.concatenate([np.arange(offset[i], offset[i + 1]) for i in at]) for at in by_kind.values()]
    return verdict.as_frame(parts, rows_at=rows_at, conformed=True)


def _group_members(ruleset: RuleSet, rule_id: str, dep) -> list[str] | None:
    """Every member of a rule's peer group (None without a group: the rule's own units)."""
    versions = ruleset.versions(rule_id)
    group = None if versions[0].is_scorecard else versions[-1].doc.spec.group
    return dep.group_members(group) if group else None
