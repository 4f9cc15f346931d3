"""Service tasks and guards of `bpmn/tiered_mediation.bpmn`, and taking in a dispute from outside
(the 12345 hotline API, `hongwu mediation intake`).

The BPMN keeps no logic of its own: each service here reads the task data the forms filled in,
applies the rules of `engine.domain.mediation`, and writes back what the next steps and the
reports need. Besides its result variable a service may set further task-data variables (the
deadline a boundary timer reads, the context a notice is rendered with); `case_summary` — the
reportable facts the service layer copies into `process_case.summary` — is only changed here.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.db.models import OrgUnit
from engine.domain import mediation as rules
from engine.domain.periods import CIVIL_TZ, civil_date, period_end
from engine.reports.mediation import mediation_stats
from engine.runtime.choices import choice_list
from engine.runtime.forms import validate_form
from engine.runtime.invariants import Invariant
from engine.runtime.panels import panel, section
from engine.runtime.registry import DemoCase, DemoStep, ProcessDescriptor, Report, SettingSpec
from engine.runtime.services import ServiceContext, service
from engine.settings_store import get_setting

PROCESS_KEY = "tiered_mediation"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "mediation_case.schema.json"
INTAKE_FIELDS = ("parties", "category", "facts", "source", "claims", "reported_at")
# Per-session form fields: recorded into the level's log, then cleared so the next session starts blank.
SESSION_FIELDS = ("session_date", "session_place", "session_attendees", "session_summary", "outcome",
                  "extension_days", "extension_reason", "parties_agreed", "failure_reason")
AGREEMENT_FIELDS = ("agreement_facts", "disputed_matters", "responsibilities", "terms", "performance_manner",
                    "performance_deadline")


# --- helpers -------------------------------------------------------------------------------


def _iso(dt: datetime) -> str:
    return dt.isoformat()


def _org_chain(ctx: ServiceContext) -> dict[str, OrgUnit]:
    """The case compound's units by kind: compound, community, street, district."""
    codes = [c for c in ctx.case.org_path.split("/") if c]
    units = ctx.session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes))).all()
    return {u.kind: u for u in units}


def committee_name(ctx: ServiceContext, level: str) -> str:
    """The mediation organisation of a level, named after the case's own community/street/district."""
    chain = _org_chain(ctx)
    if level == "community":
        return f"{chain['community'].name}人民调解委员会" if "community" in chain else "社区人民调解委员会"
    if level == "street":
        return f"{chain['street'].name}人民调解委员会" if "street" in chain else "街道人民调解委员会"
    return f"{chain['district'].name}住房综合服务中心" if "district" in chain else "区住房综合服务中心"


def court_name(ctx: ServiceContext) -> str:
    """The basic people's court of the case's district (where the parties live)."""
    chain = _org_chain(ctx)
    return f"{chain['district'].name}人民法院" if "district" in chain else "有管辖权的基层人民法院"


def _names(parties: list[dict], side: str | None = None) -> str:
    picked = [p.get("name", "") for p in parties or [] if side is None or p.get("side") == side]
    return "、".join(n for n in picked if n)


def _matter(data: dict) -> str:
    return rules.CATEGORIES.get(data.get("category") or "", "物业")


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.astimezone(CIVIL_TZ).date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# --- intake and acceptance ---------------------------------------------------------------


@service("mediation_open_case", context=True)
def open_case(ctx: ServiceContext) -> dict:
    """A dispute arrived: note when, and whether its registration came with it (API / CLI)."""
    data = ctx.data
    data["intake_prefilled"] = data.get("intake_prefilled") is True
    summary = ctx.summary()
    summary["received_at"] = _iso(ctx.case.created_at if ctx.case is not None else ctx.now)
    if data.get("source"):
        summary["source"] = data["source"]
    return summary


@service("mediation_record_intake", context=True)
def record_intake(ctx: ServiceContext) -> dict:
    """The dispute as registered (window form or API): facts for reporting → `case_summary`."""
    data = ctx.data
    parties = data.get("parties") or []
    summary = ctx.summary()
    summary.update({
        "received_at": _iso(ctx.case.created_at if ctx.case is not None else ctx.now),
        "category": data.get("category"),
        "source": data.get("source"),
        "parties": len(parties),
        "party_kinds": sorted({p.get("kind") for p in parties if p.get("kind")}),
    })
    if data.get("external_ref"):
        summary["external_ref"] = data["external_ref"]
    return summary


@service("mediation_record_acceptance", context=True)
def record_acceptance(ctx: ServiceContext) -> dict:
    """The window's decision: accept (at which level, why a higher one) or not. Pins the
    street's deadline setting for the whole case, so a later change does not move its dates."""
    data = ctx.data
    summary = ctx.summary()
    accepted = data.get("accepted") is True
    summary["accepted"] = accepted
    summary["decided_at"] = _iso(ctx.now)
    if not accepted:
        summary["outcome"] = "not_accepted"
        summary["not_accepted_reason"] = data.get("not_accepted_reason")
        return summary
    level = rules.check_level(data.get("start_level") or "community")
    if level != "community" and not (data.get("start_level_reason") or "").strip():
        ServiceContext.refuse([ServiceContext.problem("start_level_reason", "starting above the community needs a recorded reason",
                          "直接由街道或区级受理的复杂、重大纠纷须说明理由")])
    compound = ctx.session.get(OrgUnit, ctx.case.compound_id)
    setting = get_setting(ctx.session, rules.SETTING_KEY, compound, rules.default_setting())
    value = setting.value if not rules.validate_setting(setting.value) else rules.default_setting()
    data["mediation_rules"] = {"value": rules.effective_setting(value), "version": setting.version,
                               "org_code": setting.org_code}
    data["extensions"] = []
    data["levels"] = {}
    summary.update({"start_level": level, "start_level_reason": data.get("start_level_reason") or None,
                    "accepted_at": _iso(ctx.now), "level_started_at": {}, "level_ended_at": {},
                    "level_due_at": {}, "level_results": {}, "extensions": [], "escalations": []})
    return summary


# --- one level ----------------------------------------------------------------------------


@service("mediation_open_level", context=True)
def open_level(ctx: ServiceContext, level: str) -> dict:
    """Start (or re-enter) a level: its deadline, counted by the Civil Code from today and never
    past one month, and the escalation from the level below when that one failed or ran out of time."""
    level = rules.check_level(level)
    data = ctx.data
    summary = ctx.summary()
    setting = (data.get("mediation_rules") or {}).get("value") or rules.default_setting()
    days = rules.level_days(setting, level)
    d = rules.level_deadline(ctx.now, days)
    previous = summary.get("current_level")
    if previous and previous != level:
        summary.setdefault("escalations", []).append({
            "from": previous, "to": level, "reason": summary.get("level_results", {}).get(previous), "at": _iso(ctx.now)})
    summary["current_level"] = level
    summary.setdefault("level_started_at", {})[level] = _iso(ctx.now)
    summary.setdefault("level_due_at", {})[level] = d.iso()
    data["case_summary"] = summary
    data["level"] = level
    data["level_name"] = rules.LEVEL_ZH[level]
    data["committee_name"] = committee_name(ctx, level)
    data.setdefault("levels", {})[level] = {"started_at": _iso(ctx.now), "days": days, "due": d.iso(),
                                            "sessions": [], "mediator": None, "result": None}
    return {**d.as_data(), "days": days}


@service("mediation_record_assignment", context=True)
def record_assignment(ctx: ServiceContext, level: str) -> dict | None:
    """Keep the assigned mediator on the level's record; on the first level also prepare the
    acceptance notice (it names the mediator and the deadline). Returns that notice's context,
    or None when the parties have already been notified."""
    level = rules.check_level(level)
    data = ctx.data
    mediator = {"name": data.get("mediator_name"), "phone": data.get("mediator_phone"),
                "co_mediators": data.get("co_mediators") or [], "assigned_at": _iso(ctx.now)}
    data.setdefault("levels", {}).setdefault(level, {})["mediator"] = mediator
    if data.get("acceptance_notice"):
        return None
    parties = data.get("parties") or []
    return {
        "issuer": data.get("committee_name") or committee_name(ctx, level),
        "committee_name": data.get("committee_name") or committee_name(ctx, level),
        "recipient_name": _names(parties),
        "applicant": _names(parties, "applicant") or _names(parties[:1]),
        "respondent": _names(parties, "respondent") or _names(parties[1:]) or "相关方",
        "matter": _matter(data),
        "accepted_on": civil_date(ctx.now).isoformat(),
        "mediator": mediator["name"],
        "mediation_deadline": (data.get("level_deadline") or {}).get("last_day"),
        "place": data.get("mediation_place"),
        "compound_name": data.get("compound_name"),
        # The deadline may still move when its year's official holiday schedule is loaded: say so.
        **({"body": [data["level_deadline"]["note"]]} if (data.get("level_deadline") or {}).get("note") else {}),
    }


@service("mediation_session_guard", context=True)
def session_guard(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    """Refuses an extension beyond the rules (once per level, parties agree, ≤ 30 days in all)
    and a session dated in the future; nothing changes when refused."""
    problems = []
    when = form_data.get("session_date")
    if when and _as_date(when) > civil_date(ctx.now):
        problems.append(ServiceContext.problem("session_date", "the session date lies in the future", "调解日期不能晚于今天"))
    if form_data.get("outcome") == "extend":
        level = task_data.get("level") or ""
        cap = int(((task_data.get("mediation_rules") or {}).get("value") or rules.default_setting())
                  .get("max_extension_days", rules.STATUTORY_MAX_EXTENSION_DAYS))
        problems += rules.check_extension(level=level, requested_days=form_data.get("extension_days"),
                                          parties_agreed=form_data.get("parties_agreed"),
                                          extensions=task_data.get("extensions") or [], max_days=cap)
    ServiceContext.refuse(problems)


@service("mediation_record_session", context=True)
def record_session(ctx: ServiceContext, level: str) -> str:
    """Log a session and act on its outcome → "continue" | "extend" | "settled" | "failed"."""
    level = rules.check_level(level)
    data = ctx.data
    summary = ctx.summary()
    record = data.setdefault("levels", {}).setdefault(level, {"sessions": []})
    outcome = data.get("outcome") or "continue"
    session = {"date": data.get("session_date"), "place": data.get("session_place"),
               "attendees": data.get("session_attendees") or [], "summary": data.get("session_summary"),
               "outcome": outcome, "recorded_at": _iso(ctx.now), "recorded_by": ctx.actor}
    record.setdefault("sessions", []).append(session)
    if outcome == "extend":
        days = int(data["extension_days"])  # the form requires it with this outcome
        old_last = _as_date((data.get("level_deadline") or {}).get("last_day") or civil_date(ctx.now))
        d = period_end(old_last, days=days, kind="mediation")
        ext = {"level": level, "days": days, "reason": data.get("extension_reason"), "agreed_at": _iso(ctx.now),
               "old_due": (data.get("level_deadline") or {}).get("due"), "new_due": d.iso()}
        data.setdefault("extensions", []).append(ext)
        summary.setdefault("extensions", []).append({"level": level, "days": days})
        summary.setdefault("level_due_at", {})[level] = d.iso()
        data["level_deadline"] = {**d.as_data(), "days": days}
        record["due"] = d.iso()
    elif outcome in ("settled", "failed"):
        record["result"] = outcome
        record["ended_at"] = _iso(ctx.now)
        summary.setdefault("level_ended_at", {})[level] = _iso(ctx.now)
        summary.setdefault("level_results", {})[level] = outcome
        if outcome == "settled":
            summary["settled_level"] = level
            data["agreement_context"] = agreement_context(ctx, data, level)
            # The signing form starts with one row per party, to be ticked as each one signs.
            data["party_signatures"] = [{"name": p.get("name", ""), "signed": False, "method": "signature"}
                                        for p in data.get("parties") or []]
        else:
            record["failure_reason"] = data.get("failure_reason")
    data["case_summary"] = summary
    for name in SESSION_FIELDS:
        data.pop(name, None)
    return outcome


@service("mediation_level_expired", context=True)
def level_expired(ctx: ServiceContext, level: str) -> str:
    """The level's deadline passed without agreement: it ends as "expired" (and escalates)."""
    level = rules.check_level(level)
    data = ctx.data
    summary = ctx.summary()
    summary.setdefault("level_ended_at", {})[level] = _iso(ctx.now)
    summary.setdefault("level_results", {})[level] = "expired"
    data["case_summary"] = summary
    record = data.setdefault("levels", {}).setdefault(level, {})
    record.update({"result": "expired", "ended_at": _iso(ctx.now)})
    return "expired"


# --- agreement, signatures, follow-up ------------------------------------------------------


def agreement_context(ctx: ServiceContext, data: dict, level: str) -> dict:
    """The People's Mediation Law Art. 29 content of the agreement, from the parties and the
    settling session's form."""
    parties = data.get("parties") or []
    sides = {"applicant": "甲方", "respondent": "乙方"}
    labels = [sides.get(p.get("side"), "当事人") for p in parties]
    seen: dict[str, int] = {}
    rows = []
    for p, label in zip(parties, labels, strict=True):
        seen[label] = seen.get(label, 0) + 1
        role = label if labels.count(label) == 1 else f"{label}{seen[label]}"  # 甲方1、甲方2 …
        name = p.get("name", "")
        if p.get("representative"):  # an organisation: its responsible person / representative
            name = f"{name}（负责人：{p['representative']}）"
        rows.append({"role": role, "name": name, "gender": p.get("gender") or "",
                     "age": p.get("age") or "", "id_number": p.get("id_number") or "",
                     "address": p.get("address") or "", "phone": p.get("phone") or ""})
    name = data.get("committee_name") or committee_name(ctx, level)
    mediator = ((data.get("levels") or {}).get(level) or {}).get("mediator") or {}
    return {
        "issuer": name,
        "committee_name": name,
        "seal_text": name,
        "parties": rows,
        "facts": data.get("agreement_facts") or data.get("facts"),
        "disputed_matters": data.get("disputed_matters"),
        "responsibilities": data.get("responsibilities"),
        "terms": data.get("terms") or [],
        "performance_manner": data.get("performance_manner"),
        "performance_deadline": data.get("performance_deadline"),
        "mediator": mediator.get("name") or "",
        "agreement_no": f"{data.get('case_number', '')}-{rules.level_rank(level)}",
    }


@service("mediation_signatures_guard", context=True)
def signatures_guard(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    """Art. 29: the agreement takes effect only when every party has signed, sealed or
    fingerprinted it, and the mediator signed and the committee sealed it."""
    problems = []
    signed = {s.get("name") for s in form_data.get("party_signatures") or [] if s.get("signed") is True}
    missing = [p.get("name") for p in task_data.get("parties") or [] if p.get("name") not in signed]
    if missing:
        problems.append(ServiceContext.problem("party_signatures", f"not signed by: {', '.join(missing)}",
                                 f"以下当事人尚未签名、盖章或按指印：{'、'.join(missing)}"))
    if form_data.get("mediator_signed") is not True:
        problems.append(ServiceContext.problem("mediator_signed", "the mediator has not signed", "人民调解员尚未签名"))
    if form_data.get("committee_sealed") is not True:
        problems.append(ServiceContext.problem("committee_sealed", "the mediation committee's seal is missing",
                                 "尚未加盖人民调解委员会印章"))
    when = form_data.get("signed_on")
    if when and _as_date(when) > civil_date(ctx.now):
        problems.append(ServiceContext.problem("signed_on", "the signing date lies in the future", "签署日期不能晚于今天"))
    ServiceContext.refuse(problems)


@service("mediation_after_settlement", context=True)
def after_settlement(ctx: ServiceContext) -> dict:
    """Signed: the agreement is in force. Sets the judicial-confirmation window (Art. 33: 30
    days from taking effect), the reminder's context and when the follow-up visit falls due."""
    data = ctx.data
    summary = ctx.summary()
    level = summary.get("settled_level") or data.get("level")
    signed_on = _as_date(data.get("signed_on") or civil_date(ctx.now))
    apply_by = period_end(signed_on, days=30, kind="judicial_confirmation")
    setting = (data.get("mediation_rules") or {}).get("value") or rules.default_setting()
    follow = period_end(ctx.now, days=int(setting.get("follow_up_days", 30)), kind="follow_up")
    # The visit becomes due at the start of its last day (00:00 Beijing) and is late after 24:00.
    data["follow_up"] = {"at": (follow.due_at - timedelta(days=1)).isoformat(), "due": follow.iso(),
                         "last_day": follow.last_day.isoformat()}
    data.update(follow.fields("follow_up_due"))
    agreement = data.get("agreement_context") or {}
    data["judicial_reminder_context"] = {
        "issuer": agreement.get("committee_name") or committee_name(ctx, level or ""),
        "seal_text": agreement.get("committee_name") or committee_name(ctx, level or ""),
        "recipient_name": _names(data.get("parties") or []),
        "agreement_date": signed_on.isoformat(),
        "court": court_name(ctx),
        "apply_by": apply_by.last_day.isoformat(),
        "agreement_no": agreement.get("agreement_no"),
        **({"body": [apply_by.note]} if apply_by.note else {}),
    }
    summary.update({"outcome": "settled", "agreement_signed_on": signed_on.isoformat(),
                    "judicial_confirmation_apply_by": apply_by.last_day.isoformat(),
                    "follow_up_on": follow.last_day.isoformat(), "concluded_at": _iso(ctx.now)})
    return summary


@service("mediation_record_follow_up", context=True)
def record_follow_up(ctx: ServiceContext) -> dict:
    """Art. 31: the organisation checks performance of the agreement on a follow-up visit."""
    data = ctx.data
    summary = ctx.summary()
    summary["follow_up"] = {"visited_on": data.get("visited_on"), "performance": data.get("performance"),
                            "recorded_at": _iso(ctx.now)}
    return summary


@service("mediation_referral", context=True)
def referral(ctx: ServiceContext) -> dict:
    """The last level failed: the parties are referred to litigation or arbitration (Art. 26)."""
    data = ctx.data
    summary = ctx.summary()
    last = summary.get("current_level") or "district"
    result = (summary.get("level_results") or {}).get(last)
    reason = {"expired": "调解期限届满未能达成调解协议", "failed": "经调解未能达成调解协议"}.get(result or "", "调解不成")
    record = (data.get("levels") or {}).get(last) or {}
    if record.get("failure_reason"):
        reason = f"{reason}（{record['failure_reason']}）"
    data["referral_context"] = {
        "issuer": committee_name(ctx, last),
        "seal_text": committee_name(ctx, last),
        "recipient_name": _names(data.get("parties") or []),
        "matter": _matter(data),
        "reason": reason,
        "court": court_name(ctx),
        "ended_on": civil_date(ctx.now).isoformat(),
        "legal_aid": "12348 公共法律服务热线",
    }
    summary.update({"outcome": "referred", "referred_at": _iso(ctx.now), "concluded_at": _iso(ctx.now)})
    return summary


# --- intake from outside (API, CLI) ---------------------------------------------------------


@lru_cache(maxsize=1)
def published_schema() -> dict:
    """The intake schema published to integrations (`engine/schemas/mediation_case.schema.json`)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_intake(payload: Any) -> list[dict]:
    """Field errors (Chinese + English) of an intake payload against the published schema."""
    return validate_form(published_schema(), payload)


@choice_list("parties")
def party_choices(session, case, role: str, task_data: dict) -> list[tuple[str, str]]:
    """The parties registered at intake (who signs the agreement)."""
    side = {"applicant": "申请人", "respondent": "被申请人"}
    return [(p["name"], f"{p['name']}（{side.get(p.get('side'), '当事人')}）")
            for p in task_data.get("parties") or [] if p.get("name")]


_SESSION_OUTCOMES = {"continue": "继续调解", "extend": "经当事人同意延长期限", "settled": "达成调解协议",
                     "failed": "调解不成"}


@panel("dispute")
@panel("case:tiered_mediation")
def dispute_panel(session, case, task_data: dict) -> list[dict]:
    """The parties, their claims and what earlier levels did (for the mediator and the one assigning)."""
    parties = task_data.get("parties") or []
    side = {"applicant": "申请人", "respondent": "被申请人"}
    sections = [
        section("纠纷", facts=[("纠纷类别", rules.CATEGORIES.get(task_data.get("category") or "", task_data.get("category"))),
                             ("受理来源", rules.SOURCES.get(task_data.get("source") or "", task_data.get("source"))),
                             ("当事人诉求", task_data.get("claims"))],
                notes=[f"纠纷事实：{task_data['facts']}"] if task_data.get("facts") else []),
        section(f"当事人（{len(parties)} 方）", table={
            "headers": ["申请人/被申请人", "类别", "姓名或名称", "联系电话", "住所（房号）", "负责人/代表人"],
            "rows": [[side.get(p.get("side"), "—"), rules.PARTY_KINDS.get(p.get("kind"), "—"), p.get("name", ""),
                      p.get("phone", ""), p.get("address") or "—", p.get("representative") or "—"] for p in parties]}
                if parties else None, notes=[] if parties else ["尚未登记当事人（受理登记时填写）"]),
    ]
    for level in rules.LEVELS:
        record = (task_data.get("levels") or {}).get(level)
        if not record:
            continue
        mediator = record.get("mediator") or {}
        facts = [("调解员", mediator.get("name")), ("开始", (record.get("started_at") or "")[:10]),
                 ("结果", rules.LEVEL_RESULTS.get(record.get("result"), "进行中")),
                 ("调解不成的原因", record.get("failure_reason")) if record.get("failure_reason") else None]
        rows = [[s.get("date") or "—", "、".join(s.get("attendees") or []) or "—", s.get("summary") or "—",
                 _SESSION_OUTCOMES.get(s.get("outcome"), "—")] for s in record.get("sessions") or []]
        sections.append(section(f"{rules.LEVEL_ZH.get(level, level)}记录", facts=[f for f in facts if f],
                                table={"headers": ["日期", "参加人员", "调解情况", "结果"], "rows": rows} if rows else None))
    return sections


# --- invariants: checked on every save of a mediation case, whatever route made the change -----


# --- the process's one declaration ----------------------------------------------------------

INVARIANTS = (
    Invariant("levels_in_order", "调解层级只能由社区到街道再到区级逐级上升", rules.levels_in_order),
    Invariant("deadline_within_limit", "各级调解期限不超过一个月，经当事人同意延长的累计不超过30日",
              rules.deadlines_within_limit),
    Invariant("one_extension_per_level", "每级调解至多延长一次", rules.one_extension_per_level),
    Invariant("closed_with_agreement_or_referral", "已受理的案件结案时须有调解协议或引导诉讼/仲裁",
              rules.closed_with_agreement_or_referral),
)

SUMMARY_LABELS = {
    "received_at": "登记时间", "source": "来源", "category": "纠纷类别", "parties": "当事人数",
    "party_kinds": "当事人类型", "external_ref": "外部编号", "accepted": "予以受理", "not_accepted_reason": "不予受理理由",
    "start_level": "受理层级", "start_level_reason": "直接由上级受理的理由", "accepted_at": "受理时间",
    "current_level": "当前层级", "level_started_at": "各级开始时间", "level_due_at": "各级调解期限",
    "level_ended_at": "各级结束时间", "level_results": "各级调解结果", "extensions": "延长调解期限",
    "settled_level": "达成协议的层级", "agreement_signed_on": "协议签订日期",
    "judicial_confirmation_apply_by": "申请司法确认截止日", "follow_up_on": "回访日期（应于）",
    "follow_up": "回访情况", "referred_at": "引导诉讼/仲裁时间", "concluded_at": "结案时间",
}

DEMO_PARTIES = [
    {"kind": "owner", "side": "applicant", "name": "张建国", "phone": "13800000001",
     "address": "明发滨江新城3栋201室"},
    {"kind": "property_company", "side": "respondent", "name": "南京明发物业服务有限公司",
     "phone": "025-58000000", "address": "浦口区江浦街道滨江大道8号", "representative": "王经理"},
]

DESCRIPTOR = ProcessDescriptor(
    key=PROCESS_KEY,
    title="分级调解",
    case_prefix="TJ",
    starters=frozenset({"street_staff", "community_staff", "district_mediator"}),
    data_labels=SUMMARY_LABELS,
    settings=(SettingSpec(rules.SETTING_KEY, "分级调解期限", rules.default_setting, rules.validate_setting,
                          labels={k: spec[0] for k, spec in rules.SETTING_FIELDS.items()}),),
    report=Report("mediation", "矛盾分级化解", mediation_stats, period=True),
    demo=(DemoCase("PK-JP-XC-01", "community", (
        DemoStep("register", "community", {
            "source": "walk_in", "category": "fees", "parties": DEMO_PARTIES,
            "facts": "业主认为物业服务费上调未经业主大会决定，拒绝按新标准缴费；物业公司停止门禁卡授权。",
            "claims": "按原标准收费并恢复门禁"}),
        DemoStep("review", "community",
                 {"accepted": True, "start_level": "community", "mediation_place": "新城社区调解室"}),
    )),),
    invariants=INVARIANTS,
)
