"""Which observations a rule reads, from its spec alone: what incremental evaluation re-evaluates.

After a collection lands new revisions of some (indicator, period) pairs, only the rules that read one
of them can change their verdict. A rule reads, in every version the rule set holds:

- its ``indicator``, and a share's ``of.indicator``; a consistency check, a compare with the group's
  figure and a rank read the same indicator for other units, which this module does not tell apart;
- periods no later than the end of the judged period's year, and no earlier than January two years
  before the earliest year it may judge: a year-on-year metric reads the same period a year earlier, a
  较上期 rank or change reads the previous period (December of the year before for January), an
  ``improve_on: last_year`` rank of a year-on-year metric reads a year earlier still, and a window or a
  year-to-date derivation reads within the judged year.

A scorecard reads what its items read. The answer is conservative: a rule the module cannot place (an
unknown kind, an indicator missing from the registry) is always re-evaluated, and so is every rule
when the store does not say which pairs changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable

from rules.load import RuleSet
from targetwatch import periods
from targetwatch.errors import PeriodError

# Years before the earliest judged year that a rule may read (see the module docstring).
LOOKBACK_YEARS = 2


@dataclass(frozen=True)
class Reads:
    """The indicators a rule reads, over period codes from ``first`` to ``last`` (``None``: no end)."""

    indicators: frozenset[str]
    first: int
    last: int | None

    def touches(self, indicator: str, code: int) -> bool:
        return indicator in self.indicators and code >= self.first and (self.last is None or code <= self.last)


def rule_reads(ruleset: RuleSet, rule_id: str, *, as_of_day: date, period: str | None = None) -> Reads | None:
    """What rule ``rule_id`` reads when judged as of ``as_of_day`` for ``period`` (as ``rules.evaluate``
    takes it: None, a period such as 2023-06, or "all"); None when unsure (re-evaluate it always)."""
    versions = ruleset.versions(rule_id)
    if not versions:
        return None
    if versions[0].is_scorecard:
        return _scorecard_reads(ruleset, versions, as_of_day, period)
    indicators: set[str] = set()
    years: list[int] = []
    for version in versions:
        spec = version.doc.spec
        indicators.add(spec.indicator)
        of = getattr(spec.target, "of", None)
        if of is not None and of.indicator:
            indicators.add(of.indicator)
        if spec.window is not None:
            years.append(spec.window.last.year)
        judged = _judged_years(spec.period, as_of_day, period)
        if judged is None:
            return None
        years.extend(judged)
    return _reads(indicators, years, period)


def _scorecard_reads(ruleset: RuleSet, versions, as_of_day: date, period: str | None) -> Reads | None:
    items: list[Reads] = []
    years: list[int] = []
    for version in versions:
        spec = version.doc.spec
        judged = _judged_years(spec.period, as_of_day, period)
        if judged is None:
            return None
        years.extend(judged)
        for item in spec.items:
            reads = rule_reads(ruleset, item.rule, as_of_day=as_of_day, period=period)
            if reads is None:
                return None
            items.append(reads)
    if not items:
        return None
    own = _reads(set(), years, period)
    ends = [r.last for r in items] + [own.last]
    return Reads(frozenset().union(*(r.indicators for r in items)), min([own.first, *(r.first for r in items)]),
                 None if any(e is None for e in ends) else max(ends))


def _judged_years(window, as_of_day: date, period: str | None) -> list[int] | None:
    """Years the rule may judge, or earlier ones: only their minimum counts (a closed window judged after its
    end is judged at its end, the latest period ended by the as-of day may fall in the year before)."""
    years = [as_of_day.year - 1, as_of_day.year]  # the latest period ended by the as-of day: this year or last
    try:
        for bound in (window.from_, window.to):
            if bound:
                years.append(periods.parse(str(bound)).year)
        if period not in (None, "all"):
            years.append(periods.parse(str(period)).year)
    except PeriodError:
        return None
    return years


def _reads(indicators: set[str], years: list[int], period: str | None) -> Reads:
    first = (min(years) - LOOKBACK_YEARS) * 10000
    # A named period bounds what is read: nothing after the end of its year (a coarser rule period ends there).
    last = (periods.parse(str(period)).year * 10000 + 9999) if period not in (None, "all") else None
    return Reads(frozenset(indicators), first, last)


def affected_rules(ruleset: RuleSet, changed: Iterable[tuple[str, int]] | None, *, as_of_day: date,
                   period: str | None = None) -> list[str]:
    """The ids of the rules (and scorecards) of ``ruleset`` that read one of the ``changed`` (indicator,
    period code) pairs, in the rule set's order; every id when ``changed`` is None (not known)."""
    if changed is None:
        return list(ruleset.ids)
    pairs = set(changed)
    indicators = {ind for ind, _ in pairs}
    out = []
    for rule_id in ruleset.ids:
        reads = rule_reads(ruleset, rule_id, as_of_day=as_of_day, period=period)
        if reads is None or (reads.indicators & indicators and any(reads.touches(ind, code) for ind, code in pairs)):
            out.append(rule_id)
    return out
