"""Case search, the case page (summary, current steps, live diagram, history, documents) and
starting a new case."""
from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from engine.db.models import Attachment, Case, Document, User
from engine.runtime.errors import Conflict, HongwuError, NotFound, ValidationFailed
from engine.runtime.incidents import case_jobs
from engine.runtime.staffing import mark_unstaffed

from .context import Viewer, check_csrf, render, runtime, training_database, viewer
from .history import timeline
from .labels import Vocabulary, actor_zh, summary_rows
from .lookups import org_units, processes
from .hardening import content_disposition

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def startable(request: Request, v: Viewer) -> list[tuple[str, str]]:
    from engine.runtime.service import DEFAULT_STARTERS, PROCESS_STARTERS

    if v.read_only:
        return []
    return [(k, n) for k, n in processes(runtime(request)) if v.role in PROCESS_STARTERS.get(k, DEFAULT_STARTERS)]


@router.get("/cases")
def case_list(request: Request, v: Viewer = Depends(viewer), q: str = Query("", max_length=200), process: str = "",
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
def new_case_page(request: Request, v: Viewer = Depends(viewer), process: str = ""):
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
async def start_case(request: Request, v: Viewer = Depends(viewer), process: str = Form(""),
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


def case_documents(session, case_id: int) -> list[dict[str, Any]]:
    from engine.notices.service import status_of

    rows = session.scalars(select(Document).where(Document.case_id == case_id).order_by(Document.created_at, Document.id))
    return [{"id": d.id, "kind": d.kind, "title": d.title, "issuer": d.issuer, "doc_number": d.doc_number,
             "issued_on": d.issued_on, "sha256": d.sha256, "size": d.size, "pages": d.pages,
             "verification_code": d.verification_code, "replaces_id": d.replaces_id,
             "created_at": d.created_at.isoformat(), **status_of(session, d)} for d in rows]


def case_attachments(session, case_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(Attachment.id, Attachment.filename, Attachment.sha256, Attachment.size,
                                  Attachment.created_by, Attachment.created_at, User.display_name)
                           .outerjoin(User, User.username == Attachment.created_by)
                           .where(Attachment.case_id == case_id).order_by(Attachment.id)).all()
    return [{"id": r[0], "filename": r[1], "sha256": r[2], "size": r[3], "created_by": r[4],
             "created_by_name": actor_zh(r[4], {r[4]: r[6]} if r[6] else None),
             "created_at": r[5].isoformat()} for r in rows]


def case_vocabulary(rt, session, case_id: int) -> Vocabulary:
    """Labels declared by the forms of the definition version the case runs on."""
    definition_id = session.scalar(select(Case.definition_id).where(Case.id == case_id))
    _meta, loaded = rt.loaded_definition(session, definition_id)
    return Vocabulary.of_forms(loaded.forms)


def case_bundle(request: Request, v: Viewer, case_number: str) -> dict[str, Any]:
    """Everything the case page shows (the API's case endpoints reuse parts of it)."""
    rt = runtime(request)
    view = rt.get_case(case_number, v.actor)  # NotFound outside the jurisdiction
    diagram = rt.case_diagram(case_number, v.actor)
    with rt.uow() as s:
        events, chain = timeline(s, view.case_number, case_vocabulary(rt, s, view.id))
        documents = case_documents(s, view.id)
        attachments = case_attachments(s, view.id)
    return {"case": view.as_dict(), "diagram": diagram, "events": events, "chain": chain,
            "documents": documents, "attachments": attachments}


@router.get("/cases/{case_number}")
def case_page(request: Request, case_number: str, v: Viewer = Depends(viewer), done: str = "",
              moved: int = Query(0, ge=0, le=366)):
    return _case_page(request, v, case_number, {"done": done, "moved": moved})


def _case_page(request: Request, v: Viewer, case_number: str, extra: dict[str, Any], status_code: int = 200):
    bundle = case_bundle(request, v, case_number)
    case = bundle["case"]
    # A case's own time: in a training database its clock may have been moved forward.
    now_at = runtime(request).now() + timedelta(days=case["clock_offset_days"])
    now = now_at.isoformat()
    with runtime(request).uow() as s:
        mark_unstaffed(s, case)
    for t in case["tasks"]:
        t["overdue"] = bool(t["due_at"] and t["due_at"] < now)
        t["mine"] = v.may_act_on(t)
    subject = runtime(request).case_panel(case_number, v.actor)
    from engine.voting.service import VOTING_PROCESSES, VoteService

    vote = (VoteService(runtime(request)).register_summary(case_number, v.actor)
            if case["process_key"] in VOTING_PROCESSES else None)
    clock = None
    if v.role == "admin" and case["status"] == "running" and training_database(request.app):
        clock = {"now": now_at, "offset_days": case["clock_offset_days"]}
    jobs = case_jobs(runtime(request), case_number, v.actor)  # background steps: progress or incident
    return render(request, "case.html", {**bundle, "summary_rows": summary_rows(case["summary"]), "jobs": jobs,
                                         "subject": subject, "training_clock": clock, "vote": vote,
                                         "case_now": now_at if case["clock_offset_days"] else None, **extra},
                  status_code=status_code)


def training_only(request: Request) -> None:
    """Outside a training database the clock's address does not exist (404), whoever asks, before
    anything else about the request is looked at."""
    if not training_database(request.app):
        raise NotFound("no such page", "您要找的页面不存在")


@router.post("/cases/{case_number}/training-clock", dependencies=[Depends(training_only), Depends(check_csrf)])
async def advance_clock(request: Request, case_number: str, v: Viewer = Depends(viewer), days: str = Form(""),
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
def attachment_download(request: Request, case_number: str, attachment_id: int, v: Viewer = Depends(viewer)):
    rt = runtime(request)
    rt.get_case(case_number, v.actor)
    with rt.uow() as s:
        att = s.get(Attachment, attachment_id)
        case_id = s.scalar(select(Case.id).where(Case.case_number == case_number))
        if att is None or att.case_id != case_id:
            raise NotFound(f"attachment {attachment_id} not found", f"附件 {attachment_id} 不存在")
        return Response(att.content, media_type=att.content_type or "application/octet-stream", headers={
            "Content-Disposition": content_disposition(att.filename),
            "X-Content-SHA256": att.sha256})
