"""Invariants: what every save of a committee election must leave true."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.db.models import OrgUnit
from engine.domain import committee as rules
from engine.domain import negative_list
from engine.runtime.choices import choice_list
from engine.settings_store import get_setting

from .meeting import publicity_problem

# Pure functions of the case data (see engine.runtime.invariants); None means the rule holds.

def _by_owner(data: Mapping[str, Any]) -> bool:
    """Cases opened before candidates were identified by owner keep no `candidate_owners`; the
    rules that need it apply from their opening on, so that cases in flight are not stopped."""
    return "candidate_owners" in data


def _owner_of(data: Mapping[str, Any], cid: str) -> str:
    return str((data.get("candidate_owners") or {}).get(cid, ""))


def _barred_on_list(data: Mapping[str, Any], events) -> str | None:
    approved = data.get("approved_candidates") or []
    barred = rules.barred_owners(data.get("excluded_candidates") or [], approved)
    if not barred:
        return None
    for c in approved:
        if c.get("owner_id") in barred:
            return f"候选人名单中的「{c.get('name')}」（{c.get('owner_id')}）已被负面清单排除"
    for c in data.get("review_sheet") or []:
        if c.get("owner_id") in barred and not (c.get("earlier_screenings") and c.get("reconsideration")):
            return f"联审名单中的「{c.get('name')}」（{c.get('owner_id')}）已被负面清单排除，且无新情况说明"
    for cid in (data.get("voting") or {}).get("items") or []:
        if _owner_of(data, cid) in barred:
            return f"选票上的候选人 {cid}（业主 {_owner_of(data, cid)}）已被负面清单排除"
    return None


def _approved_are_screened(data: Mapping[str, Any], events) -> str | None:
    for c in data.get("approved_candidates") or []:
        cid, review = c.get("candidate_id"), c.get("review") or {}
        if not (c.get("screening") or {}).get("eligible"):
            return f"候选人 {cid} 未经负面清单筛查合格"
        if not ((review.get("community") or {}).get("approve") and (review.get("street") or {}).get("approve")):
            return f"候选人 {cid} 未经社区党组织和街道党工委联审同意"
        if _by_owner(data) and (not c.get("roll_units") or _owner_of(data, cid) != c.get("owner_id")):
            return f"候选人 {cid} 不是按业主名册认定的业主"
        if c.get("reconsidered") and not all((review.get(k) or {}).get("reason", "").strip()
                                             for k in ("community", "street")):
            return f"候选人 {cid} 曾被负面清单排除，复核同意未写明依据"
    return None


def _one_candidacy_per_owner(data: Mapping[str, Any], events) -> str | None:
    approved = data.get("approved_candidates") or []
    for key, what in (("owner_id", "业主"), ("candidate_id", "候选人编号")):
        values = [c.get(key) for c in approved]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            return f"同一{what}在候选人名单中出现多次：{'、'.join(map(str, dupes))}"
    return None


def _summary_matches_list(data: Mapping[str, Any], events) -> str | None:
    if "approved_candidates" not in data or not _by_owner(data):
        return None
    expected = rules.list_summary(data["approved_candidates"], data.get("excluded_candidates") or [],
                                  data.get("objection_log") or [])
    summary = data.get("case_summary") or {}
    for key in ("approved_candidates", "party_member_share", "excluded_by_negative_list"):
        if summary.get(key) != expected[key]:
            return f"案件摘要的「{key}」为 {summary.get(key)}，按候选人名单应为 {expected[key]}"
    return None


def _ballot_lists_approved_only(data: Mapping[str, Any], events) -> str | None:
    voting = data.get("voting") or {}
    if not voting:
        return None
    names = {c["candidate_id"]: c.get("name") for c in data.get("approved_candidates") or []}
    for cid in voting.get("items") or []:
        if cid not in names:
            return f"选票上的 {cid} 不是审查通过的候选人"
        if (voting.get("labels") or {}).get(cid) != names[cid]:
            return f"选票上 {cid} 的姓名与审查通过名单不一致"
    return None


def _count_only_ballot_candidates(data: Mapping[str, Any], events) -> str | None:
    count, voting = data.get("count") or {}, data.get("voting") or {}
    if not count or not voting:
        return None
    items = set(voting.get("items") or [])
    counted = {i["item"] for i in (count.get("tally") or {}).get("items") or []}
    if counted != items:
        return f"计票事项 {sorted(counted)} 与本轮选票 {sorted(items)} 不一致"
    stray = [e["candidate_id"] for e in count.get("elected") or [] if e["candidate_id"] not in items]
    if stray:
        return f"当选人 {'、'.join(stray)} 不在本轮选票上"
    return None


def _publicity_before_meeting(data: Mapping[str, Any], events) -> str | None:
    publicity, meeting = data.get("candidate_publicity") or {}, data.get("meeting") or {}
    return publicity_problem(meeting.get("meeting_date", ""), publicity.get("publicity_end", ""))


@choice_list("negative_list_grounds")
def negative_list_grounds(session, case, role: str, task_data: dict) -> list[tuple[str, str]]:
    """The negative-list grounds the compound's setting switches on (the nomination asks only these)."""
    compound = session.get(OrgUnit, case.compound_id)
    setting = get_setting(session, negative_list.SETTING_KEY, compound, negative_list.default_setting())
    enabled = negative_list.enabled_grounds(setting.value)
    return [(g.id, g.text) for g in negative_list.GROUNDS if g.id in enabled]


