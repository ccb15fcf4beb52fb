"""Benchmark of ``rules.evaluate``: 2,000 units in 20 peer groups, 100 indicators, 84 monthly periods.

That is 16.8 million observations in the embedded SQLite store, with 100 rules of mixed kinds. The
script builds the deployment and the store once per size (slow, untimed; kept in --workdir), then
evaluates one as-of date in a fresh process and prints the wall time, the CPU time (steadier on a shared machine) and the peak memory of that
process. The quarter and half sizes (fewer units) show that the cost grows linearly.

    .venv/bin/python bench/evaluate.py                 # all three sizes
    .venv/bin/python bench/evaluate.py --sizes 0.25    # only the quarter size
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


def build(workdir: Path, n_units: int) -> None:
    """Write the registry, 100 rules and the store for ``n_units`` units (skipped when present)."""
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
    _fill_store(workdir / "store.db", units)
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


def _fill_store(path: Path, units: list[str]) -> None:
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
    months = [periods.Period(FIRST_YEAR + y, m, m) for y in range(YEARS) for m in range(1, 13)]
    rng = np.random.default_rng(7)
    u = np.array([unit_ids[x] for x in units], dtype=np.int64)
    for name, ind in sorted(ind_ids.items(), key=lambda kv: kv[1]):
        i = int(name[1:])
        for p in months:  # key order: indicator, then period, then unit
            if i % 4 == 0:
                values = np.round(rng.normal(6.0, 2.0, len(u)), 1)
            else:
                values = np.round(rng.uniform(5.0, 15.0, len(u)) * p.last_month * (1 + 0.05 * (p.year - FIRST_YEAR)), 1)
            reported = int(p.end_instant().timestamp()) + 10 * 86400
            keys = pack(np.full(len(u), ind), np.full(len(u), p.code), u, np.ones(len(u), dtype=np.int64))
            con.executemany("INSERT INTO observation(key, revision, value, reported_at, batch) VALUES (?, 1, ?, ?, 1)",
                            zip(keys.tolist(), values.tolist(), [reported] * len(u)))
    con.execute("COMMIT")
    store.close()


def run(workdir: Path) -> dict:
    """Evaluate one as-of date (rule loading and store reads included); wall time and peak memory."""
    import rules
    from targetwatch.deployment import load_deployment
    from targetwatch.store.sqlite import SQLiteStore

    dep = load_deployment(workdir)
    store = SQLiteStore(workdir / "store.db")
    start = time.perf_counter()
    ruleset = rules.load_rules(workdir, dep)  # loading and checking the 100 rules: reported apart
    loaded, cpu = time.perf_counter(), time.process_time()
    verdicts = rules.evaluate(dep, store, as_of=AS_OF, ruleset=ruleset)
    seconds, cpu = time.perf_counter() - loaded, time.process_time() - cpu
    load_seconds = loaded - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": round(seconds, 2), "cpu": round(cpu, 2), "load_seconds": round(load_seconds, 2), "peak_mb": round(peak_mb), "verdicts": len(verdicts),
            "statuses": verdicts["status"].value_counts().to_dict()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/targetwatch-bench"))
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run(args.run)))
        return
    for size in args.sizes:
        n_units = int(N_UNITS * size)
        workdir = args.workdir / f"units{n_units}"
        t0 = time.perf_counter()
        build(workdir, n_units)
        built = time.perf_counter() - t0
        out = subprocess.run([sys.executable, __file__, "--run", str(workdir)], check=True, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        observations = n_units * N_INDICATORS * YEARS * 12
        print(f"{n_units:5d} units, {observations / 1e6:5.1f} M observations, 100 rules: "
              f"evaluate {result['seconds']:.2f} s wall, {result['cpu']:.2f} s CPU (+ {result['load_seconds']:.2f} s loading the rules), peak {result['peak_mb']} MB, {result['verdicts']} verdicts "
              f"(store built in {built:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
