"""Every route × every role (and anonymous): who gets through and who is refused.

A route added without an entry here fails the test, so access rules are decided on purpose.
Routes contributed by engine/web/routers/ modules are checked for "no server error" only (their
own tests own their rules)."""
from __future__ import annotations

import hashlib

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from engine.db.models import Case, Document
from engine.web.app import extra_routers
from tests.web.support import USERNAMES, logged_in, page_csrf

IN_JURISDICTION = set(USERNAMES) - {"community2"}  # the case lies in compound PK-JP-XC-01
RULES = {
    "public": set(USERNAMES) | {None},
    "user": set(USERNAMES),
    "case": IN_JURISDICTION,
    "task": {"street"},  # the open task is in the 街道办事处 lane
    "start": {"street", "community"},  # in compound PK-JP-XC-01
    "start_page": {"street", "community", "community2"},  # roles that may open some deployed process
    "audit": {"auditor", "admin"},
    "admin": {"admin"},
    "dashboard": {"street", "sparty", "mediator", "auditor", "admin"},
    "revoke": {"sparty"},  # the street party working committee supervises notices
    "absent": set(),  # training-database routes: this database is not one, so they answer 404 to all
}
# (method, path) -> rule
MATRIX = {
    ("GET", "/"): "public", ("GET", "/login"): "public", ("POST", "/login"): "public",
    ("POST", "/logout"): "public", ("GET", "/healthz"): "public", ("GET", "/favicon.ico"): "public",
    ("GET", "/inbox"): "user",
    ("GET", "/tasks/{task_id}"): "task", ("POST", "/tasks/{task_id}"): "task",
    ("GET", "/cases"): "user", ("GET", "/cases/new"): "start_page", ("POST", "/cases/new"): "start",
    ("GET", "/cases/{case_number}"): "case",
    ("GET", "/cases/{case_number}/attachments/{attachment_id}"): "case",
    ("GET", "/documents/{document_id}/download"): "case",
    ("GET", "/audit"): "audit", ("GET", "/audit/verify"): "audit", ("GET", "/audit/export"): "audit",
    ("GET", "/audit/cases/{case_number}/export"): "audit", ("POST", "/audit/export/job"): "audit",
    ("GET", "/admin"): "admin", ("GET", "/admin/users"): "admin", ("POST", "/admin/users"): "admin",
    ("POST", "/admin/users/{username}"): "admin", ("GET", "/admin/orgs"): "admin", ("POST", "/admin/orgs"): "admin",
    ("POST", "/admin/staffing"): "admin",
    ("POST", "/admin/orgs/{org_code}"): "admin", ("GET", "/admin/orgs/{org_code}/seal.png"): "admin",
    ("GET", "/admin/deploy"): "admin", ("POST", "/admin/deploy"): "admin",
    ("GET", "/admin/settings/{key}"): "admin", ("POST", "/admin/settings/{key}"): "admin",
    ("GET", "/admin/settings"): "admin",
    ("GET", "/admin/calendar"): "admin", ("POST", "/admin/calendar"): "admin",
    ("GET", "/dashboard"): "dashboard", ("GET", "/dashboard/{street_code}"): "dashboard",
    ("GET", "/verify/{code}"): "public", ("GET", "/verify"): "public", ("GET", "/verify/{code}/page-1.png"): "public",
    ("POST", "/documents/{document_id}/revoke"): "revoke", ("POST", "/api/documents/{document_id}/revoke"): "revoke",
    ("POST", "/api/session"): "public", ("DELETE", "/api/session"): "user", ("GET", "/api/me"): "user",
    ("POST", "/api/me/password"): "user",
    ("GET", "/api/tasks"): "user", ("GET", "/api/tasks/{task_id}"): "task",
    ("POST", "/api/tasks/{task_id}/complete"): "task",
    ("GET", "/api/cases"): "user", ("POST", "/api/cases"): "start",
    ("GET", "/api/cases/{case_number}"): "case", ("GET", "/api/cases/{case_number}/diagram"): "case",
    ("GET", "/api/cases/{case_number}/history"): "case", ("GET", "/api/cases/{case_number}/documents"): "case",
    ("GET", "/api/cases/{case_number}/audit/verify"): "case",
    ("GET", "/api/verify/{code}"): "public",
    ("POST", "/cases/{case_number}/training-clock"): "absent",
    ("POST", "/api/cases/{case_number}/training-clock"): "absent",
}
LAST = {("POST", "/logout"), ("DELETE", "/api/session")}  # they end the session


def all_routes(app) -> list[tuple[str, str, bool]]:
    """(method, path, is_extra) of every endpoint, looking inside included routers."""
    extra_ids = {id(r) for r in extra_routers()}
    out: list[tuple[str, str, bool]] = []

    def walk(routes, extra):
        for r in routes:
            original = getattr(r, "original_router", None)
            if original is not None:
                walk(original.routes, extra or id(original) in extra_ids or
                     any(original is x for x in extra_routers()))
            elif isinstance(r, APIRoute) or hasattr(r, "methods") and getattr(r, "path", "").startswith("/"):
                for m in sorted(r.methods or []):
                    if m != "HEAD":
                        out.append((m, r.path, extra))

    walk(app.routes, False)
    return [x for x in out if x[1] not in ("/openapi.json", "/api/docs", "/docs/oauth2-redirect")]


def blank_pdf() -> bytes:
    import io

    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(200, 200)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def setup_world(app, rt):
    street = logged_in(app, "street")
    r = street.post("/cases/new", data={"process": "web_forms", "compound": "PK-JP-XC-01",
                                        "csrf_token": page_csrf(street)}, follow_redirects=False)
    task_id = r.headers["location"].split("/")[2]
    from engine.attachments import store_attachment

    with rt.uow() as s:
        case = s.scalar(select(Case))
        att = store_attachment(s, filename="a.txt", content=b"abc", actor="street", now=rt.now(), case_id=case.id)
        pdf = blank_pdf()  # the verify page shows its first page
        doc = Document(case_id=case.id, kind="notice", title="公告", issuer="江浦街道办事处", issued_on="2026-11-21",
                       sha256=hashlib.sha256(pdf).hexdigest(), size=len(pdf), content=pdf, verification_code="MATRIX234567",
                       context="{}", created_by="street", created_at=rt.now())
        s.add(doc)
        s.flush()
        from engine.db.models import OrgSeal, OrgUnit

        street = s.scalar(select(OrgUnit).where(OrgUnit.code == "PK-JP"))
        s.add(OrgSeal(org_unit_id=street.id, content_type="image/png", content=b"\x89PNG", sha256="0" * 64,
                      uploaded_by="admin", uploaded_at=rt.now()))
        return {"case_number": case.case_number, "task_id": task_id, "attachment_id": att.id, "document_id": doc.id,
                "org_code": "PK-JP",
                "code": "MATRIX234567", "street_code": "PK-JP", "key": "mediation_deadlines", "username": "community",
                "name": "roll", "fmt": "xlsx",  # /templates/{name}.{fmt}
                "timer_id": "no-such-timer",  # /cases/{case_number}/timers/{timer_id}/reschedule
                "job_id": "no-such-job"}  # /jobs/{job_id}/... (a job nobody may see)


BODIES = {  # form or JSON bodies that pass input parsing, so the answer is about access
    ("POST", "/login"): {"data": {"username": "", "password": ""}},
    ("POST", "/audit/export/job"): {"data": {"format": "csv"}},
    ("POST", "/cases/new"): {"data": {"process": "web_forms", "compound": "PK-JP-XC-01"}},
    ("POST", "/tasks/{task_id}"): {"data": {"name": ""}},
    ("POST", "/api/session"): {"json": {"username": "x", "password": "y"}},
    ("POST", "/api/me/password"): {"json": {"current_password": "not-it", "new_password": "whatever-1"}},
    ("POST", "/api/tasks/{task_id}/complete"): {"json": {"data": {}}},
    ("POST", "/api/cases"): {"json": {"process_key": "web_forms", "compound_code": "PK-JP-XC-01"}},
    ("POST", "/admin/settings/{key}"): {"data": {"v.community": "-1"}},
    ("POST", "/admin/orgs/{org_code}"): {"data": {"doc_prefix": "1"}},  # refused input: nothing changes
    ("POST", "/documents/{document_id}/revoke"): {"data": {"reason": ""}},  # refused reason: nothing revoked
    ("POST", "/api/documents/{document_id}/revoke"): {"json": {"reason": ""}},
}


def call(client: TestClient, method: str, path: str, params: dict, csrf: str | None):
    url = path.format(**params)
    body = BODIES.get((method, path), {"data": {}} if not path.startswith("/api") else {"json": {}})
    headers = {"X-CSRF-Token": csrf} if csrf and path.startswith("/api") else {}
    if "data" in body and csrf:
        body = {"data": {**body["data"], "csrf_token": csrf}}
    if method == "GET":
        return client.get(url, follow_redirects=False)
    return client.request(method, url, follow_redirects=False, headers=headers, **body)


def outcome(resp, method: str, path: str) -> str:
    code = resp.status_code
    if code >= 500:
        return "server-error"
    if code == 401 and path.startswith("/api") and (method, path) != ("POST", "/api/session"):
        return "login"
    if code == 303 and resp.headers.get("location", "").startswith("/login") and path not in ("/", "/logout"):
        return "login"
    if code in (403, 404):
        return "denied"
    return "ok"  # 2xx, 3xx, 401 of a failed login, 409, 422: access was granted, input judged


@pytest.mark.slow
def test_every_route_for_every_role(app, web_rt):
    params = setup_world(app, web_rt)
    routes = all_routes(app)
    mine = [(m, p) for m, p, extra in routes if not extra]
    missing = sorted(set(mine) - set(MATRIX))
    assert not missing, f"routes without an access rule in the matrix: {missing}"
    stale = sorted(set(MATRIX) - set(mine))
    assert not stale, f"matrix names routes that no longer exist: {stale}"
    ordered = sorted(routes, key=lambda r: (r[:2] in LAST, r[1], r[0]))
    failures = []
    for who in [None, *USERNAMES]:
        client = logged_in(app, who) if who else TestClient(app)
        csrf = page_csrf(client, "/login" if who is None else "/cases")
        for method, path, extra in ordered:
            if (method, path) in LAST and who:  # each session-ending route gets a session of its own
                client = logged_in(app, who)
                csrf = page_csrf(client, "/cases")
            resp = call(client, method, path, params, csrf)
            got = outcome(resp, method, path)
            if extra:
                if got == "server-error" or (who is None and method != "GET" and resp.status_code < 300):
                    failures.append((who, method, path, resp.status_code))
                continue
            allowed = who in RULES[MATRIX[(method, path)]]
            expected = "ok" if allowed else ("login" if who is None and MATRIX[(method, path)] != "absent" else "denied")
            if got != expected:
                failures.append((who, method, path, resp.status_code, expected))
    assert not failures, "\n".join(map(str, failures))
