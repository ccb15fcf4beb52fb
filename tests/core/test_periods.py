"""Periods: parsing, labels, vectorised neighbours, deadlines in Asia/Shanghai."""

import numpy as np
import pytest

from targetwatch import periods
from targetwatch.errors import PeriodError
from targetwatch.periods import Period


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2023-06", Period(2023, 6, 6)),
        ("2023-6", Period(2023, 6, 6)),
        ("2023-01/02", Period(2023, 1, 2)),
        ("2023-Q2", Period(2023, 4, 6)),
        ("2023-H1", Period(2023, 1, 6)),
        ("2023", Period(2023, 1, 12)),
    ],
    ids=["month", "month without zero", "jan-feb release", "quarter", "half-year", "year"],
)
def test_canonical_periods_parse(text, expected):
    assert periods.parse(text) == expected


@pytest.mark.parametrize("period", ["2023-06", "2023-01/02", "2023-Q2", "2023-H1", "2023"])
def test_canonical_text_round_trips_through_the_code(period):
    p = periods.parse(period)
    assert str(Period.from_code(p.code)) == period


@pytest.mark.parametrize("bad", ["2023-13", "2023-00", "2023-Q5", "23-06", "2023/06", "June", "2023-02/03"])
def test_impossible_or_unreadable_periods_are_errors(bad):
    with pytest.raises(PeriodError):
        periods.parse(bad)


@pytest.mark.parametrize(
    "label, period, ytd",
    [
        ("2023年6月", "2023-06", False),
        ("2023年1-6月", "2023-06", True),
        ("2023年1—6月累计", "2023-06", True),
        ("2023年1-2月", "2023-01/02", False),
        ("2023年第二季度", "2023-Q2", False),
        ("2023年二季度", "2023-Q2", False),
        ("2023年上半年", "2023-H1", False),
        ("2023年", "2023", False),
    ],
)
def test_chinese_labels_read_as_departments_write_them(label, period, ytd):
    parsed = periods.parse_label(label)
    assert str(parsed.period) == period and parsed.ytd is ytd


def test_previous_period_wraps_the_year_and_knows_the_jan_feb_release():
    codes = np.array([periods.parse(p).code for p in ["2023-01", "2023-06", "2023-Q1", "2023", "2023-03", "2023-01/02"]])
    prev = [periods.format_code(c) for c in periods.previous_codes(codes)]
    assert prev == ["2022-12", "2023-05", "2022-Q4", "2022", "2023-02", "2022-12"]
    combined = [periods.format_code(c) for c in periods.previous_codes(codes, jan_feb_combined=True)]
    assert combined[4] == "2023-01/02"


def test_period_end_is_the_end_of_the_last_day_in_shanghai():
    end = periods.parse("2023-Q2").end_instant()
    assert end.isoformat().startswith("2023-06-30T23:59:59") and str(end.tzinfo) == "Asia/Shanghai"


def test_periods_between_lists_every_month_with_a_combined_jan_feb():
    got = periods.periods_between(periods.parse("2023-01/02"), periods.parse("2023-04"), periods.MONTHLY, jan_feb_combined=True)
    assert [str(p) for p in got] == ["2023-01/02", "2023-03", "2023-04"]


def test_an_as_of_takes_a_day_or_a_date_and_time():
    assert periods.as_of_instant("2023-06-21").isoformat().startswith("2023-06-21T23:59:59")
    assert periods.as_of_instant("2023-06-21T09:30:00+08:00").isoformat() == "2023-06-21T09:30:00+08:00"
    with pytest.raises(PeriodError):
        periods.as_of_instant("June")


@pytest.mark.parametrize("text", ["20240229", "2024-02-29", "2024/2/29", "2024.02.29", "2024-02-29 00:00:00"])
def test_a_month_end_date_reads_as_the_month_it_closes(text):
    assert periods.parse_label(text) == periods.Label(periods.Period(2024, 2, 2), ytd=False)


@pytest.mark.parametrize("text, reason", [("2024-02-28", "does not end a month"), ("20230229", "impossible date"),
                                          ("2024/02-29", "cannot read period")])
def test_a_date_that_closes_no_month_is_refused_with_its_reason(text, reason):
    with pytest.raises(PeriodError, match=reason):
        periods.parse_label(text)


def test_the_jan_feb_release_is_never_read_as_a_date():
    assert periods.parse_label("2023-01/02").period == periods.Period(2023, 1, 2)
    assert periods.jan_feb_release(np.array([20230202, 20230101, 20230303])).tolist() == [20230102, 20230101, 20230303]
