"""WeCom (企业微信) group robot: markdown messages, split under the 4,096-byte limit, with @mentions.

A markdown robot message mentions a user with ``<@userid>`` in its content; a mobile number can only be
mentioned by a text message (``mentioned_mobile_list``), so a recipient known by mobile alone gets a
short text message after the digest. The robot URL carries its key and is therefore a secret.
"""

from __future__ import annotations

from exporters.notifiers import DeliveryError, Message, Notifier, Options, post_json, register

LIMIT_BYTES = 4096


class WeComOptions(Options):
    """Options of a WeCom robot channel: where its URL comes from, and the size limit."""

    url_env: str = "TARGETWATCH_WECOM_ROBOT_URL"
    limit_bytes: int = LIMIT_BYTES
    timeout_seconds: float = 10.0  # a slower answer is a failure; the resend carries the same key


@register
class WeComRobot(Notifier):
    """WeCom group robot (``/cgi-bin/webhook/send?key=…``)."""

    kind = "wecom"
    Options = WeComOptions

    def secrets(self) -> list[str]:
        url = self._secret(self.options.url_env) or ""
        return [url, url.partition("key=")[2]]

    def parts(self, message: Message) -> list[dict]:
        who = message.recipient
        content = message.markdown
        if who.wecom_userid:
            content = f"{content}\n<@{who.wecom_userid}>"
        chunks = split_utf8(content, self.options.limit_bytes)
        parts = [{"msgtype": "markdown", "markdown": {"content": c}} for c in chunks]
        if who.mobile and not who.wecom_userid:
            # Markdown cannot @ a mobile number, so a short text message carries the mention.
            what = "报送提醒" if message.data.get("kind") == "late_reminder" else "目标预警"
            parts.append({"msgtype": "text", "text": {"content": f"请{who.name}同志查阅上方{what}。", "mentioned_mobile_list": [who.mobile]}})
        return parts

    def send_part(self, part: dict) -> None:
        answer = post_json(self, self.secret(self.options.url_env, "the WeCom robot URL"), part, self.options.timeout_seconds)
        if answer.get("errcode", 0) != 0:
            raise DeliveryError(self.redact(f"wecom: errcode {answer.get('errcode')}: {answer.get('errmsg', '')}"))


def split_utf8(text: str, limit: int, marker_room: int = 16) -> list[str]:
    """Split at line ends into chunks of at most ``limit`` UTF-8 bytes, numbered "(i/n)" when split.

    A line longer than a chunk is cut between characters, never inside one.
    """
    if len(text.encode("utf-8")) <= limit:
        return [text]
    budget = limit - marker_room
    chunks: list[str] = []
    current = ""
    for line in _pieces(text.split("\n"), budget):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode("utf-8")) > budget and current:
            chunks.append(current)
            candidate = line
        current = candidate
    if current:
        chunks.append(current)
    return [f"{c}\n({i}/{len(chunks)})" for i, c in enumerate(chunks, 1)]


def _pieces(lines: list[str], budget: int):
    for line in lines:
        while len(line.encode("utf-8")) > budget:
            cut = len(line.encode("utf-8")[:budget].decode("utf-8", errors="ignore"))
            yield line[:cut]
            line = line[cut:]
        yield line
