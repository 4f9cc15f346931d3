"""Composition rules for owners' committees and their preparatory groups (DESIGN.md §4.2,
《业主大会和业主委员会指导规则》2009 and local practice).

- A committee has 5–11 members, an odd number, and a term of at most 5 years.
- The preparatory (or renewal) group is led by the street office's representative; owners'
  representatives are at least half of it; its size is odd.
- New committees should be more than half party members: reviewers see the party-member share
  of the approved candidates and a warning when it is not more than half (a warning, not a bar —
  the owners elect).

Each check returns a list of problems `{field, message, message_zh}` ([] = fine), so a form can
show all of them at once.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

MIN_SEATS, MAX_SEATS = 5, 11
MAX_TERM_YEARS = 5
MEMBER_KINDS = {"owner": "业主代表", "street": "街道办事处代表", "developer": "建设单位代表",
                "residents_committee": "社区居委会代表", "other": "其他"}


def _p(field: str, message: str, message_zh: str) -> dict[str, str]:
    return {"field": field, "message": message, "message_zh": message_zh}


def check_seats_and_term(seats: Any, term_years: Any) -> list[dict[str, str]]:
    problems = []
    if not isinstance(seats, int) or isinstance(seats, bool) or not (MIN_SEATS <= seats <= MAX_SEATS) or seats % 2 == 0:
        problems.append(_p("seats", f"seats must be an odd number from {MIN_SEATS} to {MAX_SEATS}, got {seats!r}",
                           f"业主委员会委员人数应为 {MIN_SEATS}—{MAX_SEATS} 人的单数，当前为 {seats}"))
    if not isinstance(term_years, int) or isinstance(term_years, bool) or not (1 <= term_years <= MAX_TERM_YEARS):
        problems.append(_p("term_years", f"the term must be 1 to {MAX_TERM_YEARS} years, got {term_years!r}",
                           f"业主委员会任期应为 1—{MAX_TERM_YEARS} 年，当前为 {term_years}"))
    return problems


def check_group(members: list[dict]) -> list[dict[str, str]]:
    """The preparatory group: odd size, led by the street office, owners at least half."""
    if not members:
        return [_p("members", "the group has no members", "筹备组没有成员")]
    problems = []
    n = len(members)
    if n % 2 == 0:
        problems.append(_p("members", f"the group must have an odd number of members, has {n}",
                           f"筹备组成员人数应为单数，当前为 {n} 人"))
    owners = sum(1 for m in members if m.get("kind") == "owner")
    if 2 * owners < n:
        problems.append(_p("members", f"owners' representatives must be at least half ({owners} of {n})",
                           f"业主代表应不少于筹备组成员的一半（当前 {owners}/{n}）"))
    leaders = [m for m in members if m.get("position") == "组长"]
    if len(leaders) != 1:
        problems.append(_p("members", f"the group needs exactly one leader (组长), has {len(leaders)}",
                           f"筹备组应有且仅有一名组长，当前为 {len(leaders)} 名"))
    elif leaders[0].get("kind") != "street":
        problems.append(_p("members", "the leader must be the street office's representative",
                           "筹备组组长应由街道办事处代表担任"))
    names = [m.get("name") for m in members]
    dupes = sorted({x for x in names if names.count(x) > 1 and x})
    if dupes:
        problems.append(_p("members", f"listed twice: {', '.join(dupes)}", f"成员重复：{'、'.join(dupes)}"))
    return problems


def party_share(candidates: Iterable[dict]) -> dict[str, Any]:
    """Party-member share of `candidates`: {"count", "party_members", "share" "a/b", "percent",
    "more_than_half", "warning"} — exact (a fraction), the percentage for display only."""
    cands = list(candidates)
    n = len(cands)
    pm = sum(1 for c in cands if c.get("party_member"))
    more = n > 0 and 2 * pm > n
    percent = f"{float(Fraction(100 * pm, n)):.1f}" if n else "0.0"
    warning = "" if more else (
        f"党员占比 {pm}/{n}，未过半数：新组建或换届的业主委员会党员应占半数以上，请加强党员业主的推荐。"
        if n else "尚无通过审查的候选人。")
    return {"count": n, "party_members": pm, "share": f"{pm}/{n}", "percent": percent,
            "more_than_half": more, "warning": warning}


def check_officers(chair: str, vice_chair: str, elected: Iterable[str]) -> list[dict[str, str]]:
    """Chair and vice-chair are two different elected members."""
    elected = set(elected)
    problems = []
    if chair not in elected:
        problems.append(_p("chair", f"the chair {chair!r} is not an elected member", "主任须从当选委员中产生"))
    if vice_chair not in elected:
        problems.append(_p("vice_chair", f"the vice-chair {vice_chair!r} is not an elected member",
                           "副主任须从当选委员中产生"))
    if chair and chair == vice_chair:
        problems.append(_p("vice_chair", "chair and vice-chair must be different people", "主任与副主任不得为同一人"))
    return problems


def may_accept_partial(quorum_met: bool, elected: int) -> list[dict[str, str]]:
    """Accepting an election with open seats: the quorum was met and the elected alone form a
    lawful committee (odd, at least five)."""
    if not quorum_met:
        return [_p("decision", "the participation quorum was not met: re-ballot or close",
                   "参与表决的业主未达“双三分之二”，只能重新投票或终止")]
    if elected < MIN_SEATS or elected % 2 == 0:
        return [_p("decision", f"{elected} elected members cannot form a committee (odd, at least {MIN_SEATS})",
                   f"当选 {elected} 人，不足以组成业主委员会（须为不少于 {MIN_SEATS} 人的单数）")]
    return []


# Officers listed in rank order in notices: chair, vice-chair, members (a preparatory group:
# leader, deputy leader, members). Unknown positions come after the known ones.
OFFICER_RANKS = {"主任": 0, "组长": 0, "副主任": 1, "副组长": 1, "委员": 2, "成员": 2}


def in_rank_order(people: Iterable[dict]) -> list[dict]:
    """People by officer rank, then 按姓氏笔画 within a rank."""
    from .collation import stroke_key

    return sorted(people, key=lambda p: (OFFICER_RANKS.get(str(p.get("position") or "").strip(), len(OFFICER_RANKS)),
                                         stroke_key(str(p.get("name") or ""))))


def term_last_day(start: date, years: int) -> date:
    """Last day of a term of `years` that starts on (and includes) `start`: the day before the
    anniversary — a term from 2026-12-18 for 5 years runs to 2031-12-17, one from 2027-03-01 to
    2032-02-29. A term from 29 February has its anniversary on 1 March of a common year, so it
    runs to 28 February."""
    from dateutil.relativedelta import relativedelta

    if years < 1:
        raise ValueError("a term lasts at least one year")
    anniversary = start + relativedelta(years=years)
    if anniversary.day != start.day:  # 29 February → relativedelta gives 28 February
        anniversary += timedelta(days=1)
    return anniversary - timedelta(days=1)


# --- candidacy: a candidate is an owner of the roll, whatever id is typed ----------------------
#
# The case keeps, in its data: `approved_candidates` (passed joint review), `excluded_candidates`
# (screened out by the negative list, appended to and never rewritten — an entry's index is its
# number) and `candidate_owners` ({candidate id: owner id}, every id ever nominated in the case).
# An approved candidate whose owner was excluded before carries `reconsidered`: the numbers of the
# exclusions the joint review weighed with the new facts, each with both organisations' approval.


def _owner(c: dict) -> str:
    return str(c.get("owner_id") or "")


def exclusions_of(excluded: list[dict], owner_id: str) -> list[int]:
    """Numbers (indices) of the exclusions of `owner_id` in this case."""
    return [i for i, e in enumerate(excluded) if _owner(e) == owner_id]


def ground_texts(exclusion: dict) -> list[str]:
    return [m.get("text", "") for m in (exclusion.get("screening") or {}).get("matched") or []]


def earlier_screenings(excluded: list[dict], owner_id: str) -> list[dict]:
    """What the joint review is shown about an earlier-excluded owner: each exclusion as recorded."""
    return [{"no": i, "candidate_id": excluded[i].get("candidate_id", ""), "name": excluded[i].get("name", ""),
             "grounds": ground_texts(excluded[i]), "objection": excluded[i].get("objection", ""),
             "excluded_on": excluded[i].get("excluded_on", "")}
            for i in exclusions_of(excluded, owner_id)]


def barred_owners(excluded: list[dict], approved: list[dict]) -> dict[str, list[int]]:
    """Owners excluded in this case and not cleared by a joint review of new facts: {owner: [numbers]}.
    An exclusion is cleared only for the approved entry that names it in `reconsidered`."""
    cleared: dict[str, set[int]] = {}
    for c in approved:
        cleared.setdefault(_owner(c), set()).update(int(n) for n in c.get("reconsidered") or [])
    barred: dict[str, list[int]] = {}
    for i, e in enumerate(excluded):
        if i not in cleared.get(_owner(e), set()):
            barred.setdefault(_owner(e), []).append(i)
    return barred


def check_nominations(cands: list[dict], roll_owners: dict[str, Any], approved: list[dict],
                      excluded: list[dict], candidate_owners: dict[str, str],
                      disabled_grounds: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """Problems with a round of nominations as (input problems, rule refusals).

    Input problems are typing mistakes (unknown owner, id used twice in the form). Rule refusals are
    attempts the case must remember: nominating an owner the negative list excluded in this case
    without new facts for the joint review, reusing another owner's candidate id, nominating an
    owner already on the list, or recording a ground the street switched off.
    `roll_owners` maps owner id to the roll's name; `disabled_grounds` ground id to its text."""
    problems, refusals = [], []
    approved_owner = {_owner(c): c for c in approved}
    form_ids: dict[str, int] = {}
    form_owners: dict[str, int] = {}
    for i, c in enumerate(cands):
        cid, owner, name = c.get("candidate_id", ""), _owner(c), c.get("name", "")
        field = f"candidates.{i}"
        if cid in form_ids:
            problems.append(_p(f"{field}.candidate_id", f"candidate id {cid!r} used twice",
                               f"候选人编号 {cid} 重复"))
        form_ids.setdefault(cid, i)
        if owner not in roll_owners:
            problems.append(_p(f"{field}.owner_id", f"{name}: owner {owner!r} is not on the owner roll",
                               f"候选人「{name}」的业主编号 {owner} 不在业主名册中"))
            continue
        who = f"业主「{roll_owners[owner] or name}」（{owner}）"
        if owner in form_owners:
            problems.append(_p(f"{field}.owner_id", f"owner {owner!r} nominated twice in this round",
                               f"{who}在本轮提名中出现两次"))
        form_owners.setdefault(owner, i)
        earlier_owner = candidate_owners.get(cid)
        if earlier_owner is not None and earlier_owner != owner:
            refusals.append(_p(f"{field}.candidate_id",
                               f"candidate id {cid!r} belongs to owner {earlier_owner!r} in this case",
                               f"候选人编号 {cid} 在本案中已用于业主 {earlier_owner}，不得用于{who}"))
        if owner in approved_owner:
            refusals.append(_p(f"{field}.owner_id",
                               f"owner {owner!r} is already an approved candidate ({approved_owner[owner]['candidate_id']})",
                               f"{who}已是审查通过的候选人（编号 {approved_owner[owner]['candidate_id']}），不得重复提名"))
        earlier = exclusions_of(excluded, owner)
        if earlier and not str(c.get("reconsideration") or "").strip():
            grounds = "、".join(dict.fromkeys(t for n in earlier for t in ground_texts(excluded[n]))) or "负面清单情形"
            refusals.append(_p(f"{field}.owner_id",
                               f"owner {owner!r} was excluded by the negative list in this case and may not be nominated again",
                               f"{who}已在本案因负面清单「{grounds}」被排除，不得再次提名（所填候选人编号 {cid}）；"
                               "如有新的事实，请在“新情况说明”中写明，连同原筛查结果提交联审复核"))
        for ground, on in (c.get("facts") or {}).items():
            if ground in disabled_grounds and on is True:
                refusals.append(_p(f"{field}.facts.{ground}", f"ground {ground!r} is switched off for this street",
                                   f"「{disabled_grounds[ground]}」已被本街道停用，不作为候选人资格条件，不得据此登记"))
    return problems, refusals


def list_summary(approved: list[dict], excluded: list[dict], objection_log: list[dict]) -> dict[str, Any]:
    """The case summary's facts about the candidate list, computed from the list itself (never
    counted up), so that a candidate an objection removed stops counting at once."""
    share = party_share(approved)
    barred = barred_owners(excluded, approved)
    return {"approved_candidates": len(approved), "party_member_share": share["share"],
            "party_member_percent": share["percent"], "party_majority": share["more_than_half"],
            "excluded_by_negative_list": len(barred), "objections": len(objection_log)}
