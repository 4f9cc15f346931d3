"""Jobs on the web: the progress a page polls (JSON), the operators' incident list, and 重试 /
跳过 of an incident (forms with the CSRF token; both audited by the service layer)."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from engine.runtime import incidents
from engine.runtime.errors import HongwuError

from ..context import Viewer, check_csrf, render, runtime, status_for, viewer

router = APIRouter(include_in_schema=False)
JOB_ID = r"^[0-9a-f-]{36}$"


@router.get("/jobs/{job_id}/progress")
def job_progress(request: Request, job_id: str, v: Viewer = Depends(viewer)):
    """Polled by the progress bar (common.js): done/total, percent, estimate, status."""
    data = incidents.job_progress(runtime(request), job_id, v.actor)
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


def _incidents_page(request: Request, v: Viewer, error: HongwuError | None = None, status_code: int = 200):
    rows = incidents.list_incidents(runtime(request), v.actor)
    return render(request, "incidents.html", {"incidents": [r.as_dict() for r in rows], "error": error},
                  status_code=status_code)


@router.get("/admin/incidents")
def incident_list(request: Request, v: Viewer = Depends(viewer)):
    return _incidents_page(request, v)


def _back(case_number: str, back: str) -> str:
    if back == "incidents":
        return "/admin/incidents"
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
    return RedirectResponse(_back(result["case_number"], back), status_code=303)


@router.post("/jobs/{job_id}/retry", dependencies=[Depends(check_csrf)])
async def retry_job(request: Request, job_id: str, v: Viewer = Depends(viewer), version: str = Form(""),
                    back: str = Form("")):
    return await _act(request, v, back, incidents.retry, job_id, v.actor, _version(version))


@router.post("/jobs/{job_id}/skip", dependencies=[Depends(check_csrf)])
async def skip_job(request: Request, job_id: str, v: Viewer = Depends(viewer), reason: str = Form(""),
                   version: str = Form(""), back: str = Form("")):
    return await _act(request, v, back, incidents.skip, job_id, v.actor, reason, _version(version))
