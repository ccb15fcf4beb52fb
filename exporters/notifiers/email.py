"""E-mail over SMTP with STARTTLS: a plain-text digest (UTF-8) to the recipient's registry address."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from exporters.notifiers import KEY_FIELD, DeliveryError, Message, Notifier, Options, register


class EmailOptions(Options):
    """Options of an e-mail channel: the SMTP relay, sender, TLS and login."""

    host: str = "127.0.0.1"
    port: int = 587
    sender: str = "targetwatch@example.gov.cn"
    starttls: bool = True
    ca_file: str | None = None  # trust this CA instead of the system's (a private mail relay)
    username: str | None = None
    password_env: str | None = "TARGETWATCH_SMTP_PASSWORD"
    timeout_seconds: float = 10.0


@register
class Email(Notifier):
    """SMTP; STARTTLS is required unless switched off, and login happens only over TLS."""

    kind = "email"
    Options = EmailOptions

    def secrets(self) -> list[str]:
        return [self._secret(self.options.password_env) or ""] if self.options.password_env else []

    def parts(self, message: Message) -> list[dict]:
        if not message.recipient.email:
            raise DeliveryError(f"email: {message.recipient.name} ({message.recipient.id}) has no e-mail address in the registry")
        return [{"to": message.recipient.email, "subject": message.subject, "body": message.text}]

    def send_part(self, part: dict) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.options.sender, part["to"], part["subject"]
        key = part.get(KEY_FIELD)
        # The idempotency key is the Message-ID, so a resent e-mail is the same e-mail to every mail client.
        mail["Date"], mail["Message-ID"] = formatdate(localtime=False), f"<{key}@targetwatch>" if key else make_msgid(domain="targetwatch")
        body = part["body"]
        if key:
            mail["Idempotency-Key"] = key
            body = f"{body}\n\n消息编号：{key}"
        mail.set_content(body, charset="utf-8")
        opts = self.options
        try:
            with smtplib.SMTP(opts.host, opts.port, timeout=opts.timeout_seconds) as smtp:
                if opts.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=opts.ca_file))
                if opts.username:
                    smtp.login(opts.username, self.secret(opts.password_env, "the SMTP password"))
                smtp.send_message(mail)
        except DeliveryError:
            raise
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise DeliveryError(self.redact(f"email: {opts.host}:{opts.port}: {exc}")) from None
