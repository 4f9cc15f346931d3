"""Agreement (调解协议), signatures and follow-up; referral to litigation or arbitration."""
from __future__ import annotations

from datetime import timedelta

from engine.domain import mediation as rules
from engine.domain.periods import civil_date, period_end
from engine.runtime.services import ServiceContext, service

from ._shared import _as_date, _iso, _matter, _names, committee_name, court_name


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


