"""Small read-only look-ups pages need for their filters: compounds, streets and deployed
processes inside a user's jurisdiction."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.db.models import OrgUnit, ProcessDefinition
from engine.runtime.actors import Actor


def org_units(rt, actor: Actor, kind: str) -> list[OrgUnit]:
    with rt.uow() as s:
        rows = list(s.scalars(select(OrgUnit).where(OrgUnit.kind == kind,
                                                    OrgUnit.path.startswith(actor.jurisdiction_path))
                              .order_by(OrgUnit.path)))
        s.expunge_all()
        return rows


def processes(rt) -> list[tuple[str, str]]:
    """(key, name) of every deployed process, latest name."""
    with rt.uow() as s:
        latest = select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v")) \
            .group_by(ProcessDefinition.key).subquery()
        rows = s.execute(select(ProcessDefinition.key, ProcessDefinition.name)
                         .join(latest, (latest.c.key == ProcessDefinition.key) & (latest.c.v == ProcessDefinition.version))
                         .order_by(ProcessDefinition.key)).all()
        return [(r[0], r[1]) for r in rows]


def actor_named(rt, username: str) -> Actor:
    """The acting user behind a user name (ValidationFailed if unknown or inactive)."""
    from engine.runtime.actors import load_actor

    with rt.uow() as s:
        return load_actor(s, username)
