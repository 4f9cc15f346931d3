"""Case search, the case page (summary, current steps, live diagram, history, documents) and
starting a new case."""
from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from engine.runtime.errors import Conflict, HongwuError, NotFound, ValidationFailed
from engine.runtime.incidents import case_jobs
from engine.views import cases as views
from engine.views.lookups import org_units, processes

from .context import Viewer, check_csrf, render, runtime, training_database, viewer
from .deps import CurrentViewer
from .hardening import content_disposition
from .history import timeline
from .labels import actor_zh, summary_rows

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def startable(request: Request, v: Viewer) -> list[tuple[str, str]]:
    from engine.runtime import registry

    if v.read_only:
        return []
    return [(k, n) for k, n in processes(runtime(request)) if v.role in registry.starters(k)]


@router.get("/cases")
def case_list(request: Request, v: CurrentViewer, q: str = Query("", max_length=200), process: str = "",
              status: str = "", compound: str = "", page: int = Query(1, ge=1, le=100000)):
    rt = runtime(request)
    q = q.strip()
    rows, bounded = rt.search_cases(v.actor, process or None, status or None, compound or None,
                                    limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE, query=q or None)
    # A complete case number (any letter case) opens that case directly.
    if q and page == 1 and len(rows) >= 1 and any(c.case_number.casefold() == q.casefold() for c in rows):
        found = next(c for c in rows if c.case_number.casefold() == q.casefold())
        return RedirectResponse(f"/cases/{quote(found.case_number)}", status_code=303)
    params = [(k, x) for k, x in (("q", q), ("process", process), ("status", status), ("compound", compound)) if x]
    return render(request, "cases.html", {
        "cases": [c.as_dict() for c in rows[:PAGE_SIZE]], "page": page, "has_next": len(rows) > PAGE_SIZE,
        "filters": {"q": q, "process": process, "status": status, "compound": compound}, "params": params,
        "not_found": q if q and not rows and page == 1 else None, "bounded": bounded,
        "compounds": org_units(rt, v.actor, "compound"), "processes": processes(rt),
        "startable": startable(request, v),
    })


@router.get("/cases/new")
def new_case_page(request: Request, v: CurrentViewer, process: str = ""):
    return _new_case_form(request, v, {"process": process})


def _new_case_form(request: Request, v: Viewer, values: dict, error: HongwuError | None = None, status_code=200):
    options = startable(request, v)
    if not options and error is None:
        return render(request, "error.html", {"status": 403, "error": HongwuError(
            "your role may not open cases", "当前角色不能发起案件")}, status_code=403)
    return render(request, "case_new.html", {"options": options, "values": values, "error": error,
                                             "compounds": org_units(runtime(request), v.actor, "compound")},
                  status_code=status_code)


@router.post("/cases/new", dependencies=[Depends(check_csrf)])
async def start_case(request: Request, v: CurrentViewer, process: str = Form(""),
                     compound: str = Form(""), title: str = Form("")):
    rt = runtime(request)
    values = {"process": process, "compound": compound, "title": title}
    try:
        view = await run_in_threadpool(rt.start_case, process, compound, v.actor, {}, title.strip() or None)
    except HongwuError as exc:
        from .context import status_for

        return _new_case_form(request, v, values, exc, status_code=status_for(exc))
    mine = [t for t in view.tasks if v.may_act_on(t)]
    if len(mine) == 1:
        return RedirectResponse(f"/tasks/{mine[0]['id']}", status_code=303)
    return RedirectResponse(f"/cases/{quote(view.case_number)}", status_code=303)


def case_documents(rt, case_id: int) -> list[dict[str, Any]]:
    return views.case_documents(rt, case_id)


def case_attachments(rt, case_id: int) -> list[dict[str, Any]]:
    rows = views.case_attachments(rt, case_id)
    for r in rows:
        display = r.pop("created_by_display")
        r["created_by_name"] = actor_zh(r["created_by"], {r["created_by"]: display} if display else None)
    return rows


def case_bundle(request: Request, v: Viewer, case_number: str) -> dict[str, Any]:
    """Everything the case page shows (the API's case endpoints reuse parts of it)."""
    rt = runtime(request)
    view, diagram, subject = rt.case_reading(case_number, v.actor)  # NotFound outside the jurisdiction
    history = views.case_history(rt, view.case_number)
    events, chain = timeline(history)
    documents = case_documents(rt, view.id)
    attachments = case_attachments(rt, view.id)
    return {"case": view.as_dict(), "diagram": diagram, "events": events, "chain": chain,
            "documents": documents, "attachments": attachments, "names": history.names,
            "subject": subject}


@router.get("/cases/{case_number}")
def case_page(request: Request, case_number: str, v: Viewer = Depends(viewer), done: str = "",
              moved: int = Query(0, ge=0, le=366),
              controlled: str = Query("", pattern="^(|cancel|suspend|resume|reopen|reschedule)$")):
    return _case_page(request, v, case_number, {"done": done, "moved": moved, "controlled": controlled})


def _case_page(request: Request, v: Viewer, case_number: str, extra: dict[str, Any], status_code: int = 200):
    bundle = case_bundle(request, v, case_number)
    case = bundle["case"]
    # A case's own time: in a training database its clock may have been moved forward.
    now_at = runtime(request).now() + timedelta(days=case["clock_offset_days"])
    now = now_at.isoformat()
    views.mark_unstaffed(runtime(request), case)
    for t in case["tasks"]:
        t["overdue"] = bool(t["due_at"] and t["due_at"] < now)
        t["mine"] = v.may_act_on(t)
    from .routers.worklist import worklist_context

    worklist = worklist_context(request, v, case)
    from engine.voting.service import VOTING_PROCESSES, VoteService

    vote = (VoteService(runtime(request)).register_summary(case_number, v.actor)
            if case["process_key"] in VOTING_PROCESSES else None)
    clock = None
    if v.role == "admin" and case["status"] == "running" and training_database(request.app):
        clock = {"now": now_at, "offset_days": case["clock_offset_days"]}
    jobs = case_jobs(runtime(request), case_number, v.actor)  # background steps: progress or incident
    for j in jobs:  # whoever reached the step did something in the history, so is named there
        j["triggered_by_name"] = actor_zh(j["triggered_by"], bundle["names"])
    return render(request, "case.html", {**bundle, "summary_rows": summary_rows(case["summary"]), "jobs": jobs,
                                         "training_clock": clock, "vote": vote,
                                         "case_now": now_at if case["clock_offset_days"] else None,
                                         **worklist, **extra},
                  status_code=status_code)


def training_only(request: Request) -> None:
    """Outside a training database the clock's address does not exist (404), whoever asks, before
    anything else about the request is looked at."""
    if not training_database(request.app):
        raise NotFound("no such page", "您要找的页面不存在")


@router.post("/cases/{case_number}/training-clock", dependencies=[Depends(training_only), Depends(check_csrf)])
async def advance_clock(request: Request, case_number: str, v: CurrentViewer, days: str = Form(""),
                        reason: str = Form(""), version: str = Form("")):
    """模拟时间前进 (training databases only)."""
    rt = runtime(request)
    expected = int(version) if version.isdigit() else None
    try:
        view = await run_in_threadpool(rt.advance_case_clock, case_number, v.actor, days, reason, expected)
    except (ValidationFailed, Conflict) as exc:
        from .context import status_for

        return _case_page(request, v, case_number, {"clock_error": exc, "clock_values": {"days": days, "reason": reason}},
                          status_code=status_for(exc))
    return RedirectResponse(f"/cases/{quote(view.case_number)}?moved={int(days)}#training-clock", status_code=303)


@router.get("/cases/{case_number}/attachments/{attachment_id}")
def attachment_download(request: Request, case_number: str, attachment_id: int, v: CurrentViewer):
    rt = runtime(request)
    rt.get_case(case_number, v.actor)
    att = views.case_attachment(rt, case_number, attachment_id)
    return Response(att.content, media_type=att.content_type or "application/octet-stream", headers={
        "Content-Disposition": content_disposition(att.filename),
        "X-Content-SHA256": att.sha256})
