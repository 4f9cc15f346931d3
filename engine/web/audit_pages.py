"""Auditor pages: chain verification and export (CSV / JSONL) of one case or a search result.
Auditors and administrators only; always limited to the viewer's jurisdiction."""
from __future__ import annotations

from typing import Iterator
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from engine import audit

from .context import AUDIT_ROLES, Viewer, render, runtime, viewer
from .lookups import org_units, processes

router = APIRouter(include_in_schema=False)
MAX_CASES = 5000
FORMAT = Query("csv", pattern="^(csv|jsonl)$")


def auditor(request: Request, v: Viewer = Depends(viewer)) -> Viewer:
    v.require(AUDIT_ROLES)
    return v


def matching_case_numbers(request: Request, v: Viewer, process: str, status: str, compound: str,
                          q: str = "") -> list[str]:
    rt = runtime(request)
    numbers: list[str] = []
    while len(numbers) < MAX_CASES:
        batch = rt.list_cases(v.actor, process or None, status or None, compound or None, limit=500, offset=len(numbers),
                              query=q or None)
        numbers += [c.case_number for c in batch]
        if len(batch) < 500:
            break
    return numbers[:MAX_CASES]


@router.get("/audit")
def audit_home(request: Request, v: Viewer = Depends(auditor)):
    rt = runtime(request)
    return render(request, "audit.html", {"compounds": org_units(rt, v.actor, "compound"), "processes": processes(rt),
                                          "reports": None, "filters": {}})


@router.get("/audit/verify")
def verify_chains(request: Request, v: Viewer = Depends(auditor), process: str = "", status: str = "",
                  compound: str = "", q: str = Query("", max_length=200)):
    rt = runtime(request)
    numbers = matching_case_numbers(request, v, process, status, compound, q)
    with rt.uow() as s:
        reports = [audit.verify(s, audit.case_chain(n))[0] for n in numbers]
    return render(request, "audit.html", {
        "compounds": org_units(rt, v.actor, "compound"), "processes": processes(rt), "reports": reports,
        "broken": [r for r in reports if not r.ok],
        "filters": {"process": process, "status": status, "compound": compound}})


def _stream(request: Request, numbers: list[str], fmt: str) -> Iterator[str]:
    rt = runtime(request)
    first = True
    with rt.uow() as s:
        for n in numbers:
            events = audit.chain_events(s, audit.case_chain(n))
            if fmt == "jsonl":
                yield from audit.export_jsonl(events)
            else:
                chunks = audit.export_csv(events)
                header = next(chunks)
                if first:
                    yield "\ufeff" + header  # BOM: spreadsheet programs then read UTF-8
                yield from chunks
            first = False
        if first and fmt == "csv":
            yield "\ufeff" + next(audit.export_csv([]))


def _export(request: Request, numbers: list[str], fmt: str, name: str) -> StreamingResponse:
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson; charset=utf-8"
    return StreamingResponse(_stream(request, numbers, fmt), media_type=media, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}.{fmt}"})


@router.get("/audit/export")
def export_search(request: Request, v: Viewer = Depends(auditor), format: str = FORMAT, process: str = "",
                  status: str = "", compound: str = "", q: str = Query("", max_length=200)):
    numbers = matching_case_numbers(request, v, process, status, compound, q)
    return _export(request, numbers, format, "audit-export")


@router.get("/audit/cases/{case_number}/export")
def export_case(request: Request, case_number: str, v: Viewer = Depends(auditor), format: str = FORMAT):
    view = runtime(request).get_case(case_number, v.actor)  # NotFound outside the jurisdiction
    return _export(request, [view.case_number], format, f"audit-{view.case_number}")
