"""Enforcement: a decision needs the party branch's prior review, proven from the case's audit chain."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from engine.domain import prior_review as pr
from engine.domain.periods import civil_date, format_civil_date
from engine.runtime.errors import Forbidden, ValidationFailed
from engine.runtime.services import ServiceContext, service

from ._shared import case_events
from .catalogue import pinned_catalogue


def check_review(session: Session, case) -> pr.ReviewStatus:
    """Raise Forbidden unless the case may record a decision now."""
    status = pr.review_status(case_events(session, case.case_number))
    if not status.classified:
        raise Forbidden(f"case {case.case_number}: the matter was never classified, so no decision may be recorded",
                        f"案件 {case.case_number} 尚未完成先议事项分类，不得作出决定")
    if not status.may_decide:
        got = f"（最近一次先议意见：{pr.OUTCOME_ZH.get(status.latest_outcome, status.latest_outcome)}）" \
            if status.latest_outcome else "（尚无党支部先议意见）"
        raise Forbidden(
            f"case {case.case_number}: a listed prior-review matter needs the compound party branch's review "
            f"(outcome 'agree') before the owners' committee or assembly decides; latest outcome: {status.latest_outcome}",
            f"案件 {case.case_number} 属于先议事项，须经小区党支部先议同意后，业主委员会或业主大会方可作出决定{got}")
    return status


@service("prior_review.require_review", context=True)
def require_review(ctx: ServiceContext, task_data: dict | None = None, form_data: dict | None = None) -> dict:
    """completionGuard of every decision-recording user task (and called by the result services)."""
    status = check_review(ctx.session, ctx.case)
    return {"listed": status.listed, "reviewed": status.reviewed}


@service("prior_review.check_submission", context=True)
def check_submission(ctx: ServiceContext, task_data: dict | None = None, form_data: dict | None = None) -> dict:
    """completionGuard of submit/revise: the matter code must be on the pinned catalogue or be
    `unlisted` — a mistyped code must not quietly skip the review."""
    form = form_data or {}
    code = form.get("matter_code")
    catalogue = pinned_catalogue(ctx.session, (task_data or {}).get("catalogue_pin"))
    if code != pr.UNLISTED and pr.find_matter(catalogue, code or "") is None:
        codes = "、".join(m["code"] for m in catalogue["matters"])
        raise ValidationFailed(
            f"matter_code {code!r} is not on this case's catalogue (use one of its codes or {pr.UNLISTED!r})",
            f"事项编码 {code!r} 不在本案适用的先议事项目录中（可选：{codes}，非先议事项填 {pr.UNLISTED}）",
            details=[{"field": "matter_code", "message": f"unknown matter code {code!r}",
                      "message_zh": f"事项编码 {code!r} 不在先议事项目录中"}])
    if code == pr.UNLISTED:
        problems = []
        if not (form.get("unlisted_name") or "").strip():
            problems.append({"field": "unlisted_name", "message": "required for an unlisted matter",
                             "message_zh": "申报非先议事项须填写事项名称"})
        if form.get("unlisted_art278_item") is None:
            # what the matter is decides its classification, so it must be stated
            problems.append({"field": "unlisted_art278_item", "message": "required for an unlisted matter",
                             "message_zh": "申报非先议事项须写明所属民法典第二百七十八条项次"})
        if problems:
            raise ValidationFailed("an unlisted proposal needs " + " and ".join(p["field"] for p in problems),
                                   "；".join(p["message_zh"] for p in problems), details=problems)
    return {"ok": True}


@service("prior_review.check_classification", context=True)
def check_classification(ctx: ServiceContext, task_data: dict | None = None, form_data: dict | None = None) -> dict:
    """completionGuard of the branch's classification: a reclassification names a matter of
    the case's pinned catalogue; an item 3–8 matter cannot be confirmed as not listed."""
    form = form_data or {}
    proposal = (task_data or {}).get("classification") or {}
    catalogue = pinned_catalogue(ctx.session, (task_data or {}).get("catalogue_pin"))
    try:
        pr.branch_classification(catalogue, proposal, form.get("classification_decision") or "",
                                 form.get("reclassify_to"))
    except pr.UnknownMatter:
        codes = "、".join(m["code"] for m in catalogue["matters"])
        raise ValidationFailed(f"reclassify_to {form.get('reclassify_to')!r} is not on this case's catalogue",
                               f"改归事项编码 {form.get('reclassify_to')!r} 不在本案适用的先议事项目录中（可选：{codes}）",
                               details=[{"field": "reclassify_to", "message": "not on the catalogue",
                                         "message_zh": "改归事项须为先议事项目录中的编码"}]) from None
    except ValueError as exc:
        raise ValidationFailed(str(exc), "该事项无法按此确认：民法典第二百七十八条第3–8项事项一律须经党支部先议") from None
    return {"ok": True}


@service("prior_review.check_vote_plan", context=True)
def check_vote_plan(ctx: ServiceContext, task_data: dict | None = None, form_data: dict | None = None) -> dict:
    """completionGuard of the vote arrangement: a review first, then voting ≥ 15 days after the notice."""
    require_review(ctx)
    start = _parse_date((form_data or {}).get("vote_start"))
    earliest = pr.earliest_vote_start(civil_date(ctx.now))
    if start is None or start < earliest:
        raise ValidationFailed(
            f"voting may start on {earliest} at the earliest (the notice must be posted 15 days before voting)",
            f"投票开始日期最早为{format_civil_date(earliest)}（表决公告须在投票15日前发布）",
            details=[{"field": "vote_start", "message": f"earliest {earliest}",
                      "message_zh": f"最早为{format_civil_date(earliest)}"}])
    return {"earliest": earliest.isoformat()}


def _parse_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


