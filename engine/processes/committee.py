"""Service tasks of `bpmn/committee_election.bpmn` (owners' committee formation and renewal).

Each function is thin: it reads the case's task data, calls a pure rule in `engine.domain`
(owner roll, tally, negative list, committee composition, periods) and returns JSON-able data.
Guards (`committee_check_*`, named by a user task's `completionGuard` property) refuse a form
before anything changes, listing every problem with its field or file:line.

Shared state that loops revisit lives in top-level task-data keys, written here only:
`approved_candidates` (passed joint review, not returned by an objection), `review_sheet` (the
candidates the party organisations are to review next), `excluded_candidates` (matched the
negative list: they never reach the ballot), and `case_summary` (reportable facts the service
layer copies into `process_case.summary`).
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any


from engine.attachments import load_attachment
from engine.db.models import OrgUnit
from engine.domain import committee as rules
from engine.domain import negative_list
from engine.domain.owner_roll import OwnerRoll, parse_roll
from engine.domain.periods import civil_date, period_end
from engine.domain.tally import BallotError, parse_ballots, tally
from engine.runtime.errors import ValidationFailed
from engine.runtime.choices import choice_list
from engine.runtime.panels import panel, section
from engine.runtime.services import ServiceContext, service
from engine.settings_store import get_setting

NOTICE_OWNER_LIST_LIMIT = 500  # longer rolls are inspected at the posted place, not printed


# --- helpers --------------------------------------------------------------------------------

def _data(ctx: ServiceContext) -> dict:
    task = ctx.extra.get("task")
    return task.data if task is not None else {}


def _set(ctx: ServiceContext, **values: Any) -> None:
    _data(ctx).update(values)


def _summary(ctx: ServiceContext, **values: Any) -> None:
    data = _data(ctx)
    summary = dict(data.get("case_summary") or {})
    summary.update(values)
    data["case_summary"] = summary


def _refuse(problems: list[dict]) -> None:
    if problems:
        raise ValidationFailed("; ".join(p["message"] for p in problems),
                               "；".join(p["message_zh"] for p in problems), details=problems)


def _today(ctx: ServiceContext) -> date:
    return civil_date(ctx.now)


def _load_roll(ctx: ServiceContext, ref: dict) -> OwnerRoll:
    att = load_attachment(ctx.session, ref)
    return parse_roll(att.content, att.filename)


def _compound(ctx: ServiceContext) -> OrgUnit | None:
    return ctx.session.get(OrgUnit, ctx.case.compound_id) if ctx.case is not None else None


def _public(c: dict) -> dict:
    """What a notice prints about a candidate (no negative-list facts)."""
    return {"name": c.get("name", ""), "gender": c.get("gender", ""), "units": c.get("units", ""),
            "intro": c.get("intro", "")}


def _publicity(ctx: ServiceContext, days: int) -> tuple[str, str, str]:
    d = period_end(ctx.now, days=int(days), kind="publicity")
    return _today(ctx).isoformat(), d.last_day.isoformat(), d.iso()


# --- opening --------------------------------------------------------------------------------

@service("committee_open", context=True)
def committee_open(ctx: ServiceContext) -> dict:
    """Check the case parameters and set up the loop state."""
    data = _data(ctx)
    case = data.get("case") or {}
    seats, term = case.get("seats"), case.get("term_years")
    _refuse(rules.check_seats_and_term(seats, term))
    kind = case.get("election_kind", "first")
    _set(ctx, approved_candidates=[], review_sheet=[], excluded_candidates=[], objection_log=[], ballot_round=0)
    _summary(ctx, kind=kind, seats=seats, term_years=term, opened_on=_today(ctx).isoformat())
    return {"kind": kind, "kind_zh": "首次选举" if kind == "first" else "换届选举", "seats": seats,
            "term_years": term, "publicity_days": int(case.get("publicity_days") or 7),
            "voting_days": int(case.get("voting_days") or 7),
            "renewal_reminder_months": int(case.get("renewal_reminder_months") or 6),
            "group_name": "筹备组" if kind == "first" else "换届小组"}


@service("committee_check_group", context=True)
def committee_check_group(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    _refuse(rules.check_group((form_data.get("group") or {}).get("members") or []))


@service("committee_group_notice", context=True)
def committee_group_notice(ctx: ServiceContext) -> dict:
    """Context of the preparatory-group member list notice."""
    data = _data(ctx)
    group, election = data["group"], data["election"]
    start, end, _due = _publicity(ctx, election["publicity_days"])
    members = [{"name": m["name"], "position": m.get("position", "成员"),
                "affiliation": m.get("affiliation") or rules.MEMBER_KINDS.get(m.get("kind"), "")}
               for m in group["members"]]
    _summary(ctx, group_size=len(members))
    return {"compound_name": data.get("compound_name", ""), "members": members, "publicity_start": start,
            "publicity_end": end, "objection_contact": group.get("objection_contact") or "向街道办事处提出"}


# --- owner roll -----------------------------------------------------------------------------

@service("committee_check_roll", context=True)
def committee_check_roll(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    """Refuse an owner roll with problems (every one listed with file:line)."""
    ref = (form_data.get("roll") or {}).get("file")
    if not ref:
        _refuse([{"field": "roll.file", "message": "upload the owner roll", "message_zh": "请上传业主名册"}])
    _load_roll(ctx, ref)


@service("committee_load_roll", context=True)
def committee_load_roll(ctx: ServiceContext) -> dict:
    """Totals of the confirmed roll (DESIGN.md §4.1) and the roll publicity notice's context."""
    data = _data(ctx)
    form = data["roll"]
    roll = _load_roll(ctx, form["file"])
    start, end, _due = _publicity(ctx, data["election"]["publicity_days"])
    notice = {"compound_name": data.get("compound_name", ""), "owner_count": roll.total_owners,
              "total_area": format(roll.total_area, "f"), "inspection_place": form["inspection_place"],
              "publicity_start": start, "publicity_end": end,
              "objection_contact": form.get("objection_contact") or "向筹备组提出"}
    if roll.total_owners <= NOTICE_OWNER_LIST_LIMIT:
        notice["owners"] = [{"name": o.name, "units": "、".join(o.units), "area": format(o.area_m2, "f")}
                            for o in roll.owners.values()]
    _summary(ctx, units=len(roll.units), owners=roll.total_owners, total_area=format(roll.total_area, "f"))
    return {"ref": form["file"], **roll.summary(), "notice": notice}


# --- meeting plan ---------------------------------------------------------------------------

def _meeting_problems(ctx: ServiceContext, meeting: dict) -> list[dict]:
    try:
        day = date.fromisoformat(str(meeting.get("meeting_date", ""))[:10])
    except ValueError:
        return [{"field": "meeting.meeting_date", "message": "meeting_date must be a date",
                 "message_zh": "会议日期格式不正确"}]
    earliest = _today(ctx) + timedelta(days=15)
    if day < earliest:
        return [{"field": "meeting.meeting_date",
                 "message": f"the plan must be posted at least 15 days before the meeting: meeting on {earliest} or later",
                 "message_zh": f"会议方案须在会议召开15日前公告：会议日期不得早于 {earliest.isoformat()}"}]
    return []


@service("committee_check_meeting_plan", context=True)
def committee_check_meeting_plan(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    _refuse(_meeting_problems(ctx, form_data.get("meeting") or {}))


@service("committee_meeting_notice", context=True)
def committee_meeting_notice(ctx: ServiceContext) -> dict:
    data = _data(ctx)
    m, election = data["meeting"], data["election"]
    _refuse(_meeting_problems(ctx, m))
    rules_text = list(m.get("voting_rules") or []) or [
        "专有部分面积占比三分之二以上的业主且人数占比三分之二以上的业主参与表决",
        "选举业主委员会委员，须经参与表决专有部分面积过半数的业主且参与表决人数过半数的业主同意",
        "按同意人数由多到少确定当选，同意人数相同的按同意面积确定；末位票数相同的，该席位空缺另行选举",
    ]
    agenda = list(m.get("agenda") or []) or [f"选举第{m.get('term_no') or '一'}届业主委员会委员（应选 {election['seats']} 名）"]
    _summary(ctx, meeting_date=m["meeting_date"])
    return {"compound_name": data.get("compound_name", ""), "meeting_name": m["meeting_name"],
            "meeting_date": m["meeting_date"], "meeting_time": m["meeting_time"], "place": m["place"],
            "form": m["form"], "agenda": agenda, "voting_rules": rules_text}


# --- nominations, negative-list screening, joint review --------------------------------------

@service("committee_check_nominations", context=True)
def committee_check_nominations(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    cands = form_data.get("candidates") or []
    approved = task_data.get("approved_candidates") or []
    roll = _load_roll(ctx, task_data["owner_roll"]["ref"])
    problems = []
    seen = {c["candidate_id"] for c in approved}
    for i, c in enumerate(cands):
        cid = c.get("candidate_id", "")
        if cid in seen:
            problems.append({"field": f"candidates.{i}.candidate_id", "message": f"candidate id {cid!r} used twice",
                             "message_zh": f"候选人编号 {cid} 重复"})
        seen.add(cid)
        if c.get("owner_id") not in roll.owners:
            problems.append({"field": f"candidates.{i}.owner_id",
                             "message": f"{c.get('name')}: owner {c.get('owner_id')!r} is not on the owner roll",
                             "message_zh": f"候选人「{c.get('name')}」的业主编号 {c.get('owner_id')} 不在业主名册中"})
    seats = task_data["election"]["seats"]
    if len(approved) + len(cands) < seats:
        problems.append({"field": "candidates",
                         "message": f"at least {seats} candidates are needed ({len(approved)} already approved)",
                         "message_zh": f"候选人不得少于应选名额 {seats} 名（已通过审查 {len(approved)} 名）"})
    _refuse(problems)


def _enabled_grounds(ctx: ServiceContext) -> tuple[set[str], int]:
    setting = get_setting(ctx.session, negative_list.SETTING_KEY, _compound(ctx), negative_list.default_setting())
    return negative_list.enabled_grounds(setting.value), setting.version


@service("committee_screen", context=True)
def committee_screen(ctx: ServiceContext) -> dict:
    """Negative-list screening of the new nominations; matches are excluded before review."""
    data = _data(ctx)
    enabled, version = _enabled_grounds(ctx)
    sheet, excluded = [], list(data.get("excluded_candidates") or [])
    for c in data["candidates"]:
        result = negative_list.screen(c.get("facts") or {}, enabled)
        entry = {**{k: v for k, v in c.items() if k != "facts"}, "screening": result}
        (sheet if result["eligible"] else excluded).append(entry)
    _set(ctx, review_sheet=sheet, excluded_candidates=excluded)
    _summary(ctx, excluded_by_negative_list=len(excluded))
    return {"setting_version": version, "enabled_grounds": sorted(enabled), "to_review": len(sheet),
            "excluded": [{"candidate_id": e["candidate_id"], "name": e["name"],
                          "grounds": [m["text"] for m in e["screening"]["matched"]]} for e in excluded],
            "party_share": rules.party_share(sheet)}


def _decision_problems(sheet: list[dict], decisions: list[dict], field: str) -> list[dict]:
    want = [c["candidate_id"] for c in sheet]
    got = [d.get("candidate_id") for d in decisions]
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
    return problems


@service("committee_check_review", context=True)
def committee_check_review(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    field = "community_decisions" if "community_decisions" in form_data else "street_decisions"
    _refuse(_decision_problems(task_data.get("review_sheet") or [], form_data.get(field) or [], field))


@service("committee_community_result", context=True)
def committee_community_result(ctx: ServiceContext) -> dict:
    """What the street party working committee sees: the community's view and the party share."""
    data = _data(ctx)
    ok = {d["candidate_id"] for d in data["community_decisions"] if d["approve"]}
    sheet = data["review_sheet"]
    kept = [c for c in data.get("approved_candidates", [])] + [c for c in sheet if c["candidate_id"] in ok]
    return {"approved_ids": sorted(ok), "party_share": rules.party_share(kept)}


@service("committee_review_result", context=True)
def committee_review_result(ctx: ServiceContext) -> dict:
    """Both organisations must approve a candidate; record every reason; share and sufficiency."""
    data = _data(ctx)
    sheet = data["review_sheet"]
    comm = {d["candidate_id"]: d for d in data["community_decisions"]}
    street = {d["candidate_id"]: d for d in data["street_decisions"]}
    approved = list(data.get("approved_candidates") or [])
    rejected = []
    for c in sheet:
        cid = c["candidate_id"]
        review = {"community": {"approve": comm[cid]["approve"], "reason": comm[cid].get("reason", "")},
                  "street": {"approve": street[cid]["approve"], "reason": street[cid].get("reason", "")}}
        entry = {**c, "review": review}
        (approved if comm[cid]["approve"] and street[cid]["approve"] else rejected).append(entry)
    share = rules.party_share(approved)
    seats = data["election"]["seats"]
    _set(ctx, approved_candidates=approved, review_sheet=[])
    _summary(ctx, approved_candidates=len(approved), party_member_share=share["share"],
             party_member_percent=share["percent"], party_majority=share["more_than_half"])
    return {"approved": [{"candidate_id": c["candidate_id"], "name": c["name"]} for c in approved],
            "rejected": [{"candidate_id": c["candidate_id"], "name": c["name"], "review": c["review"]} for c in rejected],
            "party_share": share, "enough": len(approved) >= seats}


# --- candidate publicity and objections -----------------------------------------------------

@service("committee_candidate_notice", context=True)
def committee_candidate_notice(ctx: ServiceContext) -> dict:
    data = _data(ctx)
    election = data["election"]
    start, end, due = _publicity(ctx, election["publicity_days"])
    approved = data["approved_candidates"]
    return {"publicity_due": due, "publicity_end": end,
            "context": {"compound_name": data.get("compound_name", ""), "seats": election["seats"],
                        "candidates": [_public(c) for c in approved], "publicity_start": start,
                        "publicity_end": end, "objection_contact": "向筹备组或街道办事处书面提出"}}


@service("committee_objection", context=True)
def committee_objection(ctx: ServiceContext) -> dict:
    """Record objections; an upheld one sends its candidate back — to exclusion when it proves a
    negative-list ground, else to joint review."""
    data = _data(ctx)
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
        entry = {**{k: v for k, v in cand.items() if k not in ("review", "screening")}, "screening": result,
                 "objection": o.get("content", "")}
        (sheet if result["eligible"] else excluded).append(entry)
    remaining = [c for c in approved if c["candidate_id"] in by_id]
    _set(ctx, approved_candidates=remaining, review_sheet=sheet, excluded_candidates=excluded, objection_log=log)
    _summary(ctx, objections=len(log), excluded_by_negative_list=len(excluded))
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
    for i, o in enumerate((form_data.get("objection") or {}).get("objections") or []):
        if o.get("candidate_id") not in ids:
            problems.append({"field": f"objection.objections.{i}.candidate_id",
                             "message": f"{o.get('candidate_id')!r} is not on the publicised list",
                             "message_zh": f"{o.get('candidate_id')} 不在公示的候选人名单中"})
        for g in o.get("grounds") or []:
            if g not in negative_list.BY_ID:
                problems.append({"field": f"objection.objections.{i}.grounds", "message": f"unknown ground {g!r}",
                                 "message_zh": f"未知的负面清单条目 {g}"})
    _refuse(problems)


# --- ballots and counting -------------------------------------------------------------------

@service("committee_voting", context=True)
def committee_voting(ctx: ServiceContext) -> dict:
    """The voting period: until the end of the meeting day, or `voting_days` when that has passed."""
    data = _data(ctx)
    meeting_day = date.fromisoformat(data["meeting"]["meeting_date"][:10])
    if meeting_day > _today(ctx):
        d = period_end(_today(ctx), days=(meeting_day - _today(ctx)).days, kind="voting")
    else:
        d = period_end(ctx.now, days=int(data["election"]["voting_days"]), kind="voting")
    rnd = int(data.get("ballot_round") or 0) + 1
    _set(ctx, ballot_round=rnd)
    _summary(ctx, ballot_rounds=rnd)
    cands = data["approved_candidates"]
    return {"due": d.iso(), "last_day": d.last_day.isoformat(), "round": rnd,
            "items": [c["candidate_id"] for c in cands], "labels": {c["candidate_id"]: c["name"] for c in cands}}


@service("committee_issue_ballots", context=True)
def committee_issue_ballots(ctx: ServiceContext) -> dict:
    """One ballot page per owner of the roll, through the notices' ballot batch (verifiable
    documents of up to 100 pages each), committed with the case state."""
    from engine.notices.ballots import issue_ballots

    data = _data(ctx)
    roll = _load_roll(ctx, data["owner_roll"]["ref"])
    voting, election = data["voting"], data["election"]
    context = {
        "compound_name": data.get("compound_name", ""), "mode": "election",
        "vote_title": data["meeting"]["meeting_name"],
        "title": f"{data['meeting']['meeting_name']}选票（第{voting['round']}轮）",
        "items": [f"{voting['labels'][i]}（{i}）" for i in voting["items"]],
        "instructions": [f"本次应选业主委员会委员 {election['seats']} 名，请对每名候选人选择“同意”“反对”或“弃权”之一",
                         "未作选择的视为弃权；一名业主拥有多套房屋的只填一张选票",
                         "选票须由业主本人或其书面委托的代理人填写"],
        "deadline": voting["due"], "ballot_box": data["meeting"]["place"],
    }
    owners = [{"owner_id": o.owner_id, "owner_name": o.name, "units": list(o.units), "area": format(o.area_m2, "f")}
              for o in roll.owners.values()]
    run = issue_ballots(ctx.session, context=context, owners=owners, actor=ctx.actor, now=ctx.now,
                        settings=ctx.settings, case=ctx.case)
    return {"ballots": run.ballots, "round": voting["round"],
            "documents": [{"document_id": d.id, "verification_code": d.verification_code} for d in run.documents]}


def _ballot_items(task_data: dict) -> tuple[list[str], dict[str, str]]:
    cands = task_data["approved_candidates"]
    aliases = {c["candidate_id"]: c["candidate_id"] for c in cands}
    aliases.update({c["name"]: c["candidate_id"] for c in cands})
    return [c["candidate_id"] for c in cands], aliases


def _count(ctx: ServiceContext, task_data: dict, ref: dict):
    roll = _load_roll(ctx, task_data["owner_roll"]["ref"])
    att = load_attachment(ctx.session, ref)
    ballots = parse_ballots(att.content, att.filename, roll)
    items, aliases = _ballot_items(task_data)
    from engine.domain.tally import Ballot, Problem

    problems, mapped = [], []
    for b in ballots:
        item = aliases.get(b.item)
        if item is None:
            problems.append(Problem(att.filename, b.line, f"{b.item!r} is not a candidate on the ballot",
                                    f"「{b.item}」不是本次选票上的候选人"))
        else:
            mapped.append(Ballot(b.owner_id, item, b.vote, b.line))
    if problems:
        raise BallotError(problems)
    return tally(roll, mapped, items=items, threshold="majority", seats=task_data["election"]["seats"])


@service("committee_check_ballots", context=True)
def committee_check_ballots(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    ref = (form_data.get("ballot_entry") or {}).get("file")
    if not ref:
        _refuse([{"field": "ballot_entry.file", "message": "upload the ballots file", "message_zh": "请上传选票录入文件"}])
    _count(ctx, task_data, ref)


@service("committee_count", context=True)
def committee_count(ctx: ServiceContext) -> dict:
    data = _data(ctx)
    result = _count(ctx, data, data["ballot_entry"]["file"])
    names = {c["candidate_id"]: c for c in data["approved_candidates"]}
    d = result.to_dict()
    elected = [{"candidate_id": cid, "name": names[cid]["name"], "party_member": bool(names[cid].get("party_member")),
                "agree_owners": result.item(cid).agree_owners, "agree_area": d["items"][[i["item"] for i in d["items"]].index(cid)]["agree_area"]}
               for cid in result.elected]
    complete = result.quorum_met and result.open_seats == 0
    _summary(ctx, participating_owners=result.participating_owners, participating_area=d["participating_area"],
             quorum_met=result.quorum_met, elected_count=len(elected))
    return {"tally": d, "quorum_met": result.quorum_met, "elected": elected, "ties": result.ties,
            "open_seats": result.open_seats, "complete": complete}


@service("committee_check_failure", context=True)
def committee_check_failure(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    if (form_data.get("failure") or {}).get("decision") == "accept":
        count = task_data["count"]
        _refuse(rules.may_accept_partial(count["quorum_met"], len(count["elected"])))


# --- results, first meeting, filing, renewal --------------------------------------------------

@service("committee_result_notice", context=True)
def committee_result_notice(ctx: ServiceContext) -> dict:
    """Result notice context, and the 7-day first-meeting and 30-day filing deadlines."""
    data = _data(ctx)
    count = data["count"]
    t = count["tally"]
    first = period_end(ctx.now, days=7, kind="first_meeting")
    filing = period_end(ctx.now, days=30, kind="filing")
    share = rules.party_share(count["elected"])
    _summary(ctx, elected_on=_today(ctx).isoformat(), elected_count=len(count["elected"]),
             elected_party_member_share=share["share"], elected_party_majority=share["more_than_half"])
    return {"first_meeting_due": first.iso(), "filing_due": filing.iso(),
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
    _refuse(rules.check_officers(m.get("chair", ""), m.get("vice_chair", ""), elected))


@service("committee_first_meeting", context=True)
def committee_first_meeting(ctx: ServiceContext) -> dict:
    data = _data(ctx)
    m = data["first_meeting"]
    late = bool(data.get("meeting_supervision"))
    officers = []
    for e in data["count"]["elected"]:
        pos = "主任" if e["candidate_id"] == m["chair"] else "副主任" if e["candidate_id"] == m["vice_chair"] else "委员"
        officers.append({"candidate_id": e["candidate_id"], "name": e["name"], "position": pos})
    _summary(ctx, first_meeting_on=m["meeting_date"], first_meeting_overdue=late)
    return {"officers": officers, "overdue": late}


@service("committee_file", context=True)
def committee_file(ctx: ServiceContext) -> dict:
    """Record the filing; the term runs from the election; the renewal reminder is set
    `renewal_reminder_months` before the term ends."""
    data = _data(ctx)
    election = data["election"]
    elected_on = date.fromisoformat(data["case_summary"]["elected_on"])
    term_end = period_end(elected_on, years=int(election["term_years"]), kind="renewal_reminder").last_day
    from dateutil.relativedelta import relativedelta

    remind_on = term_end - relativedelta(months=int(election["renewal_reminder_months"]))
    remind_on = max(remind_on, _today(ctx) + timedelta(days=1))
    from engine.domain.periods import end_of_day_utc

    remind_due = end_of_day_utc(remind_on - timedelta(days=1))  # 00:00 of the reminder day
    late = bool(data.get("filing_supervision"))
    filing = data["filing"]
    number = filing.get("filing_number") or f"{data.get('case_number', '')}-BA"
    _summary(ctx, filed_on=_today(ctx).isoformat(), filing_overdue=late, term_start=elected_on.isoformat(),
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
    data = _data(ctx)
    reason = (data.get("failure") or {}).get("reason", "")
    _summary(ctx, closed_on=_today(ctx).isoformat(), closed_reason=reason, outcome="closed")
    return {"closed_on": _today(ctx).isoformat(), "reason": reason}


@service("committee_renewal_due", context=True)
def committee_renewal_due(ctx: ServiceContext) -> dict:
    _summary(ctx, renewal_reminded_on=_today(ctx).isoformat())
    return {"reminded_on": _today(ctx).isoformat(), "term_end": _data(ctx)["filing_result"]["term_end"]}


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
    roll = task_data.get("owner_roll") or (task_data.get("vote_plan") or {}).get("roll") or {}
    if not roll:
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


@choice_list("negative_list_grounds")
def negative_list_grounds(session, case, role: str, task_data: dict) -> list[tuple[str, str]]:
    """The negative-list grounds the compound's setting switches on (the nomination asks only these)."""
    compound = session.get(OrgUnit, case.compound_id)
    setting = get_setting(session, negative_list.SETTING_KEY, compound, negative_list.default_setting())
    enabled = negative_list.enabled_grounds(setting.value)
    return [(g.id, g.text) for g in negative_list.GROUNDS if g.id in enabled]
