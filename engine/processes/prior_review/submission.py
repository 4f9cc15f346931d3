"""Submission and classification (事项申报、分类): the catalogue decides whether a matter needs prior review."""
from __future__ import annotations

from typing import Any

from engine.domain import prior_review as pr
from engine.runtime.errors import ValidationFailed
from engine.runtime.services import ServiceContext, service

from ._shared import _audit, _iso_now
from .catalogue import effective_catalogue, pinned_catalogue
from .review import _reviewer


@service("prior_review.pin_catalogue", context=True)
def pin_catalogue(ctx: ServiceContext) -> dict:
    """Pin the catalogue version the case starts on; classification always reads this version."""
    current = effective_catalogue(ctx.session, ctx.compound())
    pin = {"setting_id": current.setting_id, "version": current.version, "org_code": current.org_code}
    _audit(ctx, "prior_review:catalogue_pinned", pin)
    ctx.summary(catalogue_version=current.version, catalogue_org=current.org_code, round=0)
    return {**pin, "matters": [{"code": m["code"], "name": m["name"], "enabled": m.get("enabled", True)}
                               for m in current.value["matters"]]}


@service("prior_review.classify", context=True)
def classify(ctx: ServiceContext) -> dict:
    """Listed? threshold? assembly vote? — decided by the pinned catalogue from what the matter
    is (domain rule); a "not on the list" proposal it cannot settle waits for the branch."""
    data = ctx.data
    catalogue = pinned_catalogue(ctx.session, data.get("catalogue_pin"))
    code = data.get("matter_code") or ""
    try:
        c = pr.classify(catalogue, code, unlisted_item=data.get("unlisted_art278_item"),
                        unlisted_assembly_vote=bool(data.get("unlisted_assembly_vote", True)),
                        unlisted_name=data.get("unlisted_name") or "")
    except pr.UnknownMatter:
        raise ValidationFailed(f"matter_code {code!r} is not on the catalogue",
                               f"事项编码 {code!r} 不在先议事项目录中") from None
    except ValueError:
        raise ValidationFailed("an unlisted proposal needs its Art. 278 item (1–9)",
                               "申报非先议事项须写明所属民法典第二百七十八条项次（1–9）") from None
    round_no = int((data.get("case_summary") or {}).get("round") or 0) + 1
    if c.awaiting_confirmation:
        _audit(ctx, pr.UNLISTED_PROPOSED, {"round": round_no, "name": c.matter_name, "art278_item": c.art278_item,
                                           "assembly_vote": c.assembly_vote, "proposed_by": ctx.actor})
    return _classified(ctx, c, round_no, {"proposed_by": ctx.actor} if c.proposed_unlisted else {})


def _classified(ctx: ServiceContext, c: pr.Classification, round_no: int, detail: dict[str, Any]) -> dict:
    """Record a classification (unless it still waits for the branch) and keep it in the summary."""
    data = ctx.data
    result = c.as_dict()
    result["round"] = round_no
    if not c.awaiting_confirmation:
        _audit(ctx, pr.CLASSIFIED, {"round": round_no, "matter_code": c.matter_code, "listed": c.listed,
                                    "art278_item": c.art278_item, "threshold": c.threshold,
                                    "assembly_vote": c.assembly_vote, "proposed_unlisted": c.proposed_unlisted,
                                    "reason_zh": c.reason_zh,
                                    "catalogue_version": (data.get("catalogue_pin") or {}).get("version"), **detail})
    updates: dict[str, Any] = dict(
        matter_code=c.matter_code, matter_name=c.matter_name, listed=c.listed, threshold=c.threshold,
        assembly_vote=c.assembly_vote, art278_item=c.art278_item, round=round_no,
        proposed_unlisted=c.proposed_unlisted, stage="confirming" if c.awaiting_confirmation else "classified",
        submitted_at=(data.get("case_summary") or {}).get("submitted_at") or _iso_now(ctx),
        title=data.get("title"))
    if c.listed:
        updates.update(stage="in_review", review_started_at=_iso_now(ctx), review_done_at=None, review_due=None)
    ctx.summary(**updates)
    return result


@service("prior_review.record_classification", context=True)
def record_classification(ctx: ServiceContext) -> dict:
    """The party branch confirms a "not on the list" proposal or reclassifies the matter under
    the catalogue; either way the history says who decided and why."""
    reviewer = _reviewer(ctx, "事项分类须由本小区党支部书记确认，其他人员（含系统账号）不得代为确认")
    data = ctx.data
    catalogue = pinned_catalogue(ctx.session, data.get("catalogue_pin"))
    decision = data.get("classification_decision") or ""
    try:
        c = pr.branch_classification(catalogue, data.get("classification") or {}, decision, data.get("reclassify_to"))
    except (pr.UnknownMatter, ValueError):
        raise ValidationFailed(f"cannot classify with {decision!r} / {data.get('reclassify_to')!r}",
                               "事项分类确认有误：改归事项须为目录中的编码，第3–8项事项一律须经党支部先议") from None
    key = "confirmed_by" if decision == pr.CONFIRM_UNLISTED else "reclassified_by"
    round_no = int((data.get("case_summary") or {}).get("round") or 1)
    return _classified(ctx, c, round_no, {key: reviewer.username, "decision": decision,
                                          "reason": data.get("classification_reason")})


@service("prior_review.skip_review", context=True)
def skip_review(ctx: ServiceContext) -> dict:
    """Not a listed matter: say so in the history, then go straight to the decision."""
    c = ctx.data.get("classification") or {}
    reason = f"「{c.get('matter_name')}」{c.get('reason_zh', '不属于先议事项')}，免予小区党支部先议"
    _audit(ctx, pr.REVIEW_NOT_REQUIRED, {"matter_code": c.get("matter_code"), "reason_zh": reason})
    ctx.summary(review_outcome="not_required", stage="deciding")
    return {"skipped": True, "reason_zh": reason}


@service("prior_review.note_review_due", context=True)
def note_review_due(ctx: ServiceContext) -> dict:
    """Keep the current review deadline in the summary (for the overdue report)."""
    due = (ctx.data.get("review_due") or {}).get("due")
    ctx.summary(review_due=due)
    return {"due": due}


