"""One level of mediation (社区、街道、区级): sessions, extension, escalation to the next level."""
from __future__ import annotations

from engine.domain import mediation as rules
from engine.domain.periods import civil_date, period_end
from engine.runtime.services import ServiceContext, service

from ._shared import SESSION_FIELDS, _as_date, _iso, _matter, _names, committee_name
from .agreement import agreement_context


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


