"""Training databases: a case's clock may be moved forward (模拟时间前进) by an administrator."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine import audit
from engine.db.models import Case, DeploymentFlag

from . import jobs
from .actors import Actor
from .clock import FrozenClock
from .completion import MAX_ENGINE_ROUNDS, FiredTimer, _earliest_due_timer, engine_failures
from .errors import Conflict, Forbidden, NotFound, ValidationFailed
from .invariants import InvariantViolated
from .parts import RuntimeParts
from .persistence import Derived
from .retries import retried
from .views import CaseView

TRAINING_FLAG = "training"
MAX_CLOCK_STEP_DAYS = 366  # a year at a time is more than any statutory period the processes wait for


def _is_training(s: Session) -> bool:
    return s.get(DeploymentFlag, TRAINING_FLAG) is not None


def _clock_step(days: Any, reason: Any) -> tuple[int, str]:
    """Checked days (a whole number, 1…366) and reason (required) for advance_case_clock."""
    problems = []
    try:
        n = int(str(days).strip()) if not isinstance(days, bool) else None
    except (TypeError, ValueError):
        n = None
    if n is None or not 1 <= n <= MAX_CLOCK_STEP_DAYS:
        problems.append({"field": "days", "message": f"days must be a whole number from 1 to {MAX_CLOCK_STEP_DAYS}",
                         "message_zh": f"「前进天数」应为 1～{MAX_CLOCK_STEP_DAYS} 的整数"})
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > 500:
        problems.append({"field": "reason", "message": "a reason (up to 500 characters) is required",
                         "message_zh": "请填写「原因」（不超过 500 字）"})
    if problems or n is None:
        raise ValidationFailed("; ".join(p["message"] for p in problems),
                               "；".join(p["message_zh"] for p in problems), details=problems)
    return n, text


class Training(RuntimeParts):
    """The training database's simulated clock (part of `Runtime`)."""

    def is_training(self) -> bool:
        """Whether this database was created as a training one (`hongwu init --training`)."""
        with self.uow() as s:
            return _is_training(s)

    def mark_training(self, actor: Actor) -> bool:
        """Make a new database a training one. Refused once it holds cases: a database in real use
        never gains a simulated clock. Returns False when it already was one."""
        with self.uow() as s:
            if _is_training(s):
                return False
            if s.scalar(select(Case.id).limit(1)) is not None:
                raise Conflict("a database that already holds cases cannot become a training database",
                               "数据库中已有案件，不能改为培训环境（培训环境只能在新建数据库时设定，例如先执行 make clean）")
            now = self.now()
            s.add(DeploymentFlag(name=TRAINING_FLAG, set_by=actor.username, set_at=now))
            audit.append(s, chain="deployment", actor=actor.username, action="training_enabled", now=now)
            return True

    @retried
    def advance_case_clock(self, case_number: str, actor: Actor, days: Any, reason: str,
                           expected_version: int | None = None) -> CaseView:
        """模拟时间前进: move a case's clock `days` forward and fire, in due order, what falls due
        on the way; audited on the case's chain (who, how many days, why) with the firings.
        Only in a training database and only by an administrator; elsewhere it does not exist."""
        try:
            with self.uow() as s:
                if not _is_training(s):
                    raise NotFound("no simulated clock: this is not a training database",
                                   "本系统不是培训环境，没有模拟时间功能")
                if actor.role != "admin":
                    raise Forbidden(f"role {actor.role} may not move a case's clock",
                                    "只有系统管理员可以模拟时间前进（命令行请用 --as 指定管理员账号）")
                days, reason = _clock_step(days, reason)
                q = select(Case).where(Case.case_number == case_number)
                if s.get_bind().dialect.name == "postgresql":
                    q = q.with_for_update()
                case = s.scalar(q)
                if case is None or not actor.covers(case.org_path):
                    raise NotFound(f"unknown case {case_number!r}", f"案件「{case_number}」不存在")
                try:
                    if expected_version is not None and case.version != expected_version:
                        raise Conflict(f"case {case.case_number} changed since you opened it",
                                       f"案件 {case.case_number} 已被他人更新，请刷新后重试")
                    if case.status != "running":  # suspended or cancelled cases included: nothing fires
                        from .supervision import STATUS_ZH

                        raise Conflict(f"case {case.case_number} is {case.status}; its clock does not run",
                                       f"案件 {case.case_number} {STATUS_ZH.get(case.status, '已结束')}，不能模拟时间前进")
                    view, wf = self._advance(s, case, actor, days, reason)
                except (Conflict, InvariantViolated) as exc:
                    exc.refused_on = (case.id, case.case_number, None)
                    raise
            self._workflows.put(view.id, view.version, wf)  # only once committed
            return view
        except IntegrityError as exc:
            raise Conflict("the case was changed by someone else at the same moment; please retry",
                           "案件正被他人同时办理，请刷新后重试") from exc
        except (Conflict, InvariantViolated) as exc:
            ref = exc.refused_on
            if ref:
                self.record_refusal(ref[0], ref[1], actor, "advance_case_clock", exc)
            raise

    def _advance(self, s: Session, case: Case, actor: Actor, days: int, reason: str) -> tuple[CaseView, BpmnWorkflow]:
        before = self.case_clock(case).now()
        offset = case.clock_offset_days + days
        s.execute(update(Case).where(Case.id == case.id).values(clock_offset_days=offset)
                  .execution_options(synchronize_session=False))
        set_committed_value(case, "clock_offset_days", offset)
        clock = self.case_clock(case)
        now = clock.now()
        wf, loaded = self.workflow_for(s, case)
        # What falls due is the deadlines' doing, not the administrator's: the system acts.
        wf.script_engine = context = self._engine_for(s, case, Actor.system())
        service_context = context.service_context
        assert service_context is not None  # _engine_for always gives the engine its context
        service_context.extra[jobs.INLINE] = True  # the worker would have run them meanwhile
        previous = Derived.of(wf)
        chain = audit.case_chain(case.case_number)
        # First in the history, at the moment it was asked for: the notices the firings issue
        # follow at their own times, then the firings, so the history reads in time order.
        audit.append(s, chain=chain, case_id=case.id, actor=actor.username, action="training_clock_advanced",
                     detail={"days": days, "reason": reason, "offset_days": offset,
                             "from": before.isoformat(), "to": now.isoformat()}, now=before)
        steps: list[str] = []
        fired: list[FiredTimer] = []
        with engine_failures():
            # Time passes through each due moment in turn: a timer fires at its own due time (just
            # after it, as SpiffWorkflow counts), so what it starts is counted from then, as it
            # would have been had the days really passed (e.g. a voting period after a publicity).
            for _ in range(MAX_ENGINE_ROUNDS):
                due = _earliest_due_timer(wf, now, set())
                if due is None:
                    break
                at = FrozenClock(due[1] + timedelta(seconds=1))
                service_context.now = at.now()
                more_steps, more_fired = self._run_engine(wf, at)
                steps += more_steps
                fired += more_fired
                if not more_fired:
                    break
            service_context.now = now
            more_steps, more_fired = self._run_engine(wf, clock)
        steps += more_steps
        fired += more_fired
        rows = self._save(s, case, wf, loaded, now, previous=previous)
        self._audit_fired(s, case, Actor.system(), fired, steps, now)
        if case.status == "completed":
            audit.append(s, chain=chain, case_id=case.id, actor="system", action="case_completed", now=now)
        return self._case_view(s, case, wf=wf, rows=rows), wf
