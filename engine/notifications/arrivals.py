"""New ready steps: the assignee, else the role's pool in the case's jurisdiction, is told; a step
whose role nobody holds there goes to the street's supervisors and the administrators instead
(issue 16 item 2). Called by the save of a case with the task rows it inserts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.runtime.roles import ROLES

from .notify import announce
from .recipients import Directory


def steps_ready(session: Session, case, new_tasks: list[dict], now: datetime) -> None:
    """`new_tasks`: the human_task rows (as dicts) this save inserts for `case`."""
    if not new_tasks:
        return
    directory = Directory(session, {t["role"] for t in new_tasks})
    for t in new_tasks:
        role_zh = ROLES.get(t["role"], t["role"] or "未指定岗位")
        pool = directory.pool(t["role"], t["org_path"])
        where = f"案件 {case.case_number}“{case.title}”"
        link = f"/tasks/{t['id']}"
        if not pool:
            announce(session, kind="step_unstaffed", recipients=directory.supervisors(t["org_path"]),
                     title=f"无人办理：{case.case_number} {t['title']}",
                     body=f"{where}的步骤“{t['title']}”需要{role_zh}办理，但该辖区没有在岗的{role_zh}账号。"
                          f"请在系统管理中创建或调配人员。",
                     link=f"/cases/{case.case_number}", case_id=case.id, task_id=t["id"], now=now,
                     occasion=f"task:{t['id']}", known=directory.choices)
            continue
        assignee = t.get("assignee")
        announce(session, kind="task_ready", recipients=[assignee] if assignee else pool,
                 title=f"新待办：{case.case_number} {t['title']}",
                 body=f"{where}进入“{t['title']}”步骤，" + (
                     "已交由您办理。" if assignee else f"已进入{role_zh}岗位待办，请认领办理。"),
                 link=link, case_id=case.id, task_id=t["id"], now=now, known=directory.choices)
