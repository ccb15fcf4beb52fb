"""The project dashboard's queries return data from a real Prometheus scraping `targetwatch serve`.

The example ledgers are ingested, `serve` exposes the project metrics, Prometheus scrapes it every
second, and every query of ``dashboards/projects.py`` (with its variables at "all") is run through
Prometheus' HTTP API and checked against counts made by hand from the example ledgers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

from collectors.projects import ledger_files
from collectors.ingest import ingest
from dashboards.projects import QUERIES
from targetwatch.deployment import load_deployment
from targetwatch.store.sqlite import SQLiteStore
from tests.conftest import ROOT, free_port, require_binary, stop, wait_http, wait_until
from tests.ledgers import generator

pytestmark = pytest.mark.services
AS_OF = "2023-07-10"  # 大祥区 (1-6月) and the 邵阳经开区 signings are reported by then; 湖南省's ledger (November) is not
VARIABLES = {"${group}": ".+", "${unit}": ".+", "${leader}": ".*"}


@pytest.fixture
def prometheus(deployment_dir, tmp_path):
    binary = require_binary("prometheus")
    dep = load_deployment(deployment_dir)
    store = SQLiteStore(dep.settings.sqlite_path)
    try:
        results = ingest(dep, store, ledger_files(dep))
    finally:
        store.close()
    assert len(results) == 4 and all(r.ok for r in results)
    prom_port, serve_port = free_port(), free_port()
    prom_dir = tmp_path / "prom"
    prom_dir.mkdir()
    (prom_dir / "prometheus.yml").write_text(json.dumps({
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [{"job_name": "targetwatch", "static_configs": [{"targets": [f"127.0.0.1:{serve_port}"]}]}],
    }), encoding="utf-8")
    procs = []
    try:
        procs.append(subprocess.Popen(
            [binary, f"--config.file={prom_dir / 'prometheus.yml'}", f"--storage.tsdb.path={prom_dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prom.log", "w")))
        procs.append(subprocess.Popen(
            [sys.executable, "-c", "from targetwatch.cli import app; app()", "serve", "--config", str(deployment_dir),
             "--port", str(serve_port), "--as-of", AS_OF, "--interval", "3600", "--no-collect"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "serve.log", "w"), env=dict(os.environ)))
        for url in (f"http://127.0.0.1:{prom_port}/-/ready", f"http://127.0.0.1:{serve_port}/-/healthy"):
            wait_http(url, timeout=30)
        yield f"http://127.0.0.1:{prom_port}"
    finally:
        for proc in reversed(procs):
            stop(proc)


def query(prom: str, expr: str) -> list[dict]:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_every_project_dashboard_query_returns_the_ledgers_figures(prometheus):
    wait_until(lambda: query(prometheus, QUERIES["funnel"]), 60, "the project metrics in Prometheus")
    results = {name: query(prometheus, expr) for name, expr in QUERIES.items()}
    assert all(results.values()), {name: r for name, r in results.items() if not r}

    # Funnel as of 2023-07-10, counted by hand from the two ledgers reported by then: 大祥区 9 projects
    # (5 started, 1 in production) and 邵阳经开区 12 signed, none started.
    funnel = {r["metric"]["stage"]: float(r["value"][1]) for r in results["funnel"]}
    assert funnel == {"negotiating": 21, "signed": 21, "started": 5, "in_production": 1}
    by_unit = {(r["metric"]["unit_name"], r["metric"]["stage"]): float(r["value"][1]) for r in results["funnel_by_unit"]}
    assert by_unit[("邵阳经济技术开发区", "signed")] == 12 and ("邵阳经济技术开发区", "started") not in by_unit
    assert by_unit[("大祥产业开发区", "started")] == 3 and by_unit[("大祥区", "started")] == 2

    # Stalled: 智能装备制造产业园 (signed 2023-01-10, 181 days without 开工), 食品精深加工 (started 2021-09-15,
    # 21.8 months without 投产) and ten of the eleven batch signings of 2023-03-28 (104 days; the 新能源
    # one has 180 days).
    stalled = {r["metric"]["project"]: r["metric"]["name"] for r in results["stalled"]}
    assert len(stalled) == 12 and float(results["stalled_count"][0]["value"][1]) == 12
    assert stalled["DX-2023-001"] == "智能装备制造产业园项目" and "DX-2022-011" in stalled and "SYETDZ-2023-01" not in stalled
    days = {r["metric"]["project"]: float(r["value"][1]) for r in results["stalled_days"]}
    assert days["DX-2023-001"] == 181 and days["SYETDZ-2023-02"] == 104

    # 到位资金 by month: the sum of the 大祥区 ledger's monthly columns (the other ledger has none).
    daxiang = generator().build()[0]  # the generator holds the figures the workbook was written from
    first = daxiang.columns.index("1月")
    expected = {f"2023-{m:02d}": round(sum(row[first + m - 1] or 0 for row in daxiang.rows), 6) for m in range(1, 7)}
    funds = {r["metric"]["month"]: float(r["value"][1]) for r in results["funds_by_month"]}
    assert funds == pytest.approx({m: v for m, v in expected.items() if v}, abs=1e-9)
