"""Helpers of the notification tests."""
from sqlalchemy import select

from engine.db.notification_models import Notification, OutboxMessage


def notes(rt, username=None, kind=None):
    with rt.uow() as s:
        q = select(Notification).order_by(Notification.id)
        if username:
            q = q.where(Notification.username == username)
        if kind:
            q = q.where(Notification.kind == kind)
        return [(n.username, n.kind, n.title) for n in s.scalars(q)]


def outbox(rt):
    with rt.uow() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def who(rt, kind):
    return sorted({u for u, k, _ in notes(rt, kind=kind)})
