"""Opening a committee election: seats and term, the preparatory group and its notice."""
from __future__ import annotations

from engine.domain import committee as rules
from engine.runtime.services import ServiceContext, service

from ._shared import _noted, _publicity, _set, _today


@service("committee_open", context=True)
def committee_open(ctx: ServiceContext) -> dict:
    """Check the case parameters and set up the loop state."""
    data = ctx.data
    case = data.get("case") or {}
    seats, term = case.get("seats"), case.get("term_years")
    ServiceContext.refuse(rules.check_seats_and_term(seats, term))
    kind = case.get("election_kind", "first")
    _set(ctx, approved_candidates=[], review_sheet=[], excluded_candidates=[], objection_log=[], ballot_round=0,
         candidate_owners={})
    ctx.summary(kind=kind, seats=seats, term_years=term, opened_on=_today(ctx).isoformat())
    return {"kind": kind, "kind_zh": "首次选举" if kind == "first" else "换届选举", "seats": seats,
            "term_years": term, "publicity_days": int(case.get("publicity_days") or 7),
            "voting_days": int(case.get("voting_days") or 7),
            "renewal_reminder_months": int(case.get("renewal_reminder_months") or 6),
            "group_name": "筹备组" if kind == "first" else "换届小组"}


@service("committee_check_group", context=True)
def committee_check_group(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    ServiceContext.refuse(rules.check_group((form_data.get("group") or {}).get("members") or []))


@service("committee_group_notice", context=True)
def committee_group_notice(ctx: ServiceContext) -> dict:
    """Context of the preparatory-group member list notice."""
    data = ctx.data
    group, election = data["group"], data["election"]
    start, end, due = _publicity(ctx, election["publicity_days"])
    members = [{"name": m["name"], "position": m.get("position", "成员"),
                "affiliation": m.get("affiliation") or rules.MEMBER_KINDS.get(m.get("kind"), "")}
               for m in group["members"]]
    ctx.summary(group_size=len(members))
    return _noted({"compound_name": data.get("compound_name", ""), "members": members, "publicity_start": start,
                   "publicity_end": end,
                   **({"objection_contact": group["objection_contact"]} if group.get("objection_contact") else {})}, due)


