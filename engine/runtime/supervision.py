"""Supervisor controls: cancel a case (撤销), suspend and resume it, reschedule a pending timer,
reopen the last completed step. Street staff and administrators only, each with a required reason,
each audited on the case's chain in the same transaction as the change.

A suspended case keeps its task and timer rows: its timers are not claimed by the worker and its
tasks cannot be completed (see `refuse_unless_running`), until it is resumed. A cancelled case
loses them (nothing is open any more); its state and history stay. Reopening is compensating: the
step becomes ready again with the data it had before (SpiffWorkflow's reset to that task); what
was done after it (documents issued, events) stays in the history."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine import audit
from engine.config import CIVIL_TZ
from engine.db.models import AuditEvent, Case, HumanTask, Timer

from .actors import Actor
from .claims import checked_reason, controls_cases
from .clock import using_clock
from .errors import Conflict, Forbidden, NotFound, ValidationFailed
from .invariants import InvariantViolated
from .parts import RuntimeParts
from .persistence import Derived
from .timing import PERIOD_SUFFIX, container, timer_due, timer_due_path

if TYPE_CHECKING:
    from .service import CaseView

STATUS_ZH = {"running": "办理中", "suspended": "已暂停", "completed": "已办结", "cancelled": "已撤销"}
MAX_RESCHEDULE_DAYS = 3 * 366


def refuse_unless_running(case: Case, what: str) -> None:
    """Nothing moves a suspended or cancelled case on (completion, timers, clock)."""
    if case.status == "suspended":
        raise Conflict(f"case {case.case_number} is suspended", f"案件 {case.case_number} 已暂停办理，{what}")
    if case.status != "running":
        raise Conflict(f"case {case.case_number} is {case.status}",
                       f"案件 {case.case_number} {STATUS_ZH.get(case.status, '已结束')}，{what}")


def parse_new_due(value: Any) -> datetime:
    """A new due time: an ISO date (the period then ends at 24:00 Beijing time of that day) or an
    ISO date-time with its zone."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).date()
            return datetime.combine(day + timedelta(days=1), time(0), CIVIL_TZ).astimezone(UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationFailed(f"not a date: {text!r}", "「新的期限」应为日期（例如 2026-12-31）",
                               details=[{"field": "due", "message": "not a date",
                                         "message_zh": "「新的期限」应为日期（例如 2026-12-31）"}])
    return moment.astimezone(UTC)


class Supervision(RuntimeParts):
    """Case-level controls of street supervisors (part of `Runtime`)."""

    def _controlled(self, s: Session, case_number: str, actor: Actor, action: str,
                    expected_version: int | None) -> Case:
        q = select(Case).where(Case.case_number == case_number)
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()
        case = s.scalar(q)
        if case is None or not (actor.is_system or actor.covers(case.org_path)):
            raise NotFound(f"unknown case {case_number!r}", f"案件「{case_number}」不存在")
        try:
            if not controls_cases(actor, case.org_path):
                raise Forbidden(f"role {actor.role} may not {action}",
                                f"只有街道工作人员或系统管理员可以{_ACTION_ZH[action]}")
            if expected_version is not None and case.version != expected_version:
                raise Conflict(f"case {case.case_number} changed since you opened it",
                               f"案件 {case.case_number} 已被他人更新，请刷新后重试")
        except (Forbidden, Conflict) as exc:
            exc.refused_on = (case.id, case.case_number, None)
            raise
        return case

    def _supervised(self, action: str, case_number: str, actor: Actor, work,
                    expected_version: int | None = None) -> CaseView:
        try:
            with self.uow() as s:
                case = self._controlled(s, case_number, actor, action, expected_version)
                try:
                    view, wf = work(s, case)
                except (Forbidden, Conflict, InvariantViolated) as exc:
                    exc.refused_on = (case.id, case.case_number, None)
                    raise
            if wf is not None:
                self._workflows.put(view.id, view.version, wf)  # only once committed
            return view
        except IntegrityError as exc:
            raise Conflict("the case was changed by someone else at the same moment; please retry",
                           "案件正被他人同时办理，请刷新后重试") from exc
        except (Forbidden, Conflict, InvariantViolated) as exc:
            ref = getattr(exc, "refused_on", None)
            if ref:
                self.record_refusal(ref[0], ref[1], actor, action, exc)
            raise

    def _set_status(self, s: Session, case: Case, status: str, now: datetime) -> None:
        version = case.version + 1
        # An UPDATE's result is a CursorResult (Session.execute is typed as returning a plain Result).
        res = cast(CursorResult[Any], s.execute(update(Case).where(Case.id == case.id, Case.version == case.version)
                                                .values(status=status, version=version, updated_at=now)
                                                .execution_options(synchronize_session=False)))
        if res.rowcount != 1:
            raise Conflict(f"case {case.case_number} was changed by someone else first",
                           f"案件 {case.case_number} 已被他人更新，请刷新后重试")
        for k, v in (("status", status), ("version", version), ("updated_at", now)):
            set_committed_value(case, k, v)
        audit.note_case_state(s, case.id, version, status, case.state)

    def _event(self, s: Session, case: Case, actor: Actor, action: str, detail: dict,
               now: datetime, task_id: str | None = None, task_name: str | None = None) -> None:
        audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor=actor.username,
                     action=action, task_id=task_id, task_name=task_name, detail=detail, now=now)

    def cancel_case(self, case_number: str, actor: Actor, reason: Any,
                    expected_version: int | None = None) -> CaseView:
        """撤销: a case opened by mistake ends; its open steps and timers go, its history stays."""
        why = checked_reason(reason)

        def work(s: Session, case: Case):
            if case.status not in ("running", "suspended"):
                raise Conflict(f"case {case.case_number} is {case.status}",
                               f"案件 {case.case_number} {STATUS_ZH.get(case.status, '已结束')}，不能撤销")
            now = self.now()
            self._set_status(s, case, "cancelled", now)
            # The event first: whoever is told of the cancellation (holders, pools) is read off
            # the open steps, which go right after, in the same transaction.
            self._event(s, case, actor, "case_cancelled", {"reason": why}, now)
            for model in (HumanTask, Timer):
                s.execute(delete(model).where(model.case_id == case.id).execution_options(synchronize_session=False))
            return self._case_view(s, case), None
        return self._supervised("cancel_case", case_number, actor, work, expected_version)

    def suspend_case(self, case_number: str, actor: Actor, reason: Any,
                     expected_version: int | None = None) -> CaseView:
        """暂停: timers stop firing and tasks cannot be completed until resumed."""
        why = checked_reason(reason)

        def work(s: Session, case: Case):
            if case.status != "running":
                raise Conflict(f"case {case.case_number} is {case.status}",
                               f"案件 {case.case_number} {STATUS_ZH.get(case.status, '已结束')}，不能暂停")
            now = self.now()
            self._set_status(s, case, "suspended", now)
            self._event(s, case, actor, "case_suspended", {"reason": why}, now)
            return self._case_view(s, case), None
        return self._supervised("suspend_case", case_number, actor, work, expected_version)

    def resume_case(self, case_number: str, actor: Actor, reason: Any,
                    expected_version: int | None = None) -> CaseView:
        """恢复: the case runs again; timers that fell due meanwhile fire at the worker's next run."""
        why = checked_reason(reason)

        def work(s: Session, case: Case):
            if case.status != "suspended":
                raise Conflict(f"case {case.case_number} is not suspended", f"案件 {case.case_number} 未暂停，无需恢复")
            now = self.now()
            self._set_status(s, case, "running", now)
            self._event(s, case, actor, "case_resumed", {"reason": why}, now)
            return self._case_view(s, case), None
        return self._supervised("resume_case", case_number, actor, work, expected_version)

    def reschedule_timer(self, case_number: str, timer_id: str, actor: Actor, new_due: Any,
                         reason: Any, expected_version: int | None = None) -> CaseView:
        """Move a pending timer (a deadline set wrongly) to `new_due`, which must lie ahead on the
        case's clock. The due time is no longer a counted period afterwards: a later holiday
        recount leaves it where the supervisor put it."""
        why = checked_reason(reason)
        due = new_due.astimezone(UTC) if isinstance(new_due, datetime) else parse_new_due(new_due)

        def work(s: Session, case: Case):
            if case.status not in ("running", "suspended"):
                raise Conflict(f"case {case.case_number} is {case.status}",
                               f"案件 {case.case_number} {STATUS_ZH.get(case.status, '已结束')}，没有待处理的期限")
            # A plain read: an ORM object here would be stale after the save's Core update.
            if s.scalar(select(Timer.case_id).where(Timer.id == timer_id)) != case.id:
                raise NotFound(f"no pending timer {timer_id} in {case.case_number}", "该期限不存在或已届满")
            clock = self.case_clock(case)
            now = clock.now()
            if due <= now or due > now + timedelta(days=MAX_RESCHEDULE_DAYS):
                raise ValidationFailed("the new due time must lie ahead (within three years)",
                                       "「新的期限」须晚于当前时间（且不超过三年）",
                                       details=[{"field": "due", "message": "not ahead",
                                                 "message_zh": "「新的期限」须晚于当前时间"}])
            was = case.status
            wf, loaded = self.workflow_for(s, case)
            wf.script_engine = self._engine_for(s, case, actor)
            previous = Derived.of(wf)
            task = wf.get_task_from_id(UUID(timer_id))
            old = timer_due(task) if task is not None else None
            if task is None or old is None or task.state != TaskState.WAITING:
                raise NotFound(f"timer {timer_id} is not waiting", "该期限不存在或已届满")
            task._set_internal_data(event_value=due.isoformat())
            _write_due(wf, task, old, due)
            rows = self._save(s, case, wf, loaded, self.now(), previous=previous)
            if was == "suspended":  # the save wrote the engine's status; the case stays suspended
                audit.stage_case_write(s, case, {"status": was}, expected_version=None)  # with the save's write
                audit.note_case_state(s, case.id, case.version, was, case.state)
            name = task.task_spec.bpmn_name or task.task_spec.name
            self._event(s, case, actor, "timer_rescheduled",
                        {"timer_id": timer_id, "old_due": old.isoformat(), "new_due": due.isoformat(), "reason": why},
                        self.now(), task_id=timer_id, task_name=name)
            return self._case_view(s, case, wf=wf, rows=rows), wf
        return self._supervised("reschedule_timer", case_number, actor, work, expected_version)

    def reopen_step(self, case_number: str, actor: Actor, reason: Any,
                    expected_version: int | None = None) -> CaseView:
        """Reopen the last step a person completed (completed in error): it is ready again with the
        data it had before; what followed it in the workflow is undone, the history is kept."""
        why = checked_reason(reason)

        def work(s: Session, case: Case):
            refuse_unless_running(case, "不能重新打开步骤")
            last = s.scalar(select(AuditEvent).where(AuditEvent.chain == audit.case_chain(case.case_number),
                                                     AuditEvent.action == "task_completed")
                            .order_by(AuditEvent.seq.desc()).limit(1))
            if last is None or not last.task_id:
                raise Conflict("no step was completed yet", "本案件还没有已办理的步骤，无法重新打开")
            wf, loaded = self.workflow_for(s, case)
            wf.script_engine = self._engine_for(s, case, actor)
            previous = Derived.of(wf)
            task = wf.get_task_from_id(UUID(last.task_id))
            if task is None or task.state != TaskState.COMPLETED or not task.task_spec.manual:
                raise Conflict("the last completed step can no longer be reopened",
                               f"步骤「{last.task_name}」已无法重新打开（流程已越过该步骤的范围）")
            clock = self.case_clock(case)
            try:
                with using_clock(clock):  # the step's deadline timers start again on the case's clock
                    removed = wf.reset_from_task_id(task.id)
                # SpiffWorkflow leaves the removed timers in its event manager, where the next run
                # would update them without a parent: take them out.
                for gone in removed:
                    wf.event_manager.remove_task(gone)
            except SpiffWorkflowException as exc:
                raise Conflict(f"the step could not be reopened: {exc}",
                               f"步骤「{last.task_name}」无法重新打开") from exc
            reopened = wf.get_task_from_id(UUID(last.task_id))
            if reopened is None or reopened.state != TaskState.READY:
                raise Conflict("the reopened step is not ready", f"步骤「{last.task_name}」无法重新打开")
            now = clock.now()
            rows = self._save(s, case, wf, loaded, now, previous=previous)
            self._event(s, case, actor, "step_reopened",
                        {"task_spec": task.task_spec.name, "reason": why, "task_id": last.task_id},
                        now, task_id=last.task_id, task_name=last.task_name)
            # Not kept in the workflow cache: the next change loads it afresh from the saved state.
            return self._case_view(s, case, wf=wf, rows=rows), None
        return self._supervised("reopen_step", case_number, actor, work, expected_version)


def _write_due(wf, timer, old: datetime, new: datetime) -> None:
    """Where the live tasks keep the timer's due in their data, put the new one there too, and
    drop the period it was counted from (it is no longer a counted period)."""
    path = timer_due_path(timer)
    if not path:
        return
    key = path[-1]
    live = [t for w in (wf, *wf.subprocesses.values()) for t in w.tasks.values()
            if t.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED)]
    for task in live:
        holder = container(task.data, path)
        if holder is None or holder.get(key) in (None, ""):
            continue
        holder[key] = new.isoformat()
        if isinstance(holder.get(key + PERIOD_SUFFIX), dict):
            holder[key + PERIOD_SUFFIX] = None


_ACTION_ZH = {"cancel_case": "撤销案件", "suspend_case": "暂停案件", "resume_case": "恢复案件",
              "reschedule_timer": "调整案件的期限", "reopen_step": "重新打开已办理的步骤"}
