"""Pages through the ASGI app (SQLite and PostgreSQL): login and lockout, CSRF, task forms with
every widget, inline errors, conflicts, jurisdiction, auditors, documents, verify, admin."""
from __future__ import annotations

import hashlib
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from engine.db.models import Attachment, AuditEvent, Case, Document
from tests.web.support import csrf_of, logged_in, login, page_csrf


def start_web_case(client: TestClient) -> str:
    """Start a web_forms case as the logged-in street user; returns the task URL."""
    r = client.post("/cases/new", data={"process": "web_forms", "compound": "PK-JP-XC-01",
                                        "csrf_token": page_csrf(client)}, follow_redirects=False)
    assert r.status_code == 303, r.text[:400]
    assert r.headers["location"].startswith("/tasks/")
    return r.headers["location"]


VALID = {"name": "筹备组一", "member_count": "7", "meeting_date": "2026-12-01", "kind": "formation",
         "topics": ["rules", "fund"], "public": "true", "members.0.name": "张三", "members.0.owner": "true",
         "members.0.age": "40", "members.1.name": "李四", "members.1.owner": "false", "area_m2": "12.5",
         "notes": "第一行\n第二行", "level": "b"}


def test_login_page_lists_demo_accounts_and_login_works(app):
    c = TestClient(app)
    page = c.get("/login")
    assert page.status_code == 200
    assert "演示账号" in page.text and "hongwu-demo" in page.text and "community2" in page.text
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    r = login(c, "street")
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    assert c.get("/inbox").status_code == 200
    # Logging out ends the session.
    r = c.post("/logout", data={"csrf_token": page_csrf(c, "/inbox")}, follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/inbox", follow_redirects=False).headers["location"].startswith("/login")


def test_login_page_checks_demo_password_once_when_an_office_opens_it_at_once(app, monkeypatch):
    """Under load (bench/http.py) every login page used to spend its own argon2 check while the
    cached answer was missing or old; now one request checks and the rest wait or reuse it."""
    import threading
    import time

    import engine.orgs
    from engine.web import auth

    real = engine.orgs.verify_password
    checks = []

    def slow_verify(password_hash, password):
        checks.append(1)
        time.sleep(0.2)  # long enough for every other request to arrive meanwhile
        return real(password_hash, password)

    monkeypatch.setattr(engine.orgs, "verify_password", slow_verify)
    auth._DEMO_CACHE.pop(id(app), None)

    def open_pages(n: int) -> list[str]:
        texts: list[str] = [""] * n

        def one(i: int) -> None:
            texts[i] = TestClient(app).get("/login").text

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return texts

    assert all("演示账号" in t and "community2" in t for t in open_pages(6))
    assert len(checks) == 1
    # A minute later the answer is old: one request checks again, the others show the old one.
    stamp, accounts = auth._DEMO_CACHE[id(app)]
    auth._DEMO_CACHE[id(app)] = (stamp - 61, accounts)
    assert all("演示账号" in t for t in open_pages(6))
    assert len(checks) == 2


def test_wrong_passwords_then_growing_delays(app, web_rt, clock):
    c = TestClient(app)
    for _ in range(5):
        r = login(c, "community", "wrong-password")
        assert r.status_code == 401 and "用户名或密码错误" in r.text
    r = login(c, "community", "wrong-password")  # the sixth: from now on attempts are spaced out
    assert r.status_code == 429 and "秒后再试" in r.text and r.headers["retry-after"] == "1"
    r = login(c, "community")  # the right password waits too, but only a moment
    assert r.status_code == 429
    with web_rt.uow() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.chain == "user:community")))
    assert actions.count("login_failed") == 6 and "login_refused_throttled" in actions
    clock.advance(seconds=2)
    assert login(c, "community").status_code == 303
    # Unknown users get the same answer as wrong passwords.
    assert "用户名或密码错误" in login(TestClient(app), "nobody", "x").text


def test_forms_need_the_csrf_token(app):
    c = TestClient(app)
    c.get("/login")
    r = c.post("/login", data={"username": "street", "password": "hongwu-demo"})
    assert r.status_code == 403 and "CSRF" in r.text
    c = logged_in(app, "street")
    r = c.post("/cases/new", data={"process": "web_forms", "compound": "PK-JP-XC-01", "csrf_token": "0" * 64})
    assert r.status_code == 403
    r = c.post("/api/cases", json={"process_key": "web_forms", "compound_code": "PK-JP-XC-01"})
    assert r.status_code == 403 and r.json()["code"] == "csrf"


def test_task_form_renders_every_widget(app):
    c = logged_in(app, "street")
    html = c.get(start_web_case(c)).text
    assert '<textarea id="f-notes" name="notes"' in html  # ui:widget textarea
    assert 'type="number" name="member_count"' in html and 'step="1"' in html
    assert 'type="number" name="area_m2"' in html and 'step="any"' in html
    assert 'type="date" name="meeting_date"' in html
    assert 'type="radio" name="kind" value="formation"' in html and "组建" in html  # enum + enumNames
    assert '<select id="f-level" name="level"' in html and ">戊<" in html  # oneOf const/title, > 4 options
    assert 'type="checkbox" name="topics" value="fees"' in html  # array of enum
    assert 'type="radio" name="public" value="true"' in html  # yes/no
    assert 'name="members.0.name"' in html and "row-template" in html and "members.__i__.name" in html
    assert 'type="file" name="roll"' in html
    # ui:order: name, kind, then the rest
    assert html.index('name="name"') < html.index('name="kind"') < html.index('name="notes"')


def test_invalid_submission_shows_inline_chinese_errors_and_keeps_input(app):
    c = logged_in(app, "street")
    url = start_web_case(c)
    r = c.post(url, data={"csrf_token": page_csrf(c), "name": "x", "member_count": "abc", "notes": "保留的说明"})
    assert r.status_code == 422
    errors = dict(re.findall(r'data-error-for="([^"]+)">([^<]+)<', r.text))
    assert errors["name"] == "「名称」至少 2 个字符"
    assert errors["member_count"] == "「成员人数」应为整数"
    assert errors["meeting_date"] == "「会议日期」为必填项"
    assert "保留的说明" in r.text and 'value="abc"' in r.text


def test_valid_submission_with_groups_and_file(app, web_rt):
    c = logged_in(app, "street")
    url = start_web_case(c)
    content = "房号,面积\n1-101,89.5\n".encode()
    r = c.post(url, data={"csrf_token": page_csrf(c), **VALID},
               files={"roll": ("业主名册.csv", content, "text/csv")}, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    case_url = r.headers["location"]
    number = case_url.split("/")[2].split("?")[0]
    data = web_rt.get_case(number, web_rt_actor(web_rt, "street")).data
    assert data["member_count"] == 7 and isinstance(data["member_count"], int)
    assert data["area_m2"] == 12.5 and data["public"] is True and data["topics"] == ["rules", "fund"]
    assert data["members"] == [{"name": "张三", "owner": True, "age": 40}, {"name": "李四", "owner": False}]
    assert data["notes"] == "第一行\n第二行"
    assert data["roll"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert data["roll"]["filename"] == "业主名册.csv"
    with web_rt.uow() as s:
        att = s.get(Attachment, data["roll"]["attachment_id"])
        assert att.content == content
    page = c.get(case_url).text
    assert "已提交「登记筹备组」" in page and "业主名册.csv" in page and "确认登记" in page
    assert "办理完成" in page and "member_count" in page  # history with data changes
    dl = c.get(f"/cases/{number}/attachments/{data['roll']['attachment_id']}")
    assert dl.status_code == 200 and dl.content == content


def test_add_row_without_script(app):
    c = logged_in(app, "street")
    url = start_web_case(c)
    r = c.post(url, data={"csrf_token": page_csrf(c), "_action": "add:members", "members.0.name": "张三",
                          "name": "保留"})
    assert r.status_code == 200
    assert 'name="members.1.name"' in r.text and 'value="张三"' in r.text and 'value="保留"' in r.text


def web_rt_actor(rt, username):
    from engine.runtime.actors import load_actor

    with rt.uow() as s:
        return load_actor(s, username)


def test_conflict_keeps_what_was_typed(app, web_rt):
    c = logged_in(app, "street")
    url = start_web_case(c)
    r = c.post(url, data={"csrf_token": page_csrf(c), **VALID}, follow_redirects=False)
    number = r.headers["location"].split("/")[2].split("?")[0]
    confirm_url = next(u for u in re.findall(r'href="(/tasks/[^"]+)"', c.get(f"/cases/{number}").text))
    form_page = c.get(confirm_url).text
    version = re.search(r'name="_version" value="(\d+)"', form_page).group(1)
    # Someone else completes the task first.
    web_rt.complete_task(confirm_url.split("/")[2], web_rt_actor(web_rt, "street"), {"ok": True})
    r = c.post(confirm_url, data={"csrf_token": csrf_of(form_page), "_version": version, "_case": number,
                                  "_spec": "confirm", "ok": "false"})
    assert r.status_code == 409
    assert "已被他人办理" in r.text
    assert re.search(r'value="false"\s+checked', r.text)  # the typed answer is still there


def test_stale_version_is_a_conflict_with_input_kept(app, web_rt):
    c = logged_in(app, "street")
    url = start_web_case(c)
    r = c.post(url, data={"csrf_token": page_csrf(c), "_version": "0", **VALID})
    assert r.status_code == 409 and "已被他人更新" in r.text and 'value="筹备组一"' in r.text
    r = c.post(url, data={"csrf_token": page_csrf(c), "_version": re.search(r'name="_version" value="(\d+)"', r.text).group(1),
                          **VALID}, follow_redirects=False)
    assert r.status_code == 303


def test_jurisdiction_and_roles(app, web_rt):
    c = logged_in(app, "street")
    url = start_web_case(c)
    c.post(url, data={"csrf_token": page_csrf(c), **VALID})
    with web_rt.uow() as s:
        number = s.scalar(select(Case.case_number))
    other = logged_in(app, "community2")  # another community
    assert other.get(f"/cases/{number}").status_code == 404
    assert number not in other.get("/cases").text
    assert other.get(f"/api/cases/{number}").status_code == 404
    own = logged_in(app, "community")
    assert own.get(f"/cases/{number}").status_code == 200
    task_id = next(t["id"] for t in web_rt.get_case(number, web_rt_actor(web_rt, "street")).tasks)
    assert own.get(f"/tasks/{task_id}").status_code == 403  # right place, wrong role
    r = own.post(f"/tasks/{task_id}", data={"csrf_token": page_csrf(own), "ok": "true"})
    assert r.status_code == 403
    with web_rt.uow() as s:
        refused = s.scalars(select(AuditEvent.action).where(AuditEvent.actor == "community")).all()
    assert "refused:complete_task" in refused


def test_auditor_reads_history_and_diagram_without_actions(app, web_rt):
    c = logged_in(app, "street")
    url = start_web_case(c)
    c.post(url, data={"csrf_token": page_csrf(c), **VALID})
    with web_rt.uow() as s:
        number = s.scalar(select(Case.case_number))
    a = logged_in(app, "auditor")
    page = a.get(f"/cases/{number}").text
    assert 'id="diagram"' in page and "bpmn:definitions" in page and '"completed": ["record"' in page.replace("&#34;", '"') or "record" in page
    assert "办理记录" in page and "发起案件" in page and "办理完成" in page
    assert 'href="/tasks/' not in page and 'action="/tasks/' not in page and "发起新案件" not in page
    diagram = a.get(f"/api/cases/{number}/diagram").json()
    assert diagram["completed"] == ["record", "start"] and diagram["active"] == ["confirm"]
    assert a.get(f"/tasks/{url.split('/')[2]}").status_code in (403, 404)
    export = a.get(f"/audit/cases/{number}/export?format=jsonl")
    assert export.status_code == 200 and export.text.count("\n") == 2
    csv_text = a.get("/audit/export?format=csv&raw=1").text
    assert csv_text.startswith("\ufeffid,chain,seq") and number in csv_text
    verify = a.get("/audit/verify").text
    assert "全部完整" in verify


def add_document(rt, number: str | None) -> Document:
    with rt.uow() as s:
        case_id = s.scalar(select(Case.id).where(Case.case_number == number)) if number else None
        doc = Document(case_id=case_id, kind="notice", title="关于成立筹备组的公告", issuer="江浦街道办事处",
                       doc_number="〔2026〕3号", issued_on="2026-11-21", sha256=hashlib.sha256(b"%PDF-1.7 x").hexdigest(),
                       size=10, pages=1, content=b"%PDF-1.7 x", verification_code="ABCD2345EFGH",
                       context="{}", created_by="street", created_at=rt.now())
        s.add(doc)
        s.flush()
        s.expunge(doc)
        return doc


def test_documents_download_and_public_verify(app, web_rt):
    c = logged_in(app, "street")
    url = start_web_case(c)
    c.post(url, data={"csrf_token": page_csrf(c), **VALID})
    with web_rt.uow() as s:
        number = s.scalar(select(Case.case_number))
    doc = add_document(web_rt, number)
    page = c.get(f"/cases/{number}").text
    assert "关于成立筹备组的公告" in page and "ABCD2345EFGH" in page
    r = c.get(f"/documents/{doc.id}/download")
    assert r.status_code == 200 and r.content == b"%PDF-1.7 x" and r.headers["content-type"] == "application/pdf"
    assert logged_in(app, "community2").get(f"/documents/{doc.id}/download").status_code == 404
    public = TestClient(app)
    v = public.get("/verify/ABCD2345EFGH")
    assert v.status_code == 200
    for shown in ("关于成立筹备组的公告", "江浦街道办事处", "2026-11-21", number, doc.sha256, "明发滨江新城小区", "有效"):
        assert shown in v.text
    assert "张三" not in v.text  # nothing of the case's data beyond where it belongs
    got = public.get("/api/verify/ABCD2345EFGH").json()
    assert {k: got[k] for k in ("title", "issuer", "issued_on", "case_number", "sha256", "compound", "status",
                                "status_zh", "replaced_by")} == {
        "title": "关于成立筹备组的公告", "issuer": "江浦街道办事处", "issued_on": "2026-11-21",
        "case_number": number, "sha256": doc.sha256, "compound": "明发滨江新城小区", "status": "valid",
        "status_zh": "有效", "replaced_by": None}
    assert public.get("/verify/ZZZZ9999ZZZZ").status_code == 404


def test_admin_pages(app, web_rt):
    a = logged_in(app, "admin")
    tok = page_csrf(a, "/admin/users")
    r = a.post("/admin/users", data={"csrf_token": tok, "username": "newstaff", "display_name": "新同事",
                                     "role": "community_staff", "jurisdiction": "PK-JP-WJ", "password": "short"})
    assert r.status_code == 422 and "密码至少" in r.text
    r = a.post("/admin/users", data={"csrf_token": tok, "username": "newstaff", "display_name": "新同事",
                                     "role": "community_staff", "jurisdiction": "PK-JP-WJ", "password": "long-enough-1"})
    assert r.status_code == 200 and "已创建用户" in r.text
    assert login(TestClient(app), "newstaff", "long-enough-1").status_code == 303
    r = a.post("/admin/orgs", data={"csrf_token": tok, "kind": "compound", "code": "PK-JP-WJ-02", "name": "新小区",
                                    "parent": "PK-JP-WJ"})
    assert r.status_code == 200 and "新小区" in r.text
    r = a.post("/admin/orgs", data={"csrf_token": tok, "kind": "compound", "code": "PK-X", "name": "错",
                                    "parent": "PK"})
    assert r.status_code == 422
    # deploy: a broken file shows the validation error
    r = a.post("/admin/deploy", data={"csrf_token": tok}, files={"files": ("bad.bpmn", b"<not xml", "text/xml")})
    assert r.status_code == 422 and "bad.bpmn" in r.text
    from tests.web.support import WEB_BPMN, WEB_FORMS

    files = [("files", ("web_forms.bpmn", (WEB_BPMN / "web_forms.bpmn").read_bytes().replace(b"\xe7\xa1\xae\xe8\xae\xa4\xe7\x99\xbb\xe8\xae\xb0", "确认登记二".encode()), "text/xml")),
             ("files", ("confirm.schema.json", (WEB_FORMS / "webtest" / "confirm.schema.json").read_bytes(), "application/json")),
             ("files", ("record.schema.json", (WEB_FORMS / "webtest" / "record.schema.json").read_bytes(), "application/json")),
             ("files", ("record.ui.json", (WEB_FORMS / "webtest" / "record.ui.json").read_bytes(), "application/json"))]
    r = a.post("/admin/deploy", data={"csrf_token": tok}, files=files)
    assert r.status_code == 200 and 'title="web_forms"' in r.text and "第 2 版：已部署新版本" in r.text, r.text[-1500:]


def test_settings_editors(app, web_rt):
    a = logged_in(app, "admin")
    tok = page_csrf(a, "/admin")
    # Every editor draws, for everywhere and for a street (an editor that raises fails here).
    for key in ("negative_list", "vote_second_factor", "prior_review_catalogue", "mediation_deadlines"):
        for org in ("", "PK-JP"):
            page = a.get(f"/admin/settings/{key}?org={org}")
            assert page.status_code == 200 and "暂不可用" not in page.text, key
    from engine.domain import negative_list

    default = negative_list.default_setting()
    first_on = next(k for k, v in default.items() if v)
    data = {"csrf_token": tok, "org": "PK-JP", **{f"v.{k}": "1" for k, v in default.items() if v and k != first_on}}
    r = a.post("/admin/settings/negative_list", data=data)
    assert r.status_code == 200 and "已保存为第 1 版" in r.text
    from engine.orgs import org_by_code
    from engine.settings_store import get_setting

    with web_rt.uow() as s:
        value = get_setting(s, "negative_list", org_by_code(s, "PK-JP-XC-01"), {}).value
    assert value[first_on] is False
    r = a.post("/admin/settings/mediation_deadlines", data={"csrf_token": tok, "org": "", "v.community": "-5"})
    assert r.status_code == 422 and "未保存" in r.text
    r = a.post("/admin/settings/prior_review_catalogue", data={"csrf_token": tok, "org": "", "value": "{oops"})
    assert r.status_code == 422 and "不是有效的 JSON" in r.text
    assert a.post("/admin/settings/nope", data={"csrf_token": tok}).status_code == 422


def test_dashboard(app, web_rt, clock):
    c = logged_in(app, "street")
    url = start_web_case(c)
    r = c.get("/dashboard", follow_redirects=False)
    assert r.headers["location"] == "/dashboard/PK-JP"
    page = c.get("/dashboard/PK-JP?date_from=2026-01-01&date_to=2026-12-31")
    assert page.status_code == 200 and "超期任务" in page.text and "矛盾分级化解" in page.text
    # Every panel drew its report: none is missing, none failed quietly.
    for title in ("业委会组建与党员占比", "先议事项合规", "矛盾分级化解"):
        assert title in page.text
    assert "统计模块尚未提供" not in page.text and "统计失败" not in page.text
    assert logged_in(app, "community").get("/dashboard").status_code == 403
    assert c.get("/dashboard/PK-XX").status_code == 404
    assert url


def test_api_flow(app, web_rt):
    c = TestClient(app)
    assert c.get("/api/tasks").status_code == 401
    r = c.post("/api/session", json={"username": "street", "password": "wrong"})
    assert r.status_code == 401 and r.json()["message_zh"] == "用户名或密码错误"
    s = c.post("/api/session", json={"username": "street", "password": "hongwu-demo"}).json()
    headers = {"X-CSRF-Token": s["csrf_token"]}
    case = c.post("/api/cases", json={"process_key": "web_forms", "compound_code": "PK-JP-XC-01"}, headers=headers)
    assert case.status_code == 201
    task = case.json()["tasks"][0]
    bad = c.post(f"/api/tasks/{task['id']}/complete", json={"data": {"name": "x"}}, headers=headers)
    assert bad.status_code == 422 and any(d["field"] == "member_count" for d in bad.json()["details"])
    data = {"name": "筹备组", "member_count": 5, "meeting_date": "2026-12-01", "kind": "renewal",
            "members": [{"name": "王五"}]}
    stale = c.post(f"/api/tasks/{task['id']}/complete", json={"data": data, "expected_version": 0}, headers=headers)
    assert stale.status_code == 409
    ok = c.post(f"/api/tasks/{task['id']}/complete", json={"data": data, "expected_version": task["case_version"]},
                headers=headers)
    assert ok.status_code == 200 and ok.json()["tasks"][0]["name"] == "confirm"
    hist = c.get(f"/api/cases/{ok.json()['case_number']}/history").json()
    assert hist["chain"]["ok"] and [e["action"] for e in hist["events"]] == ["case_started", "refused:complete_task", "task_completed"]
    assert c.delete("/api/session", headers=headers).status_code == 204
    assert c.get("/api/me").status_code == 401


def test_admin_catalogue_editor_goes_through_the_catalogue_rules(app, web_rt):
    """The settings page stores the prior-review catalogue with `save_catalogue`: per street only,
    and never with an item 3–8 matter switched off."""
    import json

    from engine.domain import prior_review as pr
    from engine.orgs import org_by_code
    from engine.settings_store import setting_history

    a = logged_in(app, "admin")
    tok = page_csrf(a, "/admin")
    off = pr.default_setting()
    pr.find_matter(off, "property_company")["enabled"] = False
    r = a.post("/admin/settings/prior_review_catalogue",
               data={"csrf_token": tok, "org": "PK-JP", "value": json.dumps(off)})
    assert r.status_code == 422 and "不得停用" in r.text
    ok = pr.default_setting()
    pr.find_matter(ok, "working_funds")["enabled"] = False
    for org in ("", "PK-JP-XC-01"):  # not a street: refused, whatever the value
        r = a.post("/admin/settings/prior_review_catalogue",
                   data={"csrf_token": tok, "org": org, "value": json.dumps(ok)})
        assert r.status_code == 422 and "按街道设置" in r.text
    r = a.post("/admin/settings/prior_review_catalogue",
               data={"csrf_token": tok, "org": "PK-JP", "value": json.dumps(ok)})
    assert r.status_code == 200 and "已保存为第 1 版" in r.text
    with web_rt.uow() as s:
        assert [h.created_by for h in setting_history(s, pr.SETTING_KEY, org_by_code(s, "PK-JP"))] == ["admin"]
        assert setting_history(s, pr.SETTING_KEY, None) == []
