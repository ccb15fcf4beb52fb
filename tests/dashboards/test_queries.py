"""Every query of every generated dashboard, run against a real Prometheus that scrapes ``targetwatch serve``
on the example deployment (its inbox ingested by the main job).

Grafana itself cannot run here. What this test proves instead, panel by panel: each query Prometheus
answers, each panel meant to show data gets series, and each table column holds the field it names once
the table's queries are merged the way Grafana's ``merge`` transformation does (rows keyed by their label
values; a query whose labels differ from the table's rows would add rows of its own instead). The output
(``pytest -s``, and on failure) lists each panel with the number of series each query got.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.parse

import pytest

from dashboards.build import GENERATED
from tests.conftest import free_port, require_binary, stop, wait_http, wait_until
from tests.stack.test_native_stack import get_json, prometheus_config

AS_OF = "2025-10-20"
# Template variables at "All" (multi-value variables) or any value; ${period} at any period.
VARIABLES = {"${group}": ".+", "${unit}": ".+", "${indicator}": ".+", "${period}": ".+", "${leader}": ".*"}
# Panels that may legitimately come back empty on the example deployment, and why.
MAY_BE_EMPTY = {
    ("tw-freshness", "待报送（期限未到）"): "the example's reports are past their deadlines or in: nothing is merely not yet due",
    ("tw-freshness", "数据核对：数据不一致（上下级合计）"): "it lists failed consistency checks only, and the example's data add up "
        "(西洞庭管理区's 城镇新增就业 765 covers its streets' 467 at 2025-09)",
}


def concrete(expr: str) -> str:
    return re.sub(r"\$\{[a-z]+\}", lambda m: VARIABLES[m.group(0)], expr)


def query(prom: str, expr: str) -> list[dict]:
    answer = get_json(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": concrete(expr)}))
    assert answer["status"] == "success", (expr, answer)
    return answer["data"]["result"]


def panels(board: dict) -> list[dict]:
    out = []
    for panel in board["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return [p for p in out if p.get("targets")]


def merged(results: dict[str, list[dict]]) -> dict[tuple, dict[str, float]]:
    """Grafana's merge of instant table queries: one row per distinct label set, a ``Value #REF`` per query."""
    rows: dict[tuple, dict[str, float]] = {}
    for ref, series in results.items():
        for s in series:
            key = tuple(sorted((k, v) for k, v in s["metric"].items() if k != "__name__"))
            rows.setdefault(key, {})[f"Value #{ref}"] = float(s["value"][1])
    return rows


@pytest.fixture(scope="module")
def example_prometheus(tmp_path_factory):
    """The example deployment ingested, ``targetwatch serve`` on it, and Prometheus scraping it every second."""
    prometheus = require_binary("prometheus")
    from targetwatch.deployment import load_deployment
    from targetwatch.job import run
    from targetwatch.store.sqlite import SQLiteStore
    from tests.conftest import EXAMPLE_CONFIG

    import shutil

    tmp = tmp_path_factory.mktemp("example")
    config = tmp / "config"
    shutil.copytree(EXAMPLE_CONFIG, config, ignore=shutil.ignore_patterns("__pycache__"))
    (config / "settings.yaml").write_text(f"sqlite_path: {tmp / 'store.db'}\n", encoding="utf-8")
    deployment = load_deployment(config)
    store = SQLiteStore(deployment.settings.sqlite_path)
    try:
        run(deployment, store)
    finally:
        store.close()

    ports = {name: free_port() for name in ("prom", "am", "tw")}
    conf = prometheus_config(tmp / "prometheus", ports, deployment)
    env = {**os.environ, "TARGETWATCH_LOG_LEVEL": "WARNING", "TARGETWATCH_CONFIG": str(config)}
    # As of 西洞庭管理区's picture (README): its 2025-09 verdicts are current, so the alerting rules fire
    # (they leave out verdicts of older periods), and 大祥区's and 湘阴县's 2023 verdicts are all there too.
    serve = subprocess.Popen([sys.executable, "-c", "from targetwatch.cli import app; app()", "serve", "--config", str(config), "--port", str(ports["tw"]),
                              "--as-of", AS_OF, "--no-collect", "--interval", "3600"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    prom = subprocess.Popen([prometheus, f"--config.file={conf / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'prom'}",
                             f"--web.listen-address=127.0.0.1:{ports['prom']}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{ports['prom']}"
        wait_http(f"{url}/-/ready", timeout=30)
        wait_http(f"http://127.0.0.1:{ports['tw']}/-/healthy", timeout=60)
        # The first evaluation has been scraped (history included), and the alerting rules have fired.
        wait_until(lambda: query(url, "targetwatch_period_rank") and query(url, "targetwatch_rule_info"), 90,
                   "Prometheus to scrape the example's verdicts")
        wait_until(lambda: query(url, 'ALERTS{alertstate="firing"}'), 60, "the alerting rules to fire")
        yield url
    finally:
        stop(prom)
        stop(serve)


def test_every_dashboard_query_returns_what_its_panel_shows(example_prometheus, capsys):
    prom = example_prometheus
    boards = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(GENERATED.glob("*.json"))}
    report, empty, broken = [], [], []
    for uid, board in boards.items():
        for panel in panels(board):
            prom_targets = [t for t in panel["targets"] if "expr" in t]
            results = {t["refId"]: query(prom, t["expr"]) for t in prom_targets}
            counts = " ".join(f"{ref}={len(r)}" for ref, r in results.items())
            flux = len(panel["targets"]) - len(prom_targets)
            report.append(f"{uid:13} {panel['id']:>4} {panel['title'][:40]:40} {counts}" + (f" (+{flux} Flux)" if flux else ""))
            if not prom_targets:
                # Flux panels read InfluxDB (the full stack), declared on a mixed data source.
                assert panel["datasource"]["uid"] == "-- Mixed --", (uid, panel["title"])
                assert all(t["datasource"]["type"] == "influxdb" for t in panel["targets"])
                continue
            if not any(results.values()) and (uid, panel["title"]) not in MAY_BE_EMPTY:
                empty.append(f"{uid} / {panel['title']}")
            kinds = [t["id"] for t in panel.get("transformations", [])]
            if "merge" in kinds:
                broken += table_columns(uid, panel, results)
    with capsys.disabled():
        print("\n" + "\n".join(report))
    assert not empty, f"panels without series: {empty}\n" + "\n".join(report)
    assert not broken, "\n".join(broken)


def table_columns(uid: str, panel: dict, results: dict[str, list[dict]]) -> list[str]:
    """What is wrong with a merged table: a query whose rows do not land on the table's rows, or a named
    column that shows fewer values than its query returned."""
    problems = []
    refs = list(results)
    first = refs[0]
    rows = merged(results)
    keys = {k for k, v in rows.items() if f"Value #{first}" in v}
    renames = next(t["options"] for t in panel["transformations"] if t["id"] == "organize").get("renameByName", {})
    for ref in refs[1:]:
        column = f"Value #{ref}"
        stray = [k for k, v in rows.items() if column in v and k not in keys]
        if stray:
            problems.append(f"{uid} / {panel['title']}: {renames.get(column, column)} has {len(stray)} values on rows of its own "
                            f"(labels {dict(stray[0])}): it would not show on the table's rows")
        shown = sum(column in v for k, v in rows.items() if k in keys)
        if shown != len(results[ref]):
            problems.append(f"{uid} / {panel['title']}: {renames.get(column, column)} shows {shown} of {len(results[ref])} values")
    return problems


def test_the_league_table_ranks_the_whole_group_with_rank_change_and_the_groups_figure(example_prometheus):
    prom = example_prometheus
    board = json.loads((GENERATED / "tw-league.json").read_text(encoding="utf-8"))
    table = next(p for p in panels(board) if p["type"] == "table")
    assert table["datasource"]["type"] == "prometheus" and table["options"]["sortBy"] == [{"displayName": "排名"}]
    VARIABLES_JUNE = {"${indicator}": "retail_sales_growth", "${period}": "2023-06"}
    results = {}
    for t in table["targets"]:
        expr = t["expr"]
        for k, v in VARIABLES_JUNE.items():
            expr = expr.replace(k, v)
        results[t["refId"]] = query(prom, expr)
    rows = merged(results)
    names = next(t["options"] for t in table["transformations"] if t["id"] == "organize")["renameByName"]
    column = {v: k for k, v in names.items()}
    by_unit = {dict(k)["unit"]: v for k, v in rows.items()}
    assert len(by_unit) == 12, "every county of 邵阳市 is ranked"
    assert sorted(v[column["排名"]] for v in by_unit.values()) == list(range(1, 13))
    daxiang = by_unit["daxiang"]
    # The example's story (bench/example_series.py): 大祥区's retail growth went from 8th in May to 5th in June.
    assert daxiang[column["排名"]] == 5 and daxiang[column["较上期进位(+)/退位(−)"]] == 3
    assert dict(next(k for k in rows if dict(k)["unit"] == "daxiang"))["unit_name"] == "大祥区"
    city = {v[column["对比组自身数值"]] for v in by_unit.values()}
    assert len(city) == 1 and daxiang[column["数值"]] > city.pop(), "大祥区 is above 邵阳市's own figure"
