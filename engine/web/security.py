"""Sessions, CSRF tokens, login with throttling.

The session lives in one signed cookie (HttpOnly, SameSite=Lax): a random session id, the user id
and the user's session version. Raising the version (logout, password change or reset,
deactivation, an administrator's 下线) ends every session of that user at once. The CSRF token of
a session is an HMAC of its id, so it needs no server-side storage and changes with every login.
Every request re-reads the user row, so a deactivated account stops working at once.

Failed logins are counted atomically per account and per client address; past a small allowance
each failure makes the next attempt wait a little longer (1 s, 2 s, 4 s … up to a cap), so
guessing is slow and nobody can lock a colleague out for long.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from engine import audit
from engine.db.models import LoginThrottle, User
from engine.orgs import hash_password, needs_rehash, verify_password
from engine.runtime.actors import Actor, actor_from_user

COOKIE = "hongwu_session"
SESSION_MAX_AGE = 12 * 3600  # one working day; then log in again
ACCOUNT_FREE_FAILURES = 5  # wrong passwords in a row before an account's attempts are spaced out
ACCOUNT_MAX_DELAY = timedelta(minutes=2)  # short: a stranger's guesses barely delay the owner
ADDRESS_FREE_FAILURES = 20  # per client address (an office behind one address makes typos)
ADDRESS_MAX_DELAY = timedelta(minutes=15)
ADDRESS_MEMORY = timedelta(hours=1)  # an address quiet this long starts afresh


def throttle_delay(failures: int, free: int, cap: timedelta) -> timedelta:
    """How long the next attempt must wait after `failures` failures in a row: nothing within
    the allowance `free`, then 1 s, doubling with each further failure, never more than `cap`."""
    if failures <= free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - free - 1, 30)), cap)


@dataclass
class SessionData:
    sid: str
    uid: int | None = None
    version: int = 0  # the user's session version when the session began

    def as_dict(self) -> dict[str, Any]:
        return {"sid": self.sid, "uid": self.uid, "sv": self.version}


class SessionCodec:
    """Signs and reads the session cookie with the app's secret key."""

    def __init__(self, secret_key: str):
        if not secret_key:
            raise ValueError("settings.secret_key is empty: sessions cannot be signed")
        self._secret = secret_key.encode("utf-8")
        self._serializer = URLSafeTimedSerializer(secret_key, salt="hongwu-session")

    def new(self, uid: int | None = None, version: int = 0) -> SessionData:
        return SessionData(secrets.token_urlsafe(18), uid, version)

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
        uid, version = d.get("uid"), d.get("sv")
        if not isinstance(uid, int) or not isinstance(version, int):
            return SessionData(d["sid"])  # a cookie from before session versions: logged out
        return SessionData(d["sid"], uid, version)

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self._secret, f"csrf:{sid}".encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, sid: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(sid), str(token))


class LoginFailed(Exception):
    """Wrong name or password, or an inactive account (all answered alike), or too many failures
    (`retry_after` seconds to wait, answered 429)."""

    def __init__(self, message_zh: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.message_zh = message_zh
        self.message = message
        self.retry_after = retry_after


def _wait_error(until: datetime, now: datetime) -> LoginFailed:
    seconds = max(1, int((until - now).total_seconds() + 0.999))
    when = f"{seconds} 秒" if seconds < 120 else f"{(seconds + 59) // 60} 分钟"
    return LoginFailed(f"登录失败次数过多，请 {when}后再试", f"too many failed logins: try again in {seconds}s",
                       retry_after=seconds)


def login(runtime, username: str, password: str, address: str | None) -> User:
    """Check a password under the throttles; record the outcome. Returns the user (with their
    jurisdiction and session version loaded) or raises LoginFailed.

    The slow password check runs outside any transaction; the outcome is then written in a short
    one that first updates the user row — a row lock on PostgreSQL, the write lock on SQLite — so
    failure counts add up exactly and the events of the user's chain are appended one at a time."""
    from engine.runtime.service import with_retries

    now = runtime.now()
    username = username.strip()
    address = (address or "unknown")[:64]
    generic = LoginFailed("用户名或密码错误", "wrong username or password")
    with runtime.uow() as s:
        user = s.scalar(select(User).options(joinedload(User.jurisdiction)).where(User.username == username))
        blocked = s.scalar(select(LoginThrottle.blocked_until).where(LoginThrottle.address == address))
    if blocked is not None and blocked > now:
        raise _wait_error(blocked, now)
    if user is None or not user.active:
        with_retries(_count_address_failure, runtime, address, now)
        raise generic
    if user.locked_until is not None and user.locked_until > now:
        with_retries(_record_user_event, runtime, user, "login_refused_throttled", now,
                     {"until": user.locked_until.isoformat(), "address": address})
        raise _wait_error(user.locked_until, now)
    if verify_password(user.password_hash, password):
        # A hash made with older argon2 parameters is replaced now, while the password is known;
        # the new hash is computed here, outside the transaction, like the check itself.
        rehashed = hash_password(password) if needs_rehash(user.password_hash) else None
        user.session_version = with_retries(_record_success, runtime, user, address, now, rehashed)
        return user
    until = with_retries(_record_failure, runtime, user, address, now)
    if until is not None:
        raise _wait_error(until, now)
    raise generic


def _record_success(runtime, user: User, address: str, now: datetime, rehashed: str | None = None) -> int:
    with runtime.uow() as s:
        version = s.execute(update(User).where(User.id == user.id).values(failed_logins=0, locked_until=None)
                            .returning(User.session_version)).scalar_one()
        detail: dict[str, Any] = {"address": address}
        if rehashed is not None:
            # Only over the hash that was checked: a password changed meanwhile stays changed.
            done = s.execute(update(User).where(User.id == user.id, User.password_hash == user.password_hash)
                             .values(password_hash=rehashed)).rowcount
            if done:
                detail["password_rehashed"] = True
        audit.append(s, chain=f"user:{user.username}", actor=user.username, action="login",
                     detail=detail, now=now)
        return version


def _record_failure(runtime, user: User, address: str, now: datetime) -> datetime | None:
    """Count the failure for the account and the address; returns until when attempts must wait."""
    with runtime.uow() as s:
        failures = s.execute(update(User).where(User.id == user.id)
                             .values(failed_logins=User.failed_logins + 1)
                             .returning(User.failed_logins)).scalar_one()
        delay = throttle_delay(failures, ACCOUNT_FREE_FAILURES, ACCOUNT_MAX_DELAY)
        until = now + delay if delay else None
        if until is not None:
            s.execute(update(User).where(User.id == user.id).values(locked_until=until))
        address_until = _count_failure(s, address, now)
        detail: dict[str, Any] = {"failed_logins": failures, "address": address}
        if until is not None:
            detail["next_attempt_after"] = until.isoformat()
        audit.append(s, chain=f"user:{user.username}", actor=user.username, action="login_failed",
                     detail=detail, now=now)
    waits = [t for t in (until, address_until) if t is not None]
    return max(waits) if waits else None


def lock_user(s: Session, user_id: int) -> None:
    """Take the user's row lock (the write lock on SQLite) before appending to their chain, so
    that two writers of the chain queue instead of racing for the same position."""
    s.execute(update(User).where(User.id == user_id).values(failed_logins=User.failed_logins))


def _record_user_event(runtime, user: User, action: str, now: datetime, detail: dict) -> None:
    with runtime.uow() as s:
        lock_user(s, user.id)
        audit.append(s, chain=f"user:{user.username}", actor=user.username, action=action, detail=detail, now=now)


def _count_address_failure(runtime, address: str, now: datetime) -> None:
    with runtime.uow() as s:
        _count_failure(s, address, now)


def _count_failure(s: Session, address: str, now: datetime) -> datetime | None:
    """One more failure from `address` (an atomic upsert); returns until when it must wait."""
    if s.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stale = now - ADDRESS_MEMORY
    t = LoginThrottle.__table__
    stmt = insert(t).values(address=address, failures=1, last_failure_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=[t.c.address], set_={
        # An address quiet for ADDRESS_MEMORY starts afresh.
        "failures": _case_stale(t, stale, 1, t.c.failures + 1), "last_failure_at": now,
    }).returning(t.c.failures)
    failures = s.execute(stmt).scalar_one()
    delay = throttle_delay(failures, ADDRESS_FREE_FAILURES, ADDRESS_MAX_DELAY)
    if not delay:
        return None
    s.execute(update(LoginThrottle).where(LoginThrottle.address == address).values(blocked_until=now + delay))
    return now + delay


def _case_stale(t, stale: datetime, fresh, counted):
    from sqlalchemy import case

    return case((t.c.last_failure_at < stale, fresh), else_=counted)


def end_sessions(s: Session, user_id: int) -> int:
    """End every session of a user (their cookies stop working); returns the new version. The
    update also locks the user row, so the caller may append to the user's chain next."""
    return s.execute(update(User).where(User.id == user_id).values(session_version=User.session_version + 1)
                     .returning(User.session_version)).scalar_one()


def load_session_user(session: Session, uid: int, version: int) -> tuple[User, Actor] | None:
    user = session.scalar(select(User).options(joinedload(User.jurisdiction)).where(User.id == uid))
    if user is None or not user.active or user.session_version != version:
        return None
    return user, actor_from_user(user)
