"""Everything a person sees is Chinese: every page each of the nine demo accounts reaches by
following links through the demo (cases of all three processes under way) is free of
identifier-looking English; error pages are Chinese HTML with a way back (JSON only under /api);
the favicon is served."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from engine.config import BUNDLED_BPMN_DIR, BUNDLED_FORMS_DIR
from engine.demo_cases import load_demo
from engine.runtime.service import deploy
from tests.conftest import make_runtime
from tests.web.crawl import crawl, leaks, visible_text
from tests.web.support import USERNAMES, logged_in, seed_demo


@pytest.fixture
def demo_app(db_url, clock):
    from engine.web.app import create_app

    rt = make_runtime(db_url, clock)
    seed_demo(rt)
    deploy(rt, [BUNDLED_BPMN_DIR], BUNDLED_FORMS_DIR)
    info = load_demo(rt)
    return create_app(rt.settings, clock), rt, info


def _crawl_all(app) -> dict[tuple[str, str], list[str]]:
    found = {}
    for username in USERNAMES:
        pages = crawl(logged_in(app, username), "/")
        assert len(pages) >= 3, (username, list(pages))
        for path, html in pages.items():
            found[(username, path)] = leaks(visible_text(html)[0])
    return found


def test_every_page_of_every_demo_account_speaks_chinese(demo_app):
    app, _rt, info = demo_app
    found = _crawl_all(app)
    visited = {path for _u, path in found}
    # The crawl really went through the demo: every demo case, the dashboard, the admin pages.
    assert {f"/cases/{n}" for n in info["cases"]} <= visited
    assert {"/dashboard/PK-JP", "/admin/users", "/admin/deploy", "/inbox", "/audit"} <= visited
    pages = {k: v for k, v in found.items() if not k[1].startswith("/tasks/")}
    # And what anyone sees without logging in: the login page, public verification.
    doc_code = next(p for (_u, p) in found if p.startswith("/verify/"))
    for path in ("/login", "/verify", doc_code):
        pages[("anonymous", path)] = leaks(visible_text(TestClient(app).get(path).text)[0])
    bad = {f"{u} {p}": words for (u, p), words in pages.items() if words}
    assert not bad, bad


def test_every_task_form_the_demo_reaches_speaks_chinese(demo_app):
    app, _rt, _info = demo_app
    found = _crawl_all(app)
    tasks = {k: v for k, v in found.items() if k[1].startswith("/tasks/")}
    assert tasks  # the demo leaves steps open for several roles
    bad = {f"{u} {p}": words for (u, p), words in tasks.items() if words}
    assert not bad, bad


def test_leak_finder_catches_what_the_issue_names():
    text = "\n".join(["task_completed", "prior_review:classified", "worker:serve:vm:3659", "None", "as_of",
                      "unknown case 'X'", '{"detail": "Not Found"}', "agree", "先议用时中位数（天）：None"])
    found = leaks(text)
    for word in ("task_completed", "prior_review:classified", "worker:serve:vm:3659", "None", "as_of", "unknown",
                 "agree", '{"detail":'):
        assert any(word in f or f in word for f in found), word
    assert leaks("YWH-2026-000001 下载 PDF 导出 CSV 100.50 平方米 SHA-256 hongwu 2026-11-21 10:00") == []
    # Content marked translate="no" (login names, a JSON editor) is data, not interface words.
    assert visible_text('<p>用户 <code translate="no">street</code></p><br/><p>其他</p>')[0] == "用户\n其他"


def test_history_names_actions_actors_and_data_in_chinese(demo_app):
    app, rt, info = demo_app
    cn = next(n for n in info["cases"] if n.startswith("YWH"))
    page = logged_in(app, "auditor").get(f"/cases/{cn}").text
    text = visible_text(page.split('id="history"', 1)[1])[0]
    assert "办理完成" in text and "发起案件" in text and "数据变更" in text
    assert "案件编号" in text and "小区名称" in text and "选举类型" in text and "首次选举" in text
    for raw in ("task_completed", "case_number", "compound_code", "election_kind", "street ·"):
        assert raw not in text, raw
    # Raw names remain for auditors, as hover titles.
    assert 'title="task_completed"' in page and 'title="case_number"' in page


def test_system_actors_and_refusals_are_named():
    from engine.web.labels import action_zh, actor_zh

    assert actor_zh("worker:serve:vm:3659") == "系统（定时任务）"
    assert actor_zh("worker:host:12") == "系统（定时任务）"
    assert actor_zh("api:12345热线") == "系统（接口：12345热线）"
    assert actor_zh("cli") == "系统（命令行）" and actor_zh("system") == "系统"
    assert actor_zh("street", {"street": "王街道"}) == "王街道"
    assert action_zh("refused:fire_timer") == "被拒绝的操作：期限届满自动处理"
    assert action_zh("refused:complete_task") == "被拒绝的操作：提交任务"


def test_dashboard_prints_no_none_and_no_keys(demo_app):
    app, _rt, _info = demo_app
    text = visible_text(logged_in(app, "street").get("/dashboard/PK-JP").text)[0]
    assert "None" not in text and "as_of" not in text and "in_progress" not in text
    assert "调处率" in text and "办理中" in text and "社区（一级）" in text


def test_error_pages_are_chinese_html_with_a_way_back(app, web_rt):
    client = logged_in(app, "cparty")
    for path, status in (("/no/such/page", 404), ("/cases/NOPE-1", 404), ("/admin", 403),
                         ("/inbox?state=bogus", 422), ("/inbox?sort=bogus", 422)):
        r = client.get(path)
        assert r.status_code == status, (path, r.status_code)
        assert r.headers["content-type"].startswith("text/html"), path
        text = visible_text(r.text)[0]
        assert "返回上一页" in text and "首页" in text and f"错误代码 {status}" in text, path
        assert leaks(text) == [], (path, leaks(text))
    assert "案件「NOPE-1」不存在" in client.get("/cases/NOPE-1").text
    r = client.post("/inbox")  # a method the page does not take
    assert r.status_code == 405 and "此页面不支持这种操作方式" in r.text
    r = TestClient(app).get("/nothing-here")  # not logged in: still a Chinese page
    assert r.status_code == 404 and "您要找的页面不存在" in r.text and "首页" in r.text
    # The API keeps answering JSON, with a Chinese message.
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and r.json()["message_zh"] == "请求的地址不存在"
    assert client.get("/api/cases/NOPE-1").json()["message_zh"] == "案件「NOPE-1」不存在"


def test_server_errors_are_a_chinese_page_or_json(app, web_rt, monkeypatch):
    client = logged_in(app, "street")
    cookies = client.cookies

    def broken(*_a, **_k):
        raise RuntimeError("boom")

    monkeypatch.setattr(type(web_rt), "search_cases", broken)
    monkeypatch.setattr(type(web_rt), "list_cases", broken)
    quiet = TestClient(app, raise_server_exceptions=False, cookies=cookies)
    r = quiet.get("/cases")
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    assert "服务器出错了" in r.text and "boom" not in r.text and "返回上一页" in r.text
    r = quiet.get("/api/cases")
    assert r.status_code == 500 and r.json()["code"] == "internal" and "boom" not in r.text


def test_favicon(app):
    c = TestClient(app)
    r = c.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon" and r.content[:4] == b"\x00\x00\x01\x00"
    assert c.get("/static/app/favicon.svg").status_code == 200
    assert 'rel="icon"' in c.get("/login").text


def test_exports_for_people_and_for_machines(demo_app):
    import csv
    import io

    from openpyxl import load_workbook

    app, rt, info = demo_app
    cn = next(n for n in info["cases"] if n.startswith("YWH"))
    a = logged_in(app, "auditor")
    r = a.get(f"/audit/cases/{cn}/export", params={"format": "csv"})
    assert r.status_code == 200 and r.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0][:6] == ["案件编号", "序号", "时间（北京时间）", "办理人", "账号", "操作"]
    body = rows[1:]
    assert body and all(row[0] == cn for row in body)
    assert body[0][2] == "2026-11-21 10:00:00"  # 02:00 UTC is 10:00 in Beijing
    assert body[0][3] == "王街道" and body[0][5] == "发起案件"
    assert any("选举类型：— → 首次选举" in row[7] or "选举类型：首次选举" in row[7] for row in body)
    for row in body:
        assert leaks("\n".join(row[:4] + row[5:9])) == [], row
    # Raw, for machines: the stored columns, UTC, JSON.
    raw = a.get(f"/audit/cases/{cn}/export", params={"format": "csv", "raw": "1"}).text
    assert raw.startswith("\ufeffid,chain,seq") and "+00:00" in raw and "task_completed" in raw
    # Excel: the same readable rows.
    r = a.get(f"/audit/cases/{cn}/export", params={"format": "xlsx"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content)).active
    cells = [[c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]
    assert [str(c) for c in cells[0]] == rows[0] and len(cells) == len(rows)
    assert [str(c) for c in cells[1]] == rows[1]
    # The search-result export follows the search; other roles may not export; bad format is refused.
    r = a.get("/audit/export", params={"format": "csv", "q": cn.lower()})
    assert {row[0] for row in list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))[1:]} == {cn}
    assert logged_in(app, "street").get(f"/audit/cases/{cn}/export").status_code == 403
    assert a.get(f"/audit/cases/{cn}/export", params={"format": "pdf"}).status_code == 422
