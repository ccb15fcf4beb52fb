"""The service: `serve --once`, the HTTP endpoint, the run loop and its hooks, and the push to Alertmanager."""

from __future__ import annotations

import gzip
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
from typer.testing import CliRunner

from exporters.ledger import Ledger, ledger_path
from exporters.push import AlertmanagerPusher
from exporters.service import Service
from targetwatch.cli import app
from tests.conftest import free_port, require_binary, stop, wait_http
from tests.exporters.verdict_fixtures import good_verdict, verdict_frame


def fixed(frame):
    calls = []

    def evaluate(deployment, store, *, as_of=None, period=None):
        calls.append((as_of, period))
        return frame

    evaluate.calls = calls
    return evaluate


def test_serve_once_prints_one_scrape_and_sends_nothing(deployment_dir, deployment):
    result = CliRunner().invoke(app, ["serve", "--once", "--config", str(deployment_dir), "--as-of", "2023-07-20"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    status = [line for line in lines if line.startswith("targetwatch_verdict_status{")]
    assert len(status) > 0 and len(status) % 5 == 0
    assert "# TYPE targetwatch_evaluation_duration_seconds gauge" in lines
    assert 'targetwatch_unit_info{kind="district",name="大祥区",parent="shaoyang",unit="daxiang"} 1.0' in lines
    ledger = Ledger(ledger_path(deployment.settings))
    assert ledger.notifications().empty and ledger.outbox().empty
    ledger.close()


def test_metrics_over_http_equal_the_scrape_and_other_paths_are_404(deployment, store, verdicts, tmp_path):
    service = Service(deployment, store, evaluate=fixed(verdicts), ledger=Ledger(tmp_path / "n.db"), port=0)
    service.evaluate()
    server = service.start_http()
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as resp:
            assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
            assert resp.headers["Content-Encoding"] is None
            assert resp.read() == service.scrape()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as resp:  # what Prometheus sends
            assert resp.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(resp.read()) == service.scrape()
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/admin")
        assert exc.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_the_run_loop_starts_backgrounds_evaluates_on_request_and_stops_cleanly(deployment, verdicts, tmp_path):
    evaluate = fixed(verdicts)
    ledger = Ledger(tmp_path / "n.db")
    # A store per cycle, opened in the loop's thread, as the CLI does.
    from targetwatch.store.sqlite import SQLiteStore

    service = Service(deployment, lambda: SQLiteStore(tmp_path / "s.db"), evaluate=evaluate, period="2023-06",
                      ledger=ledger, port=0, interval=3600, retry_tick=0.05)
    events = []
    service.add_background(lambda: events.append("start"), lambda: events.append("stop"))
    loop = threading.Thread(target=service.run)
    loop.start()
    try:
        _wait(lambda: len(evaluate.calls) == 1)  # the first cycle runs at once
        service.request_evaluation()  # what the collection scheduler calls after a collection
        _wait(lambda: len(evaluate.calls) == 2)
        assert evaluate.calls[1] == (None, "2023-06")
    finally:
        service.stop()
        loop.join(timeout=10)
    assert not loop.is_alive() and events == ["start", "stop"]


def _wait(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def alertmanager(tmp_path):
    binary = require_binary("prometheus-alertmanager")
    port = free_port()
    config = tmp_path / "am.yml"
    config.write_text("route: {receiver: none}\nreceivers: [{name: none}]\n", encoding="utf-8")
    proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.path={tmp_path / 'am'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def active_alerts(url: str) -> list[dict]:
    with urllib.request.urlopen(f"{url}/api/v2/alerts?active=true&silenced=false&inhibited=false") as resp:
        return json.loads(resp.read())


def test_pushed_alerts_stay_while_refreshed_and_resolve_when_the_unit_catches_up(deployment, alertmanager):
    now = [time.time() - 120]
    pusher = AlertmanagerPusher(alertmanager, deployment, resolve_seconds=600, dashboard_url="http://grafana.local/d/tw-alerts/",
                                clock=lambda: now[0])
    behind = verdict_frame(good_verdict(), good_verdict(unit="shuangqing", status="on_track", severity="none"))
    assert pusher.push(behind)
    [alert] = active_alerts(alertmanager)
    assert alert["labels"] == {"alertname": "TargetBehind", "status": "behind", "rule": "daxiang_industrial_va_growth",
                               "unit": "daxiang", "indicator": "industrial_va_growth", "period": "2023-06",
                               "leader": "wu_yi", "lead_department": "daxiang_kgxj", "severity": "critical"}
    assert alert["annotations"]["summary"] == "大祥区「规模工业增加值增速增长7%以上」2023-06落后于目标"
    now[0] += 60
    assert pusher.push(behind)  # a refresh keeps the same alert, started when it was first seen, and extends it
    [again] = active_alerts(alertmanager)
    assert again["fingerprint"] == alert["fingerprint"] and again["startsAt"] == alert["startsAt"]
    assert _seconds(again["endsAt"]) - _seconds(alert["endsAt"]) == pytest.approx(60, abs=0.002)
    now[0] += 60
    caught_up = verdict_frame(good_verdict(status="on_track", severity="none", value=7.3, gap=0.3))
    assert pusher.push(caught_up)
    assert active_alerts(alertmanager) == []


def _seconds(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_a_push_while_alertmanager_is_down_is_retried_at_the_next_evaluation(deployment):
    pusher = AlertmanagerPusher(f"http://127.0.0.1:{free_port()}", deployment)
    assert pusher.push(verdict_frame(good_verdict())) is False
    assert pusher.active == {}  # nothing is assumed delivered, so the next push sends it again


def test_a_restarted_service_sends_nothing_twice(deployment, store, verdicts, tmp_path):
    from exporters.channels import Channel, NotifierConfig
    from tests.exporters.receivers import Receiver

    hook = Receiver("webhook", free_port()).start()
    config = NotifierConfig(channels=[Channel(id="hook", kind="webhook", options={"url": hook.url})], recipients={"*": ["hook"]})
    try:
        for expected in (2, 0):  # a first service, then a restart on the same ledger file
            service = Service(deployment, store, evaluate=fixed(verdicts), notifier_config=config,
                              ledger=Ledger(tmp_path / "notify.db"), port=0)
            cycle = service.evaluate_and_notify()
            service.ledger.close()
            assert (cycle.verdicts, cycle.queued, cycle.delivery.sent) == (3, expected, expected)
        assert sorted(body["recipient"] for body in hook.received) == ["wu_yi", "xia_danbo"]
    finally:
        hook.stop()


def test_the_notifications_command_lists_the_ledger(deployment_dir, store, verdicts, monkeypatch):
    from targetwatch.deployment import load_deployment

    monkeypatch.delenv("TARGETWATCH_WECOM_ROBOT_URL", raising=False)
    nobody = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: messages stay pending
    (deployment_dir / "notifiers.yaml").write_text(
        f'channels: [{{id: hook, kind: webhook, options: {{url: "{nobody}"}}}}, {{id: robot, kind: wecom}}]\n'
        'recipients: {wu_yi: [robot, hook], "*": [hook]}\n', encoding="utf-8")
    deployment = load_deployment(deployment_dir)
    service = Service(deployment, store, evaluate=fixed(verdicts), port=0)  # the ledger beside the store: notify.db
    service.evaluate_and_notify()
    service.ledger.close()
    result = CliRunner().invoke(app, ["notifications", "--config", str(deployment_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["leader"], r["rule"], r["unit"], r["old_status"], r["new_status"], r["value"], r["channel"], r["result"]) for r in rows] == [
        ("wu_yi", "daxiang_industrial_va_growth", "daxiang", None, "behind", 5.1, "robot", "pending"),
        ("wu_yi", "daxiang_industrial_va_growth", "daxiang", None, "behind", 5.1, "hook", "pending"),
        ("xia_danbo", "daxiang_retail_sales_growth", "daxiang", None, "at_risk", 5.8, "hook", "pending"),
    ]
    assert rows[0]["last_error"] == ("wecom: the WeCom robot URL is not set; set the environment variable "
                                     "TARGETWATCH_WECOM_ROBOT_URL or add it to the secrets file")
    assert rows[1]["last_error"].startswith(f"webhook: cannot reach {nobody}: ")
