"""Task forms: show a task's form, take the submission, report problems inline.

A stale submission (someone completed the task, or changed the case, first) is answered 409 with
the form still holding everything that was typed."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from engine.attachments import PendingUpload
from engine.runtime.errors import Conflict, NotFound, ValidationFailed
from engine.services import roll_import

from . import forms
from .context import Viewer, check_csrf, render, runtime
from .deps import CurrentViewer

router = APIRouter(include_in_schema=False)


def _render_form(request: Request, v: Viewer, info: dict, values: dict, *, errors: list[dict] | None = None,
                 conflict: Any = None, closed: bool = False, status_code: int = 200, extra_rows=None):
    by_field, general = forms.errors_by_field(errors or [])
    fields = forms.build_fields(info["schema"], info["ui_schema"], values, by_field, extra_rows=extra_rows,
                                  choices=info.get("choices"))
    general += forms.unplaced_errors(fields, by_field)
    return render(request, "task.html", {
        "task": info["task"], "schema": info["schema"], "fields": fields, "general_errors": general,
        "panel": info.get("panel") or [],
        "has_errors": bool(errors), "conflict": conflict, "closed": closed,
        "may_act": v.may_act_on(info["task"]) and not closed,
    }, status_code=status_code)


def get_task_or_refuse(request: Request, v: Viewer, task_id: str, action: str) -> dict:
    """The task, or Forbidden (the service records the refusal in the case's chain)."""
    return runtime(request).get_task(task_id, v.actor, action=action)


@router.get("/tasks/{task_id}")
def task_page(request: Request, task_id: str, v: CurrentViewer):
    info = get_task_or_refuse(request, v, task_id, "open_task")
    props = info["schema"].get("properties") or {}
    # Verdicts per listed entry start empty: an earlier round's verdicts must not be pre-filled.
    values = {k: info["data"][k] for k in props if k in info["data"]
              and not (isinstance(props[k], dict) and props[k].get("x-rows-from"))}
    return _render_form(request, v, info, values)


def _closed_task_info(request: Request, v: Viewer, case_number: str, spec_name: str, task_id: str) -> dict | None:
    return runtime(request).closed_task_form(case_number, spec_name, task_id, v.actor)


def _without_pending(value: Any) -> Any:
    """Form values to show again: files not stored (the form was refused) are left out."""
    if isinstance(value, dict):
        return {k: _without_pending(v) for k, v in value.items()
                if not (isinstance(v, dict) and PendingUpload.MARK in v)}
    if isinstance(value, list):
        return [_without_pending(v) for v in value if not (isinstance(v, dict) and PendingUpload.MARK in v)]
    return value


@router.post("/tasks/{task_id}", dependencies=[Depends(check_csrf)])
async def submit_task(request: Request, task_id: str, v: CurrentViewer):
    rt = runtime(request)
    form = await request.form()
    case_number = str(form.get("_case") or "")
    spec_name = str(form.get("_spec") or "")
    expected = form.get("_version")
    expected_version = int(expected) if isinstance(expected, str) and expected.isdigit() else None
    try:
        info = await run_in_threadpool(get_task_or_refuse, request, v, task_id, "complete_task")
    except NotFound:
        done = await run_in_threadpool(_closed_task_info, request, v, case_number, spec_name, task_id)
        if done is None:
            raise
        values = await forms.coerce(done["schema"], done["ui_schema"], form, None)
        return _render_form(request, v, done, values, closed=True, status_code=409,
                            conflict=Conflict("the task was completed by someone else first",
                                              "该任务已被他人办理，您填写的内容如下（未提交），请核对后到案件页继续"))

    # Uploads are stored by the completion itself, in its transaction: a refused form keeps no file.
    uploads: dict[str, PendingUpload] = {}

    def store_file(upload: UploadFile, content: bytes) -> dict:
        key = f"u{len(uploads)}"
        uploads[key] = PendingUpload(upload.filename or "file", content,
                                     upload.content_type or "application/octet-stream")
        return {PendingUpload.MARK: key}

    try:
        values = await forms.coerce(info["schema"], info["ui_schema"], form, store_file)
    except ValidationFailed as exc:  # an empty or oversized file
        return _render_form(request, v, info, {}, errors=exc.details or [{"field": "", "message_zh": exc.message_zh}],
                            status_code=422)
    add = forms.add_row_request(form)
    if add:
        return _render_form(request, v, info, _without_pending(values), extra_rows={add: 1})
    try:
        # A large owner roll is validated and imported in the background (engine/services/roll_import.py).
        job_id = await run_in_threadpool(roll_import.defer, rt, task_id, v.actor, values, expected_version, uploads)
        if job_id is not None:
            return RedirectResponse(f"/jobs/{job_id}", status_code=303)
        view = await run_in_threadpool(rt.complete_task, task_id, v.actor, values, expected_version, uploads)
    except ValidationFailed as exc:
        details = exc.details or [{"field": "", "message": exc.message, "message_zh": exc.message_zh}]
        if uploads:
            details = details + [{"field": "", "message": "uploaded files were not kept",
                                  "message_zh": "本次选择的文件未保存，请改正后重新选择上传"}]
        return _render_form(request, v, info, _without_pending(values), errors=details, status_code=422)
    except (Conflict, NotFound) as exc:
        try:
            fresh = await run_in_threadpool(rt.get_task, task_id, v.actor)
            info["task"]["case_version"] = fresh["task"]["case_version"]
            closed = False
        except NotFound:
            closed = True
        if isinstance(exc, NotFound) and not closed:
            raise
        return _render_form(request, v, info, _without_pending(values), conflict=exc, closed=closed, status_code=409)
    return RedirectResponse(f"/cases/{quote(view.case_number)}?done={quote(info['task']['title'])}", status_code=303)
