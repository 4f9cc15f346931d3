"""The party sub-branch's review (小区党支部先议) and its escalation."""
from __future__ import annotations

from datetime import datetime

from engine.domain import prior_review as pr
from engine.runtime.actors import Actor, load_actor
from engine.runtime.errors import Forbidden, NotFound, ValidationFailed
from engine.runtime.services import ServiceContext, service

from ._shared import _audit, _iso_now


def _reviewer(ctx: ServiceContext,
              refusal_zh: str = "先议意见须由本小区党支部书记提交，其他人员（含系统账号）不得代为记录") -> Actor:
    """The branch's word must come from a party-branch secretary whose jurisdiction covers the compound."""
    try:
        actor = load_actor(ctx.session, ctx.actor)
    except NotFound:
        actor = None
    if actor is None or actor.role != "party_branch_secretary" or not actor.covers(ctx.case.org_path):
        raise Forbidden(f"{ctx.actor} is not the compound's party-branch secretary; only the branch speaks for "
                        "the branch", refusal_zh)
    return actor


@service("prior_review.record_review", context=True)
def record_review(ctx: ServiceContext) -> dict:
    """Record the branch's opinion in the history; returns the opinion notice's context."""
    reviewer = _reviewer(ctx)
    data = ctx.data
    outcome = data.get("review_outcome")
    if outcome not in pr.OUTCOMES:
        raise ValidationFailed(f"unknown review outcome {outcome!r}", f"无法识别的先议结论 {outcome!r}")
    summary = data.get("case_summary") or {}
    started = summary.get("review_started_at")
    due = (data.get("review_due") or {}).get("due")
    overdue = bool(due and ctx.now > datetime.fromisoformat(due))
    days = (ctx.now - datetime.fromisoformat(started)).total_seconds() / 86400 if started else None
    reviews = list(summary.get("reviews") or [])
    reviews.append({"round": summary.get("round"), "outcome": outcome, "started_at": started,
                    "done_at": _iso_now(ctx), "days": round(days, 3) if days is not None else None,
                    "escalated": bool(summary.get("escalated_this_round")), "overdue": overdue})
    _audit(ctx, pr.REVIEW_RECORDED, {"round": summary.get("round"), "outcome": outcome,
                                     "reviewer": reviewer.username, "meeting_date": data.get("meeting_date"),
                                     "attendees": data.get("attendees"),
                                     "minutes": (data.get("minutes") or {}).get("sha256")})
    ctx.summary(review_outcome=outcome, review_done_at=_iso_now(ctx), review_due=None, reviews=reviews,
             escalated_this_round=False,
             stage={"agree": "deciding", "agree_with_changes": "revising", "disagree": "coordinating"}[outcome])
    compound = ctx.compound()
    conclusion = {"agree": "同意提交" + ("业主大会表决" if (data.get("classification") or {}).get("assembly_vote")
                                       else "业主委员会决定"),
                  "agree_with_changes": "原则同意，退回提交方按意见修改后重新提交先议",
                  "disagree": "不同意，提请社区党组织协调"}[outcome]
    opinion = list(data.get("review_opinion") or [])
    if outcome == "agree_with_changes" and data.get("required_changes"):
        opinion.append("修改要求：" + data["required_changes"])
    notice = {"compound_name": compound.name, "branch_name": f"中共{compound.name}支部委员会",
              "issuer": f"中共{compound.name}支部委员会",
              "matter": (data.get("classification") or {}).get("matter_name") or data.get("title"),
              "meeting_date": data.get("meeting_date"), "opinion": opinion or ["无"],
              "conclusion": conclusion, "attendees": list(data.get("attendees") or [])}
    return {"outcome": outcome, "notice": notice}


@service("prior_review.record_escalation", context=True)
def record_escalation(ctx: ServiceContext) -> dict:
    """The review deadline passed: the community party organisation is asked to supervise."""
    data = ctx.data
    summary = data.get("case_summary") or {}
    due = (data.get("review_due") or {}).get("due")
    _audit(ctx, "prior_review:review_overdue", {"round": summary.get("round"), "due": due})
    ctx.summary(escalations=int(summary.get("escalations") or 0) + 1, escalated_this_round=True,
             stage="escalated")
    return {"escalated_at": _iso_now(ctx), "due": due}


@service("prior_review.record_supervision", context=True)
def record_supervision(ctx: ServiceContext) -> dict:
    data = ctx.data
    _audit(ctx, "prior_review:review_supervised", {"note": data.get("supervision_note"),
                                                   "extend_days": data.get("extend_days")})
    ctx.summary(stage="in_review")
    return {"extend_days": data.get("extend_days")}


@service("prior_review.record_withdrawal", context=True)
def record_withdrawal(ctx: ServiceContext) -> dict:
    data = ctx.data
    _audit(ctx, "prior_review:withdrawn", {"note": data.get("coordination_note")})
    ctx.summary(outcome="withdrawn", stage="closed", closed_at=_iso_now(ctx))
    return {"withdrawn": True}


