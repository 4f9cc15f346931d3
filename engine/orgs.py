"""Organisation hierarchy and user accounts (service functions over a session)."""
from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import ORG_KINDS, OrgUnit, User
from engine.runtime.errors import NotFound, ValidationFailed
from engine.runtime.roles import ROLES

PARENT_KIND = {"district": None, "street": "district", "community": "street", "compound": "community"}
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):  # a wrong password, or a stored hash that is not argon2
        return False


def org_by_code(session: Session, code: str) -> OrgUnit:
    org = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if org is None:
        raise NotFound(f"unknown organisation {code!r}", f"组织 {code!r} 不存在")
    return org


def ensure_org(session: Session, kind: str, code: str, name: str, parent_code: str | None = None) -> OrgUnit:
    """Create (or return the existing) organisation unit; its kind must fit under its parent."""
    if kind not in ORG_KINDS:
        raise ValidationFailed(f"unknown organisation kind {kind!r}", f"组织类型 {kind!r} 无效")
    existing = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if existing is not None:
        return existing
    parent = org_by_code(session, parent_code) if parent_code else None
    if (parent.kind if parent else None) != PARENT_KIND[kind]:
        raise ValidationFailed(f"a {kind} must sit under a {PARENT_KIND[kind]}",
                               f"{kind} 的上级必须是 {PARENT_KIND[kind]}")
    org = OrgUnit(kind=kind, code=code, name=name, parent_id=parent.id if parent else None,
                  path=(parent.path if parent else "") + code + "/")
    session.add(org)
    session.flush()
    return org


def ensure_user(session: Session, username: str, display_name: str, role: str, jurisdiction_code: str | None,
                password: str | None, now: datetime) -> User:
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r}", f"角色 {role!r} 无效")
    user = session.scalar(select(User).where(User.username == username))
    if user is not None:
        return user
    juris = org_by_code(session, jurisdiction_code) if jurisdiction_code else None
    user = User(username=username, display_name=display_name, role=role,
                jurisdiction_id=juris.id if juris else None,
                password_hash=hash_password(password) if password else None, active=True,
                failed_logins=0, created_at=now)
    session.add(user)
    session.flush()
    return user
