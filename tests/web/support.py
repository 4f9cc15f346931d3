"""Helpers of the web tests: a database with demo users (password = the demo password), the
sample processes deployed, and logged-in test clients."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import update

from engine import demo
from engine.db.models import User

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
WEB_BPMN = HERE / "fixtures" / "bpmn"
WEB_FORMS = HERE / "fixtures" / "forms"
SAMPLE_BPMN = FIXTURES / "bpmn"
SAMPLE_FORMS = FIXTURES / "forms"
USERNAMES = [u[0] for u in demo.USERS]
CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@lru_cache(maxsize=1)
def demo_hash() -> str:
    from engine.orgs import hash_password

    return hash_password(demo.DEMO_PASSWORD)


def seed_demo(rt) -> None:
    """Demo organisation and users; one argon2 hash shared by all (hashing is slow on purpose)."""
    with rt.uow() as s:
        demo.seed(s, rt.now(), password=None)
        s.execute(update(User).values(password_hash=demo_hash()))


def deploy_test_processes(rt) -> None:
    from engine.runtime.service import deploy

    deploy(rt, [SAMPLE_BPMN], SAMPLE_FORMS)
    deploy(rt, [WEB_BPMN], WEB_FORMS)


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "page has no CSRF token"
    return m.group(1)


def login(client: TestClient, username: str, password: str = demo.DEMO_PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
                       follow_redirects=False)


def logged_in(app, username: str) -> TestClient:
    client = TestClient(app)
    r = login(client, username)
    assert r.status_code == 303, r.text[:500]
    return client


def page_csrf(client: TestClient, path: str = "/cases") -> str:
    return csrf_of(client.get(path).text)
