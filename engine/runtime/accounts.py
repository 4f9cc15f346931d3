"""Accounts as an application service: logging in under throttles, changing a password, ending a
user's sessions, and finding the user behind a session — each in its own unit of work with its
audit event, so the web pages, the API and the CLI follow the same rules.

Failed logins are counted atomically per account and per client address; past a small allowance
each failure makes the next attempt wait a little longer (1 s, 2 s, 4 s … up to a cap), so
guessing is slow and nobody can lock a colleague out for long.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from engine import audit
from engine.db.models import LoginThrottle, User
from engine.orgs import hash_password, needs_rehash, verify_password

from .actors import Actor, actor_from_user
from .errors import ValidationFailed

MIN_PASSWORD = 8
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
    from .retries import with_retries

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
    maker = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    stale = now - ADDRESS_MEMORY
    t = cast(Table, LoginThrottle.__table__)
    stmt = maker(t).values(address=address, failures=1, last_failure_at=now).on_conflict_do_update(
        index_elements=[t.c.address], set_={
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


def session_user(rt: Any, uid: int, version: int) -> tuple[User, Actor] | None:
    """The active user a session belongs to (with their jurisdiction), None when it has ended."""
    with rt.uow() as s:
        return load_session_user(s, uid, version)


def _own_id(actor: Actor) -> int:
    """The account behind a person's actor (system actors have none and own no sessions)."""
    if actor.user_id is None:
        raise ValidationFailed(f"{actor.username} has no account", f"{actor.username} 不是用户账号")
    return actor.user_id


def logout(rt: Any, actor: Actor, username: str, action: str = "logout") -> None:
    """End every session of the user (all their cookies), recorded in their chain."""
    with rt.uow() as s:
        end_sessions(s, _own_id(actor))  # locks the user row before their chain is appended to
        audit.append(s, chain=f"user:{username}", actor=username, action=action, now=rt.now())


def change_password(rt: Any, actor: Actor, username: str, current: str, new: str) -> User:
    """Change one's own password: the current one must match; every other session ends."""
    user_id = _own_id(actor)
    with rt.uow() as s:
        stored = s.scalar(select(User.password_hash).where(User.id == user_id))
    # The slow checks run with no database connection held.
    if not verify_password(stored, current):
        raise ValidationFailed("the current password is wrong", "原密码错误")
    if len(new) < MIN_PASSWORD:
        raise ValidationFailed(f"password: at least {MIN_PASSWORD} characters", f"密码至少 {MIN_PASSWORD} 位")
    new_hash = hash_password(new)
    with rt.uow() as s:
        end_sessions(s, user_id)
        user = s.scalar(select(User).options(joinedload(User.jurisdiction)).where(User.id == user_id))
        user.password_hash = new_hash
        audit.append(s, chain=f"user:{username}", actor=username, action="password_changed", now=rt.now())
    return user


def active_password_hashes(rt: Any, usernames: list[str]) -> dict[str, str | None]:
    """Password hashes of those of `usernames` that are active accounts."""
    with rt.uow() as s:
        return dict(s.execute(select(User.username, User.password_hash)
                              .where(User.username.in_(usernames), User.active.is_(True))).all())


def database_answers(rt: Any) -> None:
    """Raise unless the database answers a trivial query (the health check)."""
    with rt.uow() as s:
        s.execute(text("SELECT 1"))


# --- administrators' changes to accounts ------------------------------------------------------

USERNAME = r"[A-Za-z0-9_.-]{2,64}"


def _require_admin(actor: Actor) -> None:
    from .errors import Forbidden

    if not actor.is_admin:
        raise Forbidden(f"{actor.username} may not manage accounts", "仅系统管理员可以管理用户")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"password: at least {MIN_PASSWORD} characters", f"密码至少 {MIN_PASSWORD} 位")


def create_user(rt: Any, actor: Actor, username: str, display_name: str, role: str, jurisdiction: str | None,
                password: str) -> None:
    """A new account, audited on the user's chain."""
    import re

    from engine.orgs import ensure_user

    _require_admin(actor)
    username, display_name = username.strip(), display_name.strip()
    if not re.fullmatch(USERNAME, username):
        raise ValidationFailed("username: 2–64 letters, digits, _ . -", "用户名须为 2–64 位字母、数字或 _ . -")
    if not display_name:
        raise ValidationFailed("display name is required", "姓名为必填项")
    _check_password(password)
    with rt.uow() as s:
        if s.scalar(select(User.id).where(User.username == username)) is not None:
            raise ValidationFailed(f"user {username!r} exists", f"用户名「{username}」已存在")
        ensure_user(s, username, display_name, role, jurisdiction or None, password, rt.now())
        audit.append(s, chain=f"user:{username}", actor=actor.username, action="user_created",
                     after={"role": role, "jurisdiction": jurisdiction or None}, now=rt.now())


def change_user(rt: Any, actor: Actor, username: str, *, role: str, jurisdiction: str | None, active: bool,
                unlock: bool = False, password: str = "", sign_out: bool = False) -> None:
    """Change a user's role, jurisdiction or state; a reset password, a deactivation or 下线 ends
    every session the user has open. Administrators cannot remove their own rights."""
    from engine.orgs import org_by_code

    from .roles import ROLES

    _require_admin(actor)
    with rt.uow() as s:
        user = s.scalar(select(User).options(joinedload(User.jurisdiction)).where(User.username == username))
        if user is None:
            raise ValidationFailed(f"unknown user {username!r}", f"用户「{username}」不存在")
        before = {"role": user.role, "jurisdiction": user.jurisdiction.code if user.jurisdiction else None,
                  "active": user.active}
        if role not in ROLES:
            raise ValidationFailed(f"unknown role {role!r}", f"角色「{role}」无效")
        if username == actor.username and (role != "admin" or not active):
            raise ValidationFailed("you cannot remove your own administrator rights",
                                   "不能取消自己的管理员权限或停用自己")
        user.role = role
        user.jurisdiction_id = org_by_code(s, jurisdiction).id if jurisdiction else None
        user.active = active
        if unlock:
            user.failed_logins, user.locked_until = 0, None
        if password:
            _check_password(password)
            user.password_hash = hash_password(password)
        after = {"role": role, "jurisdiction": jurisdiction or None, "active": active}
        sessions_ended = bool(sign_out or password or (before["active"] and not active))
        s.flush()
        if sessions_ended:
            end_sessions(s, user.id)
        else:
            lock_user(s, user.id)  # the user's chain: queue behind a login being recorded
        audit.append(s, chain=f"user:{username}", actor=actor.username, action="user_changed", before=before,
                     after=after, detail={"unlocked": unlock, "password_reset": bool(password),
                                          "sessions_ended": sessions_ended}, now=rt.now())


def fill_staffing_gap(rt: Any, admin_username: str, role: str, org_code: str, *, username: str,
                      display_name: str = "", password: str = "", existing: bool = False) -> str:
    """One step from the admin's gap list: create the missing user of `role` at `org_code`, or
    place an existing one there; audited on the user's chain. Returns the username."""
    from .staffing import fill_gap

    with rt.uow() as s:
        return fill_gap(s, admin_username, role, org_code, rt.now(), username=username,
                        display_name=display_name, password=password, existing=existing)
