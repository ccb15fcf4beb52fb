"""当月 ⇄ 累计 and year-on-year derivations, read from a real store: missing months stay missing."""

from __future__ import annotations

import math
from datetime import date

import pytest

from conftest import ingest
from rules.derive import Observations, deadlines
from targetwatch import periods
from targetwatch.model import Basis

AS_OF = periods.as_of_instant("2023-12-31")


def _wide(dep, store, indicator, basis, code):
    return Observations(store, AS_OF, dep).wide(indicator, basis, [periods.parse(code).code])


def test_cumulative_is_the_running_sum_of_a_complete_year_of_monthly_values(dep, store):
    ingest(store, [("retail", "daxiang", f"2023-{m:02d}", m) for m in range(1, 7)], "2023-07-10", basis="period")
    wide = _wide(dep, store, "retail", Basis.ytd, "2023-06")
    assert wide.loc["daxiang"].tolist() == [21.0]


def test_a_missing_month_leaves_the_cumulative_value_missing_not_zero(dep, store):
    ingest(store, [("retail", "daxiang", f"2023-{m:02d}", m) for m in (1, 2, 4, 5, 6)], "2023-07-10", basis="period")
    wide = _wide(dep, store, "retail", Basis.ytd, "2023-06")
    assert math.isnan(wide.loc["daxiang", wide.columns[0]])


def test_the_monthly_value_is_the_difference_of_consecutive_cumulative_values(dep, store):
    ingest(store, [("retail", "daxiang", "2023-05", 50), ("retail", "daxiang", "2023-06", 62)], "2023-07-10")
    assert _wide(dep, store, "retail", Basis.period, "2023-06").loc["daxiang"].tolist() == [12.0]
    # January's 当月 is its 累计
    ingest(store, [("retail", "daxiang", "2023-01", 9)], "2023-07-11")
    assert _wide(dep, store, "retail", Basis.period, "2023-01").loc["daxiang"].tolist() == [9.0]


def test_a_reported_figure_wins_over_a_derived_one(dep, store):
    ingest(store, [("retail", "daxiang", "2023-05", 50), ("retail", "daxiang", "2023-06", 62)], "2023-07-10")
    ingest(store, [("retail", "daxiang", "2023-06", 11)], "2023-07-10", source="monthly.csv", basis="period")
    assert _wide(dep, store, "retail", Basis.period, "2023-06").loc["daxiang"].tolist() == [11.0]


def test_a_growth_series_is_never_derived(dep, store):
    ingest(store, [("iva_growth", "daxiang", "2023-06", 6.0)], "2023-07-10")
    assert _wide(dep, store, "iva_growth", Basis.period, "2023-06").empty


@pytest.mark.parametrize(
    "indicator, code, expected",
    [("retail", "2023-06", date(2023, 7, 15)), ("jobs", "2023-09", date(2023, 10, 11)), ("jobs", "2024-01", date(2024, 2, 6))],
    ids=["calendar days after the month", "working days skip the national day holiday", "working days count the make-up sunday before spring festival"],
)
def test_deadlines(dep, indicator, code, expected):
    c = periods.parse(code).code
    assert deadlines([c], dep.indicators[indicator])[c] == expected
