"""argon2 parameters (issue 17, HTTP under load): new hashes use OWASP's minimum (m=19 MiB, t=2,
p=1); a hash made with other parameters is replaced at the next successful login — and only
then, only over the hash that was checked, with the login event saying so."""
from __future__ import annotations

import json

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type
from sqlalchemy import select, update

from engine import audit
from engine.db.models import User
from engine.orgs import hash_password, needs_rehash, verify_password
from engine.runtime.accounts import LoginFailed, login

OLD = PasswordHasher()  # the library default the accounts were hashed with before: 64 MiB, t=3, p=4
PASSWORD = "right-passw0rd"


def _params(password_hash: str) -> tuple[int, int, int]:
    from argon2 import extract_parameters

    p = extract_parameters(password_hash)
    assert p.type is Type.ID
    return p.memory_cost, p.time_cost, p.parallelism


def _hash_of(rt, username: str) -> str:
    with rt.uow() as s:
        return s.scalar(select(User.password_hash).where(User.username == username))


def _login_details(rt, username: str) -> list[dict]:
    with rt.uow() as s:
        return [json.loads(e.detail) for e in audit.chain_events(s, f"user:{username}") if e.action == "login"]


def test_new_hashes_use_owasp_minimum_and_still_verify():
    h = hash_password(PASSWORD)
    assert _params(h) == (19 * 1024, 2, 1)
    assert verify_password(h, PASSWORD) and not verify_password(h, PASSWORD + "x")
    assert not needs_rehash(h)
    assert needs_rehash(OLD.hash(PASSWORD))
    assert not needs_rehash(None) and not needs_rehash("") and not needs_rehash("not-a-hash")


@pytest.fixture
def old_hashes(runtime):
    with runtime.uow() as s:
        s.execute(update(User).values(password_hash=OLD.hash(PASSWORD)))
    return runtime


def test_login_replaces_an_old_hash_once(old_hashes):
    rt = old_hashes
    old = _hash_of(rt, "street")
    login(rt, "street", PASSWORD, "10.0.0.1")
    new = _hash_of(rt, "street")
    assert new != old and _params(new) == (19 * 1024, 2, 1) and verify_password(new, PASSWORD)
    login(rt, "street", PASSWORD, "10.0.0.1")
    assert _hash_of(rt, "street") == new  # already current: left alone
    assert [d.get("password_rehashed") for d in _login_details(rt, "street")] == [True, None]
    with rt.uow() as s:
        assert audit.verify(s, "user:street")[0].ok


def test_wrong_password_keeps_the_old_hash(old_hashes):
    rt = old_hashes
    old = _hash_of(rt, "community")
    with pytest.raises(LoginFailed):
        login(rt, "community", PASSWORD + "x", "10.0.0.2")
    assert _hash_of(rt, "community") == old
    assert _login_details(rt, "community") == []


def test_password_changed_meanwhile_is_not_overwritten(old_hashes, monkeypatch):
    """The rehash is written only over the hash that was checked: a password changed between the
    check and the write (another session, an administrator) stays changed."""
    from engine.runtime import accounts as security

    rt = old_hashes
    changed = hash_password("a-new-passw0rd")
    real = security.hash_password

    def change_meanwhile(password: str) -> str:
        with rt.uow() as s:
            s.execute(update(User).where(User.username == "branch").values(password_hash=changed))
        return real(password)

    monkeypatch.setattr(security, "hash_password", change_meanwhile)
    login(rt, "branch", PASSWORD, "10.0.0.3")
    assert _hash_of(rt, "branch") == changed
    assert _login_details(rt, "branch")[-1].get("password_rehashed") is None
