"""Benchmark: one scrape of /metrics with 100,000 verdict series (target: at most 1 s).

A verdict exposes 7 gauges (value, target, gap, rank, group size, required run-rate, stretch met) and
5 status series, so 100,000 verdict series are about 8,300 verdicts. The script also prints the
figure for 100,000 verdicts (1.2 million series) so that the cost per series is plain.

    .venv/bin/python bench/scrape.py [series]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exporters.collector import ExporterState, TargetwatchCollector
from exporters.exposition import render
from exporters.verdicts import GAUGES, STATUSES

SERIES_PER_VERDICT = len(GAUGES) + len(STATUSES)


def synthetic_verdicts(n: int, seed: int = 1) -> pd.DataFrame:
    """n verdicts with every gauge set, spread over 200 units, 50 indicators and 12 leaders."""
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    value = rng.normal(5, 2, n).round(2)
    return pd.DataFrame({
        "rule": [f"rule_{k}" for k in i // 200],
        "unit": [f"unit_{k}" for k in i % 200],
        "indicator": [f"indicator_{k}" for k in (i // 200) % 50],
        "period": "2023-06",
        "leader": [f"leader_{k}" for k in (i // 200) % 12],
        "lead_department": [f"department_{k}" for k in (i // 200) % 30],
        "severity": "critical",
        "status": np.array(STATUSES)[rng.integers(0, len(STATUSES), n)],
        "value": value, "target": 5.5, "gap": (value - 5.5).round(2),
        "rank": (i % 200) + 1, "group_size": 200, "required_run_rate": 0.8, "stretch_met": 0,
    })


def scrape_seconds(verdicts: pd.DataFrame, repeat: int = 3) -> tuple[float, int]:
    collector = TargetwatchCollector(ExporterState(verdicts=verdicts))
    best, size = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        body = render(collector)
        best = min(best, time.perf_counter() - start)
        size = len(body)
    return best, size


def http_seconds(verdicts: pd.DataFrame, repeat: int = 3) -> float:
    """One GET /metrics from `targetwatch serve`'s HTTP server on the example deployment (with its info metrics)."""
    import tempfile
    import urllib.request

    from exporters.ledger import Ledger
    from exporters.service import Service
    from targetwatch.deployment import load_deployment

    with tempfile.TemporaryDirectory() as tmp:
        service = Service(load_deployment(Path(__file__).resolve().parents[1] / "config"), evaluate=lambda *a, **k: verdicts,
                          ledger=Ledger(Path(tmp) / "notify.db"), port=0)
        service.state.set_verdicts(verdicts)
        server = service.start_http()
        best = float("inf")
        try:
            for _ in range(repeat):
                start = time.perf_counter()
                url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
                with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})) as resp:
                    resp.read()
                best = min(best, time.perf_counter() - start)
        finally:
            server.shutdown()
            server.server_close()
            service.ledger.close()
    return best


def main() -> None:
    series = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    for verdicts in (series // SERIES_PER_VERDICT, series):
        frame = synthetic_verdicts(verdicts)
        seconds, size = scrape_seconds(frame)
        print(f"{verdicts:>8,} verdicts = {verdicts * SERIES_PER_VERDICT:>9,} verdict series: "
              f"render {seconds:.3f} s, {size / 1e6:.1f} MB; GET /metrics (gzip, as Prometheus asks) {http_seconds(frame):.3f} s")


if __name__ == "__main__":
    main()
