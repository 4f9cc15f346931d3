"""The read side of the service layer: cases, their diagram and panel, task lists and badges,
one task with its form."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select, true
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from engine.db.models import Case, HumanTask, OrgUnit, Timer

from . import choices, panels, search, services, state
from .actors import Actor
from .claims import check_scope, holders, scoped
from .definitions import LoadedDefinition
from .errors import Forbidden, NotFound, ValidationFailed
from .overdue import overdue_clause
from .parts import RuntimeParts
from .persistence import _CASE_TASKS, _CASE_TIMERS, _current_data
from .services import ServiceContext

# User-task property naming a registered service that fits the form to the case (e.g. leaves out
# the negative-list grounds the case's street switched off); the stored form stays the full one.
FORM_PROPERTY = "formSchemaService"


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



class Views(RuntimeParts):
    """Reading cases and tasks (part of `Runtime`)."""

    def get_case(self, case_number: str, actor: Actor) -> CaseView:
        with self.uow() as s:
            case = self._case_for_reading(s, case_number, actor)
            return self._case_view(s, case)

    def case_reading(self, case_number: str, actor: Actor) -> tuple[CaseView, dict[str, Any], list[dict]]:
        """What the case page reads of the case — its view, its diagram and its subject's panel —
        from one transaction and one deserialization (so the three agree with each other)."""
        with self.uow() as s:
            case = self._case_for_reading(s, case_number, actor)
            wf, loaded = self.workflow_for(s, case)
            view = self._case_view(s, case, wf=wf)
            return view, self._diagram(s, case, wf, loaded), panels.for_case(s, case, view.data)

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
            bounded, order = False, Case.id.expression
            if terms.indexed or terms.short:
                floor = None
                if terms.bounded:
                    # The newest cases of the whole system (ids only grow): one index look-up,
                    # where counting back within the filters would walk them all.
                    newest = s.scalar(select(func.max(Case.id))) or 0
                    if newest > search.SHORT_TERM_SCAN:
                        floor, bounded = newest - search.SHORT_TERM_SCAN + 1, True
                q, order = search.narrow(q, s.get_bind().dialect.name, terms, floor)
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
            # Rows this save made (transient) are new tasks: nobody holds them yet.
            held = holders(s, [t.id for t in task_rows if not sa_inspect(t).transient])
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
            return self._diagram(s, case, wf, loaded)

    def _diagram(self, s: Session, case: Case, wf: BpmnWorkflow, loaded: LoadedDefinition) -> dict[str, Any]:
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
        `scope`: "all" of the actor's role, "mine" (claimed by or assigned to the actor) or "pool"
        (held by nobody); overdue is judged by each case's own clock.

        For "due", two ordered reads instead of one `ORDER BY due_at IS NULL, …`: each walks the
        index (role, due_at, created_at) in order and stops after `limit` rows, where the single
        query would sort every open task of the role (tens of thousands in a district). Arrival
        order walks (role, created_at)."""
        if order not in self.TASK_ORDERS:
            raise ValidationFailed(f"unknown task order {order!r}", f"不支持的排序方式「{order}」")
        check_scope(scope)
        with self.uow() as s:
            q = self._open_tasks_of(actor, process_key, scope)
            if compound_code:
                q = q.where(HumanTask.compound_id.in_(select(OrgUnit.id).where(OrgUnit.code == compound_code)))
            if overdue_only:
                q = q.where(overdue_clause(s, self.now()))

            def page(where, by, limit: int, offset: int) -> list:
                # The page's task ids first, from the index alone, and only those joined to their case
                # and compound: joining first would look up the case of every task of the street.
                ids = q.where(where).order_by(*by).limit(limit).offset(offset)
                return list(s.execute(
                    select(HumanTask.id, HumanTask.process_key, HumanTask.spec_name, HumanTask.title, HumanTask.role,
                           HumanTask.lane, HumanTask.created_at, HumanTask.due_at, HumanTask.form,
                           Case.case_number, Case.id, Case.version, OrgUnit.code, OrgUnit.name, HumanTask.due_note,
                           Case.clock_offset_days)
                    .join(Case, Case.id == HumanTask.case_id)
                    .join(OrgUnit, OrgUnit.id == HumanTask.compound_id)
                    .where(HumanTask.id.in_(ids)).order_by(*by)).all())

            if order != "due":
                by = (HumanTask.created_at.desc(), HumanTask.id.desc()) if order == "newest" else \
                    (HumanTask.created_at, HumanTask.id)
                rows = page(true(), by, limit, offset)
            else:
                rows = page(HumanTask.due_at.is_not(None), (HumanTask.due_at, HumanTask.created_at, HumanTask.id),
                            limit, offset)
                if len(rows) < limit and not overdue_only:
                    skipped = offset
                    if offset:  # how many dated tasks the offset already passed over
                        n_dated = s.scalar(select(func.count()).select_from(
                            q.where(HumanTask.due_at.is_not(None)).subquery())) or 0
                        skipped = max(0, offset - n_dated)
                    rows += page(HumanTask.due_at.is_(None), (HumanTask.created_at, HumanTask.id),
                                 limit - len(rows), skipped)
            return [TaskView(r[0], r[9], r[10], r[1], r[2], r[3], r[4], r[5], r[12], r[13], r[6], r[7], r[8], r[11],
                             r[14], r[15] or 0) for r in rows]

    def count_tasks(self, actor: Actor, process_key: str | None = None, overdue_only: bool = False,
                    up_to: int | None = None, scope: str = "all") -> int:
        """Open tasks of the actor (`scope` as in list_tasks); with `up_to`, counting stops there
        (a badge shows "99+", and need not count a district's tens of thousands on every page)."""
        check_scope(scope)
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
        q = scoped(select(HumanTask.id).where(HumanTask.org_path.startswith(actor.jurisdiction_path)), actor, scope)
        if process_key:
            q = q.where(HumanTask.process_key == process_key)
        return q

    @staticmethod
    def _task_view(t: HumanTask, case: Case, compound_code: str, compound_name: str) -> TaskView:
        return TaskView(t.id, case.case_number, case.id, t.process_key, t.spec_name, t.title, t.role, t.lane,
                        compound_code, compound_name, t.created_at, t.due_at, t.form, case.version, t.due_note,
                        case.clock_offset_days or 0)

    def get_task(self, task_id: str, actor: Actor, action: str = "open_task") -> dict[str, Any]:
        """The task with its form schema and the case data it is shown with. A refused look is
        recorded in the case's chain here, so the web page, the API and the CLI all leave a trace;
        `action` names what was attempted (opening the task, or submitting it)."""
        refused: tuple[int, str, str, Forbidden] | None = None
        with self.uow() as s:
            ht, case = self._task_for(s, task_id, actor)
            try:
                self._authorize_task(actor, ht, case)
            except Forbidden as exc:
                refused = (case.id, case.case_number, ht.title, exc)
            if refused is None:
                return self._task_info(s, ht, case, task_id, actor)
        # The reading session is closed; the refusal gets a transaction of its own.
        assert refused is not None
        case_id, case_number, title, refusal = refused
        self.record_refusal(case_id, case_number, actor, action, refusal, task_id, title)
        raise refusal

    def closed_task_form(self, case_number: str, spec_name: str, task_id: str, actor: Actor) -> dict[str, Any] | None:
        """Enough of a task that is no longer open to show its form again (read only); None when
        the case is outside the actor's jurisdiction or the step has no form."""
        try:
            view = self.get_case(case_number, actor)  # jurisdiction check; NotFound outside it
        except NotFound:
            return None
        with self.uow() as s:
            case = s.scalar(select(Case).where(Case.case_number == case_number))
            assert case is not None  # get_case just found it, and cases are never deleted
            _pd, loaded = self.loaded_definition(s, case.definition_id)
            info = loaded.human_tasks.get(spec_name)
            if info is None:
                return None
            return {"task": {"id": task_id, "name": spec_name, "case_number": case_number, "title": info.title,
                             "role": info.role, "compound_name": view.compound_name, "case_version": view.version,
                             "due_at": None, "process_key": view.process_key},
                    "schema": loaded.form_schema(spec_name) or {}, "ui_schema": loaded.ui_schema(spec_name) or {}}

    def _task_info(self, s: Session, ht: HumanTask, case: Case, task_id: str, actor: Actor) -> dict[str, Any]:
        wf, loaded = self.workflow_for(s, case)
        task = wf.get_task_from_id(UUID(task_id))
        schema = loaded.form_schema(ht.spec_name) or {}
        fit = loaded.human_tasks[ht.spec_name].properties.get(FORM_PROPERTY)
        if fit and schema:
            ctx = ServiceContext(session=s, now=self.case_clock(case).now(), actor=actor.username, case=case,
                                 settings=self.settings)
            schema = services.call(fit, {"schema": schema}, ctx, task)
        return {
            "task": dict(self._task_view(ht, case, *self._compound(s, case.compound_id)).as_dict(),
                         holder=holders(s, [ht.id]).get(ht.id), case_status=case.status),
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
        return ht, s.get_one(Case, ht.case_id)

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
