"""Built-in notifiers, registered by kind the same way a deployment registers its own (STYLE habit 15).

A notifier turns a :class:`Message` into one or more *parts* (one HTTP request or one e-mail each) and
sends a part at a time, so that the outbox can record progress and never resend a part that arrived.
Every error it raises is a :class:`DeliveryError` whose text has had the channel's secrets removed.

Exactly once, as far as a receiver can tell: a message queued in the outbox carries a ``key`` (see
:func:`exporters.notify.message_key`), and :meth:`Notifier.keyed_parts` gives part *i* the key
``<key>-<i>``, in the body (``idempotency_key``) and in the ``Idempotency-Key`` header (the e-mail's
``Message-ID``). A resend after a timeout reuses it. No notifier follows a redirect: a 3xx answer is a
:class:`PermanentDeliveryError` (a moved endpoint would otherwise turn the POST into a GET elsewhere).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from targetwatch import settings as settings_mod
from targetwatch.errors import ConfigError, TargetwatchError

NOTIFIERS: dict[str, type["Notifier"]] = {}


class DeliveryError(TargetwatchError):
    """A part could not be delivered; the outbox retries it later. The text never holds a secret."""


class PermanentDeliveryError(DeliveryError):
    """A part the channel will never take as configured (it answered a redirect): failed, not retried."""


KEY_FIELD = "idempotency_key"  # the part's key in its body; also sent as the Idempotency-Key header


@dataclass
class Recipient:
    """Who a message is for, with the contact details the channels use to address or @mention them."""

    id: str
    name: str
    mobile: str | None = None
    email: str | None = None
    wecom_userid: str | None = None
    dingtalk_userid: str | None = None


@dataclass
class Message:
    """A digest as the channels see it: a subject, a markdown body, a plain-text body, and its recipient."""

    subject: str
    markdown: str
    text: str
    recipient: Recipient
    data: dict[str, Any] = field(default_factory=dict)
    key: str = ""  # the outbox's idempotency key of this message; "" for a message sent outside the outbox

    def to_json(self) -> str:
        """The message as stored in the outbox."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Message":
        """A message read back from the outbox."""
        raw = json.loads(text)
        return cls(**{**raw, "recipient": Recipient(**raw["recipient"])})


class Options(BaseModel):
    """Base of each kind's options; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Notifier(ABC):
    """A channel kind. Subclasses set ``kind`` and ``Options`` and implement ``parts`` and ``send_part``."""

    kind: ClassVar[str]
    Options: ClassVar[type[Options]]

    def __init__(self, options: Options, secret: Callable[[str], str | None] = settings_mod.secret):
        self.options = options
        self._secret = secret

    def secret(self, env_name: str | None, what: str) -> str:
        """A secret by its environment-variable name; a missing one names the variable to set."""
        value = self._secret(env_name) if env_name else None
        if not value:
            raise DeliveryError(f"{self.kind}: {what} is not set; set the environment variable {env_name} or add it to the secrets file")
        return value

    def secrets(self) -> list[str]:
        """Every secret value this channel uses, to be scrubbed from error texts."""
        return []

    @abstractmethod
    def parts(self, message: Message) -> list[dict]:
        """The requests (or e-mails) that deliver ``message``, in order; each is sent and recorded alone."""
        ...

    def keyed_parts(self, message: Message) -> list[dict]:
        """:meth:`parts`, each carrying its own stable key ``<message key>-<i>`` when the message has a key."""
        parts = self.parts(message)
        if message.key:
            for i, part in enumerate(parts, 1):
                part[KEY_FIELD] = f"{message.key}-{i}"
        return parts

    @abstractmethod
    def send_part(self, part: dict) -> None:
        """Deliver one part; raise DeliveryError (with secrets removed) when the channel refuses it."""
        ...

    def redact(self, text: str) -> str:
        """``text`` with every secret of this channel replaced by ********."""
        for value in self.secrets():
            if value:
                text = text.replace(value, "********")
        return text


def register(cls: type[Notifier]) -> type[Notifier]:
    """Class decorator: make a notifier kind available to ``notifiers.yaml``."""
    NOTIFIERS[cls.kind] = cls
    return cls


def notifier_for(channel, secret: Callable[[str], str | None] | None = None) -> Notifier:
    """The notifier of a configured channel; unknown kinds and bad options are ConfigErrors."""
    _load_builtins()
    if channel.kind not in NOTIFIERS:
        raise ConfigError(f"channel {channel.id!r}: unknown kind {channel.kind!r}; known: {', '.join(sorted(NOTIFIERS))}")
    cls = NOTIFIERS[channel.kind]
    try:
        options = cls.Options(**channel.options)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        allowed = ", ".join(cls.Options.model_fields)
        raise ConfigError(f"channel {channel.id!r} ({channel.kind}): {problems} (options allowed: {allowed})") from None
    return cls(options, secret) if secret else cls(options)


def post_json(notifier: Notifier, url: str, body: dict, timeout: float = 10.0) -> dict:
    """POST a JSON body (with its ``Idempotency-Key`` header); return the JSON answer.

    Network errors, timeouts and non-2xx answers become redacted DeliveryErrors.
    """
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"})
    if body.get(KEY_FIELD):
        request.add_header("Idempotency-Key", body[KEY_FIELD])
    return send_request(notifier, request, timeout)


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would follow a 302 and turn the POST into a GET to wherever it points; refuse instead.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the opener then raises the 3xx as an HTTPError


# The one opener of every outgoing HTTP request (the notifiers, and the push to Alertmanager): no redirect followed.
NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


def send_request(notifier: Notifier, request: urllib.request.Request, timeout: float) -> dict:
    """Send a prepared request without following redirects; errors become redacted DeliveryErrors; return the JSON answer or {}."""
    try:
        with NO_REDIRECTS.open(request, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            where = exc.headers.get("Location", "") if exc.headers else ""
            raise PermanentDeliveryError(notifier.redact(
                f"{notifier.kind}: HTTP {exc.code} {exc.reason} from {request.full_url} (redirect to {where or '?'}): "
                "redirects are not followed; configure the final URL")) from None
        raise DeliveryError(notifier.redact(f"{notifier.kind}: HTTP {exc.code} {exc.reason} from {exc.url}")) from None
    except (urllib.error.URLError, OSError) as exc:  # includes a timeout: the resend reuses the key
        raise DeliveryError(notifier.redact(f"{notifier.kind}: cannot reach {request.full_url}: {exc}")) from None
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {}


def _load_builtins() -> None:
    from exporters.notifiers import dingtalk, email, webhook, wecom  # noqa: F401  (each registers itself)
