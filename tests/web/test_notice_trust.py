"""The verify page and API tell a resident whether a notice still stands; a supervisor revokes one
from the case page (with a reason, audited); the admin page sets an organisation's 机关代字 and
seal and warns when QR codes would point where no phone can go."""
from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engine import audit
from engine.db.models import Case, DocumentRevocation, OrgSeal, OrgUnit
from engine.notices.service import issue_document
from tests.notices.samples import SAMPLES
from tests.notices.test_trust import seal_png
from tests.web.support import logged_in, page_csrf
from tests.web.test_pages import VALID, start_web_case


def _case_with_notices(app, rt):
    """A web_forms case with a candidate notice and its replacement (both real PDFs)."""
    c = logged_in(app, "street")
    url = start_web_case(c)
    c.post(url, data={"csrf_token": page_csrf(c), **VALID})
    with rt.uow() as s:
        case = s.scalar(select(Case))
        ctx = {k: v for k, v in SAMPLES["candidate_list_publicity"].items() if k != "issuer"}
        old = issue_document(s, kind="candidate_list_publicity", context=ctx, case=case, actor="street", now=rt.now(),
                             settings=rt.settings)
        new = issue_document(s, kind="candidate_list_publicity", context=ctx, case=case, actor="street", now=rt.now(),
                             settings=rt.settings, replaces=old.id, replace_reason="候选人吴德勇经异议核实不符合条件")
        return case.case_number, (old.id, old.verification_code), (new.id, new.verification_code)


def test_verify_shows_number_case_first_page_and_status(app, web_rt):
    number, (old_id, old_code), (new_id, new_code) = _case_with_notices(app, web_rt)
    public = TestClient(app)
    page = public.get(f"/verify/{old_code}").text
    for shown in ("江街〔2026〕1号", "关于业主委员会委员候选人名单的公示", "江浦街道办事处", "2026-11-21",
                  "明发滨江新城小区", number, "已被江街〔2026〕2号替代", f'href="/verify/{new_code}"',
                  f'src="/verify/{old_code}/page-1.png"'):
        assert shown in page, shown
    assert 'id="verified"' not in page  # a superseded notice is not reported as simply 核验通过
    img = public.get(f"/verify/{old_code}/page-1.png")
    assert img.status_code == 200 and img.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert public.get("/verify/ZZZZ9999ZZZZ/page-1.png").status_code == 404
    api = public.get(f"/api/verify/{old_code}").json()
    assert api["status"] == "superseded" and api["status_zh"] == "已被江街〔2026〕2号替代"
    assert api["replaced_by"]["verification_code"] == new_code and api["doc_number"] == "江街〔2026〕1号"
    assert api["compound"] == "明发滨江新城小区" and api["case_number"] == number and api["process"]
    fresh = public.get(f"/verify/{new_code}").text
    assert 'id="verified"' in fresh and "有效" in fresh


def test_a_supervisor_revokes_with_a_reason_and_residents_see_it(app, web_rt):
    number, _old, (new_id, new_code) = _case_with_notices(app, web_rt)
    street = logged_in(app, "street")
    assert 'action="/documents/' not in street.get(f"/cases/{number}").text  # no revoke form for them
    r = street.post(f"/documents/{new_id}/revoke", data={"csrf_token": page_csrf(street), "reason": "发布有误请撤销"})
    assert r.status_code == 403
    sparty = logged_in(app, "sparty")
    case_page = sparty.get(f"/cases/{number}").text
    assert f'action="/documents/{new_id}/revoke"' in case_page
    tok = page_csrf(sparty)
    assert sparty.post(f"/documents/{new_id}/revoke", data={"csrf_token": tok, "reason": "错"}).status_code == 422
    assert sparty.post(f"/documents/{new_id}/revoke", data={"reason": "没有令牌的撤销"}).status_code == 403  # CSRF
    with web_rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(DocumentRevocation)) == 0  # refused: nothing changed
    r = sparty.post(f"/documents/{new_id}/revoke", data={"csrf_token": tok, "reason": "选举程序暂停，候选人名单重新审查"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/verify/{new_code}"
    page = TestClient(app).get(f"/verify/{new_code}").text
    assert 'id="revoked"' in page and "选举程序暂停，候选人名单重新审查" in page
    api = TestClient(app).get(f"/api/verify/{new_code}").json()
    assert api["status"] == "revoked" and api["status_zh"] == "已撤销" and api["reason"] == "选举程序暂停，候选人名单重新审查"
    with web_rt.uow() as s:
        events = [e for e in audit.chain_events(s, audit.case_chain(number)) if e.action == "document_revoked"]
        assert len(events) == 1 and events[0].actor == "sparty"
        assert audit.verify(s, audit.case_chain(number))[0].ok
    # The API route: same rule, JSON answer; a second revocation is a conflict.
    api_client = logged_in(app, "sparty")
    csrf = api_client.get("/api/me").json()["csrf_token"]
    again = api_client.post(f"/api/documents/{new_id}/revoke", json={"reason": "再次撤销"}, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409 and again.json()["message_zh"]
    outside = logged_in(app, "community2")  # another community: the document does not exist for them
    csrf2 = outside.get("/api/me").json()["csrf_token"]
    assert outside.post(f"/api/documents/{new_id}/revoke", json={"reason": "越权撤销"},
                        headers={"X-CSRF-Token": csrf2}).status_code == 404


def test_admin_sets_prefix_and_seal_and_sees_base_url_warning(app, web_rt, clock):
    from engine.web.app import create_app

    a = logged_in(app, "admin")
    assert "base-url-warning" not in a.get("/admin").text  # http://testserver is assumed reachable
    tok = page_csrf(a, "/admin/orgs")
    r = a.post("/admin/orgs/PK-JP", data={"csrf_token": tok, "doc_prefix": "JP"})
    assert r.status_code == 422 and "机关代字" in r.text
    r = a.post("/admin/orgs/PK-JP", data={"csrf_token": tok, "doc_prefix": "江浦"},
               files={"seal": ("seal.gif", b"GIF89a", "image/gif")})
    assert r.status_code == 422 and "PNG" in r.text
    with web_rt.uow() as s:
        street = s.scalar(select(OrgUnit).where(OrgUnit.code == "PK-JP"))
        assert street.doc_prefix == "江街" and s.get(OrgSeal, street.id) is None  # refused: nothing changed
    r = a.post("/admin/orgs/PK-JP", data={"csrf_token": tok, "doc_prefix": "江浦"},
               files={"seal": ("seal.png", seal_png(), "image/png")})
    assert r.status_code == 200 and "已保存" in r.text and 'href="/admin/orgs/PK-JP/seal.png"' in r.text
    assert a.get("/admin/orgs/PK-JP/seal.png").content == seal_png()
    assert a.get("/admin/orgs/PK-JP-XC/seal.png").status_code == 404
    assert a.post("/admin/orgs/NOPE", data={"csrf_token": tok, "doc_prefix": "江浦"}).status_code == 422
    with web_rt.uow() as s:
        assert [e.action for e in audit.chain_events(s, "org:PK-JP")] == ["org_doc_prefix_changed", "org_seal_uploaded"]
    local = create_app(replace(web_rt.settings, base_url="http://192.168.1.20:8000"), clock)
    warning = logged_in(local, "admin").get("/admin").text
    assert 'id="base-url-warning"' in warning and "内网地址" in warning


def test_a_ballot_code_verifies_without_showing_any_owner_page(app, web_rt):
    with web_rt.uow() as s:
        doc = issue_document(s, kind="ballot", context=dict(SAMPLES["ballot"]), actor="street", now=web_rt.now(),
                             settings=web_rt.settings)
        code = doc.verification_code
    public = TestClient(app)
    page = public.get(f"/verify/{code}-2")
    assert page.status_code == 200 and "page-1.png" not in page.text and "孙晓燕" not in page.text
    assert public.get(f"/verify/{code}/page-1.png").status_code == 404
    assert public.get(f"/api/verify/{code}-2").json()["page_image"] is False
