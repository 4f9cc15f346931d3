"""Bulk audit exports in the background.

An export that covers many events (more than `HONGWU_EXPORT_JOB_EVENTS`, 20,000 by default) or
many cases (more than `HONGWU_EXPORT_JOB_CASES`, 500) is not made in the request: the auditor is
shown what it covers and asks for it (a POST with the CSRF token, so no link can queue work for
them), is taken to the job's page with its progress bar (cases done / cases, with an estimate),
may leave and come back (我的后台任务), and downloads the file there when it is done. The file is the
one the synchronous export would have sent — the same generators (`audit_pages.stream`/`xlsx`) over
the case numbers matched when it was asked for, in the auditor's jurisdiction; only the requester
and administrators may download it, and each download is audited (engine.runtime.background).
Small exports stay synchronous.
"""
from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from engine.runtime import background
from engine.runtime.errors import ValidationFailed
from engine.runtime.jobs import JobOutcome, JobRequest, register_kind
from engine.views import audit as audit_views

from . import audit_pages
from .context import Viewer, check_csrf, render, runtime

router = APIRouter(include_in_schema=False)
KIND = "audit_export"
NAME = "审计导出"


def job_thresholds() -> tuple[int, int]:
    """(events, cases): an export above either is made in the background."""
    return (int(os.environ.get("HONGWU_EXPORT_JOB_EVENTS", "20000")),
            int(os.environ.get("HONGWU_EXPORT_JOB_CASES", "500")))


@register_kind(KIND, "导出审计记录")
def run_export(rt, request: JobRequest, progress) -> JobOutcome:
    p = request.params
    numbers, fmt, raw = list(p["numbers"]), p["format"], bool(p["raw"])
    progress(0, len(numbers))
    if fmt == "xlsx":
        content = audit_pages.xlsx(rt, numbers, raw, progress)
    else:
        content = "".join(audit_pages.stream(rt, numbers, fmt, raw, progress)).encode("utf-8")
    return JobOutcome({"cases": len(numbers), "events": p.get("events"), "format": fmt,
                       "summary_zh": f"已导出 {len(numbers)} 个案件的办理记录"},
                      audit_pages.export_filename(NAME, fmt, raw), content, audit_pages.MEDIA[fmt])


def bulk_export_page(request: Request, v: Viewer, numbers: list[str], fmt: str, raw: bool,
                     filters: dict[str, str]) -> Response | None:
    """The page that offers a bulk export in the background, or None for a small export."""
    max_events, max_cases = job_thresholds()
    events = audit_views.event_count(runtime(request), numbers) if len(numbers) <= max_cases else None
    if events is not None and events <= max_events:
        return None
    return render(request, "audit_export_job.html", {
        "cases": len(numbers), "events": events, "format": fmt, "raw": raw, "filters": filters})


@router.post("/audit/export/job", dependencies=[Depends(check_csrf)])
async def start_export(request: Request, v: Viewer = Depends(audit_pages.auditor), format: str = Form("csv"),
                       raw: str = Form(""), process: str = Form(""), status: str = Form(""),
                       compound: str = Form(""), q: str = Form("")):
    if format not in audit_pages.MEDIA or len(q) > 200:
        raise ValidationFailed(f"unknown export format {format!r}", "导出格式无效")
    numbers = await run_in_threadpool(audit_pages.matching_case_numbers, request, v, process, status, compound, q)
    rt = runtime(request)
    events = await run_in_threadpool(audit_views.event_count, rt, numbers)
    params: dict[str, Any] = {"numbers": numbers, "format": format, "raw": raw == "1", "events": events,
                              "filters": {"process": process, "status": status, "compound": compound, "q": q}}
    title = f"导出审计记录（{len(numbers)} 个案件，{format.upper()}）"
    job_id = await run_in_threadpool(background.submit, rt, KIND, v.actor, params, title)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
