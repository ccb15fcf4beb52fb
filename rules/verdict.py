"""The verdict contract: the columns every exporter and dashboard reads, and the order of statuses.

One row per (rule, unit, period) for one as-of date. ``gap`` is signed so that a negative gap means
short of the target, in the indicator's measure, in percentage points, or in rank places.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules.owners import AUDIENCE, CONTACTS
from rules.vocabulary import STATUSES, TIERS, WORDS

VERDICT_COLUMNS = [
    "rule", "unit", "indicator", "period", "as_of", "status", "stretch_met",
    "value", "target", "gap", "rank", "group_size", "reference", "required_run_rate",
    "target_version", "owners", "message",
    # extras
    "severity", "rule_title", "group", "reported", "measure", "leader", "lead_department", "deadline",
    "tier",  # floor (确保), stretch (力争 only) or data (a consistency check): rules.vocabulary.TIERS
    "audience",  # leader, or contacts (联络人) for a data-quality verdict, which carries no leader
]

# The identity of a verdict: one state per key in the notification ledger, one series per key on /metrics.
KEY = ("rule", "unit", "indicator", "period")

# The contract's dtypes: figures (float64, to nine decimals), counts (nullable Int64), text columns that
# may be None, and every other column as objects.
FIGURES = ("value", "target", "gap", "reference", "required_run_rate")
COUNTS = ("rank", "group_size", "reported")
OPTIONAL = ("stretch_met", "group", "leader", "lead_department", "tier", "audience")
TEXT = ("rule", "unit", "indicator", "period", "as_of", "status", "target_version", "message",
        "severity", "rule_title", "measure", "deadline")


def empty() -> pd.DataFrame:
    """A verdict frame without rows, with the contract's columns and dtypes."""
    return conform(pd.DataFrame({c: [] for c in VERDICT_COLUMNS}))


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with exactly the contract's columns, in order, with their dtypes."""
    out = frame.reindex(columns=VERDICT_COLUMNS)
    for col in FIGURES:
        # Derived figures carry float noise (6.499999999999995): nine decimals is far below any published one.
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64").round(9)
    for col in COUNTS:
        out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
    for col in TEXT:
        out[col] = out[col].astype(object)
    for col in OPTIONAL:
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out.reset_index(drop=True)


class Coded:
    """A column as a small table of values and, per row, the position of its value in the table.

    Most verdict fields repeat: one value per rule (its title, period, deadline), per status (its
    severity) or per unit (its id). A coded column is expanded with one take where the frame is made
    (:func:`as_frame`), and what derives from it (the leader of an owner chain, the severity of a status)
    is decided once per distinct value."""

    __slots__ = ("values", "codes")

    def __init__(self, values, codes):
        self.values = values if isinstance(values, np.ndarray) and values.dtype == object else _objects(values)
        self.codes = np.asarray(codes, dtype=np.intp)

    def __len__(self) -> int:
        return len(self.codes)

    def expand(self, out: np.ndarray | None = None) -> np.ndarray:
        """The column, one object per row."""
        return np.take(self.values, self.codes, out=out)

    def map(self, function) -> "Coded":
        """``function`` of each row's value, called once per value of the table."""
        return Coded([function(v) for v in self.values.tolist()], self.codes)

    @staticmethod
    def of(values, n: int) -> "Coded":
        """One value for all ``n`` rows, a column of values, or a coded column as it is."""
        if isinstance(values, Coded):
            return values
        if np.ndim(values) == 0 or isinstance(values, dict):
            return Coded([values], np.zeros(n, dtype=np.intp))
        codes, distinct = pd.factorize(_objects(values), use_na_sentinel=False)
        # factorize reads None as NaN: give the None back
        return Coded([v if isinstance(v, (dict, list)) or not pd.isna(v) else None for v in distinct], codes)

    @staticmethod
    def combined(columns: list["Coded"]) -> tuple[np.ndarray, list[tuple]]:
        """The distinct combinations of several coded columns that occur (as tuples of their values), and
        each row's position among them."""
        n = len(columns[0])
        combo = np.zeros(n, dtype=np.int64)
        for column in columns:
            combo = combo * max(len(column.values), 1) + column.codes
        which, distinct = pd.factorize(combo)
        out = []
        for c in distinct.tolist():
            picked = []
            for column in reversed(columns):
                size = max(len(column.values), 1)
                c, at = divmod(c, size)
                picked.append(column.values[at])
            out.append(tuple(reversed(picked)))
        return which, out


def _objects(values) -> np.ndarray:
    """Values as a 1-D object array, element by element (a list of dicts must not become a 2-D array)."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    values = list(values)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def rows(*, rule: str, unit, indicator: str, period: str, as_of: str, status, owners: list[dict], message, rule_title: str,
         group, measure, target_version: str, deadline, severity: str | None = None, stretch_met=None, value=None,
         target=None, gap=None, rank=None, group_size=None, reference=None, required_run_rate=None, reported=None,
         tier: str | None = "floor") -> dict[str, np.ndarray | Coded]:
    """The verdict rows of one rule at one period, as columns: the one place a verdict row is made.

    ``unit``, ``status``, ``owners`` and ``message`` are per row; any other field may be one value for
    every row, and a figure left out is NaN. Any text field may be given as a :class:`Coded` column.
    ``severity`` is the rule's override of each status's default severity; ``leader`` and
    ``lead_department`` come from ``owners`` (:mod:`rules.owners`). ``tier`` (``rules.vocabulary.TIERS``)
    words and grades a miss: a missed 力争-only target (stretch) is a warning; a failed data check (data)
    is a warning for the contacts (``audience``), with no leader.
    """
    units = unit if isinstance(unit, Coded) else _objects(np.asarray(unit, dtype=object))
    n = len(units)

    def text(values) -> np.ndarray | Coded:
        if isinstance(values, Coded):
            return values
        if np.ndim(values) == 0:
            return np.full(n, values, dtype=object)
        return _objects(values)

    def number(values) -> np.ndarray:
        if values is None:
            return np.full(n, np.nan)
        return np.broadcast_to(np.asarray(values, dtype=np.float64), (n,)).copy()

    status, tier = Coded.of(status, n), Coded.of(tier, n)
    owners = owners if isinstance(owners, Coded) else _owner_codes(_objects(owners))
    audience = tier.map(AUDIENCE.get)  # rules.owners decides who each tier's verdicts are for
    leaders = owners.map(lambda o: o["leader"])
    if CONTACTS in audience.values.tolist():  # a data check's verdict carries no leader
        which, pairs = Coded.combined([audience, leaders])
        leaders = Coded([None if a == CONTACTS else leader for a, leader in pairs], which)
    return {
        "rule": text(rule), "unit": units, "indicator": text(indicator), "period": text(period), "as_of": text(as_of),
        "status": status, "stretch_met": text(stretch_met), "value": number(value),
        "target": number(target), "gap": number(gap), "rank": number(rank), "group_size": number(group_size),
        "reference": number(reference), "required_run_rate": number(required_run_rate),
        "target_version": text(target_version), "owners": owners, "message": text(message),
        "severity": _severities(status, severity, tier), "rule_title": text(rule_title), "group": text(group),
        "reported": number(reported), "measure": text(measure),
        "leader": leaders, "lead_department": owners.map(lambda o: o["lead_department"][0] if o["lead_department"] else None),
        "deadline": text(deadline), "tier": tier, "audience": audience,
    }


def _owner_codes(owners: np.ndarray) -> Coded:
    """Owner dicts per row as a coded column: most rows share a few dicts, told apart by identity."""
    n = len(owners)
    which, distinct = pd.factorize(np.frompyfunc(id, 1, 1)(owners).astype(np.int64)) if n else (np.zeros(0, dtype=np.intp), [])
    first = np.zeros(len(distinct), dtype=np.intp)
    first[which[::-1]] = np.arange(n)[::-1]
    return Coded(owners[first], which)


def as_frame(parts: list[dict], rows_at: list[np.ndarray] | None = None, conformed: bool = False) -> pd.DataFrame:
    """Verdict rows from the columns of one or more :func:`rows` calls, one after another, or each part's
    rows placed at its ``rows_at`` positions (the rows of judgements judged out of order).

    ``conformed`` gives the contract's dtypes at once: what :func:`conform` would give, without reading
    every text column again for missing values, for parts whose absent texts are None, never NaN (as the
    engine's are: the frame of a whole evaluation is made so)."""
    if rows_at is None:
        offsets = np.cumsum([0] + [_length(p) for p in parts])
        rows_at = [slice(offsets[i], offsets[i + 1]) for i in range(len(parts))]
    n = sum(_length(p) for p in parts)
    names = list(parts[0])
    objects = [name for name in names if not _numeric(parts[0][name])]
    block = np.empty((len(objects), n), dtype=object)  # the text columns, one 2-D block from the start
    placed: dict = {}  # the rows' codes at their final places, by the code arrays they came from
    for row, name in enumerate(objects):
        columns = [p[name] for p in parts]
        if all(isinstance(c, Coded) for c in columns):
            table, codes = _joined_codes(columns, rows_at, n, placed)
            np.take(table, codes, out=block[row])
        else:
            for column, at in zip(columns, rows_at):
                block[row, at] = column.expand() if isinstance(column, Coded) else column
    frame = pd.DataFrame(block.T, columns=objects, dtype=object, copy=False)
    for position, name in enumerate(names):
        if name in objects:
            continue
        values = np.empty(n, dtype=np.float64)
        for part, at in zip(parts, rows_at):
            values[at] = part[name]
        if conformed and name in FIGURES:
            values = values.round(9)
        elif conformed and name in COUNTS:
            missing = np.isnan(values)
            values = pd.arrays.IntegerArray(np.where(missing, 0, values.round()).astype(np.int64), missing)
        frame.insert(position, name, values)
    return frame


def _length(part: dict) -> int:
    return len(next(iter(part.values())))


def _numeric(column) -> bool:
    return isinstance(column, np.ndarray) and column.dtype != object


def _joined_codes(columns: list[Coded], rows_at: list, n: int, placed: dict) -> tuple[np.ndarray, np.ndarray]:
    """One table for the coded columns of several parts (shared as it is when they share it) and every
    row's position in it, at the rows' final places. ``placed`` keeps the positions made for other
    columns: the columns that repeat per rule share their code arrays, placed once."""
    shared = all(c.values is columns[0].values for c in columns)
    table = columns[0].values if shared else np.concatenate([c.values for c in columns])
    offsets = [0] * len(columns) if shared else np.cumsum([0] + [len(c.values) for c in columns]).tolist()
    key = tuple((id(c.codes), offset) for c, offset in zip(columns, offsets))
    if key not in placed:
        codes = np.empty(n, dtype=np.intp)
        for column, at, offset in zip(columns, rows_at, offsets):
            codes[at] = column.codes + offset if offset else column.codes
        placed[key] = (columns, codes)  # the columns kept alive with their ids
    return table, placed[key][1]


def severities(status, override=None, tier="floor") -> np.ndarray:
    """critical for behind (warning for a missed 力争-only target or data check), warning for late and
    at_risk, none otherwise; a rule may override. ``override`` and ``tier`` are one value or one per row:
    decided once per distinct (status, override, tier)."""
    return _severities(Coded.of(np.asarray(status, dtype=object), len(status)), override, tier).expand()


def _severities(status: Coded, override, tier) -> Coded:
    """:func:`severities` as a coded column, decided once per distinct (status, override, tier)."""
    n = len(status)
    which, distinct = Coded.combined([status, Coded.of(override, n), Coded.of(tier, n)])
    return Coded([_severity(*combination) for combination in distinct], which)


def _severity(status: str, override: str | None, tier: str | None) -> str | None:
    """The severity of one verdict (see :func:`severities`)."""
    words = WORDS.get(status)
    sev = words.severity if words else None
    if status == "behind" and tier in TIERS and tier != "floor":
        sev = TIERS[tier].severity
    if override is not None:
        if status == "behind":
            sev = override
        if override == "none" and status in ("late", "at_risk"):
            sev = "none"
    return sev


def worst_first(frame: pd.DataFrame) -> pd.DataFrame:
    """Verdicts grouped by leader, worst first: leaders ordered by their worst verdict (then their largest
    shortfall), leaderless verdicts last; within a leader by status, then the largest shortfall first."""
    if frame.empty:
        return frame.reset_index(drop=True)
    status = pd.Categorical(frame["status"], categories=list(STATUSES), ordered=True).codes
    gap = frame["gap"].astype("float64").fillna(np.inf).to_numpy()
    leader = frame["leader"].astype(object).where(frame["leader"].notna(), "").to_numpy()
    keyed = pd.DataFrame({"leader": leader, "status": status, "gap": gap}, index=frame.index)
    by_leader = keyed.groupby("leader")
    keyed["leader_status"] = by_leader["status"].transform("min")
    keyed["leader_gap"] = by_leader["gap"].transform("min")
    keyed["leaderless"] = keyed["leader"] == ""
    keyed["rule"], keyed["unit"] = frame["rule"].to_numpy(), frame["unit"].to_numpy()
    order = keyed.sort_values(["leaderless", "leader_status", "leader_gap", "leader", "status", "gap", "rule", "unit"], kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def to_records(frame: pd.DataFrame) -> list[dict]:
    """The verdicts as plain JSON-ready objects: NaN and <NA> become None."""
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    for rec in records:
        for key in ("rank", "group_size", "reported"):
            if rec[key] is not None:
                rec[key] = int(rec[key])
    return records
