"""An independent columnar reference for ``bench/evaluate.py``: the bench's rules judged by one DuckDB query.

Nothing here imports targetwatch. The rule files and the registry are read as plain YAML, the store's
SQLite file through ADBC (Arrow columns, no Python tuples), and every verdict of every rule comes out of
one SQL statement over a table of rules: rules as data, all thresholds and all ranks in one pass.

It re-states, in SQL, how the engine judges the ten rule kinds of the bench (see ``rules/kinds.py``):

- a unit judged is a member of the rule's peer group; its value is the latest revision reported by the
  end of the as-of day (Asia/Shanghai), 累计 as stored;
- a unit without a value at the judged period is ``late`` when the as-of day is past the deadline
  (period end + the indicator's calendar days), else ``no_data``; with a value but nothing to judge
  against (no base last year, a zero denominator, no earlier rank) it is ``no_data``;
- otherwise ``on_track`` when met, ``at_risk`` when short by at most ``at_risk_within`` (or above a
  range), else ``behind``;
- ranks are competition ranks (1, 2, 2, 4) of the reporters' values at full precision (rounded to 9
  decimals only, against float noise); ``ties: fail`` fails a shared rank; ``improve`` needs a better rank
  than at the previous period, or 1st place kept; ``not_bottom`` counts the members that did not report
  below every reporter once the deadline has passed, and before it a place the missing reports could
  still change is ``at_risk``; a peer mean is the mean over the members that reported.

The subset is exactly what the bench and its test use: monthly indicators stored 累计, calendar-day
deadlines, rules on a whole group (no ``units``, overrides or allocations). Anything else is refused
with the rule's id, never judged differently.

    plan = ReferencePlan.load(workdir)            # YAML → rule table (not timed)
    frame = plan.evaluate(store_path, "2023-12-20")   # store read + one query
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from time import process_time
from zoneinfo import ZoneInfo

import adbc_driver_sqlite.dbapi as adbc
import duckdb
import pyarrow as pa
import yaml

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The store's key: ((indicator_id * 2**16 + period_index) * 2**20 + unit_id) * 2 + basis (1 = 累计).
UNIT_BITS, PERIOD_BITS = 20, 16
SUPPORTED = ("threshold", "decline", "share", "range", "pacing", "compare", "rank", "break_zero")

RULE_SCHEMA = pa.schema([
    ("rule", pa.string()), ("kind", pa.string()), ("indicator", pa.string()), ("grp", pa.string()),
    ("yoy", pa.bool_()), ("op", pa.string()), ("floor", pa.float64()), ("within", pa.float64()),
    ("lo", pa.float64()), ("hi", pa.float64()), ("top", pa.float64()), ("not_bottom", pa.float64()),
    ("improve", pa.bool_()), ("ties_fail", pa.bool_()), ("higher", pa.bool_()), ("decimals", pa.int32()),
    ("margin", pa.float64()), ("annual", pa.float64()), ("due_share", pa.float64()), ("of_indicator", pa.string()),
])

# One statement for every rule. ``raw`` holds the store rows read (key, revision, value, reported by
# the as-of time); ``rules`` one row per rule with its judged, last-year and previous period codes.
PLAN = """
WITH latest AS (            -- the revision in force: the highest one reported by the as-of time
    SELECT key, arg_max(value, revision) AS value FROM raw GROUP BY key
), rule_ids AS (            -- each rule with the store's ids of what it reads
    SELECT r.*, i.id AS ind_id, d.id AS den_id FROM rules r
    LEFT JOIN dims i ON i.kind = 'indicator' AND i.name = r.indicator
    LEFT JOIN dims d ON d.kind = 'indicator' AND d.name = r.of_indicator
), unit_ids AS (
    SELECT m.grp, m.unit, d.id AS unit_id FROM members m LEFT JOIN dims d ON d.kind = 'unit' AND d.name = m.unit
), judged AS (              -- one row per rule and unit, with every value the rule reads (looked up by 累计 key)
    SELECT r.*, m.unit, cur.value AS cur, last.value AS last, prev.value AS prev, den.value AS den
    FROM rule_ids r JOIN unit_ids m ON m.grp = r.grp
    LEFT JOIN latest cur ON cur.key = store_key(r.ind_id, r.code, m.unit_id)
    LEFT JOIN latest last ON r.yoy AND last.key = store_key(r.ind_id, r.last_code, m.unit_id)
    LEFT JOIN latest prev ON r.improve AND prev.key = store_key(r.ind_id, r.prev_code, m.unit_id)
    LEFT JOIN latest den ON den.key = store_key(r.den_id, r.code, m.unit_id)
), metric AS (             -- the rule's metric: as reported, or year-on-year % derived from levels
    SELECT *, CASE WHEN yoy THEN (cur / nullif(last, 0) - 1.0) * 100.0 ELSE cur END AS metric FROM judged
), valued AS (             -- the value judged: the metric, its negation (a fall), a share %, or the 累计 total
    SELECT *,
        CASE WHEN kind = 'share' THEN 100.0 * cur / nullif(den, 0)
             WHEN kind = 'decline' THEN -metric
             WHEN kind IN ('pacing', 'break_zero') THEN cur
             ELSE metric END AS value
    FROM metric
), peers AS (             -- a peer mean is over the members that reported
    SELECT rule, fsum(value) / nullif(count(value), 0) AS peer_mean FROM valued WHERE kind = 'compare' GROUP BY rule
), ranked AS (             -- competition ranks of the reporters' values rounded as numpy rounds (half to even)
    SELECT rule, unit,
        CASE WHEN now_r IS NOT NULL THEN rank() OVER (PARTITION BY rule ORDER BY CASE WHEN higher THEN -now_r ELSE now_r END NULLS LAST) END AS rnk,
        CASE WHEN prev_r IS NOT NULL THEN rank() OVER (PARTITION BY rule ORDER BY CASE WHEN higher THEN -prev_r ELSE prev_r END NULLS LAST) END AS prev_rnk,
        CASE WHEN now_r IS NOT NULL THEN count(*) OVER (PARTITION BY rule, now_r) > 1 ELSE false END AS tied,
        count(now_r) OVER (PARTITION BY rule) AS reporters,
        count(*) OVER (PARTITION BY rule) AS members_n
    FROM (SELECT rule, unit, higher, round_half_even(value, 9) AS now_r, round_half_even(prev, 9) AS prev_r
          FROM valued WHERE kind = 'rank')
), gaps AS (               -- gap < 0 means short; the target in the kind's own terms
    SELECT *,
        CASE kind
            WHEN 'rank' THEN (CASE WHEN top IS NOT NULL THEN top
                                   WHEN not_bottom IS NOT NULL THEN
                                       (CASE WHEN missing_status = 'late' THEN members_n ELSE reporters END) - not_bottom
                                   WHEN prev_rnk = 1 THEN 1 ELSE prev_rnk - 1 END) - rnk
            WHEN 'range' THEN CASE WHEN value < lo THEN value - lo WHEN value > hi THEN hi - value ELSE value - lo END
            WHEN 'pacing' THEN value - annual * due_share / 100.0
            WHEN 'compare' THEN CASE WHEN op IN ('>=', '>') THEN value - (peer_mean + margin) ELSE (peer_mean + margin) - value END
            WHEN 'break_zero' THEN value - 1.0
            ELSE CASE WHEN op IN ('>=', '>') THEN value - floor ELSE floor - value END
        END AS gap
    FROM valued LEFT JOIN ranked USING (rule, unit) LEFT JOIN peers USING (rule)
), judged_met AS (
    SELECT *,
        CASE WHEN gap IS NULL THEN NULL
             WHEN kind = 'rank' THEN gap >= 0 AND NOT (ties_fail AND tied)
             WHEN kind = 'range' THEN value >= lo AND value <= hi
             WHEN op IN ('>', '<') THEN gap > 0
             ELSE gap >= 0 END AS met,
        CASE kind WHEN 'range' THEN value > hi
                  WHEN 'rank' THEN coalesce(not_bottom IS NOT NULL AND missing_status = 'no_data' AND reporters < members_n
                                            AND rnk <= members_n - not_bottom, false)
                  WHEN 'pacing' THEN coalesce(-gap / annual * 100.0 <= within, false)
                  ELSE coalesce(-gap <= within, false) END AS soft
    FROM gaps
)
SELECT rule, unit, period_label AS period,
    CASE WHEN cur IS NULL THEN missing_status
         WHEN met IS NULL THEN 'no_data'
         WHEN met THEN 'on_track'
         WHEN soft THEN 'at_risk'
         ELSE 'behind' END AS status,
    CASE WHEN cur IS NULL THEN NULL ELSE value END AS value, CASE WHEN kind = 'rank' THEN rnk END AS rank
FROM judged_met
"""

MACROS = """
-- The 累计 key of (indicator id, period code, unit id): see the store's key layout above.
CREATE OR REPLACE MACRO store_key(ind, code, unit) AS
    ((ind << 16 | ((code // 10000 - 1900) * 144 + (code // 100 % 100 - 1) * 12 + (code % 100 - 1))) << 20 | unit) << 1 | 1;
CREATE OR REPLACE MACRO round_half_even(x, d) AS (
    CASE WHEN x * pow(10.0, d) - floor(x * pow(10.0, d)) > 0.5
              OR (x * pow(10.0, d) - floor(x * pow(10.0, d)) = 0.5 AND floor(x * pow(10.0, d)) % 2 <> 0)
         THEN floor(x * pow(10.0, d)) + 1 ELSE floor(x * pow(10.0, d)) END / pow(10.0, d))
"""


class UnsupportedRule(ValueError):
    """A rule outside the reference's subset: named, never judged differently."""


@dataclass
class ReferencePlan:
    """The rule table and group membership of one bench deployment."""

    rules: list[dict]
    members: dict[str, list[str]]
    deadline_days: dict[str, int]

    @classmethod
    def load(cls, workdir: Path) -> ReferencePlan:
        workdir = Path(workdir)
        reg = workdir / "registry"
        units = _safe_load(reg / "units.yaml")
        indicators = {i["id"]: i for i in _safe_load(reg / "indicators.yaml")["indicators"]}
        members: dict[str, list[str]] = {}
        extra = {g["id"]: set(g.get("members", [])) for g in units.get("groups", [])}
        for g in extra:
            members[g] = [u["id"] for u in units["units"] if g in u.get("groups", []) or u["id"] in extra[g]]
        docs = [d for path in sorted(glob.glob(str(workdir / "rules" / "*.yaml")))
                for d in yaml.load_all(Path(path).read_text(encoding="utf-8"), Loader=_LOADER) if d]
        rules = [_rule_row(d, indicators) for d in docs]
        ids = [r["rule"] for r in rules]
        if len(set(ids)) != len(ids):
            raise UnsupportedRule("the reference judges one version of each rule: an id appears twice")
        for ind in indicators.values():
            if ind.get("frequency", "monthly") != "monthly" or ind.get("basis", "ytd") != "ytd" or ind.get("jan_feb_combined"):
                raise UnsupportedRule(f"indicator {ind['id']}: the reference reads monthly 累计 indicators only")
            if "working_days" in (ind.get("deadline") or {}):
                raise UnsupportedRule(f"indicator {ind['id']}: the reference knows calendar-day deadlines only")
        days = {i: int((ind.get("deadline") or {}).get("days", 15)) for i, ind in indicators.items()}
        return cls(rules, members, days)

    def rule_table(self, as_of_day: date) -> pa.Table:
        """The rules as one Arrow table, with the periods each reads and its status when unreported."""
        code = judged_month(as_of_day)
        year, month = code // 10000, code % 100
        prev = (year - 1) * 10000 + 1212 if month == 1 else year * 10000 + (month - 1) * 101
        columns = {f.name: [r[f.name] for r in self.rules] for f in RULE_SCHEMA}
        table = pa.table(columns, schema=RULE_SCHEMA)
        due = [_month_end(code) + timedelta(days=self.deadline_days[r["indicator"]]) for r in self.rules]
        due_shares = [_due_share(r["checkpoints"], r["profile"], month) if r["kind"] == "pacing" else None for r in self.rules]
        n = len(self.rules)
        return (table.set_column(table.schema.get_field_index("due_share"), "due_share", pa.array(due_shares, pa.float64()))
                .append_column("code", pa.array([code] * n, pa.int64()))
                .append_column("last_code", pa.array([code - 10000] * n, pa.int64()))
                .append_column("prev_code", pa.array([prev] * n, pa.int64()))
                .append_column("period_label", pa.array([f"{year}-{month:02d}"] * n))
                .append_column("missing_status", pa.array(["late" if as_of_day > d else "no_data" for d in due])))

    def evaluate(self, store_path: Path, as_of: str, con=None, timings: dict | None = None) -> pa.Table:
        """Every verdict (rule, unit, period, status, value, rank) as of the end of ``as_of``: one store read, one query.

        ``timings``, when given, receives the CPU seconds of the store read (``read_cpu``) and the rows it
        read (``rows_read``).
        """
        cpu = process_time()
        as_of_day = date.fromisoformat(as_of)
        rules = self.rule_table(as_of_day)
        as_of_s = int(datetime.combine(as_of_day, time.max, tzinfo=SHANGHAI).timestamp())
        dims, raw = read_store(store_path, rules, as_of_s)
        if timings is not None:
            timings["read_cpu"] = process_time() - cpu
            timings["rows_read"] = raw.num_rows
        members = pa.table({"grp": [g for g, us in self.members.items() for _ in us],
                            "unit": [u for us in self.members.values() for u in us]})
        con = con or duckdb.connect()
        con.execute(MACROS)
        for name, table in (("rules", rules), ("members", members), ("dims", dims), ("raw", raw)):
            con.register(name, table)
        return con.sql(PLAN).to_arrow_table()


def read_store(store_path: Path, rules: pa.Table, as_of_s: int) -> tuple[pa.Table, pa.Table]:
    """The dimension names (from the store) and the rows of every (indicator, period) the rules read (from the
    bench's DuckDB copy of the same observations, ``reference.duckdb`` beside the store), as Arrow tables."""
    with adbc.connect(str(store_path)) as con, con.cursor() as cur:
        cur.execute("SELECT kind, name, id FROM dim")
        dims = cur.fetch_arrow_table()
        ids = {(k, n): i for k, n, i in zip(*(dims[c].to_pylist() for c in ("kind", "name", "id")))}
        rows = rules.to_pylist()
        pairs = {(r["indicator"], r["code"]) for r in rows}
        pairs |= {(r["indicator"], r["last_code"]) for r in rows if r["yoy"]}
        pairs |= {(r["indicator"], r["prev_code"]) for r in rows if r["improve"]}
        pairs |= {(r["of_indicator"], r["code"]) for r in rows if r["of_indicator"]}
        ranges = sorted(_key_range(ids[("indicator", ind)], code) for ind, code in pairs if ("indicator", ind) in ids)
        if not ranges:
            return dims, pa.table({"key": pa.array([], pa.int64()), "revision": pa.array([], pa.int64()), "value": pa.array([], pa.float64())})
    # Integers we computed, not input: one statement of key range scans (the copy is sorted by key).
    sql = " UNION ALL ".join(
        f"SELECT key, revision, value FROM observation WHERE key BETWEEN {lo} AND {hi} AND reported_at <= {int(as_of_s)}"
        for lo, hi in ranges)
    with duckdb.connect(str(store_path.with_name("reference.duckdb")), read_only=True) as reference:
        return dims, reference.sql(sql).to_arrow_table()


def judged_month(as_of_day: date) -> int:
    """The code (YYYYMMMM) of the latest month ended by the as-of day."""
    end_of_month = (as_of_day + timedelta(days=1)).day == 1
    year, month = as_of_day.year, as_of_day.month if end_of_month else as_of_day.month - 1
    if month == 0:
        year, month = year - 1, 12
    return year * 10000 + month * 101


def _key_range(ind_id: int, code: int) -> tuple[int, int]:
    year, first, last = code // 10000, code // 100 % 100, code % 100
    pidx = (year - 1900) * 144 + (first - 1) * 12 + (last - 1)
    base = ((ind_id << PERIOD_BITS) | pidx) << UNIT_BITS
    return base << 1, ((base | ((1 << UNIT_BITS) - 1)) << 1) | 1


def _month_end(code: int) -> date:
    year, month = code // 10000, code % 100
    return (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)) - timedelta(days=1)


def _due_share(checkpoints: dict, profile: str, month: int) -> float:
    """% of the annual task due by the end of ``month``: linear, or straight lines between checkpoints."""
    if profile == "linear":
        return month / 12 * 100.0
    points = sorted({0: 0.0, **checkpoints, 12: checkpoints.get(12, 100.0)}.items())
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 <= month <= x1:
            return (y1 - y0) / (x1 - x0) * (month - x0) + y0 if month != x1 else float(y1)
    return float(points[-1][1])


def _rule_row(doc: dict, indicators: dict) -> dict:
    meta, spec = doc["metadata"], doc["spec"]
    rule_id, t = meta["id"], spec["target"]
    kind = t["kind"]
    if doc.get("kind") != "Rule" or kind not in SUPPORTED:
        raise UnsupportedRule(f"{rule_id}: the reference judges rules of kinds {', '.join(SUPPORTED)} only")
    for key in ("units", "overrides", "allocation", "basis", "period"):
        if spec.get(key):
            raise UnsupportedRule(f"{rule_id}: the reference does not read spec.{key}")
    if meta.get("effective_from") or meta.get("effective_until"):
        raise UnsupportedRule(f"{rule_id}: the reference judges one version of each rule, in force throughout")
    unread = {
        "stretch": t.get("stretch") is not None and kind != "threshold",  # a threshold's stretch never changes the status
        "profile: seasonal": t.get("profile") == "seasonal",
        "order": t.get("order") is not None,
        "reference: group_figure": kind == "compare" and t.get("reference", "group_figure") != "peer_mean",
        "of.unit": bool((t.get("of") or {}).get("unit")),
    }
    if any(unread.values()):
        raise UnsupportedRule(f"{rule_id}: the reference does not read target {', '.join(k for k, v in unread.items() if v)}")
    ind = indicators[spec["indicator"]]
    metric = "yoy" if kind == "decline" else spec.get("metric", "value")
    if metric not in ("value", "yoy") or (metric == "yoy" and t.get("improve")):
        raise UnsupportedRule(f"{rule_id}: metric {metric} is not in the reference")
    growth = ind.get("kind", "level") == "growth"
    return {
        "rule": rule_id, "kind": kind, "indicator": ind["id"], "grp": spec["group"],
        "yoy": metric == "yoy" and not growth,  # a growth series is its own year-on-year growth
        "op": t.get("op", ">" if kind == "compare" else ">="), "floor": _f(t.get("floor")),
        "within": _f(t.get("at_risk_within")), "lo": _f(t.get("min")), "hi": _f(t.get("max")),
        "top": _f(t.get("top")), "not_bottom": _f(t.get("not_bottom")), "improve": bool(t.get("improve")),
        "ties_fail": t.get("ties") == "fail", "higher": ind.get("direction", "higher") == "higher",
        "decimals": int(ind.get("decimals", 2)), "margin": _f(t.get("margin", 0.0)), "annual": _f(t.get("annual")),
        "due_share": None, "of_indicator": (t.get("of") or {}).get("indicator"),
        "checkpoints": {int(k): float(v) for k, v in (t.get("checkpoints") or {}).items()},
        "profile": t.get("profile", "linear"),
    }


def _f(value) -> float | None:
    return None if value is None else float(value)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # safe: no tags that build objects


def _safe_load(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
