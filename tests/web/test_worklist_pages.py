"""Claim / assign / comments / supervisor controls through the pages, the API and the CLI: every
route meets the same service-layer rules (another role, another jurisdiction, a stale version,
a suspended case), and the gap list fixes a missing role in one step."""
from __future__ import annotations

import json
import re

from sqlalchemy import select
from typer.testing import CliRunner

from engine import demo
from engine.cli import app as cli_app
from engine.db.models import OrgUnit, User
from engine.orgs import ensure_user
from engine.runtime.actors import load_actor
from engine.runtime.staffing import ROLE_LEVEL, staffing_gaps
from tests.engine.support import apply_data
from tests.web.crawl import leaks, visible_text
from tests.web.support import demo_hash, logged_in, page_csrf


def _actor(rt, username):
    with rt.uow() as s:
        return load_actor(s, username)


def _colleague(rt):
    with rt.uow() as s:
        ensure_user(s, "cparty_b", "钱社区党委", "community_party_org", "PK-JP-XC", None, rt.now())
        s.execute(User.__table__.update().where(User.username == "cparty_b").values(password_hash=demo_hash()))


def _tabs(html: str) -> dict[str, str]:
    return dict(re.findall(r'id="tab-(\w+)"[^>]*>[^<]*<span class="count">([^<]+)</span>', html))


def _review_case(rt, compound="PK-JP-XC-01"):
    street = _actor(rt, "street")
    case = rt.start_case("sample_review", compound, street)
    return rt.complete_task(case.tasks[0]["id"], street, apply_data(amount=5000, days=7))


def test_inbox_tabs_claim_from_the_pool_and_counts(web_rt, app):
    rt = web_rt
    _colleague(rt)
    case = _review_case(rt)
    task_id = case.tasks[0]["id"]
    me = logged_in(app, "cparty")
    page = me.get("/inbox?scope=pool")
    assert page.status_code == 200 and task_id in page.text
    assert _tabs(page.text) == {"all": "1", "mine": "0", "pool": "1"}
    r = me.post(f"/tasks/{task_id}/claim", data={"csrf_token": page_csrf(me, "/inbox"), "next": "/inbox?scope=mine"},
                follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/inbox?scope=mine"
    mine = me.get("/inbox?scope=mine").text
    assert _tabs(mine) == {"all": "1", "mine": "1", "pool": "0"} and "刘社区党委" in visible_text(mine)[0]
    # The colleague sees it held (no 办理 for them) and cannot complete it by any route.
    other = logged_in(app, "cparty_b")
    assert task_id not in other.get("/inbox?scope=pool").text
    api = other.post(f"/api/tasks/{task_id}/complete", json={"data": {"decision": "agree"}},
                     headers={"X-CSRF-Token": page_csrf(other, "/inbox")})
    assert api.status_code == 403 and "刘社区党委" in api.json()["message_zh"]
    cli = CliRunner().invoke(cli_app, ["--db", rt.url, "task", "complete", task_id, "--as", "cparty_b",
                                       "--data", json.dumps({"decision": "agree"})])
    assert cli.exit_code != 0 and "刘社区党委" in cli.output
    assert 'id="task-held"' in other.get(f"/tasks/{task_id}").text  # the form says whose it is
    assert 'id="task-held"' not in me.get(f"/tasks/{task_id}").text
    # An unsafe next address is not followed.
    r = me.post(f"/tasks/{task_id}/release", data={"csrf_token": page_csrf(me, "/inbox"), "next": "//evil.example/"},
                follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    assert not leaks(visible_text(me.get("/inbox").text)[0], {"review", "sample", "sample_review"})


def test_supervisor_assigns_on_the_case_page_and_the_api_checks_the_same_rules(web_rt, app):
    rt = web_rt
    _colleague(rt)
    case = _review_case(rt)
    task_id = case.tasks[0]["id"]
    street = logged_in(app, "street")
    page = street.get(f"/cases/{case.case_number}")
    assert "指派 / 转办" in page.text and 'value="cparty_b"' in page.text
    csrf = page_csrf(street, f"/cases/{case.case_number}")
    r = street.post(f"/tasks/{task_id}/assign", data={"csrf_token": csrf, "case": case.case_number,
                                                      "assignee": "cparty_b", "how": "delegate", "reason": ""})
    assert r.status_code == 422 and "原因" in visible_text(r.text)[0]
    r = street.post(f"/tasks/{task_id}/assign", data={"csrf_token": csrf, "case": case.case_number,
                                                      "assignee": "cparty_b", "how": "assign", "reason": "熟悉情况"},
                    follow_redirects=False)
    assert r.status_code == 303
    page = street.get(f"/cases/{case.case_number}").text
    assert '<td class="holder">钱社区党委 <span class="tag">指派</span>' in page
    assert "指派给 钱社区党委；原因：熟悉情况" in visible_text(page)[0]
    # Not a supervisor: the API refuses; another jurisdiction: looks unknown.
    cparty = logged_in(app, "cparty")
    h = {"X-CSRF-Token": page_csrf(cparty, "/inbox")}
    assert cparty.post(f"/api/tasks/{task_id}/assign", json={"assignee": "cparty"}, headers=h).status_code == 403
    community2 = logged_in(app, "community2")
    h2 = {"X-CSRF-Token": page_csrf(community2, "/inbox")}
    assert community2.post(f"/api/tasks/{task_id}/claim", headers=h2).status_code == 404
    assert cparty.get("/api/tasks?scope=pool").json() == []
    assert [t["id"] for t in logged_in(app, "cparty_b").get("/api/tasks?scope=mine").json()] == [task_id]
    assert street.get("/api/tasks?scope=nonsense").status_code == 422


def test_comments_with_mentions_on_the_page_and_api(web_rt, app):
    rt = web_rt
    case = _review_case(rt)
    street = logged_in(app, "street")
    csrf = page_csrf(street, f"/cases/{case.case_number}")
    r = street.post(f"/cases/{case.case_number}/comments", data={"csrf_token": csrf, "body": "请 @nobody 看"})
    assert r.status_code == 422 and "不是能查看本案件的在岗用户" in visible_text(r.text)[0]
    assert "请 @nobody 看" in r.text  # what was typed is kept
    r = street.post(f"/cases/{case.case_number}/comments",
                    data={"csrf_token": csrf, "body": "请 @cparty 本周内审查。", "task_id": case.tasks[0]["id"]},
                    follow_redirects=False)
    assert r.status_code == 303
    shown = visible_text(street.get(f"/cases/{case.case_number}").text)[0]
    assert "请 @cparty 本周内审查。" in shown and "提及：刘社区党委" in shown and "发表意见" in shown
    cparty = logged_in(app, "cparty")
    h = {"X-CSRF-Token": page_csrf(cparty, "/inbox")}
    made = cparty.post(f"/api/cases/{case.case_number}/comments", json={"body": "收到 @street"}, headers=h)
    assert made.status_code == 201 and made.json()["mentions"] == ["street"]
    assert [c["author"] for c in cparty.get(f"/api/cases/{case.case_number}/comments").json()] == ["street", "cparty"]
    auditor = logged_in(app, "auditor")
    ha = {"X-CSRF-Token": page_csrf(auditor, "/cases")}
    assert auditor.post(f"/api/cases/{case.case_number}/comments", json={"body": "只读"}, headers=ha).status_code == 403


def test_controls_on_the_page_api_and_cli(web_rt, app, db_url):
    rt = web_rt
    case = _review_case(rt)
    street = logged_in(app, "street")
    page = street.get(f"/cases/{case.case_number}")
    assert 'id="supervision"' in page.text
    assert 'id="supervision"' not in logged_in(app, "cparty").get(f"/cases/{case.case_number}").text
    csrf = page_csrf(street, f"/cases/{case.case_number}")
    r = street.post(f"/cases/{case.case_number}/control",
                    data={"csrf_token": csrf, "action": "suspend", "reason": "", "version": str(case.version)})
    assert r.status_code == 422 and "原因" in visible_text(r.text)[0]
    r = street.post(f"/cases/{case.case_number}/control",
                    data={"csrf_token": csrf, "action": "suspend", "reason": "核实材料", "version": str(case.version)},
                    follow_redirects=False)
    assert r.status_code == 303
    shown = visible_text(street.get(f"/cases/{case.case_number}").text)[0]
    assert "已暂停" in shown and "暂停办理" in shown and "原因：核实材料" in shown
    # A stale version from the page is refused.
    r = street.post(f"/cases/{case.case_number}/control",
                    data={"csrf_token": csrf, "action": "resume", "reason": "恢复", "version": str(case.version)})
    assert r.status_code == 409
    # The suspended case's task cannot be completed through the API.
    cparty = logged_in(app, "cparty")
    h = {"X-CSRF-Token": page_csrf(cparty, "/inbox")}
    done = cparty.post(f"/api/tasks/{case.tasks[0]['id']}/complete", json={"data": {"decision": "agree"}}, headers=h)
    assert done.status_code == 409 and "暂停" in done.json()["message_zh"]
    # Not a supervisor through the API and the CLI.
    assert cparty.post(f"/api/cases/{case.case_number}/resume", json={"reason": "x"}, headers=h).status_code == 403
    cli = CliRunner().invoke(cli_app, ["--db", db_url, "case", "resume", case.case_number, "--reason", "x",
                                       "--as", "cparty"])
    assert cli.exit_code != 0 and "街道工作人员或系统管理员" in cli.output
    cli = CliRunner().invoke(cli_app, ["--db", db_url, "case", "resume", case.case_number, "--reason", "核实完毕",
                                       "--as", "street"])
    assert cli.exit_code == 0, cli.output
    timer = rt.get_case(case.case_number, _actor(rt, "street")).timers[0]
    cli = CliRunner().invoke(cli_app, ["--db", db_url, "case", "reschedule-timer", case.case_number, timer["id"],
                                       "--due", "2026-12-31", "--reason", "期限应为三十日", "--as", "street"])
    assert cli.exit_code == 0 and "2026-12-31" in cli.output, cli.output
    hs = {"X-CSRF-Token": page_csrf(street, "/cases")}
    cancelled = street.post(f"/api/cases/{case.case_number}/cancel", json={"reason": "重复立案"}, headers=hs)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    shown = visible_text(street.get(f"/cases/{case.case_number}").text)[0]
    assert "已撤销" in shown and "原因：重复立案" in shown and "调整期限" in shown
    assert not leaks(shown, {"review", "sample", "sample_review"})


def test_cli_claim_assign_and_comment(web_rt, db_url):
    rt = web_rt
    _colleague(rt)
    case = _review_case(rt)
    task_id = case.tasks[0]["id"]

    def run(*args):
        return CliRunner().invoke(cli_app, ["--db", db_url, *args])

    assert "认领办理" in run("task", "claim", task_id, "--as", "cparty").output
    assert run("task", "claim", task_id, "--as", "cparty_b").exit_code != 0
    listed = run("task", "list", "--as", "cparty", "--scope", "mine", "--json")
    assert [t["id"] for t in json.loads(listed.output)] == [task_id]
    r = run("task", "assign", task_id, "--to", "cparty_b", "--delegate", "--as", "street")
    assert r.exit_code != 0 and "原因" in r.output
    r = run("task", "assign", task_id, "--to", "cparty_b", "--delegate", "--reason", "休假", "--as", "street")
    assert r.exit_code == 0 and "钱社区党委" in r.output and "转办" in r.output
    r = run("case", "comment", case.case_number, "--text", "@cparty_b 请办理", "--as", "street")
    assert r.exit_code == 0 and "钱社区党委" in r.output
    assert "@cparty_b 请办理" in run("case", "comments", case.case_number, "--as", "cparty").output


def test_gap_list_creates_or_places_a_user_in_one_step(web_rt, app):
    rt = web_rt
    street = _actor(rt, "street")
    case = rt.start_case("sample_review", "PK-JP-WJ-01", street)
    rt.complete_task(case.tasks[0]["id"], street, apply_data(amount=5000, days=7))
    admin = logged_in(app, "admin")
    home = admin.get("/admin")
    assert "一步配置办理人员" in home.text and 'value="cparty"' in home.text  # 刘社区党委 could be moved there
    csrf = page_csrf(admin, "/admin")
    bad = admin.post("/admin/staffing", data={"csrf_token": csrf, "role": "community_party_org", "org": "PK-JP-WJ",
                                              "username": "x", "display_name": "", "password": "short"})
    assert bad.status_code == 422 and "密码至少 8 位" in visible_text(bad.text)[0]
    with rt.uow() as s:
        assert [g.org_code for g in staffing_gaps(s)] == ["PK-JP-WJ"]
    ok = admin.post("/admin/staffing", data={"csrf_token": csrf, "role": "community_party_org", "org": "PK-JP-WJ",
                                             "username": "cparty_wj", "display_name": "冯社区党委",
                                             "password": "a-long-password"})
    assert ok.status_code == 200 and "已配置用户 cparty_wj" in visible_text(ok.text)[0]
    with rt.uow() as s:
        assert staffing_gaps(s) == []
        assert s.scalar(select(User.role).where(User.username == "cparty_wj")) == "community_party_org"


def test_demo_database_staffs_every_role_in_every_unit(runtime):
    with runtime.uow() as s:
        demo.seed(s, runtime.now(), password=None, staff_every_unit=True)
        units = {o.path: o.kind for o in s.scalars(select(OrgUnit))}
        placed = [(u.role, u.jurisdiction.path if u.jurisdiction else "") for u in s.scalars(select(User))]
    for role, level in ROLE_LEVEL.items():
        for path, kind in units.items():
            if kind == level:
                assert any(r == role and path.startswith(p) for r, p in placed), (role, path)


def test_dashboard_lists_overdue_tasks_per_community(web_rt, app, clock):
    rt = web_rt
    late = _review_case(rt)
    other = _review_case(rt, compound="PK-JP-WJ-01")
    street = logged_in(app, "street")
    assert "各社区均无超期待办" in visible_text(street.get("/dashboard/PK-JP").text)[0]
    rt.claim_task(late.tasks[0]["id"], _actor(rt, "cparty"))
    clock.advance(days=11)  # both reviews are past their 7-day period (no worker ran)
    page = street.get("/dashboard/PK-JP").text
    section = page[page.index('id="overdue-by-community"'):]
    xc = visible_text(section[section.index('id="overdue-PK-JP-XC"'):])[0].split("红物")[0]
    wj = visible_text(section[section.index('id="overdue-PK-JP-WJ"'):section.index('id="overdue-PK-JP-XC"')])[0]
    assert "新城社区" in xc and late.case_number in xc and "刘社区党委" in xc and "2 天" in xc
    assert "文景社区" in wj and other.case_number in wj and "岗位待办（未认领）" in wj
    assert other.case_number not in xc
    # The community's own staff do not see the street dashboard.
    assert logged_in(app, "community").get("/dashboard/PK-JP").status_code == 403
