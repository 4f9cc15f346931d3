"""The training database on the web (SQLite and PostgreSQL): the 培训环境 banner on every page and
the administrator's 模拟时间前进 form; a database created without --training shows neither and
its clock address answers 404 to everyone."""
from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from engine.db.models import AuditEvent, Case
from tests.web.support import logged_in, page_csrf

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def election_case(web_rt):
    from engine.runtime.actors import load_actor
    from engine.runtime.service import deploy

    deploy(web_rt, [ROOT / "bpmn" / "committee_election.bpmn"], ROOT / "forms")

    def start() -> str:
        with web_rt.uow() as s:
            street = load_actor(s, "street")
        return web_rt.start_case("committee_election", "PK-JP-XC-01", street, {}).case_number
    return start


def offset(rt, number):
    with rt.uow() as s:
        return s.scalar(select(Case.clock_offset_days).where(Case.case_number == number))


def moves(rt):
    with rt.uow() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "training_clock_advanced")))


def test_production_database_has_no_banner_and_no_clock(app, web_rt, election_case):
    number = election_case()
    assert "培训环境" not in TestClient(app).get("/login").text
    for who in ("admin", "street", "auditor"):
        c = logged_in(app, who)
        page = c.get(f"/cases/{number}")
        assert "培训环境" not in page.text and "模拟时间前进" not in page.text
        token = page_csrf(c)
        r = c.post(f"/cases/{number}/training-clock", data={"days": "30", "reason": "跳过", "csrf_token": token},
                   follow_redirects=False)
        assert r.status_code == 404 and "您要找的页面不存在" in r.text
        assert c.post(f"/cases/{number}/training-clock", data={"days": "30"}).status_code == 404  # no token either
        r = c.post(f"/api/cases/{number}/training-clock", json={"days": 30, "reason": "跳过"},
                   headers={"X-CSRF-Token": token})
        assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert offset(web_rt, number) == 0 and moves(web_rt) == []


def test_training_banner_and_clock_form(app, web_rt, election_case):
    from engine.runtime.actors import Actor

    web_rt.mark_training(Actor.system("init"))
    number = election_case()
    assert "培训环境" in TestClient(app).get("/login").text
    street = logged_in(app, "street")
    page = street.get(f"/cases/{number}")
    assert 'id="training-banner"' in page.text and 'id="training-clock"' not in page.text  # only admins move it
    assert 'id="training-banner"' in street.get("/cases/NOPE-1").text  # error pages too
    r = street.post(f"/cases/{number}/training-clock",
                    data={"days": "3", "reason": "越权", "csrf_token": page_csrf(street)}, follow_redirects=False)
    assert r.status_code == 403 and offset(web_rt, number) == 0

    admin = logged_in(app, "admin")
    page = admin.get(f"/cases/{number}")
    assert 'id="training-clock"' in page.text
    token = page_csrf(admin)
    for bad in ({"days": "0", "reason": "培训"}, {"days": "abc", "reason": "培训"}, {"days": "3", "reason": " "}):
        r = admin.post(f"/cases/{number}/training-clock", data={**bad, "csrf_token": token})
        assert r.status_code == 422 and 'id="clock-errors"' in r.text
    r = admin.post(f"/cases/{number}/training-clock", data={"days": "3", "reason": "培训"})  # no CSRF token
    assert r.status_code == 403
    assert offset(web_rt, number) == 0 and moves(web_rt) == []
    version = web_rt.get_case(number, Actor.system("t")).version
    r = admin.post(f"/cases/{number}/training-clock",
                   data={"days": "3", "reason": "培训演示", "version": str(version - 1), "csrf_token": token})
    assert r.status_code == 409 and offset(web_rt, number) == 0  # a stale page
    r = admin.post(f"/cases/{number}/training-clock",
                   data={"days": "3", "reason": "培训演示", "version": str(version), "csrf_token": token},
                   follow_redirects=False)
    assert r.status_code == 303 and "moved=3" in r.headers["location"]
    page = admin.get(r.headers["location"])
    assert "已模拟时间前进 3 天" in page.text and "已比实际时间前进 3 天" in page.text
    assert "模拟时间前进（培训环境）：3 天，原因：培训演示" in page.text  # in the case's history
    assert offset(web_rt, number) == 3 and len(moves(web_rt)) == 1
    assert "本案件的时间已模拟前进 3 天" in street.get(f"/cases/{number}").text  # everyone sees the case's own time

    # The API: the same rules, the same service.
    csrf = admin.get("/api/me").json()["csrf_token"]
    r = admin.post(f"/api/cases/{number}/training-clock", json={"days": 0, "reason": "培训"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and "前进天数" in r.json()["message_zh"]
    for bad in ({"days": True, "reason": "培训"}, {"days": "3", "reason": "培训"}, {"days": 3}):
        r = admin.post(f"/api/cases/{number}/training-clock", json=bad, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 422 and r.json()["message_zh"], r.text
    s_csrf = street.get("/api/me").json()["csrf_token"]
    r = street.post(f"/api/cases/{number}/training-clock", json={"days": 2, "reason": "培训"}, headers={"X-CSRF-Token": s_csrf})
    assert r.status_code == 403
    r = admin.post(f"/api/cases/{number}/training-clock", json={"days": 2, "reason": "接口培训"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["clock_offset_days"] == 5
    assert len(moves(web_rt)) == 2
