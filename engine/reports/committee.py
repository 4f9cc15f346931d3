"""Owners' committee report (业委会组建换届统计) for one street: committees formed and renewed, each
with the party-member share of its approved candidates and of its elected members, and the
street-wide rate of committees with more than half party members (the target the source
documents report: "新组建的业委会党员占比过半").

Read-only; reads `process_case.summary` (the `case_summary` the process keeps), never the
workflow state, so it stays cheap for the dashboard.
"""
from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from engine.db.models import Case, OrgUnit
from engine.runtime.errors import NotFound

PROCESS_KEY = "committee_election"


def _share(text: str | None) -> Fraction | None:
    try:
        a, b = (int(x) for x in (text or "").split("/"))
        return Fraction(a, b) if b else None
    except ValueError:
        return None


def _stage(case: Case, s: dict) -> str:
    if s.get("outcome") == "closed":
        return "closed"
    if s.get("filed_on"):
        return "filed"
    if s.get("elected_on"):
        return "elected"
    return "in_progress"


STAGE_ZH = {"closed": "已终止", "filed": "已备案", "elected": "已选出", "in_progress": "办理中"}


def committee_summary(session: Session, street_code: str) -> dict[str, Any]:
    """{"street", "cases", "formed", "renewed", "in_progress", "closed", "party_majority", "party_majority_pct",
    "committees": [...]} for the street's compounds."""
    street = session.scalar(select(OrgUnit).where(OrgUnit.code == street_code))
    if street is None:
        raise NotFound(f"unknown street {street_code!r}", f"街道 {street_code!r} 不存在")
    # Not the workflow state: read for every case of the street, it would be most of the dashboard's time.
    rows = session.execute(
        select(Case, OrgUnit).join(OrgUnit, OrgUnit.id == Case.compound_id).options(defer(Case.state))
        .where(Case.process_key == PROCESS_KEY, Case.org_path.startswith(street.path))
        .order_by(Case.id)).all()
    committees = []
    counts = {"formed": 0, "renewed": 0, "in_progress": 0, "closed": 0}
    majority = done = 0
    for case, compound in rows:
        s = json.loads(case.summary or "{}")
        stage = _stage(case, s)
        kind = s.get("kind", "first")
        if stage in ("filed", "elected"):
            counts["formed" if kind == "first" else "renewed"] += 1
            share = _share(s.get("elected_party_member_share") or s.get("party_member_share"))
            if share is not None:
                done += 1
                majority += share > Fraction(1, 2)
        else:
            counts[stage] += 1
        committees.append({
            "case_number": case.case_number, "compound_code": compound.code, "compound_name": compound.name,
            "kind": kind, "kind_zh": "首次选举" if kind == "first" else "换届选举", "stage": stage,
            "stage_zh": STAGE_ZH[stage], "seats": s.get("seats"), "elected_count": s.get("elected_count"),
            "party_member_share": s.get("party_member_share"),
            "elected_party_member_share": s.get("elected_party_member_share"),
            "party_majority": s.get("elected_party_majority", s.get("party_majority")),
            "elected_on": s.get("elected_on"), "filed_on": s.get("filed_on"), "term_end": s.get("term_end"),
            "filing_overdue": bool(s.get("filing_overdue")), "first_meeting_overdue": bool(s.get("first_meeting_overdue")),
        })
    return {"street": street.code, "street_name": street.name, "cases": len(rows), **counts,
            "party_majority": majority, "with_share": done,
            "party_majority_pct": None if not done else f"{100 * majority / done:.1f}%",
            "committees": committees}
