"""Generic JSON webhook: the digest and its items as JSON, with an optional bearer token."""

from __future__ import annotations

import json
import urllib.request

from exporters.notifiers import KEY_FIELD, Message, Notifier, Options, register, send_request


class WebhookOptions(Options):
    """Options of a webhook channel: its URL and where a bearer token comes from."""

    url: str
    token_env: str | None = None
    timeout_seconds: float = 10.0


@register
class Webhook(Notifier):
    """POST ``{"recipient", "subject", "markdown", "text", "data", "idempotency_key"}``; any 2xx is a delivery."""

    kind = "webhook"
    Options = WebhookOptions

    def secrets(self) -> list[str]:
        return [self._secret(self.options.token_env) or ""] if self.options.token_env else []

    def parts(self, message: Message) -> list[dict]:
        return [{"recipient": message.recipient.id, "recipient_name": message.recipient.name, "subject": message.subject,
                 "markdown": message.markdown, "text": message.text, "data": message.data}]

    def send_part(self, part: dict) -> None:
        request = urllib.request.Request(self.options.url, data=json.dumps(part, ensure_ascii=False).encode("utf-8"),
                                         method="POST", headers={"Content-Type": "application/json; charset=utf-8"})
        if part.get(KEY_FIELD):
            request.add_header("Idempotency-Key", part[KEY_FIELD])
        if self.options.token_env:
            request.add_header("Authorization", f"Bearer {self.secret(self.options.token_env, 'the webhook token')}")
        send_request(self, request, self.options.timeout_seconds)
