"""Exactly once as far as a receiver can tell, no redirects, history held back, and one path at a time.

Real SQLite ledger, real local receivers (a webhook that answers late or with a redirect, a WeCom robot,
aiosmtpd); the clock of the outbox is stepped, never slept on.
"""

from __future__ import annotations

from contextlib import contextmanager

import pandas as pd
import pytest
from typer.testing import CliRunner

from exporters.channels import Channel, NotifierConfig, Retry
from exporters.ledger import Ledger, ledger_path
from exporters.notifiers import KEY_FIELD
from exporters.notify import Notifications
from exporters.verdicts import HISTORIC, historic
from tests.conftest import free_port, wait_until
from tests.exporters.receivers import Receiver
from tests.exporters.test_notifiers import smtp_server  # noqa: F401  (aiosmtpd with STARTTLS and AUTH)
from tests.exporters.test_notify import Clock
from tests.exporters.verdict_fixtures import good_verdict, verdict_frame


@pytest.fixture
def hook():
    r = Receiver("webhook", free_port()).start()
    yield r
    r.stop()


def webhook_notifications(deployment, tmp_path, url: str, clock=None, via: str = "builtin", timeout: float = 10.0) -> Notifications:
    config = NotifierConfig(channels=[Channel(id="hook", kind="webhook", options={"url": url, "timeout_seconds": timeout})],
                            recipients={"*": ["hook"]}, retry=Retry(base_seconds=30, max_seconds=600), via=via)
    return Notifications(deployment, Ledger(tmp_path / "notify.db", clock=clock or Clock()), config, "http://grafana.local")


def test_a_receiver_that_answers_after_the_timeout_sees_the_same_key_on_the_resend(deployment, hook, tmp_path):
    clock = Clock()
    n = webhook_notifications(deployment, tmp_path, hook.url, clock, timeout=0.5)
    hook.slow_next, hook.slow_seconds = 1, 2.0  # takes the digest, answers after the sender gave up
    assert n.plan(verdict_frame(good_verdict())) == 1
    assert n.deliver().failed == 1
    [row] = n.ledger.outbox().to_dict("records")
    assert row["result"] == "pending" and "timed out" in row["last_error"]
    clock.now += 30
    assert n.deliver().sent == 1
    assert len(hook.received) == 2  # the receiver got it twice …
    keys = [h["Idempotency-Key"] for h in hook.headers]
    assert keys[0] == keys[1] == f"{row['idempotency_key']}-1"  # … and can tell it is one message
    assert [b[KEY_FIELD] for b in hook.received] == keys
    assert keys[0].startswith("tw-") and len(keys[0]) == len("tw-") + 32 + 2


def test_a_receiver_that_answers_302_leaves_the_message_in_the_outbox_as_failed(deployment, hook, tmp_path):
    elsewhere = Receiver("webhook", free_port()).start()
    try:
        hook.redirect_to = elsewhere.url
        n = webhook_notifications(deployment, tmp_path, hook.url)
        assert n.plan(verdict_frame(good_verdict())) == 1
        assert n.deliver().failed == 1
        [row] = n.ledger.outbox().to_dict("records")
        assert row["result"] == "failed" and row["sent_at"] is None
        assert "HTTP 302" in row["last_error"] and "redirects are not followed" in row["last_error"]
        assert elsewhere.attempts == []  # not followed: nothing was sent, as GET or otherwise, to the other host
        assert n.deliver().failed == 0 and len(hook.attempts) == 1  # failed for good: not retried blindly
        [decision] = n.ledger.notifications().to_dict("records")
        assert decision["result"] == "failed" and "HTTP 302" in decision["last_error"]
    finally:
        elsewhere.stop()


def test_a_later_change_of_the_same_verdict_gets_a_new_key(deployment, hook, tmp_path):
    clock = Clock()
    n = webhook_notifications(deployment, tmp_path, hook.url, clock)
    behind = verdict_frame(good_verdict())
    on_track = verdict_frame(good_verdict(status="on_track", value=7.3, gap=0.3, severity="none"))
    for frame in (behind, on_track, behind):  # behind, caught up, behind again: three notifications
        clock.now += 60
        assert n.plan(frame) == 1
        assert n.deliver().sent == 1
    keys = [h["Idempotency-Key"] for h in hook.headers]
    assert len(set(keys)) == 3


def test_an_email_carries_its_key_as_the_message_id(deployment, tmp_path, smtp_server):
    port, ca, messages = smtp_server
    config = NotifierConfig(channels=[Channel(id="mail", kind="email", options={
        "host": "127.0.0.1", "port": port, "ca_file": ca, "username": "targetwatch"})], recipients={"*": ["mail"]})
    n = Notifications(deployment, Ledger(tmp_path / "notify.db", clock=Clock()), config,
                      secret={"TARGETWATCH_SMTP_PASSWORD": "pw-s3cret"}.get)
    assert n.plan(verdict_frame(good_verdict())) == 1
    assert n.deliver().sent == 1
    [(to, mail)] = messages
    key = n.ledger.outbox().iloc[0]["idempotency_key"] + "-1"
    assert mail["Message-ID"] == f"<{key}@targetwatch>" and mail["Idempotency-Key"] == key
    assert mail.get_content().rstrip().endswith(f"消息编号：{key}")


def test_the_wecom_robot_gets_the_key_in_the_header_and_body_of_every_part(deployment, tmp_path):
    robot = Receiver("wecom", free_port(), wecom_key="wk-1").start()
    try:
        config = NotifierConfig(channels=[Channel(id="robot", kind="wecom")], recipients={"*": ["robot"]})
        n = Notifications(deployment, Ledger(tmp_path / "notify.db", clock=Clock()), config,
                          secret={"TARGETWATCH_WECOM_ROBOT_URL": robot.url}.get)
        n.plan(verdict_frame(good_verdict()))
        assert n.deliver().sent == 1
        key = n.ledger.outbox().iloc[0]["idempotency_key"]
        assert [h["Idempotency-Key"] for h in robot.headers] == [f"{key}-1", f"{key}-2"]  # the digest, then the @mention
        assert [b[KEY_FIELD] for b in robot.received] == [f"{key}-1", f"{key}-2"]
    finally:
        robot.stop()


def test_historic_periods_are_older_than_the_current_reporting_period_of_their_frequency():
    periods = ["2023-06", "2023-05", "2023-01/02", "2023-Q2", "2023-Q1", "2023-H1", "2022-H2", "2023", "2022", "2021", "2023-07"]
    frame = pd.DataFrame({"period": periods, "as_of": "2023-07-20"})
    assert dict(zip(periods, historic(frame).tolist())) == {
        "2023-06": False, "2023-05": True, "2023-01/02": True, "2023-Q2": False, "2023-Q1": True,
        "2023-H1": False, "2022-H2": True, "2023": False, "2022": False, "2021": True, "2023-07": False}
    assert not historic(frame, judged="2023-05").any()  # the operator named the period judged: it is current


def test_changes_of_history_are_recorded_as_backfilled_and_sent_only_on_request(deployment, hook, tmp_path):
    n = webhook_notifications(deployment, tmp_path, hook.url)
    frame = verdict_frame(good_verdict(), good_verdict(period="2023-05"), good_verdict(period="2023-04", leader="xia_danbo"))
    frame[HISTORIC] = ["true" if h else None for h in historic(frame)]
    assert n.plan(frame) == 1
    assert n.deliver().sent == 1
    assert [b["subject"] for b in hook.received] == ["目标预警｜2023-06｜伍毅同志分管事项"]
    ledger = n.ledger.notifications()
    held = ledger[ledger["kind"] == "backfilled"]
    assert sorted(held["period"]) == ["2023-04", "2023-05"] and held["message"].isna().all()
    assert held["note"].str.startswith("backfilled: 2023-0").all() and held["note"].str.contains("notifications backfill --since").all()

    def verdicts_of(period):  # what a re-evaluation of that period says now
        return frame[frame["period"] == period].drop(columns=[HISTORIC])

    assert n.backfill(verdicts_of, since_code=20230505) == 1  # --since 2023-05: May only
    assert n.deliver().sent == 1
    assert [b["subject"] for b in hook.received][1:] == ["目标预警｜2023-05｜伍毅同志分管事项"]
    assert n.backfill(verdicts_of, since_code=20230505) == 0  # sent once: not again
    assert n.backfill(verdicts_of) == 1 and n.deliver().sent == 1  # then April, 夏丹波's
    assert hook.received[-1]["recipient"] == "xia_danbo"
    assert n.plan(frame) == 0  # nothing changed since


def test_the_backfill_command_sends_what_the_first_start_held_back(deployment_dir, hook, tmp_path, monkeypatch):
    from collectors.ingest import due_files, ingest
    from exporters.service import Service
    from targetwatch.cli import app
    from targetwatch.deployment import load_deployment
    from targetwatch.store.sqlite import SQLiteStore

    (deployment_dir / "notifiers.yaml").write_text(
        f'channels: [{{id: hook, kind: webhook, options: {{url: "{hook.url}"}}}}]\nrecipients: {{"*": [hook]}}\n', encoding="utf-8")
    dep = load_deployment(deployment_dir)
    store = SQLiteStore(dep.settings.sqlite_path)
    ingest(dep, store, due_files(dep))
    store.close()
    service = Service(dep, as_of="2023-07-20", period="all", port=0)  # a first start that sees May and June
    cycle = service.evaluate_and_notify()
    service.ledger.close()
    first = len(hook.received)
    digests = [b for b in hook.received if b["data"].get("kind") != "late_reminder"]  # contacts' reminders come here too
    assert cycle.queued == len(digests) and len(digests) == len({b["recipient"] for b in digests})  # one digest per leader
    assert all("2023-05" not in b["subject"] for b in hook.received)  # nor a reminder of May's late reports
    result = CliRunner().invoke(app, ["notifications", "backfill", "--since", "2023-05-01", "--as-of", "2023-07-20",
                                      "--config", str(deployment_dir)])
    assert result.exit_code == 0, result.output
    sent = hook.received[first:]
    assert sent and {b["subject"].split("｜")[1] for b in sent} == {"2023-05"}
    assert f"{len(sent)} digest(s) queued from backfilled changes; {len(sent)} sent, 0 failed" in result.output
    ledger = Ledger(ledger_path(dep.settings))
    try:
        rows = ledger.notifications()
        assert rows[(rows["kind"] == "backfilled")]["message"].notna().any()
    finally:
        ledger.close()


def test_with_via_alertmanager_the_changes_are_recorded_and_no_digest_is_queued(deployment, hook, tmp_path):
    n = webhook_notifications(deployment, tmp_path, hook.url, via="alertmanager")
    assert n.plan(verdict_frame(good_verdict())) == 0
    assert n.deliver().sent == 0 and hook.attempts == []
    [row] = n.ledger.notifications().to_dict("records")
    assert row["note"].startswith("via alertmanager") and row["new_status"] == "behind"


def alertmanager_notification(status: str = "firing") -> bytes:
    """What Alertmanager posts for 伍毅's group (webhook_config JSON, version 4)."""
    import json

    labels = {"alertname": "TargetBehind", "status": "behind", "rule": "daxiang_industrial_va_growth", "unit": "daxiang",
              "indicator": "industrial_va_growth", "period": "2023-06", "leader": "wu_yi", "severity": "critical"}
    alert = {"status": status, "labels": labels, "fingerprint": "4f1e2d3c4b5a6978", "startsAt": "2023-07-20T01:00:00Z",
             "annotations": {"rule_title": "规模工业增加值增速增长7%以上", "unit_name": "大祥区", "description": "实际5.1，目标7，差距-1.9。"}}
    return json.dumps({"version": "4", "status": status, "receiver": "leader-wu_yi", "groupLabels": {"leader": "wu_yi", "period": "2023-06"},
                       "commonLabels": labels, "alerts": [alert]}).encode()


def post(url: str, body: bytes, authorization: str | None = None) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method="POST")
    if authorization is not None:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


WEBHOOK_TOKEN = "am-webhook-token-7f3a91"


@contextmanager
def relaying_service(deployment, store, tmp_path, via: str = "alertmanager"):
    """`serve`'s HTTP side on 127.0.0.1 with a local WeCom robot for every leader; yields (service, webhook URL, robot)."""
    from exporters.service import Service

    robot = Receiver("wecom", free_port(), wecom_key="wk-relay").start()
    config = NotifierConfig(channels=[Channel(id="robot", kind="wecom")], recipients={"*": ["robot"]}, via=via)
    frame = verdict_frame(good_verdict())
    service = Service(deployment, store, evaluate=lambda *a, **k: frame, notifier_config=config, ledger=Ledger(tmp_path / "n.db"), port=0)
    service.notifications.secret = service.relay.notifications.secret = {"TARGETWATCH_WECOM_ROBOT_URL": robot.url}.get
    server = service.start_http()
    try:
        yield service, f"http://127.0.0.1:{server.server_address[1]}/alertmanager/webhook", robot
    finally:
        server.shutdown()
        server.server_close()
        service.ledger.close()
        robot.stop()


@pytest.mark.parametrize("via", ["builtin", "alertmanager"])
def test_serve_relays_an_alertmanager_notification_to_the_robot_once_and_only_via_alertmanager(deployment, store, tmp_path, via,
                                                                                                 monkeypatch, caplog):
    monkeypatch.delenv("TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN", raising=False)
    with caplog.at_level("INFO", logger="targetwatch.serve"), relaying_service(deployment, store, tmp_path, via) as (service, url, robot):
        # No token on a loopback listener: it answers, and said so once at start.
        assert caplog.text.count("takes unauthenticated requests (serve listens on loopback only)") == 1
        cycle = service.evaluate_and_notify()  # the built-in path sends its digest; the other records only
        assert cycle.queued == (1 if via == "builtin" else 0)
        before = len(robot.received)
        code, text = post(url, alertmanager_notification())
        if via == "builtin":
            assert code == 409 and "via: builtin" in text and len(robot.received) == before
            return
        assert code == 200 and text == "queued 1 message(s)\n"
        assert post(url, alertmanager_notification()) == (200, "queued 0 message(s)\n")  # Alertmanager's resend: not twice
        digest = [m for m in robot.received if m["msgtype"] == "markdown"]
        assert len(digest) == 1
        # The verdict's own sentence from the service, as in the built-in digest.
        assert digest[0]["markdown"]["content"].splitlines()[:3] == [
            "**目标预警｜2023-06｜伍毅同志分管事项**", "",
            "截至2023-07-20，您牵头的目标中落后1项。"]
        assert "1. 【落后】规模工业增加值增速增长7%以上（大祥区）：大祥区规模工业增加值增速5.1%" in digest[0]["markdown"]["content"]
        assert post(url, b"not json")[0] == 400
        # The handler answers Alertmanager first and delivers after: the ledger says "sent" once the robot answered.
        wait_until(lambda: (service.ledger.notifications().query("kind == 'alertmanager'")["result"] == "sent").all(), 10,
                   "the relayed message recorded as sent")
        ledger = service.ledger.notifications()
        relayed = ledger[ledger["kind"] == "alertmanager"]
        assert relayed[["rule", "unit", "new_status", "note", "result"]].values.tolist() == [
            ["daxiang_industrial_va_growth", "daxiang", "behind", "relayed from Alertmanager", "sent"]]
        assert ledger.loc[ledger["kind"] == "digest", "note"].str.startswith("via alertmanager").all()


def test_with_the_token_set_serve_refuses_a_notification_without_it_and_relays_nothing(deployment, store, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN", WEBHOOK_TOKEN)
    wrong = ["Bearer am-webhook-token-7f3a90", f"Basic {WEBHOOK_TOKEN}", "Bearer ", f"Bearer {WEBHOOK_TOKEN}x"]
    with caplog.at_level("INFO", logger="targetwatch"), relaying_service(deployment, store, tmp_path) as (service, url, robot):
        for authorization in [None, *wrong]:
            code, text = post(url, alertmanager_notification(), authorization)
            assert (code, text.split(":")[0]) == (401, "refused"), authorization
        assert robot.attempts == [] and service.ledger.notifications().empty  # nothing relayed, nothing in the outbox
        assert caplog.text.count("refused POST /alertmanager/webhook from 127.0.0.1: wrong bearer token") == 2
        assert caplog.text.count("refused POST /alertmanager/webhook from 127.0.0.1: no bearer token") == 3  # none, Basic, empty
        assert "unauthenticated" not in caplog.text

        assert post(url, alertmanager_notification(), f"Bearer {WEBHOOK_TOKEN}") == (200, "queued 1 message(s)\n")
        wait_until(lambda: robot.received, 10, "the relayed digest at the robot")
    # Neither the secret nor what a caller offered for it reaches the log.
    assert not any(w.split(" ", 1)[1] in caplog.text for w in wrong if w.split(" ", 1)[1].strip())
    assert WEBHOOK_TOKEN not in caplog.text


def test_without_a_token_serve_beyond_loopback_refuses_the_webhook(deployment, store, tmp_path, monkeypatch):
    from exporters.service import Service

    monkeypatch.delenv("TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN", raising=False)
    config = NotifierConfig(via="alertmanager")
    # Not bound (tests listen on 127.0.0.1 only): the decision depends on the configured address alone.
    beyond = Service(deployment, store, notifier_config=config, ledger=Ledger(tmp_path / "a.db"), host="0.0.0.0", port=0)
    assert beyond.webhook_refusal(None) == (403, "serve listens beyond loopback and TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN is not set")
    assert beyond.webhook_refusal(f"Bearer {WEBHOOK_TOKEN}")[0] == 403  # no token configured: nothing can match it
    for loopback in ("127.0.0.1", "::1", "localhost"):
        assert Service(deployment, store, notifier_config=config, ledger=Ledger(tmp_path / "b.db"), host=loopback,
                       port=0).webhook_refusal(None) is None
    monkeypatch.setenv("TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN", WEBHOOK_TOKEN)
    guarded = Service(deployment, store, notifier_config=config, ledger=Ledger(tmp_path / "c.db"), host="0.0.0.0", port=0)
    assert guarded.webhook_refusal(f"Bearer {WEBHOOK_TOKEN}") is None and guarded.webhook_refusal(None) == (401, "no bearer token")


@pytest.mark.parametrize("via", ["builtin", "alertmanager"])
def test_serve_pushes_to_alertmanager_only_via_alertmanager(deployment_dir, tmp_path, via, caplog):
    from exporters.service import Service
    from targetwatch.deployment import load_deployment

    settings = deployment_dir / "settings.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + "alertmanager_url: http://127.0.0.1:9093\n", encoding="utf-8")
    config = NotifierConfig(via=via)
    with caplog.at_level("WARNING", logger="targetwatch.serve"):
        service = Service(load_deployment(deployment_dir), notifier_config=config, ledger=Ledger(tmp_path / "n.db"), port=0)
    try:
        assert (service.pusher is not None) == (via == "alertmanager")
        assert ("via: builtin: not pushing" in caplog.text) == (via == "builtin")
    finally:
        service.ledger.close()


def test_a_message_queued_without_a_key_gets_one_from_its_content(deployment, hook, tmp_path):
    from exporters.notifiers import Message, Recipient

    n = webhook_notifications(deployment, tmp_path, hook.url)
    reminder = Message(subject="【数据报送提醒】1项数据逾期未报", markdown="请尽快报送。", text="请尽快报送。",
                       recipient=Recipient(id="xia_debao", name="夏德宝"), data={"kind": "late_reminder"})
    row = {"leader": "xia_debao", "period": "2023-06", "channel": "hook", "recipient": "xia_debao",
           "subject": reminder.subject, "message": reminder.to_json()}
    n.ledger.record(pd.DataFrame(columns=["rule", "unit", "indicator", "period", "status", "value"]), [row, dict(row)], [])
    first, second = n.ledger.outbox()["idempotency_key"]
    assert first == second and first.startswith("tw-")  # the same content is the same message
    assert n.deliver().sent == 2
    assert [h["Idempotency-Key"] for h in hook.headers] == [f"{first}-1"] * 2


def test_backfill_with_via_alertmanager_goes_to_the_robots_only(deployment, hook, tmp_path):
    robot = Receiver("wecom", free_port(), wecom_key="wk-backfill").start()
    try:
        config = NotifierConfig(channels=[Channel(id="hook", kind="webhook", options={"url": hook.url}), Channel(id="robot", kind="wecom")],
                                recipients={"*": ["hook", "robot"]}, via="alertmanager")
        n = Notifications(deployment, Ledger(tmp_path / "n.db", clock=Clock()), config,
                          secret={"TARGETWATCH_WECOM_ROBOT_URL": robot.url}.get)
        frame = verdict_frame(good_verdict(period="2023-05"))
        frame[HISTORIC] = "true"
        assert n.plan(frame) == 0
        assert n.backfill(lambda period: frame.drop(columns=[HISTORIC])) == 1
        assert n.deliver().sent == 1
        assert hook.attempts == [] and robot.received[0]["markdown"]["content"].startswith("**目标预警｜2023-05｜伍毅同志分管事项**")
    finally:
        robot.stop()


DATA_CHECK = good_verdict(rule="xdt_jobs_add_up", unit="beita", period="2023-04", tier="data", severity="warning", leader=None,
                          audience="contacts", rule_title="城镇新增就业街道合计与全区一致", message="北塔区……相差20人，数据不一致。")


def test_a_backfilled_data_check_is_sent_to_its_contact_in_the_data_section(deployment, hook, tmp_path):
    # A data-quality verdict has no leader: held back on a first start, it is held under its contact (联络人), and
    # `notifications backfill` sends it to that contact, in the digest's data section, never to a leader.
    n = webhook_notifications(deployment, tmp_path, hook.url)
    frame = verdict_frame(good_verdict(), DATA_CHECK)
    frame[HISTORIC] = ["true" if h else None for h in historic(frame)]
    assert n.plan(frame) == 1 and n.deliver().sent == 1
    ledger = n.ledger.notifications()
    held = ledger[ledger["kind"] == "backfilled"]
    assert held[["rule", "leader"]].values.tolist() == [["xdt_jobs_add_up", "xia_debao"]]
    assert n.backfill(lambda period: frame[frame["period"] == period].drop(columns=[HISTORIC])) == 1
    assert n.deliver().sent == 1
    sent = hook.received[-1]
    assert sent["recipient"] == "xia_debao" and sent["subject"] == "数据核对｜2023-04｜夏得宝同志报送的数据"
    assert [(i["rule"], i.get("section")) for i in sent["data"]["items"]] == [("xdt_jobs_add_up", "data")]
    assert "数据核对（数据不一致，请核实后更正重报）：\n1. 城镇新增就业街道合计与全区一致（北塔区）" in sent["text"]
    assert all(b["recipient"] != "xia_debao" for b in hook.received[:-1])


def test_a_data_check_held_before_its_contact_was_recorded_is_sent_to_the_contact(deployment, hook, tmp_path):
    # Ledgers written before data checks were held under their contact hold them with no leader at all.
    n = webhook_notifications(deployment, tmp_path, hook.url)
    decision = {"rule": DATA_CHECK["rule"], "unit": "beita", "indicator": DATA_CHECK["indicator"], "period": "2023-04",
                "old_status": None, "new_status": "behind", "value": None, "target": None, "gap": None, "leader": None,
                "message": None, "note": "backfilled", "kind": "backfilled"}
    n.ledger.record(pd.DataFrame(columns=["rule", "unit", "indicator", "period", "status", "value"]), [], [decision])
    assert n.backfill(lambda period: verdict_frame(DATA_CHECK)) == 1 and n.deliver().sent == 1
    assert [b["recipient"] for b in hook.received] == ["xia_debao"]
