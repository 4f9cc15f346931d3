"""Pages' forms for who does a task (认领, 退回, 指派, 转办), comments on a case and the supervisor
controls (撤销, 暂停, 恢复, 调整期限, 重新打开步骤). Each calls one service method; a refusal
shows the case page again with the Chinese reason, or the error page for inbox actions."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from engine.runtime.claims import controls_cases, supervises
from engine.runtime.errors import HongwuError
from engine.web.context import Viewer, check_csrf, render, runtime, status_for, viewer

router = APIRouter(include_in_schema=False)
CONTROLS = {"cancel": "cancel_case", "suspend": "suspend_case", "resume": "resume_case", "reopen": "reopen_step"}
CONTROL_ZH = {"cancel": "撤销案件", "suspend": "暂停办理", "resume": "恢复办理", "reopen": "重新打开上一步骤"}


def _back(next_url: str, fallback: str) -> str:
    """Only a path on this site (never another host) is followed after the action."""
    return next_url if next_url.startswith("/") and not next_url.startswith("//") else fallback


def worklist_context(request: Request, v: Viewer, case: dict[str, Any]) -> dict[str, Any]:
    """What the case page adds: per task who holds it and what this viewer may do with it; the
    comments and whom they may mention; the supervisor controls."""
    rt = runtime(request)
    for t in case["tasks"]:
        held = t.get("holder")
        mine = bool(held and held["holder"] == v.username)
        boss = supervises(v.actor, t["role"], case["org_path"])
        t["held_by_me"] = mine
        t["may_claim"] = case["status"] == "running" and not held and not v.read_only and v.role == t["role"]
        t["may_release"] = case["status"] == "running" and bool(held) and (mine or boss)
        t["assignees"] = rt.task_assignees(t["id"], v.actor) if boss and case["status"] == "running" else []
        # A task held by someone else is theirs (or a supervisor's) to do.
        if held and not mine and not boss:
            t["mine"] = False
    comments = rt.list_comments(case["case_number"], v.actor)
    mentionable = rt.mentionable_users(case["case_number"], v.actor) if not v.read_only else []
    controls = controls_cases(v.actor, case["org_path"]) and case["status"] in ("running", "suspended")
    return {"comments": comments, "mentionable": mentionable, "controls": controls, "CONTROL_ZH": CONTROL_ZH}


def _case_again(request: Request, v: Viewer, case_number: str, key: str, exc: HongwuError, values: dict):
    from engine.web.cases import _case_page

    return _case_page(request, v, case_number, {key: exc, f"{key}_values": values}, status_code=status_for(exc))


async def _task_action(request: Request, v: Viewer, method: str, task_id: str, case_number: str, next_url: str,
                       *args) -> Any:
    rt = runtime(request)
    fallback = f"/cases/{quote(case_number)}#current-steps" if case_number else "/inbox"
    try:
        await run_in_threadpool(getattr(rt, method), task_id, v.actor, *args)
    except HongwuError as exc:
        if case_number:
            try:
                return _case_again(request, v, case_number, "task_error", exc, {"task_id": task_id})
            except HongwuError:
                pass
        return render(request, "error.html", {"status": status_for(exc), "error": exc}, status_code=status_for(exc))
    return RedirectResponse(_back(next_url, fallback), status_code=303)


@router.post("/tasks/{task_id}/claim", dependencies=[Depends(check_csrf)])
async def claim(request: Request, task_id: str, v: Viewer = Depends(viewer), case: str = Form(""),
                next: str = Form("")):
    return await _task_action(request, v, "claim_task", task_id, case, next)


@router.post("/tasks/{task_id}/release", dependencies=[Depends(check_csrf)])
async def release(request: Request, task_id: str, v: Viewer = Depends(viewer), case: str = Form(""),
                  next: str = Form("")):
    return await _task_action(request, v, "release_task", task_id, case, next)


@router.post("/tasks/{task_id}/assign", dependencies=[Depends(check_csrf)])
async def assign(request: Request, task_id: str, v: Viewer = Depends(viewer), case: str = Form(""),
                 next: str = Form(""), assignee: str = Form(""), reason: str = Form(""), how: str = Form("assign")):
    method = "delegate_task" if how == "delegate" else "assign_task"
    return await _task_action(request, v, method, task_id, case, next, assignee, reason)


@router.post("/cases/{case_number}/comments", dependencies=[Depends(check_csrf)])
async def comment(request: Request, case_number: str, v: Viewer = Depends(viewer), body: str = Form(""),
                  task_id: str = Form("")):
    try:
        await run_in_threadpool(runtime(request).add_comment, case_number, v.actor, body, task_id or None)
    except HongwuError as exc:
        return _case_again(request, v, case_number, "comment_error", exc, {"body": body, "task_id": task_id})
    return RedirectResponse(f"/cases/{quote(case_number)}#comments", status_code=303)


@router.post("/cases/{case_number}/control", dependencies=[Depends(check_csrf)])
async def control(request: Request, case_number: str, v: Viewer = Depends(viewer), action: str = Form(""),
                  reason: str = Form(""), version: str = Form("")):
    expected = int(version) if version.isdigit() else None
    try:
        if action not in CONTROLS:
            from engine.runtime.errors import ValidationFailed

            raise ValidationFailed(f"unknown control {action!r}", "不支持的操作")
        method = getattr(runtime(request), CONTROLS[action])
        await run_in_threadpool(method, case_number, v.actor, reason, expected)
    except HongwuError as exc:
        return _case_again(request, v, case_number, "control_error", exc, {"action": action, "reason": reason})
    return RedirectResponse(f"/cases/{quote(case_number)}?controlled={quote(action)}#supervision", status_code=303)


@router.post("/cases/{case_number}/timers/{timer_id}/reschedule", dependencies=[Depends(check_csrf)])
async def reschedule(request: Request, case_number: str, timer_id: str, v: Viewer = Depends(viewer),
                     due: str = Form(""), reason: str = Form(""), version: str = Form("")):
    expected = int(version) if version.isdigit() else None
    try:
        await run_in_threadpool(runtime(request).reschedule_timer, case_number, timer_id, v.actor, due, reason,
                                expected)
    except HongwuError as exc:
        return _case_again(request, v, case_number, "control_error", exc,
                           {"action": "reschedule", "reason": reason, "due": due, "timer_id": timer_id})
    return RedirectResponse(f"/cases/{quote(case_number)}?controlled=reschedule#supervision", status_code=303)
