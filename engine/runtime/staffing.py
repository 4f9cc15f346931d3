"""Who can do the open steps: a step whose role no active user holds over the step's organisation
sits unseen (nobody's inbox shows it), so the case page, the admin home page and `hongwu doctor`
call it out. Read-only; the same jurisdiction rule as Actor.covers (path prefix, "" = everywhere)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import Case, HumanTask, OrgUnit, User

from .roles import ROLES

# The organisation level a user of each role is normally placed at; a gap is reported (and the new
# user suggested) at the ancestor of that level, so one missing 社区党组织 account shows once per
# community, not once per compound.
ROLE_LEVEL: dict[str, str] = {
    "street_staff": "street",
    "street_party_committee": "street",
    "community_staff": "community",
    "community_party_org": "community",
    "party_branch_secretary": "compound",
    "district_mediator": "district",
}


@dataclass
class StaffingGap:
    role: str
    role_zh: str
    org_code: str
    org_name: str
    org_path: str
    case_numbers: list[str] = field(default_factory=list)


def _staffed_paths(session: Session) -> dict[str, list[str]]:
    """Jurisdiction paths of the active users of each role."""
    rows = session.execute(select(User.role, OrgUnit.path).outerjoin(OrgUnit, OrgUnit.id == User.jurisdiction_id)
                           .where(User.active.is_(True))).all()
    paths: dict[str, list[str]] = defaultdict(list)
    for role, path in rows:
        paths[role].append(path or "")
    return paths


def unstaffed_tasks(session: Session, case_id: int | None = None) -> list[HumanTask]:
    """Open steps (of running cases) with no active user holding their role over their org_path."""
    query = (select(HumanTask).join(Case, Case.id == HumanTask.case_id).where(Case.status == "running")
             .order_by(HumanTask.org_path, HumanTask.role, HumanTask.created_at))
    if case_id is not None:
        query = query.where(HumanTask.case_id == case_id)
    paths = _staffed_paths(session)
    return [t for t in session.scalars(query)
            if not any(t.org_path.startswith(p) for p in paths.get(t.role, ()))]


def mark_unstaffed(session: Session, case: dict) -> dict:
    """Flag each current step of a case view (CaseView.as_dict()) that nobody can do."""
    unstaffed = {t.id for t in unstaffed_tasks(session, case["id"])}
    for t in case["tasks"]:
        t["unstaffed"] = t["id"] in unstaffed
    return case


def staffing_gaps(session: Session) -> list[StaffingGap]:
    """Role × organisation gaps of the open steps, with the cases waiting on each."""
    tasks = unstaffed_tasks(session)
    if not tasks:
        return []
    orgs = {o.path: o for o in session.scalars(select(OrgUnit))}
    numbers = dict(session.execute(select(Case.id, Case.case_number)
                                   .where(Case.id.in_({t.case_id for t in tasks}))).all())
    gaps: dict[tuple[str, str], StaffingGap] = {}
    for t in tasks:
        org = _placement(t.org_path, ROLE_LEVEL.get(t.role), orgs)
        key = (t.role, org.path if org else t.org_path)
        gap = gaps.get(key)
        if gap is None:
            gap = gaps[key] = StaffingGap(t.role, ROLES.get(t.role, t.role), org.code if org else "",
                                          org.name if org else t.org_path, key[1])
        if numbers[t.case_id] not in gap.case_numbers:
            gap.case_numbers.append(numbers[t.case_id])
    return sorted(gaps.values(), key=lambda g: (g.org_path, g.role))


def _placement(org_path: str, kind: str | None, orgs: dict[str, OrgUnit]) -> OrgUnit | None:
    """The ancestor of `org_path` (itself included) of the given kind, else the unit itself."""
    parts = [p for p in org_path.split("/") if p]
    chain = [o for i in range(len(parts), 0, -1) if (o := orgs.get("/".join(parts[:i]) + "/")) is not None]
    for o in chain:
        if o.kind == kind:
            return o
    return chain[0] if chain else None
