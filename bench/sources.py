"""Benchmark of the record sources: a SQL query of N rows through mapping, validation and one SQLite batch.
Prints rows per second for each size, so that linear growth shows. (Late reports are verdicts now:
``bench/evaluate.py`` measures them.)

    .venv/bin/python bench/sources.py                     # 50k, 100k and 200k rows
    .venv/bin/python bench/sources.py --sizes 400000
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collectors.layout import load_collectors  # noqa: E402
from collectors.sources import collect  # noqa: E402
from targetwatch.deployment import load_deployment  # noqa: E402
from targetwatch.store.sqlite import SQLiteStore  # noqa: E402


def run(rows: int, work: Path) -> float:
    config = work / "config"
    shutil.copytree(ROOT / "config", config)
    (config / "settings.yaml").write_text(f"sqlite_path: {work / 'store.db'}\n", encoding="utf-8")
    for old in (config / "collectors").glob("*.yaml"):
        old.unlink()
    dep = load_deployment(config)
    units = [u.name for u in dep.units.values()]
    monthly = [i.id for i in dep.indicators.values() if i.frequency == "monthly" and not i.jan_feb_combined]
    rng = np.random.default_rng(0)
    months = [f"{y}-{m:02d}" for y in range(2015, 2026) for m in range(1, 13)]
    with sqlite3.connect(config / "feed.db") as con:
        con.execute("CREATE TABLE feed (region TEXT, code TEXT, month TEXT, amount REAL)")
        combos = [(u, i, m) for u in units for i in monthly for m in months]
        pick = rng.choice(len(combos), size=min(rows, len(combos)), replace=False)
        con.executemany("INSERT INTO feed VALUES (?, ?, ?, ?)", [(*combos[k], float(rng.normal(100, 20))) for k in pick])
    (config / "collectors" / "feed.yaml").write_text(
        "apiVersion: targetwatch/v1\nkind: Collector\nmetadata: {name: feed}\nspec:\n"
        "  source: {kind: sql, url: 'sqlite:///feed.db', query: 'SELECT * FROM feed'}\n"
        "  mapping: {fields: {unit: region, indicator: code, period: month, value: amount}}\n", encoding="utf-8")
    store = SQLiteStore(work / "store.db")
    try:
        started = time.perf_counter()
        result = collect(dep, store, load_collectors(config)[0])
        collect_s = time.perf_counter() - started
        assert result.quarantined == 0 and result.rows == len(pick), result.summary()
    finally:
        store.close()
    return collect_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 100_000, 200_000])
    args = parser.parse_args()
    for rows in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            collect_s = run(rows, Path(tmp))
        print(f"{rows:>9,} rows: sql collect {collect_s:6.2f} s ({rows / collect_s:,.0f} rows/s)")


if __name__ == "__main__":
    main()
