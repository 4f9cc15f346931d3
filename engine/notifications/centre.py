"""The notification centre, read side: a user's list and unread count."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.db.notification_models import Notification

from .kinds import name_zh


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    kind_zh: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    read: bool

    def as_dict(self) -> dict:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        return d


def unread_count(session: Session, username: str) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.username == username, Notification.read_at.is_(None))) or 0


def listing(session: Session, username: str, unread_only: bool = False, limit: int = 50,
            offset: int = 0) -> list[NotificationView]:
    query = select(Notification).where(Notification.username == username)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = session.scalars(query.order_by(Notification.id.desc()).limit(limit).offset(offset))
    return [NotificationView(n.id, n.kind, name_zh(n.kind), n.title, n.body, n.link, n.created_at,
                             n.read_at is not None) for n in rows]
