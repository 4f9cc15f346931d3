"""Writing notifications: one row per recipient in their centre and, for each channel they asked
to be sent every notification on, an outbox row — all in the caller's transaction, so a
notification exists exactly when the change it announces was committed."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.db.notification_models import Notification, NotificationOccasion, NotificationPreference, OutboxMessage

from .kinds import name_zh

# Core inserts over the tables (the ORM types __table__ as a plain FromClause).
_NOTIFICATION_TABLE = cast(Table, Notification.__table__)
_INSERT_NOTIFICATIONS = _NOTIFICATION_TABLE.insert()
# Several rows in one statement (insertmanyvalues), their ids in the order of the rows given.
_INSERT_NOTIFICATIONS_RETURNING = _NOTIFICATION_TABLE.insert().returning(_NOTIFICATION_TABLE.c.id,
                                                                          sort_by_parameter_order=True)
_INSERT_OUTBOX = cast(Table, OutboxMessage.__table__).insert()


@dataclass(frozen=True)
class Choices:
    """One user's preferences as the writers need them."""

    muted: frozenset[str]
    contacts: dict[str, str]
    instant: tuple[str, ...]
    daily_digest: bool

    @classmethod
    def of(cls, pref: Any) -> Choices:
        """From a preference row (an ORM object, or a row with its columns); None: the defaults."""
        if pref is None:
            return DEFAULT
        return cls(frozenset(json.loads(pref.muted_kinds or "[]")), dict(json.loads(pref.contacts or "{}")),
                   tuple(json.loads(pref.instant_channels or "[]")), bool(pref.daily_digest))


DEFAULT = Choices(frozenset(), {}, (), False)


def choices_of(session: Session, usernames: Iterable[str]) -> dict[str, Choices]:
    names = set(usernames)
    if not names:
        return {}
    rows = session.scalars(select(NotificationPreference).where(NotificationPreference.username.in_(names)))
    found = {p.username: Choices.of(p) for p in rows}
    return {u: found.get(u, DEFAULT) for u in names}


def first_time(session: Session, subject: str, kind: str, now: datetime) -> bool:
    """Record the occasion; False when it was announced before (by this or another process)."""
    dialect = session.get_bind().dialect.name
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (maker(NotificationOccasion).values(subject=subject[:120], kind=kind, created_at=now)
            .on_conflict_do_nothing().returning(NotificationOccasion.kind))
    return session.connection().execute(stmt).first() is not None


def announce(session: Session, *, kind: str, recipients: Iterable[str], title: str, body: str, now: datetime,
             link: str | None = None, case_id: int | None = None, task_id: str | None = None,
             occasion: str | None = None, known: dict[str, Choices] | None = None) -> list[str]:
    """Tell `recipients` (who have not muted `kind`); returns who was told. With `occasion`, only
    the first announcement of (occasion, kind) is made. `known`: choices already read (a
    Directory's), so that they are not read again."""
    names = sorted({r for r in recipients if r})
    if not names:
        return []
    if occasion is not None and not first_time(session, occasion, kind, now):
        return []
    conn = session.connection()
    if known is not None and all(n in known for n in names):
        chosen = {n: known[n] for n in names}
    else:
        chosen = choices_of(session, names)
    told = [u for u, choice in sorted(chosen.items()) if kind not in choice.muted]
    if not told:
        return []
    rows = [dict(username=u, kind=kind, title=title[:300], body=body, link=link, case_id=case_id,
                 task_id=task_id, created_at=now, read_at=None) for u in told]
    sends = [(u, channel, chosen[u].contacts[channel]) for u in told
             for channel in chosen[u].instant if chosen[u].contacts.get(channel)]
    if not sends:  # one statement for every recipient; ids are needed only by outbox rows
        conn.execute(_INSERT_NOTIFICATIONS, rows)
        return told
    ids = dict(zip(told, conn.execute(_INSERT_NOTIFICATIONS_RETURNING, rows).scalars(), strict=True))
    conn.execute(_INSERT_OUTBOX, [dict(
        notification_id=ids[u], username=u, channel=channel, address=address,
        subject=f"【红物·{name_zh(kind)}】{title}"[:300], body=body, link=link,
        status="pending", attempts=0, next_attempt_at=now, created_at=now) for u, channel, address in sends])
    return told
