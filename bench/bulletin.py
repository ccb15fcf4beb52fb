"""Benchmark of the monthly bulletin (通报): 2,000 units in 20 peer groups × 100 indicators, 100 rules.

Wall time on a shared machine depends on its load; the CPU time of the process is the steadier figure.
The deployment is the one of ``bench/evaluate.py`` (same registry and rules) with two years of monthly
observations (4.8 M; enough for growth, 进位/退位 and pacing), built once in --workdir (slow, untimed).
Then, in one process: build the bulletin's frames (``exporters.bulletin.build``: the evaluations it
needs), and render them as xlsx and as html, each timed on its own. Target: each render under 10 s.

    .venv/bin/python bench/bulletin.py
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _evaluate_bench():
    spec = importlib.util.spec_from_file_location("bench_evaluate", ROOT / "bench" / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/targetwatch-bench-bulletin"))
    parser.add_argument("--out", type=Path, help="keep the rendered files in this folder")
    args = parser.parse_args()
    bench = _evaluate_bench()
    t0 = time.perf_counter()
    bench.build(args.workdir, bench.N_UNITS, years=2)  # 2022 for year-on-year growth, 2023 judged
    print(f"store: {bench.N_UNITS} units × {bench.N_INDICATORS} indicators × 24 months (built in {time.perf_counter() - t0:.0f} s)", flush=True)

    from exporters.bulletin import build, render
    from targetwatch.deployment import load_deployment
    from targetwatch.store.sqlite import SQLiteStore

    dep = load_deployment(args.workdir)
    store = SQLiteStore(args.workdir / "store.db")
    t = time.perf_counter()
    b = build(dep, store, as_of=bench.AS_OF)
    built = time.perf_counter() - t
    print(f"bulletin {b.period}: {len(b.tables)} league tables, {len(b.league):,} rows, {len(b.behind):,} behind, "
          f"{len(b.bottom):,} bottom-five rows, {len(b.pacing):,} pacing rows; frames built in {built:.2f} s", flush=True)
    for fmt in ("xlsx", "html"):
        t, cpu = time.perf_counter(), time.process_time()
        body = render(b, fmt)
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
        print(f"render {fmt}: {seconds:.2f} s wall, {cpu:.2f} s CPU, {len(body) / 1e6:.1f} MB", flush=True)
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"bulletin.{fmt}").write_bytes(body)
    print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    store.close()


if __name__ == "__main__":
    main()
