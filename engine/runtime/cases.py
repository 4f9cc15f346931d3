"""Opening cases, and recording refused attempts on a case's chain."""
from __future__ import annotations

import uuid

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, calendar_store
from engine.db.models import Case, OrgUnit, ProcessDefinition

from . import registry, state
from .actors import Actor
from .completion import engine_failures
from .definitions import DEFINITIONS
from .errors import Forbidden, HongwuError, NotFound
from .limits import check_data
from .parts import RuntimeParts
from .retries import retried
from .scripting import HongwuScriptEngine, ScriptLimits
from .services import ServiceContext
from .views import CaseView

# Case-number prefixes and who may open a case of each process (jurisdiction is checked as
# well): from the processes' descriptors (engine/runtime/registry.py). Others: staff roles.
CASE_PREFIX = registry.derived(lambda: {d.key: d.case_prefix for d in registry.descriptors()})
PROCESS_STARTERS = registry.derived(lambda: {d.key: d.starters for d in registry.descriptors()})
DEFAULT_STARTERS = registry.DEFAULT_STARTERS


class CaseCommands(RuntimeParts):
    """Opening cases (part of `Runtime`)."""

    @retried
    def record_refusal(self, case_id: int, case_number: str, actor: Actor, action: str, reason: HongwuError,
                       task_id: str | None = None, task_name: str | None = None) -> None:
        """Write `refused:<action>` to the case's chain in a transaction of its own (the refused
        one rolled back), queued behind any change of the case in flight."""
        def lock_case(session: Session) -> None:
            q = select(Case.id).where(Case.id == case_id)
            if session.get_bind().dialect.name == "postgresql":
                q = q.with_for_update()
            session.execute(q)

        audit.append_alone(
            self._sessions, lock=lock_case, chain=audit.case_chain(case_number), case_id=case_id,
            actor=actor.username, action=f"refused:{action}", task_id=task_id, task_name=task_name,
            detail={"code": reason.code, "message": reason.message, "message_zh": reason.message_zh},
            now=self.now(),
        )

    def _engine_for(self, session: Session, case: Case | None, actor: Actor,
                    calendar_mark: int | None = None) -> HongwuScriptEngine:
        # Deadlines counted in this unit of work use the stored schedules (`calendar_mark`: the
        # newest schedule version, when the caller read it already).
        calendar_store.sync(session, calendar_mark)
        now = self.case_clock(case).now() if case is not None else self.now()
        ctx = ServiceContext(session=session, now=now, actor=actor.username, case=case,
                             settings=self.settings)
        return HongwuScriptEngine(ctx, ScriptLimits(self.settings.script_seconds, self.settings.script_memory_mb))

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
            with engine_failures():
                steps, fired = self._run_engine(wf)
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
