"""End to end with real components: `targetwatch serve` on the example deployment, scraped by Prometheus,
which evaluates the generated rules and fires into Alertmanager (generated config), which delivers to
a local webhook; digests go to another local webhook. A corrected observation then resolves an alert.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from datetime import datetime, timezone

import pandas as pd
import pytest

import rules
from collectors.ingest import due_files, ingest
from exporters.alertmanager import export_alertmanager
from exporters.channels import load_notifier_config
from exporters.promrules import export_prometheus_rules
from targetwatch import periods
from targetwatch.deployment import load_deployment
from targetwatch.store import StagedChunk
from targetwatch.store.sqlite import SQLiteStore
from tests.conftest import ROOT, free_port, require_binary, stop, wait_http, wait_until
from tests.exporters.receivers import Receiver

pytestmark = pytest.mark.services
PERIOD = "2023-06"
CORRECTED = ("dx_fiscal_revenue_above_city", "daxiang", "fiscal_revenue_growth", "xia_xiangyang")


def notifiers_yaml(hook: str) -> str:
    return f"""
channels:
  - {{id: digest_hook, kind: webhook, options: {{url: "{hook}/digest"}}}}
recipients: {{"*": [digest_hook]}}
alertmanager:
  default_kind: webhook
  webhook_url: {hook}/leader
  ops_webhook_url: {hook}/ops
"""




@pytest.fixture
def stack(deployment_dir, tmp_path):
    """Receiver, Alertmanager, Prometheus and `targetwatch serve`, all on 127.0.0.1; stopped by PID."""
    prometheus, alertmanager = require_binary("prometheus"), require_binary("prometheus-alertmanager")
    hook = Receiver("webhook", free_port()).start()
    base = f"http://127.0.0.1:{hook.port}"
    (deployment_dir / "notifiers.yaml").write_text(notifiers_yaml(base), encoding="utf-8")
    dep = load_deployment(deployment_dir)
    store = SQLiteStore(dep.settings.sqlite_path)
    ingest(dep, store, due_files(dep))
    expected = rules.evaluate(dep, store, period=PERIOD)

    am_port, prom_port, serve_port = free_port(), free_port(), free_port()
    am_dir, prom_dir = tmp_path / "am", tmp_path / "prom"
    export_alertmanager(dep, am_dir, load_notifier_config(deployment_dir), group_wait="1s", group_interval="1s")
    export_prometheus_rules(dep, prom_dir, keep_firing_for="0s")
    (prom_dir / "prometheus.yml").write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["rules.yml"],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [{"job_name": "targetwatch", "static_configs": [{"targets": [f"127.0.0.1:{serve_port}"]}]}],
    }), encoding="utf-8")
    procs = []
    try:
        procs.append(subprocess.Popen(
            [alertmanager, f"--config.file={am_dir / 'alertmanager.yml'}", f"--storage.path={am_dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=", f"--web.external-url=http://127.0.0.1:{am_port}"],
            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "am.log", "w")))
        procs.append(subprocess.Popen(
            [prometheus, f"--config.file={prom_dir / 'prometheus.yml'}", f"--storage.tsdb.path={prom_dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{prom_port}", f"--web.external-url=http://127.0.0.1:{prom_port}"],
            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prom.log", "w")))
        serve_log = tmp_path / "serve.log"
        serve = subprocess.Popen(
            [sys.executable, "-c", "from targetwatch.cli import app; app()", "serve", "--config", str(deployment_dir),
             "--port", str(serve_port), "--period", PERIOD, "--interval", "1", "--no-collect"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(serve_log, "w"), env={**os.environ, "TARGETWATCH_LOG_LEVEL": "INFO"})
        procs.append(serve)
        for url in (f"http://127.0.0.1:{am_port}/-/ready", f"http://127.0.0.1:{prom_port}/-/ready",
                    f"http://127.0.0.1:{serve_port}/-/healthy"):
            wait_http(url, timeout=30)
        yield {"hook": hook, "store": store, "expected": expected, "serve": serve, "serve_log": serve_log}
    finally:
        for proc in reversed(procs):
            stop(proc)
        hook.stop()
        store.close()


def firing_by_receiver(hook: Receiver) -> dict[str, set]:
    """What Alertmanager last said per alert, collected per webhook path: {path: {(leader, rule, unit, status)}}."""
    last: dict[tuple, tuple[str, str]] = {}
    for path, body in hook.requests:
        parts = urllib.parse.urlsplit(path)
        if parts.path in ("/leader", "/ops"):
            for alert in body["alerts"]:
                lab = alert["labels"]
                key = (lab.get("leader"), lab["rule"], lab["unit"], lab["status"])
                last[key] = (parts.path + ("?" + parts.query if parts.query else ""), alert["status"])
    out: dict[str, set] = {}
    for key, (where, status) in last.items():
        if status == "firing":
            out.setdefault(where, set()).add(key)
    return out


def test_prometheus_and_alertmanager_deliver_each_leaders_alerts_and_resolve_them(stack):
    hook, expected = stack["hook"], stack["expected"]
    alerting = expected[expected["status"].isin(["behind", "late", "at_risk"]) & (expected["severity"] != "none")]
    assert len(alerting) > 100 and set(alerting["status"]) == {"behind", "late", "at_risk"}
    want: dict[str, set] = {}
    for r in alerting.itertuples(index=False):
        where = f"/leader?leader={r.leader}" if isinstance(r.leader, str) else "/ops"
        want.setdefault(where, set()).add((r.leader if isinstance(r.leader, str) else None, r.rule, r.unit, r.status))
    assert CORRECTED[:2] + ("behind",) in {(k[1], k[2], k[3]) for k in want[f"/leader?leader={CORRECTED[3]}"]}

    wait_until(lambda: firing_by_receiver(hook) == want, 90, "every leader's alerts at that leader's receiver")
    for path, body in hook.requests:  # no notification ever carried another leader's alert
        if path.startswith("/leader?leader="):
            assert {a["labels"]["leader"] for a in body["alerts"]} == {path.split("=", 1)[1]}

    # Each leader with something behind, late or at risk got exactly one digest, in Chinese. (The contacts
    # of the late reports get their reminders on the same webhook: they are not digests.)
    digests = [body for path, body in hook.requests if path == "/digest" and body["data"].get("kind") != "late_reminder"]
    assert sorted(d["recipient"] for d in digests) == sorted({k[0] for s in want.values() for k in s if k[0]})
    assert all(d["subject"] == f"目标预警｜{PERIOD}｜{d['recipient_name']}同志分管事项" for d in digests)

    # A corrected observation: 大祥区 fiscal revenue growth 3.2% → 4.5%, above the city's 3.8%.
    code = periods.parse(PERIOD).code
    good = pd.DataFrame({"indicator": [CORRECTED[2]], "unit": [CORRECTED[1]], "period": [code], "basis": ["ytd"],
                         "value": [4.5], "row": [2], "sheet": [None], "column": ["C"]})
    stack["store"].ingest([StagedChunk(good)], source="correction.csv", content_hash="correction-1",
                          reported_at=datetime.now(timezone.utc))

    def resolved():
        return [a for path, body in hook.requests if path == f"/leader?leader={CORRECTED[3]}"
                for a in body["alerts"] if a["labels"]["rule"] == CORRECTED[0] and a["status"] == "resolved"]

    [alert] = wait_until(resolved, 90, "the corrected unit's alert to resolve")
    assert alert["labels"]["alertname"] == "TargetBehind" and alert["labels"]["unit"] == "daxiang"
    recovery = wait_until(lambda: [b for p, b in hook.requests if p == "/digest" and "已改善" in b["markdown"]], 30, "a recovery digest")
    assert [d["recipient"] for d in recovery] == [CORRECTED[3]]
    assert "\n已改善：地方一般公共预算收入增速高于全市平均水平（大祥区）。\n" in recovery[0]["markdown"]
    assert (CORRECTED[0], CORRECTED[1]) not in {(i["rule"], i["unit"]) for i in recovery[0]["data"]["items"]}

    stack["serve"].terminate()
    assert stack["serve"].wait(timeout=15) == 0
    assert "stopped" in stack["serve_log"].read_text(encoding="utf-8")
