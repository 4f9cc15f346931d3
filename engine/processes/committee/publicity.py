"""Candidate publicity (候选人公示) and objections (异议) to it."""
from __future__ import annotations

from engine.domain import negative_list
from engine.runtime.services import ServiceContext, service

from ._shared import _noted, _public, _publicity, _set, _today
from .candidates import _disabled_grounds, _enabled_grounds
from .meeting import _postpone, _postponement_problems


@service("committee_check_postponement", context=True)
def committee_check_postponement(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    new_date = (form_data.get("postponement") or {}).get("new_meeting_date")
    if not new_date:
        ServiceContext.refuse([{"field": "postponement.new_meeting_date", "message": "give the new meeting date",
                  "message_zh": "请填写会议延期日期"}])
    ServiceContext.refuse(_postponement_problems(ctx, task_data, new_date, "postponement.new_meeting_date"))


@service("committee_candidate_notice", context=True)
def committee_candidate_notice(ctx: ServiceContext) -> dict:
    data = ctx.data
    decided = data.pop("postponement", None)  # from the postponement task just completed
    if decided:
        _postpone(ctx, decided["new_meeting_date"], decided["reason"])
    election = data["election"]
    start, end, due = _publicity(ctx, election["publicity_days"])
    approved = data["approved_candidates"]
    return {**due.fields("publicity_due"), "publicity_end": end,
            "context": _noted({"compound_name": data.get("compound_name", ""), "seats": election["seats"],
                               "candidates": [_public(c) for c in approved], "publicity_start": start,
                               "publicity_end": end, "objection_to": "筹备组或街道办事处"}, due)}


@service("committee_objection", context=True)
def committee_objection(ctx: ServiceContext) -> dict:
    """Record objections; an upheld one sends its candidate back — to exclusion when it proves a
    negative-list ground, else to joint review."""
    data = ctx.data
    enabled, _version = _enabled_grounds(ctx)
    approved = list(data["approved_candidates"])
    by_id = {c["candidate_id"]: c for c in approved}
    sheet, excluded = [], list(data.get("excluded_candidates") or [])
    log = list(data.get("objection_log") or [])
    for o in data["objection"]["objections"]:
        log.append({**o, "recorded_on": _today(ctx).isoformat()})
        cand = by_id.pop(o["candidate_id"], None) if o.get("upheld") else None
        if cand is None:
            continue
        facts = {g: True for g in o.get("grounds") or []}
        result = negative_list.screen(facts, enabled)
        entry = {**{k: v for k, v in cand.items() if k not in ("review", "screening", "reconsidered")},
                 "screening": result, "objection": o.get("content", "")}
        if result["eligible"]:
            sheet.append(entry)
        else:
            excluded.append({**entry, "excluded_on": _today(ctx).isoformat()})
    remaining = [c for c in approved if c["candidate_id"] in by_id]
    _set(ctx, approved_candidates=remaining, review_sheet=sheet, excluded_candidates=excluded, objection_log=log)
    if len(remaining) < len(approved):
        _postpone(ctx, data["objection"].get("new_meeting_date"), "异议成立，候选人名单变更后重新公示")
    returned = [c["candidate_id"] for c in sheet] + [c["candidate_id"] for c in excluded if c.get("objection")]
    if sheet:
        route = "review"
    elif len(remaining) < int(data["election"]["seats"]):
        route = "nominate"
    elif returned:
        route = "republish"
    else:
        route = "continue"
    return {"returned": returned, "to_review": len(sheet), "route": route}


@service("committee_check_objection", context=True)
def committee_check_objection(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    ids = {c["candidate_id"] for c in task_data.get("approved_candidates") or []}
    problems = []
    disabled = _disabled_grounds(ctx)
    for i, o in enumerate((form_data.get("objection") or {}).get("objections") or []):
        if o.get("candidate_id") not in ids:
            problems.append({"field": f"objection.objections.{i}.candidate_id",
                             "message": f"{o.get('candidate_id')!r} is not on the publicised list",
                             "message_zh": f"{o.get('candidate_id')} 不在公示的候选人名单中"})
        for g in o.get("grounds") or []:
            if g not in negative_list.BY_ID:
                problems.append({"field": f"objection.objections.{i}.grounds", "message": f"unknown ground {g!r}",
                                 "message_zh": f"未知的负面清单条目 {g}"})
            elif g in disabled:
                problems.append({"field": f"objection.objections.{i}.grounds",
                                 "message": f"ground {g!r} is switched off for this street",
                                 "message_zh": f"「{disabled[g]}」已被本街道停用，不作为候选人资格条件"})
    objection = form_data.get("objection") or {}
    if any(o.get("upheld") for o in objection.get("objections") or []):
        problems += _postponement_problems(ctx, task_data, objection.get("new_meeting_date"), "objection.new_meeting_date")
    ServiceContext.refuse(problems)


