"""Tables of notifications (engine/notifications/): what each user is told, what is to be sent
out, what they chose to receive, and the occasions already announced (so nothing is said twice)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime


class Notification(Base):
    """One message in one user's notification centre (站内通知)."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "username", "read_at", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(300))
    case_id: Mapped[int | None] = mapped_column(Integer)  # no FK: a notice outlives nothing it names
    task_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """A message waiting to leave through one channel (email, or a channel a deployer adds).
    `notification_id` is NULL for a daily digest."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))  # made absolute (HONGWU_BASE_URL) when sent
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationPreference(Base):
    """What one user chose; no row means every kind in the centre and nothing sent out."""

    __tablename__ = "notification_preference"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    muted_kinds: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of kind codes
    contacts: Mapped[str] = mapped_column(Text, default="{}")  # JSON {channel: address}
    instant_channels: Mapped[str] = mapped_column(Text, default="[]")  # JSON list: send each notification
    daily_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    digest_sent_on: Mapped[str | None] = mapped_column(String(10))  # civil date of the last digest
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotificationOccasion(Base):
    """An occasion already announced ("task_overdue" of task X): inserted first, so two scanners
    (the worker and the serve thread) can't both announce it."""

    __tablename__ = "notification_occasion"
    subject: Mapped[str] = mapped_column(String(120), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

