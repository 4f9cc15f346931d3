"""Audit events that people are told about. Registered as an audit listener: runs inside the
transaction that appends the event, so the notification commits (or rolls back) with the change.

The events and their `detail` (recorded by the claim, assignment, comment and supervisor-control
services):
  task_claimed / task_released {task_id, user}; task_assigned / task_delegated {task_id, assignee, reason};
  comment_added {comment_id, task_id|None, mentions: [usernames]};
  case_cancelled / case_suspended / case_resumed {reason}."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import AuditEvent, Case, HumanTask
from engine.db.worklist_models import TaskClaim
from engine.runtime.roles import ROLES

from .notify import announce
from .recipients import Directory, active_users

CASE_CONTROLS = {"case_cancelled": "撤销", "case_suspended": "中止", "case_resumed": "恢复"}


def on_event(session: Session, ev: AuditEvent) -> None:
    handler = _HANDLERS.get(ev.action)
    if handler is None:
        return
    detail = _detail(ev.detail)
    now = datetime.fromisoformat(ev.created_at)
    handler(session, ev, detail, now)


def _detail(raw: Any) -> dict:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _task(session: Session, ev: AuditEvent, detail: dict) -> tuple[HumanTask | None, Case | None]:
    task_id = detail.get("task_id") or ev.task_id
    task = session.get(HumanTask, task_id) if isinstance(task_id, str) else None
    case_id = task.case_id if task is not None else ev.case_id
    return task, session.get(Case, case_id) if case_id is not None else None


def _released(session: Session, ev: AuditEvent, detail: dict, now: datetime) -> None:
    task, case = _task(session, ev, detail)
    if task is None or case is None:
        return
    releaser = detail.get("user") or ev.actor
    pool = [u for u in Directory(session, {task.role}).pool(task.role, task.org_path) if u != releaser]
    announce(session, kind="task_returned", recipients=pool, title=f"退回岗位：{case.case_number} {task.title}",
             body=f"案件 {case.case_number}“{case.title}”的步骤“{task.title}”已由认领人放弃，"
                  f"回到{ROLES.get(task.role, task.role)}岗位待办，请认领办理。",
             link=f"/tasks/{task.id}", case_id=case.id, task_id=task.id, now=now)


def _assigned(session: Session, ev: AuditEvent, detail: dict, now: datetime) -> None:
    task, case = _task(session, ev, detail)
    assignee = detail.get("assignee")
    if task is None or case is None or not isinstance(assignee, str):
        return
    if assignee == ev.actor:
        return  # nobody needs telling what they did themselves
    verb = "转交" if ev.action == "task_delegated" else "指派"
    reason = str(detail.get("reason") or "").strip()
    announce(session, kind="task_assigned", recipients=active_users(session, [assignee]),
             title=f"{verb}给我：{case.case_number} {task.title}",
             body=f"{ev.actor} 将案件 {case.case_number}“{case.title}”的步骤“{task.title}”{verb}给您办理。"
                  + (f"理由：{reason}" if reason else ""),
             link=f"/tasks/{task.id}", case_id=case.id, task_id=task.id, now=now)


def _comment(session: Session, ev: AuditEvent, detail: dict, now: datetime) -> None:
    mentions = detail.get("mentions") or []
    if not isinstance(mentions, list):
        return
    case = session.get(Case, ev.case_id) if ev.case_id is not None else None
    task_id = detail.get("task_id") if isinstance(detail.get("task_id"), str) else None
    task = session.get(HumanTask, task_id) if task_id else None
    where = f"案件 {case.case_number}“{case.title}”" if case else "评论"
    if task is not None:
        where += f"的步骤“{task.title}”"
    recipients = [u for u in active_users(session, mentions) if u != ev.actor]
    link = f"/cases/{case.case_number}" if case else None
    announce(session, kind="mentioned", recipients=recipients,
             title=f"{ev.actor} 在评论中提到了您" + (f"：{case.case_number}" if case else ""),
             body=f"{ev.actor} 在{where}的评论中提到了您，请查看。", link=link,
             case_id=case.id if case else None, task_id=task_id, now=now,
             occasion=f"comment:{detail.get('comment_id')}" if detail.get("comment_id") is not None else None)


def _case_control(session: Session, ev: AuditEvent, detail: dict, now: datetime) -> None:
    case = session.get(Case, ev.case_id) if ev.case_id is not None else None
    if case is None:
        return
    tasks = list(session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)))
    holders = task_holders(session, [t.id for t in tasks])
    directory = Directory(session, {t.role for t in tasks})
    recipients = {holders.get(t.id) for t in tasks} | {u for t in tasks if t.id not in holders
                                                       for u in directory.pool(t.role, t.org_path)}
    recipients |= set(directory.supervisors(case.org_path))
    recipients.discard(ev.actor)
    recipients.discard(None)
    verb = CASE_CONTROLS[ev.action]
    reason = str(detail.get("reason") or "").strip()
    announce(session, kind="case_control", recipients=[r for r in recipients if r],
             title=f"案件已{verb}：{case.case_number} {case.title}",
             body=f"{ev.actor} {verb}了案件 {case.case_number}“{case.title}”。" + (f"理由：{reason}" if reason else ""),
             link=f"/cases/{case.case_number}", case_id=case.id, now=now)


_HANDLERS = {
    "task_released": _released,
    "task_assigned": _assigned,
    "task_delegated": _assigned,
    "comment_added": _comment,
    **{action: _case_control for action in CASE_CONTROLS},
}


def task_holders(session: Session, task_ids: list[str]) -> dict[str, str]:
    """task id -> the user it is with (claimed, assigned or delegated), from the claims table."""
    if not task_ids:
        return {}
    return dict(session.execute(select(TaskClaim.task_id, TaskClaim.holder)
                                .where(TaskClaim.task_id.in_(task_ids))).all())
