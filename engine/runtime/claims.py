"""Who does an open task: its role's pool in the case's jurisdiction, or the one person who claimed
it (认领) or to whom a supervisor assigned (指派) or delegated (转办) it.

A task's holder is a `task_claim` row keyed by the task id (removed with the task row when the
task is no longer ready). Every change is appended to the case's chain in the same transaction;
refused attempts are written there too, in a transaction of their own (Runtime.record_refusal).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import audit
from engine.db.models import Case, HumanTask, OrgUnit, User
from engine.db.worklist_models import TaskClaim

from .actors import Actor
from .errors import Conflict, Forbidden, HongwuError, NotFound, ValidationFailed
from .parts import RuntimeParts
from .roles import ROLES

# Street staff and administrators supervise every task in their jurisdiction; besides them, a
# role's superior organisation supervises its tasks (the community party organisation those of
# the compound branch secretaries, the street party committee those of the community party
# organisations).
STREET_SUPERVISORS = frozenset({"street_staff", "admin"})
SUPERIOR_ROLES: dict[str, frozenset[str]] = {
    "party_branch_secretary": frozenset({"community_party_org", "street_party_committee"}),
    "community_party_org": frozenset({"street_party_committee"}),
}
HOLD_ZH = {"claimed": "认领", "assigned": "指派", "delegated": "转办"}
MAX_REASON = 500


def supervises(actor: Actor, role: str, org_path: str) -> bool:
    """May `actor` hand out, take back or complete others' tasks of `role` at `org_path`?"""
    if actor.is_system:
        return True
    if actor.read_only or not actor.covers(org_path):
        return False
    return actor.role in STREET_SUPERVISORS or actor.role in SUPERIOR_ROLES.get(role, frozenset())


def controls_cases(actor: Actor, org_path: str) -> bool:
    """Street supervisors and administrators: cancel, suspend, resume, reschedule, reopen."""
    return actor.is_system or (actor.role in STREET_SUPERVISORS and actor.covers(org_path))


def checked_reason(reason: Any, required: bool = True) -> str | None:
    text = reason.strip() if isinstance(reason, str) else ""
    if len(text) > MAX_REASON or (required and not text):
        raise ValidationFailed(f"a reason (up to {MAX_REASON} characters) is required",
                               f"请填写「原因」（不超过 {MAX_REASON} 字）",
                               details=[{"field": "reason", "message": "reason required",
                                         "message_zh": f"请填写「原因」（不超过 {MAX_REASON} 字）"}])
    return text or None


def lock_case(s: Session, case_id: int) -> None:
    """Queue behind any change of the case in flight (the order every writer uses: case first)."""
    q = select(Case.id).where(Case.id == case_id)
    if s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    s.execute(q)


TASK_SCOPES = ("all", "mine", "pool")


def check_scope(scope: str) -> None:
    if scope not in TASK_SCOPES:
        raise ValidationFailed(f"unknown task scope {scope!r}", f"不支持的待办范围「{scope}」")


def scoped(q, actor: Actor, scope: str):
    """An inbox query narrowed to the actor's tasks: of their role (all / the pool nobody holds),
    or those held by them (mine: claimed, assigned or delegated to them)."""
    if scope == "mine":
        return q.where(HumanTask.id.in_(select(TaskClaim.task_id).where(TaskClaim.holder == actor.username)))
    if not actor.is_system:
        q = q.where(HumanTask.role == actor.role)
    if scope == "pool":
        q = q.where(~select(TaskClaim.task_id).where(TaskClaim.task_id == HumanTask.id).exists())
    return q


def holder_check(s: Session, actor: Actor, ht: HumanTask, claim: TaskClaim | None) -> None:
    """Completing a task someone else holds (`claim`: the task's, read with it): only that person
    or a supervisor may."""
    if actor.is_system:
        return
    if claim is None or claim.holder == actor.username or supervises(actor, ht.role, ht.org_path):
        return
    name = s.scalar(select(User.display_name).where(User.username == claim.holder)) or claim.holder
    raise Forbidden(f"task {ht.id} is held by {claim.holder}",
                    f"「{ht.title}」已由{name}{HOLD_ZH.get(claim.kind, '认领')}办理，只有本人或上级可以办理")


def holders(s: Session, task_ids: list[str]) -> dict[str, dict[str, Any]]:
    """{task id: {holder, holder_name, kind, kind_zh, by, reason}} of the held ones among `task_ids`."""
    if not task_ids:
        return {}
    rows = s.execute(select(TaskClaim, User.display_name).outerjoin(User, User.username == TaskClaim.holder)
                     .where(TaskClaim.task_id.in_(task_ids))).all()
    return {c.task_id: {"holder": c.holder, "holder_name": name or c.holder, "kind": c.kind,
                        "kind_zh": HOLD_ZH.get(c.kind, c.kind), "by": c.by, "reason": c.reason,
                        "at": c.at.isoformat()} for c, name in rows}


def eligible_users(s: Session, role: str, org_path: str) -> list[tuple[str, str]]:
    """(username, display name) of the active users of `role` whose jurisdiction covers `org_path`."""
    rows = s.execute(select(User.username, User.display_name, OrgUnit.path)
                     .outerjoin(OrgUnit, OrgUnit.id == User.jurisdiction_id)
                     .where(User.active.is_(True), User.role == role).order_by(User.username)).all()
    return [(u, d) for u, d, path in rows if org_path.startswith(path or "")]


class TaskClaims(RuntimeParts):
    """Claim, release, assign and delegate (part of `Runtime`)."""

    def _held_task(self, s: Session, task_id: str, actor: Actor) -> tuple[HumanTask, Case]:
        ht = s.get(HumanTask, task_id)
        case = s.get(Case, ht.case_id) if ht is not None else None
        if ht is None or case is None or not (actor.is_system or actor.covers(case.org_path)):
            raise NotFound(f"task {task_id} is not open", f"任务 {task_id} 不存在或已被办理")
        lock_case(s, case.id)
        return ht, case

    def _claim_unit(self, action: str, task_id: str, actor: Actor, work) -> dict[str, Any]:
        """Run `work(s, ht, case)` in one transaction; refusals are audited on the case's chain."""
        refused_on = None
        try:
            with self.uow() as s:
                ht, case = self._held_task(s, task_id, actor)
                refused_on = (case.id, case.case_number, ht.title)
                if case.status != "running":
                    raise Conflict(f"case {case.case_number} is {case.status}",
                                   f"案件 {case.case_number} {_STATUS_ZH.get(case.status, '已结束')}，"
                                   f"不能{_ACTION_ZH[action]}")
                work(s, ht, case)
                return holders(s, [task_id]).get(task_id) or {}
        except IntegrityError as exc:
            raise Conflict("someone else changed the task at the same moment; please retry",
                           "任务正被他人同时处理，请刷新后重试") from exc
        except (Forbidden, Conflict, ValidationFailed) as exc:
            if refused_on is not None and not isinstance(exc, ValidationFailed):
                self.record_refusal(refused_on[0], refused_on[1], actor, action, exc, task_id, refused_on[2])
            raise

    def claim_task(self, task_id: str, actor: Actor) -> dict[str, Any]:
        """认领: take a task of one's own role out of the pool."""
        def work(s: Session, ht: HumanTask, case: Case) -> None:
            if actor.is_system or actor.read_only or actor.role != ht.role:
                raise Forbidden(f"role {actor.role} may not claim «{ht.title}»", f"当前角色无权认领「{ht.title}」")
            claim = s.get(TaskClaim, ht.id)
            if claim is not None:
                if claim.holder == actor.username:
                    return  # claimed again: nothing changes
                raise Conflict(f"task {ht.id} is held by {claim.holder}",
                               f"「{ht.title}」已由{_name(s, claim.holder)}{HOLD_ZH.get(claim.kind, '认领')}")
            self._hold(s, ht, case, actor, actor.username, "claimed", None, "task_claimed",
                       {"task_id": ht.id, "user": actor.username})
        return self._claim_unit("claim_task", task_id, actor, work)

    def release_task(self, task_id: str, actor: Actor) -> dict[str, Any]:
        """退回岗位: the holder (or a supervisor) puts the task back into its role's pool."""
        def work(s: Session, ht: HumanTask, case: Case) -> None:
            claim = s.get(TaskClaim, ht.id)
            if claim is None:
                raise Conflict(f"task {ht.id} is not held", f"「{ht.title}」未被认领，无需退回")
            if claim.holder != actor.username and not supervises(actor, ht.role, case.org_path):
                raise Forbidden(f"{actor.username} may not release a task held by {claim.holder}",
                                f"「{ht.title}」由{_name(s, claim.holder)}办理，只有本人或上级可以退回")
            s.delete(claim)
            s.flush()
            audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor=actor.username,
                         action="task_released", task_id=ht.id, task_name=ht.title,
                         detail={"task_id": ht.id, "user": claim.holder}, now=self.now())
        return self._claim_unit("release_task", task_id, actor, work)

    def assign_task(self, task_id: str, actor: Actor, assignee: str, reason: Any = None) -> dict[str, Any]:
        """指派: a supervisor gives the task to a named user who holds its role over the case."""
        return self._hand_over("assign_task", "assigned", "task_assigned", task_id, actor, assignee,
                               checked_reason(reason, required=False))

    def delegate_task(self, task_id: str, actor: Actor, assignee: str, reason: Any) -> dict[str, Any]:
        """转办: a supervisor moves the task to another user, with a reason."""
        return self._hand_over("delegate_task", "delegated", "task_delegated", task_id, actor, assignee,
                               checked_reason(reason))

    def _hand_over(self, action: str, kind: str, event: str, task_id: str, actor: Actor,
                   assignee: str, reason: str | None) -> dict[str, Any]:
        assignee = (assignee or "").strip()

        def work(s: Session, ht: HumanTask, case: Case) -> None:
            if not supervises(actor, ht.role, case.org_path):
                raise Forbidden(f"{actor.username} does not supervise «{ht.title}»",
                                f"只有上级（街道工作人员、管理员或该岗位的上级组织）可以{_ACTION_ZH[action]}「{ht.title}」")
            if assignee not in {u for u, _ in eligible_users(s, ht.role, case.org_path)}:
                raise ValidationFailed(
                    f"{assignee!r} is no active {ht.role} over {case.org_path}",
                    f"「{assignee}」不是本辖区在岗的{ROLES.get(ht.role, ht.role)}，不能{_ACTION_ZH[action]}",
                    details=[{"field": "assignee", "message": "not eligible",
                              "message_zh": f"请选择本辖区在岗的{ROLES.get(ht.role, ht.role)}"}])
            claim = s.get(TaskClaim, ht.id)
            previous = claim.holder if claim is not None else None
            if claim is not None:
                if claim.holder == assignee and claim.kind == kind:
                    return
                s.delete(claim)
                s.flush()
            detail = {"task_id": ht.id, "assignee": assignee, "reason": reason}
            if previous:
                detail["previous"] = previous
            self._hold(s, ht, case, actor, assignee, kind, reason, event, detail)
        return self._claim_unit(action, task_id, actor, work)

    def _hold(self, s: Session, ht: HumanTask, case: Case, actor: Actor, holder: str, kind: str,
              reason: str | None, event: str, detail: dict) -> None:
        now = self.now()
        s.add(TaskClaim(task_id=ht.id, case_id=case.id, holder=holder, kind=kind, by=actor.username,
                        reason=reason, at=now))
        s.flush()
        audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor=actor.username,
                     action=event, task_id=ht.id, task_name=ht.title, detail=detail, now=now)

    def task_assignees(self, task_id: str, actor: Actor) -> list[tuple[str, str]]:
        """Whom a supervisor may assign the task to (empty for anyone else)."""
        with self.uow() as s:
            ht = s.get(HumanTask, task_id)
            if ht is None or not (actor.is_system or actor.covers(ht.org_path)):
                raise NotFound(f"task {task_id} is not open", f"任务 {task_id} 不存在或已被办理")
            if not supervises(actor, ht.role, ht.org_path):
                return []
            return eligible_users(s, ht.role, ht.org_path)

    def task_holders(self, task_ids: list[str]) -> dict[str, dict[str, Any]]:
        with self.uow() as s:
            return holders(s, task_ids)


def _name(s: Session, username: str) -> str:
    return s.scalar(select(User.display_name).where(User.username == username)) or username


_STATUS_ZH = {"suspended": "已暂停办理", "cancelled": "已撤销", "completed": "已办结"}
_ACTION_ZH = {"claim_task": "认领", "release_task": "退回", "assign_task": "指派", "delegate_task": "转办"}

__all__ = ["HongwuError", "TaskClaims", "controls_cases", "holder_check", "holders", "supervises"]
