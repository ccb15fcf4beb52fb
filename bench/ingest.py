"""Benchmark: ingest N generated observations from one long CSV into the embedded store, beside DuckDB.

    python bench/ingest.py [--rows 5000000] [--also 1000000]

Prints rows per second and peak memory (max RSS) of the ingest alone, measured in a fresh process
per size, so that the figures show whether memory grows with the file (it should not: the reader
streams chunks and staging spills to a temporary table on disk). Beside it, as the reference, DuckDB's
``read_csv`` of the same file into a table of a DuckDB database file, in a fresh process too (DuckDB
comes with the ``bench`` extra). The CSV is in the natural order of a department's export (period,
then unit, then indicator). Data are synthetic.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N_UNITS, N_INDICATORS = 2000, 100


def make_deployment(root: Path) -> None:
    (root / "registry").mkdir(parents=True)
    units = "\n".join(f"  - {{id: u{i:04d}, name: 单位{i:04d}, kind: town}}" for i in range(N_UNITS))
    (root / "registry" / "units.yaml").write_text(f"units:\n{units}\n", encoding="utf-8")
    inds = "\n".join(f"  - {{id: i{i:03d}, name: 指标{i:03d}, measure: 万元}}" for i in range(N_INDICATORS))
    (root / "registry" / "indicators.yaml").write_text(f"indicators:\n{inds}\n", encoding="utf-8")


def make_csv(path: Path, rows: int, seed: int = 7) -> None:
    """Write ``rows`` observations: period-major, then unit, then indicator."""
    rng = np.random.default_rng(seed)
    per_period = N_UNITS * N_INDICATORS
    units = np.repeat([f"u{i:04d}" for i in range(N_UNITS)], N_INDICATORS)
    inds = np.tile([f"i{i:03d}" for i in range(N_INDICATORS)], N_UNITS)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("unit,indicator,period,value\n")
        written, month = 0, 0
        while written < rows:
            take = min(per_period, rows - written)
            year, m = 2015 + month // 12, month % 12 + 1
            values = np.round(rng.gamma(2.0, 500.0, take), 2)
            lines = "\n".join(f"{u},{i},{year}-{m:02d},{v}" for u, i, v in zip(units[:take], inds[:take], values))
            fh.write(lines + "\n")
            written += take
            month += 1


def measure(config: Path, csv: Path) -> dict:
    """Run in a fresh process: ingest the file, report time and peak memory."""
    sys.path.insert(0, str(ROOT))
    from collectors.ingest import ingest_file
    from targetwatch.deployment import load_deployment
    from targetwatch.store.sqlite import SQLiteStore

    dep = load_deployment(config)
    store = SQLiteStore(config / f"store-{csv.stem}.db")
    start = time.perf_counter()
    result = ingest_file(dep, store, csv)
    seconds = time.perf_counter() - start
    store.close()
    return {"rows": result.batch.rows_read, "seconds": seconds, "quarantined": result.batch.quarantined,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure_duckdb(csv: Path) -> dict:
    """Run in a fresh process: DuckDB ``read_csv`` of the same file into a table on disk; time and peak memory."""
    import duckdb

    database = csv.with_suffix(".duckdb")
    con = duckdb.connect(str(database))
    start = time.perf_counter()
    con.execute(
        "CREATE TABLE observation AS SELECT * FROM read_csv(?, header = true, "
        "columns = {'unit': 'VARCHAR', 'indicator': 'VARCHAR', 'period': 'VARCHAR', 'value': 'DOUBLE'})", [str(csv)])
    con.execute("CHECKPOINT")  # on disk, as the store's rows are when its ingest returns
    seconds = time.perf_counter() - start
    rows = con.execute("SELECT count(*) FROM observation").fetchone()[0]
    con.close()
    database.unlink()
    return {"rows": rows, "seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--also", type=int, nargs="*", default=[1_000_000], help="smaller sizes, to show flat memory")
    ap.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--measure-duckdb", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), Path(args.measure[1]))))
        return
    if args.measure_duckdb:
        print(json.dumps(measure_duckdb(args.measure_duckdb)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        make_deployment(config)
        for rows in sorted({*args.also, args.rows}):
            csv = Path(tmp) / f"obs-{rows}.csv"
            t = time.perf_counter()
            make_csv(csv, rows)
            size = csv.stat().st_size / 1e6
            print(f"generated {rows:,} rows ({size:,.0f} MB) in {time.perf_counter() - t:.1f} s", file=sys.stderr)
            ours = _child("--measure", str(config), str(csv))
            duck = _child("--measure-duckdb", str(csv))
            for name, r in (("targetwatch", ours), ("duckdb", duck)):
                extra = f", quarantined {r['quarantined']}" if "quarantined" in r else ""
                print(f"{name:<11} {r['rows']:>10,} rows: {r['seconds']:6.2f} s, {r['rows'] / r['seconds']:>10,.0f} rows/s, "
                      f"peak RSS {r['peak_rss_mb']:,.0f} MB{extra}")
            print(f"{'ratio':<11} targetwatch takes {ours['seconds'] / duck['seconds']:.1f}× DuckDB's time, "
                  f"{ours['peak_rss_mb'] / duck['peak_rss_mb']:.1f}× its peak memory", flush=True)
            csv.unlink()


if __name__ == "__main__":
    main()
