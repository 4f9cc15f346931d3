"""The notification centre, its badge, the settings page and /api/notifications: a user sees and
marks only their own notifications, bad input changes nothing, writes need the CSRF token."""
import re

from fastapi.testclient import TestClient

from tests.engine.support import apply_data
from tests.web.support import csrf_of, logged_in


def _review_for_cparty(rt):
    from engine.runtime.actors import load_actor

    with rt.uow() as s:
        street = load_actor(s, "street")
    case = rt.start_case("sample_review", "PK-JP-XC-01", street)
    return rt.complete_task(case.tasks[0]["id"], street, apply_data(amount=5000, days=7))


def _badge(html: str) -> str | None:
    m = re.search(r'id="notification-count">([^<]+)<', html)
    return m.group(1) if m else None


def test_badge_centre_and_mark_read(app, web_rt):
    case = _review_for_cparty(web_rt)
    c = logged_in(app, "cparty")
    home = c.get("/inbox").text
    assert _badge(home) == "1" and 'href="/notifications"' in home
    page = c.get("/notifications").text
    assert f"新待办：{case.case_number} 党组织审查" in page and "未读" in page
    nid = re.search(r'name="id" value="(\d+)"', page).group(1)
    # Someone else cannot mark it, through the page or the API.
    other = logged_in(app, "street")
    token = csrf_of(other.get("/notifications").text)
    assert other.post("/notifications/read", data={"id": nid, "csrf_token": token}).status_code == 404
    assert _badge(c.get("/notifications").text) == "1"
    # No CSRF token: refused.
    assert c.post("/notifications/read", data={"id": nid}).status_code == 403
    r = c.post("/notifications/read", data={"id": nid, "csrf_token": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303
    after = c.get(r.headers["location"]).text
    assert _badge(after) is None and "已标为已读" in after and "没有未读通知" in c.get("/notifications?state=unread").text
    assert c.post("/notifications/read", data={"id": "abc", "csrf_token": csrf_of(page)}).status_code == 422


def test_api_lists_and_marks_read(app, web_rt):
    _review_for_cparty(web_rt)
    c = TestClient(app)
    assert c.get("/api/notifications").status_code == 401
    s = c.post("/api/session", json={"username": "cparty", "password": "hongwu-demo"}).json()
    headers = {"X-CSRF-Token": s["csrf_token"]}
    body = c.get("/api/notifications").json()
    assert body["unread"] == 1 and body["items"][0]["kind"] == "task_ready" and body["items"][0]["kind_zh"] == "新待办"
    nid = body["items"][0]["id"]
    assert c.post("/api/notifications/read", json={"ids": [nid]}).status_code == 403  # no CSRF header
    for bad in ({}, {"ids": [nid], "all": True}, {"ids": ["x"]}, {"ids": list(range(501))}):
        r = c.post("/api/notifications/read", json=bad, headers=headers)
        assert r.status_code == 422 and r.json()["message_zh"], bad
    assert c.post("/api/notifications/read", json={"ids": [nid + 1000]}, headers=headers).json()["message_zh"].startswith("通知不存在")
    assert c.get("/api/notifications?unread=true").json()["unread"] == 1
    r = c.post("/api/notifications/read", json={"ids": [nid]}, headers=headers)
    assert r.status_code == 200 and r.json() == {"read": 1, "unread": 0}
    assert c.get("/api/notifications?unread=true").json()["items"] == []


def test_settings_page_saves_and_refuses_bad_email(app, web_rt):
    c = logged_in(app, "street")
    page = c.get("/notifications/settings").text
    assert "接收哪些通知" in page and "每日摘要" in page
    token = csrf_of(page)
    kinds = ["task_ready", "task_overdue"]
    bad = c.post("/notifications/settings", data={"csrf_token": token, "kind": kinds, "email": "不是邮箱",
                                                  "email_each": "1"})
    assert bad.status_code == 422 and "电子邮箱格式不正确" in bad.text and 'value="不是邮箱"' in bad.text
    assert 'value=""' in c.get("/notifications/settings").text.split('name="email"')[1][:40]  # nothing saved
    ok = c.post("/notifications/settings", data={"csrf_token": token, "kind": kinds, "email": "wang@example.cn",
                                                 "email_each": "1", "daily_digest": "1"}, follow_redirects=False)
    assert ok.status_code == 303
    page = c.get(ok.headers["location"]).text
    assert "通知设置已保存" in page and 'value="wang@example.cn"' in page
    assert 'value="task_ready" checked' in page and 'value="task_due_soon" checked' not in page
