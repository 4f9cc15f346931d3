"""The meeting plan (会议方案): its checks, its notice and postponement (会议延期)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from engine.domain.periods import period_end
from engine.runtime.services import ServiceContext, service

from ._shared import _set, _today


def _meeting_problems(ctx: ServiceContext, meeting: dict, publicity_days: int) -> list[dict]:
    """The meeting date against both periods that must run before it: the plan's 15 days and the
    candidate-list publicity (which cannot start before today, so it ends at the earliest after
    `publicity_days` from today). Whichever of the two is entered last, both are checked here."""
    try:
        day = date.fromisoformat(str(meeting.get("meeting_date", ""))[:10])
    except ValueError:
        return [{"field": "meeting.meeting_date", "message": "meeting_date must be a date",
                 "message_zh": "会议日期格式不正确"}]
    problems = []
    earliest = _today(ctx) + timedelta(days=15)
    if day < earliest:
        problems.append({"field": "meeting.meeting_date",
                         "message": f"the plan must be posted at least 15 days before the meeting: meeting on {earliest} or later",
                         "message_zh": f"会议方案须在会议召开15日前公告：会议日期不得早于 {earliest.isoformat()}"})
    publicity_end = period_end(ctx.now, days=int(publicity_days), kind="publicity").last_day
    if day <= publicity_end:
        problems.append({"field": "meeting.meeting_date",
                         "message": f"the {publicity_days}-day candidate-list publicity cannot end before a meeting on {day}",
                         "message_zh": f"候选人名单须公示 {publicity_days} 日且在会议召开前届满：即使今日开始公示也要到 "
                                       f"{publicity_end.isoformat()} 才届满，会议日期须晚于该日"})
    return problems


def _postponement_problems(ctx: ServiceContext, task_data: dict, new_date: Any, field: str) -> list[dict]:
    """A new candidate list (re-nomination, or an upheld objection) is publicised from today at
    the earliest: if that cannot end before the meeting, the meeting must be postponed to a day
    after it (and at least 15 days away, for its new notice)."""
    meeting_day = str(task_data["meeting"]["meeting_date"])[:10]
    days = int(task_data["election"]["publicity_days"])
    end = period_end(ctx.now, days=days, kind="publicity").last_day
    if not new_date:
        if end.isoformat() < meeting_day:
            return []
        return [{"field": field, "message": f"a new {days}-day publicity cannot end before the meeting on {meeting_day}",
                 "message_zh": f"重新公示候选人名单须 {days} 日，最早 {end.isoformat()} 届满，不早于会议日期 {meeting_day}："
                               "请填写会议延期日期"}]
    plan = {"meeting_date": new_date}
    problems = _meeting_problems(ctx, plan, days)
    return [{**p, "field": field} for p in problems]


def _postpone(ctx: ServiceContext, new_date: Any, why: str) -> None:
    """Move the meeting (checked by the completion's guard); the earlier date stays on record."""
    if not new_date:
        return
    data = ctx.data
    meeting = dict(data["meeting"])
    log = list(data.get("meeting_postponements") or [])
    log.append({"from": meeting["meeting_date"], "to": str(new_date)[:10], "on": _today(ctx).isoformat(), "why": why})
    meeting["meeting_date"] = str(new_date)[:10]
    _set(ctx, meeting=meeting, meeting_postponements=log)
    ctx.summary(meeting_date=meeting["meeting_date"], meeting_postponed=len(log))


def publicity_problem(meeting_date: str, publicity_end: str) -> str | None:
    """The candidate list's publicity must end before the meeting day (Chinese reason, or None)."""
    if meeting_date and publicity_end and str(publicity_end)[:10] >= str(meeting_date)[:10]:
        return (f"候选人名单公示期至 {str(publicity_end)[:10]} 届满，不早于会议日期 {str(meeting_date)[:10]}："
                "公示须在会议召开前结束")
    return None


@service("committee_check_meeting_plan", context=True)
def committee_check_meeting_plan(ctx: ServiceContext, task_data: dict, form_data: dict) -> None:
    ServiceContext.refuse(_meeting_problems(ctx, form_data.get("meeting") or {}, task_data["election"]["publicity_days"]))


@service("committee_meeting_notice", context=True)
def committee_meeting_notice(ctx: ServiceContext) -> dict:
    data = ctx.data
    m, election = data["meeting"], data["election"]
    ServiceContext.refuse(_meeting_problems(ctx, m, election["publicity_days"]))
    rules_text = list(m.get("voting_rules") or []) or [
        "专有部分面积占比三分之二以上的业主且人数占比三分之二以上的业主参与表决",
        "选举业主委员会委员，须经参与表决专有部分面积过半数的业主且参与表决人数过半数的业主同意",
        "按同意人数由多到少确定当选，同意人数相同的按同意面积确定；末位票数相同的，该席位空缺另行选举",
    ]
    agenda = list(m.get("agenda") or []) or [f"选举第{m.get('term_no') or '一'}届业主委员会委员（应选 {election['seats']} 名）"]
    ctx.summary(meeting_date=m["meeting_date"])
    return {"compound_name": data.get("compound_name", ""), "meeting_name": m["meeting_name"],
            "meeting_date": m["meeting_date"], "meeting_time": m["meeting_time"], "place": m["place"],
            "form": m["form"], "agenda": agenda, "voting_rules": rules_text}


