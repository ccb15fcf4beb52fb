"""Benchmark: a soak of ``targetwatch serve`` on the example deployment, printing CPU% and RSS over time.

    python bench/soak.py [--minutes 10] [--scrape-every 5] [--drop-every 30]

Starts ``serve`` with its default settings on a copy of the example deployment whose 邵阳 monthly
collector reads a drop folder (see ``bench/serving.py``; digests go to a webhook receiver on 127.0.0.1).
After the first evaluation it scrapes /metrics every --scrape-every seconds (gzip, as Prometheus does)
for the whole run, first alone for one window (the idle figure), then with a workbook dropped at the
start of every --drop-every window (the original June workbook, then variants that each change a
verdict). For each window it prints the CPU used by the serve process (user + system, as a % of one
core) and its resident memory from /proc, then the whole run's mean CPU% and the RSS at the start,
the end and its peak. Nothing leaves the machine; everything stops by PID at the end.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serving  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICK  # utime, stime, cutime, cstime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Scraper(threading.Thread):
    """GET /metrics every ``every`` seconds until stopped; counts scrapes, failures and the slowest one."""

    def __init__(self, port: int, every: float):
        super().__init__(daemon=True)
        self.url, self.every = f"http://127.0.0.1:{port}/metrics", every
        self.done = threading.Event()
        self.count = self.failed = 0
        self.slowest = 0.0

    def run(self) -> None:
        while not self.done.wait(self.every):
            started = time.monotonic()
            try:
                request = urllib.request.Request(self.url, headers={"Accept-Encoding": "gzip"})
                with urllib.request.urlopen(request, timeout=10) as resp:
                    body = resp.read()
                    if resp.headers.get("Content-Encoding") == "gzip":
                        gzip.decompress(body)
                self.count += 1
            except OSError:
                self.failed += 1
            self.slowest = max(self.slowest, time.monotonic() - started)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the soak (the first window is idle)")
    ap.add_argument("--scrape-every", type=float, default=5.0)
    ap.add_argument("--drop-every", type=float, default=30.0, help="seconds between drops; also the length of a printed window")
    ap.add_argument("--settle", type=float, default=None, help="the drop folder's settle_seconds (default: the source's own)")
    args = ap.parse_args()
    windows = max(2, round(args.minutes * 60 / args.drop_every))
    with tempfile.TemporaryDirectory(prefix="targetwatch-soak-") as tmp:
        root = Path(tmp)
        receiver = serving.TimedReceiver(serving.free_port()).start()
        config = serving.deployment(root, receiver, settle_seconds=args.settle)
        workbooks = [serving.WORKBOOK, *serving.workbook_variants(root / "staging", windows - 2)]
        port = serving.free_port()
        serve = serving.start_serve(config, port, root / "serve.log")
        scraper = Scraper(port, args.scrape_every)
        rows = []
        try:
            serving.settled(receiver, 3.0, 180, first=True)
            scraper.start()
            start = last_t = time.monotonic()
            last_cpu = cpu_seconds(serve.pid)
            print(f"{'window':>6} {'until':>7} {'what':<22} {'CPU %':>6} {'RSS MB':>7}", flush=True)
            for w in range(windows):
                what = "scrapes only (idle)" if w == 0 else f"drop {w} + scrapes"
                if w:
                    serving.drop(workbooks[w - 1], config)
                time.sleep(max(0.0, start + (w + 1) * args.drop_every - time.monotonic()))
                if serve.poll() is not None:
                    raise SystemExit(f"serve exited with {serve.returncode}; see {root / 'serve.log'}")
                now, cpu, rss = time.monotonic(), cpu_seconds(serve.pid), rss_mb(serve.pid)
                rows.append((w, now - start, (cpu - last_cpu) / (now - last_t) * 100, rss, cpu - last_cpu, now - last_t))
                print(f"{w:6d} {now - start:6.0f}s {what:<22} {rows[-1][2]:6.2f} {rss:7.1f}", flush=True)
                last_t, last_cpu = now, cpu
        finally:
            scraper.done.set()
            serving.stop(serve)
            receiver.stop()
    busy = rows[1:]
    mean = sum(r[4] for r in busy) / sum(r[5] for r in busy) * 100
    rss = [r[3] for r in rows]
    print(f"soak of {rows[-1][1] / 60:.1f} min: idle {rows[0][2]:.2f}% CPU; with a drop every {args.drop_every:g} s and a scrape "
          f"every {args.scrape_every:g} s, mean {mean:.2f}% CPU of one core; RSS {rss[0]:.0f} MB after the idle window, "
          f"{rss[-1]:.0f} MB at the end, peak {max(rss):.0f} MB; {scraper.count} scrapes ({scraper.failed} failed, "
          f"slowest {scraper.slowest:.2f} s), {len(receiver.digests_since(0.0, recipient=serving.LEADER))} digests to {serving.LEADER} "
          f"(target: idle under 1% CPU, memory flat)")


if __name__ == "__main__":
    main()
