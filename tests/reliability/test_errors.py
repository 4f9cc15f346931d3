"""One error shape across the API — FastAPI's own validation and HTTP errors included — safe
download names, security headers, and a failing script at case start as a clear error."""
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engine.db.models import Attachment, Case
from engine.runtime.service import deploy
from engine.web.hardening import content_disposition
from tests.engine.support import SAMPLE_BPMN, SAMPLE_FORMS
from tests.reliability._web import api_client
from tests.web.support import logged_in, page_csrf

SHAPE = {"code", "message", "message_zh", "details"}


def _shaped(r, status):
    assert r.status_code == status, r.text[:300]
    body = r.json()
    assert set(body) == SHAPE, body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message_zh"]), body  # said in Chinese
    return body


@pytest.mark.parametrize("send", [
    lambda c: c.post("/api/session", content=b'{"username": "x"', headers={"Content-Type": "application/json"}),
    lambda c: c.post("/api/session", json={"username": "x"}),
    lambda c: c.post("/api/session", json=["not", "an", "object"]),
    lambda c: c.post("/api/session", json={"username": "x" * 100, "password": "y"}),
])
def test_fastapi_validation_errors_have_the_documented_shape(app, send):
    body = _shaped(send(TestClient(app)), 422)
    assert body["code"] == "validation_failed" and body["details"]
    assert all({"field", "message", "message_zh"} <= set(d) for d in body["details"])
    assert "x" * 100 not in str(body)  # the input is not echoed back


def test_http_errors_of_the_framework_have_the_documented_shape(app):
    c = api_client(app)
    assert _shaped(c.get("/api/no-such-thing"), 404)["code"] == "not_found"
    assert _shaped(c.put("/api/session"), 405)["code"] == "method_not_allowed"
    assert _shaped(c.get("/api/cases/XY-0/audit/verify", headers={"X-CSRF-Token": ""}), 404)["code"] == "not_found"
    page = TestClient(app).get("/no-such-page")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"] and "您要找的页面不存在" in page.text


def test_query_validation_errors_have_the_shape_too(app):
    c = api_client(app)
    r = c.get("/api/cases", params={"limit": "many"})
    if r.status_code != 200:  # only where the route declares a typed parameter
        _shaped(r, 422)


def test_a_script_failing_at_case_start_is_a_clear_error_and_opens_nothing(web_rt, tmp_path):
    bpmn = tmp_path / "bpmn"
    bpmn.mkdir()
    source = (SAMPLE_BPMN / "sample_review.bpmn").read_text(encoding="utf-8")
    old = '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="apply" />'
    assert old in source
    (bpmn / "sample_review.bpmn").write_text(source.replace(old, old.replace('"apply"', '"classify"')), encoding="utf-8")
    deploy(web_rt, [bpmn], SAMPLE_FORMS)  # `classify` reads `amount`, which nothing set yet
    from engine.web.app import create_app

    c = api_client(create_app(web_rt.settings, web_rt.clock))
    with web_rt.uow() as s:
        before = s.scalar(select(func.count()).select_from(Case))
    body = _shaped(c.post("/api/cases", json={"process_key": "sample_review", "compound_code": "PK-JP-XC-01"}), 422)
    assert "流程无法继续" in body["message_zh"] and "amount" in body["message"]
    with web_rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == before


@pytest.mark.parametrize("name, bare", [
    ("../../../../etc/passwd", "passwd"), ("..\\..\\boot.ini", "boot.ini"), ("名册\x00.csv", "名册.csv"),
    ('a"; filename="evil.sh', "a; filename=evil.sh"), ("\u202egpj.exe", "gpj.exe"), ("...", "file"),
])
def test_content_disposition_names_only_a_bare_file(name, bare):
    value = content_disposition(name)
    assert "/" not in value.split("filename*=", 1)[0] and "\\" not in value
    assert value.count('"') == 2 and "\x00" not in value and "\u202e" not in value
    from urllib.parse import unquote

    assert unquote(value.split("filename*=UTF-8''", 1)[1]) == bare


def test_an_uploaded_file_named_with_a_path_is_stored_and_served_by_its_bare_name(app, web_rt):
    from tests.web.test_pages import VALID, start_web_case

    c = logged_in(app, "street")
    url = start_web_case(c)
    r = c.post(url, data={"csrf_token": page_csrf(c), **VALID},
               files={"roll": ("../../../../etc/passwd", b"root:x:0:0\n", "text/plain")}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    with web_rt.uow() as s:
        att = s.scalars(select(Attachment)).one()
        number = s.get(Case, att.case_id).case_number
    assert att.filename == "passwd"
    dl = c.get(f"/cases/{number}/attachments/{att.id}")
    assert dl.status_code == 200 and "/" not in dl.headers["content-disposition"].split("filename*=")[0]
    assert "etc" not in dl.headers["content-disposition"]


def test_security_headers_on_pages_api_errors_and_refusals(app):
    c = TestClient(app)
    for r in (c.get("/login"), c.get("/api/me"), c.get("/no-such-page"), c.get("/static/app/app.css"),
              c.post("/api/session", json={"username": "a\x00", "password": "b"})):
        h = r.headers
        assert h["x-content-type-options"] == "nosniff", r.url
        assert "script-src 'self'" in h["content-security-policy"] and "frame-ancestors 'none'" in h["content-security-policy"]
        assert h["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in h  # plain HTTP: no HSTS
    assert "strict-transport-security" in TestClient(app, base_url="https://testserver").get("/login").headers


def test_hsts_when_the_public_address_is_https(web_rt, clock):
    from dataclasses import replace

    from engine.web.app import create_app

    https = create_app(replace(web_rt.settings, base_url="https://wy.example.cn"), clock)
    assert TestClient(https).get("/login").headers["strict-transport-security"].startswith("max-age=")


def test_pages_carry_no_inline_script_the_policy_would_block():
    import re

    templates = Path(__file__).resolve().parents[2] / "engine" / "web" / "templates"
    for f in templates.rglob("*.html"):
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+=", text), f
        assert "javascript:" not in text, f
        for m in re.finditer(r"<script(?![^>]*\bsrc=)([^>]*)>", text):
            assert 'type="application/json"' in m.group(1), f  # data only, never executed


def test_the_published_schema_describes_validation_errors_as_they_are(app):
    schema = TestClient(app).get("/openapi.json").json()
    shape = schema["components"]["schemas"]["HTTPValidationError"]
    assert set(shape["properties"]) == SHAPE
