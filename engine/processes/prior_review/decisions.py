"""Decisions (作出决定): by the owners' committee, or by an owners' assembly vote under Civil Code Art. 278."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from engine.domain import prior_review as pr
from engine.domain.periods import civil_date, end_of_day_utc, format_civil_date, period_end
from engine.domain.tally import Threshold
from engine.runtime.errors import Forbidden, ValidationFailed
from engine.runtime.services import ServiceContext, service

from ._shared import _attachment_bytes, _audit, _iso_now
from .enforcement import _parse_date, check_review


def _decided(ctx: ServiceContext, path: str, passed: bool, detail: dict[str, Any]) -> None:
    status = check_review(ctx.session, ctx.case)
    if path == "committee" and status.owners_vote_needed:
        raise Forbidden(f"case {ctx.case.case_number}: this matter needs the owners' vote; the committee cannot decide it",
                        f"案件 {ctx.case.case_number} 的事项须由业主共同决定（业主大会表决），业主委员会不得自行决定")
    _audit(ctx, pr.DECISION_RECORDED, {"path": path, "passed": passed, "listed": status.listed,
                                       "reviewed": status.reviewed, **detail})
    ctx.summary(decision=path, decision_passed=passed, decided_at=_iso_now(ctx),
             decided_after_review=status.reviewed if status.listed else None,
             outcome="passed" if passed else "rejected", stage="executing" if passed else "closed")


@service("prior_review.record_committee_decision", context=True)
def record_committee_decision(ctx: ServiceContext) -> dict:
    """The owners' committee decides a matter it may decide; returns the result notice's context."""
    status = check_review(ctx.session, ctx.case)
    if status.owners_vote_needed:  # before anything is counted
        _decided(ctx, "committee", False, {})
    data = ctx.data
    try:
        vote = pr.committee_vote(int(data["members_total"]), int(data["members_present"]),
                                 int(data["members_agree"]))
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed("committee vote counts must satisfy 0 ≤ agree ≤ present ≤ total, total ≥ 1",
                               "委员人数须满足：同意人数 ≤ 出席人数 ≤ 委员总数，委员总数至少1人",
                               details=[{"field": "members_agree", "message": "0 ≤ agree ≤ present ≤ total",
                                         "message_zh": "同意人数 ≤ 出席人数 ≤ 委员总数"}]) from None
    _decided(ctx, "committee", vote.passed, {"committee_vote": vote.as_dict()})
    compound = ctx.compound()
    c = data.get("classification") or {}
    notice = {"compound_name": compound.name, "issuer": f"{compound.name}业主委员会",
              "matter": c.get("matter_name") or data.get("title"), "meeting_date": data.get("meeting_date"),
              "decision_text": data.get("decision_text"), "members_total": vote.members_total,
              "members_present": vote.members_present, "members_agree": vote.members_agree,
              "passed": vote.passed, "rule": vote.rule_zh,
              "review_note": _review_note(data)}
    return {"passed": vote.passed, "vote": vote.as_dict(), "notice": notice}


def _review_note(data: dict) -> str:
    c = data.get("classification") or {}
    if c.get("listed"):
        return "本事项属于先议事项，已经小区党支部先议同意。"
    return "本事项不属于先议事项目录，未经党支部先议。"


@service("prior_review.plan_vote", context=True)
def plan_vote(ctx: ServiceContext) -> dict:
    """Schedule an owners' assembly vote: notice now, voting from `vote_start` for `vote_days`."""
    check_review(ctx.session, ctx.case)
    data = ctx.data
    start = _parse_date(data.get("vote_start"))
    earliest = pr.earliest_vote_start(civil_date(ctx.now))
    if start is None or start < earliest:
        raise ValidationFailed(f"voting may start on {earliest} at the earliest",
                               f"投票开始日期最早为{format_civil_date(earliest)}（表决公告须在投票15日前发布）")
    deadline = period_end(start - timedelta(days=1), days=int(data.get("vote_days") or 1), kind="voting")
    opens_at = end_of_day_utc(start - timedelta(days=1))
    c = data.get("classification") or {}
    roll = _roll(ctx, data)
    _audit(ctx, "prior_review:vote_scheduled", {"vote_start": start.isoformat(), "vote_end": deadline.last_day.isoformat(),
                                               "threshold": c.get("threshold"), "roll": roll.summary()})
    ctx.summary(stage="voting", vote_start=start.isoformat(), vote_end=deadline.last_day.isoformat())
    compound = ctx.compound()
    rules = ["参与表决的业主须占专有部分总面积三分之二以上且占业主总人数三分之二以上",
             pr.THRESHOLD_ZH[c.get("threshold") or pr.MAJORITY] + "，方为通过"]
    notice = {"compound_name": compound.name, "issuer": f"{compound.name}业主委员会",
              "matter": c.get("matter_name") or data.get("title"), "items": list(data.get("vote_items") or []),
              "form": data.get("vote_form"), "vote_start": opens_at.isoformat(), "vote_end": deadline.iso(),
              "place": data.get("vote_place"), "voting_rules": rules,
              "body": [_review_note(data)] + ([deadline.note] if deadline.note else [])}
    plan = {"vote_start": start.isoformat(), "vote_end": deadline.last_day.isoformat(), **deadline.fields("closes_at"),
            "roll": roll.summary(), "notice": notice}
    if data.get("issue_ballots"):
        plan["ballots"] = _issue_ballots(ctx, data, roll, notice, plan, c.get("threshold") or pr.MAJORITY)
    return plan


def _issue_ballots(ctx: ServiceContext, data: dict, roll, notice: dict, plan: dict, threshold: str) -> dict:
    """One numbered ballot per owner of the roll, registered in the same transaction (the same
    register, entry and count as an election's)."""
    from engine.notices.ballots import issue_ballots
    from engine.voting.register import ballot_owners, open_round, record_issued, second_factor

    items = list(data.get("vote_items") or [])
    title = f"{notice['matter']}表决票"
    context = {"compound_name": notice["compound_name"], "mode": "vote", "vote_title": notice["matter"],
               "title": title, "items": items, "deadline": plan["closes_at"], "ballot_box": data.get("vote_place"),
               "instructions": ["请对每个表决事项选择“同意”“反对”或“弃权”之一；未作选择的视为弃权",
                                "一名业主拥有多套房屋的只填一张表决票", pr.THRESHOLD_ZH[threshold] + "，方为通过"]}
    factor = context["second_factor"] = second_factor(ctx.session, ctx.case)
    run = issue_ballots(ctx.session, context=context, owners=ballot_owners(roll, factor), actor=ctx.actor,
                        now=ctx.now, settings=ctx.settings, case=ctx.case)
    open_round(ctx.session, ctx.case, 1, title=title, items=items, labels={i: i for i in items},
               deadline=datetime.fromisoformat(plan["closes_at"]), now=ctx.now, threshold=threshold, factor=factor)
    record_issued(ctx.session, ctx.case, run.documents, 1, actor=ctx.actor, now=ctx.now,
                  id_numbers={o.owner_id: o.id_number for o in roll.owners.values()})
    return {"ballots": run.ballots, "documents": [d.id for d in run.documents]}


def _roll(ctx: ServiceContext, data: dict):
    from engine.domain.owner_roll import parse_roll

    content, filename = _attachment_bytes(ctx, data.get("owner_roll"), "业主名册", "owner_roll")
    return parse_roll(content, filename)


@service("prior_review.count_vote", context=True)
def count_vote(ctx: ServiceContext) -> dict:
    """Count the ballots with the shared tally function and the matter's threshold."""
    from engine.domain.tally import parse_ballots, tally

    check_review(ctx.session, ctx.case)
    data = ctx.data
    c = data.get("classification") or {}
    threshold = cast(Threshold, c.get("threshold") or pr.MAJORITY)  # tally refuses any other value
    roll = _roll(ctx, data)
    items = list(data.get("vote_items") or [])
    sheet = None
    if data.get("ballot_source") == "register":
        result, sheet = _count_register(ctx, data, roll, items, threshold)
    else:
        content, filename = _attachment_bytes(ctx, data.get("ballots"), "选票", "ballots")
        result = tally(roll, parse_ballots(content, filename, roll), items=items, threshold=threshold)
    d = result.to_dict()
    passed = bool(result.quorum_met and result.items and all(i.passed for i in result.items))
    _decided(ctx, "assembly", passed, {"threshold": threshold, "quorum_met": result.quorum_met,
                                       "items": [{"item": i["item"], "passed": i["passed"]} for i in d["items"]],
                                       "ballots_sha256": (data.get("ballots") or {}).get("sha256")})
    ctx.summary(participating_owners=d["participating_owners"], total_owners=d["total_owners"],
             participating_area=d["participating_area"], total_area=d["total_area"], quorum_met=d["quorum_met"])
    compound = ctx.compound()
    rule = pr.THRESHOLD_ZH[threshold]
    if not result.quorum_met:
        rule = "参与表决的业主未达到专有部分总面积及业主总人数三分之二以上，表决无效"
    notice = {"compound_name": compound.name, "issuer": f"{compound.name}业主委员会",
              "matter": c.get("matter_name") or data.get("title"),
              "results": [{"text": i["item"], "agree_owners": i["agree_owners"], "agree_area": i["agree_area"],
                           "disagree_owners": i["disagree_owners"], "disagree_area": i["disagree_area"],
                           "abstain_owners": i["abstain_owners"], "abstain_area": i["abstain_area"],
                           "passed": i["passed"], "rule": rule} for i in d["items"]],
              "participating_owners": d["participating_owners"], "participating_area": d["participating_area"],
              "total_owners": d["total_owners"], "total_area": d["total_area"],
              "body": [_review_note(data)]}
    return {"passed": passed, "tally": d, "threshold": threshold, "notice": notice,
            **({"count_sheet": sheet} if sheet else {})}


def _count_register(ctx: ServiceContext, data: dict, roll, items: list[str], threshold: Threshold):
    """The count from the ballot register (settled double entries) and its 计票表."""
    from engine.domain.tally import tally
    from engine.notices.service import issue_document
    from engine.voting.count import count_sheet_context, register_count

    counted = register_count(ctx.session, ctx.case.id, 1)
    if counted.counts.issued == 0:
        raise ValidationFailed("no ballots were issued through the register", "本表决未由本系统发放选票，请上传选票汇总文件",
                               details=[{"field": "ballot_source", "message": "no register",
                                         "message_zh": "没有选票登记簿"}])
    if counted.unsettled:
        shown = "、".join(counted.unsettled[:20]) + ("等" if len(counted.unsettled) > 20 else "")
        raise ValidationFailed(f"{len(counted.unsettled)} ballots are not settled by double entry yet",
                               f"尚有 {len(counted.unsettled)} 张选票未完成双人录入核定（{shown}），核定后方可计票",
                               details=[{"field": "ballot_source", "message": "unsettled ballots",
                                         "message_zh": "有选票未核定"}])
    result = tally(roll, counted.ballots, items=items, threshold=threshold)
    compound = ctx.compound()
    matter = (data.get("classification") or {}).get("matter_name") or data.get("title") or ""
    threshold_zh = "四分之三以上" if threshold == pr.THREE_QUARTERS else "过半数"
    context = count_sheet_context(compound_name=compound.name, vote_title=f"“{matter}”业主大会表决", rnd=1,
                                  result=result, labels={i: i for i in items}, summary=counted.summary(),
                                  outcome_words=("通过", "未通过"), threshold_zh=threshold_zh)
    context["issuer"] = f"{compound.name}业主委员会"
    doc = issue_document(ctx.session, kind="count_sheet", context=context, case=ctx.case, actor=ctx.actor,
                         now=ctx.now, settings=ctx.settings, title=f"“{matter}”表决计票表")
    return result, {"document_id": doc.id, "verification_code": doc.verification_code,
                    "set_aside": counted.summary()}


