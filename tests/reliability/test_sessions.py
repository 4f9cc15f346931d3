"""Sessions you can end (issue 13, item 5): logout, password change, an administrator's reset,
deactivation or 下线 end every session of the user; the old cookie gets 401 and starts nothing."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from engine.db.models import AuditEvent, Case
from tests.reliability.conftest import api_login
from tests.web.support import logged_in, page_csrf

START = {"process_key": "sample_review", "compound_code": "PK-JP-XC-01"}


def _api_session(app, username="street"):
    c = TestClient(app)
    r = api_login(c, username)
    assert r.status_code == 200, r.text
    return c, r.json()["csrf_token"]


def _refused_everywhere(app, client, csrf, web_rt):
    """The old cookie: 401 on /api/me, no case started, the pages send it to the login page."""
    assert client.get("/api/me").status_code == 401
    with web_rt.uow() as s:
        before = s.scalar(select(Case.id).order_by(Case.id.desc()).limit(1))
    r = client.post("/api/cases", json=START, headers={"X-CSRF-Token": csrf})
    assert r.status_code in (401, 403), r.text
    with web_rt.uow() as s:
        assert s.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) == before
    assert client.get("/inbox", follow_redirects=False).headers["location"].startswith("/login")


def test_logout_ends_every_session_of_the_user(app, web_rt):
    phone, phone_csrf = _api_session(app)
    desk, desk_csrf = _api_session(app)
    stolen = TestClient(app, cookies=dict(desk.cookies))  # a copy of the desk's cookie
    assert stolen.get("/api/me").status_code == 200
    assert desk.delete("/api/session", headers={"X-CSRF-Token": desk_csrf}).status_code == 204
    for client, csrf in ((desk, desk_csrf), (stolen, desk_csrf), (phone, phone_csrf)):
        _refused_everywhere(app, client, csrf, web_rt)
    with web_rt.uow() as s:
        assert "logout" in s.scalars(select(AuditEvent.action).where(AuditEvent.chain == "user:street")).all()
    again, csrf = _api_session(app)  # logging in again works
    assert again.post("/api/cases", json=START, headers={"X-CSRF-Token": csrf}).status_code == 201


def test_page_logout_ends_the_api_sessions_too(app, web_rt):
    api, csrf = _api_session(app)
    page = logged_in(app, "street")
    r = page.post("/logout", data={"csrf_token": page_csrf(page, "/inbox")}, follow_redirects=False)
    assert r.status_code == 303
    _refused_everywhere(app, api, csrf, web_rt)


def test_password_change_ends_other_sessions_and_keeps_this_one(app, web_rt):
    other, other_csrf = _api_session(app)
    me, csrf = _api_session(app)
    r = me.post("/api/me/password", json={"current_password": "wrong-one", "new_password": "n3w-passw0rd"},
                headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and r.json()["message_zh"] == "原密码错误"
    assert other.get("/api/me").status_code == 200  # a refused change ends nothing
    r = me.post("/api/me/password", json={"current_password": "hongwu-demo", "new_password": "n3w-passw0rd"},
                headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    new_csrf = r.json()["csrf_token"]
    assert me.get("/api/me").status_code == 200
    assert me.post("/api/cases", json=START, headers={"X-CSRF-Token": new_csrf}).status_code == 201
    _refused_everywhere(app, other, other_csrf, web_rt)
    assert api_login(TestClient(app), "street").status_code == 401
    assert api_login(TestClient(app), "street", "n3w-passw0rd").status_code == 200


@pytest.mark.parametrize("change", ["password", "deactivate", "signout"])
def test_an_administrator_ends_a_users_sessions(app, web_rt, change):
    victim, csrf = _api_session(app, "street")
    admin = logged_in(app, "admin")
    form = {"role": "street_staff", "jurisdiction": "PK-JP", "active": "1",
            "csrf_token": page_csrf(admin, "/admin/users")}
    if change == "password":
        form["password"] = "reset-by-admin-1"
    elif change == "deactivate":
        del form["active"]
    else:
        form["signout"] = "1"
    r = admin.post("/admin/users/street", data=form)
    assert r.status_code == 200 and "已更新用户" in r.text
    _refused_everywhere(app, victim, csrf, web_rt)
    with web_rt.uow() as s:
        changed = s.scalars(select(AuditEvent.detail).where(AuditEvent.chain == "user:street",
                                                            AuditEvent.action == "user_changed")).all()
    assert '"sessions_ended":true' in changed[-1]
    if change == "signout":  # 下线 is not a lockout: the user may log in again at once
        assert api_login(TestClient(app), "street").status_code == 200


def test_an_admin_change_without_reset_keeps_the_session(app, web_rt):
    user, _csrf = _api_session(app, "street")
    admin = logged_in(app, "admin")
    r = admin.post("/admin/users/street", data={"role": "street_staff", "jurisdiction": "PK-JP", "active": "1",
                                                "csrf_token": page_csrf(admin, "/admin/users")})
    assert r.status_code == 200
    assert user.get("/api/me").status_code == 200


def test_a_forged_or_old_style_cookie_is_not_a_session(app):
    c = TestClient(app)
    codec = app.state.session_codec
    old_style = codec._serializer.dumps({"sid": "x" * 24, "uid": 1})  # no session version
    c.cookies.set("hongwu_session", old_style)
    assert c.get("/api/me").status_code == 401
    c.cookies.set("hongwu_session", codec._serializer.dumps({"sid": "x" * 24, "uid": 1, "sv": 99}))
    assert c.get("/api/me").status_code == 401
