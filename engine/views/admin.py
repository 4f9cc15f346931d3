"""What the administration pages read: accounts, the organisation hierarchy with seals, the
deployed definitions and the staffing gaps."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from engine.db.models import ORG_KINDS, OrgSeal, OrgUnit, ProcessDefinition, User
from engine.orgs import org_by_code
from engine.runtime.errors import NotFound

__all__ = ["ORG_KINDS", "deployed_definitions", "orgs_with_seals", "seal_image", "staffing_gaps", "staffing_gaps_with_candidates",
           "users_and_orgs"]


def staffing_gaps(rt: Any) -> list[Any]:
    from engine.runtime.staffing import staffing_gaps as gaps

    with rt.uow() as s:
        return gaps(s)


def staffing_gaps_with_candidates(rt: Any) -> tuple[list[Any], dict[tuple[str, str], list[tuple[str, str, str]]]]:
    """The gaps, and for each the users who could be placed there in one step."""
    from engine.runtime.staffing import gap_candidates
    from engine.runtime.staffing import staffing_gaps as gaps

    with rt.uow() as s:
        found = gaps(s)
        return found, {(g.role, g.org_code): gap_candidates(s, g.role, g.org_path) for g in found}


def users_and_orgs(rt: Any) -> tuple[list[User], list[OrgUnit]]:
    """Every account (with its jurisdiction) and every unit, detached."""
    with rt.uow() as s:
        users = list(s.scalars(select(User).options(joinedload(User.jurisdiction)).order_by(User.username)))
        orgs = list(s.scalars(select(OrgUnit).order_by(OrgUnit.path)))
        s.expunge_all()
    return users, orgs


def orgs_with_seals(rt: Any) -> tuple[list[OrgUnit], dict[int, str]]:
    """Every unit, and the sha256 of each unit's seal."""
    with rt.uow() as s:
        orgs = list(s.scalars(select(OrgUnit).order_by(OrgUnit.path)))
        seals = {row[0]: row[1] for row in s.execute(select(OrgSeal.org_unit_id, OrgSeal.sha256))}
        s.expunge_all()
    return orgs, seals


def seal_image(rt: Any, org_code: str) -> tuple[bytes, str]:
    with rt.uow() as s:
        seal = s.get(OrgSeal, org_by_code(s, org_code).id)
        if seal is None:
            raise NotFound(f"{org_code} has no seal", "该组织尚未上传电子印章")
        return seal.content, seal.content_type


def deployed_definitions(rt: Any) -> tuple[list[Any], dict[str, str]]:
    """Every stored definition version (newest first per key) and the deployers' names."""
    with rt.uow() as s:
        rows = s.execute(select(ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.name,
                                ProcessDefinition.sha256, ProcessDefinition.deployed_by, ProcessDefinition.deployed_at)
                         .order_by(ProcessDefinition.key, ProcessDefinition.version.desc())).all()
        names = dict(s.execute(select(User.username, User.display_name)
                               .where(User.username.in_({r.deployed_by for r in rows}))).all())
    return list(rows), names
