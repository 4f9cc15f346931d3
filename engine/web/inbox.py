"""My open tasks: role- and jurisdiction-scoped, filterable, sortable (due date — overdue first —
by default, or arrival), paged, overdue highlighted."""
from __future__ import annotations

from fastapi import APIRouter, Query, Request

from .context import render, runtime
from .deps import CurrentViewer
from .lookups import org_units, processes

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/inbox")
def inbox(request: Request, v: CurrentViewer, process: str = "", compound: str = "",
          state: str = Query("", pattern="^(|overdue)$"), sort: str = Query("due", pattern="^(due|newest|oldest)$"),
          page: int = Query(1, ge=1, le=100000)):
    rt = runtime(request)
    # One row more than a page tells whether a next page exists, without counting every task.
    rows = rt.list_tasks(v.actor, process or None, compound or None, overdue_only=state == "overdue",
                         limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE, order=sort)
    now = rt.now()
    tasks = [dict(t.as_dict(), overdue=bool(t.due_at and t.due_at < now)) for t in rows[:PAGE_SIZE]]
    return render(request, "inbox.html", {
        "tasks": tasks, "page": page, "has_next": len(rows) > PAGE_SIZE,
        "filters": {"process": process, "compound": compound, "state": state, "sort": sort},
        "params": [(k, x) for k, x in (("process", process), ("compound", compound), ("state", state),
                                       ("sort", "" if sort == "due" else sort)) if x],
        "unsorted": [(k, x) for k, x in (("process", process), ("compound", compound), ("state", state)) if x],
        "compounds": org_units(rt, v.actor, "compound"), "processes": processes(rt),
    })
