"""Benchmark of ``rules.evaluate`` against a columnar reference: 2,000 units in 20 peer groups, 100 indicators, 84 months.

That is 16.8 million observations in the embedded SQLite store, with 100 rules of ten kinds. The
script builds the deployment and the store once per size (slow, untimed; kept in --workdir). Then, in
fresh processes taking turns (targetwatch, DuckDB, targetwatch, …; three rounds), it evaluates one
as-of date with targetwatch and with ``bench/reference_plan.py``, an independent DuckDB SQL plan of the
same rules on the same store (one query over all rules). It prints each side's minimum CPU time
(steadier on a shared machine), wall time and peak memory, their ratios, and how many verdicts differ
(status per rule, unit and period; also value and rank): the target is none. The quarter and half sizes
(fewer units) show how the cost grows. DuckDB comes with the ``bench`` extra (``pip install -e '.[bench]'``).

    .venv/bin/python bench/evaluate.py                 # all three sizes
    .venv/bin/python bench/evaluate.py --sizes 0.25    # only the quarter size
    .venv/bin/python bench/evaluate.py --sizes 20 --years 2   # 40,000 units × 24 months (96 M observations)
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

N_UNITS, N_GROUPS, N_INDICATORS, FIRST_YEAR, YEARS = 2000, 20, 100, 2017, 7
AS_OF = "2023-12-20"  # judges 2023-11 (deadline 15 days after the month)
# Indicator i: growth series when i % 4 == 0, counts when i % 4 == 3, levels otherwise.
KINDS = ["threshold_growth", "threshold_yoy", "rank_top", "compare_mean", "pacing", "rank_improve",
         "range", "decline", "share", "break_zero"]


def build(workdir: Path, n_units: int, *, years: int = YEARS, irregular: bool = False) -> None:
    """Write the registry, 100 rules and the store for ``n_units`` units (skipped when present).

    The store holds ``years`` years ending in 2023. ``irregular`` (the reference plan's test) adds what
    the regular bench data lack: cells never reported, reports after the deadline, later revisions,
    zeros (a zero base, a zero denominator, a count not broken) and growth in whole numbers (ties).
    """
    if (workdir / "done").exists():
        return
    workdir.mkdir(parents=True, exist_ok=True)
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
    for i in range(N_INDICATORS):
        kind = "growth" if i % 4 == 0 else "count" if i % 4 == 3 else "level"
        measure = "%" if kind == "growth" else "个" if kind == "count" else "万元"
        ind_lines.append(f"  - {{id: i{i:03d}, name: 指标{i:03d}, measure: '{measure}', kind: {kind}, frequency: monthly, basis: ytd, decimals: 1}}")
    (reg / "indicators.yaml").write_text("\n".join(ind_lines) + "\n", encoding="utf-8")
    (workdir / "settings.yaml").write_text(f"sqlite_path: {workdir / 'store.db'}\n", encoding="utf-8")
    (rules_dir / "bench.yaml").write_text("\n---\n".join(_rule(r) for r in range(100)), encoding="utf-8")
    _fill_store(workdir / "store.db", units, FIRST_YEAR + YEARS - years, years, irregular)
    (workdir / "done").write_text("ok")


def _rule(r: int) -> str:
    kind = KINDS[r % len(KINDS)]
    growth_ind = f"i{(r * 4) % N_INDICATORS:03d}"  # i % 4 == 0
    level_ind = f"i{(r * 4 + 1) % N_INDICATORS:03d}"
    count_ind = f"i{(r * 4 + 3) % N_INDICATORS:03d}"
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
        "share": f"indicator: {level_ind}\n  group: all_units\n  target: {{kind: share, of: {{indicator: i{(r * 4 + 2) % N_INDICATORS:03d}}}, floor: 90}}",
        "break_zero": f"indicator: {count_ind}\n  group: all_units\n  target: {{kind: break_zero}}",
    }[kind]
    return f"apiVersion: targetwatch/v1\nkind: Rule\nmetadata: {{id: r{r:03d}_{kind}, title: 规则{r:03d}}}\nspec:\n  {spec}\n"


def _fill_store(path: Path, units: list[str], first_year: int = FIRST_YEAR, years: int = YEARS, irregular: bool = False) -> None:
    """Land every observation straight into the packed-key table (generation, not the timed part)."""
    from targetwatch import periods
    from targetwatch.store.sqlite import SQLiteStore, pack

    store = SQLiteStore(path)
    con = store.con
    con.execute("PRAGMA synchronous=OFF")
    ind_ids = store._dim_ids("indicator", [f"i{i:03d}" for i in range(N_INDICATORS)])  # commits on its own
    unit_ids = store._dim_ids("unit", units)
    con.execute("BEGIN")
    con.execute("INSERT INTO batch(id, source, content_hash, reported_at, ingested_at) VALUES (1, 'bench', 'bench', 0, 0)")
    months = [periods.Period(first_year + y, m, m) for y in range(years) for m in range(1, 13)]
    rng = np.random.default_rng(7)
    odd = np.random.default_rng(11)  # irregular draws only: the regular data stay as they were
    u = np.array([unit_ids[x] for x in units], dtype=np.int64)
    insert = "INSERT INTO observation(key, revision, value, reported_at, batch) VALUES (?, ?, ?, ?, 1)"
    for name, ind in sorted(ind_ids.items(), key=lambda kv: kv[1]):
        i = int(name[1:])
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
                con.executemany(insert, zip(keys[revised].tolist(), [2] * int(revised.sum()),
                                            np.round(values[revised] * 1.5 + 1, 1).tolist(), (reported[revised] + 3 * 86400).tolist()))
            con.executemany(insert, zip(keys[kept].tolist(), [1] * int(kept.sum()), values[kept].tolist(), reported[kept].tolist()))
    con.execute("COMMIT")
    store.close()


def run(workdir: Path, verdicts: Path | None = None, as_of: str = AS_OF) -> dict:
    """targetwatch: evaluate one as-of date (rule loading and store reads included); time and peak memory."""
    import rules
    from targetwatch.deployment import load_deployment
    from targetwatch.store.sqlite import SQLiteStore

    dep = load_deployment(workdir)
    store = SQLiteStore(workdir / "store.db")
    start = time.perf_counter()
    ruleset = rules.load_rules(workdir, dep)  # loading and checking the 100 rules: reported apart
    loaded, cpu = time.perf_counter(), time.process_time()
    frame = rules.evaluate(dep, store, as_of=as_of, ruleset=ruleset)
    seconds, cpu = time.perf_counter() - loaded, time.process_time() - cpu
    if verdicts is not None:
        frame[COMPARED].to_parquet(verdicts)
    return _figures(seconds, cpu, loaded - start, frame["status"])


def reference(workdir: Path, verdicts: Path | None = None, as_of: str = AS_OF) -> dict:
    """The DuckDB plan of the same rules on the same store; the same figures as :func:`run`."""
    from reference_plan import ReferencePlan

    start = time.perf_counter()
    plan = ReferencePlan.load(workdir)  # the YAML read into a rule table: reported apart, like the rules' loading
    loaded, cpu = time.perf_counter(), time.process_time()
    timings: dict = {}
    table = plan.evaluate(workdir / "store.db", as_of, timings=timings)
    seconds, cpu = time.perf_counter() - loaded, time.process_time() - cpu
    frame = table.to_pandas()
    if verdicts is not None:
        frame[COMPARED].to_parquet(verdicts)
    return {**_figures(seconds, cpu, loaded - start, frame["status"]), "read_cpu": round(timings["read_cpu"], 3)}


COMPARED = ["rule", "unit", "period", "status", "value", "rank"]


def _figures(seconds: float, cpu: float, load_seconds: float, status) -> dict:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": round(seconds, 3), "cpu": round(cpu, 3), "load_seconds": round(load_seconds, 3),
            "peak_mb": round(peak_mb), "verdicts": len(status), "statuses": status.value_counts().to_dict()}


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


def _child(mode: str, workdir: Path, verdicts: Path | None) -> dict:
    command = [sys.executable, __file__, f"--{mode}", str(workdir)] + (["--verdicts", str(verdicts)] if verdicts else [])
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(workdir: Path, rounds: int) -> None:
    """Both evaluations in fresh processes, interleaved (A B A B …), the minimum of each figure; then the verdicts."""
    import pandas as pd

    ours, theirs = [], []
    for r in range(rounds):
        first = r == 0  # the first round also writes its verdicts, outside the timed part
        ours.append(_child("run", workdir, workdir / "verdicts-targetwatch.parquet" if first else None))
        theirs.append(_child("reference", workdir, workdir / "verdicts-duckdb.parquet" if first else None))
    best = {name: {k: min(x[k] for x in runs if k in x) for k in ("seconds", "cpu", "peak_mb", "load_seconds", "read_cpu") if k in runs[0]}
            for name, runs in (("targetwatch", ours), ("duckdb", theirs))}
    for name in ("targetwatch", "duckdb"):
        b = best[name]
        read = f"; {b['read_cpu']:.2f} s of the CPU read the store" if "read_cpu" in b else ""
        print(f"    {name:<11} {b['cpu']:6.2f} s CPU  {b['seconds']:6.2f} s wall  peak {b['peak_mb']:5d} MB  "
              f"(+ {b['load_seconds']:.2f} s reading the rules{read})", flush=True)
    t, d = best["targetwatch"], best["duckdb"]
    print(f"    ratio       {t['cpu'] / d['cpu']:6.1f}× CPU   {t['seconds'] / d['seconds']:6.1f}× wall  "
          f"{t['peak_mb'] / d['peak_mb']:5.1f}× peak memory  (targetwatch / DuckDB, minimum of {rounds} interleaved runs)")
    found = mismatches(pd.read_parquet(workdir / "verdicts-targetwatch.parquet"), pd.read_parquet(workdir / "verdicts-duckdb.parquet"))
    total = ours[0]["verdicts"]
    print(f"    verdicts    {total} from targetwatch, {theirs[0]['verdicts']} from DuckDB; mismatches: "
          + ", ".join(f"{what} {len(rows)}" for what, rows in found.items()), flush=True)
    for what, rows in found.items():
        if len(rows):
            print(f"    first {what} mismatches:\n" + rows.head(5).to_string(), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/targetwatch-bench"))
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--years", type=int, default=YEARS, help="years of monthly data ending in 2023 (7: 84 months)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs of each side (the minimum is printed)")
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reference", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--verdicts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run or args.reference:
        print(json.dumps(run(args.run, args.verdicts) if args.run else reference(args.reference, args.verdicts)))
        return
    for size in args.sizes:
        n_units = int(N_UNITS * size)
        workdir = args.workdir / (f"units{n_units}" + (f"-years{args.years}" if args.years != YEARS else ""))
        t0 = time.perf_counter()
        build(workdir, n_units, years=args.years)
        built = time.perf_counter() - t0
        observations = n_units * N_INDICATORS * args.years * 12
        print(f"{n_units:5d} units, {observations / 1e6:5.1f} M observations, 100 rules (store built in {built:.0f} s):", flush=True)
        compare(workdir, args.rounds)


if __name__ == "__main__":
    main()
