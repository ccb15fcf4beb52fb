"""Benchmark: ingest N generated observations from one long CSV into the embedded store, beside DuckDB.

    python bench/ingest.py [--rows 5000000] [--also 1000000]
    python bench/ingest.py --excel [--workdir /tmp/targetwatch-bench/excel]

Prints rows per second and peak memory (max RSS) of the ingest alone, measured in a fresh process
per size, so that the figures show whether memory grows with the file (it should not: the reader
streams chunks and staging spills to scratch files on disk). Beside it, as the reference, DuckDB's
``read_csv`` of the same file into a table of a DuckDB database file, in a fresh process too (DuckDB
comes with the ``bench`` extra). The CSV is in the natural order of a department's export (period,
then unit, then indicator). Data are synthetic.

``--excel`` times the workbook path instead: one workbook of 12 sheets (one per month of 2023, as a city
bureau sends them: a title row, a header row, 2,000 units down the side, 100 indicators across, so 2.4 M
cells), parsed by calamine in the sandboxed child and landed as one batch. The workbook is generated
once into ``--workdir`` (untimed) and kept; each run ingests it into a fresh store, in a fresh process.
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


EXCEL_MONTHS = 12


def make_excel_deployment(root: Path) -> Path:
    """A deployment whose collector mapping reads the bench workbook, and the workbook (generated once)."""
    workbook = root / "inbox" / "月报_2023.xlsx"
    if workbook.exists():
        return workbook
    make_deployment(root)
    (root / "collectors").mkdir()
    columns = "\n".join(f"        - {{header: 指标{i:03d}, indicator: i{i:03d}}}" for i in range(N_INDICATORS))
    (root / "collectors" / "monthly.yaml").write_text(
        "apiVersion: targetwatch/v1\nkind: Collector\nmetadata: {name: bench-monthly}\nspec:\n"
        '  files: ["inbox/*.xlsx"]\n  sheets:\n'
        "    - name: '^\\d{4}年\\d{1,2}月$'\n      period: {from: sheet}\n      skip_rows: 1\n      unit_column: 单位\n"
        f"      columns:\n{columns}\n", encoding="utf-8")
    import xlsxwriter

    workbook.parent.mkdir(parents=True)
    rng = np.random.default_rng(11)
    book = xlsxwriter.Workbook(str(workbook), {"constant_memory": True})
    for month in range(1, EXCEL_MONTHS + 1):
        sheet = book.add_worksheet(f"2023年{month}月")
        sheet.write_row(0, 0, [f"各单位主要指标（2023年{month}月）"])
        sheet.write_row(1, 0, ["单位", *(f"指标{i:03d}" for i in range(N_INDICATORS))])
        values = np.round(rng.gamma(2.0, 500.0, (N_UNITS, N_INDICATORS)), 2)
        for u in range(N_UNITS):
            sheet.write_row(u + 2, 0, [f"单位{u:04d}", *values[u].tolist()])
    book.close()
    return workbook


def measure(config: Path, csv: Path) -> dict:
    """Run in a fresh process: ingest the file, report time and peak memory."""
    sys.path.insert(0, str(ROOT))
    from collectors.ingest import ingest_file
    from targetwatch.deployment import load_deployment
    from targetwatch.store.sqlite import SQLiteStore

    dep = load_deployment(config)
    # A store of this run's own (the kept workbook's folder may serve several runs at once); removed at exit.
    scratch = tempfile.TemporaryDirectory(prefix="targetwatch-bench-store-")
    store = SQLiteStore(Path(scratch.name) / f"store-{csv.stem}.db")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start, cpu = time.perf_counter(), time.process_time()
    result = ingest_file(dep, store, csv)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime  # the workbook parser's child
    store.close()
    scratch.cleanup()
    return {"rows": result.batch.rows_read, "seconds": seconds, "cpu": cpu, "child_cpu": child_cpu, "quarantined": result.batch.quarantined,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure_duckdb(csv: Path) -> dict:
    """Run in a fresh process: DuckDB ``read_csv`` of the same file into a table on disk; time and peak memory."""
    import duckdb

    database = csv.with_suffix(".duckdb")
    con = duckdb.connect(str(database))
    start, cpu = time.perf_counter(), time.process_time()
    con.execute(
        "CREATE TABLE observation AS SELECT * FROM read_csv(?, header = true, "
        "columns = {'unit': 'VARCHAR', 'indicator': 'VARCHAR', 'period': 'VARCHAR', 'value': 'DOUBLE'})", [str(csv)])
    con.execute("CHECKPOINT")  # on disk, as the store's rows are when its ingest returns
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    rows = con.execute("SELECT count(*) FROM observation").fetchone()[0]
    con.close()
    database.unlink()
    return {"rows": rows, "seconds": seconds, "cpu": cpu, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--also", type=int, nargs="*", default=[1_000_000], help="smaller sizes, to show flat memory")
    ap.add_argument("--excel", action="store_true", help="time the 12-sheet workbook instead of the CSV")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/targetwatch-bench/excel"), help="where the workbook is kept")
    ap.add_argument("--rounds", type=int, default=3, help="--excel: runs, each in a fresh process")
    ap.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--measure-duckdb", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), Path(args.measure[1]))))
        return
    if args.measure_duckdb:
        print(json.dumps(measure_duckdb(args.measure_duckdb)))
        return
    if args.excel:
        t = time.perf_counter()
        workbook = make_excel_deployment(args.workdir)
        print(f"workbook {workbook} ({workbook.stat().st_size / 1e6:,.1f} MB) ready in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        runs = [_child("--measure", str(args.workdir), str(workbook)) for _ in range(args.rounds)]
        for r in runs:
            print(f"excel       {r['rows']:>10,} rows from {EXCEL_MONTHS} sheets: {r['seconds']:6.2f} s, CPU {r['cpu']:.2f} s "
                  f"+ {r['child_cpu']:.2f} s in the parser's child, peak RSS {r['peak_rss_mb']:,.0f} MB, quarantined {r['quarantined']}")
        print(f"{'minimum':<11} {min(r['seconds'] for r in runs):.2f} s, CPU {min(r['cpu'] + r['child_cpu'] for r in runs):.2f} s "
              f"(both processes) of {len(runs)} runs", flush=True)
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
                print(f"{name:<11} {r['rows']:>10,} rows: {r['seconds']:6.2f} s ({r['cpu']:.2f} s CPU), "
                      f"{r['rows'] / r['seconds']:>10,.0f} rows/s, peak RSS {r['peak_rss_mb']:,.0f} MB{extra}")
            print(f"{'ratio':<11} targetwatch takes {ours['seconds'] / duck['seconds']:.1f}× DuckDB's time, "
                  f"{ours['peak_rss_mb'] / duck['peak_rss_mb']:.1f}× its peak memory", flush=True)
            csv.unlink()


if __name__ == "__main__":
    main()
