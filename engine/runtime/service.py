"""The service layer: the one place that changes cases. Web app, CLI and worker all call this.

Each public method is one unit of work: load, check, run SpiffWorkflow, then save the case state,
its derived task and timer rows and its audit events in one transaction. Refused attempts (wrong
role, outside jurisdiction, stale version) roll back and are then recorded in the audit chain in a
transaction of their own.
"""
from __future__ import annotations

import time  # noqa: F401  (tests patch engine.runtime.service.time.sleep)
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.config import Settings, load_settings
from engine.db.models import Case, OrgUnit, ProcessDefinition
from engine.db.session import session_factory, unit_of_work

from .actors import Actor
from .cases import CASE_PREFIX, DEFAULT_STARTERS, PROCESS_STARTERS, CaseCommands
from .claims import TaskClaims
from .clock import Clock, OffsetClock, SystemClock
from .comments import CaseComments
from .completion import GUARD_PROPERTY, MAX_ENGINE_ROUNDS, Completion, FiredTimer, _engine_failure, _refuse_form
from .definitions import DEFINITIONS, LoadedDefinition
from .errors import Forbidden
from .persistence import Derived, Persistence, _current_data, _period_columns, _scan
from .retries import UOW_ATTEMPTS, retried, with_retries
from .supervision import Supervision
from .timers import Timers
from .training import MAX_CLOCK_STEP_DAYS, TRAINING_FLAG, Training, _clock_step, _is_training
from .views import FORM_PROPERTY, CaseView, DefinitionMeta, TaskView, Views
from .workflow_cache import WorkflowCache

__all__ = [
    "CASE_PREFIX", "DEFAULT_STARTERS", "FORM_PROPERTY", "GUARD_PROPERTY", "MAX_CLOCK_STEP_DAYS", "MAX_ENGINE_ROUNDS",
    "PROCESS_STARTERS", "TRAINING_FLAG", "UOW_ATTEMPTS", "CaseView", "DefinitionMeta", "Derived", "FiredTimer",
    "Runtime", "TaskView", "deploy", "retried", "with_retries",
    "_clock_step", "_current_data", "_engine_failure", "_is_training", "_period_columns", "_refuse_form", "_scan",
]


class Runtime(CaseCommands, Views, Completion, Persistence, Timers, Training, TaskClaims, CaseComments, Supervision):
    """Entry point of the service layer, bound to one database and one clock. Its jobs live in
    the mixins: cases.py (opening), views.py (reading), completion.py (completing, running the
    engine), persistence.py (saving), timers.py (the worker's jobs), training.py (simulated clock),
    claims.py (who does a task), comments.py (comments and mentions), supervision.py (cancel,
    suspend/resume, reschedule a timer, reopen a step)."""

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

    def loaded_definition(self, session: Session, definition_id: int) -> tuple[DefinitionMeta, LoadedDefinition]:
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
            code, name = session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.id == org_id)).one()
            hit = self._org_names[org_id] = (code, name)
        return hit


def deploy(runtime: Runtime, paths=None, forms_dir=None, actor: Actor | None = None):
    """Validate then store definitions (see `engine.runtime.deploy`); admins and the system only."""
    from .deploy import prepare, store

    actor = actor or Actor.system()
    if not actor.is_admin:
        raise Forbidden("only administrators may deploy process definitions", "仅系统管理员可以部署流程")
    bundles = prepare(paths, forms_dir)
    with runtime.uow() as s:
        return store(s, bundles, actor.username, runtime.now())
