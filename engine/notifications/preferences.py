"""Changing what a user receives, and marking notifications read — each change audited in the
user's chain (`user:<username>`) in the same transaction."""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import audit
from engine.db.notification_models import Notification, NotificationPreference
from engine.runtime.errors import NotFound, ValidationFailed

from .kinds import CHOOSABLE, KINDS
from .notify import Choices, choices_of

# Deliberately plain: one @, no spaces, a dot in the domain. The mail server has the last word.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_IDS = 500


@dataclass(frozen=True)
class Preferences:
    muted: list[str]
    email: str
    email_each: bool
    daily_digest: bool

    def as_dict(self) -> dict[str, Any]:
        return {"muted": self.muted, "email": self.email, "email_each": self.email_each,
                "daily_digest": self.daily_digest,
                "kinds": [{"code": k.code, "name_zh": k.name_zh, "about_zh": k.about_zh,
                           "on": k.code not in self.muted} for k in CHOOSABLE]}


def preferences_of(session: Session, username: str) -> Preferences:
    c: Choices = choices_of(session, [username])[username]
    return Preferences(sorted(c.muted), c.contacts.get("email", ""), "email" in c.instant, c.daily_digest)


def save(session: Session, username: str, *, muted: Iterable[str], email: str, email_each: bool,
         daily_digest: bool, now: datetime) -> Preferences:
    muted = sorted(set(muted))
    unknown = [k for k in muted if k not in KINDS or k == "digest"]
    if unknown:
        raise ValidationFailed(f"unknown notification kinds: {unknown}", f"没有这种通知类型：{'、'.join(unknown)}")
    email = (email or "").strip()
    if len(email) > 200 or (email and not EMAIL.match(email)):
        raise ValidationFailed("not an email address", "电子邮箱格式不正确（例如 zhang@example.cn）")
    if (email_each or daily_digest) and not email:
        raise ValidationFailed("an email address is needed to receive email", "要接收邮件，请先填写电子邮箱")
    before = preferences_of(session, username)
    pref = session.get(NotificationPreference, username, with_for_update=session.bind.dialect.name == "postgresql")
    if pref is None:
        pref = NotificationPreference(username=username, muted_kinds="[]", contacts="{}", instant_channels="[]",
                                      daily_digest=False, updated_at=now)
        session.add(pref)
    contacts = json.loads(pref.contacts or "{}")
    instant = [c for c in json.loads(pref.instant_channels or "[]") if c != "email"]
    if email:
        contacts["email"] = email
    else:
        contacts.pop("email", None)
    if email_each:
        instant.append("email")
    pref.muted_kinds = json.dumps(muted)
    pref.contacts = json.dumps(contacts, ensure_ascii=False, sort_keys=True)
    pref.instant_channels = json.dumps(sorted(instant))
    pref.daily_digest = bool(daily_digest)
    pref.updated_at = now
    session.flush()
    after = preferences_of(session, username)
    audit.append(session, chain=f"user:{username}", actor=username, action="notification_preferences_changed",
                 now=now, before=_audited(before), after=_audited(after))
    return after


def _audited(p: Preferences) -> dict:
    return {"muted": p.muted, "email": p.email, "email_each": p.email_each, "daily_digest": p.daily_digest}


def mark_read(session: Session, username: str, ids: Iterable[Any] | None, now: datetime) -> int:
    """Mark the given notifications of `username` read (all unread ones when `ids` is None).
    An id that is not theirs is refused as unknown, and nothing is marked."""
    query = update(Notification).where(Notification.username == username, Notification.read_at.is_(None))
    if ids is not None:
        wanted = _ids(ids)
        mine = set(session.scalars(select(Notification.id).where(Notification.username == username,
                                                                 Notification.id.in_(wanted))))
        missing = sorted(set(wanted) - mine)
        if missing:
            raise NotFound(f"no such notification: {missing}", f"通知不存在：{'、'.join(map(str, missing[:10]))}")
        query = query.where(Notification.id.in_(wanted))
    count = session.execute(query.values(read_at=now).execution_options(synchronize_session=False)).rowcount
    if count:
        audit.append(session, chain=f"user:{username}", actor=username, action="notifications_read", now=now,
                     detail={"ids": None if ids is None else sorted(set(_ids(ids))), "count": count})
    return count


def _ids(ids: Iterable[Any]) -> list[int]:
    values = list(ids)
    if not values:
        raise ValidationFailed("no notification given", "请选择要标为已读的通知")
    if len(values) > MAX_IDS:
        raise ValidationFailed("too many notifications at once", f"一次最多标记 {MAX_IDS} 条")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, str)) or not str(v).isdigit() or len(str(v)) > 12:
            raise ValidationFailed(f"not a notification id: {v!r}", "通知编号应为正整数")
        out.append(int(v))
    return out
