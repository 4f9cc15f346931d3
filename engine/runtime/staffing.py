"""Who can do the open steps: a step whose role no active user holds over the step's organisation
sits unseen (nobody's inbox shows it), so the case page, the admin home page and `hongwu doctor`
call it out. Read-only; the same jurisdiction rule as Actor.covers (path prefix, "" = everywhere)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, select
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


# --- filling a gap in one step (the admin home page's gap list) -------------------------------

USERNAME_RE = r"[A-Za-z0-9_.-]{2,64}"
MIN_PASSWORD = 8


def gap_candidates(session: Session, role: str, org_path: str) -> list[tuple[str, str, str]]:
    """(username, display name, where) of the users of `role` who could fill a gap at `org_path`:
    those inactive, or active elsewhere (moving them may open a gap there)."""
    rows = session.execute(select(User.username, User.display_name, User.active, OrgUnit.path, OrgUnit.name)
                           .outerjoin(OrgUnit, OrgUnit.id == User.jurisdiction_id)
                           .where(User.role == role).order_by(User.username)).all()
    out = []
    for username, display, active, path, name in rows:
        if active and org_path.startswith(path or ""):
            continue  # already covers it
        out.append((username, display, ("已停用" if not active else "") + (name or "全部")))
    return out


def fill_gap(session: Session, admin_username: str, role: str, org_code: str, now, *, username: str,
             display_name: str = "", password: str = "", existing: bool = False) -> str:
    """Create a user of `role` at `org_code` (existing=False) or place the existing user there
    (activated, jurisdiction moved); audited on the user's chain. Returns the username."""
    import re

    from engine import audit
    from engine.orgs import ensure_user, hash_password, org_by_code

    from .errors import ValidationFailed

    if role not in ROLES or role in ("admin", "auditor"):
        raise ValidationFailed(f"unknown role {role!r}", f"角色「{role}」无效")
    org = org_by_code(session, org_code)
    username = username.strip()
    if existing:
        user = session.scalar(select(User).where(User.username == username))
        if user is None or user.role != role:
            raise ValidationFailed(f"{username!r} is no {role}", f"「{username}」不是{ROLES[role]}，不能配置到此岗位")
        before = {"role": user.role, "jurisdiction": user.jurisdiction.code if user.jurisdiction else None,
                  "active": user.active}
        user.jurisdiction_id, user.active = org.id, True
        session.flush()
        audit.append(session, chain=f"user:{username}", actor=admin_username, action="user_changed", before=before,
                     after={"role": role, "jurisdiction": org.code, "active": True},
                     detail={"staffing_gap": True}, now=now)
        return username
    problems = []
    if not re.fullmatch(USERNAME_RE, username):
        problems.append("用户名须为 2–64 位字母、数字或 _ . -")
    if not display_name.strip():
        problems.append("姓名为必填项")
    if len(password) < MIN_PASSWORD:
        problems.append(f"密码至少 {MIN_PASSWORD} 位")
    if not problems and session.scalar(select(User.id).where(User.username == username)) is not None:
        problems.append(f"用户名「{username}」已存在")
    if problems:
        raise ValidationFailed("; ".join(problems), "；".join(problems))
    ensure_user(session, username, display_name.strip(), role, org.code, None, now)
    session.execute(cast(Table, User.__table__).update().where(User.username == username)
                    .values(password_hash=hash_password(password)))
    audit.append(session, chain=f"user:{username}", actor=admin_username, action="user_created",
                 after={"role": role, "jurisdiction": org.code}, detail={"staffing_gap": True}, now=now)
    return username


def staffing_gaps_of(database_url: str) -> list[StaffingGap] | None:
    """The gaps of the database at `database_url` (for `hongwu doctor`); None when it cannot be
    read (unreachable or not migrated: doctor's database checks report that)."""
    from sqlalchemy.exc import SQLAlchemyError

    from engine.db.session import unit_of_work

    try:
        with unit_of_work(database_url) as s:
            return staffing_gaps(s)
    except SQLAlchemyError:
        return None
