"""`POST /api/mediation-cases`: disputes filed by an integration (the 12345 hotline, a grid system).

Authorised by a per-integration bearer token (hashed at rest, revocable; scope
`mediation_intake`), never by a session cookie — so no CSRF token either. The body is checked
against the published schema `engine/schemas/mediation_case.schema.json` (GET
/api/mediation-cases/schema serves it). A repeated (source, reference) answers with the case
opened the first time (200) instead of opening another (201).
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from engine.runtime.actors import Actor
from engine.runtime.errors import Forbidden, HongwuError, NotFound, ValidationFailed
from engine.runtime.limits import TooLarge, parse_json
from engine.services import mediation_intake as intake
from engine.services import tokens

router = APIRouter()
SCOPE = "mediation_intake"
_STATUS = {tokens.TokenRefused: 401, Forbidden: 403, NotFound: 404, TooLarge: 413, ValidationFailed: 422}


def _error(exc: HongwuError) -> JSONResponse:
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
    headers = {"WWW-Authenticate": 'Bearer realm="hongwu"'} if status == 401 else None
    return JSONResponse({"code": exc.code, "message": exc.message, "message_zh": exc.message_zh,
                         "details": exc.details}, status_code=status, headers=headers)


@router.get("/api/mediation-cases/schema", tags=["mediation"], summary="调解受理接口的请求体 JSON Schema")
def published_schema() -> JSONResponse:
    """The intake schema integrations validate against."""
    return JSONResponse(intake.published_schema())


def _error_schema() -> dict:
    return {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "message_zh": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}, "message_zh": {"type": "string"}}}}}}


def _openapi() -> dict:
    schema = {k: v for k, v in intake.published_schema().items() if k not in ("$schema", "$id")}
    case = {"type": "object", "properties": {"case_number": {"type": "string"}, "status": {"type": "string"},
                                             "created": {"type": "boolean"}, "reference": {"type": "string"},
                                             "compound": {"type": "string"}, "url": {"type": "string"}}}
    err = {"content": {"application/json": {"schema": _error_schema()}}}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        "parameters": [{"name": "Authorization", "in": "header", "required": True,
                        "description": "Bearer <API 令牌>（hongwu token create … --scope mediation_intake）",
                        "schema": {"type": "string"}}],
        "responses": {
            "201": {"description": "已立案 / case opened", "content": {"application/json": {"schema": case}}},
            "200": {"description": "同一来源单号已立案，返回原案件 / the case opened for this reference before",
                    "content": {"application/json": {"schema": case}}},
            "401": {"description": "API 令牌缺失、无效或已吊销 / missing, unknown or revoked token", **err},
            "403": {"description": "令牌无权向该小区报送 / compound outside the token's organisation", **err},
            "422": {"description": "请求内容有误（逐字段，中英文）/ field errors", **err},
        },
    }


@router.post("/api/mediation-cases", status_code=201, summary="外部系统报送物业纠纷（12345 热线等）",
             tags=["mediation"], openapi_extra=_openapi())
async def create_mediation_case(request: Request) -> JSONResponse:
    """Open a tiered-mediation case from an integration; idempotent by (source, reference)."""
    runtime = request.app.state.runtime
    try:
        token = tokens.token_for(runtime, request.headers.get("authorization"), SCOPE)
        raw = await request.body()
        payload = parse_json(raw) if raw.strip() else None  # depth, NUL, size and number limits
        actor = Actor.system(f"api:{token.name}")
        view, created = intake.intake_case(runtime, payload, actor, within_path=token.org_path)
    except HongwuError as exc:
        return _error(exc)
    body = {"case_number": view.case_number, "status": view.status, "created": created,
            "reference": (payload or {}).get("reference"), "compound": view.compound_code, "url": f"/cases/{view.case_number}"}
    return JSONResponse(body, status_code=201 if created else 200,
                        headers={"Location": f"/cases/{view.case_number}"})
