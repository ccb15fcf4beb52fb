"""DingTalk (钉钉) custom robot: markdown signed with HMAC-SHA256 (加签), @mobiles and @user ids.

DingTalk checks ``sign = base64(hmac_sha256(secret, f"{timestamp}\\n{secret}"))`` (URL-encoded) against a
``timestamp`` in milliseconds that must be within an hour of its clock. Messages over 20,000 bytes are
refused ("message too long, exceed 20000 bytes"), so long digests are split like WeCom's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse

from exporters.notifiers import DeliveryError, Message, Notifier, Options, post_json, register
from exporters.notifiers.wecom import split_utf8

LIMIT_BYTES = 20000


class DingTalkOptions(Options):
    """Options of a DingTalk channel: where its URL and signing secret come from, and the size limit."""

    url_env: str = "TARGETWATCH_DINGTALK_ROBOT_URL"
    secret_env: str | None = "TARGETWATCH_DINGTALK_SECRET"
    limit_bytes: int = LIMIT_BYTES
    timeout_seconds: float = 10.0  # a slower answer is a failure; the resend carries the same key


def signature(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query value for a timestamp, as DingTalk computes it (URL-encoded base64)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


@register
class DingTalkRobot(Notifier):
    """DingTalk robot (``/robot/send?access_token=…``), signed when a secret is configured."""

    kind = "dingtalk"
    Options = DingTalkOptions

    def secrets(self) -> list[str]:
        url = self._secret(self.options.url_env) or ""
        sec = self._secret(self.options.secret_env) if self.options.secret_env else None
        return [url, url.partition("access_token=")[2], sec or ""]

    def parts(self, message: Message) -> list[dict]:
        who = message.recipient
        mentions = [f"@{m}" for m in (who.mobile, who.dingtalk_userid) if m]
        content = f"{message.markdown}\n\n{' '.join(mentions)}" if mentions else message.markdown
        at = {"atMobiles": [who.mobile] if who.mobile else [], "atUserIds": [who.dingtalk_userid] if who.dingtalk_userid else [],
              "isAtAll": False}
        return [{"msgtype": "markdown", "markdown": {"title": message.subject, "text": chunk}, "at": at}
                for chunk in split_utf8(content, self.options.limit_bytes)]

    def send_part(self, part: dict) -> None:
        url = self.secret(self.options.url_env, "the DingTalk robot URL")
        if self.options.secret_env:
            timestamp = int(time.time() * 1000)
            sign = signature(self.secret(self.options.secret_env, "the DingTalk signing secret"), timestamp)
            url = f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"
        answer = post_json(self, url, part, self.options.timeout_seconds)
        if answer.get("errcode", 0) != 0:
            raise DeliveryError(self.redact(f"dingtalk: errcode {answer.get('errcode')}: {answer.get('errmsg', '')}"))
