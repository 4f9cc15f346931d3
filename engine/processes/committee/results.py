"""Results (选举结果公告), first meeting, filing (备案) and renewal (换届)."""
from __future__ import annotations

from datetime import date, timedelta

from engine.domain import committee as rules
from engine.domain.periods import period_end
from engine.runtime.choices import choice_list
from engine.runtime.services import ServiceContext, service

from ._shared import _today


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


