"""Open steps nobody can do are called out: 待配置办理人员 on the case page, the role × organisation
gap on the admin home page (with a prefilled link to create the user) and a doctor warning. Only an
active user of the step's role whose jurisdiction covers the case counts."""
from __future__ import annotations

import json

from sqlalchemy import update
from typer.testing import CliRunner

from engine.cli import app as cli_app
from engine.db.models import User
from engine.orgs import ensure_user
from engine.runtime.actors import load_actor
from engine.runtime.staffing import staffing_gaps, unstaffed_tasks
from tests.engine.support import apply_data
from tests.web.crawl import leaks, visible_text
from tests.web.support import logged_in, page_csrf

# 文景社区 has no 社区党组织 account in the demo data (刘社区党委 serves 新城社区 only).
UNSTAFFED_COMPOUND = "PK-JP-WJ-01"
STAFFED_COMPOUND = "PK-JP-XC-01"


def _waiting_for_party_review(rt, compound):
    street = _actor(rt, "street")
    case = rt.start_case("sample_review", compound, street)
    rt.complete_task(case.tasks[0]["id"], street, apply_data(amount=5000, days=10))
    return case.case_number


def _actor(rt, username):
    with rt.uow() as s:
        return load_actor(s, username)


def _gaps(rt):
    with rt.uow() as s:
        return [(g.role, g.org_code, tuple(g.case_numbers)) for g in staffing_gaps(s)]


def _doctor(db_url):
    res = CliRunner().invoke(cli_app, ["--db", db_url, "doctor", "--json"])
    return [c for c in json.loads(res.stdout)["checks"] if c["name"] == "staffing"]


def test_unstaffed_step_is_shown_and_cleared_by_creating_the_user(web_rt, app, db_url):
    rt = web_rt
    waiting = _waiting_for_party_review(rt, UNSTAFFED_COMPOUND)
    served = _waiting_for_party_review(rt, STAFFED_COMPOUND)
    assert _gaps(rt) == [("community_party_org", "PK-JP-WJ", (waiting,))]

    street = logged_in(app, "street")
    assert "待配置办理人员" in visible_text(street.get(f"/cases/{waiting}").text)[0]
    assert "待配置办理人员" not in visible_text(street.get(f"/cases/{served}").text)[0]
    assert [t["unstaffed"] for t in street.get(f"/api/cases/{waiting}").json()["tasks"]] == [True]
    assert [t["unstaffed"] for t in street.get(f"/api/cases/{served}").json()["tasks"]] == [False]

    admin = logged_in(app, "admin")
    home = admin.get("/admin")
    text = visible_text(home.text)[0]
    assert "社区党组织" in text and "文景社区" in text and waiting in text and served not in text
    link = "/admin/users?role=community_party_org&amp;jurisdiction=PK-JP-WJ"
    assert link in home.text
    users = admin.get(link.replace("&amp;", "&"))
    assert '<option value="community_party_org" selected>' in users.text
    assert '<option value="PK-JP-WJ" selected>' in users.text

    # The pages showing a gap speak Chinese only (the demo crawl of test_chinese has no gap); the
    # test process itself names its diagram elements in English.
    fixture_words = {"review", "sample", "sample_review"}
    for client, path in ((street, f"/cases/{waiting}"), (admin, "/admin"), (admin, link.replace("&amp;", "&"))):
        assert not leaks(visible_text(client.get(path).text)[0], fixture_words), path

    shown = CliRunner().invoke(cli_app, ["--db", db_url, "case", "show", waiting, "--as", "street"])
    assert shown.exit_code == 0 and "待配置办理人员" in shown.output
    doctor = CliRunner().invoke(cli_app, ["--db", db_url, "doctor"])
    assert "! staffing: 待配置办理人员：文景社区（PK-JP-WJ）没有在岗的社区党组织" in doctor.output

    warnings = _doctor(db_url)
    assert len(warnings) == 1 and not warnings[0]["ok"] and not warnings[0]["required"]
    assert "文景社区" in warnings[0]["detail"] and waiting in warnings[0]["detail"]

    # The administrator follows the link and creates the account: every listing clears.
    r = admin.post("/admin/users", data={"username": "cparty2", "display_name": "钱社区党委", "role": "community_party_org",
                                         "jurisdiction": "PK-JP-WJ", "password": "a-long-password",
                                         "csrf_token": page_csrf(admin, "/admin/users")}, follow_redirects=False)
    assert r.status_code in (200, 303), r.text[:300]
    assert _gaps(rt) == []
    assert "待配置办理人员" not in visible_text(street.get(f"/cases/{waiting}").text)[0]
    assert [t["unstaffed"] for t in street.get(f"/api/cases/{waiting}").json()["tasks"]] == [False]
    assert "所有进行中案件的当前步骤都有在岗的办理人员" in visible_text(admin.get("/admin").text)[0]
    assert [c["ok"] for c in _doctor(db_url)] == [True]
    shown = CliRunner().invoke(cli_app, ["--db", db_url, "case", "show", waiting, "--as", "street"])
    assert shown.exit_code == 0 and "待配置办理人员" not in shown.output


def test_other_jurisdiction_inactive_user_and_other_role_do_not_count(web_rt):
    rt = web_rt
    waiting = _waiting_for_party_review(rt, UNSTAFFED_COMPOUND)
    with rt.uow() as s:
        now = rt.now()
        # A 社区党组织 of a compound elsewhere, the demo community worker right there, and an
        # inactive 社区党组织 right there: none of them can do the step.
        ensure_user(s, "cparty-xc", "另一社区党委", "community_party_org", "PK-JP-XC-02", None, now)
        ensure_user(s, "cparty-off", "停用社区党委", "community_party_org", "PK-JP-WJ", None, now)
        s.execute(update(User).where(User.username == "cparty-off").values(active=False))
    assert _gaps(rt) == [("community_party_org", "PK-JP-WJ", (waiting,))]
    with rt.uow() as s:
        assert [t.role for t in unstaffed_tasks(s)] == ["community_party_org"]
        # Reactivated, the user there does the step.
        s.execute(update(User).where(User.username == "cparty-off").values(active=True))
    assert _gaps(rt) == []


def test_a_wider_jurisdiction_counts_until_deactivated(web_rt):
    rt = web_rt
    waiting = _waiting_for_party_review(rt, UNSTAFFED_COMPOUND)
    with rt.uow() as s:
        ensure_user(s, "cparty-all", "全区社区党委", "community_party_org", "PK", None, rt.now())
    assert _gaps(rt) == []
    with rt.uow() as s:
        s.execute(update(User).where(User.username == "cparty-all").values(active=False))
    assert [g[2] for g in _gaps(rt)] == [(waiting,)]


def test_users_page_ignores_an_unknown_prefilled_role(app):
    admin = logged_in(app, "admin")
    r = admin.get("/admin/users?role=nonsense&jurisdiction=nowhere")
    assert r.status_code == 200 and "nonsense" not in r.text


def test_a_gap_is_reported_once_at_the_level_the_role_works_at(web_rt):
    """Without an active 街道工作人员, cases of compounds in both communities wait on one gap: 江浦街道."""
    rt = web_rt
    street = _actor(rt, "street")
    numbers = [rt.start_case("sample_review", c, street).case_number for c in (UNSTAFFED_COMPOUND, STAFFED_COMPOUND)]
    assert _gaps(rt) == []
    with rt.uow() as s:
        s.execute(update(User).where(User.username == "street").values(active=False))
    assert _gaps(rt) == [("street_staff", "PK-JP", tuple(sorted(numbers)))]
    with rt.uow() as s:
        assert {t.role for t in unstaffed_tasks(s)} == {"street_staff"}
        assert [g.org_name for g in staffing_gaps(s)] == ["江浦街道"]


def test_deactivating_or_moving_the_only_user_on_the_users_page_opens_a_gap(web_rt, app):
    rt = web_rt
    served = _waiting_for_party_review(rt, STAFFED_COMPOUND)
    admin = logged_in(app, "admin")

    def save(**form):
        r = admin.post("/admin/users/cparty", data={"csrf_token": page_csrf(admin, "/admin/users"), **form},
                       follow_redirects=False)
        assert r.status_code in (200, 303), r.text[:300]

    save(role="community_party_org", jurisdiction="PK-JP-XC", active="")  # deactivated
    assert _gaps(rt) == [("community_party_org", "PK-JP-XC", (served,))]
    save(role="community_party_org", jurisdiction="PK-JP-WJ", active="1")  # active, but elsewhere
    assert _gaps(rt) == [("community_party_org", "PK-JP-XC", (served,))]
    save(role="community_staff", jurisdiction="PK-JP-XC", active="1")  # right place, other role
    assert _gaps(rt) == [("community_party_org", "PK-JP-XC", (served,))]
    save(role="community_party_org", jurisdiction="PK-JP-XC", active="1")
    assert _gaps(rt) == []
