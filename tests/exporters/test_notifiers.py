"""Built-in notifiers against real local receivers: WeCom, DingTalk, SMTP with STARTTLS, webhook."""

from __future__ import annotations

import subprocess
from email import message_from_bytes, policy

import pytest
from tests.conftest import free_port, require_binary
from tests.exporters.receivers import Receiver

from exporters.channels import Channel
from exporters.notifiers import DeliveryError, Message, Recipient, notifier_for
from exporters.notifiers.wecom import split_utf8
from targetwatch.errors import ConfigError

WU_YI = Recipient(id="wu_yi", name="伍毅", mobile="13800000102", email="wu_yi@example.gov.cn")


def message(lines: int = 3, who: Recipient = WU_YI) -> Message:
    body = "\n".join(f"{i}. 【落后】规模工业增加值增速增长7%以上（大祥区）：大祥区规模工业增加值增速5.1%，低于目标7.0%。" for i in range(1, lines + 1))
    return Message(subject="目标预警｜2023-06｜伍毅同志分管事项", markdown=f"**目标预警**\n{body}", text=f"目标预警\n{body}", recipient=who)


def secrets(**values):
    return lambda name: values.get(name)


@pytest.fixture
def wecom():
    r = Receiver("wecom", free_port(), wecom_key="wk-secret-key-1").start()
    yield r
    r.stop()


def send_all(notifier, msg):
    for part in notifier.parts(msg):
        notifier.send_part(part)


def test_wecom_splits_a_long_digest_under_4096_bytes_and_mentions_by_mobile(wecom):
    notifier = notifier_for(Channel(id="w", kind="wecom"), secrets(TARGETWATCH_WECOM_ROBOT_URL=wecom.url))
    msg = message(lines=120)
    assert len(msg.markdown.encode()) == 16588  # 120 lines of 136 bytes: more than four chunks of 4,080
    send_all(notifier, msg)
    markdown = [m["markdown"]["content"] for m in wecom.received if m["msgtype"] == "markdown"]
    assert len(markdown) == 5 and all(len(c.encode()) <= 4096 for c in markdown)
    assert [c.rsplit("\n", 1)[1] for c in markdown] == ["(1/5)", "(2/5)", "(3/5)", "(4/5)", "(5/5)"]
    assert "\n".join(c.rsplit("\n", 1)[0] for c in markdown) == msg.markdown
    assert wecom.received[-1] == {"msgtype": "text", "text": {"content": "请伍毅同志查阅上方目标预警。", "mentioned_mobile_list": ["13800000102"]}}


def test_wecom_mentions_a_known_user_id_inside_the_markdown(wecom):
    notifier = notifier_for(Channel(id="w", kind="wecom"), secrets(TARGETWATCH_WECOM_ROBOT_URL=wecom.url))
    send_all(notifier, message(who=Recipient(id="wu_yi", name="伍毅", mobile="13800000102", wecom_userid="WuYi")))
    assert len(wecom.received) == 1
    assert wecom.received[0]["markdown"]["content"].endswith("\n<@WuYi>")


def test_wecom_refusal_is_a_delivery_error_without_the_robot_key(wecom):
    bad_url = wecom.url.replace("wk-secret-key-1", "wrong-key-777")
    notifier = notifier_for(Channel(id="w", kind="wecom"), secrets(TARGETWATCH_WECOM_ROBOT_URL=bad_url))
    with pytest.raises(DeliveryError) as exc:
        send_all(notifier, message())
    assert str(exc.value) == "wecom: errcode 93000: invalid webhook url"
    wecom.fail_next = 1
    with pytest.raises(DeliveryError) as exc:
        send_all(notifier, message())
    assert "wrong-key-777" not in str(exc.value) and "HTTP 500" in str(exc.value)


def test_split_never_cuts_a_character_and_keeps_every_byte():
    text = "甲" * 5000  # one line of 15,000 bytes
    chunks = split_utf8(text, 4096)
    assert all(len(c.encode()) <= 4096 for c in chunks)
    assert "".join(c.rsplit("\n", 1)[0] for c in chunks) == text


def test_dingtalk_signs_like_dingtalk_and_mentions_the_mobile():
    r = Receiver("dingtalk", free_port(), dingtalk_secret="SECabc123").start()
    try:
        env = secrets(TARGETWATCH_DINGTALK_ROBOT_URL=r.url, TARGETWATCH_DINGTALK_SECRET="SECabc123")
        send_all(notifier_for(Channel(id="d", kind="dingtalk"), env), message())
        assert len(r.received) == 1
        got = r.received[0]
        assert got["at"] == {"atMobiles": ["13800000102"], "atUserIds": [], "isAtAll": False}
        assert got["markdown"]["title"] == "目标预警｜2023-06｜伍毅同志分管事项"
        assert got["markdown"]["text"].endswith("\n\n@13800000102")
        who = Recipient(id="wu_yi", name="伍毅", mobile="13800000102", dingtalk_userid="manager4711")
        send_all(notify_dingtalk := notifier_for(Channel(id="d", kind="dingtalk"), env), message(who=who))
        assert r.received[1]["at"] == {"atMobiles": ["13800000102"], "atUserIds": ["manager4711"], "isAtAll": False}
        assert r.received[1]["markdown"]["text"].endswith("\n\n@13800000102 @manager4711")
        assert notify_dingtalk.redact(r.url + " SECabc123") == "******** ********"
        wrong = secrets(TARGETWATCH_DINGTALK_ROBOT_URL=r.url, TARGETWATCH_DINGTALK_SECRET="SECwrong")
        with pytest.raises(DeliveryError) as exc:
            send_all(notifier_for(Channel(id="d", kind="dingtalk"), wrong), message())
        assert str(exc.value) == "dingtalk: errcode 310000: sign not match"
    finally:
        r.stop()


def test_a_missing_secret_names_the_environment_variable():
    notifier = notifier_for(Channel(id="d", kind="dingtalk"), secrets())
    with pytest.raises(DeliveryError, match="set the environment variable TARGETWATCH_DINGTALK_ROBOT_URL"):
        send_all(notifier, message())


def test_a_bad_option_lists_the_options_allowed():
    with pytest.raises(ConfigError, match=r"channel 'm' \(email\): hots: Extra inputs are not permitted \(options allowed: host, port"):
        notifier_for(Channel(id="m", kind="email", options={"hots": "x"}))
    with pytest.raises(ConfigError, match="unknown kind 'sms'; known: dingtalk, email, webhook, wecom"):
        notifier_for(Channel(id="s", kind="sms"))


def test_webhook_posts_the_digest_with_a_bearer_token():
    r = Receiver("webhook", free_port()).start()
    try:
        channel = Channel(id="h", kind="webhook", options={"url": r.url, "token_env": "HOOK_TOKEN"})
        send_all(notifier_for(channel, secrets(HOOK_TOKEN="tkn-42")), message())
        assert r.received[0]["recipient"] == "wu_yi" and r.received[0]["subject"] == "目标预警｜2023-06｜伍毅同志分管事项"
        assert r.headers[0]["Authorization"] == "Bearer tkn-42"
    finally:
        r.stop()


@pytest.fixture
def smtp_server(tmp_path):
    """aiosmtpd on 127.0.0.1 with STARTTLS required and AUTH checked; yields (port, ca_file, messages)."""
    openssl = require_binary("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    messages: list = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"targetwatch" and auth_data.password == b"pw-s3cret"
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=authenticator, auth_require_tls=True)
    controller.start()
    yield port, str(cert), messages
    controller.stop()


def test_email_goes_over_starttls_with_login(smtp_server):
    port, ca, messages = smtp_server
    channel = Channel(id="m", kind="email", options={"host": "127.0.0.1", "port": port, "ca_file": ca, "username": "targetwatch"})
    send_all(notifier_for(channel, secrets(TARGETWATCH_SMTP_PASSWORD="pw-s3cret")), message())
    [(to, mail)] = messages
    assert to == ["wu_yi@example.gov.cn"]
    assert mail["Subject"] == "目标预警｜2023-06｜伍毅同志分管事项"
    assert mail.get_content().startswith("目标预警\n1. 【落后】规模工业增加值增速增长7%以上（大祥区）")


def test_email_with_a_wrong_password_fails_without_showing_it(smtp_server):
    port, ca, messages = smtp_server
    channel = Channel(id="m", kind="email", options={"host": "127.0.0.1", "port": port, "ca_file": ca, "username": "targetwatch"})
    with pytest.raises(DeliveryError) as exc:
        send_all(notifier_for(channel, secrets(TARGETWATCH_SMTP_PASSWORD="not-the-pw-99")), message())
    assert "535" in str(exc.value) and "not-the-pw-99" not in str(exc.value)
    assert messages == []


def test_a_bad_notifiers_yaml_is_reported_with_file_line_and_column(tmp_path):
    from exporters.channels import load_notifier_config

    (tmp_path / "notifiers.yaml").write_text(
        "channels:\n"
        "  - {id: mail, kind: email, options: {host: smtp.example.gov.cn}}\n"
        "  - {id: robot, kind: wecom, options: {url_env: X, limit: 4096}}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_notifier_config(tmp_path)
    assert str(exc.value) == (f"{tmp_path / 'notifiers.yaml'}:3:5: channel 'robot' (wecom): limit: Extra inputs are not permitted "
                              "(options allowed: url_env, limit_bytes, timeout_seconds)")
    (tmp_path / "notifiers.yaml").write_text(
        "channels:\n  - {id: mail, kind: email}\nrecipients:\n  wu_yi: [mail, sms]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_notifier_config(tmp_path)
    assert str(exc.value) == f"{tmp_path / 'notifiers.yaml'}:4:10: recipient 'wu_yi': unknown channel 'sms'; known: mail"


def test_the_example_notifiers_yaml_loads():
    from exporters.channels import load_notifier_config
    from tests.conftest import EXAMPLE_CONFIG

    config = load_notifier_config(EXAMPLE_CONFIG)
    assert [c.id for c in config.channels] == ["leaders_wecom", "leaders_dingtalk", "leaders_mail", "duty_office_webhook"]
    assert config.channels_of("wu_yi") == ["leaders_wecom", "leaders_mail"] and config.channels_of("liu_yong") == ["leaders_mail"]
