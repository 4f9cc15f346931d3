"""The daily digest: once a (Beijing) day, from DIGEST_HOUR on, one email per user who asked for
it, listing their unread notifications. The day is recorded before the message is queued, in one
conditional update, so two scanners can't both queue it."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from engine.config import CIVIL_TZ
from engine.db.notification_models import Notification, NotificationPreference, OutboxMessage

from .kinds import name_zh

DIGEST_HOUR = 8  # Beijing time
LISTED = 30


def queue_digests(session: Session, now: datetime, hour: int = DIGEST_HOUR) -> int:
    local = now.astimezone(CIVIL_TZ)
    if local.hour < hour:
        return 0
    today = local.date().isoformat()
    due = (select(NotificationPreference).where(
        NotificationPreference.daily_digest.is_(True),
        or_(NotificationPreference.digest_sent_on.is_(None), NotificationPreference.digest_sent_on != today)))
    queued = 0
    for pref in list(session.scalars(due)):
        address = json.loads(pref.contacts or "{}").get("email")
        taken = session.execute(
            update(NotificationPreference)
            .where(NotificationPreference.username == pref.username,
                   or_(NotificationPreference.digest_sent_on.is_(None), NotificationPreference.digest_sent_on != today))
            .values(digest_sent_on=today).execution_options(synchronize_session=False)).rowcount
        if taken != 1 or not address:
            continue
        unread = select(Notification).where(Notification.username == pref.username, Notification.read_at.is_(None))
        total = session.scalar(select(func.count()).select_from(unread.subquery())) or 0
        if not total:
            continue  # nothing unread: no email
        rows = list(session.scalars(unread.order_by(Notification.id.desc()).limit(LISTED)))
        lines = [f"您在红物系统中有 {total} 条未读通知：", ""]
        lines += [f"· 〔{name_zh(n.kind)}〕{n.title}（{n.created_at.astimezone(CIVIL_TZ):%m月%d日 %H:%M}）" for n in rows]
        if total > len(rows):
            lines.append(f"……另有 {total - len(rows)} 条，请登录查看。")
        session.execute(OutboxMessage.__table__.insert().values(
            notification_id=None, username=pref.username, channel="email", address=address,
            subject=f"【红物·每日摘要】{local:%Y年%m月%d日} 您有 {total} 条未读通知", body="\n".join(lines),
            link="/notifications", status="pending", attempts=0, next_attempt_at=now, created_at=now))
        queued += 1
    return queued
