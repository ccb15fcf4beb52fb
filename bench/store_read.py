"""Benchmark: ``SQLiteStore.read`` on the evaluation bench's store (2,000 units × 100 indicators × 84 months).

    python bench/store_read.py [--workdir /tmp/targetwatch-bench/units2000] [--rounds 5]

Two workloads, each timed in CPU and wall seconds (minimum of ``--rounds``, in one process, after one
warm-up so the page cache is hot): the reads ``rules.evaluate`` makes at as-of 2023-12-20 (one
``read`` per period code, with the indicators that period is needed for), and a larger read (all
100 indicators over the 12 months of 2023, 2.2 M rows: December is not yet reported). The store is built by ``bench/evaluate.py``
(``--sizes 1``); this script only reads it.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AS_OF = datetime(2023, 12, 20, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=8)))
INDICATORS = [f"i{i:03d}" for i in range(100)]


def workloads() -> dict[str, list[dict]]:
    # The calls rules.evaluate makes on this store at AS_OF (recorded from the evaluation bench's 100 rules).
    every = lambda step, offsets: [f"i{i + o:03d}" for i in range(0, 100, step) for o in offsets]  # noqa: E731
    evaluation = [{"indicators": every(20, (5, 9)), "start": 20221111, "end": 20221111},
                  {"indicators": every(20, (0,)), "start": 20231010, "end": 20231010},
                  {"indicators": sorted(every(20, (0, 5, 7, 8, 9, 12, 13, 14, 17, 19))), "start": 20231111, "end": 20231111}]
    year = [{"indicators": INDICATORS, "start": 20230101, "end": 20231212}]
    return {"evaluation reads": evaluation, "a year of 100 indicators": year}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/targetwatch-bench/units2000"))
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    from targetwatch.store.sqlite import SQLiteStore

    store = SQLiteStore(args.workdir / "store.db")
    for name, calls in workloads().items():
        best_cpu = best_wall = float("inf")
        for _ in range(args.rounds + 1):  # the first round warms the page cache and is not counted
            wall, cpu = time.perf_counter(), time.process_time()
            rows = sum(len(store.read(**call, as_of=AS_OF)) for call in calls)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best_cpu, best_wall = min(best_cpu, cpu), min(best_wall, wall)
        print(f"{name:<26} {rows:>10,} rows: {best_cpu:6.3f} s CPU, {best_wall:6.3f} s wall (min of {args.rounds})", flush=True)
    store.close()


if __name__ == "__main__":
    main()
