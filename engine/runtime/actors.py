"""Who is acting: a user's role and jurisdiction (an organisation path prefix), or the system."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import User

from .errors import NotFound
from .roles import READ_ONLY_ROLES


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    jurisdiction_path: str  # "" = everywhere
    display_name: str = ""
    user_id: int | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(name, "system", "", "系统")

    @property
    def is_system(self) -> bool:
        return self.role == "system"

    @property
    def is_admin(self) -> bool:
        """The system, or an administrator (of any reach: see `covers_all`)."""
        return self.is_system or self.role == "admin"

    @property
    def covers_all(self) -> bool:
        """The system, or an administrator whose jurisdiction is everywhere."""
        return self.is_admin and self.jurisdiction_path == ""

    @property
    def read_only(self) -> bool:
        return self.role in READ_ONLY_ROLES

    def covers(self, org_path: str) -> bool:
        """Is `org_path` (a case's or compound's path) inside this actor's jurisdiction?"""
        return org_path.startswith(self.jurisdiction_path)


def actor_from_user(user: User) -> Actor:
    path = user.jurisdiction.path if user.jurisdiction is not None else ""
    return Actor(user.username, user.role, path, user.display_name, user.id)


def load_actor(session: Session, username: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise NotFound(f"unknown or inactive user {username!r}", f"用户 {username!r} 不存在或已停用")
    return actor_from_user(user)
