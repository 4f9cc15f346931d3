"""Periodic look at the open steps: due within a day → their holder (or pool); overdue → the same
and the street's supervisors (issue 16 item 7). Each task is announced once per kind, whichever
process (`hongwu worker`, the serve thread) scans first. Also: a case left stuck → administrators."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.config import CIVIL_TZ
from engine.db.models import Case, HumanTask
from engine.db.notification_models import NotificationOccasion

from .events import task_holders
from .notify import announce
from .recipients import Directory

DUE_SOON = timedelta(days=1)


def _deadline(due: datetime) -> str:
    local = due.astimezone(CIVIL_TZ)
    if (local.hour, local.minute) == (0, 0):  # a period ends at 24:00 of its last day
        return f"{(local - timedelta(days=1)):%Y年%m月%d日} 24:00"
    return f"{local:%Y年%m月%d日 %H:%M}"


def scan_deadlines(session: Session, now: datetime) -> int:
    """Announce what fell due since the last scan; returns how many tasks were announced."""
    base = (select(HumanTask, Case.case_number, Case.title, Case.clock_offset_days)
            .join(Case, Case.id == HumanTask.case_id)
            .where(Case.status == "running", HumanTask.due_at.is_not(None)))
    rows = list(session.execute(base.where(HumanTask.due_at <= now + DUE_SOON, Case.clock_offset_days == 0)))
    # Training cases whose clock was moved forward: their rows hold the case's own time.
    rows += [r for r in session.execute(base.where(Case.clock_offset_days > 0))
             if r[0].due_at <= now + timedelta(days=r[3]) + DUE_SOON]
    if not rows:
        return 0
    subjects = [f"task:{r[0].id}" for r in rows]
    done = set(session.execute(select(NotificationOccasion.subject, NotificationOccasion.kind)
                               .where(NotificationOccasion.subject.in_(subjects))).all())
    holders = task_holders(session, [r[0].id for r in rows])
    directory = Directory(session, {r[0].role for r in rows})
    announced = 0
    for task, number, title, offset in rows:
        due = task.due_at  # not NULL: the query asked for steps with a due time
        case_now = now + timedelta(days=offset)
        kind = "task_overdue" if due <= case_now else "task_due_soon"
        if (f"task:{task.id}", kind) in done:
            continue
        people = [holders[task.id]] if task.id in holders else directory.pool(task.role, task.org_path)
        where = f"案件 {number}“{title}”的步骤“{task.title}”"
        if kind == "task_overdue":
            people = sorted(set(people) | set(directory.supervisors(task.org_path)))
            text = f"{where}已超过办理期限（{_deadline(due)}），请尽快办理或督办。"
            head = "已超期"
        else:
            text = f"{where}将于{_deadline(due)}到期，请及时办理。"
            head = "即将到期"
        told = announce(session, kind=kind, recipients=people, title=f"{head}：{number} {task.title}", body=text,
                        link=f"/tasks/{task.id}", case_id=task.case_id, task_id=task.id, now=now,
                        occasion=f"task:{task.id}")
        announced += bool(told)
    return announced


def case_stuck(session: Session, case: Case, reason: str, now: datetime) -> list[str]:
    """A running case that has no step to do and no timer to wait for, and could not be moved on."""
    directory = Directory(session, ())
    return announce(session, kind="case_stuck", recipients=directory.admins(case.org_path),
                    title=f"案件停滞：{case.case_number} {case.title}",
                    body=f"案件 {case.case_number}“{case.title}”在办理中，但既没有待办步骤也没有计时器，"
                         f"系统无法自动继续（{reason}）。请查看案件并处理。",
                    link=f"/cases/{case.case_number}", case_id=case.id, now=now,
                    occasion=f"case:{case.id}:v{case.version}")
