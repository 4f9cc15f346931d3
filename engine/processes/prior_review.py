"""Service tasks of `bpmn/prior_review.bpmn` (先议事项) and the catalogue's storage.

The rule this module exists for: no committee or owners'-assembly decision on a listed matter is
recorded unless the compound party branch reviewed it first (DESIGN.md §4.3). The proof of a
review is the case's own audit chain — events these services append in the same transaction as
the task that caused them — not task data, which forms could be used to forge. Every step that
records a decision calls `require_review`, both as the `completionGuard` of the user task and
again inside the service task that stores the result, so a diagram that skips the review cannot
record a decision either.

Services read the form fields they need from the data of the service task itself
(`ctx.extra["task"]`), and keep the reportable facts in the task-data dict `case_summary`, which
the service layer copies to `process_case.summary` on every save.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.attachments import load_attachment
from engine.db.models import AuditEvent, OrgUnit
from engine.domain import prior_review as pr
from engine.domain.periods import civil_date, end_of_day_utc, format_civil_date, period_end
from engine.domain.tally import Threshold
from engine.notices.kinds import NoticeKind
from engine.processes.common import VOTE_SECOND_FACTOR
from engine.reports.prior_review import prior_review_report
from engine.runtime.actors import Actor, load_actor
from engine.runtime.choices import choice_list
from engine.runtime.errors import Forbidden, NotFound, ValidationFailed
from engine.runtime.invariants import Invariant
from engine.runtime.panels import panel, section
from engine.runtime.registry import DemoCase, DemoStep, ProcessDescriptor, Report, SettingSpec
from engine.runtime.services import ServiceContext, service
from engine.runtime.settings import check_setting
from engine.settings_store import SettingValue, get_setting, get_setting_version, put_setting

EDITOR_ROLES = frozenset({"street_staff", "admin"})  # who may change a street's catalogue

# The committee's own decision has no notice kind among the assembly notices: its result is
# published with this one (template docs_templates/committee_decision_result.html).
COMMITTEE_RESULT = NoticeKind(
    "committee_decision_result", "关于业主委员会决定事项的公告",
    "业委会决定公告 / the owners' committee's decision on a matter it may decide",
    {"compound_name": "小区名称 / compound name", "matter": "事项", "meeting_date": "会议日期",
     "decision_text": "决定内容", "members_total": "委员总数", "members_present": "出席委员人数",
     "members_agree": "同意委员人数", "passed": "是否通过(bool)", "rule": "表决规则"},
    {"review_note": "先议情况说明"})


# --- the catalogue as a versioned setting ------------------------------------------------------

def effective_catalogue(session: Session, org: OrgUnit | None) -> SettingValue:
    """The catalogue that applies to `org` now (the street's, else the built-in default)."""
    return get_setting(session, pr.SETTING_KEY, org, pr.default_setting())


def pinned_catalogue(session: Session, pin: dict | None) -> dict[str, Any]:
    """The catalogue version a case started on (version 0 = the built-in default)."""
    if pin and pin.get("setting_id"):
        return get_setting_version(session, int(pin["setting_id"])).value
    return pr.default_setting()


def save_catalogue(session: Session, street: OrgUnit | None, value: Any, actor: Actor, now: datetime) -> SettingValue:
    """Store a new version of `street`'s catalogue (audited by `put_setting`); refuse bad data or
    a user who is not the street's staff or an administrator."""
    if street is None:
        raise ValidationFailed("the prior-review catalogue is set per street", "先议事项目录按街道设置，请选择一个街道")
    if street.kind != "street":
        raise ValidationFailed(f"{street.code} is not a street", f"{street.code} 不是街道，先议事项目录按街道设置")
    if not actor.is_system and (actor.role not in EDITOR_ROLES or not actor.covers(street.path)):
        raise Forbidden(f"{actor.username} may not change the prior-review catalogue of {street.code}",
                        f"无权修改「{street.name}」的先议事项目录")
    check_setting(pr.SETTING_KEY, value)
    # Switching matters off or removing them is a deviation from the list: the audit event names it.
    previous = get_setting(session, pr.SETTING_KEY, street, None)
    deviations = pr.catalogue_deviations(previous.value if previous.org_code == street.code else None, value)
    return put_setting(session, pr.SETTING_KEY, street, value, actor.username, now,
                       note={"deviations": deviations} if deviations else None)


# --- helpers -----------------------------------------------------------------------------------


def _audit(ctx: ServiceContext, action: str, detail: dict[str, Any]) -> None:
    audit.append(ctx.session, chain=audit.case_chain(ctx.case.case_number), case_id=ctx.case.id,
                 actor=ctx.actor, action=action, detail=detail, now=ctx.now)


def case_events(session: Session, case_number: str) -> list[tuple[str, dict]]:
    """(action, detail) of a case's prior-review events, in chain order."""
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.detail)
        .where(AuditEvent.chain == audit.case_chain(case_number), AuditEvent.action.like("prior_review:%"))
        .order_by(AuditEvent.seq)).all()
    return [(a, json.loads(d) if d else {}) for a, d in rows]


def _iso_now(ctx: ServiceContext) -> str:
    return ctx.now.isoformat()


def _attachment_bytes(ctx: ServiceContext, ref: Any, what_zh: str, what: str) -> tuple[bytes, str]:
    if not isinstance(ref, dict):
        raise ValidationFailed(f"{what} is missing", f"缺少{what_zh}",
                               details=[{"field": what, "message": f"{what} is missing", "message_zh": f"缺少{what_zh}"}])
    att = load_attachment(ctx.session, ref)
    return att.content, att.filename


# --- enforcement ---------------------------------------------------------------------------------

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


# --- submission and classification ------------------------------------------------------------

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


# --- the party branch's review ----------------------------------------------------------------

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


# --- decisions -------------------------------------------------------------------------------

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


# --- execution and its publicity --------------------------------------------------------------

@service("prior_review.execution_publicity", context=True)
def execution_publicity(ctx: ServiceContext) -> dict:
    """What was done after the decision, published for `publicity_days` days (e.g. fund spending)."""
    check_review(ctx.session, ctx.case)
    data = ctx.data
    entries, total = [], Decimal(0)
    for i, e in enumerate(data.get("execution_entries") or [], start=1):
        try:
            amount = Decimal(str(e.get("amount", 0)))
        except InvalidOperation:
            raise ValidationFailed(f"entry {i}: amount is not a number", f"第{i}项金额不是数字") from None
        total += amount
        entries.append({"date": e.get("date"), "item": e.get("item"), "amount": format(amount, "f"),
                        "note": e.get("note") or ""})
    days = int(data.get("publicity_days") or 7)
    end = period_end(ctx.now, days=days, kind="publicity")
    start = civil_date(ctx.now) + timedelta(days=1)
    c = data.get("classification") or {}
    decision = data.get("result_notice") or {}
    _audit(ctx, "prior_review:execution_published", {"total_amount": format(total, "f"), "entries": len(entries),
                                                    "publicity_end": end.last_day.isoformat()})
    ctx.summary(stage="publicity", executed_at=_iso_now(ctx), execution_total=format(total, "f"),
             publicity_end=end.last_day.isoformat())
    compound = ctx.compound()
    notice = {"compound_name": compound.name, "issuer": f"{compound.name}业主委员会",
              "matter": c.get("matter_name") or data.get("title"), "entries": entries,
              "total_amount": format(total, "f"), "publicity_start": start.isoformat(),
              "publicity_end": end.last_day.isoformat(),
              "decision_ref": (f"《{decision['title']}》（{decision['doc_number']}）"
                               if decision.get("doc_number") and decision.get("title") else None),
              "body": ([data.get("execution_summary")] if data.get("execution_summary") else [])
              + ([end.note] if end.note else []) or None}
    return {**end.fields("publicity_end_at"), "publicity_end": end.last_day.isoformat(), "notice": notice}


@service("prior_review.close", context=True)
def close(ctx: ServiceContext) -> dict:
    """The end of the case: publicity over, or a decision that did not pass."""
    summary = ctx.data.get("case_summary") or {}
    ctx.summary(stage="closed", closed_at=_iso_now(ctx))
    return {"outcome": summary.get("outcome")}


@choice_list("matters")
def matter_choices(session: Session, case, role: str, task_data: dict) -> list[tuple[str, str]]:
    """The matters of the catalogue the case is pinned to (the ones the street switched off are
    marked: classification treats them as not needing a review), then "not on the catalogue"."""
    catalogue = pinned_catalogue(session, task_data.get("catalogue_pin"))
    listed = [(m["code"], f"{m.get('no', '')}. {m['name']}" + ("" if m.get("enabled", True) else "（本街道未列为先议事项）"))
              for m in catalogue["matters"]]
    return listed + [(pr.UNLISTED, "不属于先议事项目录（非先议事项）")]


@panel("matter")
@panel("case:prior_review")
def matter_panel(session: Session, case, task_data: dict) -> list[dict]:
    """The matter under review: what it is, its Art. 278 item and threshold, and its documents."""
    c = task_data.get("classification") or {}
    amount = task_data.get("amount")
    facts = [("事项标题", task_data.get("title")), ("事项", c.get("matter_name")),
             ("民法典第二百七十八条", f"第{c['art278_item']}项：{c.get('art278_zh', '')}" if c.get("art278_item") else None),
             ("表决通过标准", c.get("threshold_zh")),
             ("决定方式", ("业主大会表决" if c.get("assembly_vote") else "业主委员会决定") if c else None),
             ("是否须党组织先议", ("是" if c.get("listed") else "否") if c else None),
             ("提交方", f"{pr.SUBMITTER_KINDS.get(task_data.get('submitter_kind') or '', '')} {task_data.get('submitter_name') or ''}".strip()),
             ("涉及金额", f"{amount} 元" if amount not in (None, "") else None)]
    sections = [section("待议事项", facts=facts, notes=[c["reason_zh"]] if c.get("reason_zh") else [])]
    if task_data.get("description"):
        sections.append(section("事项说明", notes=[task_data["description"]]))
    if task_data.get("revision_note"):
        sections.append(section("修改说明", notes=[task_data["revision_note"]]))
    if task_data.get("review_opinion"):
        sections.append(section("小区党支部先议意见", notes=list(task_data["review_opinion"])
                                + ([f"修改要求：{task_data['required_changes']}"] if task_data.get("required_changes") else [])))
    docs = task_data.get("attachments") or []
    sections.append(section("事项附件", files=docs, notes=[] if docs else ["提交方未上传附件。"]))
    return sections


# --- invariants: checked on every save of a prior-review case, whatever route made the change ---


# --- the process's one declaration ----------------------------------------------------------

INVARIANTS = (
    Invariant("review_before_decision", "列入先议的事项，须经小区党支部先议同意后方可由业委会或业主大会作出决定",
              pr.decisions_follow_review, needs_events=True),
    Invariant("items_3_to_8_listed", "民法典第二百七十八条第3–8项事项一律列入先议，不得归为非先议事项",
              pr.items_3_to_8_listed, needs_events=True),
    Invariant("unlisted_confirmed_by_branch", "申报为非先议事项的，须经小区党支部确认方可免予先议",
              pr.unlisted_only_by_the_branch, needs_events=True),
    Invariant("owners_vote_recorded", "须经业主共同决定的事项，其决定必须有业主大会表决的计票结果",
              pr.owners_vote_recorded, needs_events=True),
)


SUMMARY_LABELS = {
    "catalogue_version": "先议事项目录版本", "catalogue_org": "目录所属组织",
    "matter_code": "事项编码", "matter_name": "事项名称", "listed": "列入先议清单", "proposed_unlisted": "提交方申报为非先议事项",
    "threshold": "表决通过标准", "assembly_vote": "须业主大会表决", "art278_item": "民法典第二百七十八条事项",
    "submitted_at": "提交时间", "review_started_at": "先议开始时间", "review_due": "先议期限",
    "review_done_at": "先议完成时间", "review_outcome": "先议结论", "reviews": "历次先议",
    "escalations": "升级情况", "escalated_this_round": "本轮已升级督办",
    "decision": "决定方式", "decision_passed": "决定通过", "decided_at": "决定时间",
    "decided_after_review": "先议后决定", "vote_start": "表决开始", "vote_end": "表决截止",
    "executed_at": "执行公示时间", "execution_total": "执行金额合计", "publicity_end": "公示截止", "closed_at": "结案时间",
}

ACTION_LABELS = {
    "prior_review:catalogue_pinned": "锁定先议事项目录版本",
    "prior_review:classified": "事项分类（是否须党组织先议）",
    "prior_review:unlisted_proposed": "提交方申报为非先议事项（待党支部确认）",
    "prior_review:review_not_required": "非先议事项，无需党组织先议",
    "prior_review:review_recorded": "记录党组织先议意见",
    "prior_review:review_overdue": "先议超期，升级督办",
    "prior_review:review_supervised": "督办先议",
    "prior_review:withdrawn": "撤回议题",
    "prior_review:decision_recorded": "记录决定结果",
    "prior_review:vote_scheduled": "安排业主大会表决",
    "prior_review:execution_published": "公示执行情况",
}

DESCRIPTOR = ProcessDescriptor(
    key="prior_review",
    title="先议事项",
    case_prefix="XY",
    starters=frozenset({"street_staff", "community_staff", "party_branch_secretary"}),
    data_labels=SUMMARY_LABELS,
    action_labels=ACTION_LABELS,
    settings=(SettingSpec(pr.SETTING_KEY, "先议事项目录", pr.default_setting, pr.validate_setting,
                          save=save_catalogue, per_street=True), VOTE_SECOND_FACTOR),
    notice_kinds=(COMMITTEE_RESULT,),
    report=Report("prior_review", "先议事项合规", prior_review_report, period=True),
    demo=(DemoCase("PK-JP-XC-01", "community", (
        DemoStep("submit", "community", {
            "title": "关于续聘物业服务企业的议案", "matter_code": "property_company",
            "submitter_kind": "owners_committee", "submitter_name": "明发滨江新城小区业主委员会",
            "description": "现物业服务合同将于2027年1月到期，拟续聘三年。"}),
    )),),
    invariants=INVARIANTS,
)
