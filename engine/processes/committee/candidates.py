"""Nominations, negative-list screening (负面清单) and the joint review (联审) by the two party organisations."""
from __future__ import annotations

import copy

from engine.domain import committee as rules
from engine.domain import negative_list
from engine.runtime.errors import RuleRefused, ValidationFailed
from engine.runtime.services import ServiceContext, service
from engine.settings_store import get_setting

from ._shared import _load_roll, _set, _today
from .meeting import _postpone, _postponement_problems


def _enabled_grounds(ctx: ServiceContext) -> tuple[set[str], int]:
    setting = get_setting(ctx.session, negative_list.SETTING_KEY, ctx.compound(), negative_list.default_setting())
    return negative_list.enabled_grounds(setting.value), setting.version


def _disabled_grounds(ctx: ServiceContext) -> dict[str, str]:
    enabled, _version = _enabled_grounds(ctx)
    return {g.id: g.text for g in negative_list.GROUNDS if g.id not in enabled}


@service("committee_nomination_form", context=True)
def committee_nomination_form(ctx: ServiceContext, schema: dict) -> dict:
    """The nomination form as this street asks it: grounds it switched off are not asked."""
    disabled = _disabled_grounds(ctx)
    fitted = copy.deepcopy(schema)
    facts = fitted["properties"]["candidates"]["items"]["properties"]["facts"]["properties"]
    for ground in disabled:
        facts.pop(ground, None)
    return fitted


@service("committee_objection_form", context=True)
def committee_objection_form(ctx: ServiceContext, schema: dict) -> dict:
    """The objection form offers only the grounds this street uses."""
    disabled = _disabled_grounds(ctx)
    fitted = copy.deepcopy(schema)
    grounds = fitted["properties"]["objection"]["properties"]["objections"]["items"]["properties"]["grounds"]["items"]
    kept = [(g, name) for g, name in zip(grounds["enum"], grounds["x-enumNames"], strict=True) if g not in disabled]
    grounds["enum"], grounds["x-enumNames"] = [g for g, _ in kept], [name for _, name in kept]
    return fitted


@service("committee_review_form", context=True)
def committee_review_form(ctx: ServiceContext, schema: dict) -> dict:
    """The review form says who is under review — and, for an owner the negative list excluded
    earlier in this case, that screening and the new facts — so that reviewers decide knowingly."""
    sheet = ctx.data.get("review_sheet") or []
    fitted = copy.deepcopy(schema)
    lines = []
    for c in sheet:
        line = f"{c['candidate_id']} {c['name']}（业主 {c['owner_id']}，{c.get('units') or '—'}）"
        for e in c.get("earlier_screenings") or []:
            line += (f"；曾在本案因负面清单「{'、'.join(e['grounds'])}」被排除（候选人编号 {e['candidate_id']}，"
                     f"{e.get('excluded_on') or '日期未记'}）")
        if c.get("reconsideration"):
            line += f"；新情况说明：{c['reconsideration']}"
        if c.get("objection"):
            line += f"；异议：{c['objection']}"
        lines.append(line)
    if lines:
        fitted["description"] = f"{schema.get('description', '')} 本次审查：" + "。".join(lines) + "。"
    return fitted


@service("committee_check_nominations", context=True)
def committee_check_nominations(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    """Typing mistakes are refused as such; an attempt around the rules (an excluded owner again,
    another owner's candidate id, a switched-off ground) is refused naming the rule, and audited."""
    cands = form_data.get("candidates") or []
    approved = task_data.get("approved_candidates") or []
    roll = _load_roll(ctx, task_data["owner_roll"]["ref"])
    problems, refusals = rules.check_nominations(
        cands, {o.owner_id: o.name for o in roll.owners.values()}, approved,
        task_data.get("excluded_candidates") or [], task_data.get("candidate_owners") or {}, _disabled_grounds(ctx))
    seats = task_data["election"]["seats"]
    if len(approved) + len(cands) < seats:
        problems.append({"field": "candidates",
                         "message": f"at least {seats} candidates are needed ({len(approved)} already approved)",
                         "message_zh": f"候选人不得少于应选名额 {seats} 名（已通过审查 {len(approved)} 名）"})
    problems += _postponement_problems(ctx, task_data, form_data.get("new_meeting_date"), "new_meeting_date")
    ServiceContext.refuse(refusals + problems, RuleRefused if refusals else ValidationFailed)


@service("committee_screen", context=True)
def committee_screen(ctx: ServiceContext) -> dict:
    """Negative-list screening of the new nominations; matches are excluded before review. An owner
    excluded earlier in the case reaches the review only with new facts, and the review sees the
    earlier screening; without them (which the nomination guard already refuses) the exclusion stands."""
    data = ctx.data
    enabled, version = _enabled_grounds(ctx)
    roll = _load_roll(ctx, data["owner_roll"]["ref"])
    earlier_excluded = list(data.get("excluded_candidates") or [])
    sheet, excluded = [], list(earlier_excluded)
    owners = dict(data.get("candidate_owners") or {})
    today = _today(ctx).isoformat()
    for c in data["candidates"]:
        owner = roll.owners[c["owner_id"]]
        facts = {g: v for g, v in (c.get("facts") or {}).items() if g in enabled}
        result = negative_list.screen(facts, enabled)
        # The roll says which units the owner holds; that is what notices print.
        entry = {**{k: v for k, v in c.items() if k not in ("facts", "reconsideration")}, "screening": result,
                 "roll_units": list(owner.units), "units": "、".join(owner.units)}
        owners[c["candidate_id"]] = c["owner_id"]
        earlier = rules.earlier_screenings(earlier_excluded, c["owner_id"])
        if earlier:
            entry["earlier_screenings"] = earlier
            entry["reconsideration"] = str(c.get("reconsideration") or "").strip()
            if not entry["reconsideration"]:
                result = {"eligible": False, "matched": [m for e in earlier for m in
                                                         earlier_excluded[e["no"]]["screening"]["matched"]]}
                entry["screening"] = result
        if result["eligible"]:
            sheet.append(entry)
        else:
            excluded.append({**entry, "excluded_on": today})
    _set(ctx, review_sheet=sheet, excluded_candidates=excluded, candidate_owners=owners)
    # popped: task data carries forward, a later round must not apply this date again
    _postpone(ctx, data.pop("new_meeting_date", None), "补充提名后重新公示候选人名单")
    new = excluded[len(earlier_excluded):]
    return {"setting_version": version, "enabled_grounds": sorted(enabled), "to_review": len(sheet),
            "excluded": [{"candidate_id": e["candidate_id"], "name": e["name"],
                          "grounds": [m["text"] for m in e["screening"]["matched"]]} for e in new],
            "reconsidered": [c["candidate_id"] for c in sheet if c.get("earlier_screenings")],
            "party_share": rules.party_share(sheet)}


def _decision_problems(sheet: list[dict], decisions: list[dict], field: str) -> list[dict]:
    want = [c["candidate_id"] for c in sheet]
    got = [d.get("candidate_id") for d in decisions]
    reconsidered = {c["candidate_id"]: "、".join(g for e in c["earlier_screenings"] for g in e["grounds"])
                    for c in sheet if c.get("earlier_screenings")}
    problems = []
    for cid in want:
        if got.count(cid) != 1:
            problems.append({"field": field, "message": f"give exactly one decision for candidate {cid!r}",
                             "message_zh": f"须对候选人 {cid} 作出且只作出一项审查意见"})
    for i, d in enumerate(decisions):
        if d.get("candidate_id") not in want:
            problems.append({"field": f"{field}.{i}", "message": f"{d.get('candidate_id')!r} is not under review",
                             "message_zh": f"{d.get('candidate_id')} 不在本次审查名单中"})
        elif not d.get("approve") and not (d.get("reason") or "").strip():
            problems.append({"field": f"{field}.{i}.reason", "message": "a rejection needs a reason",
                             "message_zh": f"不同意候选人 {d.get('candidate_id')} 须说明理由"})
        elif d.get("approve") and reconsidered.get(d.get("candidate_id")) and not (d.get("reason") or "").strip():
            problems.append({"field": f"{field}.{i}.reason",
                             "message": "approving a candidate the negative list excluded before needs a reason",
                             "message_zh": f"候选人 {d.get('candidate_id')} 曾在本案因负面清单"
                                           f"「{reconsidered[d.get('candidate_id')]}」被排除，同意其参选须写明依据"})
    return problems


@service("committee_check_review", context=True)
def committee_check_review(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    field = "community_decisions" if "community_decisions" in form_data else "street_decisions"
    ServiceContext.refuse(_decision_problems(task_data.get("review_sheet") or [], form_data.get(field) or [], field))


@service("committee_community_result", context=True)
def committee_community_result(ctx: ServiceContext) -> dict:
    """What the street party working committee sees: the community's view and the party share."""
    data = ctx.data
    ok = {d["candidate_id"] for d in data["community_decisions"] if d["approve"]}
    sheet = data["review_sheet"]
    kept = [c for c in data.get("approved_candidates", [])] + [c for c in sheet if c["candidate_id"] in ok]
    return {"approved_ids": sorted(ok), "party_share": rules.party_share(kept)}


@service("committee_review_result", context=True)
def committee_review_result(ctx: ServiceContext) -> dict:
    """Both organisations must approve a candidate; record every reason; share and sufficiency."""
    data = ctx.data
    sheet = data["review_sheet"]
    comm = {d["candidate_id"]: d for d in data["community_decisions"]}
    street = {d["candidate_id"]: d for d in data["street_decisions"]}
    approved = list(data.get("approved_candidates") or [])
    rejected: list[dict] = []
    for c in sheet:
        cid = c["candidate_id"]
        review = {"community": {"approve": comm[cid]["approve"], "reason": comm[cid].get("reason", "")},
                  "street": {"approve": street[cid]["approve"], "reason": street[cid].get("reason", "")}}
        entry = {**c, "review": review}
        if c.get("earlier_screenings"):  # both organisations weighed the new facts against these
            entry["reconsidered"] = [e["no"] for e in c["earlier_screenings"]]
        (approved if comm[cid]["approve"] and street[cid]["approve"] else rejected).append(entry)
    share = rules.party_share(approved)
    seats = data["election"]["seats"]
    _set(ctx, approved_candidates=approved, review_sheet=[])
    # Whether a publicity starting now still ends before the meeting; if not, it is postponed first.
    room = not _postponement_problems(ctx, data, None, "meeting.meeting_date")
    return {"approved": [{"candidate_id": c["candidate_id"], "name": c["name"]} for c in approved],
            "rejected": [{"candidate_id": c["candidate_id"], "name": c["name"], "review": c["review"]} for c in rejected],
            "party_share": share, "enough": len(approved) >= seats, "meeting_room": room}


