"""My open tasks: role- and jurisdiction-scoped, filterable, sortable (due date — overdue first —
by default, or arrival), paged, overdue highlighted (by each case's own clock). Tabs: all of my
role's tasks, 我的待办 (claimed by or assigned to me) and 岗位待办 (my role's pool, held by nobody),
each with its count; a pool task can be claimed from the list."""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Query, Request

from engine.views.lookups import org_units, processes

from .context import render, runtime
from .deps import CurrentViewer

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
COUNT_MAX = 999  # a tab's count stops there ("999+")


@router.get("/inbox")
def inbox(request: Request, v: CurrentViewer, process: str = "", compound: str = "",
          state: str = Query("", pattern="^(|overdue)$"), sort: str = Query("due", pattern="^(due|newest|oldest)$"),
          page: int = Query(1, ge=1, le=100000), scope: str = Query("", pattern="^(|mine|pool)$")):
    rt = runtime(request)
    # One row more than a page tells whether a next page exists, without counting every task.
    rows = rt.list_tasks(v.actor, process or None, compound or None, overdue_only=state == "overdue",
                         limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE, order=sort, scope=scope or "all")
    now = rt.now()
    held = rt.task_holders([t.id for t in rows[:PAGE_SIZE]])
    tasks = [dict(t.as_dict(), holder=held.get(t.id),
                  overdue=bool(t.due_at and t.due_at < now + timedelta(days=t.clock_offset_days)))
             for t in rows[:PAGE_SIZE]]
    counts = {k: rt.count_tasks(v.actor, up_to=COUNT_MAX + 1, scope=k) for k in ("all", "mine", "pool")}
    keep = [(k, x) for k, x in (("process", process), ("compound", compound), ("state", state),
                                ("sort", "" if sort == "due" else sort)) if x]
    return render(request, "inbox.html", {
        "tasks": tasks, "page": page, "has_next": len(rows) > PAGE_SIZE, "scope": scope,
        "counts": {k: (f"{COUNT_MAX}+" if n > COUNT_MAX else n) for k, n in counts.items()},
        "filters": {"process": process, "compound": compound, "state": state, "sort": sort},
        "params": keep + ([("scope", scope)] if scope else []), "tab_params": keep,
        "unsorted": [(k, x) for k, x in (("process", process), ("compound", compound), ("state", state),
                                         ("scope", scope)) if x],
        "compounds": org_units(rt, v.actor, "compound"), "processes": processes(rt),
    })
