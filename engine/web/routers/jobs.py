"""Jobs on the web: the progress a page polls (JSON), the requester's list (我的后台任务) and one
job's page with its result file, the operators' incident list, and 重试 / 跳过 of an incident
(forms with the CSRF token; both audited by the service layer)."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from engine.runtime import background, incidents
from engine.runtime.errors import HongwuError

from ..context import Viewer, check_csrf, render, runtime, status_for, viewer
from ..hardening import content_disposition

router = APIRouter(include_in_schema=False)
JOB_ID = r"^[0-9a-f-]{36}$"


@router.get("/jobs/{job_id}/progress")
def job_progress(request: Request, job_id: str, v: Viewer = Depends(viewer)):
    """Polled by the progress bar (common.js): done/total, percent, estimate, status."""
    data = incidents.job_progress(runtime(request), job_id, v.actor)
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


@router.get("/jobs")
def my_jobs(request: Request, v: Viewer = Depends(viewer)):
    """我的后台任务: what the person asked to run in the background, newest first."""
    return render(request, "jobs.html", {"jobs": background.my_jobs(runtime(request), v.actor)})


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, v: Viewer = Depends(viewer)):
    """One background job: its progress bar (polled), then its result or why it stopped."""
    return render(request, "job.html", {"job": background.get_job(runtime(request), job_id, v.actor),
                                        "result_days": background.result_days()})


@router.get("/jobs/{job_id}/download")
def job_download(request: Request, job_id: str, v: Viewer = Depends(viewer)):
    """The result file: the requester and administrators only (others: not found); audited."""
    filename, media, content = background.result_file(runtime(request), job_id, v.actor)
    return Response(content, media_type=media, headers={"Content-Disposition": content_disposition(filename),
                                                        "Cache-Control": "no-store"})


def _incidents_page(request: Request, v: Viewer, error: HongwuError | None = None, status_code: int = 200):
    rows = incidents.list_incidents(runtime(request), v.actor)
    return render(request, "incidents.html", {"incidents": [r.as_dict() for r in rows], "error": error},
                  status_code=status_code)


@router.get("/admin/incidents")
def incident_list(request: Request, v: Viewer = Depends(viewer)):
    return _incidents_page(request, v)


def _back(case_number: str | None, back: str, job_id: str = "") -> str:
    if back == "incidents":
        return "/admin/incidents"
    if case_number is None:  # a job of no case: back to its own page
        return f"/jobs/{quote(job_id)}"
    return f"/cases/{quote(case_number)}#jobs"


def _version(value: str) -> int | None:
    return int(value) if value.isdigit() else None


async def _act(request: Request, v: Viewer, back: str, call, *args: Any):
    try:
        result = await run_in_threadpool(call, runtime(request), *args)
    except HongwuError as exc:
        if back == "incidents":
            return _incidents_page(request, v, exc, status_code=status_for(exc))
        from engine.web.cases import _case_page

        number = request.query_params.get("case", "")
        if not number:
            raise
        return _case_page(request, v, number, {"job_error": exc}, status_code=status_for(exc))
    return RedirectResponse(_back(result["case_number"], back, result["job_id"]), status_code=303)


@router.post("/jobs/{job_id}/retry", dependencies=[Depends(check_csrf)])
async def retry_job(request: Request, job_id: str, v: Viewer = Depends(viewer), version: str = Form(""),
                    back: str = Form("")):
    return await _act(request, v, back, incidents.retry, job_id, v.actor, _version(version))


@router.post("/jobs/{job_id}/skip", dependencies=[Depends(check_csrf)])
async def skip_job(request: Request, job_id: str, v: Viewer = Depends(viewer), reason: str = Form(""),
                   version: str = Form(""), back: str = Form("")):
    return await _act(request, v, back, incidents.skip, job_id, v.actor, reason, _version(version))
