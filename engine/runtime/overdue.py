"""Overdue open tasks, by each case's own clock (in a training database an administrator may have
moved a case's clock forward; elsewhere every case runs on the runtime's clock), and the 待办超期
list of a street's dashboard, per community."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine.db.models import Case, DeploymentFlag, HumanTask, OrgUnit, User
from engine.db.worklist_models import TaskClaim

from .actors import Actor
from .roles import ROLES

TRAINING_FLAG = "training"


def overdue_clause(s: Session, now: datetime):
    """SQL condition: the task's due time passed on its case's clock. Outside a training database
    that is the plain comparison; in one, each distinct clock offset (few) adds its own."""
    plain = HumanTask.due_at < now
    if s.get(DeploymentFlag, TRAINING_FLAG) is None:
        return plain
    offsets = [d for d in s.scalars(select(Case.clock_offset_days).where(Case.clock_offset_days > 0).distinct())]
    if not offsets:
        return plain
    moved = select(Case.id).where(Case.clock_offset_days > 0)
    return or_(and_(HumanTask.case_id.not_in(moved), plain),
               *[and_(HumanTask.case_id.in_(select(Case.id).where(Case.clock_offset_days == d)),
                      HumanTask.due_at < now + timedelta(days=d)) for d in offsets])


def case_now(case_offset_days: int, now: datetime) -> datetime:
    return now + timedelta(days=case_offset_days or 0)


def overdue_by_community(s: Session, actor: Actor, street_path: str, now: datetime,
                         limit: int = 500) -> list[dict[str, Any]]:
    """待办超期: the street's overdue open tasks grouped by community (then compound), most overdue
    first, with who holds each (or its role's pool) — what a supervisor follows up."""
    path = street_path if street_path.startswith(actor.jurisdiction_path) else actor.jurisdiction_path
    rows = s.execute(
        select(HumanTask.id, HumanTask.title, HumanTask.role, HumanTask.due_at, HumanTask.org_path,
               HumanTask.process_key, Case.case_number, Case.clock_offset_days, OrgUnit.name,
               TaskClaim.holder, User.display_name)
        .join(Case, Case.id == HumanTask.case_id)
        .join(OrgUnit, OrgUnit.id == HumanTask.compound_id)
        .outerjoin(TaskClaim, TaskClaim.task_id == HumanTask.id)
        .outerjoin(User, User.username == TaskClaim.holder)
        .where(HumanTask.org_path.startswith(path), HumanTask.due_at.is_not(None), Case.status == "running",
               overdue_clause(s, now))
        .order_by(HumanTask.due_at).limit(limit)).all()
    if not rows:
        return []
    communities = {o.path: o for o in s.scalars(select(OrgUnit).where(OrgUnit.kind == "community",
                                                                      OrgUnit.path.startswith(path)))}
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        community = next((o for p, o in communities.items() if r.org_path.startswith(p)), None)
        key = community.path if community else r.org_path
        group = groups.setdefault(key, {"code": community.code if community else "",
                                        "name": community.name if community else r.name, "tasks": []})
        late = case_now(r.clock_offset_days, now) - r.due_at
        group["tasks"].append({
            "task_id": r.id, "title": r.title, "role": r.role, "role_zh": ROLES.get(r.role, r.role),
            "due_at": r.due_at.isoformat(), "compound_name": r.name, "case_number": r.case_number,
            "process_key": r.process_key, "holder": r.holder, "holder_name": r.display_name or r.holder,
            "days_overdue": max(0, late.days) + (1 if late.seconds else 0)})
    return sorted(groups.values(), key=lambda g: g["code"])
