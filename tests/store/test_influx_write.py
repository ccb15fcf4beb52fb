"""The InfluxDB backend's write path, for real against VictoriaMetrics' ``/api/v2/write``, and its spool.

VictoriaMetrics stores ``observation,<tags> value=…,revision=…`` as the metrics ``observation_value``,
``observation_revision`` … with the tags as labels, and cannot answer Flux: reads are tested apart
(test_influx_read.py).
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from datetime import datetime, timezone

import pandas as pd
import pytest
from tests.conftest import free_port, require_binary, stop, wait_http

from targetwatch.store import StagedChunk
from targetwatch.store.influx import InfluxStore
from targetwatch.store.influx_spool import RetryPolicy

FAST = RetryPolicy(flush_interval=100, retry_interval=100, max_retries=0, max_retry_time=2_000)
T0 = datetime(2023, 7, 15, tzinfo=timezone.utc)
T1 = datetime(2023, 8, 15, tzinfo=timezone.utc)


class VictoriaMetrics:
    """A victoria-metrics process on a free loopback port with a private data folder."""

    def __init__(self, data_dir, port=None):
        self.binary = require_binary("victoria-metrics")
        self.data_dir, self.port = data_dir, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, f"-httpListenAddr=127.0.0.1:{self.port}", f"-storageDataPath={self.data_dir}",
             "-retentionPeriod=100y", "-search.latencyOffset=0s"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_http(self.url + "/health")
        return self

    def stop(self):
        stop(self.proc)

    def export(self, metric: str) -> dict[tuple, list]:
        """Every sample of a metric: {(sorted labels…): [(ms, value), …]}."""
        urllib.request.urlopen(self.url + "/internal/force_flush").read()
        q = urllib.parse.urlencode({"match[]": metric})
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{q}") as resp:
            lines = [json.loads(line) for line in resp.read().decode().splitlines() if line]
        out = {}
        for s in lines:
            labels = tuple(sorted((k, v) for k, v in s["metric"].items() if k != "__name__"))
            out[labels] = sorted(zip(s["timestamps"], s["values"]))
        return out


@pytest.fixture
def vm(tmp_path):
    server = VictoriaMetrics(tmp_path / "vm").start()
    yield server
    server.stop()


def chunk(rows):
    good = pd.DataFrame(rows, columns=["indicator", "unit", "period", "basis", "value"])
    good["row"], good["sheet"], good["column"] = range(2, 2 + len(good)), None, "C"
    return StagedChunk(good=good)


def key(indicator, unit, period, basis="ytd"):
    return (("basis", basis), ("indicator", indicator), ("period", period), ("unit", unit))


def test_a_batch_lands_in_influxdb_as_one_point_per_new_revision(vm, tmp_path):
    store = InfluxStore(vm.url, "org", "tw", "tok", tmp_path / "spool", policy=FAST)
    first = store.ingest([chunk([("gdp", "daxiang", 20230106, "ytd", 120.5), ("gdp", "beita", 20230106, "ytd", 99.0)])],
                         source="a.xlsx", content_hash="h1", reported_at=T0)
    second = store.ingest([chunk([("gdp", "daxiang", 20230106, "ytd", 121.0), ("gdp", "beita", 20230106, "ytd", 99.0)])],
                          source="b.xlsx", content_hash="h2", reported_at=T1)
    assert (first.revisions_added, second.revisions_added, second.unchanged) == (2, 1, 1)
    assert store.pending() == 0
    t0_ms, t1_ms = int(T0.timestamp()) * 1000, int(T1.timestamp()) * 1000
    # The revision rides in the nanoseconds of the time; VictoriaMetrics keeps milliseconds.
    assert vm.export("observation_value") == {
        key("gdp", "daxiang", "20230106"): [(t0_ms, 120.5), (t1_ms, 121.0)],
        key("gdp", "beita", "20230106"): [(t0_ms, 99.0)],
    }
    assert vm.export("observation_revision") == {
        key("gdp", "daxiang", "20230106"): [(t0_ms, 1), (t1_ms, 2)],
        key("gdp", "beita", "20230106"): [(t0_ms, 1)],
    }
    store.close()


def test_a_conflicting_duplicate_is_quarantined_and_never_written(vm, tmp_path):
    store = InfluxStore(vm.url, "org", "tw", None, tmp_path / "spool", policy=FAST)
    result = store.ingest(
        [chunk([("gdp", "daxiang", 20230106, "ytd", 1.0), ("gdp", "daxiang", 20230106, "ytd", 2.0),
                ("gdp", "beita", 20230106, "period", 3.0)])],
        source="dup.csv", content_hash="h", reported_at=T0,
    )
    assert (result.revisions_added, result.quarantined) == (1, 2)
    assert list(store.quarantined()["row"]) == [2, 3]
    assert vm.export("observation_value") == {key("gdp", "beita", "20230106", "period"): [(int(T0.timestamp()) * 1000, 3.0)]}
    store.close()


def test_writes_wait_in_the_spool_while_influxdb_is_down_and_replay_in_order(tmp_path):
    server = VictoriaMetrics(tmp_path / "vm")  # not started yet: nothing listens on its port
    store = InfluxStore(server.url, "org", "tw", None, tmp_path / "spool", policy=FAST)
    for i, when in enumerate([T0, T1]):
        store.ingest([chunk([("retail_sales", "daxiang", 20230106, "ytd", 10.0 + i)])],
                     source=f"r{i}.csv", content_hash=f"h{i}", reported_at=when)
    assert store.pending() == 2
    store.close()

    # A new process (same spool folder) finds the points on disk and replays them once InfluxDB is up.
    server.start()
    try:
        reopened = InfluxStore(server.url, "org", "tw", None, tmp_path / "spool", policy=FAST)
        assert reopened.pending() == 2
        assert reopened.flush() == 2
        assert reopened.pending() == 0
        t0_ms, t1_ms = int(T0.timestamp()) * 1000, int(T1.timestamp()) * 1000
        assert server.export("observation_value") == {key("retail_sales", "daxiang", "20230106"): [(t0_ms, 10.0), (t1_ms, 11.0)]}
        assert server.export("observation_revision") == {key("retail_sales", "daxiang", "20230106"): [(t0_ms, 1), (t1_ms, 2)]}
        reopened.close()
    finally:
        server.stop()


def test_a_batch_that_fails_leaves_neither_ledger_nor_spool_changed(vm, tmp_path):
    store = InfluxStore(vm.url, "org", "tw", None, tmp_path / "spool", policy=FAST)

    def exploding():
        yield chunk([("gdp", "daxiang", 20230106, "ytd", 1.0)])
        raise RuntimeError("the file was cut off")

    with pytest.raises(RuntimeError):
        store.ingest(exploding(), source="cut.csv", content_hash="h", reported_at=T0)
    assert store.pending() == 0
    assert store.batches().empty
    assert vm.export("observation_value") == {}
    store.close()
