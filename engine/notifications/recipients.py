"""Who is told: a role's pool in a jurisdiction, the street's supervisors, administrators.
The same jurisdiction rule as Actor.covers: a user's organisation path is a prefix of the case's
("" = everywhere). Only active users."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.db.models import OrgUnit, User
from engine.db.notification_models import NotificationPreference

from .notify import Choices

# Those who answer for every step in a street: its staff and its party working committee.
SUPERVISOR_ROLES = ("street_staff", "street_party_committee")


# Built once (every save that readies a step runs it); plain columns, no ORM objects to make.
_HOLDERS = (select(User.role, User.username, OrgUnit.path, NotificationPreference.username.label("pref"),
                   NotificationPreference.muted_kinds, NotificationPreference.contacts,
                   NotificationPreference.instant_channels, NotificationPreference.daily_digest)
            .outerjoin(OrgUnit, OrgUnit.id == User.jurisdiction_id)
            .outerjoin(NotificationPreference, NotificationPreference.username == User.username)
            .where(User.active.is_(True), User.role.in_(bindparam("roles", expanding=True))))


def _holders(session: Session, roles: Iterable[str]) -> tuple[dict[str, list[tuple[str, str]]], dict[str, Choices]]:
    """{role: [(username, jurisdiction path)]} of the active users of `roles`, and their
    notification choices (read with them: whoever is told is one of them)."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    choices: dict[str, Choices] = {}
    for row in session.connection().execute(_HOLDERS, {"roles": sorted(set(roles))}):
        found[row.role].append((row.username, row.path or ""))
        choices[row.username] = Choices.of(row if row.pref is not None else None)
    return found, choices


class Directory:
    """Users of some roles, read once for one save (which may ready several steps); `choices`
    holds their notification choices, for `announce`."""

    def __init__(self, session: Session, roles: Iterable[str]):
        self._by_role, self.choices = _holders(session, set(roles) | set(SUPERVISOR_ROLES) | {"admin"})

    def pool(self, role: str, org_path: str) -> list[str]:
        return sorted(u for u, path in self._by_role.get(role, ()) if org_path.startswith(path))

    def supervisors(self, org_path: str) -> list[str]:
        """The street's supervisors over `org_path` and the administrators covering it."""
        found = {u for role in (*SUPERVISOR_ROLES, "admin")
                 for u, path in self._by_role.get(role, ()) if org_path.startswith(path)}
        return sorted(found)

    def admins(self, org_path: str) -> list[str]:
        return sorted(u for u, path in self._by_role.get("admin", ()) if org_path.startswith(path))


def active_users(session: Session, usernames: Iterable[str]) -> list[str]:
    names = {u for u in usernames if isinstance(u, str) and u}
    if not names:
        return []
    return sorted(session.scalars(select(User.username).where(User.username.in_(names), User.active.is_(True))))
