"""Service tasks of `bpmn/committee_election.bpmn` (owners' committee formation and renewal).

Each function is thin: it reads the case's task data, calls a pure rule in `engine.domain`
(owner roll, tally, negative list, committee composition, periods) and returns JSON-able data.
Guards (`committee_check_*`, named by a user task's `completionGuard` property) refuse a form
before anything changes, listing every problem with its field or file:line.

Shared state that loops revisit lives in top-level task-data keys, written here only:
`approved_candidates` (passed joint review, not returned by an objection), `review_sheet` (the
candidates the party organisations are to review next), `excluded_candidates` (matched the
negative list: they never reach the ballot; appended to, never rewritten), `candidate_owners`
({candidate id: owner id} of every nomination: a candidate is an owner of the roll, whatever id is
typed), and `case_summary` (reportable facts the service layer copies into `process_case.summary`;
the candidate-list facts are recomputed from the list on every change, never counted up).

The rules these keys must satisfy after every save are declared at the end of this module.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from engine.attachments import load_attachment
from engine.db.models import OrgUnit
from engine.domain import committee as rules
from engine.domain import negative_list
from engine.domain.owner_roll import OwnerRoll, parse_roll
from engine.domain.periods import Deadline, civil_date, period_end
from engine.domain.tally import BallotError, match_ballot_items, parse_ballots, set_aside_summary, tally
from engine.processes.common import VOTE_SECOND_FACTOR
from engine.reports.committee import committee_summary
from engine.runtime.choices import choice_list
from engine.runtime.errors import RuleRefused, ValidationFailed
from engine.runtime.invariants import Invariant
from engine.runtime.panels import panel, section
from engine.runtime.registry import DemoCase, DemoStep, DemoUpload, ProcessDescriptor, Report, SettingSpec
from engine.runtime.services import ServiceContext, service
from engine.settings_store import get_setting

NOTICE_OWNER_LIST_LIMIT = 500  # longer rolls are inspected at the posted place, not printed


# --- helpers --------------------------------------------------------------------------------


def _set(ctx: ServiceContext, **values: Any) -> None:
    data = ctx.data
    data.update(values)
    if "approved_candidates" in data:  # the list changed: its summary is recomputed, not adjusted
        ctx.summary(**rules.list_summary(data["approved_candidates"], data.get("excluded_candidates") or [],
                                         data.get("objection_log") or []))


def _today(ctx: ServiceContext) -> date:
    return civil_date(ctx.now)


def _load_roll(ctx: ServiceContext, ref: dict, progress=None) -> OwnerRoll:
    att = load_attachment(ctx.session, ref)
    return parse_roll(att.content, att.filename, progress)


def _public(c: dict) -> dict:
    """What a notice prints about a candidate (no negative-list facts)."""
    return {"name": c.get("name", ""), "gender": c.get("gender", ""), "units": c.get("units", ""),
            "intro": c.get("intro", "")}


def _publicity(ctx: ServiceContext, days: int) -> tuple[str, str, Deadline]:
    d = period_end(ctx.now, days=int(days), kind="publicity")
    return _today(ctx).isoformat(), d.last_day.isoformat(), d


def _noted(context: dict, *deadlines: Deadline) -> dict:
    """A notice context with the note of every deadline that rests on the statutory fallback
    calendar (the date printed may still move when the year's official schedule is published)."""
    notes = list(dict.fromkeys(d.note for d in deadlines if d.note))
    if notes:
        context["body"] = [*(context.get("body") or []), *notes]
    return context


# --- opening --------------------------------------------------------------------------------

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


# --- owner roll -----------------------------------------------------------------------------

@service("committee_check_roll", context=True)
def committee_check_roll(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    """Refuse an owner roll with problems (every one listed with file:line)."""
    ref = (form_data.get("roll") or {}).get("file")
    if not ref:
        ServiceContext.refuse([{"field": "roll.file", "message": "upload the owner roll", "message_zh": "请上传业主名册"}])
    else:
        _load_roll(ctx, ref, ctx.extra.get("progress"))  # a large roll's import job shows its bar


@service("committee_load_roll", context=True)
def committee_load_roll(ctx: ServiceContext) -> dict:
    """Totals of the confirmed roll (DESIGN.md §4.1) and the roll publicity notice's context."""
    data = ctx.data
    form = data["roll"]
    roll = _load_roll(ctx, form["file"])
    start, end, due = _publicity(ctx, data["election"]["publicity_days"])
    notice = {"compound_name": data.get("compound_name", ""), "owner_count": roll.total_owners,
              "total_area": format(roll.total_area, "f"), "inspection_place": form["inspection_place"],
              "publicity_start": start, "publicity_end": end,
              "objection_to": "筹备组",
              **({"objection_contact": form["objection_contact"]} if form.get("objection_contact") else {})}
    if roll.total_owners <= NOTICE_OWNER_LIST_LIMIT:
        notice["owners"] = [{"name": o.name, "units": "、".join(o.units), "area": format(o.area_m2, "f")}
                            for o in roll.owners.values()]
    ctx.summary(units=len(roll.units), owners=roll.total_owners, total_area=format(roll.total_area, "f"))
    return {"ref": form["file"], **roll.summary(), "notice": _noted(notice, due)}


# --- meeting plan ---------------------------------------------------------------------------

def _meeting_problems(ctx: ServiceContext, meeting: dict, publicity_days: int) -> list[dict]:
    """The meeting date against both periods that must run before it: the plan's 15 days and the
    candidate-list publicity (which cannot start before today, so it ends at the earliest after
    `publicity_days` from today). Whichever of the two is entered last, both are checked here."""
    try:
        day = date.fromisoformat(str(meeting.get("meeting_date", ""))[:10])
    except ValueError:
        return [{"field": "meeting.meeting_date", "message": "meeting_date must be a date",
                 "message_zh": "会议日期格式不正确"}]
    problems = []
    earliest = _today(ctx) + timedelta(days=15)
    if day < earliest:
        problems.append({"field": "meeting.meeting_date",
                         "message": f"the plan must be posted at least 15 days before the meeting: meeting on {earliest} or later",
                         "message_zh": f"会议方案须在会议召开15日前公告：会议日期不得早于 {earliest.isoformat()}"})
    publicity_end = period_end(ctx.now, days=int(publicity_days), kind="publicity").last_day
    if day <= publicity_end:
        problems.append({"field": "meeting.meeting_date",
                         "message": f"the {publicity_days}-day candidate-list publicity cannot end before a meeting on {day}",
                         "message_zh": f"候选人名单须公示 {publicity_days} 日且在会议召开前届满：即使今日开始公示也要到 "
                                       f"{publicity_end.isoformat()} 才届满，会议日期须晚于该日"})
    return problems


def _postponement_problems(ctx: ServiceContext, task_data: dict, new_date: Any, field: str) -> list[dict]:
    """A new candidate list (re-nomination, or an upheld objection) is publicised from today at
    the earliest: if that cannot end before the meeting, the meeting must be postponed to a day
    after it (and at least 15 days away, for its new notice)."""
    meeting_day = str(task_data["meeting"]["meeting_date"])[:10]
    days = int(task_data["election"]["publicity_days"])
    end = period_end(ctx.now, days=days, kind="publicity").last_day
    if not new_date:
        if end.isoformat() < meeting_day:
            return []
        return [{"field": field, "message": f"a new {days}-day publicity cannot end before the meeting on {meeting_day}",
                 "message_zh": f"重新公示候选人名单须 {days} 日，最早 {end.isoformat()} 届满，不早于会议日期 {meeting_day}："
                               "请填写会议延期日期"}]
    plan = {"meeting_date": new_date}
    problems = _meeting_problems(ctx, plan, days)
    return [{**p, "field": field} for p in problems]


def _postpone(ctx: ServiceContext, new_date: Any, why: str) -> None:
    """Move the meeting (checked by the completion's guard); the earlier date stays on record."""
    if not new_date:
        return
    data = ctx.data
    meeting = dict(data["meeting"])
    log = list(data.get("meeting_postponements") or [])
    log.append({"from": meeting["meeting_date"], "to": str(new_date)[:10], "on": _today(ctx).isoformat(), "why": why})
    meeting["meeting_date"] = str(new_date)[:10]
    _set(ctx, meeting=meeting, meeting_postponements=log)
    ctx.summary(meeting_date=meeting["meeting_date"], meeting_postponed=len(log))


def publicity_problem(meeting_date: str, publicity_end: str) -> str | None:
    """The candidate list's publicity must end before the meeting day (Chinese reason, or None)."""
    if meeting_date and publicity_end and str(publicity_end)[:10] >= str(meeting_date)[:10]:
        return (f"候选人名单公示期至 {str(publicity_end)[:10]} 届满，不早于会议日期 {str(meeting_date)[:10]}："
                "公示须在会议召开前结束")
    return None


@service("committee_check_meeting_plan", context=True)
def committee_check_meeting_plan(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    ServiceContext.refuse(_meeting_problems(ctx, form_data.get("meeting") or {}, task_data["election"]["publicity_days"]))


@service("committee_meeting_notice", context=True)
def committee_meeting_notice(ctx: ServiceContext) -> dict:
    data = ctx.data
    m, election = data["meeting"], data["election"]
    ServiceContext.refuse(_meeting_problems(ctx, m, election["publicity_days"]))
    rules_text = list(m.get("voting_rules") or []) or [
        "专有部分面积占比三分之二以上的业主且人数占比三分之二以上的业主参与表决",
        "选举业主委员会委员，须经参与表决专有部分面积过半数的业主且参与表决人数过半数的业主同意",
        "按同意人数由多到少确定当选，同意人数相同的按同意面积确定；末位票数相同的，该席位空缺另行选举",
    ]
    agenda = list(m.get("agenda") or []) or [f"选举第{m.get('term_no') or '一'}届业主委员会委员（应选 {election['seats']} 名）"]
    ctx.summary(meeting_date=m["meeting_date"])
    return {"compound_name": data.get("compound_name", ""), "meeting_name": m["meeting_name"],
            "meeting_date": m["meeting_date"], "meeting_time": m["meeting_time"], "place": m["place"],
            "form": m["form"], "agenda": agenda, "voting_rules": rules_text}


# --- nominations, negative-list screening, joint review --------------------------------------

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


# --- candidate publicity and objections -----------------------------------------------------

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


# --- ballots and counting -------------------------------------------------------------------

@service("committee_voting", context=True)
def committee_voting(ctx: ServiceContext) -> dict:
    """The voting period: until the end of the meeting day, or `voting_days` when that has passed."""
    data = ctx.data
    meeting_day = date.fromisoformat(data["meeting"]["meeting_date"][:10])
    if meeting_day > _today(ctx):
        d = period_end(_today(ctx), days=(meeting_day - _today(ctx)).days, kind="voting")
    else:
        d = period_end(ctx.now, days=int(data["election"]["voting_days"]), kind="voting")
    rnd = int(data.get("ballot_round") or 0) + 1
    _set(ctx, ballot_round=rnd)
    ctx.summary(ballot_rounds=rnd)
    cands = data["approved_candidates"]
    return {**d.as_data(), "round": rnd,
            "items": [c["candidate_id"] for c in cands], "labels": {c["candidate_id"]: c["name"] for c in cands}}


@service("committee_issue_ballots", context=True)
def committee_issue_ballots(ctx: ServiceContext) -> dict:
    """One ballot page per owner of the roll, through the notices' ballot batch (verifiable
    documents of up to 100 pages each), committed with the case state."""
    from engine.notices.ballots import issue_ballots
    from engine.voting.register import ballot_owners, open_round, record_issued, second_factor

    data = ctx.data
    roll = _load_roll(ctx, data["owner_roll"]["ref"])
    voting, election = data["voting"], data["election"]
    context = {
        "compound_name": data.get("compound_name", ""), "mode": "election",
        "vote_title": data["meeting"]["meeting_name"],
        "title": f"{data['meeting']['meeting_name']}选票（第{voting['round']}轮）",
        "items": [f"{voting['labels'][i]}（{i}）" for i in voting["items"]],
        "instructions": [f"本次应选业主委员会委员 {election['seats']} 名，请对每名候选人选择“同意”“反对”或“弃权”之一",
                         "未作选择的视为弃权；一名业主拥有多套房屋的只填一张选票",
                         "选票须由业主本人或其书面委托的代理人填写",
                         *([voting["note"]] if voting.get("note") else [])],
        "deadline": voting["due"], "ballot_box": data["meeting"]["place"],
    }
    factor = second_factor(ctx.session, ctx.case)
    context["second_factor"] = factor
    owners = ballot_owners(roll, factor)
    # Run as a job (hongwu:async in the diagram): the worker passes a progress reporter.
    run = issue_ballots(ctx.session, context=context, owners=owners, actor=ctx.actor, now=ctx.now,
                        settings=ctx.settings, case=ctx.case, progress=ctx.extra.get("progress"))
    if ctx.case is not None:  # the register row of every ballot commits with the ballots
        open_round(ctx.session, ctx.case, int(voting["round"]), title=context["title"], items=list(voting["items"]),
                   labels=dict(voting["labels"]), deadline=_instant(voting.get("due")), now=ctx.now,
                   seats=int(election["seats"]), factor=factor)
        record_issued(ctx.session, ctx.case, run.documents, int(voting["round"]), actor=ctx.actor, now=ctx.now,
                      id_numbers={o.owner_id: o.id_number for o in roll.owners.values()})
    return {"ballots": run.ballots, "round": voting["round"],
            "documents": [{"document_id": d.id, "verification_code": d.verification_code} for d in run.documents]}


def _instant(value: Any):
    from datetime import datetime

    return datetime.fromisoformat(str(value)) if value else None


def _off_ballot_reasons(task_data: dict) -> dict[str, str]:
    """Why a nominated id or name is not on the ballot, for the lines that name it."""
    upheld = {o["candidate_id"] for o in task_data.get("objection_log") or [] if o.get("upheld")}
    reasons: dict[str, str] = {}
    for cid in task_data.get("candidate_owners") or {}:
        reasons[cid] = "异议成立，已取消候选人资格" if cid in upheld else "未通过候选人联审"
    for e in task_data.get("excluded_candidates") or []:
        why = "异议查实负面清单情形，已取消候选人资格" if e.get("objection") else "经负面清单筛查排除"
        reasons[e["candidate_id"]] = reasons[e["name"]] = why
    return reasons


def _count(ctx: ServiceContext, task_data: dict, entry: dict):
    """Count the round's ballots against the ballot as issued for it (`voting`). A vote for anything
    else is refused with its file:line, or — when the entry says these votes are invalid — set
    aside and reported with why. With `source` "register" the count is the ballot register's
    settled entries (engine.voting.count) instead of a file."""
    roll = _load_roll(ctx, task_data["owner_roll"]["ref"])
    if entry.get("source") == "register":
        return _count_register(ctx, task_data, roll)
    att = load_attachment(ctx.session, entry["file"])
    ballots = parse_ballots(att.content, att.filename, roll)
    voting = task_data["voting"]
    on_ballot = {cid: voting["labels"][cid] for cid in voting["items"]}
    counted, aside, errors = match_ballot_items(ballots, on_ballot, att.filename, _off_ballot_reasons(task_data))
    if errors or (aside and not entry.get("set_aside_invalid")):
        raise BallotError(errors + [a.problem for a in aside])
    result = tally(roll, counted, items=list(voting["items"]), threshold="majority",
                   seats=task_data["election"]["seats"])
    return result, set_aside_summary(aside)


def _count_register(ctx: ServiceContext, task_data: dict, roll: OwnerRoll):
    from engine.voting.count import register_count

    voting = task_data["voting"]
    if ctx.case is None:
        ServiceContext.refuse([{"field": "ballot_entry.source", "message": "no register outside a case", "message_zh": "没有选票登记簿"}])
    counted = register_count(ctx.session, ctx.case.id, int(voting["round"]))
    if counted.counts.issued == 0:
        ServiceContext.refuse([{"field": "ballot_entry.source", "message": "no ballots were registered for this round",
                  "message_zh": "本轮没有登记的选票，请改为上传选票统计文件"}])
    if counted.unsettled:
        shown = "、".join(counted.unsettled[:20]) + ("等" if len(counted.unsettled) > 20 else "")
        ServiceContext.refuse([{"field": "ballot_entry.source",
                  "message": f"{len(counted.unsettled)} ballots are not settled by double entry yet",
                  "message_zh": f"尚有 {len(counted.unsettled)} 张选票未完成双人录入核定（{shown}），核定后方可计票"}])
    result = tally(roll, counted.ballots, items=list(voting["items"]), threshold="majority",
                   seats=task_data["election"]["seats"])
    return result, counted.summary()


@service("committee_check_ballots", context=True)
def committee_check_ballots(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    entry = form_data.get("ballot_entry") or {}
    if entry.get("source") == "register":
        _count(ctx, task_data, entry)
        return
    if not entry.get("file"):
        ServiceContext.refuse([{"field": "ballot_entry.file", "message": "upload the ballots file", "message_zh": "请上传选票录入文件"}])
    _count(ctx, task_data, entry)


@service("committee_count", context=True)
def committee_count(ctx: ServiceContext) -> dict:
    data = ctx.data
    result, aside = _count(ctx, data, data["ballot_entry"])
    labels = data["voting"]["labels"]
    party = {c["candidate_id"]: bool(c.get("party_member")) for c in data["approved_candidates"]}
    d = result.to_dict()
    elected = [{"candidate_id": cid, "name": labels[cid], "party_member": party.get(cid, False),
                "agree_owners": result.item(cid).agree_owners, "agree_area": format(result.item(cid).agree_area.normalize(), "f")}
               for cid in result.elected]
    complete = result.quorum_met and result.open_seats == 0
    ctx.summary(participating_owners=result.participating_owners, participating_area=d["participating_area"],
             quorum_met=result.quorum_met, elected_count=len(elected), set_aside_votes=aside["count"])
    sheet = None
    if aside.get("source") == "register" and ctx.case is not None:  # the 计票表 from the same figures
        from engine.notices.service import issue_document
        from engine.voting.count import count_sheet_context

        rnd = int(data["voting"]["round"])
        context = count_sheet_context(compound_name=data.get("compound_name", ""),
                                      vote_title=data["meeting"]["meeting_name"], rnd=rnd, result=result,
                                      labels={i: f"{labels[i]}（{i}）" for i in labels}, summary=aside)
        doc = issue_document(ctx.session, kind="count_sheet", context=context, case=ctx.case, actor=ctx.actor,
                             now=ctx.now, settings=ctx.settings,
                             title=f"{data['meeting']['meeting_name']}计票表（第{rnd}轮）")
        sheet = {"document_id": doc.id, "verification_code": doc.verification_code}
    return {"tally": d, "quorum_met": result.quorum_met, "elected": elected, "ties": result.ties,
            "open_seats": result.open_seats, "complete": complete, "round": data["voting"]["round"],
            "set_aside": aside, **({"count_sheet": sheet} if sheet else {})}


@service("committee_check_failure", context=True)
def committee_check_failure(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    if (form_data.get("failure") or {}).get("decision") == "accept":
        count = task_data["count"]
        ServiceContext.refuse(rules.may_accept_partial(count["quorum_met"], len(count["elected"])))


# --- results, first meeting, filing, renewal --------------------------------------------------

@service("committee_result_notice", context=True)
def committee_result_notice(ctx: ServiceContext) -> dict:
    """Result notice context, and the 7-day first-meeting and 30-day filing deadlines."""
    data = ctx.data
    count = data["count"]
    t = count["tally"]
    first = period_end(ctx.now, days=7, kind="first_meeting")
    filing = period_end(ctx.now, days=30, kind="filing")
    share = rules.party_share(count["elected"])
    ctx.summary(elected_on=_today(ctx).isoformat(), elected_count=len(count["elected"]),
             elected_party_member_share=share["share"], elected_party_majority=share["more_than_half"])
    return {**first.fields("first_meeting_due"), **filing.fields("filing_due"),
            "first_meeting_last_day": first.last_day.isoformat(), "filing_last_day": filing.last_day.isoformat(),
            "context": {"compound_name": data.get("compound_name", ""), "meeting_name": data["meeting"]["meeting_name"],
                        "elected": [{"name": e["name"], "position": "委员", "agree_owners": e["agree_owners"],
                                     "agree_area": e["agree_area"]} for e in count["elected"]],
                        "participating_owners": t["participating_owners"], "participating_area": t["participating_area"],
                        "total_owners": t["total_owners"], "total_area": t["total_area"]}}


@service("committee_check_first_meeting", context=True)
def committee_check_first_meeting(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    m = form_data.get("first_meeting") or {}
    elected = [e["candidate_id"] for e in task_data["count"]["elected"]]
    ServiceContext.refuse(rules.check_officers(m.get("chair", ""), m.get("vice_chair", ""), elected))


@service("committee_first_meeting", context=True)
def committee_first_meeting(ctx: ServiceContext) -> dict:
    data = ctx.data
    m = data["first_meeting"]
    late = bool(data.get("meeting_supervision"))
    officers = []
    for e in data["count"]["elected"]:
        pos = "主任" if e["candidate_id"] == m["chair"] else "副主任" if e["candidate_id"] == m["vice_chair"] else "委员"
        officers.append({"candidate_id": e["candidate_id"], "name": e["name"], "position": pos})
    ctx.summary(first_meeting_on=m["meeting_date"], first_meeting_overdue=late)
    return {"officers": officers, "overdue": late}


@service("committee_file", context=True)
def committee_file(ctx: ServiceContext) -> dict:
    """Record the filing; the term runs from the election to the day before its anniversary; the renewal reminder is set
    `renewal_reminder_months` before the term ends."""
    data = ctx.data
    election = data["election"]
    elected_on = date.fromisoformat(data["case_summary"]["elected_on"])
    term_end = rules.term_last_day(elected_on, int(election["term_years"]))
    from dateutil.relativedelta import relativedelta

    remind_on = term_end - relativedelta(months=int(election["renewal_reminder_months"]))
    remind_on = max(remind_on, _today(ctx) + timedelta(days=1))
    from engine.domain.periods import end_of_day_utc

    remind_due = end_of_day_utc(remind_on - timedelta(days=1))  # 00:00 of the reminder day
    late = bool(data.get("filing_supervision"))
    filing = data["filing"]
    number = filing.get("filing_number") or f"{data.get('case_number', '')}-BA"
    ctx.summary(filed_on=_today(ctx).isoformat(), filing_overdue=late, term_start=elected_on.isoformat(),
             term_end=term_end.isoformat(), filing_number=number)
    officers = data["officers"]["officers"]
    return {"filing_number": number, "term_start": elected_on.isoformat(), "term_end": term_end.isoformat(),
            "renewal_reminder_on": remind_on.isoformat(), "renewal_reminder_due": remind_due.isoformat(),
            "overdue": late,
            "context": {"compound_name": data.get("compound_name", ""),
                        "members": [{"name": o["name"], "position": o["position"]} for o in officers],
                        "term_start": elected_on.isoformat(), "term_end": term_end.isoformat(),
                        "filing_number": number,
                        **({"office_address": filing["office_address"]} if filing.get("office_address") else {}),
                        **({"contact_phone": filing["contact_phone"]} if filing.get("contact_phone") else {})}}


@service("committee_close", context=True)
def committee_close(ctx: ServiceContext) -> dict:
    data = ctx.data
    reason = (data.get("failure") or {}).get("reason", "")
    ctx.summary(closed_on=_today(ctx).isoformat(), closed_reason=reason, outcome="closed")
    return {"closed_on": _today(ctx).isoformat(), "reason": reason}


@service("committee_renewal_due", context=True)
def committee_renewal_due(ctx: ServiceContext) -> dict:
    ctx.summary(renewal_reminded_on=_today(ctx).isoformat())
    return {"reminded_on": _today(ctx).isoformat(), "term_end": ctx.data["filing_result"]["term_end"]}


@choice_list("candidates")
def candidate_choices(session, case, role: str, task_data: dict) -> list[tuple[str, str]]:
    """The candidates on the case's current review sheet (what the party reviews decide on)."""
    return [(c["candidate_id"], f"{c['candidate_id']} {c.get('name', '')}") for c in task_data.get("review_sheet") or []]


@choice_list("elected")
def elected_choices(session, case, role: str, task_data: dict) -> list[tuple[str, str]]:
    """Those elected (the first meeting picks its chair and vice chair among them)."""
    return [(e["candidate_id"], f"{e['candidate_id']} {e.get('name', '')}")
            for e in ((task_data.get("count") or {}).get("elected") or [])]


@choice_list("approved")
def approved_choices(session, case, role: str, task_data: dict) -> list[tuple[str, str]]:
    """Candidates in publicity (an objection names one of them)."""
    return [(c["candidate_id"], f"{c['candidate_id']} {c.get('name', '')}")
            for c in task_data.get("approved_candidates") or []]


# --- what the reviewers see (panels declared by the review forms) ----------------------------

def _facts_given(candidate: dict) -> str:
    """The negative-list facts the nomination ticked as true, in words."""
    given = [negative_list.BY_ID[k].text if k in negative_list.BY_ID else k
             for k, v in (candidate.get("facts") or {}).items() if v]
    return "、".join(given) if given else "核查登记的情形均为“否”"


@panel("candidate_sheet")
def candidate_sheet_panel(session, case, task_data: dict) -> list[dict]:
    """The candidates under review, each with its screening; the party-member share and its warning."""
    sheet = task_data.get("review_sheet") or []
    nominated = {c.get("candidate_id"): c for c in task_data.get("candidates") or []}
    community = {d.get("candidate_id"): d for d in task_data.get("community_decisions") or []}
    headers = ["候选人", "业主编号", "房号", "性别", "中共党员", "提名方式", "负面清单筛查", "核查登记的情形"]
    if community:
        headers.append("社区党组织意见")
    rows = []
    for c in sheet:
        matched = [m.get("text", "") for m in (c.get("screening") or {}).get("matched") or []]
        row = [f"{c.get('candidate_id')} {c.get('name', '')}", c.get("owner_id", ""), c.get("units") or "—",
               c.get("gender") or "—", "是" if c.get("party_member") else "否", c.get("nominated_by") or "—",
               "命中：" + "、".join(matched) if matched else "未命中负面清单情形",
               _facts_given(nominated.get(c.get("candidate_id"), c))]
        if community:
            d = community.get(c.get("candidate_id")) or {}
            row.append(("同意" if d.get("approve") else "不同意" + (f"（{d.get('reason')}）" if d.get("reason") else ""))
                       if d else "—")
        rows.append(row)
    approved = list(task_data.get("approved_candidates") or [])
    if community:  # the street sees the share among those the community approved
        considered = approved + [c for c in sheet if (community.get(c.get("candidate_id")) or {}).get("approve")]
        basis = "已通过审查及社区党组织同意的候选人"
    else:
        considered = approved + sheet
        basis = "已通过审查及本次待审查的候选人"
    share = rules.party_share(considered)
    sections = [
        section(f"本次审查的候选人（{len(sheet)} 名）", table={"headers": headers, "rows": rows},
                notes=[] if rows else ["本次没有待审查的候选人。"]),
        section("党员占比", facts=[("计算范围", basis), ("党员人数/候选人数", share["share"]),
                                  ("党员比例", f"{share['percent']}%"), ("是否过半数", "是" if share["more_than_half"] else "否")],
                warnings=[share["warning"]] if share["warning"] else []),
    ]
    excluded = task_data.get("excluded_candidates") or []
    if excluded:
        sections.append(section(f"因负面清单已排除（{len(excluded)} 名，不列入审查）", table={
            "headers": ["候选人", "命中的情形"],
            "rows": [[f"{e.get('candidate_id')} {e.get('name', '')}",
                      "、".join(m.get("text", "") for m in (e.get("screening") or {}).get("matched") or []) or "—"]
                     for e in excluded]}))
    return sections


@panel("roll_totals")
def roll_totals_panel(session, case, task_data: dict) -> list[dict]:
    """The confirmed roll's totals the ballots are counted against."""
    roll = task_data.get("owner_roll") or {}
    if "attachment_id" in roll:
        # A prior-review vote: `owner_roll` is the uploaded file itself; its totals were read
        # into the vote plan when the vote was arranged.
        roll = {**((task_data.get("vote_plan") or {}).get("roll") or {}), "ref": roll}
    elif not roll:
        roll = (task_data.get("vote_plan") or {}).get("roll") or {}
    if not roll.get("owners", roll.get("total_owners")):
        return [section("业主名册", notes=["尚无已确认的业主名册。"])]
    owners = roll.get("owners", roll.get("total_owners"))
    return [section("已确认的业主名册", facts=[
        ("房屋套数", f"{roll.get('units', '—')} 套"), ("业主总人数", f"{owners} 人"),
        ("专有部分总面积", f"{roll.get('total_area', '—')} 平方米"),
        ("参与表决要求", "参与表决的业主须占专有部分总面积三分之二以上且占业主总人数三分之二以上")],
        files=[roll["ref"]] if isinstance(roll.get("ref"), dict) else [])]


@choice_list("owners")
def owner_choices(session, case, role: str, task_data: dict) -> list[tuple[str, str]]:
    """The owners on the confirmed roll (a candidate must be one of them)."""
    ref = (task_data.get("owner_roll") or {}).get("ref")
    if not ref:
        return []
    att = load_attachment(session, ref)
    roll = parse_roll(att.content, att.filename)
    return [(o.owner_id, f"{o.owner_id} {o.name or '建设单位'}（{'、'.join(o.units)}）") for o in roll.owners.values()]


# --- invariants: what every save of a committee election must leave true ----------------------
# Pure functions of the case data (see engine.runtime.invariants); None means the rule holds.

def _by_owner(data: Mapping[str, Any]) -> bool:
    """Cases opened before candidates were identified by owner keep no `candidate_owners`; the
    rules that need it apply from their opening on, so that cases in flight are not stopped."""
    return "candidate_owners" in data


def _owner_of(data: Mapping[str, Any], cid: str) -> str:
    return str((data.get("candidate_owners") or {}).get(cid, ""))


def _barred_on_list(data: Mapping[str, Any], events) -> str | None:
    approved = data.get("approved_candidates") or []
    barred = rules.barred_owners(data.get("excluded_candidates") or [], approved)
    if not barred:
        return None
    for c in approved:
        if c.get("owner_id") in barred:
            return f"候选人名单中的「{c.get('name')}」（{c.get('owner_id')}）已被负面清单排除"
    for c in data.get("review_sheet") or []:
        if c.get("owner_id") in barred and not (c.get("earlier_screenings") and c.get("reconsideration")):
            return f"联审名单中的「{c.get('name')}」（{c.get('owner_id')}）已被负面清单排除，且无新情况说明"
    for cid in (data.get("voting") or {}).get("items") or []:
        if _owner_of(data, cid) in barred:
            return f"选票上的候选人 {cid}（业主 {_owner_of(data, cid)}）已被负面清单排除"
    return None


def _approved_are_screened(data: Mapping[str, Any], events) -> str | None:
    for c in data.get("approved_candidates") or []:
        cid, review = c.get("candidate_id"), c.get("review") or {}
        if not (c.get("screening") or {}).get("eligible"):
            return f"候选人 {cid} 未经负面清单筛查合格"
        if not ((review.get("community") or {}).get("approve") and (review.get("street") or {}).get("approve")):
            return f"候选人 {cid} 未经社区党组织和街道党工委联审同意"
        if _by_owner(data) and (not c.get("roll_units") or _owner_of(data, cid) != c.get("owner_id")):
            return f"候选人 {cid} 不是按业主名册认定的业主"
        if c.get("reconsidered") and not all((review.get(k) or {}).get("reason", "").strip()
                                             for k in ("community", "street")):
            return f"候选人 {cid} 曾被负面清单排除，复核同意未写明依据"
    return None


def _one_candidacy_per_owner(data: Mapping[str, Any], events) -> str | None:
    approved = data.get("approved_candidates") or []
    for key, what in (("owner_id", "业主"), ("candidate_id", "候选人编号")):
        values = [c.get(key) for c in approved]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            return f"同一{what}在候选人名单中出现多次：{'、'.join(map(str, dupes))}"
    return None


def _summary_matches_list(data: Mapping[str, Any], events) -> str | None:
    if "approved_candidates" not in data or not _by_owner(data):
        return None
    expected = rules.list_summary(data["approved_candidates"], data.get("excluded_candidates") or [],
                                  data.get("objection_log") or [])
    summary = data.get("case_summary") or {}
    for key in ("approved_candidates", "party_member_share", "excluded_by_negative_list"):
        if summary.get(key) != expected[key]:
            return f"案件摘要的「{key}」为 {summary.get(key)}，按候选人名单应为 {expected[key]}"
    return None


def _ballot_lists_approved_only(data: Mapping[str, Any], events) -> str | None:
    voting = data.get("voting") or {}
    if not voting:
        return None
    names = {c["candidate_id"]: c.get("name") for c in data.get("approved_candidates") or []}
    for cid in voting.get("items") or []:
        if cid not in names:
            return f"选票上的 {cid} 不是审查通过的候选人"
        if (voting.get("labels") or {}).get(cid) != names[cid]:
            return f"选票上 {cid} 的姓名与审查通过名单不一致"
    return None


def _count_only_ballot_candidates(data: Mapping[str, Any], events) -> str | None:
    count, voting = data.get("count") or {}, data.get("voting") or {}
    if not count or not voting:
        return None
    items = set(voting.get("items") or [])
    counted = {i["item"] for i in (count.get("tally") or {}).get("items") or []}
    if counted != items:
        return f"计票事项 {sorted(counted)} 与本轮选票 {sorted(items)} 不一致"
    stray = [e["candidate_id"] for e in count.get("elected") or [] if e["candidate_id"] not in items]
    if stray:
        return f"当选人 {'、'.join(stray)} 不在本轮选票上"
    return None


def _publicity_before_meeting(data: Mapping[str, Any], events) -> str | None:
    publicity, meeting = data.get("candidate_publicity") or {}, data.get("meeting") or {}
    return publicity_problem(meeting.get("meeting_date", ""), publicity.get("publicity_end", ""))


@choice_list("negative_list_grounds")
def negative_list_grounds(session, case, role: str, task_data: dict) -> list[tuple[str, str]]:
    """The negative-list grounds the compound's setting switches on (the nomination asks only these)."""
    compound = session.get(OrgUnit, case.compound_id)
    setting = get_setting(session, negative_list.SETTING_KEY, compound, negative_list.default_setting())
    enabled = negative_list.enabled_grounds(setting.value)
    return [(g.id, g.text) for g in negative_list.GROUNDS if g.id in enabled]


# --- the process's one declaration ----------------------------------------------------------

INVARIANTS = (
    Invariant("committee.no_barred_owner_on_list", "候选人名单、联审名单和选票不含被负面清单排除的业主", _barred_on_list),
    Invariant("committee.approved_are_screened_roll_owners", "审查通过的候选人均为经负面清单筛查合格、两级联审同意的名册业主",
              _approved_are_screened),
    Invariant("committee.one_candidacy_per_owner", "同一业主、同一候选人编号在名单中只出现一次", _one_candidacy_per_owner),
    Invariant("committee.summary_matches_list", "案件摘要的候选人人数、党员占比和排除人数按候选人名单计算", _summary_matches_list),
    Invariant("committee.ballot_lists_approved_only", "选票只列审查通过的候选人", _ballot_lists_approved_only),
    Invariant("committee.count_only_ballot_candidates", "计票只计本轮选票上的候选人", _count_only_ballot_candidates),
    Invariant("committee.publicity_before_meeting", "候选人名单公示期在会议召开前届满", _publicity_before_meeting),
)

SUMMARY_LABELS = {
    "kind": "选举类型", "opened_on": "立案日期", "seats": "席位数", "term_years": "任期",
    "group_size": "筹备组（换届小组）人数", "units": "房屋套数", "owners": "业主人数", "total_owners": "业主总人数",
    "total_area": "专有部分总面积", "meeting_date": "业主大会会议日期",
    "excluded_by_negative_list": "因负面清单排除人数", "objections": "异议件数",
    "approved_candidates": "审查通过的候选人人数", "party_member_share": "候选人党员占比",
    "party_member_percent": "候选人党员比例", "party_majority": "候选人党员过半数",
    "ballot_rounds": "投票轮次", "participating_owners": "参与表决业主人数", "participating_area": "参与表决专有部分面积",
    "quorum_met": "达到“双三分之二”参与要求", "elected_count": "当选人数", "elected_on": "当选日期",
    "elected_party_member_share": "当选委员党员占比", "elected_party_majority": "当选委员党员过半数",
    "first_meeting_on": "首次会议日期", "first_meeting_overdue": "首次会议逾期",
    "filed_on": "备案日期", "filing_overdue": "备案逾期", "filing_number": "备案编号",
    "term_start": "任期开始", "term_end": "任期届满", "renewal_reminded_on": "换届提醒日期",
    "closed_on": "终止日期", "closed_reason": "终止理由",
    "set_aside_votes": "未计入的无效票数（不在选票上）", "meeting_postponed": "会议延期次数",
}

DEMO_ROLL = """unit_id,owner_id,owner_name,area_m2,building
1-101,O1,张伟,89.50,1
1-102,O1,张伟,60.00,1
1-201,O2,王芳,120.00,1
1-202,O3,李娜,95.25,1
2-101,O4,刘洋,88.00,2
2-102,O5,陈静,102.00,2
2-201,O6,杨帆,76.50,2
2-202,O7,赵磊,110.00,2
3-101,O8,黄敏,99.00,3
3-102,DEVELOPER,,130.00,3
"""

DESCRIPTOR = ProcessDescriptor(
    key="committee_election",
    title="业委会组建/换届",
    case_prefix="YWH",
    starters=frozenset({"street_staff"}),
    data_labels=SUMMARY_LABELS,
    settings=(SettingSpec(negative_list.SETTING_KEY, "负面清单（候选人禁止条件）", negative_list.default_setting,
                          negative_list.validate_setting, labels={g.id: g.text for g in negative_list.GROUNDS}),
              VOTE_SECOND_FACTOR),
    report=Report("committee", "业委会组建与党员占比", committee_summary),
    demo=(
        DemoCase("PK-JP-XC-01", "street", (
            DemoStep("open_case", "street", {"case": {"election_kind": "first", "seats": 5, "term_years": 5}}),
            DemoStep("form_group", "street", {"group": {"members": [
                {"name": "王街道", "kind": "street", "position": "组长"},
                {"name": "张伟", "kind": "owner", "position": "副组长"},
                {"name": "李娜", "kind": "owner", "position": "成员"},
                {"name": "某开发公司代表", "kind": "developer", "position": "成员"},
                {"name": "黄敏", "kind": "owner", "position": "成员"}]}}),
            DemoStep("confirm_roll", "street", {"roll": {
                "file": DemoUpload("业主名册.csv", DEMO_ROLL, "street"), "inspection_place": "小区物业服务中心"}}),
        )),
        DemoCase("PK-JP-XC-02", "street"),
    ),
    invariants=INVARIANTS,
)
