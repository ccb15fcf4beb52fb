"""Benchmark: from a complete workbook in the drop folder to the leader's digest at a local receiver.

    python bench/latency.py [--drops 20] [--settle SECONDS]

Starts ``targetwatch serve`` with its default settings on a copy of the example deployment whose 邵阳
monthly collector reads a drop folder (the drop-folder source's default settle time unless --settle is
given; serve watches the folder with filesystem events, nothing polls it) and sends digests to a webhook
receiver on 127.0.0.1. After one warm-up drop (the
original June workbook), it drops --drops variants of it one at a time, each changing 大祥区's fiscal
revenue verdict, and times each from the moment the complete file is in the folder (copied under a
temporary name, then renamed) to the arrival of the leader's digest. Prints every latency split at the
moment serve's log says the file was archived (settle time + reading the workbook, then evaluation +
digest delivery), and the p50 and p95. Nothing leaves the machine; serve and the receiver stop by PID at
the end.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serving  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drops", type=int, default=20)
    ap.add_argument("--settle", type=float, default=None, help="the drop folder's settle_seconds (default: the source's own)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one digest")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="targetwatch-latency-") as tmp:
        root = Path(tmp)
        receiver = serving.TimedReceiver(serving.free_port()).start()
        config = serving.deployment(root, receiver, settle_seconds=args.settle)
        workbooks = serving.workbook_variants(root / "staging", args.drops)
        log = root / "serve.log"
        serve = serving.start_serve(config, serving.free_port(), log)
        latencies: list[float] = []
        phases: list[tuple[float, float]] = []
        try:
            serving.settled(receiver, 3.0, 180, first=True)  # the first evaluation's digests
            for k, workbook in enumerate([serving.WORKBOOK, *workbooks]):
                dropped = serving.drop(workbook, config)
                dropped_wall = time.time() - (time.monotonic() - dropped)
                deadline = dropped + args.timeout
                while not receiver.digests_since(dropped) and time.monotonic() < deadline:
                    time.sleep(0.02)
                arrived = receiver.digests_since(dropped)
                if not arrived:
                    raise SystemExit(f"no digest within {args.timeout:.0f} s of drop {k}; see {log}:\n" + log.read_text(encoding="utf-8")[-3000:])
                if k:  # drop 0 is the warm-up
                    latencies.append(arrived[0] - dropped)
                    archived = archived_at(log, workbook.name) - dropped_wall
                    phases.append((archived, latencies[-1] - archived))
                    print(f"drop {k:2d}: digest after {latencies[-1]:5.2f} s (archived after {archived:5.2f} s, "
                          f"then evaluated and delivered in {latencies[-1] - archived:5.2f} s)", flush=True)
                serving.settled(receiver, 1.0, 60)
        finally:
            serving.stop(serve)
            receiver.stop()
    p50, p95 = np.percentile(latencies, [50, 95])
    settle = "the source's default settle time" if args.settle is None else f"settle {args.settle:g} s"
    print(f"drop to digest over {len(latencies)} drops ({settle}, filesystem events): "
          f"p50 {p50:.2f} s, p95 {p95:.2f} s, min {min(latencies):.2f} s, max {max(latencies):.2f} s "
          f"(target: p50 ≤ 2 s, p95 ≤ 4 s with default settings); median {np.median([a for a, _ in phases]):.2f} s "
          f"to the archive (settle + read), {np.median([b for _, b in phases]):.2f} s from there to the digest")


def archived_at(log: Path, name: str) -> float:
    """Unix time of serve's log line saying the drop folder archived ``name`` (its asctime, local time)."""
    for line in reversed(log.read_text(encoding="utf-8").splitlines()):
        if f": {name} → " in line:
            stamp = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})", line).group(1)
            return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return float("nan")


if __name__ == "__main__":
    main()
