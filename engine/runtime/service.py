"""The service layer: the one place that changes cases. Web app, CLI and worker all call this.

Each public method is one unit of work: load, check, run SpiffWorkflow, then save the case state,
its derived task and timer rows and its audit events in one transaction. Refused attempts (wrong
role, outside jurisdiction, stale version) roll back and are then recorded in the audit chain in a
transaction of their own.
"""
from __future__ import annotations

import functools
import json
import logging
import random
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterator
from uuid import UUID

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import audit, calendar_store
from engine.config import Settings, load_settings
from engine.db.models import Case, DeploymentFlag, HumanTask, OrgUnit, ProcessDefinition, Timer
from engine.db.session import is_transient, session_factory, unit_of_work
from engine.domain.periods import Period, recount

from . import search, state
from .actors import Actor
from .clock import Clock, FrozenClock, OffsetClock, SystemClock, using_clock
from .definitions import DEFINITIONS, LoadedDefinition
from .errors import Conflict, Forbidden, HongwuError, NotFound, RuleRefused, ValidationFailed
from .invariants import InvariantViolated, enforce as enforce_invariants
from .limits import check_data
from .forms import prune_inapplicable, validate_form
from engine.attachments import PendingUpload, check_references, store_pending
from .scripting import HongwuScriptEngine, ScriptLimitExceeded, ScriptLimits
from . import choices, panels, services
from .services import ServiceContext
from .workflow_cache import WorkflowCache
from .timing import human_task_due, human_task_period, timer_due, timer_period
from .recount import audit_recounted, refresh_deadlines
from .claims import TaskClaims
from .comments import CaseComments
from .supervision import Supervision, refuse_unless_running
from .claims import holder_check, holders
from .overdue import overdue_clause
from engine.db.worklist_models import TaskClaim

GUARD_PROPERTY = "completionGuard"  # user-task property naming a registered guard service
# User-task property naming a registered service that fits the form to the case (e.g. leaves out
# the negative-list grounds the case's street switched off); the stored form stays the full one.
FORM_PROPERTY = "formSchemaService"
CASE_PREFIX = {"committee_election": "YWH", "prior_review": "XY", "tiered_mediation": "TJ"}
# Who may open a case of each process (jurisdiction is checked as well). Others: staff roles.
PROCESS_STARTERS = {
    "committee_election": {"street_staff"},
    "prior_review": {"street_staff", "community_staff", "party_branch_secretary"},
    "tiered_mediation": {"street_staff", "community_staff", "district_mediator"},
}
DEFAULT_STARTERS = {"street_staff", "community_staff"}


log = logging.getLogger("hongwu.runtime")
UOW_ATTEMPTS = 5  # a unit of work that lost a deadlock or serialization race runs again, this often


def with_retries(unit, *args, **kwargs):
    """Run a unit of work again (from the start: nothing of the lost attempt was kept) when the
    database picked it as the loser of a deadlock or serialization race; after the last attempt
    the caller gets a Conflict (409), never the database's error."""
    for attempt in range(1, UOW_ATTEMPTS + 1):
        try:
            return unit(*args, **kwargs)
        except DBAPIError as exc:
            if not is_transient(exc):
                raise
            if attempt == UOW_ATTEMPTS:
                raise Conflict("the database was busy with a conflicting change; please retry",
                               "系统繁忙（与他人的操作同时发生），请稍后重试") from exc
            log.warning("%s: transient database error (attempt %d), retrying: %s",
                        getattr(unit, "__name__", "unit of work"), attempt, exc.orig)
            time.sleep(random.uniform(0, 0.02 * 2 ** attempt))  # jitter: the racers spread out


def retried(method):
    """A service-layer method that is one unit of work, run under `with_retries`."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        return with_retries(method, self, *args, **kwargs)
    return wrapper


@dataclass(frozen=True)
class DefinitionMeta:
    id: int
    key: str
    version: int
    sha256: str
    name: str


@dataclass
class TaskView:
    id: str
    case_number: str
    case_id: int
    process_key: str
    name: str
    title: str
    role: str
    lane: str | None
    compound_code: str
    compound_name: str
    created_at: datetime
    due_at: datetime | None
    form: str | None
    case_version: int
    due_note: str | None = None  # set when the due time rests on the statutory fallback calendar
    clock_offset_days: int = 0  # its case's clock moved forward (training databases): overdue by that clock

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["created_at"] = self.created_at.isoformat()
        d["due_at"] = self.due_at.isoformat() if self.due_at else None
        return d


@dataclass
class CaseView:
    id: int
    case_number: str
    process_key: str
    definition_version: int
    title: str
    status: str
    compound_code: str
    compound_name: str
    org_path: str
    version: int
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    data: dict[str, Any]
    summary: dict[str, Any]
    tasks: list[dict[str, Any]] = field(default_factory=list)
    timers: list[dict[str, Any]] = field(default_factory=list)
    created: bool = False  # True only on the answer to the start_case call that made the case
    clock_offset_days: int = 0  # days its clock was moved forward (training databases only)

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        for k in ("created_at", "updated_at", "completed_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


class Runtime(TaskClaims, CaseComments, Supervision):
    """Entry point of the service layer, bound to one database and one clock."""

    def __init__(self, settings: Settings | None = None, clock: Clock | None = None):
        self.settings = settings or load_settings()
        self.url = self.settings.database_url
        self.clock = clock or SystemClock()
        self._sessions = session_factory(self.url)
        self._definition_meta: dict[int, DefinitionMeta] = {}
        self._org_names: dict[int, tuple[str, str]] = {}
        self._workflows = WorkflowCache(self.settings.workflow_cache_size)

    # --- plumbing -----------------------------------------------------------------------

    @contextmanager
    def uow(self) -> Iterator[Session]:
        with unit_of_work(self.url) as session:
            yield session

    def now(self) -> datetime:
        return self.clock.now()

    def case_clock(self, case: Case) -> Clock:
        """The clock a case runs on: the runtime's own, moved forward by the days an administrator
        advanced it (only possible in a training database, see advance_case_clock)."""
        if not case.clock_offset_days:
            return self.clock
        return OffsetClock(self.clock, timedelta(days=case.clock_offset_days))

    def loaded_definition(self, session: Session, definition_id: int) -> tuple["DefinitionMeta", LoadedDefinition]:
        """A definition's identity (cached: stored definitions never change) and its parsed specs."""
        meta = self._definition_meta.get(definition_id)
        if meta is None:
            row = session.execute(select(ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.sha256,
                                         ProcessDefinition.name).where(ProcessDefinition.id == definition_id)).one()
            meta = self._definition_meta[definition_id] = DefinitionMeta(definition_id, *row)
        loaded = DEFINITIONS.get(meta.sha256, lambda: session.scalar(
            select(ProcessDefinition.content).where(ProcessDefinition.id == definition_id)))
        return meta, loaded

    def _compound(self, session: Session, org_id: int) -> tuple[str, str]:
        """(code, name) of a compound; organisation units are never renamed in place."""
        hit = self._org_names.get(org_id)
        if hit is None:
            hit = self._org_names[org_id] = tuple(session.execute(
                select(OrgUnit.code, OrgUnit.name).where(OrgUnit.id == org_id)).one())
        return hit

    @retried
    def record_refusal(self, case_id: int, case_number: str, actor: Actor, action: str, reason: HongwuError,
                       task_id: str | None = None, task_name: str | None = None) -> None:
        """Write `refused:<action>` to the case's chain in a transaction of its own (the refused
        one rolled back), queued behind any change of the case in flight."""
        def lock_case(session: Session) -> None:
            q = select(Case.id).where(Case.id == case_id)
            if session.bind.dialect.name == "postgresql":
                q = q.with_for_update()
            session.execute(q)

        audit.append_alone(
            self._sessions, lock=lock_case, chain=audit.case_chain(case_number), case_id=case_id,
            actor=actor.username, action=f"refused:{action}", task_id=task_id, task_name=task_name,
            detail={"code": reason.code, "message": reason.message, "message_zh": reason.message_zh},
            now=self.now(),
        )

    def _engine_for(self, session: Session, case: Case | None, actor: Actor) -> HongwuScriptEngine:
        calendar_store.sync(session)  # deadlines counted in this unit of work use the stored schedules
        now = self.case_clock(case).now() if case is not None else self.now()
        ctx = ServiceContext(session=session, now=now, actor=actor.username, case=case,
                             settings=self.settings)
        return HongwuScriptEngine(ctx, ScriptLimits(self.settings.script_seconds, self.settings.script_memory_mb))

    # --- cases --------------------------------------------------------------------------

    @retried
    def start_case(self, process_key: str, compound_code: str, actor: Actor, data: dict | None = None,
                   title: str | None = None, external: tuple[str, str] | None = None) -> CaseView:
        data = dict(data or {})
        check_data({"data": data, "title": title})  # every route in: web, API, CLI, intake
        with self.uow() as s:
            if external is not None:
                existing = s.scalar(select(Case).where(Case.external_source == external[0],
                                                       Case.external_ref == external[1]))
                if existing is not None:  # the same external request again: the same case
                    return self._case_view(s, existing)
            compound = s.scalar(select(OrgUnit).where(OrgUnit.code == compound_code))
            if compound is None or compound.kind != "compound":
                raise NotFound(f"unknown compound {compound_code!r}", f"小区「{compound_code}」不存在")
            self._check_may_start(actor, process_key, compound)
            pd = s.scalar(select(ProcessDefinition).where(ProcessDefinition.key == process_key)
                          .order_by(ProcessDefinition.version.desc()).limit(1))
            if pd is None:
                raise NotFound(f"process {process_key!r} is not deployed", f"流程「{process_key}」尚未部署")
            loaded = DEFINITIONS.get(pd.sha256, lambda: pd.content)
            now = self.now()
            case = Case(
                case_number=f"tmp-{uuid.uuid4().hex}", definition_id=pd.id, process_key=process_key,
                compound_id=compound.id, org_path=compound.path,
                title=title or f"{compound.name} · {pd.name}", status="running", state="{}",
                summary="{}", version=0, created_by=actor.username, created_at=now, updated_at=now,
                external_source=external[0] if external else None,
                external_ref=external[1] if external else None,
            )
            s.add(case)
            s.flush()
            case.case_number = f"{CASE_PREFIX.get(process_key, 'HW')}-{now.year}-{case.id:06d}"
            data.setdefault("case_number", case.case_number)
            data.setdefault("compound_code", compound.code)
            data.setdefault("compound_name", compound.name)
            wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs)
            wf.script_engine = self._engine_for(s, case, actor)
            wf.get_tasks(state=TaskState.READY)[0].data.update(data)
            try:
                steps, fired = self._run_engine(wf)
            except SpiffWorkflowException as exc:
                raise _engine_failure(exc) from exc
            rows = self._save(s, case, wf, loaded, now, initial=True)
            audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor=actor.username,
                         action="case_started", after=state.json_safe(data),
                         detail={"process": process_key, "definition_version": pd.version, "steps": steps},
                         now=now)
            self._audit_fired(s, case, Actor.system(), fired, steps, now)
            if case.status == "completed":
                audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor=actor.username,
                             action="case_completed", now=now)
            view = self._case_view(s, case, wf=wf, rows=rows)
            view.created = True
        self._workflows.put(view.id, view.version, wf)  # only once committed
        return view

    def _check_may_start(self, actor: Actor, process_key: str, compound: OrgUnit) -> None:
        if actor.is_system:
            return
        allowed = PROCESS_STARTERS.get(process_key, DEFAULT_STARTERS)
        if actor.role not in allowed or not actor.covers(compound.path):
            raise Forbidden(f"{actor.username} may not open a {process_key} case in {compound.code}",
                            f"无权在「{compound.name}」发起该流程")

    def _run_engine(self, wf: BpmnWorkflow, clock: Clock | None = None) -> tuple[list[str], list["FiredTimer"]]:
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
                while wf._do_engine_steps(will_complete_task=will_complete, did_complete_task=did_complete):
                    pass
                due = _earliest_due_timer(wf, now, seen)
                if due is not None:
                    task, when = due
                    seen.add((str(task.id), when))
                    task.task_spec._update(task)
                    continue
                # Whatever else SpiffWorkflow readies on its own (events it alone understands).
                wf.refresh_timers()
                if not _engine_work_ready(wf):
                    break
        fired.sort(key=lambda t: t.due_at)
        return steps, fired

    def _audit_fired(self, s: Session, case: Case, actor: Actor, fired: list["FiredTimer"], steps: list[str],
                     now: datetime) -> None:
        for t in fired:
            audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id, actor=actor.username,
                         action="timer_fired", task_id=t.task_id, task_name=t.name,
                         detail={"due_at": t.due_at.isoformat(), "steps": steps}, now=now)

    def get_case(self, case_number: str, actor: Actor) -> CaseView:
        with self.uow() as s:
            case = self._case_for_reading(s, case_number, actor)
            return self._case_view(s, case)

    def case_panel(self, case_number: str, actor: Actor) -> list[dict]:
        """Read-only sections about the case's subject (parties and claims, the matter, …)."""
        with self.uow() as s:
            case = self._case_for_reading(s, case_number, actor)
            wf, _loaded = self.workflow_for(s, case)
            return panels.for_case(s, case, state.json_safe(_current_data(wf)))

    def _case_for_reading(self, s: Session, case_number: str, actor: Actor) -> Case:
        case = s.scalar(select(Case).where(Case.case_number == case_number))
        # Outside the jurisdiction looks exactly like unknown, so case numbers do not leak.
        if case is None or not actor.covers(case.org_path):
            raise NotFound(f"unknown case {case_number!r}", f"案件「{case_number}」不存在")
        return case

    def list_cases(self, actor: Actor, process_key: str | None = None, status: str | None = None,
                   compound_code: str | None = None, limit: int = 50, offset: int = 0,
                   query: str | None = None) -> list[CaseView]:
        """Cases in the actor's jurisdiction, newest first. `query` searches case number (partial,
        any case), compound, title, matter and the parties' and candidates' names (every
        whitespace-separated term must match; see engine/runtime/search.py)."""
        return self.search_cases(actor, process_key, status, compound_code, limit, offset, query)[0]

    def search_cases(self, actor: Actor, process_key: str | None = None, status: str | None = None,
                     compound_code: str | None = None, limit: int = 50, offset: int = 0,
                     query: str | None = None) -> tuple[list[CaseView], bool]:
        """`list_cases`, and whether the search was limited to the newest cases (only terms too
        short for the trigram index)."""
        terms = search.terms_of(query or "")
        with self.uow() as s:
            q = select(Case).where(Case.org_path.startswith(actor.jurisdiction_path))
            if process_key:
                q = q.where(Case.process_key == process_key)
            if status:
                q = q.where(Case.status == status)
            if compound_code:
                q = q.join(OrgUnit, OrgUnit.id == Case.compound_id).where(OrgUnit.code == compound_code)
            bounded, order = False, Case.id
            if terms.indexed or terms.short:
                floor = None
                if terms.bounded:
                    # The newest cases of the whole system (ids only grow): one index look-up,
                    # where counting back within the filters would walk them all.
                    newest = s.scalar(select(func.max(Case.id))) or 0
                    if newest > search.SHORT_TERM_SCAN:
                        floor, bounded = newest - search.SHORT_TERM_SCAN + 1, True
                q, order = search.narrow(q, s.bind.dialect.name, terms, floor)
            q = q.order_by(order.desc()).limit(limit).offset(offset)
            return [self._case_view(s, c, with_data=False) for c in s.scalars(q)], bounded

    def reindex_search(self, batch: int = 200) -> int:
        """Rewrite every case's search text from its current workflow data (after an upgrade: the
        migration could only index the columns). Each batch commits on its own."""
        done, last_id = 0, 0
        while True:
            with self.uow() as s:
                cases = list(s.scalars(select(Case).where(Case.id > last_id).order_by(Case.id).limit(batch)))
                for case in cases:
                    wf, _loaded = self.workflow_for(s, case)
                    code, name = self._compound(s, case.compound_id)
                    search.write_index(s.connection(), case.id, search.index_text(
                        case.case_number, code, name, case.title, _current_data(wf), json.loads(case.summary or "{}")))
            if not cases:
                return done
            done += len(cases)
            last_id = cases[-1].id

    def _case_view(self, s: Session, case: Case, with_data: bool = True, wf: BpmnWorkflow | None = None,
                   rows: tuple[list[HumanTask], list[Timer]] | None = None) -> CaseView:
        """The case as shown to people. Pass the in-memory workflow and derived rows right after a
        save to avoid loading them again."""
        meta, loaded = self.loaded_definition(s, case.definition_id)
        code, name = self._compound(s, case.compound_id)
        data: dict[str, Any] = {}
        tasks = timers = []
        if with_data:
            if wf is None:
                wf = state.loads(case.state, loaded.spec, loaded.subprocess_specs)
            data = state.json_safe(_current_data(wf))
            if rows is None:
                rows = (list(s.scalars(_CASE_TASKS, {"case_id": case.id})),
                        list(s.scalars(_CASE_TIMERS, {"case_id": case.id})))
            task_rows, timer_rows = rows
            tasks = [self._task_view(t, case, code, name).as_dict()
                     for t in sorted(task_rows, key=lambda t: (t.created_at, t.id))]
            held = holders(s, [t["id"] for t in tasks])
            for t in tasks:
                t["holder"] = held.get(t["id"])
            timers = [{"id": t.id, "name": t.spec_name, "due_at": t.due_at.isoformat(), "due_note": t.due_note}
                      for t in sorted(timer_rows, key=lambda t: t.due_at)]
        return CaseView(
            id=case.id, case_number=case.case_number, process_key=case.process_key,
            definition_version=meta.version, title=case.title, status=case.status,
            compound_code=code, compound_name=name, org_path=case.org_path,
            version=case.version, created_at=case.created_at, updated_at=case.updated_at,
            completed_at=case.completed_at, data=data, summary=json.loads(case.summary or "{}"),
            tasks=tasks, timers=timers, clock_offset_days=case.clock_offset_days or 0,
        )

    def workflow_for(self, s: Session, case: Case) -> tuple[BpmnWorkflow, LoadedDefinition]:
        _pd, loaded = self.loaded_definition(s, case.definition_id)
        return state.loads(case.state, loaded.spec, loaded.subprocess_specs), loaded

    def case_diagram(self, case_number: str, actor: Actor) -> dict[str, Any]:
        """What the case page draws: the main process's BPMN XML and which of its elements are
        completed, active (ready/waiting) or overdue (an open human task past its due time)."""
        with self.uow() as s:
            case = self._case_for_reading(s, case_number, actor)
            wf, loaded = self.workflow_for(s, case)
            from .definitions import executable_processes

            xml = next((x for f, x in sorted(loaded.bpmn.items())
                        if any(k == case.process_key for k, _ in executable_processes(x, f))), "")
            completed, active = set(), set()
            for t in wf.get_tasks():
                bpmn_id = t.task_spec.bpmn_id
                if not bpmn_id or t.workflow is not wf:
                    continue
                if t.state == TaskState.COMPLETED:
                    completed.add(bpmn_id)
                elif t.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
                    active.add(bpmn_id)
            now = self.case_clock(case).now()
            overdue = set(s.scalars(select(HumanTask.spec_name).where(
                HumanTask.case_id == case.id, HumanTask.due_at.is_not(None), HumanTask.due_at < now)))
            return {"xml": xml, "completed": sorted(completed - active), "active": sorted(active),
                    "overdue": sorted(overdue & active)}

    # --- tasks --------------------------------------------------------------------------

    TASK_ORDERS = ("due", "newest", "oldest")

    def list_tasks(self, actor: Actor, process_key: str | None = None, compound_code: str | None = None,
                   overdue_only: bool = False, limit: int = 50, offset: int = 0, order: str = "due",
                   scope: str = "all") -> list[TaskView]:
        """An actor's open tasks. `order`: "due" (default) puts due ones first by due date — so the
        overdue ones lead — then undated ones by age; "newest" / "oldest" sort by arrival.

        For "due", two ordered reads instead of one `ORDER BY due_at IS NULL, …`: each walks the
        index (role, due_at, created_at) in order and stops after `limit` rows, where the single
        query would sort every open task of the role (tens of thousands in a district). Arrival
        order walks (role, created_at)."""
        if order not in self.TASK_ORDERS:
            raise ValidationFailed(f"unknown task order {order!r}", f"不支持的排序方式「{order}」")
        _check_scope(scope)
        with self.uow() as s:
            q = (select(HumanTask.id, HumanTask.process_key, HumanTask.spec_name, HumanTask.title, HumanTask.role,
                        HumanTask.lane, HumanTask.created_at, HumanTask.due_at, HumanTask.form,
                        Case.case_number, Case.id, Case.version, OrgUnit.code, OrgUnit.name, HumanTask.due_note,
                        Case.clock_offset_days)
                 .join(Case, Case.id == HumanTask.case_id)
                 .join(OrgUnit, OrgUnit.id == HumanTask.compound_id)
                 .where(HumanTask.org_path.startswith(actor.jurisdiction_path)))
            q = _scoped(q, actor, scope)
            if process_key:
                q = q.where(HumanTask.process_key == process_key)
            if compound_code:
                q = q.where(OrgUnit.code == compound_code)
            if overdue_only:
                q = q.where(overdue_clause(s, self.now()))
            if order != "due":
                by = (HumanTask.created_at.desc(), HumanTask.id.desc()) if order == "newest" else \
                    (HumanTask.created_at, HumanTask.id)
                rows = list(s.execute(q.order_by(*by).limit(limit).offset(offset)).all())
            else:
                rows = list(s.execute(q.where(HumanTask.due_at.is_not(None))
                                      .order_by(HumanTask.due_at, HumanTask.created_at, HumanTask.id)
                                      .limit(limit).offset(offset)).all())
                if len(rows) < limit and not overdue_only:
                    skipped = offset
                    if offset:  # how many dated tasks the offset already passed over
                        n_dated = s.scalar(select(func.count()).select_from(
                            q.where(HumanTask.due_at.is_not(None)).with_only_columns(HumanTask.id).subquery()))
                        skipped = max(0, offset - n_dated)
                    rows += s.execute(q.where(HumanTask.due_at.is_(None))
                                      .order_by(HumanTask.created_at, HumanTask.id)
                                      .limit(limit - len(rows)).offset(skipped)).all()
            return [TaskView(r[0], r[9], r[10], r[1], r[2], r[3], r[4], r[5], r[12], r[13], r[6], r[7], r[8], r[11],
                             r[14], r[15] or 0) for r in rows]

    def count_tasks(self, actor: Actor, process_key: str | None = None, overdue_only: bool = False,
                    up_to: int | None = None, scope: str = "all") -> int:
        """Open tasks of the actor; with `up_to`, counting stops there (a badge shows "99+", and
        need not count a district's tens of thousands on every page). `scope`: "all" of the
        actor's role, "mine" (claimed by or assigned to the actor) or "pool" (held by nobody)."""
        _check_scope(scope)
        with self.uow() as s:
            q = self._open_tasks_of(actor, process_key, scope)
            if overdue_only:
                q = q.where(overdue_clause(s, self.now()))
            if up_to is not None:
                q = q.limit(up_to)
            return s.scalar(select(func.count()).select_from(q.subquery())) or 0

    def task_badge(self, actor: Actor, up_to: int) -> tuple[int, bool]:
        """The navigation badge of every page: open tasks (counted up to `up_to`) and whether any
        is overdue, in one statement (it is on every page, so every round trip shows under load)."""
        q = self._open_tasks_of(actor)
        count = select(func.count()).select_from(q.limit(up_to).subquery()).scalar_subquery()
        with self.uow() as s:
            overdue = q.where(overdue_clause(s, self.now())).exists()
            n, late = s.execute(select(count, overdue)).one()
        return n or 0, bool(late)

    @staticmethod
    def _open_tasks_of(actor: Actor, process_key: str | None = None, scope: str = "all"):
        q = _scoped(select(HumanTask.id).where(HumanTask.org_path.startswith(actor.jurisdiction_path)), actor, scope)
        if process_key:
            q = q.where(HumanTask.process_key == process_key)
        return q

    @staticmethod
    def _task_view(t: HumanTask, case: Case, compound_code: str, compound_name: str) -> TaskView:
        return TaskView(t.id, case.case_number, case.id, t.process_key, t.spec_name, t.title, t.role, t.lane,
                        compound_code, compound_name, t.created_at, t.due_at, t.form, case.version, t.due_note,
                        case.clock_offset_days or 0)

    def get_task(self, task_id: str, actor: Actor) -> dict[str, Any]:
        """The task with its form schema and the case data it is shown with."""
        with self.uow() as s:
            ht, case = self._task_for(s, task_id, actor)
            self._authorize_task(actor, ht, case)
            wf, loaded = self.workflow_for(s, case)
            task = wf.get_task_from_id(UUID(task_id))
            schema = loaded.form_schema(ht.spec_name) or {}
            fit = loaded.human_tasks[ht.spec_name].properties.get(FORM_PROPERTY)
            if fit and schema:
                ctx = ServiceContext(session=s, now=self.case_clock(case).now(), actor=actor.username, case=case,
                                     settings=self.settings)
                schema = services.call(fit, {"schema": schema}, ctx, task)
            return {
                "task": self._task_view(ht, case, *self._compound(s, case.compound_id)).as_dict(),
                "schema": schema,
                "ui_schema": loaded.ui_schema(ht.spec_name) or {},
                "data": state.json_safe(task.data),
                "properties": loaded.human_tasks[ht.spec_name].properties,
                "choices": choices.resolve(s, case, ht.role, task.data, loaded.form_schema(ht.spec_name) or {}),
                "panel": panels.build(s, case, loaded.form_schema(ht.spec_name), task.data),
            }

    def _task_for(self, s: Session, task_id: str, actor: Actor) -> tuple[HumanTask, Case]:
        ht = s.get(HumanTask, task_id)
        if ht is None:
            raise NotFound(f"task {task_id} is not open (already completed, or unknown)",
                           f"任务 {task_id} 不存在或已被办理")
        return ht, s.get(Case, ht.case_id)

    @staticmethod
    def _authorize_task(actor: Actor, ht: HumanTask, case: Case) -> None:
        if actor.is_system:
            return
        if not actor.covers(case.org_path):
            raise NotFound(f"task {ht.id} is not open (already completed, or unknown)",
                           f"任务 {ht.id} 不存在或已被办理")
        if actor.read_only or actor.role != ht.role:
            raise Forbidden(f"role {actor.role} may not complete «{ht.title}» (needs {ht.role})",
                            f"当前角色无权办理「{ht.title}」")

    @retried
    def complete_task(self, task_id: str, actor: Actor, data: dict | None = None,
                      expected_version: int | None = None,
                      uploads: "dict[str, PendingUpload] | None" = None) -> CaseView:
        """Complete a user task with its form data. `uploads` are files the data refers to by
        {"_pending_upload": key}; they are stored in this transaction, so a refused form keeps none."""
        data = data if data is not None else {}
        check_data(data)
        try:
            with self.uow() as s:
                found = s.execute(_TASK_WITH_CASE, {"task_id": task_id}).first()
                if found is None:
                    self._raise_gone(s, task_id, actor)
                ht, case = found
                try:
                    self._authorize_task(actor, ht, case)
                    refuse_unless_running(case, "其待办任务不能办理")
                    holder_check(s, actor, ht)
                    if expected_version is not None and case.version != expected_version:
                        raise Conflict(
                            f"case {case.case_number} changed since you opened it (version {expected_version} → {case.version})",
                            f"案件 {case.case_number} 已被他人更新，请刷新后重试")
                    view, wf, lapsed = self._complete(s, ht, case, actor, data, uploads or {})
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
            ref = getattr(exc, "refused_on", None)
            if ref:
                self.record_refusal(ref[0], ref[1], actor, "complete_task", exc, task_id, ref[2])
            raise

    def _raise_gone(self, s: Session, task_id: str, actor: Actor) -> None:
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
                  uploads: "dict[str, PendingUpload]") -> tuple[CaseView, BpmnWorkflow, Conflict | None]:
        """Complete one task inside the caller's unit of work. The third value is set when a due
        deadline lapsed the task first: the firing is saved and the completion is refused."""
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
        wf.script_engine = self._engine_for(s, case, actor)
        previous = Derived.of(wf)
        clock = self.case_clock(case)
        now = clock.now()
        # Timers that fell due before this completion arrived fire first, as the worker would have.
        try:
            early_steps, early_fired = self._run_engine(wf, clock)
        except SpiffWorkflowException as exc:
            raise _engine_failure(exc) from exc
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
            # the refusal is audited by the caller, nothing else changes.
            services.call(guard, {"task_data": task.data, "form_data": data}, wf.script_engine.service_context, task)
        before = state.json_safe({k: task.data.get(k) for k in data})
        try:
            with using_clock(clock):  # completing a task may start timers: they read the clock
                task.set_data(**data)
                task.run()
            steps, fired = self._run_engine(wf, clock)
        except SpiffWorkflowException as exc:
            raise _engine_failure(exc) from exc
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

    # --- saving -------------------------------------------------------------------------

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
        values = dict(state=new_state, version=case.version + 1, status=status, updated_at=now,
                      summary=json.dumps(summary, ensure_ascii=False, sort_keys=True),
                      completed_at=now if status == "completed" else None)
        if initial:
            for k, v in values.items():
                setattr(case, k, v)
            s.flush()
        else:
            res = s.connection().execute(_BUMP_CASE, {**values, "case_id": case.id, "expected": case.version})
            if res.rowcount != 1:
                raise Conflict(f"case {case.case_number} was changed by someone else first",
                               f"案件 {case.case_number} 已被他人更新，请刷新后重试")
            for k, v in values.items():  # the row now holds these; keep the ORM object in step
                set_committed_value(case, k, v)
        audit.note_case_state(s, case.id, values["version"], status, new_state)
        if initial:
            previous = Derived({}, {})
        code, name = self._compound(s, case.compound_id)
        search.write_index(s.connection(), case.id, search.index_text(
            case.case_number, code, name, case.title, current, summary))
        rows = self._sync_derived_rows(s, case, wf, loaded, now, previous, scanned)
        if recounted:
            context = getattr(wf.script_engine, "service_context", None)
            audit_recounted(s, case, getattr(context, "actor", None) or "system", recounted, now)
        return rows

    def _sync_derived_rows(self, s: Session, case: Case, wf: BpmnWorkflow, loaded: LoadedDefinition,
                           now: datetime, previous: "Derived | None" = None,
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

    # --- deadlines ----------------------------------------------------------------------

    def recount_deadlines(self, actor: Actor, dry_run: bool = False, calendar=None):
        """Count pending deadlines again by the stored holiday schedules (engine.runtime.recount);
        one transaction per case. `dry_run` only lists what would move (optionally under `calendar`)."""
        from .recount import recount_pending

        return recount_pending(self, actor, dry_run=dry_run, calendar=calendar)

    def load_holiday_schedule(self, text: str, actor: Actor, source: str = "", dry_run: bool = False):
        """Check and store a year's official holiday schedule, then recount pending deadlines."""
        from .recount import load_schedule

        return load_schedule(self, text, actor, source=source, dry_run=dry_run)

    # --- training database ------------------------------------------------------------

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
                if s.bind.dialect.name == "postgresql":
                    q = q.with_for_update()
                case = s.scalar(q)
                if case is None or not actor.covers(case.org_path):
                    raise NotFound(f"unknown case {case_number!r}", f"案件「{case_number}」不存在")
                try:
                    if expected_version is not None and case.version != expected_version:
                        raise Conflict(f"case {case.case_number} changed since you opened it",
                                       f"案件 {case.case_number} 已被他人更新，请刷新后重试")
                    if case.status != "running":
                        raise Conflict(f"case {case.case_number} is {case.status}; its clock no longer runs",
                                       f"案件 {case.case_number} 已办结，不能再模拟时间前进")
                    view, wf = self._advance(s, case, actor, days, reason)
                except (Conflict, InvariantViolated) as exc:
                    exc.refused_on = (case.id, case.case_number)
                    raise
            self._workflows.put(view.id, view.version, wf)  # only once committed
            return view
        except IntegrityError as exc:
            raise Conflict("the case was changed by someone else at the same moment; please retry",
                           "案件正被他人同时办理，请刷新后重试") from exc
        except (Conflict, InvariantViolated) as exc:
            ref = getattr(exc, "refused_on", None)
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
        previous = Derived.of(wf)
        chain = audit.case_chain(case.case_number)
        # First in the history, at the moment it was asked for: the notices the firings issue
        # follow at their own times, then the firings, so the history reads in time order.
        audit.append(s, chain=chain, case_id=case.id, actor=actor.username, action="training_clock_advanced",
                     detail={"days": days, "reason": reason, "offset_days": offset,
                             "from": before.isoformat(), "to": now.isoformat()}, now=before)
        steps: list[str] = []
        fired: list[FiredTimer] = []
        try:
            # Time passes through each due moment in turn: a timer fires at its own due time (just
            # after it, as SpiffWorkflow counts), so what it starts is counted from then, as it
            # would have been had the days really passed (e.g. a voting period after a publicity).
            for _ in range(MAX_ENGINE_ROUNDS):
                due = _earliest_due_timer(wf, now, set())
                if due is None:
                    break
                at = FrozenClock(due[1] + timedelta(seconds=1))
                context.service_context.now = at.now()
                more_steps, more_fired = self._run_engine(wf, at)
                steps += more_steps
                fired += more_fired
                if not more_fired:
                    break
            context.service_context.now = now
            more_steps, more_fired = self._run_engine(wf, clock)
        except SpiffWorkflowException as exc:
            raise _engine_failure(exc) from exc
        steps += more_steps
        fired += more_fired
        rows = self._save(s, case, wf, loaded, now, previous=previous)
        self._audit_fired(s, case, Actor.system(), fired, steps, now)
        if case.status == "completed":
            audit.append(s, chain=chain, case_id=case.id, actor="system", action="case_completed", now=now)
        return self._case_view(s, case, wf=wf, rows=rows), wf

    # --- timers -------------------------------------------------------------------------

    @retried
    def claim_due_timers(self, worker_id: str, limit: int = 50, lease_seconds: int = 120) -> list[tuple[str, int]]:
        """Claim up to `limit` due timers. On PostgreSQL, SKIP LOCKED lets workers claim disjoint sets;
        an expired lease (a crashed worker) makes a timer claimable again."""
        from datetime import timedelta

        now = self.now()
        until = now + timedelta(seconds=lease_seconds)
        claimable = and_(Timer.due_at < now,  # passed, as SpiffWorkflow counts it
                          or_(Timer.claimed_until.is_(None), Timer.claimed_until < now),
                          _CASE_RUNS)  # a suspended case's timers wait for its resumption
        with self.uow() as s:
            pick = select(Timer.id).where(claimable).order_by(Timer.due_at).limit(limit)
            if s.bind.dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = list(s.scalars(pick))
            rows = []
            if ids:
                rows = s.execute(update(Timer).where(Timer.id.in_(ids), claimable)
                                 .values(claimed_by=worker_id, claimed_until=until)
                                 .returning(Timer.id, Timer.case_id)).all()
            if len(rows) < limit and _is_training(s):
                rows += self._claim_ahead(s, worker_id, limit - len(rows), now, until)
            return [(r[0], r[1]) for r in rows]

    @staticmethod
    def _claim_ahead(s: Session, worker_id: str, limit: int, now: datetime, until: datetime) -> list:
        """Training databases: timers of cases whose clock was moved forward fall due that much
        earlier in real time (their rows hold the case's own time). Few cases ever are."""
        free = or_(Timer.claimed_until.is_(None), Timer.claimed_until < now)
        pick = (select(Timer.id, Timer.due_at, Case.clock_offset_days).join(Case, Case.id == Timer.case_id)
                .where(Case.clock_offset_days > 0, Case.status == "running", Timer.due_at >= now, free)
                .order_by(Timer.due_at))
        ids = [tid for tid, due, days in s.execute(pick) if due < now + timedelta(days=days)][:limit]
        if not ids:
            return []
        return s.execute(update(Timer).where(Timer.id.in_(ids), free)
                         .values(claimed_by=worker_id, claimed_until=until)
                         .returning(Timer.id, Timer.case_id)).all()

    @retried
    def fire_timer(self, timer_id: str, worker_id: str) -> bool:
        """Fire one claimed timer (and any other timer of the case that is due). False if it was
        gone, re-claimed by someone else, or the case moved on first.

        Locks in the one order every writer uses: the case row first, then its timer rows (a
        completion locks the case and then deletes timer rows)."""
        try:
            with self.uow() as s:
                case_id = s.scalar(select(Timer.case_id).where(Timer.id == timer_id, Timer.claimed_by == worker_id))
                if case_id is None:
                    return False
                pg = s.bind.dialect.name == "postgresql"
                case = s.get(Case, case_id, with_for_update=pg)
                q = select(Timer.id).where(Timer.id == timer_id, Timer.claimed_by == worker_id)
                if s.scalar(q.with_for_update() if pg else q) is None:  # the case moved on meanwhile
                    return False
                if case.status != "running":  # suspended since the claim: the timer waits
                    s.execute(update(Timer).where(Timer.id == timer_id).values(claimed_by=None, claimed_until=None))
                    return False
                actor = Actor.system(f"worker:{worker_id}")
                wf, loaded = self.workflow_for(s, case)
                wf.script_engine = self._engine_for(s, case, actor)
                previous = Derived.of(wf)
                clock = self.case_clock(case)
                now = clock.now()
                try:
                    steps, fired = self._run_engine(wf, clock)
                except SpiffWorkflowException as exc:
                    exc = _engine_failure(exc)
                    exc.refused_on = (case.id, case.case_number, None)
                    raise exc
                if not fired:
                    s.execute(update(Timer).where(Timer.id == timer_id).values(claimed_by=None, claimed_until=None))
                    return False
                try:
                    self._save(s, case, wf, loaded, now, previous=previous)
                except InvariantViolated as exc:
                    exc.refused_on = (case.id, case.case_number, None)
                    raise
                self._audit_fired(s, case, actor, fired, steps, now)
                if case.status == "completed":
                    audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id,
                                 actor=actor.username, action="case_completed", now=now)
                return True
        except (Conflict, IntegrityError):
            return False
        except (InvariantViolated, ValidationFailed, Forbidden) as exc:
            # The firing is refused (a violated invariant, a failing script or service): audited;
            # the lease lets it be retried later.
            case_id, case_number, _ = exc.refused_on
            self.record_refusal(case_id, case_number, Actor.system(f"worker:{worker_id}"), "fire_timer", exc)
            return False

    def audit_checkpoint(self, if_due: bool = False):
        """Sign the heads of all audit chains (see engine.audit_anchor). With `if_due`, only when
        the last checkpoint is older than the interval and something was added since."""
        from engine import audit_anchor

        with self.uow() as s:
            if if_due:
                return audit_anchor.checkpoint_if_due(s, self.now())
            return audit_anchor.write_checkpoint(s, self.now())

    def resume_stuck_cases(self, worker_id: str) -> list[str]:
        """Run on the cases left running with nothing to wait for: saved before due timers were
        fired in the same save, they hold a timer SpiffWorkflow readied but never ran. Returns the
        numbers of the cases that moved on."""
        stuck = (select(Case.id).where(Case.status == "running",
                                       ~select(HumanTask.id).where(HumanTask.case_id == Case.id).exists(),
                                       ~select(Timer.id).where(Timer.case_id == Case.id).exists()))
        with self.uow() as s:
            ids = list(s.scalars(stuck))
        resumed = []
        for case_id in ids:
            try:
                number = self._resume(case_id, worker_id)
            except (HongwuError, SQLAlchemyError) as exc:
                log.error("case %s could not be resumed: %s", case_id, exc)
                continue
            if number:
                resumed.append(number)
        return resumed

    @retried
    def _resume(self, case_id: int, worker_id: str) -> str | None:
        with self.uow() as s:
            case = s.get(Case, case_id, with_for_update=s.bind.dialect.name == "postgresql")
            if case is None or case.status != "running":
                return None
            actor = Actor.system(f"worker:{worker_id}")
            wf, loaded = self.workflow_for(s, case)
            wf.script_engine = self._engine_for(s, case, actor)
            clock = self.case_clock(case)
            now = clock.now()
            try:
                steps, fired = self._run_engine(wf, clock)
            except SpiffWorkflowException as exc:
                raise _engine_failure(exc) from exc
            if not fired and not steps:
                return None  # stuck for some other reason: left as it is, for a person to look at
            self._save(s, case, wf, loaded, now)  # previous rows read from the database
            self._audit_fired(s, case, actor, fired, steps, now)
            if case.status == "completed":
                audit.append(s, chain=audit.case_chain(case.case_number), case_id=case.id,
                             actor=actor.username, action="case_completed", now=now)
            return case.case_number

    def run_due_timers(self, worker_id: str | None = None, batch: int = 50) -> int:
        """Fire every timer due now; returns how many timer claims fired something."""
        worker_id = worker_id or f"w-{uuid.uuid4().hex[:8]}"
        fired = 0
        tried: set[str] = set()
        while True:
            # A timer that could not fire (refused, or its case moved on) is released and would be
            # claimed again at once: try each timer once per run.
            claimed = [c for c in self.claim_due_timers(worker_id, batch) if c[0] not in tried]
            if not claimed:
                return fired
            for timer_id, _case_id in claimed:
                tried.add(timer_id)
                try:
                    fired += self.fire_timer(timer_id, worker_id)
                except (HongwuError, SQLAlchemyError) as exc:
                    # One timer's trouble must not stop the others; its lease expires and it is
                    # tried again by a later run.
                    log.error("timer %s could not be fired: %s", timer_id, exc)


# Statements built once (building them costs more than running them on the hot path).
_CASE_RUNS = select(Case.id).where(Case.id == Timer.case_id, Case.status == "running").exists()
_CASE_TASKS = select(HumanTask).where(HumanTask.case_id == bindparam("case_id"))
_CASE_TIMERS = select(Timer).where(Timer.case_id == bindparam("case_id"))
_BUMP_CASE = (update(Case).where(Case.id == bindparam("case_id"), Case.version == bindparam("expected"))
              .values({c: bindparam(c) for c in ("state", "version", "status", "updated_at", "summary", "completed_at")})
              .execution_options(synchronize_session=False))


# FOR UPDATE (PostgreSQL; SQLite has one writer anyway): completions of one case queue from the
# start, so nothing a completion writes early (notices, their audit events) can race another's.
_TASK_WITH_CASE = (select(HumanTask, Case).join(Case, Case.id == HumanTask.case_id)
                   .where(HumanTask.id == bindparam("task_id")).with_for_update(of=Case))
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
_INSERT_TASK = HumanTask.__table__.insert()
_INSERT_TIMER = Timer.__table__.insert()


@dataclass
class Derived:
    """The derived rows of a case as {task id: due} and {timer id: due}."""

    tasks: dict[str, datetime | None]
    timers: dict[str, datetime]

    @classmethod
    def of(cls, wf: BpmnWorkflow) -> "Derived":
        ready, waiting = _scan(wf)
        return cls({tid: human_task_due(t) for tid, t in ready.items()},
                   {tid: timer_due(t) for tid, t in waiting.items()})


TRAINING_FLAG = "training"
TASK_SCOPES = ("all", "mine", "pool")


def _check_scope(scope: str) -> None:
    if scope not in TASK_SCOPES:
        raise ValidationFailed(f"unknown task scope {scope!r}", f"不支持的待办范围「{scope}」")


def _scoped(q, actor: Actor, scope: str):
    """The actor's tasks: of their role (all / the unheld pool), or those held by them (mine)."""
    if scope == "mine":
        return q.where(HumanTask.id.in_(select(TaskClaim.task_id).where(TaskClaim.holder == actor.username)))
    if not actor.is_system:
        q = q.where(HumanTask.role == actor.role)
    if scope == "pool":
        q = q.where(~select(TaskClaim.task_id).where(TaskClaim.task_id == HumanTask.id).exists())
    return q
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
    if problems:
        raise ValidationFailed("; ".join(p["message"] for p in problems),
                               "；".join(p["message_zh"] for p in problems), details=problems)
    return n, text


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


def _engine_work_ready(wf: BpmnWorkflow) -> bool:
    """Is any task ready that the engine (not a person) runs?"""
    return any(t.state == TaskState.READY and not t.task_spec.manual
               for w in (wf, *wf.subprocesses.values()) for t in w.tasks.values())


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


def _refuse_form(problems: list[dict]) -> None:
    """Refuse a form submission naming each problem's field (nothing of it is kept)."""
    if problems:
        raise ValidationFailed("form data is invalid: " + "; ".join(p["message"] for p in problems),
                               "表单填写有误：" + "；".join(p["message_zh"] for p in problems), details=problems)


def deploy(runtime: Runtime, paths=None, forms_dir=None, actor: Actor | None = None):
    """Validate then store definitions (see `engine.runtime.deploy`); admins and the system only."""
    from .deploy import prepare, store

    actor = actor or Actor.system()
    if not (actor.is_system or actor.role == "admin"):
        raise Forbidden("only administrators may deploy process definitions", "仅系统管理员可以部署流程")
    bundles = prepare(paths, forms_dir)
    with runtime.uow() as s:
        return store(s, bundles, actor.username, runtime.now())
