"""Completing a task, and running the engine until only people or the clock can move the case."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import audit, calendar_store
from engine.attachments import PendingUpload, check_references, store_pending
from engine.db.models import Case, HumanTask
from engine.db.worklist_models import TaskClaim

from . import choices, jobs, services, state
from .actors import Actor
from .claims import holder_check
from .clock import Clock, using_clock
from .errors import Conflict, Forbidden, HongwuError, NotFound, RuleRefused, ValidationFailed
from .forms import prune_inapplicable, validate_form
from .invariants import InvariantViolated
from .limits import check_data
from .parts import RuntimeParts
from .persistence import Derived
from .retries import retried
from .scripting import ScriptLimitExceeded
from .supervision import refuse_unless_running
from .timing import timer_due
from .views import CaseView

GUARD_PROPERTY = "completionGuard"  # user-task property naming a registered guard service

# FOR UPDATE (PostgreSQL; SQLite has one writer anyway): completions of one case queue from the
# start, so nothing a completion writes early (notices, their audit events) can race another's.
# One round trip brings what the checks need too: who holds the task, whether the holiday
# schedules changed.
_TASK_WITH_CASE = (select(HumanTask, Case, TaskClaim, calendar_store.NEWEST.scalar_subquery())
                   .join(Case, Case.id == HumanTask.case_id)
                   .outerjoin(TaskClaim, TaskClaim.task_id == HumanTask.id)
                   .where(HumanTask.id == bindparam("task_id")).with_for_update(of=Case))


_GENERIC_PLANS = text("SET LOCAL plan_cache_mode = auto")


class Completion(RuntimeParts):
    """Completing tasks and running the engine (part of `Runtime`)."""

    def _begin_change(self, s: Session, case: Case, wf: BpmnWorkflow, actor: Actor,
                      calendar_mark: int | None = None) -> tuple[Derived, Clock, datetime]:
        """Make `wf` ready to move on `actor`'s behalf; returns what was derived from it before,
        the case's clock and its now."""
        wf.script_engine = self._engine_for(s, case, actor, calendar_mark)
        clock = self.case_clock(case)
        return Derived.of(wf), clock, clock.now()

    def _run_engine(self, wf: BpmnWorkflow, clock: Clock | None = None) -> tuple[list[str], list[FiredTimer]]:
        """Engine steps until only human tasks are ready and no timer is due; returns the steps
        taken and the timers fired, in due order.

        SpiffWorkflow's `do_engine_steps` ends by readying the timers that are due without running
        them, and nothing would run them later (the case would wait for nothing). So due timers
        are fired here one at a time, earliest first, each followed by the steps it enables; a
        boundary deadline that passed therefore takes effect before a later change of the case.
        `clock` is the case's (case_clock); a new case runs on the runtime's."""
        clock = clock or self.clock
        steps: list[str] = []
        fired: list[FiredTimer] = []
        seen: set[tuple[str, datetime]] = set()
        now = clock.now()

        def will_complete(t) -> None:
            # Any timer that runs has fired, whoever readied it (SpiffWorkflow also readies a due
            # timer while updating its neighbours).
            due = timer_due(t)
            if due is not None:
                fired.append(FiredTimer(str(t.id), t.task_spec.bpmn_name or t.task_spec.name, due))

        def did_complete(t) -> None:
            if t.task_spec.bpmn_id:
                steps.append(t.task_spec.bpmn_name or t.task_spec.name)

        with using_clock(clock):
            for _round in range(MAX_ENGINE_ROUNDS):
                # Async steps stay READY: their jobs run them on the worker (engine.runtime.jobs).
                while jobs.engine_steps(wf, will_complete, did_complete):
                    pass
                due = _earliest_due_timer(wf, now, seen)
                if due is not None:
                    task, when = due
                    seen.add((str(task.id), when))
                    task.task_spec._update(task)
                    continue
                # Whatever else SpiffWorkflow readies on its own (events it alone understands).
                wf.refresh_timers()
                if not jobs.engine_work_ready(wf):
                    break
        fired.sort(key=lambda t: t.due_at)
        return steps, fired

    def _audit_fired(self, s: Session, case: Case, actor: Actor, fired: list[FiredTimer], steps: list[str],
                     now: datetime) -> None:
        for t in fired:
            audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor=actor.username,
                         action="timer_fired", task_id=t.task_id, task_name=t.name,
                         detail={"due_at": t.due_at.isoformat(), "steps": steps}, now=now)

    @retried
    def complete_task(self, task_id: str, actor: Actor, data: dict | None = None,
                      expected_version: int | None = None,
                      uploads: dict[str, PendingUpload] | None = None,
                      progress: Callable[[int, int], None] | None = None) -> CaseView:
        """Complete a user task with its form data. `uploads` are files the data refers to by
        {"_pending_upload": key}; they are stored in this transaction, so a refused form keeps none.
        `progress` is given to the task's completion guard (a background job's bar: a long check
        such as a large owner roll's reports through `ServiceContext.extra["progress"]`)."""
        data = data if data is not None else {}
        check_data(data)
        try:
            with self.uow() as s:
                ht, case, claim, calendar_mark = self._task_to_complete(s, task_id, actor)
                try:
                    self._may_complete(s, actor, ht, case, claim, expected_version)
                    view, wf, lapsed = self._complete(s, ht, case, actor, data, uploads or {}, progress,
                                                      calendar_mark)
                    audit.write_case_rows(s)  # the version check, refused here like any other
                except (Forbidden, Conflict, InvariantViolated, RuleRefused) as exc:
                    exc.refused_on = (case.id, case.case_number, ht.title)
                    raise
            self._workflows.put(view.id, view.version, wf)  # only once committed
            if lapsed is not None:
                lapsed.refused_on = (case.id, case.case_number, ht.title)
                raise lapsed
            return view
        except IntegrityError as exc:
            # Two writers took the same audit-chain position: the case changed under us.
            raise Conflict("the case was changed by someone else at the same moment; please retry",
                           "案件正被他人同时办理，请刷新后重试") from exc
        except (Forbidden, Conflict, InvariantViolated, RuleRefused) as exc:
            ref = exc.refused_on
            if ref:
                self.record_refusal(ref[0], ref[1], actor, "complete_task", exc, task_id, ref[2])
            raise

    def _task_to_complete(self, s: Session, task_id: str, actor: Actor):
        """The open task, its case (locked on PostgreSQL), its claim and the holiday schedule's
        mark, in one read; a task no longer open raises (a conflict naming who completed it)."""
        if s.get_bind().dialect.name == "postgresql":
            # A completion's statements are key lookups whose cached generic plans are right; the
            # connection's force_custom_plan (for jurisdiction prefixes in lists, engine.db.session)
            # would plan each of them anew, about 1 ms per completion.
            s.execute(_GENERIC_PLANS)
        found = s.execute(_TASK_WITH_CASE, {"task_id": task_id}).first()
        if found is None:
            self._raise_gone(s, task_id, actor)
        if s.get_bind().dialect.name == "postgresql":
            # Locked, so current: its chain head is the chain's (SQLite reads it in the write
            # transaction instead; this read ran before that began).
            audit.case_row_locked(s, found[1])
        return found

    def _may_complete(self, s: Session, actor: Actor, ht: HumanTask, case: Case, claim,
                      expected_version: int | None) -> None:
        """What every completion checks first, whatever completes it (now, or a background job
        queued for it): the actor's role and reach, a running case, the task's holder, the version
        the person saw. Raises Forbidden or Conflict; the caller records the refusal."""
        self._authorize_task(actor, ht, case)
        refuse_unless_running(case, "其待办任务不能办理")
        holder_check(s, actor, ht, claim)
        if expected_version is not None and case.version != expected_version:
            raise Conflict(
                f"case {case.case_number} changed since you opened it (version {expected_version} → {case.version})",
                f"案件 {case.case_number} 已被他人更新，请刷新后重试")

    def _raise_gone(self, s: Session, task_id: str, actor: Actor) -> NoReturn:
        """No open task row: a conflict if someone completed it (say who and when), else unknown."""
        done = s.scalar(select(audit.AuditEvent).where(audit.AuditEvent.task_id == task_id,
                                                       audit.AuditEvent.action == "task_completed").limit(1))
        if done is None:
            raise NotFound(f"task {task_id} is not open (already completed, or unknown)",
                           f"任务 {task_id} 不存在或已被办理")
        case = s.get(Case, done.case_id)
        if case is None or not (actor.is_system or actor.covers(case.org_path)):
            raise NotFound(f"task {task_id} is not open (already completed, or unknown)",
                           f"任务 {task_id} 不存在或已被办理")
        exc = Conflict(f"task «{done.task_name}» was already completed by {done.actor} at {done.created_at}",
                       f"任务「{done.task_name}」已由 {done.actor} 于 {done.created_at[:19].replace('T', ' ')} (UTC) 办理")
        exc.refused_on = (case.id, case.case_number, done.task_name)
        raise exc

    def _complete(self, s: Session, ht: HumanTask, case: Case, actor: Actor, data: dict,
                  uploads: dict[str, PendingUpload], progress: Callable[[int, int], None] | None = None,
                  calendar_mark: int | None = None) -> tuple[CaseView, BpmnWorkflow, Conflict | None]:
        """Complete one task inside the caller's unit of work. The third value is set when a due
        deadline lapsed the task first: the firing is saved and the completion is refused.
        `calendar_mark`: the newest holiday schedule version, if already read."""
        pd, loaded = self.loaded_definition(s, case.definition_id)
        schema = loaded.form_schema(ht.spec_name)
        if schema is not None:
            # A form writes only its own fields: anything else would overwrite the process's own
            # data (e.g. a committee's exclusions) behind its rules. Such an attempt is audited.
            undeclared = sorted(k for k in data if k not in (schema.get("properties") or {}))
            if undeclared:
                raise RuleRefused(f"fields not on the form: {', '.join(undeclared)}",
                                  f"表单未定义的字段不予接受：{'、'.join(undeclared)}（流程数据只能由流程本身写入）",
                                  details=[{"field": k, "message": f"{k}: not a field of this form",
                                            "message_zh": f"「{k}」不是本表单的字段"} for k in undeclared])
            data = prune_inapplicable(schema, data)  # what was typed on a path not taken is not kept
            # Uploads are stored in this transaction: a refusal below rolls them back with it.
            data = store_pending(s, data, uploads, actor=actor.username, now=self.now(), case_id=case.id,
                                 task_id=ht.id)
            problems = validate_form(schema, data)
            if not problems:
                problems = check_references(s, data, case.id)
            _refuse_form(problems)
        wf = self._workflows.take(case.id, case.version) or state.loads(case.state, loaded.spec, loaded.subprocess_specs)
        previous, clock, now = self._begin_change(s, case, wf, actor, calendar_mark)
        # Timers that fell due before this completion arrived fire first, as the worker would have.
        with engine_failures():
            early_steps, early_fired = self._run_engine(wf, clock)
        task = wf.get_task_from_id(UUID(ht.id))
        if early_fired and (task is None or task.state != TaskState.READY):
            # A deadline on this task passed first: keep what the timer did, refuse the completion.
            rows = self._save(s, case, wf, loaded, now, previous=previous)
            self._audit_fired(s, case, Actor.system(), early_fired, early_steps, now)
            if case.status == "completed":
                audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor="system",
                             action="case_completed", now=now)
            lapsed = Conflict(f"task «{ht.title}» lapsed: its deadline passed before the completion",
                              f"任务「{ht.title}」已超过办理期限，系统已按期限届满处理，本次提交未生效")
            return self._case_view(s, case, wf=wf, rows=rows), wf, lapsed
        if task is None or task.state != TaskState.READY:
            raise Conflict(f"task {ht.id} is no longer open", f"任务「{ht.title}」已被办理")
        if schema is not None and choices.sources(schema):  # picked values must be on their lists
            _refuse_form(choices.problems(schema, data, choices.resolve(s, case, ht.role, task.data, schema)))
        guard = loaded.human_tasks[ht.spec_name].properties.get(GUARD_PROPERTY)
        if guard:
            # A registered guard may refuse the completion (raise Forbidden / ValidationFailed);
            # the refusal is audited by the caller, nothing else changes. Only the guard reports
            # progress: the steps after it would start the bar again.
            context = wf.script_engine.service_context
            if progress is not None:
                context.extra["progress"] = progress
            try:
                services.call(guard, {"task_data": task.data, "form_data": data}, context, task)
            finally:
                context.extra.pop("progress", None)
        before = state.json_safe({k: task.data.get(k) for k in data})
        with engine_failures():
            with using_clock(clock):  # completing a task may start timers: they read the clock
                task.set_data(**data)
                task.run()
            steps, fired = self._run_engine(wf, clock)
        rows = self._save(s, case, wf, loaded, now, previous=previous)
        self._audit_fired(s, case, Actor.system(), early_fired, early_steps, now)
        audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor=actor.username,
                     action="task_completed", task_id=ht.id, task_name=ht.title, before=before,
                     after=state.json_safe(data), detail={"steps": steps} if steps else None, now=now)
        self._audit_fired(s, case, Actor.system(), fired, steps, now)
        if case.status == "completed":
            audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor=actor.username,
                         action="case_completed", now=now)
        return self._case_view(s, case, wf=wf, rows=rows), wf, None


MAX_ENGINE_ROUNDS = 1000  # bounds a run of due timers (a cycle timer far behind fires at most this often)


@dataclass(frozen=True)
class FiredTimer:
    task_id: str
    name: str
    due_at: datetime


def _earliest_due_timer(wf: BpmnWorkflow, now: datetime, seen: set) -> tuple[Any, datetime] | None:
    """The waiting timer that fell due first (before `now`), skipping those already fired
    at that due time in this run."""
    best = None
    for w in (wf, *wf.subprocesses.values()):
        for task in w.tasks.values():
            if task.state != TaskState.WAITING:
                continue
            due = timer_due(task)
            # Strictly before now: SpiffWorkflow fires a timer only once its time has passed.
            if due is None or due >= now or (str(task.id), due) in seen:
                continue
            if best is None or due < best[1]:
                best = (task, due)
    return best


@contextmanager
def engine_failures() -> Iterator[None]:
    """The engine's errors, raised as the error a person sees."""
    try:
        yield
    except SpiffWorkflowException as exc:
        raise _engine_failure(exc) from exc


def _engine_failure(exc: SpiffWorkflowException) -> HongwuError:
    """The error a person sees when the process cannot go on (a script or service failed)."""
    # A service task's refusal (e.g. Forbidden) or a script's breached limit: keep it, naming
    # the element where it happened. SpiffWorkflow wraps script errors without `from`.
    for cause in (exc.__cause__, exc.__context__):
        if isinstance(cause, ScriptLimitExceeded):
            spec = getattr(getattr(exc, "task", None), "task_spec", None)
            name = getattr(spec, "bpmn_name", None) or getattr(spec, "name", None)
            if name:
                return ScriptLimitExceeded(f"{cause.message} (at {name})", f"{cause.message_zh}（环节「{name}」）")
            return cause
        if isinstance(cause, HongwuError):
            return cause
    return ValidationFailed(f"the process could not continue: {exc}", f"流程无法继续：{exc}")


def _refuse_form(problems: list[dict]) -> None:
    """Refuse a form submission naming each problem's field (nothing of it is kept)."""
    if problems:
        raise ValidationFailed("form data is invalid: " + "; ".join(p["message"] for p in problems),
                               "表单填写有误：" + "；".join(p["message_zh"] for p in problems), details=problems)
