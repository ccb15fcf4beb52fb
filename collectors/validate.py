"""Turn raw rows from any source into staged observations and quarantined rows, vectorised.

Every source (CSV, Excel, HTTP, SQL, SDMX) produces a *raw frame* and calls :func:`validate`, so every
source gets the same checks and the same located reasons: unknown unit or indicator, unreadable or
impossible period, a period of the wrong frequency, a non-numeric value, an unknown measure. A blank,
"/" or "-" means *not reported*: it is skipped, never read as zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from collectors.layout import basis_word
from collectors.numbers import read_values
from targetwatch import periods
from targetwatch.deployment import Deployment, normalise_name
from targetwatch.errors import PeriodError
from targetwatch.model import Basis, scale_factor
from targetwatch.store import QUARANTINE_COLUMNS, STAGED_COLUMNS, StagedChunk

# Raw frame columns. unit/indicator/period/value are required; the *_col columns name the source column
# of each field, for the quarantine report.
RAW_COLUMNS = ["row", "sheet", "unit", "indicator", "period", "value", "basis", "measure",
               "unit_col", "indicator_col", "period_col", "value_col"]



BASES = [Basis.period.value, Basis.ytd.value]


@dataclass
class Counts:
    """Rows a source skipped on purpose, reported in the ingest summary."""

    not_reported: int = 0
    skipped: int = 0


def distinct(series: pd.Series) -> tuple[np.ndarray, list]:
    """(codes, distinct values) of a column, missing values as code -1.

    A categorical column already is this (its codes and categories): nothing is hashed again, which at millions
    of rows is most of the cost; any other column is factorized."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(), series.cat.categories.tolist()
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes, uniques.tolist()


def per_distinct(codes: np.ndarray, results: list, dtype, missing) -> np.ndarray:
    """Per-distinct ``results`` spread back to rows by ``codes``; ``missing`` where the code is -1."""
    table = np.empty(len(results) + 1, dtype=dtype)  # the last slot serves missing values (code -1)
    table[:-1] = results
    table[-1] = missing
    return table[codes]


def by_unique_array(series: pd.Series, fn, dtype, missing) -> np.ndarray:
    """``fn`` of each distinct value, spread back as an array of ``dtype``; ``missing`` where the value is missing."""
    codes, uniques = distinct(series)
    return per_distinct(codes, [fn(u) for u in uniques], dtype, missing)


def by_unique(series: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` to each distinct value once and spread the results back (few units, many rows)."""
    return pd.Series(by_unique_array(series, fn, object, None), index=series.index, dtype=object)


def categorical_of(codes: np.ndarray, uniques: list, fn) -> pd.Categorical:
    """``fn`` of each distinct value (``uniques``, spread by ``codes``) as a categorical; None for none."""
    result_codes, names = pd.factorize(pd.Series([fn(u) for u in uniques], dtype=object), use_na_sentinel=True)
    spread = np.append(result_codes, -1)[codes] if len(codes) else np.asarray(codes, dtype=np.int64)
    return pd.Categorical.from_codes(spread, categories=pd.Index(names, dtype=object), validate=False)


def by_unique_categorical(series: pd.Series, fn) -> pd.Series:
    """``fn`` of each distinct value (a name, an id; None for none) as a categorical column.

    Millions of rows of a few thousand names stay small integer codes: every later lookup is then per name."""
    return pd.Series(categorical_of(*distinct(series), fn), index=series.index)


def lookup(series: pd.Series, mapping: dict) -> pd.Series:
    """``series.map(mapping)``, looking each distinct value up once."""
    return by_unique(series, mapping.get)


def _normalise(series: pd.Series) -> pd.Series:
    return by_unique(series, normalise_name)


class _Periods:
    """The period labels of the rows, each distinct label parsed once: its code (NaN where unreadable), whether it
    states the year to date (1-6月), and why it cannot be read."""

    def __init__(self, labels: pd.Series):
        self.row_codes, uniques = distinct(labels)
        k = len(uniques)
        self.codes = np.full(k + 1, np.nan)  # the last slot serves the missing labels (code -1)
        self.ytd = np.zeros(k + 1, dtype=bool)
        self.errors: list[str | None] = ["no period given"] * (k + 1)
        for j, text in enumerate(uniques):
            try:
                label = periods.parse_label(text)
                self.codes[j], self.ytd[j], self.errors[j] = label.period.code, bool(label.ytd), None
            except PeriodError as exc:
                self.errors[j] = exc.message

    def unreadable(self) -> np.ndarray:
        return np.array([e is not None for e in self.errors], dtype=bool)[self.row_codes]

    def error(self, row: int) -> str:
        return self.errors[self.row_codes[row]]


class _ByIndicator:
    """Per-row properties of the rows' indicators, looked up once per indicator (ids as categorical codes)."""

    def __init__(self, ind_ids: pd.Categorical, dep: Deployment):
        self.codes = ind_ids.codes
        self.ids = list(ind_ids.categories)
        self.dep = dep

    def of_each(self, attribute, dtype, missing) -> np.ndarray:
        """``attribute`` of each indicator, in category order, and ``missing`` last (the slot of code -1)."""
        values = np.empty(len(self.ids) + 1, dtype=dtype)
        values[:-1] = [attribute(self.dep.indicators[i]) for i in self.ids]
        values[-1] = missing
        return values

    def get(self, attribute, dtype, missing) -> np.ndarray:
        return self.of_each(attribute, dtype, missing)[self.codes]


class _Problems:
    """The first problem of each row, kept only for the rows that have one (most chunks have none)."""

    def __init__(self, considered: np.ndarray):
        self.flagged = ~considered  # rows not reported are never judged: they are skipped, not quarantined
        self.at: list[np.ndarray] = []
        self.reasons: list[str] = []
        self.columns: list = []

    def flag(self, mask: np.ndarray, message, column: pd.Series) -> None:
        """Record ``message(row)`` for the rows of ``mask`` that have no problem yet (the first one counts)."""
        mask = np.asarray(mask, dtype=bool) & ~self.flagged
        if mask.any():
            at = np.flatnonzero(mask)
            self.at.append(at)
            self.reasons += [message(i) for i in at]
            self.columns += column.iloc[at].tolist()
            self.flagged[at] = True

    def located(self) -> tuple[np.ndarray, list[str], list]:
        """(rows, reasons, columns) of the rows flagged, in row order."""
        if not self.at:
            return np.empty(0, dtype=np.int64), [], []
        at = np.concatenate(self.at)
        order = np.argsort(at, kind="stable")
        return at[order], [self.reasons[k] for k in order], [self.columns[k] for k in order]


def _values(cells: pd.Series) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(values, reasons or None when no cell has one, not reported) of the value column (collectors.numbers).

    A numeric column (the fast readers' plain figures) is read as it is, with no per-row reason at all."""
    if pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
        values = cells.to_numpy(dtype="float64", na_value=np.nan)
        return values, None, np.isnan(values)
    return read_values(cells)


def validate(raw: pd.DataFrame, dep: Deployment, counts: Counts | None = None) -> StagedChunk:
    """Validate a raw frame (``RAW_COLUMNS``) into good staged rows and located bad rows.

    Names (units, indicators, periods, bases, measures) are judged once per distinct name and spread to the rows
    by integer codes; a categorical column (what the readers produce) is never hashed again."""
    counts = counts if counts is not None else Counts()
    n = len(raw)
    if n == 0:
        return StagedChunk(good=pd.DataFrame(columns=STAGED_COLUMNS))

    # Values first: a not-reported cell is skipped before anything else is judged.
    # Strictly: thousands separators in place only, no space inside a number, no TRUE/FALSE (collectors.numbers).
    value_raw = raw["value"]
    values, value_reason, missing = _values(value_raw)
    counts.not_reported += int(missing.sum())
    problems = _Problems(~missing)
    flag = problems.flag

    unit_codes, unit_names = distinct(raw["unit"])
    unit_ids = categorical_of(unit_codes, unit_names, lambda u: dep.unit_lookup.get(normalise_name(u)))
    ind_codes, ind_names = distinct(raw["indicator"])
    ind_ids = categorical_of(ind_codes, ind_names, lambda i: dep.indicator_lookup.get(normalise_name(i)))
    per_indicator = _ByIndicator(ind_ids, dep)
    labels = _Periods(raw["period"])
    codes = labels.codes[labels.row_codes]
    # An indicator released as 1-2月 has no January or February of its own: a February date is that release.
    combined = per_indicator.get(lambda i: i.jan_feb_combined, bool, False)
    if combined.any():
        known = ~np.isnan(codes) & combined
        codes[known] = periods.jan_feb_release(codes[known].astype(np.int64))

    flag(unit_ids.codes < 0, lambda i: f"unknown unit {_name(unit_names, unit_codes[i])!r}", raw["unit_col"])
    flag(ind_ids.codes < 0, lambda i: f"unknown indicator {_name(ind_names, ind_codes[i])!r}", raw["indicator_col"])
    flag(labels.unreadable(), labels.error, raw["period_col"])
    infinite = np.isinf(values)
    not_figures = infinite if value_reason is None else infinite | (value_reason != None)  # noqa: E711 - elementwise
    flag(not_figures, lambda i: (value_reason[i] if value_reason is not None else None) or f"not a number: {value_raw.iat[i]!r}",
         raw["value_col"])

    # Basis: an explicit column wins, then a year-to-date label (1-6月), then the indicator's own basis.
    basis_codes, basis_texts = distinct(raw["basis"])
    words = [basis_word(normalise_name(b).lower()) for b in basis_texts]
    unknown_basis = per_distinct(basis_codes, [w is None for w in words], bool, False)
    flag(unknown_basis, lambda i: f"unknown basis {basis_texts[basis_codes[i]]!r}: write 当月/本月/当月同比/period or "
         "累计/1-N月/累计同比/ytd", raw["value_col"])
    # As codes into BASES: the explicit word's, else year to date for a 1-6月 label, else the indicator's.
    own = per_indicator.get(lambda i: BASES.index(i.basis.value), np.int8, -1)
    label_ytd = labels.ytd[labels.row_codes]
    basis = np.where(label_ytd, np.int8(BASES.index(Basis.ytd.value)), own)
    if basis_texts:
        explicit = per_distinct(basis_codes, [-1 if w is None else BASES.index(w) for w in words], np.int8, -1)
        basis = np.where(explicit >= 0, explicit, basis)

    # Frequency: a quarterly indicator takes quarters, a monthly one months (or the Jan–Feb release).
    flag(~_frequency_ok(codes, labels, per_indicator, combined), lambda i: f"period {raw['period'].iat[i]!r} does not match the "
         f"frequency of {ind_ids[i]} ({dep.indicators[ind_ids[i]].frequency})", raw["period_col"])

    # Measure: values written in 亿元 are scaled to an indicator kept in 万元.
    factors, measure_err = _scale(raw.get("measure"), ind_ids, dep)
    if measure_err is not None:
        flag(measure_err != None, lambda i: measure_err[i], raw["value_col"])  # noqa: E711 - elementwise

    # Plausibility after scaling (1e305 亿元 is inf in 万元): finite and within the indicator's bounds.
    if factors is None:
        scaled = values
    else:
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is flagged just below, not warned about
            scaled = at_precision(values * factors, factors, ind_ids, dep)
    flag(_implausible(scaled, per_indicator), lambda i: _bounds_reason(scaled[i], ind_ids[i], dep), raw["value_col"])

    good = ~problems.flagged
    everything = bool(good.all())
    pick = (lambda column: column) if everything else (lambda column: column[good])  # noqa: E731
    good_frame = pd.DataFrame(
        {
            # Categoricals (ids, bases, sheets, columns): pandas 3 would otherwise convert every string column
            # to Arrow strings, row by row; the store looks each distinct name up once.
            "indicator": pick(ind_ids),
            "unit": pick(unit_ids),
            "period": pick(codes).astype("int64"),
            "basis": pd.Categorical.from_codes(pick(basis), categories=BASES, validate=False),
            "value": pick(scaled),
            "row": pick(raw["row"].to_numpy(dtype="int64")),
            "sheet": _categorical(raw["sheet"], pick),
            "column": _categorical(raw["value_col"], pick),
        }
    )
    return StagedChunk(good=good_frame, bad=_bad_rows(raw, problems))


def _name(names: list, code: int):
    """The distinct value a code stands for; None for a missing one (code -1)."""
    return names[code] if code >= 0 else None


def _categorical(column: pd.Series, pick) -> pd.Categorical:
    """A raw frame's label column (a sheet, a source column) as a categorical of the rows ``pick`` keeps."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return pd.Categorical.from_codes(pick(column.cat.codes.to_numpy()), dtype=column.dtype, validate=False)
    return pd.Categorical(pick(column.to_numpy(dtype=object)))


def _bad_rows(raw: pd.DataFrame, problems: _Problems) -> pd.DataFrame:
    at, reasons, columns = problems.located()
    if not len(at):
        return pd.DataFrame(columns=QUARANTINE_COLUMNS)

    def text(name: str) -> list:
        cells = raw[name].iloc[at]
        return cells.astype(object).where(cells.notna(), None).tolist()

    return pd.DataFrame(
        {
            "sheet": text("sheet"),
            "row": raw["row"].to_numpy(dtype="int64")[at],
            "column": [None if pd.isna(c) else c for c in columns],
            "reason": reasons,
            "raw": [f"unit={u}, indicator={i}, period={p}, value={v}"
                    for u, i, p, v in zip(text("unit"), text("indicator"), text("period"), text("value"))],
        }, columns=QUARANTINE_COLUMNS,
    )


def _frequency_id(frequency: str | None) -> int:
    """A frequency as a small integer for comparing millions of rows at once; -1 for none."""
    return periods.FREQUENCIES.index(frequency) if frequency in periods.FREQUENCIES else -1


def _frequency_ok(codes: np.ndarray, labels: _Periods, per_indicator: _ByIndicator, combined: np.ndarray) -> np.ndarray:
    """Whether each row's period has the frequency of its indicator (rows without a period or indicator pass).

    A period's frequency is judged per distinct label: as written, and as the Jan–Feb release for the rows
    whose indicator is released so (``combined``)."""
    def frequencies(period_codes: np.ndarray) -> np.ndarray:
        return np.array([-1 if np.isnan(c) else _frequency_id(periods.Period.from_code(int(c)).frequency)
                         for c in period_codes], dtype=np.int8)[labels.row_codes]

    actual = frequencies(labels.codes)
    if combined.any():
        released = labels.codes.copy()
        known = ~np.isnan(released)
        released[known] = periods.jan_feb_release(released[known].astype(np.int64))
        actual = np.where(combined, frequencies(released), actual)
    wanted = per_indicator.get(lambda i: _frequency_id(i.frequency), np.int8, -1)
    return (actual == wanted) | (wanted == -1) | np.isnan(codes)


def at_precision(scaled: np.ndarray, factors: np.ndarray, ind_ids: pd.Categorical, dep: Deployment) -> np.ndarray:
    """Scaled values rounded to the indicator's decimals plus the digits the conversion shifts (万元 → 亿元:
    four), so that a figure re-sent in another measure compares equal to the one held (528300 万元 is
    52.83 亿元, not 52.830000000000005) and nothing the sender wrote is cut off. Unscaled values are untouched."""
    converted = (factors != 1.0) & np.isfinite(scaled)
    if not converted.any():
        return scaled
    out = scaled.copy()
    decimals = _ByIndicator(ind_ids, dep).get(lambda i: i.decimals, np.float64, np.nan)
    places = np.where(converted, decimals + np.clip(np.round(-np.log10(factors)), 0, None), np.nan)
    for p in np.unique(places[converted & ~np.isnan(places)]):  # a few distinct precisions: round each group at once
        chosen = places == p
        out[chosen] = np.round(out[chosen], int(p))
    return out


def _implausible(scaled: np.ndarray, per_indicator: _ByIndicator) -> np.ndarray:
    """Rows whose scaled value is not finite or lies outside its indicator's bounds (rows without a value pass)."""
    lo = per_indicator.get(lambda i: i.value_bounds()[0], np.float64, -np.inf)
    hi = per_indicator.get(lambda i: i.value_bounds()[1], np.float64, np.inf)
    with np.errstate(invalid="ignore"):
        outside = ~np.isfinite(scaled) | (scaled < lo) | (scaled > hi)
    return outside & ~np.isnan(scaled)


def _bounds_reason(value: float, indicator: str, dep: Deployment) -> str:
    ind = dep.indicators[indicator]
    if not np.isfinite(value):
        return f"not a finite number in {ind.measure} after scaling: {value}"
    lo, hi = ind.value_bounds()
    return f"implausible value {value:g} {ind.measure} for {indicator}: outside [{lo:g}, {hi:g}] (indicator bounds)"


def _scale(measure: pd.Series | None, ind_ids: pd.Categorical, dep: Deployment) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per row, the factor from the written measure to the indicator's, and an error where they do not convert;
    (None, None) when no row states a measure.

    Each distinct (measure, indicator) pair is looked up once; rows share the result through pair codes."""
    if measure is None:
        return None, None
    m_codes, measures = distinct(measure)
    if not measures:
        return None, None
    measures = [normalise_name(m) for m in measures]
    i_codes, indicators = ind_ids.codes, list(ind_ids.categories)
    pair_codes, pairs = pd.factorize(m_codes.astype(np.int64) * (len(indicators) + 1) + i_codes)
    factors = np.ones(len(pairs))
    errors = np.full(len(pairs), None, dtype=object)
    for j, pair in enumerate(pairs):
        mc, ic = divmod(int(pair), len(indicators) + 1)
        if mc < 0 or ic < 0 or ic >= len(indicators) or measures[mc] == "":
            continue  # no measure written, or no indicator (flagged elsewhere): nothing to scale
        m, i = measures[mc], indicators[ic]
        try:
            factors[j] = scale_factor(m, dep.indicators[i].measure)
        except ValueError as exc:
            errors[j] = f"measure {m!r}: {exc}"
    return factors[pair_codes], errors[pair_codes]
