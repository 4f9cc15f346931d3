"""JSON API under /api (described at /openapi.json). Same session cookie as the pages; writes
need the session's CSRF token in the `X-CSRF-Token` header. Errors are
{code, message, message_zh, details} with 400/401/403/404/405/409/413/422 — the framework's own
validation and routing errors too (engine.web.context turns them into this shape)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from engine.views import audit as audit_views
from engine.views import cases as case_views

from .cases import case_attachments, case_documents, training_only
from .context import Viewer, check_csrf, client_address, end_user_sessions, runtime, start_session, viewer
from .deps import CurrentViewer
from .history import timeline
from .security import LoginFailed, login

router = APIRouter(prefix="/api")


class ErrorOut(BaseModel):
    code: str
    message: str
    message_zh: str
    details: list[Any] = []


ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut, "description": "未登录"}, 403: {"model": ErrorOut, "description": "无权操作"},
          404: {"model": ErrorOut, "description": "不存在（或不在辖区内）"}}


class LoginIn(BaseModel):
    username: str = Field(..., max_length=64)
    password: str = Field(..., max_length=256)


class SessionOut(BaseModel):
    username: str
    display_name: str
    role: str
    jurisdiction: str | None
    csrf_token: str


class CompleteIn(BaseModel):
    data: dict[str, Any] = Field(default_factory=dict, description="表单数据（按任务的 JSON Schema）")
    expected_version: int | None = Field(None, ge=0, le=2**31 - 1,
                                         description="打开任务时案件的版本；不一致则 409")


class StartIn(BaseModel):
    process_key: str = Field(..., max_length=100)
    compound_code: str = Field(..., max_length=64)
    data: dict[str, Any] = Field(default_factory=dict)
    title: str | None = Field(None, max_length=300)


class ReplacementOut(BaseModel):
    doc_number: str | None
    title: str
    verification_code: str
    issued_on: str


class VerifyOut(BaseModel):
    doc_number: str | None
    title: str
    issuer: str
    issued_on: str
    case_number: str | None
    compound: str | None = Field(None, description="所属小区")
    process: str | None = Field(None, description="所属事项（流程）")
    sha256: str
    verification_code: str
    pages: int
    page_image: bool = Field(..., description="核验页是否显示首页图像（选票含业主信息，不显示）")
    status: str = Field(..., description="valid | superseded | revoked")
    status_zh: str = Field(..., description="有效 / 已被〔2026〕7号替代 / 已撤销")
    reason: str | None = Field(None, description="撤销原因")
    revoked_by: str | None = None
    revoked_at: str | None = None
    replaced_by: ReplacementOut | None = None


class RevokeIn(BaseModel):
    reason: str = Field(..., max_length=500, description="撤销原因（居民在核验页看到）")


def _session_out(v: Viewer) -> SessionOut:
    return SessionOut(username=v.username, display_name=v.display_name, role=v.role,
                      jurisdiction=v.jurisdiction_code, csrf_token=v.csrf)


@router.post("/session", tags=["session"], response_model=SessionOut,
             responses={401: {"model": ErrorOut, "description": "用户名或密码错误"},
                        429: {"model": ErrorOut, "description": "失败次数过多，稍后再试（Retry-After）"}})
def api_login(request: Request, body: LoginIn):
    """登录：设置会话 Cookie，返回写操作所需的 CSRF 令牌。"""
    try:
        user = login(runtime(request), body.username, body.password, client_address(request))
    except LoginFailed as failure:
        from fastapi.responses import JSONResponse

        code = "login_throttled" if failure.retry_after else "login_failed"
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else None
        return JSONResponse({"code": code, "message": failure.message, "message_zh": failure.message_zh,
                             "details": []}, status_code=429 if failure.retry_after else 401, headers=headers)
    start_session(request, user)
    return _session_out(viewer(request))


@router.delete("/session", tags=["session"], status_code=204, responses=ERRORS,
               dependencies=[Depends(check_csrf)])
def api_logout(request: Request, v: CurrentViewer):
    """退出登录：该用户的所有会话（所有设备）一并失效。"""
    end_user_sessions(request, v)
    return Response(status_code=204)


class PasswordIn(BaseModel):
    current_password: str = Field(..., max_length=256)
    new_password: str = Field(..., max_length=256)


@router.post("/me/password", tags=["session"], response_model=SessionOut, dependencies=[Depends(check_csrf)],
             responses={**ERRORS, 422: {"model": ErrorOut, "description": "原密码错误或新密码太短"}})
def change_password(request: Request, body: PasswordIn, v: CurrentViewer):
    """修改密码：其他会话全部失效，本会话换发新的 Cookie。"""
    from engine.runtime.accounts import change_password as change

    user = change(runtime(request), v.actor, v.username, body.current_password, body.new_password)
    start_session(request, user)
    return _session_out(viewer(request))


@router.get("/me", tags=["session"], response_model=SessionOut, responses=ERRORS)
def me(v: CurrentViewer):
    """当前用户。"""
    return _session_out(v)


@router.get("/tasks", tags=["tasks"], responses=ERRORS)
def list_tasks(request: Request, v: CurrentViewer, process: str | None = Query(None, max_length=100),
               compound: str | None = Query(None, max_length=64), overdue: bool = False,
               limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=10_000_000),
               sort: str = Query("due", pattern="^(due|newest|oldest)$",
                                 description="due：按办理期限（超期在前）；newest / oldest：按到达时间"),
               scope: str = Query("all", pattern="^(all|mine|pool)$",
                                  description="all：本岗位全部；mine：我认领或指派给我的；pool：岗位待办（无人认领）")
               ) -> list[dict[str, Any]]:
    """我的待办（按角色与辖区）。"""
    return [t.as_dict() for t in runtime(request).list_tasks(v.actor, process, compound, overdue, limit, offset,
                                                             order=sort, scope=scope)]


@router.get("/tasks/{task_id}", tags=["tasks"], responses=ERRORS)
def get_task(request: Request, task_id: str, v: CurrentViewer) -> dict[str, Any]:
    """任务详情：表单的 JSON Schema、UI Schema 与当前数据。"""
    return runtime(request).get_task(task_id, v.actor)


@router.post("/tasks/{task_id}/complete", tags=["tasks"], dependencies=[Depends(check_csrf)],
             responses={**ERRORS, 409: {"model": ErrorOut, "description": "已被他人办理或案件已更新"},
                        422: {"model": ErrorOut, "description": "表单数据不符合要求"}})
async def complete_task(request: Request, task_id: str, body: CompleteIn, v: CurrentViewer) -> dict[str, Any]:
    """办理任务（乐观锁：expected_version）。"""
    view = await run_in_threadpool(runtime(request).complete_task, task_id, v.actor, body.data, body.expected_version)
    return view.as_dict()


@router.get("/cases", tags=["cases"], responses=ERRORS)
def list_cases(request: Request, v: CurrentViewer, process: str | None = Query(None, max_length=100),
               status: str | None = Query(None, max_length=16), compound: str | None = Query(None, max_length=64),
               limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=10_000_000),
               q: str | None = Query(None, max_length=200, description="搜索：案件编号（部分、不分大小写）、小区、标题、当事人或候选人姓名、事项名称")
               ) -> list[dict[str, Any]]:
    """辖区内的案件，最新的在前；带 q 时为搜索结果。"""
    return [c.as_dict() for c in runtime(request).list_cases(v.actor, process, status, compound, limit, offset,
                                                             query=q)]


@router.post("/cases", tags=["cases"], status_code=201, dependencies=[Depends(check_csrf)],
             responses={**ERRORS, 422: {"model": ErrorOut, "description": "数据不符合要求"}})
async def start_case(request: Request, body: StartIn, v: CurrentViewer) -> dict[str, Any]:
    """发起新案件。"""
    view = await run_in_threadpool(runtime(request).start_case, body.process_key, body.compound_code, v.actor,
                                   body.data, body.title)
    return view.as_dict()


@router.get("/cases/{case_number}", tags=["cases"], responses=ERRORS)
def get_case(request: Request, case_number: str, v: CurrentViewer) -> dict[str, Any]:
    """案件详情：数据、当前任务（unstaffed 为真表示辖区内没有在岗的该角色用户，待配置办理人员）、等待中的期限。"""
    rt = runtime(request)
    case = rt.get_case(case_number, v.actor).as_dict()
    case_views.mark_unstaffed(rt, case)
    return case


class ClockIn(BaseModel):
    days: int = Field(..., strict=True, description="前进天数（1～366）")  # not true/"3": a whole number
    reason: str = Field(..., max_length=500, description="原因（记入审计）")
    expected_version: int | None = Field(None, ge=0, le=2**31 - 1, description="案件版本；不一致则 409")


@router.post("/cases/{case_number}/training-clock", tags=["cases"],
             dependencies=[Depends(training_only), Depends(check_csrf)],
             responses={**ERRORS, 409: {"model": ErrorOut, "description": "案件已更新或已办结"},
                        422: {"model": ErrorOut, "description": "天数或原因不符合要求"}})
async def advance_clock(request: Request, case_number: str, body: ClockIn, v: CurrentViewer) -> dict[str, Any]:
    """培训环境：模拟案件时间前进（仅系统管理员；非培训数据库无此接口，答 404）。"""
    view = await run_in_threadpool(runtime(request).advance_case_clock, case_number, v.actor, body.days,
                                   body.reason, body.expected_version)
    return view.as_dict()


@router.get("/cases/{case_number}/diagram", tags=["cases"], responses=ERRORS)
def case_diagram(request: Request, case_number: str, v: CurrentViewer) -> dict[str, Any]:
    """流程图 XML 与已完成、进行中、已超期的元素。"""
    return runtime(request).case_diagram(case_number, v.actor)


@router.get("/cases/{case_number}/history", tags=["audit"], responses=ERRORS)
def case_history(request: Request, case_number: str, v: CurrentViewer) -> dict[str, Any]:
    """办理记录（审计链）及其校验结果。"""
    rt = runtime(request)
    view = rt.get_case(case_number, v.actor)
    events, chain = timeline(case_views.case_history(rt, view.case_number))
    return {"case_number": view.case_number, "chain": chain.as_dict(), "events": events}


@router.get("/cases/{case_number}/documents", tags=["cases"], responses=ERRORS)
def documents(request: Request, case_number: str, v: CurrentViewer) -> dict[str, Any]:
    """案件的文书（下载地址与核验码）和附件。"""
    rt = runtime(request)
    view = rt.get_case(case_number, v.actor)
    docs = case_documents(rt, view.id)
    atts = case_attachments(rt, view.id)
    for d in docs:
        d["download_url"] = f"/documents/{d['id']}/download"
        d["verify_url"] = f"/verify/{d['verification_code']}"
    return {"documents": docs, "attachments": atts}


@router.get("/cases/{case_number}/audit/verify", tags=["audit"], responses=ERRORS)
def verify_case_chain(request: Request, case_number: str, v: CurrentViewer) -> dict[str, Any]:
    """重新计算该案件的审计哈希链。"""
    rt = runtime(request)
    view = rt.get_case(case_number, v.actor)
    return audit_views.verify_case_chain(rt, view.case_number)


@router.get("/verify/{code}", tags=["public"], response_model=VerifyOut,
            responses={404: {"model": ErrorOut, "description": "核验码不存在"}})
def verify_code(request: Request, code: str):
    """公开核验（无需登录）：文号、标题、发文机关、日期、所属案件（小区、事项）、sha256 与状态
    （有效 / 已被替代 / 已撤销及原因）。"""
    from .verify import lookup

    found = lookup(request, code)
    if found is None:
        from engine.runtime.errors import NotFound

        raise NotFound(f"no document with code {code!r}", "核验码不存在")
    return found


@router.post("/documents/{document_id}/revoke", tags=["cases"], dependencies=[Depends(check_csrf)],
             response_model=VerifyOut, responses=ERRORS)
def revoke_document(request: Request, document_id: int, body: RevokeIn, v: CurrentViewer):
    """撤销文书（街道党工委，须说明原因；记入审计）。返回撤销后的核验结果。"""
    from .verify import lookup, revoke

    return lookup(request, revoke(request, v, document_id, body.reason))
