"""Ballots and counting (印制发放选票、开票计票) under Civil Code Art. 278."""
from __future__ import annotations

from datetime import date
from typing import Any

from engine.attachments import load_attachment
from engine.domain import committee as rules
from engine.domain.owner_roll import OwnerRoll
from engine.domain.periods import period_end
from engine.domain.tally import BallotError, match_ballot_items, parse_ballots, set_aside_summary, tally
from engine.runtime.services import ServiceContext, service

from ._shared import _load_roll, _set, _today


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


