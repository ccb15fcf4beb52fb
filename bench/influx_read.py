"""Benchmark: the evaluation's store read at national scale on a real InfluxDB 1.6, beside the SQLite store.

``rules.evaluate`` reads the store once per period, for every indicator its rules need there. This script
records those calls on a small bench deployment (the calls depend on the rules and the as-of date, not on
the number of units), replays them on the national SQLite store of ``bench/evaluate.py`` (40,000 units ×
100 indicators × 25 months), writes the rows they return to an InfluxDB 1.6 started here on 127.0.0.1 with
the product's line protocol (``targetwatch.store.influx.observation_lines``: one series per indicator,
unit, period and basis), and reads them back with InfluxQL. InfluxDB 1.6 has no Flux, the language of the
product's InfluxDB 2 read path (``targetwatch/store/influx_flux.py``); the InfluxQL below asks the same
question: per series, the last point reported by the as-of time. Only the rows the evaluation reads are
written (2.6 M of the 100 M): the script prints InfluxDB's memory per series, from which the whole store's
follows. The server's data, config and log stay in --workdir; it is stopped by its PID.

    .venv/bin/python bench/influx_read.py            # needs influxd (Debian: apt-get install influxdb)
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from targetwatch.store.influx import observation_lines  # noqa: E402
from targetwatch.store.sqlite import SQLiteStore  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_evaluate", ROOT / "bench" / "evaluate.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

DB = "targetwatch"


def recorded_reads(workdir: Path) -> list[dict]:
    """The store calls of one evaluation of the bench's 100 rules (on a small deployment)."""
    import rules
    from targetwatch.deployment import load_deployment

    calls: list[dict] = []

    class Recording(SQLiteStore):
        def read(self, indicators=None, units=None, start=None, end=None, as_of=None):
            calls.append({"indicators": indicators, "units": units, "start": start, "end": end, "as_of": as_of})
            return super().read(indicators, units, start, end, as_of)

    dep = load_deployment(workdir)
    store = Recording(workdir / "store.db")
    try:
        rules.evaluate(dep, store, as_of=bench.AS_OF, ruleset=rules.load_rules(workdir, dep))
    finally:
        store.close()
    return calls


class Influxd:
    """influxd 1.6 on loopback with its data under ``folder``; stopped by PID."""

    def __init__(self, folder: Path, port: int):
        self.folder, self.url = folder, f"http://127.0.0.1:{port}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        config = folder / "influxdb.conf"
        config.write_text(
            f'reporting-enabled = false\nbind-address = "127.0.0.1:{port + 2}"\n'
            f'[meta]\n  dir = "{folder}/meta"\n'
            f'[data]\n  dir = "{folder}/data"\n  wal-dir = "{folder}/wal"\n  index-version = "tsi1"\n'
            '  max-series-per-database = 0\n  max-values-per-tag = 0\n  query-log-enabled = false\n'
            '  cache-max-memory-size = "8g"\n'
            f'[http]\n  bind-address = "127.0.0.1:{port}"\n  log-enabled = false\n  max-body-size = 0\n'
            f'  bind-socket = "{folder}/influxdb.sock"\n'
            '[coordinator]\n  query-timeout = "0s"\n', encoding="utf-8")
        self.log = open(folder / "influxd.log", "wb")
        self.proc = subprocess.Popen(["influxd", "run", "-config", str(config)], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as answer:
                    if answer.status == 204:
                        break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"influxd did not start; see {folder / 'influxd.log'}")
                time.sleep(0.1)
        self.query(f"CREATE DATABASE {DB}", method="POST")

    def query(self, influxql: str, method: str = "GET", csv: bool = False) -> bytes:
        params = urllib.parse.urlencode({"db": DB, "q": influxql, "epoch": "ns"})
        request = (urllib.request.Request(f"{self.url}/query", data=params.encode(), method="POST") if method == "POST"
                   else urllib.request.Request(f"{self.url}/query?{params}"))
        if csv:
            request.add_header("Accept", "application/csv")
        with urllib.request.urlopen(request, timeout=3600) as answer:
            return answer.read()

    def write(self, lines: list[str]) -> int:
        """One /write request; retried after a pause while the server answers 500 (its cache is full). Returns the retries."""
        body = "\n".join(lines).encode()
        for attempt in range(20):
            request = urllib.request.Request(f"{self.url}/write?db={DB}&precision=ns", data=body, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=3600):
                    return attempt
            except urllib.error.HTTPError as error:
                if error.code != 500 or attempt == 19:
                    raise RuntimeError(f"write answered {error.code}: {error.read()[:300]!r}") from error
                time.sleep(1 + attempt)
        return 20

    def figures(self) -> dict:
        """The server's resident memory now and at its peak (MB), and its CPU seconds so far."""
        status = dict(line.split(":", 1) for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines() if ":" in line)
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return {"rss_mb": int(status["VmRSS"].split()[0]) / 1024, "peak_mb": int(status["VmHWM"].split()[0]) / 1024,
                "cpu": (int(stat[11]) + int(stat[12])) / ticks}

    def guard(self, limit_mb: float) -> None:
        """Stop the server if its resident memory passes ``limit_mb`` (the machine is shared): a watchdog thread."""
        def watch() -> None:
            while self.proc.poll() is None:
                try:
                    rss = self.figures()["rss_mb"]
                except (OSError, KeyError):
                    return
                if rss > limit_mb:
                    self.stopped_at_mb = rss
                    self.proc.terminate()
                    return
                time.sleep(0.5)

        self.stopped_at_mb = None
        threading.Thread(target=watch, daemon=True).start()

    def disk_mb(self) -> float:
        return sum(f.stat().st_size for f in self.folder.rglob("*") if f.is_file()) / 2**20

    def stop(self) -> None:
        if self.proc.poll() is not None:
            self.log.close()
            return
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()


def influxql_last(call: dict) -> str:
    """The product's read (``observation_query(..., latest=True)``) in InfluxQL: per series, the last point by as-of."""
    stop_ns = (int(call["as_of"].timestamp()) + 1) * 1_000_000_000
    inds = " OR ".join(f"indicator = '{i}'" for i in call["indicators"])
    if call["start"] != call["end"]:  # InfluxQL compares tags with = and regexes only (no <, >): one period per call
        raise ValueError(f"a read of periods {call['start']}..{call['end']}: the engine reads one period per call")
    periods = f"period = '{int(call['start']):08d}'"
    return (f"SELECT last(value) AS value, last(revision) AS revision, last(batch) AS batch FROM observation "
            f"WHERE time < {stop_ns} AND ({inds}) AND {periods} GROUP BY indicator, unit, period, basis")


def parse_last(text: bytes) -> pd.DataFrame:
    """InfluxDB's CSV answer to :func:`influxql_last` as (indicator, period, unit, basis, value) rows."""
    if not text.strip():
        return pd.DataFrame(columns=["indicator", "period", "unit", "basis", "value"])
    raw = pd.read_csv(io.BytesIO(text), usecols=["tags", "value"])
    tags = raw["tags"].str.extract(r"basis=(?P<basis>[^,]+),indicator=(?P<indicator>[^,]+),period=(?P<period>\d+),unit=(?P<unit>[^,]+)")
    return tags.astype({"period": "int64"}).assign(value=raw["value"].to_numpy())


def _differences(ours: pd.DataFrame, theirs: pd.DataFrame) -> int:
    keys = ["indicator", "period", "unit", "basis"]
    both = ours[keys + ["value"]].astype({"indicator": str, "unit": str, "basis": str}).merge(
        theirs, on=keys, how="outer", suffixes=("", "_influx"))
    return int((~np.isclose(both["value"], both["value_influx"])).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/targetwatch-bench"))
    parser.add_argument("--units", type=int, default=40000)
    parser.add_argument("--months", type=int, default=25)
    parser.add_argument("--port", type=int, default=18186)
    parser.add_argument("--chunk", type=int, default=100_000, help="points per /write request")
    parser.add_argument("--split", action="store_true", help="one query per indicator and period, not one per store call")
    parser.add_argument("--max-server-mb", type=float, default=8000, help="stop influxd when its memory passes this (shared machine)")
    args = parser.parse_args()
    if shutil.which("influxd") is None:
        sys.exit("influxd not found: apt-get install influxdb (InfluxDB 1.6)")
    small = bench.workdir_for(args.workdir, 500, args.months, bench.N_INDICATORS)
    bench.build(small, 500, months=args.months)
    calls = recorded_reads(small)
    national = bench.workdir_for(args.workdir, args.units, args.months, bench.N_INDICATORS)
    bench.build(national, args.units, months=args.months)
    store = SQLiteStore(national / "store.db")
    frames, sqlite_wall, sqlite_cpu = [], 0.0, 0.0
    for call in calls:
        t, c = time.perf_counter(), time.process_time()
        frames.append(store.read(**call))
        sqlite_wall, sqlite_cpu = sqlite_wall + time.perf_counter() - t, sqlite_cpu + time.process_time() - c
    store.close()
    rows = sum(len(f) for f in frames)
    print(f"{len(calls)} store calls of one evaluation, {rows:,} rows, {args.units} units × {args.months} months", flush=True)
    print(f"  SQLite store.read: {sqlite_cpu:.2f} s CPU, {sqlite_wall:.2f} s wall", flush=True)

    server = Influxd(args.workdir / "influxdb16", args.port)
    try:
        t, c, before = time.perf_counter(), time.process_time(), server.figures()
        build_cpu, retries = 0.0, 0
        for frame in frames:
            for lo in range(0, len(frame), args.chunk):
                b = time.process_time()
                lines = observation_lines(frame.iloc[lo:lo + args.chunk])
                build_cpu += time.process_time() - b
                retries += server.write(lines)
        wall = time.perf_counter() - t
        after = server.figures()
        print(f"  InfluxDB 1.6 write of {rows:,} points ({rows:,} series): {wall:.1f} s wall = {rows / wall:,.0f} points/s; "
              f"line protocol built in {build_cpu:.1f} s CPU here; influxd {after['cpu'] - before['cpu']:.1f} s CPU; "
              f"{retries} requests retried", flush=True)
        time.sleep(2)
        idle = server.figures()
        cardinality = server.query("SHOW SERIES CARDINALITY", csv=True).decode().strip().splitlines()[-1].split(",")[-1]
        print(f"  influxd after the write: RSS {idle['rss_mb']:.0f} MB (peak {idle['peak_mb']:.0f} MB), {server.disk_mb():.0f} MB on disk, "
              f"{cardinality} series; {idle['rss_mb'] * 2**20 / rows:.0f} B of RSS per series", flush=True)
        server.guard(args.max_server_mb)
        queries = [(call, [call] if not args.split else [{**call, "indicators": [i]} for i in call["indicators"]]) for call in calls]
        for round_ in range(2):  # the second round reads a warm server, like a service evaluating again
            t, c, before = time.perf_counter(), time.process_time(), server.figures()
            answers = []
            for call, parts in queries:
                q = time.perf_counter()
                try:
                    answers.append(pd.concat([parse_last(server.query(influxql_last(part), csv=True)) for part in parts], ignore_index=True))
                except (OSError, http.client.HTTPException) as error:
                    if server.stopped_at_mb is None:
                        raise
                    print(f"  InfluxQL read of {len(call['indicators'])} indicators at {call['start']}: influxd stopped after "
                          f"{time.perf_counter() - q:.0f} s at {server.stopped_at_mb:,.0f} MB resident (limit --max-server-mb) ({error})", flush=True)
                    return
                print(f"    {len(call['indicators'])} indicators at {call['start']}: {len(answers[-1]):,} rows in "
                      f"{time.perf_counter() - q:.1f} s wall ({len(parts)} queries)", flush=True)
            wall, client_cpu, after = time.perf_counter() - t, time.process_time() - c, server.figures()
            got = sum(len(a) for a in answers)
            print(f"  InfluxQL read, round {round_ + 1}: {got:,} rows in {wall:.1f} s wall; influxd {after['cpu'] - before['cpu']:.1f} s CPU, "
                  f"client {client_cpu:.1f} s CPU (CSV parsing); influxd peak RSS {after['peak_mb']:.0f} MB", flush=True)
        differ = sum(_differences(frame, answer) for frame, answer in zip(frames, answers))
        print(f"  rows that differ between InfluxDB and SQLite (missing on one side, or another value): {differ}", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
