"""Benchmark of ``rules.evaluate`` against a columnar reference: 2,000 units in 20 peer groups, 100 indicators, 84 months.

That is 16.8 million observations in the embedded SQLite store, with 100 rules of ten kinds. The
script builds the deployment and the store once per size (slow, untimed; kept in --workdir). Then, in
fresh processes taking turns (targetwatch, DuckDB, targetwatch, …; three rounds), it evaluates one
as-of date with targetwatch and with ``bench/reference_plan.py``, an independent DuckDB SQL plan of the
same rules on the same store (one query over all rules). It prints each side's minimum CPU time
(steadier on a shared machine), wall time and peak memory, their ratios, and how many verdicts differ
(status per rule, unit and period; also value and rank): the target is none. The quarter and half sizes
(fewer units) show how the cost grows; ``--growth`` prints a table of both sides along each axis (units,
indicators and months stored, rules judged), one axis at a time. ``--units 40000 --months 25`` is the
national scale of issue 15 (100 M observations; its store takes about 3 minutes to build). DuckDB comes
with the ``bench`` extra (``pip install -e '.[bench]'``).

    .venv/bin/python bench/evaluate.py                 # all three sizes
    .venv/bin/python bench/evaluate.py --sizes 0.25    # only the quarter size
    .venv/bin/python bench/evaluate.py --units 40000 --months 25   # national scale: 100 M observations
    .venv/bin/python bench/evaluate.py --growth                # time and memory along units, indicators, months, rules
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_UNITS, N_GROUPS, N_INDICATORS, N_RULES, FIRST_YEAR, YEARS = 2000, 20, 100, 100, 2017, 7
AS_OF = "2023-12-20"  # judges 2023-11 (deadline 15 days after the month)
# Indicator i: growth series when i % 4 == 0, counts when i % 4 == 3, levels otherwise.
KINDS = ["threshold_growth", "threshold_yoy", "rank_top", "compare_mean", "pacing", "rank_improve",
         "range", "decline", "share", "break_zero"]


def build(workdir: Path, n_units: int, *, years: int = YEARS, months: int | None = None,
          n_indicators: int = N_INDICATORS, irregular: bool = False) -> None:
    """Write the registry, 100 rules and the store for ``n_units`` units (skipped when present).

    The store holds ``months`` months ending in December 2023 (default: ``years`` whole years) of
    ``n_indicators`` indicators (a multiple of 4, so that each rule finds an indicator of its kind).
    ``irregular`` (the reference plan's test) adds what the regular bench data lack: cells never
    reported, reports after the deadline, later revisions, zeros (a zero base, a zero denominator, a
    count not broken) and growth in whole numbers (ties).
    """
    if (workdir / "done").exists() and (workdir / "done").read_text() == LAYOUT:
        return
    if n_indicators % 4:
        raise ValueError(f"--indicators {n_indicators}: a multiple of 4 (growth, level, level, count)")
    workdir.mkdir(parents=True, exist_ok=True)
    for leftover in [*workdir.glob("store.db*"), *workdir.glob("reference.duckdb*")]:  # a build interrupted before "done": start the store afresh
        leftover.unlink()
    reg, rules_dir = workdir / "registry", workdir / "rules"
    reg.mkdir(exist_ok=True)
    rules_dir.mkdir(exist_ok=True)
    per_group = n_units // N_GROUPS
    groups = [f"g{g:02d}" for g in range(N_GROUPS)]
    lines = ["groups:", "  - {id: all_units, name: 全部单位}"] + [f"  - {{id: {g}, name: 组{g}}}" for g in groups] + ["units:"]
    units = [f"u{u:05d}" for u in range(n_units)]
    lines += [f"  - {{id: {u}, name: 单位{u}, kind: town, groups: [all_units, g{i // per_group:02d}]}}" for i, u in enumerate(units)]
    (reg / "units.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ind_lines = ["indicators:"]
    for i in range(n_indicators):
        kind = "growth" if i % 4 == 0 else "count" if i % 4 == 3 else "level"
        measure = "%" if kind == "growth" else "个" if kind == "count" else "万元"
        ind_lines.append(f"  - {{id: i{i:03d}, name: 指标{i:03d}, measure: '{measure}', kind: {kind}, frequency: monthly, basis: ytd, decimals: 1}}")
    (reg / "indicators.yaml").write_text("\n".join(ind_lines) + "\n", encoding="utf-8")
    (workdir / "settings.yaml").write_text(f"sqlite_path: {workdir / 'store.db'}\n", encoding="utf-8")
    (rules_dir / "bench.yaml").write_text("\n---\n".join(_rule(r, n_indicators) for r in range(N_RULES)), encoding="utf-8")
    _fill_store(workdir / "store.db", units, _months(months or 12 * years), n_indicators, irregular)
    (workdir / "done").write_text(LAYOUT)


LAYOUT = "slices"  # the store layout a workdir was built for: a workdir built for another is built again


def _months(count: int) -> list:
    """The ``count`` months ending in December 2023, oldest first."""
    from targetwatch import periods

    last = (FIRST_YEAR + YEARS - 1) * 12 + 11  # December 2023 as a month number
    return [periods.Period(m // 12, m % 12 + 1, m % 12 + 1) for m in range(last - count + 1, last + 1)]


def _rule(r: int, n_indicators: int = N_INDICATORS) -> str:
    kind = KINDS[r % len(KINDS)]
    growth_ind = f"i{(r * 4) % n_indicators:03d}"  # i % 4 == 0
    level_ind = f"i{(r * 4 + 1) % n_indicators:03d}"
    count_ind = f"i{(r * 4 + 3) % n_indicators:03d}"
    group = f"g{r % N_GROUPS:02d}"
    spec = {
        "threshold_growth": f"indicator: {growth_ind}\n  group: all_units\n  target: {{kind: threshold, floor: 5, stretch: 7, at_risk_within: 0.5}}",
        "threshold_yoy": f"indicator: {level_ind}\n  metric: yoy\n  group: all_units\n  target: {{kind: threshold, floor: 5}}",
        "rank_top": f"indicator: {growth_ind}\n  group: {group}\n  target: {{kind: rank, top: 7, ties: fail}}",
        "compare_mean": f"indicator: {growth_ind}\n  group: all_units\n  target: {{kind: compare, reference: peer_mean, margin: 0.5}}",
        "pacing": f"indicator: {level_ind}\n  group: all_units\n  target: {{kind: pacing, annual: 12000, profile: checkpoints, checkpoints: {{3: 25, 6: 55}}}}",
        "rank_improve": f"indicator: {growth_ind}\n  group: {group}\n  target: {{kind: rank, improve: true}}",
        "range": f"indicator: {count_ind}\n  group: all_units\n  target: {{kind: range, min: 30, max: 80}}",
        "decline": f"indicator: {level_ind}\n  metric: yoy\n  group: all_units\n  target: {{kind: decline, floor: 1}}",
        "share": f"indicator: {level_ind}\n  group: all_units\n  target: {{kind: share, of: {{indicator: i{(r * 4 + 2) % n_indicators:03d}}}, floor: 90}}",
        "break_zero": f"indicator: {count_ind}\n  group: all_units\n  target: {{kind: break_zero}}",
    }[kind]
    return f"apiVersion: targetwatch/v1\nkind: Rule\nmetadata: {{id: r{r:03d}_{kind}, title: 规则{r:03d}}}\nspec:\n  {spec}\n"


def _fill_store(path: Path, units: list[str], months: list, n_indicators: int = N_INDICATORS, irregular: bool = False) -> None:
    """Land every observation straight into the store's slices (generation, not the timed part), and the same
    rows into ``reference.duckdb`` beside it, the DuckDB plan's own columnar copy.

    An indicator at a time, as Arrow columns through ADBC's bulk ingest, without journal or sync. Revisions
    (``irregular``) come from a second batch, as a correction would.
    """
    import adbc_driver_sqlite.dbapi as adbc
    import duckdb
    import pyarrow as pa

    from targetwatch.store.sqlite import SQLiteStore, pack, slice_rows

    store = SQLiteStore(path)  # the schema and the dimensions, as the product writes them
    ind_ids = store._dim_ids("indicator", [f"i{i:03d}" for i in range(n_indicators)])  # commits on its own
    unit_ids = store._dim_ids("unit", units)
    store.con.execute("INSERT INTO batch(id, source, content_hash, reported_at, ingested_at) "
                      "VALUES (1, 'bench', 'bench', 0, 0), (2, 'bench revisions', 'bench2', 0, 0)")
    store.con.execute("PRAGMA journal_mode=DELETE")  # no WAL to copy the whole file through once more
    store.close()
    first_year = months[0].year
    rng = np.random.default_rng(7)
    odd = np.random.default_rng(11)  # irregular draws only: the regular data stay as they were
    u = np.array([unit_ids[x] for x in units], dtype=np.int64)
    reference = duckdb.connect(str(path.with_name("reference.duckdb")))
    reference.execute("CREATE TABLE observation (key BIGINT, revision BIGINT, value DOUBLE, reported_at BIGINT)")
    with adbc.connect(str(path), autocommit=True) as con:  # one transaction per ingest: an indicator
        with con.cursor() as cur:
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-262144"):
                cur.execute(f"PRAGMA {pragma}")
                cur.fetchall()
            for name, ind in sorted(ind_ids.items(), key=lambda kv: kv[1]):
                i = int(name[1:])
                parts: list[tuple] = []
                for p in months:  # key order: indicator, then period, then unit
                    if i % 4 == 0:
                        values = np.round(rng.normal(6.0, 2.0, len(u)), 0 if irregular else 1)
                    else:
                        values = np.round(rng.uniform(5.0, 15.0, len(u)) * p.last_month * (1 + 0.05 * (p.year - first_year)), 1)
                    reported = np.full(len(u), int(p.end_instant().timestamp()) + 10 * 86400)
                    keys = pack(np.full(len(u), ind), np.full(len(u), p.code), u, np.ones(len(u), dtype=np.int64))
                    kept = np.ones(len(u), dtype=bool)
                    if irregular:
                        if i % 4:
                            values[odd.random(len(u)) < 0.05] = 0.0
                        kept = odd.random(len(u)) >= 0.04
                        reported += odd.choice([0, 4, 10, 15], size=len(u), p=[0.85, 0.05, 0.05, 0.05]) * 86400
                        revised = kept & (odd.random(len(u)) < 0.06)
                        parts.append((keys[revised], 2, np.round(values[revised] * 1.5 + 1, 1), reported[revised] + 3 * 86400))
                    parts.append((keys[kept], 1, values[kept], reported[kept]))
                revision = np.concatenate([np.full(len(k), r, dtype=np.int64) for k, r, *_ in parts])
                rows = {"key": np.concatenate([k for k, *_ in parts]), "revision": revision,
                        "value": np.concatenate([v for _, _, v, _ in parts]),
                        "reported_at": np.concatenate([t for *_, t in parts]).astype(np.int64)}
                slices = list(zip(*slice_rows(**rows, batch=revision)))
                names = ("pair", "batch", "part", "reported_at", "rows", "unit_basis", "revision", "value")
                cur.adbc_ingest("slice", pa.table({n: pa.array(c, pa.binary() if j >= 5 else pa.int64()) for j, (n, c) in enumerate(zip(names, slices))}),
                                mode="append")
                order = np.lexsort((rows["revision"], rows["key"]))
                observations = pa.table({c: v[order] for c, v in rows.items()})  # noqa: F841 (read by the next statement)
                reference.execute("INSERT INTO observation SELECT * FROM observations")
    reference.close()
    store = SQLiteStore(path)  # back to WAL, as the product opens it
    store.close()


def run(workdir: Path, verdicts: Path | None = None, as_of: str = AS_OF, n_rules: int | None = None) -> dict:
    """targetwatch: evaluate one as-of date (rule loading and store reads included); time and peak memory.

    ``n_rules`` judges only the first rules (by id), to measure how the cost grows with the rules.
    """
    import rules
    from targetwatch.deployment import load_deployment
    from targetwatch.store.sqlite import SQLiteStore

    dep = load_deployment(workdir)
    store = SQLiteStore(workdir / "store.db")
    start = time.perf_counter()
    ruleset = rules.load_rules(workdir, dep)  # loading and checking the rules: reported apart
    wanted = sorted(ruleset.ids)[:n_rules] if n_rules else None
    base_mb = _peak_mb()
    loaded, cpu = time.perf_counter(), time.process_time()
    frame = rules.evaluate(dep, store, as_of=as_of, ruleset=ruleset, rules=wanted)
    seconds, cpu = time.perf_counter() - loaded, time.process_time() - cpu
    if verdicts is not None:
        frame[COMPARED].to_parquet(verdicts)
    return _figures(seconds, cpu, loaded - start, base_mb, frame["status"])


def reference(workdir: Path, verdicts: Path | None = None, as_of: str = AS_OF, n_rules: int | None = None) -> dict:
    """The DuckDB plan of the same rules on the same store; the same figures as :func:`run`."""
    from reference_plan import ReferencePlan

    start = time.perf_counter()
    plan = ReferencePlan.load(workdir)  # the YAML read into a rule table: reported apart, like the rules' loading
    if n_rules:
        plan.rules = sorted(plan.rules, key=lambda r: r["rule"])[:n_rules]
    base_mb = _peak_mb()
    loaded, cpu = time.perf_counter(), time.process_time()
    timings: dict = {}
    table = plan.evaluate(workdir / "store.db", as_of, timings=timings)
    seconds, cpu = time.perf_counter() - loaded, time.process_time() - cpu
    frame = table.to_pandas()
    if verdicts is not None:
        frame[COMPARED].to_parquet(verdicts)
    return {**_figures(seconds, cpu, loaded - start, base_mb, frame["status"]),
            "read_cpu": round(timings["read_cpu"], 3), "rows_read": timings["rows_read"]}


COMPARED = ["rule", "unit", "period", "status", "value", "rank"]


def _peak_mb() -> float:
    """This process's peak resident memory since it started its program (Linux's VmHWM).

    Not ``ru_maxrss``: Linux carries that across exec, so a child would report its parent's size at fork.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


def _figures(seconds: float, cpu: float, load_seconds: float, base_mb: float, status) -> dict:
    """``peak_mb`` is the process's peak; ``base_mb`` its peak before evaluating (imports, registry, rules)."""
    return {"seconds": round(seconds, 3), "cpu": round(cpu, 3), "load_seconds": round(load_seconds, 3),
            "peak_mb": round(_peak_mb()), "base_mb": round(base_mb), "verdicts": len(status),
            "statuses": status.value_counts().to_dict()}


def mismatches(ours, theirs) -> dict:
    """Verdicts that differ between two frames of COMPARED columns: rows only one side has, then by column.

    Status must match exactly, rank exactly, value to 1e-6 (the engine rounds its figures to 9 decimals).
    """
    both = ours.merge(theirs, on=["rule", "unit", "period"], how="outer", suffixes=("", "_ref"), indicator=True)
    if both.empty:
        return {"only one side": both}
    matched = both[both["_merge"] == "both"]
    value, ref_value = matched["value"].astype(float), matched["value_ref"].astype(float)
    rank, ref_rank = matched["rank"].astype("Float64"), matched["rank_ref"].astype("Float64")
    return {
        "only one side": both[both["_merge"] != "both"],
        "status": matched[matched["status"] != matched["status_ref"]],
        "value": matched[~(((value - ref_value).abs() <= 1e-6) | (value.isna() & ref_value.isna()))],
        "rank": matched[~((rank == ref_rank).fillna(False) | (rank.isna() & ref_rank.isna()))],
    }


def _child(mode: str, workdir: Path, verdicts: Path | None, n_rules: int | None) -> dict:
    command = ([sys.executable, __file__, f"--{mode}", str(workdir)] + (["--verdicts", str(verdicts)] if verdicts else [])
               + (["--rules", str(n_rules)] if n_rules else []))
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


FIGURES = ("seconds", "cpu", "peak_mb", "base_mb", "load_seconds", "read_cpu")


def compare(workdir: Path, rounds: int, n_rules: int | None = None, quiet: bool = False) -> dict:
    """Both evaluations in fresh processes, interleaved (A B A B …), the minimum of each figure; then the verdicts.

    Prints the side-by-side figures unless ``quiet``; returns them with the mismatch counts.
    """
    import pandas as pd

    ours, theirs = [], []
    for r in range(rounds):
        first = r == 0  # the first round also writes its verdicts, outside the timed part
        ours.append(_child("run", workdir, workdir / "verdicts-targetwatch.parquet" if first else None, n_rules))
        theirs.append(_child("reference", workdir, workdir / "verdicts-duckdb.parquet" if first else None, n_rules))
    best = {name: {k: min(x[k] for x in runs if k in x) for k in FIGURES if k in runs[0]}
            for name, runs in (("targetwatch", ours), ("duckdb", theirs))}
    found = mismatches(pd.read_parquet(workdir / "verdicts-targetwatch.parquet"), pd.read_parquet(workdir / "verdicts-duckdb.parquet"))
    result = {**best, "verdicts": ours[0]["verdicts"], "reference_verdicts": theirs[0]["verdicts"],
              "rows_read": theirs[0]["rows_read"], "mismatches": {what: len(rows) for what, rows in found.items()}}
    if quiet:
        return result
    for name in ("targetwatch", "duckdb"):
        b = best[name]
        read = f"; {b['read_cpu']:.2f} s of the CPU read the store" if "read_cpu" in b else ""
        print(f"    {name:<11} {b['cpu']:6.2f} s CPU  {b['seconds']:6.2f} s wall  peak {b['peak_mb']:5d} MB  "
              f"(+ {b['load_seconds']:.2f} s reading the rules{read}; {b['base_mb']} MB before evaluating)", flush=True)
    t, d = best["targetwatch"], best["duckdb"]
    print(f"    ratio       {t['cpu'] / d['cpu']:6.1f}× CPU   {t['seconds'] / d['seconds']:6.1f}× wall  "
          f"{t['peak_mb'] / d['peak_mb']:5.1f}× peak memory  (targetwatch / DuckDB, minimum of {rounds} interleaved runs)")
    print(f"    verdicts    {result['verdicts']} from targetwatch, {result['reference_verdicts']} from DuckDB "
          f"({result['rows_read']} stored rows read); mismatches: "
          + ", ".join(f"{what} {len(rows)}" for what, rows in found.items()), flush=True)
    for what, rows in found.items():
        if len(rows):
            print(f"    first {what} mismatches:\n" + rows.head(5).to_string(), flush=True)
    return result


def workdir_for(root: Path, n_units: int, months: int, n_indicators: int) -> Path:
    """One folder per store; the default 84-month, 100-indicator stores keep their old names."""
    return root / (f"units{n_units}" + (f"-months{months}" if months != 12 * YEARS else "")
                   + (f"-ind{n_indicators}" if n_indicators != N_INDICATORS else ""))


# The growth sweep: one axis at a time around 2,000 units × 100 indicators × 25 months × 100 rules.
GROWTH_BASE = {"units": 2000, "indicators": N_INDICATORS, "months": 25, "rules": N_RULES}
GROWTH_AXES = {"units": [500, 2000, 8000, 40000], "indicators": [20, 40, 100, 200],
               "months": [14, 25, 84], "rules": [25, 50, 100]}


def growth(root: Path, rounds: int, axes: list[str]) -> None:
    """Time and peak memory of both sides along each axis, one table (stores built on the way, untimed)."""
    print(f"{'axis':<11}{'value':>7}{'stored':>9}{'read':>8}{'verdicts':>10}{'tw CPU s':>10}{'tw wall s':>10}"
          f"{'tw peak':>9}{'tw base':>9}{'DuckDB CPU':>11}{'DuckDB peak':>12}{'CPU ×':>7}{'mism.':>7}", flush=True)
    measured: dict[tuple, dict] = {}  # the base point sits on every axis: measured once
    for axis in axes:
        for value in GROWTH_AXES[axis]:
            point = {**GROWTH_BASE, axis: value}
            workdir = workdir_for(root, point["units"], point["months"], point["indicators"])
            build(workdir, point["units"], months=point["months"], n_indicators=point["indicators"])
            key = tuple(point.values())
            if key not in measured:
                measured[key] = compare(workdir, rounds, point["rules"] if point["rules"] != N_RULES else None, quiet=True)
            r = measured[key]
            t, d = r["targetwatch"], r["duckdb"]
            stored = point["units"] * point["indicators"] * point["months"]
            print(f"{axis:<11}{value:>7}{stored / 1e6:>8.1f}M{r['rows_read'] / 1e6:>7.2f}M{r['verdicts']:>10}{t['cpu']:>10.2f}"
                  f"{t['seconds']:>10.2f}{t['peak_mb']:>7}MB{t['base_mb']:>7}MB{d['cpu']:>11.2f}{d['peak_mb']:>10}MB"
                  f"{t['cpu'] / d['cpu']:>7.1f}{sum(r['mismatches'].values()):>7}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/targetwatch-bench"))
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.25, 0.5, 1.0], help="units, as a multiple of 2,000")
    parser.add_argument("--units", type=int, nargs="+", help="units (instead of --sizes)")
    parser.add_argument("--years", type=int, default=YEARS, help="years of monthly data ending in 2023 (7: 84 months)")
    parser.add_argument("--months", type=int, help="months of data ending in December 2023 (instead of --years)")
    parser.add_argument("--indicators", type=int, default=N_INDICATORS, help="indicators in the store (a multiple of 4)")
    parser.add_argument("--rules", type=int, help="judge only the first N of the 100 rules")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs of each side (the minimum is printed)")
    parser.add_argument("--growth", nargs="*", choices=list(GROWTH_AXES), metavar="AXIS",
                        help=f"the growth table along these axes ({', '.join(GROWTH_AXES)}; none given: all)")
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reference", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--verdicts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run or args.reference:
        side = run if args.run else reference
        print(json.dumps(side(args.run or args.reference, args.verdicts, n_rules=args.rules)))
        return
    if args.growth is not None:
        growth(args.workdir, args.rounds, args.growth or list(GROWTH_AXES))
        return
    months = args.months or 12 * args.years
    for n_units in args.units or [int(N_UNITS * size) for size in args.sizes]:
        workdir = workdir_for(args.workdir, n_units, months, args.indicators)
        t0 = time.perf_counter()
        build(workdir, n_units, months=months, n_indicators=args.indicators)
        built = time.perf_counter() - t0
        observations = n_units * args.indicators * months
        print(f"{n_units:5d} units × {args.indicators} indicators × {months} months, {observations / 1e6:5.1f} M observations, "
              f"{args.rules or N_RULES} rules (store built in {built:.0f} s):", flush=True)
        compare(workdir, args.rounds, args.rules)


if __name__ == "__main__":
    main()
