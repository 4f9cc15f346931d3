"""Who is told: a role's pool in a jurisdiction, the street's supervisors, administrators.
The same jurisdiction rule as Actor.covers: a user's organisation path is a prefix of the case's
("" = everywhere). Only active users."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import OrgUnit, User

# Those who answer for every step in a street: its staff and its party working committee.
SUPERVISOR_ROLES = ("street_staff", "street_party_committee")


def _holders(session: Session, roles: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """{role: [(username, jurisdiction path)]} of the active users of `roles`."""
    rows = session.execute(select(User.role, User.username, OrgUnit.path)
                           .outerjoin(OrgUnit, OrgUnit.id == User.jurisdiction_id)
                           .where(User.active.is_(True), User.role.in_(set(roles)))).all()
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for role, username, path in rows:
        found[role].append((username, path or ""))
    return found


class Directory:
    """Users of some roles, read once for one save (which may ready several steps)."""

    def __init__(self, session: Session, roles: Iterable[str]):
        self._by_role = _holders(session, set(roles) | set(SUPERVISOR_ROLES) | {"admin"})

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
