"""Benchmark: from a complete workbook in the drop folder to the leader's digest at a local receiver.

    python bench/latency.py [--drops 20] [--settle SECONDS]

Starts ``targetwatch serve`` with its default settings on a copy of the example deployment whose 邵阳
monthly collector reads a drop folder (the drop-folder source's default settle time unless --settle is
given; serve watches the folder with filesystem events, nothing polls it) and sends digests to a webhook
receiver on 127.0.0.1. After one warm-up drop (the
original June workbook), it drops --drops variants of it one at a time, each changing 大祥区's fiscal
revenue verdict, and times each from the moment the complete file is in the folder (copied under a
temporary name, then renamed) to the arrival of the leader's digest. Prints every latency and the p50
and p95. Nothing leaves the machine; serve and the receiver stop by PID at the end.
"""

from __future__ import annotations

import argparse
import sys
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
        config = serving.deployment(root, receiver.url, settle_seconds=args.settle)
        workbooks = serving.workbook_variants(root / "staging", args.drops)
        log = root / "serve.log"
        serve = serving.start_serve(config, serving.free_port(), log)
        latencies = []
        try:
            serving.settled(receiver, 3.0, 180, first=True)  # the first evaluation's digests
            for k, workbook in enumerate([serving.WORKBOOK, *workbooks]):
                dropped = serving.drop(workbook, config)
                deadline = dropped + args.timeout
                while not receiver.digests_since(dropped) and time.monotonic() < deadline:
                    time.sleep(0.02)
                arrived = receiver.digests_since(dropped)
                if not arrived:
                    raise SystemExit(f"no digest within {args.timeout:.0f} s of drop {k}; see {log}:\n" + log.read_text(encoding="utf-8")[-3000:])
                if k:  # drop 0 is the warm-up
                    latencies.append(arrived[0] - dropped)
                    print(f"drop {k:2d}: digest after {latencies[-1]:5.2f} s", flush=True)
                serving.settled(receiver, 1.0, 60)
        finally:
            serving.stop(serve)
            receiver.stop()
    p50, p95 = np.percentile(latencies, [50, 95])
    settle = "the source's default settle time" if args.settle is None else f"settle {args.settle:g} s"
    print(f"drop to digest over {len(latencies)} drops ({settle}, filesystem events): "
          f"p50 {p50:.2f} s, p95 {p95:.2f} s, min {min(latencies):.2f} s, max {max(latencies):.2f} s "
          f"(target: p50 ≤ 2 s, p95 ≤ 4 s with default settings)")


if __name__ == "__main__":
    main()
