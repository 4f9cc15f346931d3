"""JSON API of who does a task (claim, release, assign, delegate), comments on cases and the
supervisor controls (cancel, suspend, resume, reschedule a timer, reopen the last step). Each
endpoint calls one service method; errors have the API's {code, message, message_zh} shape."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from engine.web.api import ERRORS
from engine.web.context import Viewer, check_csrf, runtime, viewer

router = APIRouter(prefix="/api")
WRITE = {"dependencies": [Depends(check_csrf)], "responses": ERRORS}


class HandOverIn(BaseModel):
    assignee: str = Field(..., max_length=64, description="接收人用户名（须为本辖区在岗的该岗位用户）")
    reason: str | None = Field(None, max_length=500, description="原因（转办必填）")


class CommentIn(BaseModel):
    body: str = Field(..., max_length=4000, description="意见内容，可用 @用户名 提及能查看本案件的用户")
    task_id: str | None = Field(None, max_length=36, description="针对的当前步骤（可选）")


class ControlIn(BaseModel):
    reason: str = Field(..., max_length=2000, description="原因（必填，记入审计）")
    expected_version: int | None = Field(None, ge=0, le=2**31 - 1, description="打开案件时的版本；不一致则 409")


class RescheduleIn(ControlIn):
    due: str = Field(..., max_length=40, description="新的期限：日期（当日 24:00 届满）或带时区的时间")


@router.post("/tasks/{task_id}/claim", tags=["tasks"], **WRITE)
async def claim(request: Request, task_id: str, v: Viewer = Depends(viewer)) -> dict[str, Any]:
    """认领：把本岗位的任务从岗位待办中领到自己名下。"""
    return await run_in_threadpool(runtime(request).claim_task, task_id, v.actor)


@router.post("/tasks/{task_id}/release", tags=["tasks"], **WRITE)
async def release(request: Request, task_id: str, v: Viewer = Depends(viewer)) -> dict[str, Any]:
    """退回岗位：本人或上级把任务放回岗位待办。"""
    await run_in_threadpool(runtime(request).release_task, task_id, v.actor)
    return {"holder": None}


@router.post("/tasks/{task_id}/assign", tags=["tasks"], **WRITE)
async def assign(request: Request, task_id: str, body: HandOverIn, v: Viewer = Depends(viewer)) -> dict[str, Any]:
    """指派（上级）：把任务交给本辖区在岗的该岗位用户。"""
    return await run_in_threadpool(runtime(request).assign_task, task_id, v.actor, body.assignee, body.reason)


@router.post("/tasks/{task_id}/delegate", tags=["tasks"], **WRITE)
async def delegate(request: Request, task_id: str, body: HandOverIn, v: Viewer = Depends(viewer)) -> dict[str, Any]:
    """转办（上级，须填原因）。"""
    return await run_in_threadpool(runtime(request).delegate_task, task_id, v.actor, body.assignee, body.reason)


@router.get("/tasks/{task_id}/assignees", tags=["tasks"], responses=ERRORS)
def assignees(request: Request, task_id: str, v: Viewer = Depends(viewer)) -> list[dict[str, str]]:
    """可指派的用户（非上级为空）。"""
    return [{"username": u, "display_name": d} for u, d in runtime(request).task_assignees(task_id, v.actor)]


@router.get("/cases/{case_number}/comments", tags=["cases"], responses=ERRORS)
def comments(request: Request, case_number: str, v: Viewer = Depends(viewer)) -> list[dict[str, Any]]:
    return runtime(request).list_comments(case_number, v.actor)


@router.post("/cases/{case_number}/comments", tags=["cases"], status_code=201, **WRITE)
async def add_comment(request: Request, case_number: str, body: CommentIn,
                      v: Viewer = Depends(viewer)) -> dict[str, Any]:
    """发表意见（可 @提及）。"""
    return await run_in_threadpool(runtime(request).add_comment, case_number, v.actor, body.body, body.task_id)


def _control(name: str, summary: str):
    async def control(request: Request, case_number: str, body: ControlIn,
                      v: Viewer = Depends(viewer)) -> dict[str, Any]:
        method = getattr(runtime(request), name)
        view = await run_in_threadpool(method, case_number, v.actor, body.reason, body.expected_version)
        return view.as_dict()
    control.__name__ = name
    control.__doc__ = summary
    return control


for _path, _name, _summary in (("cancel", "cancel_case", "撤销案件（街道工作人员或管理员，须填原因）。"),
                               ("suspend", "suspend_case", "暂停案件：期限不再触发，任务不能办理。"),
                               ("resume", "resume_case", "恢复已暂停的案件。"),
                               ("reopen", "reopen_step", "重新打开最近办理的步骤（补救，历史保留）。")):
    router.post(f"/cases/{{case_number}}/{_path}", tags=["cases"], **WRITE)(_control(_name, _summary))


@router.post("/cases/{case_number}/timers/{timer_id}/reschedule", tags=["cases"], **WRITE)
async def reschedule(request: Request, case_number: str, timer_id: str, body: RescheduleIn,
                     v: Viewer = Depends(viewer)) -> dict[str, Any]:
    """调整等待中的期限（街道工作人员或管理员，须填原因）。"""
    view = await run_in_threadpool(runtime(request).reschedule_timer, case_number, timer_id, v.actor, body.due,
                                   body.reason, body.expected_version)
    return view.as_dict()
