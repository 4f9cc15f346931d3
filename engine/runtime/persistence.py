"""Saving a case: its state guarded by its version, its derived task and timer rows, its search
text and the deadlines recounted on the way."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from engine import audit
from engine.db.models import Case, HumanTask, Timer
from engine.domain.periods import Period, recount
from engine.notifications import arrivals

from . import jobs, search, state
from .definitions import LoadedDefinition
from .errors import ValidationFailed
from .invariants import enforce as enforce_invariants
from .parts import RuntimeParts
from .recount import audit_recounted, refresh_deadlines
from .timing import human_task_due, human_task_period, timer_due, timer_period

# Statements built once (building them costs more than running them on the hot path).
_CASE_TASKS = select(HumanTask).where(HumanTask.case_id == bindparam("case_id"))
_CASE_TIMERS = select(Timer).where(Timer.case_id == bindparam("case_id"))

_CASE_TASK_DUES = select(HumanTask.id, HumanTask.due_at).where(HumanTask.case_id == bindparam("case_id"))
_CASE_TIMER_DUES = select(Timer.id, Timer.due_at).where(Timer.case_id == bindparam("case_id"))
_PERIOD_COLUMNS = ("period_trigger", "period_days", "period_months", "period_years", "period_kind", "due_note")
_SET_TASK_DUE = (update(HumanTask).where(HumanTask.id == bindparam("tid"))
                 .values(due_at=bindparam("due"), **{c: bindparam(c) for c in _PERIOD_COLUMNS})
                 .execution_options(synchronize_session=False))
_SET_TIMER_DUE = (update(Timer).where(Timer.id == bindparam("tid"))
                  .values(due_at=bindparam("due"), **{c: bindparam(c) for c in _PERIOD_COLUMNS})
                  .execution_options(synchronize_session=False))
_DELETE_TASKS = (delete(HumanTask).where(HumanTask.id.in_(bindparam("ids", expanding=True)))
                 .execution_options(synchronize_session=False))
_DELETE_TIMERS = (delete(Timer).where(Timer.id.in_(bindparam("ids", expanding=True)))
                  .execution_options(synchronize_session=False))
# Core inserts on the tables (not ORM bulk inserts); declarative types __table__ as a FromClause.
_INSERT_TASK = cast(Table, HumanTask.__table__).insert()
_INSERT_TIMER = cast(Table, Timer.__table__).insert()


@dataclass
class Derived:
    """The derived rows of a case as {task id: due} and {timer id: due}."""

    tasks: dict[str, datetime | None]
    timers: dict[str, datetime | None]

    @classmethod
    def of(cls, wf: BpmnWorkflow) -> Derived:
        ready, waiting = _scan(wf)
        return cls({tid: human_task_due(t) for tid, t in ready.items()},
                   {tid: timer_due(t) for tid, t in waiting.items()})


class Persistence(RuntimeParts):
    """Writing a case and its derived rows (part of `Runtime`)."""

    def _save(self, s: Session, case: Case, wf: BpmnWorkflow, loaded: LoadedDefinition, now: datetime,
              initial: bool = False, previous: Derived | None = None, recounted: list | None = None,
              scanned: tuple[dict, dict] | None = None) -> tuple[list[HumanTask], list[Timer]]:
        """State, derived task rows and timer rows, guarded by the case's version. Returns the
        case's task and timer rows as they now are. Pending deadlines counted before the current
        holiday schedules are brought up to date first (`recounted`: already done by the caller)."""
        scanned = scanned or _scan(wf)
        if recounted is None:
            recounted = refresh_deadlines(wf, scanned, now)
        current = _current_data(wf)
        enforce_invariants(s, case.process_key, case.id, current)  # refuses before anything is written
        new_state = state.dumps(wf)
        if len(new_state) > self.settings.case_state_limit:
            raise ValidationFailed(
                f"the case's data would grow to {len(new_state):,} bytes (limit {self.settings.case_state_limit:,})",
                f"案件数据过大（{len(new_state):,} 字节，上限 {self.settings.case_state_limit:,} 字节），未保存")
        status = "completed" if wf.completed else "running"
        summary = state.json_safe(current.get("case_summary") or {})
        version = case.version + 1
        values = dict(state=new_state, version=version, status=status, updated_at=now,
                      summary=json.dumps(summary, ensure_ascii=False, sort_keys=True),
                      completed_at=now if status == "completed" else None)
        if initial:
            for k, v in values.items():
                setattr(case, k, v)
            s.flush()
        else:
            # Written at the end of the transaction with the chain head its events leave (one
            # UPDATE, refused if the version moved meanwhile): audit.write_case_rows.
            audit.stage_case_write(s, case, values, expected_version=case.version)
        audit.note_case_state(s, case.id, version, status, new_state)
        if initial:
            previous = Derived({}, {})
        code, name = self._compound(s, case.compound_id)
        search.write_index_with_case(s, case, search.index_text(case.case_number, code, name, case.title, current, summary))
        rows = self._sync_derived_rows(s, case, wf, loaded, now, previous, scanned)
        context = getattr(wf.script_engine, "service_context", None)
        jobs.sync_jobs(s, case, wf, loaded, now, getattr(context, "actor", None) or "system",
                       getattr(self, "job_policy", None))
        if recounted:
            context = getattr(wf.script_engine, "service_context", None)
            audit_recounted(s, case, getattr(context, "actor", None) or "system", recounted, now)
        return rows

    def _sync_derived_rows(self, s: Session, case: Case, wf: BpmnWorkflow, loaded: LoadedDefinition,
                           now: datetime, previous: Derived | None = None,
                           scanned: tuple[dict, dict] | None = None) -> tuple[list[HumanTask], list[Timer]]:
        """Make the task and timer rows match the workflow. `previous` is what the rows were derived
        from before this change (read off the workflow as loaded), which spares reading them back."""
        ready, waiting = scanned or _scan(wf)
        conn = s.connection()  # Core statements on the session's connection: no ORM overhead
        if previous is None:
            previous = Derived({tid: due for tid, due in conn.execute(_CASE_TASK_DUES, {"case_id": case.id})},
                               {tid: due for tid, due in conn.execute(_CASE_TIMER_DUES, {"case_id": case.id})})
        new_tasks: list[dict] = []
        carried: list[str] = []
        for tid, task in ready.items():
            due = human_task_due(task)
            if tid in previous.tasks:
                carried.append(tid)
                if previous.tasks[tid] != due:
                    conn.execute(_SET_TASK_DUE, {"tid": tid, "due": due, **_period_columns(human_task_period(task))})
                continue
            info = loaded.human_tasks.get(task.task_spec.name)
            new_tasks.append(dict(
                id=tid, case_id=case.id, spec_name=task.task_spec.name,
                title=info.title if info else task.task_spec.name, lane=task.task_spec.lane,
                role=info.role if info else "", form=info.form if info else None, org_path=case.org_path,
                compound_id=case.compound_id, process_key=case.process_key, created_at=now, due_at=due,
                **_period_columns(human_task_period(task) if due is not None else None)))
        new_timers = [dict(id=tid, case_id=case.id, spec_name=t.task_spec.bpmn_name or t.task_spec.name,
                           due_at=timer_due(t), claimed_by=None, claimed_until=None, **_period_columns(timer_period(t)))
                      for tid, t in waiting.items() if tid not in previous.timers]
        for tid, t in waiting.items():  # a kept timer moved (a recount after a schedule was loaded)
            if tid in previous.timers and previous.timers[tid] != timer_due(t):
                conn.execute(_SET_TIMER_DUE, {"tid": tid, "due": timer_due(t), **_period_columns(timer_period(t))})
        gone_tasks = [tid for tid in previous.tasks if tid not in ready]
        gone_timers = [tid for tid in previous.timers if tid not in waiting]
        if gone_tasks:
            conn.execute(_DELETE_TASKS, {"ids": gone_tasks})
        if gone_timers:
            conn.execute(_DELETE_TIMERS, {"ids": gone_timers})
        if new_tasks:
            conn.execute(_INSERT_TASK, new_tasks)
            arrivals.steps_ready(s, case, new_tasks, now)  # the pool (or the street, if unstaffed) is told
        if new_timers:
            conn.execute(_INSERT_TIMER, new_timers)
        task_rows = [HumanTask(**d) for d in new_tasks]
        if carried:
            task_rows += list(s.scalars(select(HumanTask).where(HumanTask.id.in_(carried))))
        timer_rows = [Timer(**d) for d in new_timers]
        kept_timers = [tid for tid in waiting if tid in previous.timers]
        if kept_timers:
            timer_rows += list(s.scalars(select(Timer).where(Timer.id.in_(kept_timers))))
        return task_rows, timer_rows


def _period_columns(period: dict | None) -> dict[str, Any]:
    """Row columns of a counted period (engine.domain.periods.Period.as_dict) and its current
    note by the active calendar; all None when the due time was not counted."""
    if not period:
        return dict.fromkeys(_PERIOD_COLUMNS)
    counted = recount(Period.from_dict(period))
    return {"period_trigger": period["trigger"], "period_days": int(period.get("days") or 0),
            "period_months": int(period.get("months") or 0), "period_years": int(period.get("years") or 0),
            "period_kind": str(period.get("kind") or "default"), "due_note": counted.note or None}


def _scan(wf: BpmnWorkflow) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ready human tasks and waiting timers, in one pass over the task dictionaries."""
    ready: dict[str, Any] = {}
    timers: dict[str, Any] = {}
    for w in (wf, *wf.subprocesses.values()):
        for task in w.tasks.values():
            if task.state == TaskState.READY and task.task_spec.manual:
                ready[str(task.id)] = task
            elif task.state in (TaskState.WAITING, TaskState.READY) and timer_due(task) is not None:
                # A READY timer is one SpiffWorkflow readied but did not run: keep its row so a
                # worker still fires it (the engine loop normally runs it in the same save).
                timers[str(task.id)] = task
    return ready, timers


def _current_data(wf: BpmnWorkflow) -> dict[str, Any]:
    """The data a person would call "the case's data": that of the latest finished or ready task."""
    last = wf.last_task
    # Sub-processes (call activities, embedded sub-processes) keep their own task maps.
    for w in (wf, *wf.subprocesses.values()):
        ready = next((t for t in w.tasks.values() if t.state == TaskState.READY), None)
        if ready is not None:
            return ready.data
    if last is not None:
        return last.data
    return wf.data
