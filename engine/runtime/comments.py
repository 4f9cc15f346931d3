"""Comments on a case or on one of its open tasks, with @mentions of users who can see the case.

A comment is a row of its own and an event (`comment_added`) on the case's chain, written in the
same transaction, so the timeline shows it and the chain covers its text."""
from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.db.models import Case, HumanTask, OrgUnit, User
from engine.db.worklist_models import CaseComment

from .actors import Actor
from .claims import lock_case
from .errors import Forbidden, NotFound, ValidationFailed

if TYPE_CHECKING:
    from .service import Runtime

MAX_COMMENT = 2000
# @username, as on the users page: letters, digits, _ . - (a trailing full stop ends the sentence).
MENTION = re.compile(r"@([A-Za-z0-9_.-]*[A-Za-z0-9_-])")


def mentioned(body: str) -> list[str]:
    """Usernames mentioned in `body`, each once, in order of appearance."""
    seen: list[str] = []
    for name in MENTION.findall(body):
        if name not in seen:
            seen.append(name)
    return seen


def case_readers(s: Session, org_path: str) -> list[tuple[str, str]]:
    """(username, display name) of the active users who can see a case at `org_path`."""
    rows = s.execute(select(User.username, User.display_name, OrgUnit.path)
                     .outerjoin(OrgUnit, OrgUnit.id == User.jurisdiction_id)
                     .where(User.active.is_(True)).order_by(User.username)).all()
    return [(u, d) for u, d, path in rows if org_path.startswith(path or "")]


def _problem(message: str, message_zh: str, field: str = "body") -> ValidationFailed:
    return ValidationFailed(message, message_zh, details=[{"field": field, "message": message,
                                                           "message_zh": message_zh}])


class CaseComments:
    """Adding and reading comments (part of `Runtime`)."""

    def add_comment(self: Runtime, case_number: str, actor: Actor, body: Any,
                    task_id: str | None = None) -> dict[str, Any]:
        text = body.strip() if isinstance(body, str) else ""
        if not text:
            raise _problem("the comment is empty", "请填写意见内容")
        if len(text) > MAX_COMMENT or "\x00" in text:
            raise _problem(f"a comment has at most {MAX_COMMENT} characters", f"意见不能超过 {MAX_COMMENT} 字")
        with self.uow() as s:
            case = s.scalar(select(Case).where(Case.case_number == case_number))
            if case is None or not actor.covers(case.org_path):
                raise NotFound(f"unknown case {case_number!r}", f"案件「{case_number}」不存在")
            if actor.read_only or actor.is_system:
                raise Forbidden(f"role {actor.role} reads only", "当前角色只能查阅，不能发表意见")
            lock_case(s, case.id)
            task_name = None
            if task_id:
                ht = s.get(HumanTask, task_id)
                if ht is None or ht.case_id != case.id:
                    raise NotFound(f"task {task_id} is not open in {case_number}",
                                   f"任务 {task_id} 不是本案件的当前步骤")
                task_name = ht.title
            readers = dict(case_readers(s, case.org_path))
            mentions = mentioned(text)
            unknown = [m for m in mentions if m not in readers]
            if unknown:
                raise _problem(f"not users who can see this case: {', '.join(unknown)}",
                               "「" + "、".join("@" + m for m in unknown)
                               + "」不是能查看本案件的在岗用户，请检查用户名")
            now = self.now()
            comment = CaseComment(case_id=case.id, task_id=task_id or None, task_name=task_name,
                                  author=actor.username, body=text,
                                  mentions=json.dumps(mentions, ensure_ascii=False), created_at=now)
            s.add(comment)
            s.flush()
            audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor=actor.username,
                         action="comment_added", task_id=task_id or None, task_name=task_name,
                         detail={"comment_id": comment.id, "task_id": task_id or None, "mentions": mentions,
                                 "body": text}, now=now)
            return _comment_dict(comment, {actor.username: actor.display_name or actor.username, **readers})

    def list_comments(self: Runtime, case_number: str, actor: Actor) -> list[dict[str, Any]]:
        with self.uow() as s:
            case = s.scalar(select(Case).where(Case.case_number == case_number))
            if case is None or not actor.covers(case.org_path):
                raise NotFound(f"unknown case {case_number!r}", f"案件「{case_number}」不存在")
            rows = list(s.scalars(select(CaseComment).where(CaseComment.case_id == case.id)
                                  .order_by(CaseComment.id)))
            names = dict(s.execute(select(User.username, User.display_name)).all()) if rows else {}
            return [_comment_dict(c, names) for c in rows]

    def mentionable_users(self: Runtime, case_number: str, actor: Actor) -> list[tuple[str, str]]:
        with self.uow() as s:
            case = s.scalar(select(Case).where(Case.case_number == case_number))
            if case is None or not actor.covers(case.org_path):
                raise NotFound(f"unknown case {case_number!r}", f"案件「{case_number}」不存在")
            return case_readers(s, case.org_path)


def _comment_dict(c: CaseComment, names: dict[str, str]) -> dict[str, Any]:
    mentions = json.loads(c.mentions or "[]")
    return {"id": c.id, "task_id": c.task_id, "task_name": c.task_name, "author": c.author,
            "author_name": names.get(c.author, c.author), "body": c.body, "mentions": mentions,
            "mention_names": [names.get(m, m) for m in mentions], "created_at": c.created_at.isoformat()}
