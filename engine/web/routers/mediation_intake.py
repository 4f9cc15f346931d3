"""`POST /api/mediation-cases`: disputes filed by an integration (the 12345 hotline, a grid system).

Authorised by a per-integration bearer token (hashed at rest, revocable; scope
`mediation_intake`), never by a session cookie — so no CSRF token either. The body is checked
against the published schema `engine/schemas/mediation_case.schema.json` (GET
/api/mediation-cases/schema serves it). A repeated (source, reference) answers with the case
opened the first time (200) instead of opening another (201).
"""
from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from engine import tokens
from engine.processes import mediation as intake
from engine.runtime.actors import Actor
from engine.runtime.errors import Forbidden, HongwuError, NotFound, ValidationFailed

router = APIRouter()
SCOPE = "mediation_intake"
_STATUS = {tokens.TokenRefused: 401, Forbidden: 403, NotFound: 404, ValidationFailed: 422}


def _error(exc: HongwuError) -> JSONResponse:
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
    headers = {"WWW-Authenticate": 'Bearer realm="hongwu"'} if status == 401 else None
    return JSONResponse({"code": exc.code, "message": exc.message, "message_zh": exc.message_zh,
                         "details": exc.details}, status_code=status, headers=headers)


@router.get("/api/mediation-cases/schema")
def published_schema() -> JSONResponse:
    """The intake schema integrations validate against."""
    return JSONResponse(intake.published_schema())


@router.post("/api/mediation-cases")
async def create_mediation_case(request: Request) -> JSONResponse:
    runtime = request.app.state.runtime
    try:
        with runtime.uow() as s:
            token = tokens.verify_token(s, tokens.bearer(request.headers.get("authorization")), SCOPE)
        raw = await request.body()
        try:
            payload = json.loads(raw.decode("utf-8") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValidationFailed(f"the body is not valid JSON: {exc}", f"请求体不是有效的 JSON：{exc}",
                                   details=[{"field": "", "message": f"not valid JSON: {exc}",
                                             "message_zh": "请求体不是有效的 JSON"}]) from None
        actor = Actor.system(f"api:{token.name}")
        view, created = intake.intake_case(runtime, payload, actor, within_path=token.org_path)
    except HongwuError as exc:
        return _error(exc)
    body = {"case_number": view.case_number, "status": view.status, "created": created,
            "reference": payload["reference"], "compound": view.compound_code, "url": f"/cases/{view.case_number}"}
    return JSONResponse(body, status_code=201 if created else 200,
                        headers={"Location": f"/cases/{view.case_number}"})
