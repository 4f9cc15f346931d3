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
# argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane) rather than the library's default (64 MiB,
# 3 passes, 4 lanes): about a sixth of the CPU per check, so a whole office logging in at the start
# of the day does not queue behind itself on a small server (bench/http.py). Hashes made with other
# parameters are replaced at the next successful login (see `needs_rehash`).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def needs_rehash(password_hash: str | None) -> bool:
    """Was this hash made with other argon2 parameters than today's (or is it not argon2 at all)?"""
    if not password_hash:
        return False
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):  # unreadable: verify_password refuses it anyway
        return False


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
