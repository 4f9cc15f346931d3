"""Demo data for `hongwu init --demo`: organisations, accounts, and the demo cases each process
declares in its descriptor (`ProcessDescriptor.demo`), advanced through the service layer as the
people whose steps they are (so the history, notices and inboxes are real). Loading twice adds
nothing: cases are only made on an empty database."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from engine import demo
from engine.attachments import reference, store_attachment
from engine.db.models import Case, ProcessDefinition
from engine.runtime import registry
from engine.runtime.actors import load_actor
from engine.runtime.registry import DemoCase, DemoUpload


def _task(rt, actor, case_number: str, name: str) -> str:
    for t in rt.list_tasks(actor, limit=500):
        if t.case_number == case_number and t.name.endswith(name):
            return t.id
    raise LookupError(f"{case_number}: no open task {name} for {actor.username}")


def _upload(rt, case_number: str, upload: DemoUpload) -> dict:
    with rt.uow() as s:
        case_id = s.scalar(select(Case.id).where(Case.case_number == case_number))
        return reference(store_attachment(s, filename=upload.filename, content=upload.text.encode("utf-8"),
                                          actor=upload.actor, now=rt.now(), case_id=case_id))


def _with_uploads(rt, case_number: str, value: Any) -> Any:
    """The step's data with each DemoUpload stored and replaced by its attachment reference."""
    if isinstance(value, DemoUpload):
        return _upload(rt, case_number, value)
    if isinstance(value, dict):
        return {k: _with_uploads(rt, case_number, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_uploads(rt, case_number, v) for v in value]
    return value


def make_case(rt, process_key: str, spec: DemoCase, actors: dict) -> str:
    """Open one declared demo case and walk its steps; its case number."""
    cn = rt.start_case(process_key, spec.compound, actors[spec.user], {}).case_number
    for step in spec.steps:
        actor = actors[step.user]
        rt.complete_task(_task(rt, actor, cn, step.task), actor, _with_uploads(rt, cn, dict(step.data)))
    return cn


def load_demo(rt) -> dict:
    with rt.uow() as s:
        demo.seed(s, rt.now(), staff_every_unit=True)
        has_cases = s.scalar(select(func.count()).select_from(Case))
        deployed = set(s.scalars(select(ProcessDefinition.key)))
        actors = {u[0]: load_actor(s, u[0]) for u in demo.USERS}
    cases: list[str] = []
    if not has_cases:
        for d in registry.descriptors():
            if d.key in deployed:
                cases += [make_case(rt, d.key, spec, actors) for spec in d.demo]
    return {"users": [u[0] for u in demo.USERS + demo.STAFF], "password": demo.DEMO_PASSWORD, "cases": cases}
