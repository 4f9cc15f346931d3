"""What the Runtime's jobs (the mixins in cases.py, views.py, completion.py, persistence.py,
timers.py and training.py) may use of one another and of the Runtime's plumbing.

Each mixin inherits `RuntimeParts`, so the type checker sees one contract instead of six classes
that each reach for attributes they don't define. At run time the class is empty: the members are
declared for the checker only and implemented by `Runtime` (service.py) and the mixins.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from sqlalchemy.orm import Session, sessionmaker

    from engine.config import Settings
    from engine.db.models import Case, HumanTask, Timer

    from .actors import Actor
    from .clock import Clock
    from .completion import FiredTimer
    from .definitions import LoadedDefinition
    from .errors import HongwuError
    from .persistence import Derived
    from .scripting import HongwuScriptEngine
    from .views import CaseView, DefinitionMeta
    from .workflow_cache import WorkflowCache


class RuntimeParts:
    if TYPE_CHECKING:
        # The Runtime's plumbing (service.py).
        settings: Settings
        url: str
        clock: Clock
        _sessions: sessionmaker[Session]
        _workflows: WorkflowCache

        def uow(self) -> AbstractContextManager[Session]: ...

        def now(self) -> datetime: ...

        def case_clock(self, case: Case) -> Clock: ...

        def loaded_definition(self, session: Session, definition_id: int) -> tuple[DefinitionMeta, LoadedDefinition]:
            ...

        def _compound(self, session: Session, org_id: int) -> tuple[str, str]: ...

        # cases.py
        def record_refusal(self, case_id: int, case_number: str, actor: Actor, action: str, reason: HongwuError,
                           task_id: str | None = None, task_name: str | None = None) -> None: ...

        def _engine_for(self, session: Session, case: Case | None, actor: Actor,
                        calendar_mark: int | None = None) -> HongwuScriptEngine: ...

        # views.py
        def workflow_for(self, s: Session, case: Case) -> tuple[BpmnWorkflow, LoadedDefinition]: ...

        def _case_view(self, s: Session, case: Case, with_data: bool = True, wf: BpmnWorkflow | None = None,
                       rows: tuple[list[HumanTask], list[Timer]] | None = None) -> CaseView: ...

        @staticmethod
        def _authorize_task(actor: Actor, ht: HumanTask, case: Case) -> None: ...

        # completion.py
        def _run_engine(self, wf: BpmnWorkflow, clock: Clock | None = None) -> tuple[list[str], list[FiredTimer]]:
            ...

        def _begin_change(self, s: Session, case: Case, wf: BpmnWorkflow, actor: Actor) -> tuple[Derived, Clock, datetime]:
            ...

        def _audit_fired(self, s: Session, case: Case, actor: Actor, fired: list[FiredTimer], steps: list[str],
                         now: datetime) -> None: ...

        # persistence.py
        def _save(self, s: Session, case: Case, wf: BpmnWorkflow, loaded: LoadedDefinition, now: datetime,
                  initial: bool = False, previous: Derived | None = None, recounted: list | None = None,
                  scanned: tuple[dict, dict] | None = None) -> tuple[list[HumanTask], list[Timer]]: ...
