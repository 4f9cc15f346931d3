"""Tiered mediation (分级调解) as plain rules over plain data: no database, no SpiffWorkflow.

Levels follow the Dongsheng plan (../shared/sources/003_*): level 1 community (社区) takes ordinary
disputes, level 2 street (街道) what the community cannot settle, level 3 the district housing
service centre (区住房综合服务中心) complex, major or difficult ones — "小事不出社区、大事不出街道、
矛盾不上交", mediation rate 100 %, success rate ≥ 95 %.

Time limits (DESIGN.md §4.4): people's mediation is generally finished within a month and may be
extended by the parties' agreement, by at most 30 days in all. Per-level limits default to
15 / 15 / 30 days and are street-editable data (setting `mediation_deadlines`), each at most one
month: a setting above 30 days is refused, and a level's deadline never runs past the day one
month after it opened (February is shorter than 30 days). An extension is granted at most once
per level, and all extensions of one case together never exceed `max_extension_days` (itself
capped at the statutory 30).

Statistics are computed here from plain records (one per case: its status, when it was received
and its `case_summary`), so the numbers can be checked by hand; `engine.reports.mediation` only
fetches the records.
"""
from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .periods import Deadline, period_end

LEVELS: tuple[str, ...] = ("community", "street", "district")
LEVEL_ZH = {"community": "社区（一级）调解", "street": "街道（二级）调解", "district": "区级（三级）调解"}
LEVEL_SHORT_ZH = {"community": "社区", "street": "街道", "district": "区住房综合服务中心"}

CATEGORIES = {
    "fees": "物业服务费",
    "repairs": "房屋及设施维修",
    "parking": "停车管理",
    "noise": "噪声扰民",
    "common_income": "公共收益",
    "maintenance_fund": "专项维修资金",
    "committee_vs_company": "业委会与物业服务企业纠纷",
    "other": "其他",
}
SOURCES = {"walk_in": "来访登记", "grid_member": "网格员上报", "hotline_12345": "12345热线"}
PARTY_KINDS = {"owner": "业主", "owners_committee": "业主委员会", "property_company": "物业服务企业"}
PARTY_SIDES = {"applicant": "申请人", "respondent": "被申请人"}
# How a level's work ended; a case's outcome is "settled", "referred" or "not_accepted".
LEVEL_RESULTS = {"settled": "调解成功", "failed": "调解不成", "expired": "超过期限"}
OUTCOMES = {"settled": "调解成功", "referred": "引导诉讼/仲裁", "not_accepted": "不予受理"}

# --- street-editable deadlines --------------------------------------------------------------

SETTING_KEY = "mediation_deadlines"
STATUTORY_MAX_EXTENSION_DAYS = 30
# "一个月" as a number of days: a street cannot set more; `level_deadline` also stops a level at
# the day one month after it opened, which is earlier than day 30 in February.
MAX_LEVEL_DAYS = 30
LEVEL_LIMIT_REASON_ZH = "人民调解一般在一个月内调结，每级调解期限不得超过一个月（30日）；确需延长的，经各方当事人同意延长一次，累计不超过30日"
EXTENSION_LIMIT_REASON_ZH = "经当事人同意延长调解期限的，累计不得超过30日"
_DEFAULTS = {"community": 15, "street": 15, "district": 30, "follow_up_days": 30,
             "max_extension_days": STATUTORY_MAX_EXTENSION_DAYS}
SETTING_FIELDS = {  # key -> (label, minimum, maximum)
    "community": ("社区（一级）调解期限（日）", 1, MAX_LEVEL_DAYS),
    "street": ("街道（二级）调解期限（日）", 1, MAX_LEVEL_DAYS),
    "district": ("区级（三级）调解期限（日）", 1, MAX_LEVEL_DAYS),
    "follow_up_days": ("达成协议后回访间隔（日）", 1, 180),
    "max_extension_days": ("经当事人同意可延长的总天数上限（日）", 0, STATUTORY_MAX_EXTENSION_DAYS),
}


def default_setting() -> dict[str, int]:
    """The built-in per-level limits (15 / 15 / 30 days), follow-up after 30 days, 30 extension days."""
    return dict(_DEFAULTS)


def validate_setting(value: Any) -> list[str]:
    """Problems with a `mediation_deadlines` value, one line each ("中文 (English)"); [] = valid.

    Keys may be left out (the default applies); unknown keys and non-integers are refused; a
    level's limit may not exceed one month and the extension cap the statutory 30 days — the
    refusal says why.
    """
    if not isinstance(value, Mapping):
        return ["调解期限设置必须是 JSON 对象 (the setting must be a JSON object)"]
    problems = []
    for key in sorted(set(value) - set(SETTING_FIELDS)):
        problems.append(f"未知的设置项「{key}」 (unknown key {key!r})")
    for key, (label, low, high) in SETTING_FIELDS.items():
        if key not in value:
            continue
        v = value[key]
        if isinstance(v, bool) or not isinstance(v, int):
            problems.append(f"「{label}」必须是整数 ({key} must be an integer)")
        elif not low <= v <= high:
            why = {**{level: LEVEL_LIMIT_REASON_ZH for level in LEVELS},
                   "max_extension_days": EXTENSION_LIMIT_REASON_ZH}.get(key) if v > high else None
            problems.append(f"「{label}」应在 {low}–{high} 之间" + (f"（{why}）" if why else "")
                            + f" ({key} must be between {low} and {high})")
    return problems


def effective_setting(value: Mapping | None) -> dict[str, int]:
    """Defaults overlaid with a (validated) stored value."""
    out = default_setting()
    out.update({k: v for k, v in (value or {}).items() if k in SETTING_FIELDS})
    return out


def level_days(setting: Mapping, level: str) -> int:
    check_level(level)
    return int(effective_setting(setting)[level])


def level_deadline(opened: datetime | date, days: int) -> Deadline:
    """When a level opened at `opened` with a limit of `days` ends: the Civil Code count of
    `days`, but never later than one month after it opened (Art. 202 counts the month)."""
    by_days = period_end(opened, days=days, kind="mediation")
    month = period_end(opened, months=1, kind="mediation")
    return month if month.last_day < by_days.last_day else by_days


def within_limit(opened: datetime | date, due_at: datetime, extension_days: int) -> bool:
    """Does a level's deadline `due_at` keep to its lawful limit: one month from `opened`, plus
    the days the parties agreed to extend it by (counted from the month's end)?"""
    month = period_end(opened, months=1, kind="mediation")
    limit = period_end(month.last_day, days=extension_days, kind="mediation") if extension_days else month
    return due_at <= limit.due_at


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise ValueError(f"unknown mediation level {level!r} (expected one of {', '.join(LEVELS)})")
    return level


def next_level(level: str) -> str | None:
    """The level a failed or expired mediation escalates to; None after the district."""
    i = LEVELS.index(check_level(level))
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def level_rank(level: str) -> int:
    return LEVELS.index(check_level(level)) + 1


# --- extensions -----------------------------------------------------------------------------


def _problem(field: str, message: str, message_zh: str) -> dict[str, str]:
    return {"field": field, "message": message, "message_zh": message_zh}


def check_extension(*, level: str, requested_days: Any, parties_agreed: Any,
                    extensions: Iterable[Mapping], max_days: int) -> list[dict[str, str]]:
    """Problems with an extension request ([] = it may be granted).

    `extensions` are those already granted in this case ({"level", "days"}). One extension per
    level, only with the parties' agreement, and all of them together at most `max_days`.
    """
    check_level(level)
    granted = list(extensions or [])
    problems = []
    if parties_agreed is not True:
        problems.append(_problem("parties_agreed", "an extension needs the agreement of all parties",
                                 "延长调解期限须经各方当事人同意"))
    if isinstance(requested_days, bool) or not isinstance(requested_days, int) or requested_days < 1:
        problems.append(_problem("extension_days", "the extension must be a whole number of days, at least 1",
                                 "延长天数必须是不小于 1 的整数"))
        return problems
    if any(e.get("level") == level for e in granted):
        problems.append(_problem("extension_days", f"the {level} level has already been extended once",
                                 f"{LEVEL_SHORT_ZH[level]}调解已延长过一次，不能再次延长"))
    used = sum(int(e.get("days", 0)) for e in granted)
    if used + requested_days > max_days:
        left = max(max_days - used, 0)
        problems.append(_problem(
            "extension_days",
            f"extensions may total at most {max_days} days: {used} already granted, {left} left, {requested_days} requested",
            f"延长期限累计不得超过 {max_days} 日：已延长 {used} 日，尚可延长 {left} 日，本次申请 {requested_days} 日"))
    return problems


# --- statistics -----------------------------------------------------------------------------

TARGETS = {"mediation_rate": 1.0, "success_rate": 0.95}


@dataclass(frozen=True)
class CaseRecord:
    """What statistics need of one case."""

    case_number: str
    status: str  # running | completed | …
    received_at: datetime
    summary: Mapping[str, Any]


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _dt(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def level_spans(summary: Mapping[str, Any]) -> dict[str, float]:
    """Days each finished level took (fractional), from `level_started_at` / `level_ended_at`."""
    started = summary.get("level_started_at") or {}
    ended = summary.get("level_ended_at") or {}
    out = {}
    for level in LEVELS:
        a, b = _dt(started.get(level)), _dt(ended.get(level))
        if a is not None and b is not None and b >= a:
            out[level] = (b - a).total_seconds() / 86400
    return out


def is_overdue(record: CaseRecord, now: datetime) -> bool:
    """A running case whose current level is open past its (extended) deadline."""
    s = record.summary
    level = s.get("current_level")
    if record.status != "running" or level not in LEVELS or s.get("outcome"):
        return False
    if (s.get("level_ended_at") or {}).get(level):
        return False
    due = _dt((s.get("level_due_at") or {}).get(level))
    return due is not None and due < now


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def compute_stats(records: Iterable[CaseRecord], now: datetime) -> dict[str, Any]:
    """Counts, rates and medians over `records`, each indicator beside its local target.

    Definitions (denominators in brackets):
    - received: every case taken in; accepted / not_accepted: the intake window's decision.
    - mediation rate (调处率) = accepted [cases whose acceptance has been decided] — target 100 %.
    - concluded: accepted cases that ended settled or referred.
    - success rate = settled [concluded] — target ≥ 95 %.
    - settled at level 1 = settled by the community [concluded] ("小事不出社区");
      at or below level 2 = settled by the community or street [concluded] ("大事不出街道");
      referred = referred to litigation/arbitration [concluded] ("矛盾不上交").
    - median days per level: over levels that ended (settled, failed, expired), start to end.
    - overdue now: running cases whose current level is past its deadline at `now`.
    """
    records = list(records)
    decided = [r for r in records if r.summary.get("accepted") in (True, False)]
    accepted = [r for r in decided if r.summary.get("accepted") is True]
    concluded = [r for r in accepted if r.summary.get("outcome") in ("settled", "referred")]
    settled = [r for r in concluded if r.summary.get("outcome") == "settled"]
    referred = [r for r in concluded if r.summary.get("outcome") == "referred"]
    by_level = {level: sum(1 for r in settled if r.summary.get("settled_level") == level) for level in LEVELS}
    spans: dict[str, list[float]] = {level: [] for level in LEVELS}
    for r in accepted:
        for level, days in level_spans(r.summary).items():
            spans[level].append(days)
    medians = {level: (round(statistics.median(v), 1) if v else None) for level, v in spans.items()}
    overdue = sorted(r.case_number for r in accepted if is_overdue(r, now))

    mediation_rate = _ratio(len(accepted), len(decided))
    success_rate = _ratio(len(settled), len(concluded))
    level1 = _ratio(by_level["community"], len(concluded))
    level2 = _ratio(by_level["community"] + by_level["street"], len(concluded))
    referred_share = _ratio(len(referred), len(concluded))

    def indicator(key, label, value, target_text, target=None):
        met = None if target is None or value is None else value >= target
        return {"key": key, "label": label, "value": value, "display": _pct(value), "target": target,
                "target_text": target_text, "met": met}

    return {
        "received": len(records),
        "decided": len(decided),
        "accepted": len(accepted),
        "not_accepted": len(decided) - len(accepted),
        "awaiting_acceptance": len(records) - len(decided),
        "in_progress": len(accepted) - len(concluded),
        "concluded": len(concluded),
        "settled": len(settled),
        "settled_by_level": by_level,
        "referred": len(referred),
        "mediation_rate": mediation_rate,
        "success_rate": success_rate,
        "settled_level1_share": level1,
        "settled_level2_or_below_share": level2,
        "referred_share": referred_share,
        "median_days_per_level": medians,
        "level_samples": {level: len(v) for level, v in spans.items()},
        "overdue_now": len(overdue),
        "overdue_cases": overdue,
        "indicators": [
            indicator("mediation_rate", "调处率", mediation_rate, "调处率 100%", TARGETS["mediation_rate"]),
            indicator("success_rate", "调解成功率", success_rate, "成功率 95% 以上", TARGETS["success_rate"]),
            indicator("settled_level1_share", "社区（一级）化解占比", level1, "小事不出社区"),
            indicator("settled_level2_or_below_share", "街道及以下化解占比", level2, "大事不出街道"),
            indicator("referred_share", "引导诉讼/仲裁占比", referred_share, "矛盾不上交"),
        ],
    }


# --- invariants: pure checks over a case's data ------------------------------------------------
# Each returns None when the rule holds, else a Chinese sentence saying what is broken.

def levels_in_order(data: Mapping[str, Any], events: Any = ()) -> str | None:
    """Levels only go community → street → district, one step at a time, never back down."""
    s = data.get("case_summary") or {}
    start = s.get("start_level")
    for e in s.get("escalations") or []:
        a, b = e.get("from"), e.get("to")
        if a not in LEVELS or b not in LEVELS or level_rank(b) != level_rank(a) + 1:
            return f"调解层级只能由社区到街道再到区级逐级上报，不能由{LEVEL_SHORT_ZH.get(a, a)}转到{LEVEL_SHORT_ZH.get(b, b)}"
    started = s.get("level_started_at") or {}
    if start in LEVELS and any(level_rank(lv) < level_rank(start) for lv in started if lv in LEVELS):
        return "调解层级不能低于受理时确定的层级"
    order = sorted((v, level_rank(lv)) for lv, v in started.items() if lv in LEVELS and isinstance(v, str))
    if [r for _, r in order] != sorted(r for _, r in order):
        return "调解层级只能逐级上升，不能回到较低层级"
    current = s.get("current_level")
    if current in LEVELS and started and current != max((lv for lv in started if lv in LEVELS), key=level_rank):
        return "当前调解层级必须是已开始的最高层级"
    return None


def deadlines_within_limit(data: Mapping[str, Any], events: Any = ()) -> str | None:
    """No level's deadline beyond one month from its start plus the extension agreed for it,
    and no more than the statutory 30 extension days in all."""
    s = data.get("case_summary") or {}
    extensions = s.get("extensions") or []
    if sum(int(e.get("days") or 0) for e in extensions) > STATUTORY_MAX_EXTENSION_DAYS:
        return f"延长调解期限累计不得超过{STATUTORY_MAX_EXTENSION_DAYS}日"
    started = s.get("level_started_at") or {}
    for level, due in (s.get("level_due_at") or {}).items():
        opened, due_at = _dt(started.get(level)), _dt(due)
        if opened is None or due_at is None:
            continue
        extra = sum(int(e.get("days") or 0) for e in extensions if e.get("level") == level)
        if not within_limit(opened, due_at, extra):
            return (f"{LEVEL_SHORT_ZH.get(level, level)}调解期限超过法定上限（一个月"
                    + (f"，另经当事人同意延长{extra}日" if extra else "") + "）")
    return None


def one_extension_per_level(data: Mapping[str, Any], events: Any = ()) -> str | None:
    s = data.get("case_summary") or {}
    for source in (s.get("extensions") or [], data.get("extensions") or []):
        levels = [e.get("level") for e in source]
        for level in set(levels):
            if levels.count(level) > 1:
                return f"{LEVEL_SHORT_ZH.get(level, level)}调解只能延长一次"
    return None


def closed_with_agreement_or_referral(data: Mapping[str, Any], events: Any = ()) -> str | None:
    """An accepted case that ended has a signed agreement (settled) or a referral after the
    district level failed or ran out (referred)."""
    s = data.get("case_summary") or {}
    if s.get("accepted") is not True or not (s.get("concluded_at") or s.get("outcome")):
        return None
    outcome = s.get("outcome")
    if outcome == "settled":
        level = s.get("settled_level")
        if not s.get("agreement_signed_on") or (s.get("level_results") or {}).get(level) != "settled":
            return "以调解成功结案的案件必须有签署生效的调解协议"
        return None
    if outcome == "referred":
        if not s.get("referred_at") or (s.get("level_results") or {}).get("district") not in ("failed", "expired"):
            return "引导诉讼或仲裁须在区级调解不成或期限届满之后"
        return None
    return "已受理的案件结案时必须有调解协议或引导诉讼/仲裁的记录"
