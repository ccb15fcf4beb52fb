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
from targetwatch.store import STAGED_COLUMNS, StagedChunk

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


def by_unique_array(series: pd.Series, fn, dtype, missing) -> np.ndarray:
    """``fn`` of each distinct value, spread back as an array of ``dtype``; ``missing`` where the value is missing."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    results = np.empty(len(uniques) + 1, dtype=dtype)  # the last slot serves missing values (code -1)
    results[:-1] = [fn(u) for u in uniques]
    results[-1] = missing
    return results[codes]


def by_unique(series: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` to each distinct value once and spread the results back (few units, many rows)."""
    return pd.Series(by_unique_array(series, fn, object, None), index=series.index, dtype=object)


def by_unique_categorical(series: pd.Series, fn) -> pd.Series:
    """``fn`` of each distinct value (a name, an id; None for none) as a categorical column.

    Millions of rows of a few thousand names stay small integer codes: every later lookup is then per name."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    results = pd.Series([fn(u) for u in uniques], dtype=object)
    result_codes, names = pd.factorize(results, use_na_sentinel=True)
    spread = np.append(result_codes, -1)[codes] if len(codes) else codes
    return pd.Series(pd.Categorical.from_codes(spread, categories=pd.Index(names, dtype=object)), index=series.index)


def lookup(series: pd.Series, mapping: dict) -> pd.Series:
    """``series.map(mapping)``, looking each distinct value up once."""
    return by_unique(series, mapping.get)


def _normalise(series: pd.Series) -> pd.Series:
    return by_unique(series, normalise_name)


def _period_codes(raw: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes (float, NaN where unreadable), a year-to-date flag from labels like 1-6月, and an error message, per row.

    Each distinct label is parsed once; the last slot of each array serves the missing labels
    (factorize marks them -1)."""
    idx, uniques = pd.factorize(raw, use_na_sentinel=True)
    n = len(uniques)
    codes = np.full(n + 1, np.nan)
    ytd = np.zeros(n + 1, dtype=bool)
    errors = np.full(n + 1, "no period given", dtype=object)
    for j, text in enumerate(uniques):
        try:
            label = periods.parse_label(text)
            codes[j], ytd[j], errors[j] = label.period.code, bool(label.ytd), None
        except PeriodError as exc:
            errors[j] = exc.message
    return codes[idx], ytd[idx], errors[idx]


class _ByIndicator:
    """Per-row properties of the rows' indicators, looked up once per indicator (ids as categorical codes)."""

    def __init__(self, ind_ids: pd.Series, dep: Deployment):
        self.codes = ind_ids.cat.codes.to_numpy()
        self.ids = list(ind_ids.cat.categories)
        self.dep = dep

    def get(self, attribute, dtype, missing) -> np.ndarray:
        values = np.empty(len(self.ids) + 1, dtype=dtype)
        values[:-1] = [attribute(self.dep.indicators[i]) for i in self.ids]
        values[-1] = missing
        return values[self.codes]


def validate(raw: pd.DataFrame, dep: Deployment, counts: Counts | None = None) -> StagedChunk:
    """Validate a raw frame (``RAW_COLUMNS``) into good staged rows and located bad rows."""
    counts = counts if counts is not None else Counts()
    n = len(raw)
    if n == 0:
        return StagedChunk(good=pd.DataFrame(columns=STAGED_COLUMNS))
    reasons = np.full(n, "", dtype=object)
    flagged = np.zeros(n, dtype=bool)
    bad_col = np.full(n, None, dtype=object)

    def flag(mask, message, column: pd.Series) -> None:
        """Record ``message(rows)`` for the rows of ``mask`` that have no problem yet (the first one counts)."""
        mask = np.asarray(mask, dtype=bool) & ~flagged
        if mask.any():
            at = np.flatnonzero(mask)
            reasons[at] = [message(i) for i in at]
            bad_col[at] = column.iloc[at].to_numpy(dtype=object)
            flagged[at] = True

    # Values first: a not-reported cell is skipped before anything else is judged.
    # Strictly: thousands separators in place only, no space inside a number, no TRUE/FALSE (collectors.numbers).
    value_raw = raw["value"]
    values, value_reason, missing = read_values(value_raw)
    non_numeric = ~missing & (value_reason != None)  # noqa: E711 - elementwise on an object array
    infinite = ~np.isfinite(np.where(np.isnan(values), 0.0, values))
    keep = ~missing
    counts.not_reported += int(missing.sum())

    unit_ids = by_unique_categorical(raw["unit"], lambda u: dep.unit_lookup.get(normalise_name(u)))
    ind_ids = by_unique_categorical(raw["indicator"], lambda i: dep.indicator_lookup.get(normalise_name(i)))
    per_indicator = _ByIndicator(ind_ids, dep)
    no_unit, no_indicator = unit_ids.isna().to_numpy(), ind_ids.isna().to_numpy()
    codes, label_ytd, period_err = _period_codes(raw["period"])
    # An indicator released as 1-2月 has no January or February of its own: a February date is that release.
    combined = per_indicator.get(lambda i: i.jan_feb_combined, bool, False)
    if combined.any():
        known = ~np.isnan(codes) & combined
        codes = codes.copy()
        codes[known] = periods.jan_feb_release(codes[known].astype(np.int64))

    flag(no_unit, lambda i: f"unknown unit {raw['unit'].iat[i]!r}", raw["unit_col"])
    flag(no_indicator, lambda i: f"unknown indicator {raw['indicator'].iat[i]!r}", raw["indicator_col"])
    flag(period_err != None, lambda i: period_err[i], raw["period_col"])  # noqa: E711
    flag(non_numeric | infinite, lambda i: value_reason[i] or f"not a number: {value_raw.iat[i]!r}", raw["value_col"])

    # Basis: an explicit column wins, then a year-to-date label (1-6月), then the indicator's own basis.
    basis_text = by_unique_categorical(raw["basis"], lambda b: normalise_name(b).lower())
    basis = by_unique_categorical(basis_text, basis_word)
    unknown_basis = basis_text.notna().to_numpy() & basis.isna().to_numpy()
    flag(unknown_basis, lambda i: f"unknown basis {raw['basis'].iat[i]!r}: write 当月/本月/当月同比/period or 累计/1-N月/累计同比/ytd", raw["value_col"])
    # As codes into BASES: the explicit word's, else year to date for a 1-6月 label, else the indicator's.
    explicit = np.append(np.array([BASES.index(b) for b in basis.cat.categories], dtype=np.int64), -1)[basis.cat.codes.to_numpy()]
    own = per_indicator.get(lambda i: BASES.index(i.basis.value), np.int64, -1)
    basis = np.where(explicit >= 0, explicit, np.where(label_ytd, BASES.index(Basis.ytd.value), own))

    # Frequency: a quarterly indicator takes quarters, a monthly one months (or the Jan–Feb release).
    wanted = per_indicator.get(lambda i: i.frequency, object, None)
    actual = by_unique_array(pd.Series(codes), lambda c: periods.Period.from_code(int(c)).frequency, object, None)
    freq_ok = (actual == wanted) | (wanted == None) | np.isnan(codes)  # noqa: E711
    flag(~freq_ok, lambda i: f"period {raw['period'].iat[i]!r} does not match the frequency of "
         f"{ind_ids.iat[i]} ({dep.indicators[ind_ids.iat[i]].frequency})", raw["period_col"])

    # Measure: values written in 亿元 are scaled to an indicator kept in 万元.
    factors, measure_err = _scale(raw.get("measure"), ind_ids, dep)
    flag(measure_err.notna().to_numpy(), lambda i: measure_err.iat[i], raw["value_col"])

    # Plausibility after scaling (1e305 亿元 is inf in 万元): finite and within the indicator's bounds.
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is flagged just below, not warned about
        scaled = at_precision(values * factors.to_numpy(dtype="float64"), factors, ind_ids, dep)
    flag(_implausible(scaled, per_indicator), lambda i: _bounds_reason(scaled[i], ind_ids.iat[i], dep), raw["value_col"])

    bad = flagged & keep
    good = ~flagged & keep
    good_frame = pd.DataFrame(
        {
            # Categoricals (ids, bases, sheets, columns): pandas 3 would otherwise convert every string column
            # to Arrow strings, row by row; the store looks each distinct name up once.
            "indicator": ind_ids[good].reset_index(drop=True),
            "unit": unit_ids[good].reset_index(drop=True),
            "period": codes[good].astype("int64"),
            "basis": pd.Categorical.from_codes(basis[good], categories=BASES),
            "value": scaled[good],
            "row": raw["row"].to_numpy(dtype="int64")[good],
            "sheet": raw["sheet"][good].reset_index(drop=True),
            "column": raw["value_col"][good].reset_index(drop=True),
        }
    )
    text = lambda series: series[bad].astype(object).where(series[bad].notna(), None)  # noqa: E731
    bad_frame = pd.DataFrame(
        {
            "sheet": raw["sheet"][bad].to_numpy(dtype=object),
            "row": raw["row"][bad].to_numpy(dtype="int64"),
            "column": bad_col[bad],
            "reason": reasons[bad],
            "raw": [f"unit={u}, indicator={i}, period={p}, value={v}" for u, i, p, v in
                    zip(text(raw["unit"]), text(raw["indicator"]), text(raw["period"]), text(value_raw))],
        }
    )
    return StagedChunk(good=good_frame, bad=bad_frame)


def at_precision(scaled: np.ndarray, factors: pd.Series, ind_ids: pd.Series, dep: Deployment) -> np.ndarray:
    """Scaled values rounded to the indicator's decimals plus the digits the conversion shifts (万元 → 亿元:
    four), so that a figure re-sent in another measure compares equal to the one held (528300 万元 is
    52.83 亿元, not 52.830000000000005) and nothing the sender wrote is cut off. Unscaled values are untouched."""
    factor = factors.to_numpy(dtype="float64")
    converted = (factor != 1.0) & np.isfinite(scaled)
    if not converted.any():
        return scaled
    out = scaled.copy()
    decimals = lookup(ind_ids, {i.id: i.decimals for i in dep.indicators.values()}).to_numpy(dtype="float64", na_value=np.nan)
    places = np.where(converted, decimals + np.clip(np.round(-np.log10(factor)), 0, None), np.nan)
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


def _scale(measure: pd.Series | None, ind_ids: pd.Series, dep: Deployment) -> tuple[pd.Series, pd.Series]:
    """Per row, the factor from the written measure to the indicator's, and an error where they do not convert.

    Each distinct (measure, indicator) pair is looked up once; rows share the result through pair codes."""
    ones = pd.Series(1.0, index=ind_ids.index)
    none = pd.Series(pd.NA, index=ind_ids.index, dtype="object")
    if measure is None or measure.isna().all():
        return ones, none
    m_codes, measures = pd.factorize(_normalise(measure))
    i_codes, indicators = pd.factorize(ind_ids)
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
    return pd.Series(factors[pair_codes], index=ind_ids.index), pd.Series(errors[pair_codes], index=ind_ids.index, dtype=object)
