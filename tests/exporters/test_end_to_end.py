"""End to end with real components: `targetwatch serve` on the example deployment, scraped by Prometheus,
which evaluates the generated rules and fires into Alertmanager (generated config and templates). One
notification path at a time (notifiers.yaml ``via``):

- ``builtin``: the digests reach a local webhook, one per leader, and Alertmanager tells no leader;
- ``alertmanager``: no built-in digest; Alertmanager delivers each leader's alerts to a local webhook,
  e-mails a leader through its Chinese template to aiosmtpd, and reaches a local DingTalk robot that
  checks the signature through `serve`'s /alertmanager/webhook, presenting serve's token from the same file serve reads.

A corrected observation then resolves an alert, and the leader hears that it improved.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import pandas as pd
import pytest

import rules
from collectors.ingest import due_files, ingest
from exporters.alertmanager import export_alertmanager
from exporters.channels import load_notifier_config
from exporters.promrules import export_prometheus_rules
from rules.vocabulary import WORDS
from targetwatch import periods
from targetwatch.deployment import load_deployment
from targetwatch.store import StagedChunk
from targetwatch.store.sqlite import SQLiteStore
from tests.conftest import ROOT, free_port, require_binary, stop, wait_http, wait_until
from tests.exporters.receivers import Receiver

pytestmark = pytest.mark.services
PERIOD = "2023-06"
CORRECTED = ("dx_fiscal_revenue_above_city", "daxiang", "fiscal_revenue_growth", "xia_xiangyang")


DINGTALK_SECRET = "SEC-dingtalk-test-1"
EMAILED = "jiang_jinliang"  # the leader Alertmanager e-mails
WECHATTED = "huang_ping"  # a leader with alerts at 2023-06 in the example; the leader Alertmanager reaches by WeCom corp-app message (the others by its webhook)
WECHAT_SECRET = "corp-app-secret-1"
WEBHOOK_TOKEN = "am-webhook-token-e2e-5c2b"


def notifiers_yaml(via: str, hook: str, serve: str, smtp_port: int, wechat_api: str, token_file) -> str:
    return f"""
via: {via}
channels:
  - {{id: digest_hook, kind: webhook, options: {{url: "{hook}/digest"}}}}
  - {{id: robot, kind: dingtalk, options: {{url_env: TARGETWATCH_DINGTALK_ROBOT_URL, secret_env: TARGETWATCH_DINGTALK_SECRET}}}}
recipients: {{"*": [digest_hook{", robot" if via == "alertmanager" else ""}]}}
alertmanager:
  default_kind: webhook
  kinds: {{{EMAILED}: email, {WECHATTED}: wechat}}
  wechat_api_url: {wechat_api}
  wechat_corp_id: ww-test
  wechat_agent_id: "1000002"
  webhook_url: {hook}/leader
  ops_webhook_url: {hook}/ops
  targetwatch_url: {serve}
  targetwatch_token_file: {token_file}
  smtp_smarthost: 127.0.0.1:{smtp_port}
  smtp_require_tls: false
"""


@pytest.fixture
def mailbox():
    """A plain local SMTP server (Alertmanager's e-mails); yields (port, messages)."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    messages: list = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, messages
    controller.stop()


@pytest.fixture
def stack(request, deployment_dir, tmp_path, mailbox, monkeypatch):
    """Receivers, Alertmanager, Prometheus and `targetwatch serve`, all on 127.0.0.1; stopped by PID."""
    prometheus, alertmanager = require_binary("prometheus"), require_binary("prometheus-alertmanager")
    via = request.param
    hook = Receiver("webhook", free_port()).start()
    robot = Receiver("dingtalk", free_port(), dingtalk_secret=DINGTALK_SECRET).start()
    wecom_app = Receiver("wecom_app", free_port(), wecom_key=WECHAT_SECRET).start()
    monkeypatch.setenv("TARGETWATCH_WECHAT_API_SECRET", WECHAT_SECRET)  # read by the export, into a private file
    base = f"http://127.0.0.1:{hook.port}"
    am_port, prom_port, serve_port = free_port(), free_port(), free_port()
    # serve's webhook token: one private file that Alertmanager (credentials_file) and serve (…_FILE) both read, as under compose.
    token_file = tmp_path / "webhook_token"
    token_file.write_text(WEBHOOK_TOKEN + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    monkeypatch.delenv("TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN", raising=False)
    (deployment_dir / "notifiers.yaml").write_text(notifiers_yaml(via, base, f"http://127.0.0.1:{serve_port}", mailbox[0],
                                                                  f"http://127.0.0.1:{wecom_app.port}/cgi-bin/", token_file),
                                                   encoding="utf-8")
    dep = load_deployment(deployment_dir)
    store = SQLiteStore(dep.settings.sqlite_path)
    ingest(dep, store, due_files(dep))
    expected = rules.evaluate(dep, store, period=PERIOD)

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
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(serve_log, "w"),
            env={**os.environ, "TARGETWATCH_LOG_LEVEL": "INFO", "TARGETWATCH_DINGTALK_ROBOT_URL": robot.url,
                 "TARGETWATCH_DINGTALK_SECRET": DINGTALK_SECRET, "TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN_FILE": str(token_file)})
        procs.append(serve)
        for url in (f"http://127.0.0.1:{am_port}/-/ready", f"http://127.0.0.1:{prom_port}/-/ready",
                    f"http://127.0.0.1:{serve_port}/-/healthy"):
            wait_http(url, timeout=30)
        yield {"via": via, "hook": hook, "robot": robot, "wecom_app": wecom_app, "mails": mailbox[1], "store": store, "expected": expected, "serve": serve,
               "serve_log": serve_log, "am": f"http://127.0.0.1:{am_port}", "deployment": dep, "am_config": am_dir / "alertmanager.yml"}
    finally:
        for proc in reversed(procs):
            stop(proc)
        hook.stop()
        robot.stop()
        wecom_app.stop()
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


def alerting_by_receiver(expected) -> dict[str, set]:
    alerting = expected[expected["status"].isin(["behind", "late", "at_risk"]) & (expected["severity"] != "none")]
    # The example supplies every indicator its rules read (only a few reports are left out on purpose), so
    # the alerts are the real ones: a few dozen, of several leaders, in all three statuses.
    assert len(alerting) >= 20 and alerting["leader"].nunique() >= 5 and set(alerting["status"]) == {"behind", "late", "at_risk"}
    want: dict[str, set] = {}
    for r in alerting.itertuples(index=False):
        where = f"/leader?leader={r.leader}" if isinstance(r.leader, str) else "/ops"
        want.setdefault(where, set()).add((r.leader if isinstance(r.leader, str) else None, r.rule, r.unit, r.status))
    return want


def correct_the_observation(store) -> None:
    """大祥区 fiscal revenue growth 3.2% → 4.5%, above 邵阳市's 3.8%: the alert resolves."""
    code = periods.parse(PERIOD).code
    good = pd.DataFrame({"indicator": [CORRECTED[2]], "unit": [CORRECTED[1]], "period": [code], "basis": ["ytd"],
                         "value": [4.5], "row": [2], "sheet": [None], "column": ["C"]})
    store.ingest([StagedChunk(good)], source="correction.csv", content_hash="correction-1", reported_at=datetime.now(timezone.utc))


def digests_at(hook: Receiver) -> list[dict]:
    """The leaders' digests at the webhook (the contacts' late-report reminders arrive there too: not digests)."""
    return [b for p, b in hook.requests if p == "/digest" and b["data"].get("kind") != "late_reminder"]


def am_groups(am: str) -> list[dict]:
    with urllib.request.urlopen(f"{am}/api/v2/alerts/groups", timeout=5) as resp:
        return json.loads(resp.read())


@pytest.mark.parametrize("stack", ["builtin"], indirect=True)
def test_via_builtin_the_digests_tell_each_leader_once_and_alertmanager_tells_nobody(stack):
    hook, expected = stack["hook"], stack["expected"]
    want = alerting_by_receiver(expected)
    leaders = sorted({k[0] for s in want.values() for k in s if k[0]})
    # Prometheus fires every alert into Alertmanager, which routes every leader's group to the blackhole.
    groups = wait_until(lambda: (g := [x for x in am_groups(stack["am"]) if x["labels"].get("leader")])
                        and {x["labels"]["leader"] for x in g} == set(leaders) and g, 90, "every leader's alerts in Alertmanager")
    assert {g["receiver"]["name"] for g in groups} == {"blackhole"}

    # Each leader with something behind, late or at risk got exactly one digest, in Chinese.
    digests = wait_until(lambda: len(d := digests_at(hook)) >= len(leaders) and d, 60, "the digests")
    assert sorted(d["recipient"] for d in digests) == leaders
    assert all(d["subject"] == f"目标预警｜{PERIOD}｜{d['recipient_name']}同志分管事项" for d in digests)

    correct_the_observation(stack["store"])
    recovery = wait_until(lambda: [b for b in digests_at(hook) if "已改善" in b["markdown"]], 60, "a recovery digest")
    assert [d["recipient"] for d in recovery] == [CORRECTED[3]]
    assert "\n已改善：地方一般公共预算收入增速高于全市平均水平（大祥区）。\n" in recovery[0]["markdown"]
    assert (CORRECTED[0], CORRECTED[1]) not in {(i["rule"], i["unit"]) for i in recovery[0]["data"]["items"]}
    # Alertmanager had every group for the whole test (group_wait 1 s) and told no leader anything; only
    # the operators hear of verdicts that no leader owns (no digest can name them).
    told = [(p, a["labels"]) for p, b in hook.requests if p != "/digest" for a in b["alerts"]]
    assert {p for p, _ in told} <= {"/ops"} and not any(labels.get("leader") for _, labels in told)
    assert stack["robot"].attempts == [] and stack["mails"] == [] and stack["wecom_app"].attempts == []

    stack["serve"].terminate()
    assert stack["serve"].wait(timeout=15) == 0
    assert "stopped" in stack["serve_log"].read_text(encoding="utf-8")


@pytest.mark.parametrize("stack", ["alertmanager"], indirect=True)
def test_via_alertmanager_no_digest_is_sent_and_the_robot_gets_the_chinese_digest_through_serve(stack):
    hook, robot, expected, dep = stack["hook"], stack["robot"], stack["expected"], stack["deployment"]
    want = alerting_by_receiver(expected)
    emailed = want.pop(f"/leader?leader={EMAILED}")
    wechatted = want.pop(f"/leader?leader={WECHATTED}")
    assert CORRECTED[:2] + ("behind",) in {(k[1], k[2], k[3]) for k in want[f"/leader?leader={CORRECTED[3]}"]}

    wait_until(lambda: firing_by_receiver(hook) == want, 90, "every leader's alerts at that leader's receiver")
    for path, body in hook.requests:  # no notification ever carried another leader's alert
        if path.startswith("/leader?leader="):
            assert {a["labels"]["leader"] for a in body["alerts"]} == {path.split("=", 1)[1]}

    # A leader e-mailed by Alertmanager reads the digest's words from the generated template.
    name = dep.people[EMAILED].name
    [(to, mail)] = wait_until(lambda: stack["mails"], 60, "Alertmanager's e-mail")
    assert to == [dep.people[EMAILED].email] and mail["Subject"] == f"目标预警｜{PERIOD}｜{name}同志分管事项"
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain"]  # no English HTML default
    body = mail.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert f"您牵头的目标中有{len(emailed)}项需要关注：" in body and body.count("\n- 【") == len(emailed)
    assert all(f"\n- 【{WORDS[status].label}】" in body for _, _, _, status in emailed) and "Alertmanager" not in body
    assert body.endswith(f"详情：http://127.0.0.1:3000/d/tw-alerts/?var-leader={EMAILED}&var-period={PERIOD}\n")

    # A leader reached by WeCom corp-app message reads the markdown template (the corp secret bought the token).
    [app_message] = wait_until(lambda: stack["wecom_app"].received, 60, "Alertmanager's WeCom message")
    assert app_message["msgtype"] == "markdown" and app_message["touser"] == WECHATTED and app_message["agentid"] == "1000002"
    content = app_message["markdown"]["content"]
    assert content.startswith(f"**目标预警｜{PERIOD}｜{dep.people[WECHATTED].name}同志分管事项**\n\n您牵头的目标中有{len(wechatted)}项需要关注：")
    assert content.count("\n> 【") == len(wechatted) and f"[查看仪表盘](http://127.0.0.1:3000/d/tw-alerts/?var-leader={WECHATTED}" in content

    # Every leader's group reaches the DingTalk robot through serve, signed (the robot refuses a bad
    # signature), @-mentioning, in the digest's Chinese, each part with its idempotency key.
    leaders = sorted({k[0] for s in alerting_by_receiver(expected).values() for k in s if k[0]})
    titles = {f"目标预警｜{PERIOD}｜{dep.people[p].name}同志分管事项": p for p in leaders}

    def robot_titles():
        return {m["markdown"]["title"] for m in robot.received}

    wait_until(lambda: robot_titles() >= set(titles), 90, "a robot message per leader")
    first = next(m for m in robot.received if m["markdown"]["title"] == f"目标预警｜{PERIOD}｜{dep.people[CORRECTED[3]].name}同志分管事项")
    assert "【落后】地方一般公共预算收入增速高于全市平均水平（大祥区）：" in first["markdown"]["text"]
    assert first["at"]["atMobiles"] == [dep.people[CORRECTED[3]].mobile]
    assert len(robot.attempts) == len(robot.received)  # none refused: every signature was right
    assert all(h.get("Idempotency-Key", "").startswith("tw-") for h in robot.headers)
    assert digests_at(hook) == []  # no built-in digest (the contacts' late-report reminders stay built in)

    correct_the_observation(stack["store"])

    def resolved():
        return [a for path, body in hook.requests if path == f"/leader?leader={CORRECTED[3]}"
                for a in body["alerts"] if a["labels"]["rule"] == CORRECTED[0] and a["status"] == "resolved"]

    [alert] = wait_until(resolved, 90, "the corrected unit's alert to resolve")
    assert alert["labels"]["alertname"] == "TargetBehind" and alert["labels"]["unit"] == "daxiang"
    improved = wait_until(lambda: [m for m in robot.received if "已改善：地方一般公共预算收入增速高于全市平均水平（大祥区）。"
                                   in m["markdown"]["text"]], 60, "the robot to hear of the improvement")
    assert improved[0]["markdown"]["title"].endswith(f"{dep.people[CORRECTED[3]].name}同志分管事项")
    assert digests_at(hook) == []

    stack["serve"].terminate()
    assert stack["serve"].wait(timeout=15) == 0
    # Alertmanager presented the token every time (serve refused nothing), and the token is in neither file.
    log = stack["serve_log"].read_text(encoding="utf-8")
    assert "refused POST" not in log and "unauthenticated" not in log and WEBHOOK_TOKEN not in log
    am_config = stack["am_config"].read_text(encoding="utf-8")
    assert WEBHOOK_TOKEN not in am_config and "credentials_file:" in am_config
