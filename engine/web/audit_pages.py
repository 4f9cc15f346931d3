"""Auditor pages: chain verification and export of one case or a search result. Auditors and
administrators only; always limited to the viewer's jurisdiction.

Exports are for people by default — CSV or XLSX with Chinese headers, labelled actions, actors
and data changes, Beijing time — and for machines with `raw=1` (the stored columns: UTC times,
canonical JSON, hashes) or as JSONL (always raw)."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from engine import audit, audit_anchor
from engine.views import audit as audit_views
from engine.views.cases import case_history
from engine.views.lookups import org_units, processes

from .context import AUDIT_ROLES, Viewer, render, runtime
from .deps import CurrentViewer
from .hardening import content_disposition
from .history import timeline

router = APIRouter(include_in_schema=False)
MAX_CASES = 5000
FORMAT = Query("csv", pattern="^(csv|xlsx|jsonl)$")
RAW = Query(False, description="1 = the stored columns for machines (UTC, JSON)")
MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
Progress = Callable[[int, int], None]
# Columns of the readable export, in order.
READABLE_HEADERS = ("案件编号", "序号", "时间（北京时间）", "办理人", "账号", "操作", "步骤", "数据变更", "说明",
                    "本条哈希", "上条哈希")


def auditor(request: Request, v: CurrentViewer) -> Viewer:
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


def _checkpoint(request: Request, numbers: list[str]) -> tuple[dict | None, audit_anchor.AnchorReport]:
    """The latest checkpoint and the viewer's cases checked against it (only their cases: chains
    of other jurisdictions are not named here)."""
    return audit_views.checkpoint_report(runtime(request), numbers)


@router.get("/audit")
def audit_home(request: Request, v: Viewer = Depends(auditor)):
    rt = runtime(request)
    checkpoint, anchor = _checkpoint(request, matching_case_numbers(request, v, "", "", ""))
    return render(request, "audit.html", {"compounds": org_units(rt, v.actor, "compound"), "processes": processes(rt),
                                          "reports": None, "filters": {}, "checkpoint": checkpoint, "anchor": anchor})


@router.get("/audit/verify")
def verify_chains(request: Request, v: Viewer = Depends(auditor), process: str = "", status: str = "",
                  compound: str = "", q: str = Query("", max_length=200)):
    rt = runtime(request)
    numbers = matching_case_numbers(request, v, process, status, compound, q)
    reports = audit_views.verify_case_chains(rt, numbers)
    checkpoint, anchor = _checkpoint(request, numbers)
    found: dict[str | None, list] = {}
    for p in anchor.problems:
        found.setdefault(p.chain, []).append(p)
    return render(request, "audit.html", {
        "compounds": org_units(rt, v.actor, "compound"), "processes": processes(rt), "reports": reports,
        "broken": [r for r in reports if not r.ok or found.get(r.chain)], "found": found,
        "checkpoint": checkpoint, "anchor": anchor,
        "filters": {"process": process, "status": status, "compound": compound}})


def _flat(node: Any) -> str:
    from .labels import flat_text

    return "—" if node is None else flat_text(node)


def readable_rows(rt, case_number: str) -> Iterator[tuple]:
    """One case's history as the readable export's rows (labels as on the case page)."""
    from .context import local_time
    from .history import NO_FORMS
    from .labels import Vocabulary, display

    history = case_history(rt, case_number)
    vocab = Vocabulary.of_forms(history.forms) if history.forms is not None else NO_FORMS
    events, _chain = timeline(history)
    for e in events:
        changes = "；".join(f"{c['label']}：{_flat(c['before_view'])} → {_flat(c['after_view'])}" for c in e["changes"])
        detail = e["detail"]
        if e["refused"] and isinstance(detail, dict):
            note = str(detail.get("message_zh") or "")
        elif isinstance(detail, dict) and detail:
            note = _flat(display(None, detail, vocab))
        else:
            note = "" if detail in (None, "") else str(detail)
        yield (case_number, e["seq"], local_time(e["at"], "%Y-%m-%d %H:%M:%S"), e["actor_name"], e["actor"],
               e["action_zh"], e["task_name"] or "", changes, note, e["row_hash"], e["prev_hash"])


def _csv_line(row) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow(row)
    return buf.getvalue()


def _counted(numbers: list[str], progress: Progress | None) -> Iterator[str]:
    """The case numbers, telling `progress` (cases done, cases) after each one."""
    for i, n in enumerate(numbers, start=1):
        yield n
        if progress is not None:
            progress(i, len(numbers))


def stream(rt, numbers: list[str], fmt: str, raw: bool, progress: Progress | None = None) -> Iterator[str]:
    """The CSV or JSONL export of these cases, in pieces (the sync response and the job share it)."""
    if fmt == "csv" and not raw:
        yield "\ufeff" + _csv_line(READABLE_HEADERS)  # BOM: spreadsheet programs then read UTF-8
        for n in _counted(numbers, progress):
            for row in readable_rows(rt, n):
                yield _csv_line(row)
        return
    first = True
    for n in _counted(numbers, progress):
        events = audit_views.case_events(rt, n)
        if fmt == "jsonl":
            yield from audit.export_jsonl(events)
        else:
            chunks = audit.export_csv(events)
            header = next(chunks)
            if first:
                yield "\ufeff" + header
            yield from chunks
        first = False
    if first and fmt == "csv":
        yield "\ufeff" + next(audit.export_csv([]))


def xlsx(rt, numbers: list[str], raw: bool, progress: Progress | None = None) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("办理记录")
    if raw:
        ws.append(list(audit.EXPORT_FIELDS))
        for n in _counted(numbers, progress):
            for ev in audit_views.case_events(rt, n):
                ws.append([audit.event_dict(ev)[f] for f in audit.EXPORT_FIELDS])
    else:
        ws.append(list(READABLE_HEADERS))
        for n in _counted(numbers, progress):
            for row in readable_rows(rt, n):
                ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def export_filename(name: str, fmt: str, raw: bool) -> str:
    return f"{name}{'-raw' if raw else ''}.{fmt}"


def _export(request: Request, numbers: list[str], fmt: str, name: str, raw: bool = False) -> Response:
    disposition = {"Content-Disposition": content_disposition(export_filename(name, fmt, raw))}
    if fmt == "xlsx":
        return Response(xlsx(runtime(request), numbers, raw), headers=disposition, media_type=MEDIA["xlsx"])
    return StreamingResponse(stream(runtime(request), numbers, fmt, raw), media_type=MEDIA[fmt], headers=disposition)


@router.get("/audit/export")
def export_search(request: Request, v: Viewer = Depends(auditor), format: str = FORMAT, process: str = "",
                  status: str = "", compound: str = "", q: str = Query("", max_length=200), raw: bool = RAW):
    numbers = matching_case_numbers(request, v, process, status, compound, q)
    from .audit_export import bulk_export_page

    page = bulk_export_page(request, v, numbers, format, raw,
                            {"process": process, "status": status, "compound": compound, "q": q})
    if page is not None:  # a bulk export is made in the background
        return page
    return _export(request, numbers, format, "审计导出", raw)


@router.get("/audit/cases/{case_number}/export")
def export_case(request: Request, case_number: str, v: Viewer = Depends(auditor), format: str = FORMAT,
                raw: bool = RAW):
    view = runtime(request).get_case(case_number, v.actor)  # NotFound outside the jurisdiction
    return _export(request, [view.case_number], format, f"办理记录-{view.case_number}", raw)
