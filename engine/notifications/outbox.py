"""Delivering the outbox: claim due messages under a lease (two workers never hold the same one),
send them outside any transaction, then record the result — sent, or another attempt after an
exponential back-off, or failed after the last attempt. A message is marked sent only by the
worker that holds its claim, so a message is never sent twice by two workers; a worker that dies
after sending but before recording is the one case left (its lease expires and it is resent)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from engine.db.notification_models import OutboxMessage

from .senders import Outgoing, Sender

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_DELAY = timedelta(minutes=1)
LONGEST_DELAY = timedelta(hours=6)
LEASE = timedelta(minutes=5)


def retry_delay(attempts: int, first: timedelta = FIRST_DELAY) -> timedelta:
    """After the n-th failed attempt: first, 2×first, 4×first … up to LONGEST_DELAY."""
    return min(first * (2 ** max(attempts - 1, 0)), LONGEST_DELAY)


@dataclass
class Delivery:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed, "errors": self.errors}


def _claimable(now: datetime):
    return and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))


def claim(session: Session, worker_id: str, channels: list[str], now: datetime, limit: int) -> list[OutboxMessage]:
    ready = and_(_claimable(now), OutboxMessage.channel.in_(channels))
    pick = select(OutboxMessage.id).where(ready).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    if session.bind.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = list(session.scalars(pick))
    if not ids:
        return []
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids), ready)
                    .values(claimed_by=worker_id, claimed_until=now + LEASE)
                    .execution_options(synchronize_session=False))
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids),
                                                            OutboxMessage.claimed_by == worker_id)))


def deliver(uow: Callable[[], AbstractContextManager[Session]], now: Callable[[], datetime], senders: Mapping[str, Sender],
            worker_id: str, base_url: str = "", batch: int = 50, max_attempts: int = MAX_ATTEMPTS,
            first_delay: timedelta = FIRST_DELAY) -> Delivery:
    """Send every due message of the channels that have a sender."""
    result = Delivery()
    if not senders:
        return result
    tried: set[int] = set()
    while True:
        with uow() as s:
            claimed = [m for m in claim(s, worker_id, sorted(senders), now(), batch) if m.id not in tried]
            outgoing = [(m.id, m.channel, m.attempts, Outgoing(m.id, m.username, m.address, m.subject,
                                                               _with_link(m.body, m.link, base_url)))
                        for m in claimed]
        if not outgoing:
            return result
        for mid, channel, attempts, message in outgoing:
            tried.add(mid)
            try:
                senders[channel].send(message)
                error = None
            except Exception as exc:  # any failure of a pluggable sender is one failed attempt
                error = f"{type(exc).__name__}: {exc}"[:2000]
                log.warning("outbox message %s (%s) not delivered: %s", mid, channel, error)
            with uow() as s:
                t = now()
                mine = and_(OutboxMessage.id == mid, OutboxMessage.claimed_by == worker_id,
                            OutboxMessage.status == "pending")
                if error is None:
                    values = dict(status="sent", sent_at=t, attempts=attempts + 1, claimed_until=None, last_error=None)
                    result.sent += 1
                elif attempts + 1 >= max_attempts:
                    values = dict(status="failed", attempts=attempts + 1, claimed_until=None, last_error=error)
                    result.failed += 1
                    result.errors.append(f"#{mid}: {error}")
                else:
                    values = dict(attempts=attempts + 1, claimed_by=None, claimed_until=None, last_error=error,
                                  next_attempt_at=t + retry_delay(attempts + 1, first_delay))
                    result.retrying += 1
                    result.errors.append(f"#{mid}: {error}")
                s.execute(update(OutboxMessage).where(mine).values(**values)
                          .execution_options(synchronize_session=False))


def _with_link(body: str, link: str | None, base_url: str) -> str:
    lines = [body]
    if link:
        lines += ["", f"办理或查看：{base_url.rstrip('/')}{link}"]
    lines += ["", "—— 红物 红色物业流程。此邮件由系统发出，请勿直接回复；接收方式可在“通知设置”中调整。"]
    return "\n".join(lines)


def counts(session: Session) -> dict[str, dict[str, int]]:
    """{channel: {status: n}} for the CLI and the admin."""
    found: dict[str, dict[str, int]] = {}
    for channel, status, n in session.execute(select(OutboxMessage.channel, OutboxMessage.status, func.count())
                                              .group_by(OutboxMessage.channel, OutboxMessage.status)):
        found.setdefault(channel, {})[status] = n
    return found
