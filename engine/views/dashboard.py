"""What the street dashboard reads: the streets an actor covers, each process's report for a
street and period, and the overdue tasks under a street."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select

from engine.db.models import HumanTask, OrgUnit
from engine.runtime import registry
from engine.runtime.actors import Actor


@dataclass(frozen=True)
class Street:
    code: str
    name: str
    path: str


def streets_for(rt: Any, actor: Actor) -> list[Street]:
    with rt.uow() as s:
        return [Street(o.code, o.name, o.path) for o in s.scalars(
            select(OrgUnit).where(OrgUnit.kind == "street").order_by(OrgUnit.path)) if actor.covers(o.path)]


def street_report(rt: Any, panel: str, street_code: str, date_from: date | None, date_to: date | None
                  ) -> dict[str, Any] | None:
    """One panel's report as a dict, or None when no process declares that panel."""
    report = registry.reports().get(panel)
    if report is None:
        return None
    fn = report.function
    with rt.uow() as s:
        data = fn(s, street_code, date_from, date_to, rt.now()) if report.period else fn(s, street_code)
    if hasattr(data, "as_dict"):
        data = data.as_dict()
    return data if isinstance(data, dict) else {"value": data}


def overdue_tasks(rt: Any, street_path: str) -> list[dict[str, Any]]:
    """Open tasks past their deadline (on each case's own clock) under a street, counted by
    process and role."""
    from engine.runtime.overdue import overdue_clause

    with rt.uow() as s:
        rows = s.execute(select(HumanTask.process_key, HumanTask.role, func.count())
                         .where(HumanTask.org_path.startswith(street_path), HumanTask.due_at.is_not(None),
                                overdue_clause(s, rt.now()))
                         .group_by(HumanTask.process_key, HumanTask.role)
                         .order_by(HumanTask.process_key, HumanTask.role)).all()
    return [{"process_key": r[0], "role": r[1], "count": r[2]} for r in rows]


def overdue_by_community(rt: Any, actor: Actor, street_path: str) -> Any:
    """Each overdue task under a street, grouped by community (the 待办超期 lists)."""
    from engine.runtime.overdue import overdue_by_community as by_community

    with rt.uow() as s:
        return by_community(s, actor, street_path, rt.now())
