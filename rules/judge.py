"""Judging rules: per rule the period and rule version in force, then every unit of every rule of a kind at once.

Per rule (never per unit): pick the period and the version in force (:func:`plan`). Then the judgements
of one kind are judged together with the kind's column arithmetic (:mod:`rules.kinds`) and their statuses
decided in one pass. A unit the rule expects (its ``units``, else its group's
members) that has not reported is ``no_data`` before the reporting deadline and ``late`` after it
(:func:`rules.derive.report_status`); it is never ``behind``, and it never counts in ranks or means.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from rules import messages, verdict
from rules.context import Judgement, data_period
from rules.derive import Observations, report_status
from rules.kinds import JUDGES, STRETCH, Batch
from rules.load import RuleDoc, RuleSet
from rules.owners import owner_chains
from rules.vocabulary import STATUSES
from targetwatch import periods


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
    if start is None:  # an open window: from January of the latest period
        start = periods.Period(end.year, 1, periods.MONTHS[freq] if not (freq == periods.MONTHLY and ind.jan_feb_combined) else 2)
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
        if freq == periods.MONTHLY and jan_feb and p.span == 1 and p.last_month == 2:
            p = periods.Period(p.year, 1, 2)  # February of a 1-2月 indicator is its combined release
    else:
        month = as_of_day.month if as_of_day == periods.Period(as_of_day.year, as_of_day.month, as_of_day.month).end else as_of_day.month - 1
        year, step = as_of_day.year, periods.MONTHS[freq]
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


def version_in_force(versions: list[RuleDoc], day: date) -> RuleDoc | None:
    """The version whose effective range holds ``day``; a later effective_from supersedes an earlier one."""
    live = [d for d in versions if d.covers(day)]
    return max(live, key=lambda d: (d.doc.metadata.effective_from or date.min, d.version)) if live else None


def judge(j: Judgement) -> pd.DataFrame:
    """The verdict rows of one judgement (a batch of one: the same arithmetic as a whole evaluation)."""
    return verdict.as_frame([verdict_columns([j])])


# The status ids as objects, by code: 0 behind, 1 late, 2 at_risk, 3 no_data, 4 on_track.
_STATUS = np.array(STATUSES, dtype=object)
_CODE = {s: i for i, s in enumerate(STATUSES)}


def verdict_columns(judgements: list[Judgement]) -> dict:
    """The columns of the verdict rows of judgements of one kind, judged together: arrays, and what
    repeats per judgement, per status or per unit as :class:`rules.verdict.Coded` columns."""
    b = Batch(judgements)
    js, kind = b.js, judgements[0].target.kind
    cols = JUDGES[kind](b)
    # A kind may know better than the raw value whether a unit has reported enough to be judged.
    reported = cols["has_report"].astype(bool) if "has_report" in cols else ~np.isnan(b.raw)
    lateness = [report_status(j.code, j.ind, j.as_of_day) for j in js]
    gap = cols["gap"]
    code = np.where(~reported, b.per([_CODE[missing] for missing, _ in lateness], dtype=np.intp),
                    np.where(np.isnan(gap), _CODE["no_data"], np.where(cols["met"], _CODE["on_track"],
                             np.where(cols["soft"], _CODE["at_risk"], _CODE["behind"]))))
    missing = ~reported
    stretch = cols["stretch_met"] if cols["stretch_met"] is not None else np.zeros(len(b), dtype=np.intp)
    deadline = [due.isoformat() for _, due in lateness]

    def number(col: str) -> np.ndarray | None:
        return np.asarray(cols[col], dtype=np.float64) if col in cols else None

    def one(values) -> verdict.Coded:
        return verdict.Coded(values, b.jidx)

    cols["_reported"] = reported
    metas = [j.doc.doc.metadata for j in js]
    specs = [j.spec for j in js]
    measure = ["%" if j.metric == "yoy" or kind in ("decline", "share") else ("位" if kind == "rank" else j.ind.measure) for j in js]
    return verdict.rows(
        rule=one([m.id for m in metas]), unit=verdict.Coded(js[0].obs.unit_ids, b.uid),
        indicator=one([j.ind.id for j in js]), period=one([str(j.judged_period) for j in js]),
        as_of=one([j.as_of_day.isoformat() for j in js]),
        status=verdict.Coded(_STATUS, code), stretch_met=verdict.Coded(STRETCH, np.where(missing, 0, stretch)),
        value=np.where(missing, np.nan, number("value")), target=number("target"),
        gap=np.where(missing, np.nan, gap), rank=number("rank"), group_size=number("group_size"),
        reference=number("reference"), required_run_rate=number("required_run_rate"), reported=number("reported"),
        target_version=one([f"v{m.version}" + (f" ({m.effective_from})" if m.effective_from else "") for m in metas]),
        owners=_owners(b), message=messages.sentences(b, cols, code, deadline),
        severity=one([sp.severity.value if sp.severity else None for sp in specs]),
        rule_title=one([m.title for m in metas]), group=one([sp.group for sp in specs]), measure=one(measure),
        deadline=one(deadline), tier=one([j.tier for j in js]),
    )


def _owners(b: Batch) -> verdict.Coded:
    """The owner chains of a batch's rows: each judgement's few distinct chains, and each row's."""
    chains, codes = [], []
    for j in b.js:
        distinct, which = owner_chains(j.dep, j.spec.owners, j.ind.owners, j.units, j.obs.unit_owners())
        codes.append(which + len(chains))
        chains += distinct
    return verdict.Coded(chains, np.concatenate(codes) if codes else np.zeros(0, dtype=np.intp))
