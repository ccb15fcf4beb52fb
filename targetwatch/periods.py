"""Calendar reporting periods in Asia/Shanghai: months, Jan–Feb combined releases, quarters, halves, years.

A period is a span of whole months inside one calendar year. That single shape covers every
period the documents use, and gives one integer code that sorts and vectorises:

    code = year * 10000 + first_month * 100 + last_month

    2023-06     -> 20230606     a month
    2023-01/02  -> 20230102     January and February released together
    2023-Q2     -> 20230406     a quarter
    2023-H1     -> 20230106     a half-year
    2023        -> 20230112     a year

Periods are calendar periods, never rolling windows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from targetwatch.errors import PeriodError

TZ = ZoneInfo("Asia/Shanghai")

MONTHLY, QUARTERLY, HALF_YEARLY, YEARLY = "monthly", "quarterly", "half_yearly", "yearly"
FREQUENCIES = (MONTHLY, QUARTERLY, HALF_YEARLY, YEARLY)
# How many months a period of each frequency spans (a Jan–Feb release is a monthly period of two).
MONTHS = {MONTHLY: 1, QUARTERLY: 3, HALF_YEARLY: 6, YEARLY: 12}

_CANONICAL = re.compile(
    r"^(?P<year>\d{4})(?:"
    r"-(?P<month>\d{1,2})"
    r"|-(?P<jan>0?1)/(?P<feb>0?2)"
    r"|-Q(?P<quarter>[1-4])"
    r"|-H(?P<half>[12])"
    r")?$"
)
# Labels that departments write in sheet names and headers: 2023年6月, 2023年1-2月, 2023年1—6月,
# 2023年第二季度, 2023年二季度, 2023年上半年, 2023年. A range starting in January is a year-to-date label.
_CHINESE = re.compile(
    r"^(?P<year>\d{4})年"
    r"(?:(?P<m1>\d{1,2})(?:\s*[-—–~至]\s*(?P<m2>\d{1,2}))?月(?:份)?"
    r"|第?(?P<q>[一二三四1-4])季度"
    r"|(?P<h>[上下])半年"
    r"|(?P<full>全年))?"
    r"(?:累计)?$"
)
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}


@dataclass(frozen=True, order=True)
class Period:
    """A span of whole months within one year (see the module docstring)."""

    year: int
    first_month: int
    last_month: int

    def __post_init__(self) -> None:
        if not (1 <= self.first_month <= self.last_month <= 12):
            raise PeriodError(f"impossible period: months {self.first_month}..{self.last_month}")
        if not (1900 <= self.year <= 2200):
            raise PeriodError(f"impossible period: year {self.year}")
        if self.frequency is None:
            raise PeriodError(
                f"months {self.first_month}..{self.last_month} of {self.year} are not a month, "
                "Jan–Feb release, quarter, half-year or year"
            )

    @property
    def code(self) -> int:
        return self.year * 10000 + self.first_month * 100 + self.last_month

    @classmethod
    def from_code(cls, code: int) -> Period:
        code = int(code)
        return cls(code // 10000, code // 100 % 100, code % 100)

    @property
    def span(self) -> int:
        return self.last_month - self.first_month + 1

    @property
    def is_jan_feb(self) -> bool:
        return self.first_month == 1 and self.last_month == 2

    @property
    def frequency(self) -> str | None:
        return _frequency(self.first_month, self.last_month)

    @property
    def start(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def end(self) -> date:
        """The last calendar day of the period."""
        if self.last_month == 12:
            return date(self.year, 12, 31)
        return date(self.year, self.last_month + 1, 1) - timedelta(days=1)

    def end_instant(self) -> datetime:
        """The end of the period's last day, Asia/Shanghai."""
        return datetime.combine(self.end, time.max, tzinfo=TZ)

    def last_year(self) -> Period:
        return Period(self.year - 1, self.first_month, self.last_month)

    def __str__(self) -> str:
        f, l = self.first_month, self.last_month
        if f == l:
            return f"{self.year}-{f:02d}"
        if (f, l) == (1, 2):
            return f"{self.year}-01/02"
        if (f, l) == (1, 12):
            return f"{self.year}"
        if self.span == 3:
            return f"{self.year}-Q{(l // 3)}"
        return f"{self.year}-H{1 if l == 6 else 2}"

    def label_zh(self) -> str:
        f, l = self.first_month, self.last_month
        if f == l:
            return f"{self.year}年{f}月"
        if (f, l) == (1, 2):
            return f"{self.year}年1-2月"
        if (f, l) == (1, 12):
            return f"{self.year}年"
        if self.span == 3:
            return f"{self.year}年第{'一二三四'[l // 3 - 1]}季度"
        return f"{self.year}年{'上' if l == 6 else '下'}半年"


def _frequency(first: int, last: int) -> str | None:
    if first == last or (first, last) == (1, 2):
        return MONTHLY
    if last - first == 2 and first % 3 == 1:
        return QUARTERLY
    if (first, last) in ((1, 6), (7, 12)):
        return HALF_YEARLY
    if (first, last) == (1, 12):
        return YEARLY
    return None


@lru_cache(maxsize=65536)
def parse(text: str) -> Period:
    """Parse a canonical period: ``2023-06``, ``2023-01/02``, ``2023-Q2``, ``2023-H1`` or ``2023``."""
    raw = str(text).strip()
    m = _CANONICAL.match(raw)
    if not m:
        raise PeriodError(
            f"cannot read period {raw!r}: write 2023-06, 2023-01/02 (Jan–Feb release), 2023-Q2, 2023-H1 or 2023"
        )
    year = int(m["year"])
    if m["month"]:
        month = int(m["month"])
        if not 1 <= month <= 12:
            raise PeriodError(f"impossible period {raw!r}: month {month}")
        return Period(year, month, month)
    if m["jan"]:
        return Period(year, 1, 2)
    if m["quarter"]:
        q = int(m["quarter"])
        return Period(year, 3 * q - 2, 3 * q)
    if m["half"]:
        return Period(year, 1, 6) if m["half"] == "1" else Period(year, 7, 12)
    return Period(year, 1, 12)


@dataclass(frozen=True)
class Label:
    """What a Chinese period label says: the period, and whether it reads as year-to-date (1-6月)."""

    period: Period
    ytd: bool


# A date as tables print a period's closing day: 20240229, 2024-02-29, 2024/2/29, 2024.2.29 (a time of 00:00 allowed).
# One separator throughout, so that 2023-01/02 (the Jan–Feb release) is never read as 2 January.
_DATE = re.compile(r"^(?P<y>\d{4})(?:(?P<m>\d{2})(?P<d>\d{2})|(?P<sep>[-/.])(?P<m2>\d{1,2})(?P=sep)(?P<d2>\d{1,2}))(?:[T ]00:00(?::00)?)?$")


def month_closed_by(text: str) -> Period | None:
    """The month a month-end date closes (2024/2/29 → 2024-02); None if the text is no date.

    A date that does not end its month names no reporting period: PeriodError, with the reason."""
    m = _DATE.match(text)
    if not m:
        return None
    year, month, day = int(m["y"]), int(m["m"] or m["m2"]), int(m["d"] or m["d2"])
    try:
        when = date(year, month, day)
    except ValueError:
        raise PeriodError(f"impossible date {text!r}") from None
    if (when + timedelta(days=1)).month == month:
        raise PeriodError(f"date {text!r} does not end a month: a reporting period is named by the day that closes it "
                          f"({Period(year, month, month).end.isoformat()}) or as {year}-{month:02d}")
    return Period(year, month, month)


def jan_feb_release(codes: np.ndarray) -> np.ndarray:
    """Codes of February alone replaced by the combined Jan–Feb release (for indicators released as 1-2月):
    the figure published at the end of February is the Jan–Feb one. January alone is left as it is."""
    codes = np.asarray(codes, dtype=np.int64)
    return np.where(codes % 10000 == 202, codes // 10000 * 10000 + 102, codes)


def parse_label(text: str) -> Label:
    """Read a Chinese or canonical period label as departments write it in sheets and headers.

    ``2023年1-6月`` is the year-to-date figure at June (period 2023-06, ``ytd``); ``2023年1-2月`` is the
    combined Jan–Feb release; ``2023年6月``, ``2023年第二季度``, ``2023年上半年`` and ``2023年`` are plain. A
    month-end date (``20240229``, ``2024-02-29``, ``2024/2/29``) is the month it closes.
    """
    closed = month_closed_by(str(text).strip())
    if closed is not None:
        return Label(closed, ytd=False)
    raw = re.sub(r"\s+", "", str(text))
    m = _CHINESE.match(raw)
    if not m:
        return Label(parse(raw), ytd=False)
    year = int(m["year"])
    if m["m1"]:
        m1 = int(m["m1"])
        m2 = int(m["m2"]) if m["m2"] else None
        if not 1 <= m1 <= 12 or (m2 is not None and not m1 <= m2 <= 12):
            raise PeriodError(f"impossible period {text!r}")
        if m2 is None:
            return Label(Period(year, m1, m1), ytd=False)
        if (m1, m2) == (1, 2):
            return Label(Period(year, 1, 2), ytd=False)
        if m1 == 1:
            return Label(Period(year, m2, m2), ytd=True)
        return Label(Period(year, m1, m2), ytd=False)
    if m["q"]:
        q = _CN_DIGITS[m["q"]]
        return Label(Period(year, 3 * q - 2, 3 * q), ytd=False)
    if m["h"]:
        return Label(Period(year, 1, 6) if m["h"] == "上" else Period(year, 7, 12), ytd=False)
    return Label(Period(year, 1, 12), ytd=False)


def format_code(code: int) -> str:
    return str(Period.from_code(code))


# ---- vectorised helpers over int64 arrays of period codes ----------------------------------------


def years(codes: np.ndarray) -> np.ndarray:
    return np.asarray(codes, dtype=np.int64) // 10000


def first_months(codes: np.ndarray) -> np.ndarray:
    return np.asarray(codes, dtype=np.int64) // 100 % 100


def last_months(codes: np.ndarray) -> np.ndarray:
    return np.asarray(codes, dtype=np.int64) % 100


def last_year_codes(codes: np.ndarray) -> np.ndarray:
    """The same period one year earlier."""
    return np.asarray(codes, dtype=np.int64) - 10000


def previous_codes(codes: np.ndarray, jan_feb_combined: bool = False) -> np.ndarray:
    """The period before each period of the same frequency (Jan → Dec of the year before).

    With ``jan_feb_combined`` the month after the Jan–Feb release is March, and the period before
    March is the Jan–Feb release.
    """
    codes = np.asarray(codes, dtype=np.int64)
    y, f, l = codes // 10000, codes // 100 % 100, codes % 100
    span = l - f + 1
    monthly = (f == l) | ((f == 1) & (l == 2))
    # Generic: shift the span back by its own length; January-starting spans wrap to last year.
    pf, pl = f - span, l - span
    wrap = pf < 1
    py = np.where(wrap, y - 1, y)
    pf = np.where(wrap, pf + 12, pf)
    pl = np.where(wrap, pl + 12, pl)
    # Months: the month before is one month back; Jan–Feb release and March need care.
    mf = np.where(l == 1, 12, l - 1)
    my = np.where(l == 1, y - 1, y)
    mf = np.where((f == 1) & (l == 2), 12, mf)
    my = np.where((f == 1) & (l == 2), y - 1, my)
    ml = mf.copy()
    if jan_feb_combined:
        march = (f == 3) & (l == 3)
        mf = np.where(march, 1, mf)
        ml = np.where(march, 2, ml)
    py = np.where(monthly, my, py)
    pf = np.where(monthly, mf, pf)
    pl = np.where(monthly, ml, pl)
    return py * 10000 + pf * 100 + pl


def end_instants_utc_seconds(codes: np.ndarray) -> np.ndarray:
    """Epoch seconds of the end of each period (Asia/Shanghai), for deadline arithmetic."""
    uniq, inverse = np.unique(np.asarray(codes, dtype=np.int64), return_inverse=True)
    ends = np.array([int(Period.from_code(c).end_instant().timestamp()) for c in uniq], dtype=np.int64)
    return ends[inverse]


def as_of_instant(day: date | str | None) -> datetime:
    """The end of an as-of day in Asia/Shanghai, or an ISO date and time as given; ``None`` means now."""
    if day is None:
        return datetime.now(TZ)
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day) if len(day) == 10 else datetime.fromisoformat(day)
        except ValueError as exc:
            raise PeriodError(f"cannot read date {day!r}: write YYYY-MM-DD or an ISO date and time") from exc
    if isinstance(day, datetime):
        return day if day.tzinfo else day.replace(tzinfo=TZ)
    return datetime.combine(day, time.max, tzinfo=TZ)


def periods_between(start: Period, end: Period, frequency: str, jan_feb_combined: bool = False) -> list[Period]:
    """Every period of one frequency from ``start`` to ``end`` inclusive."""
    step = MONTHS[frequency]
    out: list[Period] = []
    y, m = start.year, start.last_month
    while (y, m) <= (end.year, end.last_month):
        if frequency == MONTHLY and jan_feb_combined and m in (1, 2):
            if m == 2:
                out.append(Period(y, 1, 2))
        else:
            out.append(Period(y, m - step + 1, m))
        m += step
        if m > 12:
            y, m = y + 1, m - 12
    return out


# ---- calendar days as people type them in ledgers ------------------------------------------------

# Excel's day 0 (its serials count from 1899-12-30, with the 1900 leap-year bug folded in).
_EXCEL_EPOCH = date(1899, 12, 30)
_DAY_FORMS = (
    # 2023.5.6, 2023-05-06, 2023/5/6, 2023年5月6日 (日 or 号 optional), and the same without the day.
    re.compile(r"^(?P<y>\d{4})\s*[.\-/年]\s*(?P<m>\d{1,2})\s*(?:[.\-/月]\s*(?:(?P<d>\d{1,2})\s*[日号]?|(?P<end>底)前?)?)?$"),
    # 5月6日, 5.6, 5月底前 (the year comes from the ledger's title).
    re.compile(r"^(?P<m>\d{1,2})\s*[.月]\s*(?:(?P<d>\d{1,2})\s*[日号]?|(?P<end>底)前?)?$"),
)


def parse_date(value, year: int | None = None, *, month_only: str = "first") -> date:
    """A calendar day as typed in a ledger: ``2023.5.6``, ``2023年5月6日``, ``5月6日`` (``year`` from the
    ledger's title), ``2023-05-06``, an Excel serial (``45052``), a date or datetime cell.

    A month without a day (``2023年5月``) is its first day, or its last with ``month_only="last"`` (a
    deadline); ``5月底`` and ``5月底前`` are always the last day of May.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        serial = float(value)
        if serial != serial or not (1 <= serial < 2958466) or serial != int(serial):
            raise PeriodError(f"cannot read date {value!r}: an Excel date serial is a whole number of days (45052 = 2023-05-06)")
        return _EXCEL_EPOCH + timedelta(days=int(serial))
    text = re.sub(r"\s+", "", str(value)).replace("．", ".").replace("－", "-").replace("／", "/")
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        return parse_date(float(text))
    for form in _DAY_FORMS:
        m = form.match(text)
        if not m:
            continue
        y = int(m["y"]) if "y" in form.groupindex and m["y"] else year
        if y is None:
            raise PeriodError(f"cannot read date {value!r}: no year, and none in the ledger's title")
        month = int(m["m"])
        if not 1 <= month <= 12:
            raise PeriodError(f"impossible date {value!r}: month {month}")
        last = Period(y, month, month).end
        if m["d"]:
            try:
                return date(y, month, int(m["d"]))
            except ValueError:
                raise PeriodError(f"impossible date {value!r}: {month}月 has {last.day} days") from None
        return last if m["end"] or month_only == "last" else date(y, month, 1)
    raise PeriodError(f"cannot read date {value!r}: write 2023.5.6, 2023年5月6日, 5月6日, 2023-05-06 or an Excel date")
