"""``rules.evaluate``: observations → verdicts, one row per (rule, unit, period) for one as-of date.

Per rule (never per unit): pick the period and the rule version in force, read what it needs as of the
evaluation time, judge every unit at once with the kind's column arithmetic, then decide the status:
a unit that has not reported is ``no_data`` before the reporting deadline and ``late`` after it; it is
never ``behind``, and it never counts in ranks or means.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from rules import messages, verdict
from rules.context import Judgement
from rules.derive import Observations, deadlines
from rules.kinds import JUDGES
from rules.load import RuleDoc, RuleSet, load_rules
from targetwatch import periods
from targetwatch.model import Owners

_STEP = {periods.MONTHLY: 1, periods.QUARTERLY: 3, periods.HALF_YEARLY: 6, periods.YEARLY: 12}


def evaluate(deployment, store, *, as_of=None, period=None, rules=None, ruleset: RuleSet | None = None) -> pd.DataFrame:
    """The verdict frame (``rules.verdict.VERDICT_COLUMNS``) of every rule, or of the ids in ``rules``.

    ``as_of`` (a date or YYYY-MM-DD; default today) fixes both the period judged by default (the latest
    one ended by then) and the revisions used (those reported by then). ``period`` judges that period;
    ``period="all"`` judges every period of each rule's window ended by then (from January of the
    latest one when the window has no start), for back-filling histories.
    """
    ruleset = ruleset or load_rules(deployment.root, deployment)
    instant = periods.as_of_instant(as_of)
    day = instant.date()
    obs = Observations(store, instant, deployment)
    wanted = [i for i in ruleset.ids if rules is None or i in set(rules)]
    judgements = [j for doc_id in wanted for p in periods_judged(ruleset, doc_id, deployment, day, period)
                  if (j := plan(ruleset, doc_id, deployment, obs, day, p)) is not None]
    needs: dict[int, set[str]] = {}
    for j in judgements:
        for code, inds in j.needs().items():
            needs.setdefault(code, set()).update(inds)
    obs.prefetch(needs)
    # One frame for every rule's rows, built once from their columns: a frame per rule would cost
    # more than judging it.
    frames = [as_frame([verdict_columns(j) for j in judgements])] if judgements else []
    from rules.scorecard import score

    for doc_id in wanted:
        docs = ruleset.versions(doc_id)
        if docs[0].is_scorecard:
            first_item = docs[-1].doc.spec.items[0].rule
            for p in periods_judged(ruleset, first_item, deployment, day, period):
                frames.append(score(docs[-1], ruleset, deployment, obs, day, p))
    frames = [f for f in frames if len(f)]
    return verdict.conform(pd.concat(frames, ignore_index=True)) if frames else verdict.empty()


def periods_judged(ruleset: RuleSet, rule_id: str, dep, as_of_day: date, period) -> list:
    """The ``period`` arguments to plan a rule with: the one given, or each period for ``"all"``."""
    if period != "all":
        return [period]
    versions = ruleset.versions(rule_id)
    if versions[0].is_scorecard:
        return []
    spec = versions[-1].doc.spec
    ind = dep.indicators[spec.indicator]
    freq = spec.period.frequency or ind.frequency
    last = judged_period(freq, as_of_day, ind.jan_feb_combined, spec.period)
    if last is None:
        return []
    end = periods.Period.from_code(last)
    start = periods.parse(str(spec.period.from_)) if spec.period.from_ else None
    if start is None or start.year < end.year - 1:
        start = periods.Period(end.year, 1, _STEP[freq] if not (freq == periods.MONTHLY and ind.jan_feb_combined) else 2)
    return [str(p) for p in periods.periods_between(start, end, freq, ind.jan_feb_combined and freq == periods.MONTHLY)]


def plan(ruleset: RuleSet, rule_id: str, dep, obs: Observations, as_of_day: date, period=None, units=None) -> Judgement | None:
    """The judgement of one rule: its period (given, or the latest ended by as-of) and the version then in force."""
    versions = ruleset.versions(rule_id)
    if not versions or versions[0].is_scorecard:
        return None
    ind = dep.indicators[versions[-1].doc.spec.indicator]
    window = versions[-1].doc.spec.period
    freq = window.frequency or ind.frequency
    code = judged_period(freq, as_of_day, ind.jan_feb_combined, window, period)
    if code is None:
        return None
    doc = version_in_force(versions, periods.Period.from_code(code).end)
    if doc is None:
        return None
    ind = dep.indicators[doc.doc.spec.indicator]
    data_code = data_period(code, ind)
    j = Judgement(doc, ind, dep, obs, data_code, as_of_day, judged=code if data_code != code else None)
    if units is not None:
        j.units = [u for u in units]
    return j


def judged_period(freq: str, as_of_day: date, jan_feb: bool, window, period=None) -> int | None:
    """The period code judged: ``period`` if given, else the latest of ``freq`` ended by as-of, kept in the window."""
    if period is not None:
        p = periods.parse(str(period)) if not isinstance(period, periods.Period) else period
        if p.frequency != freq and not (freq == periods.MONTHLY and p.is_jan_feb):
            return None
    else:
        month = as_of_day.month if as_of_day == periods.Period(as_of_day.year, as_of_day.month, as_of_day.month).end else as_of_day.month - 1
        year, step = as_of_day.year, _STEP[freq]
        last = month // step * step
        if freq == periods.MONTHLY and jan_feb and last == 1:
            last = 0
        if last == 0:
            year, last = year - 1, 12
        p = periods.Period(year, 1, 2) if (freq == periods.MONTHLY and jan_feb and last == 2) else periods.Period(year, last - step + 1, last)
        if window.to is not None and p > periods.parse(str(window.to)):
            p = periods.parse(str(window.to))
    if window.from_ is not None and p < periods.parse(str(window.from_)):
        return None
    if window.to is not None and p > periods.parse(str(window.to)):
        return None
    return p.code


def data_period(code: int, ind) -> int:
    """The indicator's own period that answers for a coarser rule period: the one ending in the same month.

    A year-to-date figure at June is the first half's; a 当期 figure of a coarser period is not stored, and
    ``rules check`` rejects such a rule unless the indicator is additive (then 累计 differences give it).
    """
    p = periods.Period.from_code(code)
    if p.frequency == ind.frequency:
        return code
    step = _STEP[ind.frequency]
    if ind.frequency == periods.MONTHLY and ind.jan_feb_combined and p.last_month == 2:
        return periods.Period(p.year, 1, 2).code
    return periods.Period(p.year, p.last_month - step + 1, p.last_month).code


def version_in_force(versions: list[RuleDoc], day: date) -> RuleDoc | None:
    """The version whose effective range holds ``day``; a later effective_from supersedes an earlier one."""
    live = [d for d in versions if d.covers(day)]
    return max(live, key=lambda d: (d.doc.metadata.effective_from or date.min, d.version)) if live else None


def judge(j: Judgement) -> pd.DataFrame:
    """The verdict rows of one judgement (contract columns plus a few the explainer uses)."""
    return as_frame([verdict_columns(j)])


def as_frame(parts: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    """Verdict rows from the columns of one or more judgements, in order."""
    columns = {}
    for name, first in parts[0].items():
        values = np.concatenate([part[name] for part in parts]) if len(parts) > 1 else first
        # Object columns, built as such: letting pandas infer its str dtype for every column of every
        # rule (and converting back in conform) would double the evaluation time.
        columns[name] = pd.Series(values, dtype=object) if values.dtype == object else values
    return pd.DataFrame(columns)


def verdict_columns(j: Judgement) -> dict[str, np.ndarray]:
    """The columns of one judgement's verdict rows, as arrays."""
    frame = JUDGES[j.target.kind](j)
    # A kind may know better than the raw value whether a unit has reported enough to be judged.
    reported = frame["has_report"].astype(bool) if "has_report" in frame else j.on_units(j.raw()).notna()
    frame["value_reported"] = reported
    due = deadlines([j.code], j.ind)[j.code]
    missing_status = "late" if j.as_of_day > due else "no_data"
    met = frame["met"]
    soft = frame.get("soft", False)
    soft = pd.Series(soft, index=frame.index).fillna(False).astype(bool)
    status = np.where(~reported, missing_status, np.where(met.isna(), "no_data",
                      np.where(met.fillna(False).astype(bool), "on_track", np.where(soft, "at_risk", "behind"))))
    status = pd.Series(status, index=frame.index)
    spec, meta = j.spec, j.doc.doc.metadata
    units = frame.index.to_numpy(dtype=object)
    n = len(units)
    owners = owners_of(j, units)
    missing = ~reported.to_numpy(bool)

    def text(values) -> np.ndarray:
        if np.ndim(values) == 0:
            return np.full(n, values, dtype=object)
        if isinstance(values, np.ndarray) and values.dtype == object:
            return values
        out = np.empty(n, dtype=object)  # element by element: a list of dicts must not become a 2-D array
        out[:] = list(values)
        return out

    def number(col: str) -> np.ndarray:
        return frame[col].to_numpy(np.float64) if col in frame else np.full(n, np.nan)

    stretch = frame["stretch_met"].to_numpy(dtype=object) if "stretch_met" in frame else np.full(n, None, dtype=object)
    stretch = np.where(missing | pd.isna(stretch), None, stretch)
    status_text = status.to_numpy(dtype=object)
    measure = "%" if j.metric == "yoy" or j.target.kind in ("decline", "share") else ("位" if j.target.kind == "rank" else j.ind.measure)
    return {
        "rule": text(meta.id), "unit": text(units), "indicator": text(j.ind.id), "period": text(str(j.judged_period)),
        "as_of": text(j.as_of_day.isoformat()), "status": text(status_text), "stretch_met": text(stretch),
        "value": np.where(missing, np.nan, number("value")), "target": number("target"),
        "gap": np.where(missing, np.nan, number("gap")), "rank": number("rank"), "group_size": number("group_size"),
        "reference": number("reference"), "required_run_rate": number("required_run_rate"),
        "target_version": text(f"v{meta.version}" + (f" ({meta.effective_from})" if meta.effective_from else "")),
        "owners": text(owners),
        "message": text(messages.sentences(j, frame, j.obs.unit_names(units), status, due.isoformat())),
        "severity": text(verdict.severities(status, spec.severity.value if spec.severity else None)),
        "rule_title": text(meta.title), "group": text(spec.group), "reported": number("reported"),
        "measure": text(measure), "leader": text([o["leader"] for o in owners]),
        "lead_department": text([o["lead_department"][0] if o["lead_department"] else None for o in owners]),
        "deadline": text(due.isoformat()),
    }


def owners_of(j: Judgement, units) -> list[dict]:
    """The owner chain per unit: the rule's roles, then the indicator's, then the unit's."""
    base = (j.spec.owners or Owners()).merged_over(j.ind.owners)
    shared = base.model_dump()
    own = j.obs.unit_owners()  # only the few units that name owners of their own
    if not own:
        return [shared] * len(units)
    merged = {u: base.merged_over(o).model_dump() for u, o in own.items()}
    return [merged.get(u, shared) for u in units]
