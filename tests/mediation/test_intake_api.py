"""POST /api/mediation-cases: token auth, schema validation, idempotency; API tokens themselves."""
from __future__ import annotations

import hashlib

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engine.db.models import ApiToken, Case
from engine.runtime.errors import ValidationFailed
from engine.tokens import TokenRefused, create_token, list_tokens, revoke_token, verify_token
from engine.web.routers import mediation_intake
from tests.mediation.support import PARTIES, SYSTEM, task


def client_for(runtime, bare: bool = False) -> TestClient:
    """The whole web app (sessions, CSRF, error handlers) — or the router alone on a bare app."""
    if bare:
        app = FastAPI()
        app.include_router(mediation_intake.router)
    else:
        from engine.web.app import create_app

        app = create_app(runtime.settings, runtime.clock)
    app.state.runtime = runtime
    return TestClient(app)


def new_token(runtime, name="12345hotline", org=None):
    with runtime.uow() as s:
        info, secret = create_token(s, name, "mediation_intake", org_code=org, actor="admin", now=runtime.now())
    return info, secret


def payload(**over):
    body = {"reference": "12345-20261121-0001", "compound": "PK-JP-XC-01", "source": "hotline_12345",
            "category": "noise", "parties": PARTIES,
            "facts": "业主反映小区二次供水泵房夜间噪声超标，多次向物业公司反映未果。", "claims": "夜间停机或加装减震"}
    body.update(over)
    return body


def auth(secret):
    return {"Authorization": f"Bearer {secret}"}


def case_count(runtime, ref):
    with runtime.uow() as s:
        return s.scalar(select(func.count()).select_from(Case).where(Case.external_ref == ref))


def test_tokens_store_only_a_hash_and_can_be_revoked(runtime):
    info, secret = new_token(runtime)
    with runtime.uow() as s:
        row = s.get(ApiToken, info.id)
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in row.token_hash
        assert verify_token(s, secret, "mediation_intake").name == "12345hotline"
        with pytest.raises(TokenRefused):
            verify_token(s, secret + "x", "mediation_intake")
        with pytest.raises(TokenRefused):
            verify_token(s, secret, "other_scope")
    with runtime.uow() as s:
        revoke_token(s, info.id, actor="admin", now=runtime.now())
    with runtime.uow() as s:
        with pytest.raises(TokenRefused):
            verify_token(s, secret, "mediation_intake")
        assert list_tokens(s)[0].revoked_at is not None
    with runtime.uow() as s, pytest.raises(ValidationFailed):
        create_token(s, "x", "everything", actor="admin", now=runtime.now())


def test_bad_token_is_401(med):
    client = client_for(med)
    info, secret = new_token(med)
    for headers in ({}, {"Authorization": "Bearer hw_not-a-real-token"}, {"Authorization": f"Basic {secret}"}):
        r = client.post("/api/mediation-cases", json=payload(), headers=headers)
        assert r.status_code == 401, r.text
        assert r.json()["code"] == "unauthorized" and r.json()["message_zh"]
        assert r.headers["www-authenticate"].startswith("Bearer")
    with med.uow() as s:
        revoke_token(s, info.id, actor="admin", now=med.now())
    r = client.post("/api/mediation-cases", json=payload(), headers=auth(secret))
    assert r.status_code == 401
    assert case_count(med, payload()["reference"]) == 0


def test_invalid_json_is_422_with_field_errors(med):
    client = client_for(med)
    _info, secret = new_token(med)
    bad = payload(category="quarrel", parties=[{"kind": "owner", "side": "applicant", "name": "张建国"}])
    del bad["facts"]
    r = client.post("/api/mediation-cases", json=bad, headers=auth(secret))
    assert r.status_code == 422, r.text
    body = r.json()
    fields = {d["field"] for d in body["details"]}
    assert {"category", "facts", "parties", "parties.0.phone"} <= fields, fields
    for d in body["details"]:
        assert d["message"] and d["message_zh"]
    assert any("纠纷类别" in d["message_zh"] for d in body["details"])
    r = client.post("/api/mediation-cases", content=b"{not json", headers={**auth(secret), "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["details"][0]["message_zh"] == "请求体不是有效的 JSON"
    r = client.post("/api/mediation-cases", json=payload(compound="PK-XX-99"), headers=auth(secret))
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "compound"
    assert case_count(med, payload()["reference"]) == 0


@pytest.mark.parametrize("bare", [False, True], ids=["app", "bare"])
def test_duplicate_reference_returns_the_same_case(med, bare):
    client = client_for(med, bare)
    _info, secret = new_token(med)
    first = client.post("/api/mediation-cases", json=payload(), headers=auth(secret))
    assert first.status_code == 201, first.text
    number = first.json()["case_number"]
    assert first.json()["created"] is True and first.headers["location"] == f"/cases/{number}"
    again = client.post("/api/mediation-cases", json=payload(facts="重复推送的同一工单，内容略有不同。"), headers=auth(secret))
    assert again.status_code == 200 and again.json()["case_number"] == number and again.json()["created"] is False
    assert case_count(med, payload()["reference"]) == 1
    other = client.post("/api/mediation-cases", json=payload(reference="12345-20261121-0002"), headers=auth(secret))
    assert other.status_code == 201 and other.json()["case_number"] != number

    # The case skips the window's registration: its data came with the request.
    view = med.get_case(number, SYSTEM)
    assert [t["name"] for t in view.tasks] == ["review"]
    assert task(med, number, "review")["role"] == "community_staff"
    assert view.summary["source"] == "hotline_12345" and view.summary["category"] == "noise"
    assert view.summary["external_ref"] == "12345-20261121-0001"
    assert view.data["facts"].startswith("业主反映小区二次供水泵房")
    with med.uow() as s:
        case = s.scalar(select(Case).where(Case.case_number == number))
        assert (case.external_source, case.created_by) == ("mediation:hotline_12345", "api:12345hotline")


def test_token_limited_to_its_organisation(med):
    client = client_for(med)
    _info, secret = new_token(med, name="wenjing-grid", org="PK-JP-WJ")
    r = client.post("/api/mediation-cases", json=payload(), headers=auth(secret))
    assert r.status_code == 403 and r.json()["message_zh"]
    r = client.post("/api/mediation-cases", json=payload(compound="PK-JP-WJ-01", source="grid_member"),
                    headers=auth(secret))
    assert r.status_code == 201


def test_published_schema_is_served(med):
    r = client_for(med).get("/api/mediation-cases/schema")
    assert r.status_code == 200 and set(r.json()["required"]) >= {"reference", "compound", "parties"}


def test_form_and_published_schema_agree():
    """The window's registration form asks exactly the dispute fields of the published schema."""
    import json
    from pathlib import Path

    from engine.processes.mediation import published_schema

    form = json.loads((Path(__file__).resolve().parents[2] / "forms/mediation/intake.schema.json").read_text("utf-8"))
    api = published_schema()
    for name, spec in form["properties"].items():
        assert api["properties"][name]["enum" if "enum" in spec else "type"] == spec["enum" if "enum" in spec else "type"]
    assert set(api["properties"]) - set(form["properties"]) == {"reference", "compound"}


def test_concurrent_duplicates_make_one_case(med):
    """The same hotline ticket pushed four times at once: one case, and every answer names it."""
    from concurrent.futures import ThreadPoolExecutor

    from engine.runtime.actors import Actor
    from engine.services.mediation_intake import intake_case

    body = payload(reference="12345-RACE-1")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: intake_case(med, body, Actor.system("api:race")), range(4)))
    numbers = {view.case_number for view, _created in results}
    assert len(numbers) == 1
    assert sum(created for _view, created in results) == 1
    assert case_count(med, "12345-RACE-1") == 1
