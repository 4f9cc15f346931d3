"""Sessions, CSRF tokens, login with lockout.

The session lives in one signed cookie (HttpOnly, SameSite=Lax): a random session id and the
user id. The CSRF token of a session is an HMAC of its id, so it needs no server-side storage and
changes with every login. Every page request re-reads the user row, so a deactivated or locked
account stops working at once.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from engine import audit
from engine.db.models import User
from engine.orgs import verify_password
from engine.runtime.actors import Actor, actor_from_user

COOKIE = "hongwu_session"
SESSION_MAX_AGE = 12 * 3600  # one working day; then log in again
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


@dataclass
class SessionData:
    sid: str
    uid: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"sid": self.sid, "uid": self.uid}


class SessionCodec:
    """Signs and reads the session cookie with the app's secret key."""

    def __init__(self, secret_key: str):
        if not secret_key:
            raise ValueError("settings.secret_key is empty: sessions cannot be signed")
        self._secret = secret_key.encode("utf-8")
        self._serializer = URLSafeTimedSerializer(secret_key, salt="hongwu-session")

    def new(self, uid: int | None = None) -> SessionData:
        return SessionData(secrets.token_urlsafe(18), uid)

    def dumps(self, data: SessionData) -> str:
        return self._serializer.dumps(data.as_dict())

    def loads(self, raw: str | None) -> SessionData | None:
        if not raw:
            return None
        try:
            d = self._serializer.loads(raw, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(d, dict) or not isinstance(d.get("sid"), str):
            return None
        uid = d.get("uid")
        return SessionData(d["sid"], uid if isinstance(uid, int) else None)

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self._secret, f"csrf:{sid}".encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, sid: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(sid), str(token))


class LoginFailed(Exception):
    """Wrong name or password, or a locked / inactive account (the message says which it may tell)."""

    def __init__(self, message_zh: str, message: str):
        super().__init__(message)
        self.message_zh = message_zh
        self.message = message


def authenticate(session: Session, username: str, password: str, now: datetime) -> User:
    """Check a password; count failures and lock the account for a while after too many.
    Unknown names and wrong passwords get the same answer."""
    user = session.scalar(select(User).options(joinedload(User.jurisdiction))
                          .where(User.username == username.strip()))
    generic = LoginFailed("用户名或密码错误", "wrong username or password")
    if user is None or not user.active:
        raise generic
    if user.locked_until is not None and user.locked_until > now:
        audit.append(session, chain=f"user:{user.username}", actor=user.username, action="login_refused_locked",
                     detail={"locked_until": user.locked_until.isoformat()}, now=now)
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise LoginFailed(f"登录失败次数过多，账号已锁定，请约 {minutes} 分钟后再试",
                          f"too many failed logins: account locked for about {minutes} more minute(s)")
    if not verify_password(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        detail: dict[str, Any] = {"failed_logins": user.failed_logins}
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            detail["locked_until"] = user.locked_until.isoformat()
        audit.append(session, chain=f"user:{user.username}", actor=user.username, action="login_failed",
                     detail=detail, now=now)
        if "locked_until" in detail:
            raise LoginFailed(f"连续 {MAX_FAILED_LOGINS} 次密码错误，账号已锁定 {int(LOCKOUT.total_seconds() // 60)} 分钟",
                              f"{MAX_FAILED_LOGINS} failed logins in a row: account locked "
                              f"for {int(LOCKOUT.total_seconds() // 60)} minutes")
        raise generic
    user.failed_logins = 0
    user.locked_until = None
    audit.append(session, chain=f"user:{user.username}", actor=user.username, action="login", now=now)
    return user


def load_session_user(session: Session, uid: int) -> tuple[User, Actor] | None:
    user = session.scalar(select(User).options(joinedload(User.jurisdiction)).where(User.id == uid))
    if user is None or not user.active:
        return None
    return user, actor_from_user(user)
