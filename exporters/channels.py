"""The channel configuration of a deployment (``notifiers.yaml``): channels, who gets what, Alertmanager.

Secrets are never written in the file: a channel names the environment variable (``*_env``) that holds
its robot URL, signing secret, password or token, and :func:`targetwatch.settings.secret` resolves it
from the environment or the secrets file at send time.

``via`` picks the one path that tells leaders: ``builtin`` (targetwatch's digests) or ``alertmanager``.

Example (the example deployment's file is ``config/notifiers.yaml``)::

    via: builtin
    channels:
      - {id: leaders_wecom, kind: wecom, options: {url_env: TARGETWATCH_WECOM_ROBOT_URL}}
      - {id: leaders_mail, kind: email, options: {host: smtp.example.gov.cn, port: 587, sender: tw@example.gov.cn}}
    recipients:
      wu_yi: [leaders_wecom, leaders_mail]
      "*": [leaders_mail]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from targetwatch import yamlio
from targetwatch.errors import ConfigError

FILE_NAME = "notifiers.yaml"
# Group robots: with ``via: alertmanager`` targetwatch still delivers to these (Alertmanager cannot sign
# for DingTalk nor @-mention), relaying Alertmanager's notifications through ``/alertmanager/webhook``.
ROBOT_KINDS = ("dingtalk", "wecom")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Channel(_Strict):
    """One delivery channel: a kind registered in ``exporters.notifiers`` and that kind's options."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: str = Field(description="wecom, dingtalk, email, webhook, or a kind a deployment registers")
    options: dict[str, Any] = Field(default_factory=dict, description="checked by the kind's Options model")


class Retry(_Strict):
    """Backoff of the outbox: base × 2^(failed attempts), capped."""

    base_seconds: float = Field(30.0, gt=0)
    max_seconds: float = Field(3600.0, gt=0)


class AlertmanagerReceivers(_Strict):
    """How ``targetwatch export alertmanager`` reaches each leader, and the route timers."""

    default_kind: Literal["email", "webhook", "wechat"] = "email"
    kinds: dict[str, Literal["email", "webhook", "wechat"]] = Field(default_factory=dict, description="leader id → receiver kind")
    targetwatch_url: str = Field("http://127.0.0.1:9464", description="where Alertmanager reaches `targetwatch serve` "
                                 "(under compose: http://targetwatch:9464); robots are reached through its /alertmanager/webhook")
    targetwatch_token_file: str | None = Field(None, description="file holding TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN, which "
                                               "Alertmanager presents to /alertmanager/webhook as a bearer token (never inline)")
    ops_email: str | None = Field(None, description="operators' address for alerts without a leader (instead of ops_webhook_url)")
    ops_webhook_url: str = Field("http://127.0.0.1:9099/targetwatch/ops", description="receiver of alerts without a leader")
    webhook_url: str = Field("http://127.0.0.1:9099/targetwatch/leader", description="webhook receivers; ?leader=<id> is appended")
    smtp_smarthost: str = "127.0.0.1:587"
    smtp_from: str = "targetwatch@example.gov.cn"
    smtp_require_tls: bool = True
    smtp_auth_username: str | None = None
    smtp_auth_password_file: str | None = Field(None, description="file holding the SMTP password (never inline)")
    wechat_api_url: str | None = Field(None, description="WeCom API base (…/cgi-bin/) when not qyapi.weixin.qq.com, e.g. 政务微信")
    wechat_corp_id: str | None = None
    wechat_agent_id: str | None = None
    wechat_api_secret_file: str | None = Field(None, description="not supported by Alertmanager 0.25: set api_secret by deployment tooling")
    group_wait: str = "30s"
    group_interval: str = "5m"
    repeat_interval: str = Field("744h", description="once per reporting period (31 days); raise Alertmanager's --data.retention to match")


class NotifierConfig(_Strict):
    """Everything ``notifiers.yaml`` says."""

    via: Literal["builtin", "alertmanager"] = Field(
        "builtin", description="the one notification path: targetwatch's own digests (builtin), or Alertmanager "
                               "(generated routes, Chinese templates, robots through `serve`'s /alertmanager/webhook)")
    channels: list[Channel] = Field(default_factory=list)
    recipients: dict[str, list[str]] = Field(default_factory=dict, description='person id (or "*") → channel ids')
    retry: Retry = Field(default_factory=Retry)
    dashboard_path: str = Field("/d/tw-alerts/", description="dashboard linked from digests, under settings.dashboard_url")
    push_resolve_seconds: float = Field(900.0, gt=0, description="endsAt of pushed alerts: now + this; refreshed every evaluation")
    alertmanager: AlertmanagerReceivers = Field(default_factory=AlertmanagerReceivers)

    def channel(self, channel_id: str) -> Channel:
        """A channel by id; an unknown id is a ConfigError that lists the known ones."""
        for ch in self.channels:
            if ch.id == channel_id:
                return ch
        raise ConfigError(f"unknown channel {channel_id!r}; known: {', '.join(c.id for c in self.channels) or 'none'}")

    def channels_of(self, person: str) -> list[str]:
        """The channel ids a person's digests go to: their own list, else the "*" list."""
        return list(self.recipients.get(person, self.recipients.get("*", [])))

    def robot_channels_of(self, person: str) -> list[str]:
        """The person's DingTalk and WeCom group-robot channels."""
        return [c for c in self.channels_of(person) if self.channel(c).kind in ROBOT_KINDS]

    def delivered_by_targetwatch(self, person: str) -> list[str]:
        """The channels targetwatch itself delivers a leader's digests on: all of them with ``via: builtin``,
        the robots with ``via: alertmanager`` (Alertmanager's own receivers serve the rest)."""
        return self.channels_of(person) if self.via == "builtin" else self.robot_channels_of(person)


def load_notifier_config(config_dir: str | Path) -> NotifierConfig:
    """Read ``notifiers.yaml`` of a deployment folder (no file: no channels); check every channel's options."""
    path = Path(config_dir) / FILE_NAME
    if not path.exists():
        return NotifierConfig()
    doc = yamlio.load(path)
    config = yamlio.parse_model(NotifierConfig, doc or {}, str(path))
    from exporters.notifiers import notifier_for  # checks kind and options, with the file's location

    ids = [c.id for c in config.channels]
    for i, ch in enumerate(config.channels):
        if ids.count(ch.id) > 1:
            raise ConfigError(f"duplicate channel id {ch.id!r}", yamlio.locate(doc, ["channels", i], str(path)))
        try:
            notifier_for(ch)
        except ConfigError as exc:
            raise ConfigError(exc.message, yamlio.locate(doc, ["channels", i], str(path))) from None
    for person, chans in config.recipients.items():
        for c in chans:
            if c not in ids:
                loc = yamlio.locate(doc, ["recipients", person], str(path))
                raise ConfigError(f"recipient {person!r}: unknown channel {c!r}; known: {', '.join(ids) or 'none'}", loc)
    return config
