"""How outbox messages leave: one `Sender` per channel. Email over SMTP is included, configured
by HONGWU_SMTP_URL (smtp://[user:password@]host:port[?starttls=1&from=addr], or smtps:// for TLS
from the first byte). A deployer adds SMS, WeCom and the like behind the same interface: call
`register_sender` at start-up, or name factories in HONGWU_NOTIFICATION_SENDERS
("package.module:make_sender", comma-separated; each returns a Sender)."""
from __future__ import annotations

import importlib
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True)
class Outgoing:
    """One message as a sender sees it (the link already absolute)."""

    id: int
    username: str
    address: str
    subject: str
    body: str


class SendFailed(Exception):
    """Delivery failed; the outbox tries again later (with back-off) up to its limit."""


@runtime_checkable
class Sender(Protocol):
    channel: str

    def send(self, message: Outgoing) -> None:
        """Deliver or raise (any exception counts as a failed attempt)."""


class SmtpSender:
    channel = "email"

    def __init__(self, url: str, timeout: float = 20.0):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"HONGWU_SMTP_URL must look like smtp://host:port, not {url!r}")
        query = parse_qs(parts.query)
        self.host = parts.hostname
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.tls = parts.scheme == "smtps"
        self.starttls = query.get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = query.get("from", [f"hongwu@{self.host}"])[0]
        self.timeout = timeout

    def __repr__(self) -> str:  # never the password
        return f"SmtpSender({self.host}:{self.port})"

    def message(self, m: Outgoing) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = m.subject  # non-ASCII: encoded as RFC 2047 UTF-8 words
        msg["From"] = Address("红物 hongwu", addr_spec=self.sender)
        msg["To"] = m.address
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(idstring=f"hongwu-outbox-{m.id}")
        msg.set_content(m.body, charset="utf-8")
        return msg

    def send(self, message: Outgoing) -> None:
        try:
            cls = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
            with cls(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(self.message(message))
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(f"SMTP {self.host}:{self.port}: {exc}") from exc


_REGISTERED: dict[str, Sender] = {}


def register_sender(sender: Sender) -> None:
    """Make `sender` deliver its channel's outbox messages (replacing an earlier one)."""
    if not isinstance(sender, Sender) or not isinstance(getattr(sender, "channel", None), str):
        raise TypeError("a sender needs a `channel` name and a `send(message)` method")
    _REGISTERED[sender.channel] = sender


def unregister_sender(channel: str) -> None:
    _REGISTERED.pop(channel, None)


def configured_senders(environ: Mapping[str, str] | None = None) -> dict[str, Sender]:
    """The senders of this process: SMTP from HONGWU_SMTP_URL, the factories named in
    HONGWU_NOTIFICATION_SENDERS, and those registered in code (which win)."""
    env = os.environ if environ is None else environ
    found: dict[str, Sender] = {}
    if env.get("HONGWU_SMTP_URL"):
        found["email"] = SmtpSender(env["HONGWU_SMTP_URL"])
    for spec in filter(None, (s.strip() for s in env.get("HONGWU_NOTIFICATION_SENDERS", "").split(","))):
        module, _, attr = spec.partition(":")
        sender = getattr(importlib.import_module(module), attr or "make_sender")()
        if not isinstance(sender, Sender):
            raise TypeError(f"{spec} did not return a sender")
        found[sender.channel] = sender
    found.update(_REGISTERED)
    return found
