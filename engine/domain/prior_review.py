"""The 12 prior-review matters (先议事项): the catalogue as data, and the pure rules around it.

Chizhou's practice (sources/001_*) sends 12 matters — hiring the property company, large
maintenance-fund use, advertising income and others — to the compound party sub-branch before the
owners' committee or the owners' assembly decides. No full list is published; the default list
below follows Civil Code Art. 278 and local rules (DESIGN.md §4.3). A street edits it as data:
switching matters on or off, renaming them, changing review deadlines. The Art. 278 item of a
default matter is law, not a local choice, so a street cannot change it (it fixes the vote
threshold: items 6–8 need three quarters, every other item more than half).

Whether a matter is listed is decided here from what the matter is — the catalogue subject it was
filed under and its Art. 278 item — never by the submitter's word: a matter of items 3–8
(committee, property company, the maintenance fund, rebuilding, common parts) is always listed,
and a street can neither switch such a matter off nor remove it. A submitter who thinks a matter
is not on the list proposes so; the party branch confirms that or reclassifies the matter.

Everything here is plain data and plain functions: no database, no SpiffWorkflow.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

SETTING_KEY = "prior_review_catalogue"
DEFAULT_REVIEW_DAYS = 10
MAX_REVIEW_DAYS = 60
NOTICE_DAYS_BEFORE_VOTE = 15  # Property Management Regulations Art. 14: notice 15 days before
UNLISTED = "unlisted"  # the submitter's code for a matter that is not on the list
# Who submits a matter (the submission form's choices).
SUBMITTER_KINDS = {"owners_committee": "业主委员会", "property_company": "物业服务企业", "community": "社区"}

MAJORITY = "majority"
THREE_QUARTERS = "three_quarters"
THRESHOLD_ITEMS = frozenset({6, 7, 8})  # Art. 278 (6) raising the fund, (7) rebuilding, (8) common parts
# Items whose matters always go to the party branch first, whatever a street's catalogue or a
# submitter says: committee elections, the property company, the maintenance fund, rebuilding
# and common parts — the matters the sources name as the core of prior review.
ALWAYS_LISTED_ITEMS = frozenset(range(3, 9))
# Art. 278 items 1–8 are decided by the owners' vote; only "other major matters" (9) may be left to
# the committee by the assembly's rules of procedure.
DELEGABLE_ITEMS = frozenset({9})

OUTCOMES = ("agree", "agree_with_changes", "disagree")
OUTCOME_ZH = {"agree": "同意", "agree_with_changes": "修改后同意（退回修改）", "disagree": "不同意"}
THRESHOLD_ZH = {
    MAJORITY: "经参与表决专有部分面积过半数的业主且参与表决人数过半数的业主同意",
    THREE_QUARTERS: "经参与表决专有部分面积四分之三以上的业主且参与表决人数四分之三以上的业主同意",
}
ART278_ZH = {
    1: "制定和修改业主大会议事规则",
    2: "制定和修改管理规约",
    3: "选举业主委员会或者更换业主委员会成员",
    4: "选聘和解聘物业服务企业或者其他管理人",
    5: "使用建筑物及其附属设施的维修资金",
    6: "筹集建筑物及其附属设施的维修资金",
    7: "改建、重建建筑物及其附属设施",
    8: "改变共有部分的用途或者利用共有部分从事经营活动",
    9: "有关共有和共同管理权利的其他重大事项",
}

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def _m(no: int, code: str, name: str, item: int, assembly: bool) -> dict[str, Any]:
    return {"no": no, "code": code, "name": name, "art278_item": item, "assembly_vote": assembly,
            "review_days": DEFAULT_REVIEW_DAYS, "enabled": True}


# (no, code, Chinese name, Art. 278 item, owners' assembly vote needed?)
DEFAULT_MATTERS: tuple[dict[str, Any], ...] = (
    _m(1, "assembly_rules", "制定和修改业主大会议事规则", 1, True),
    _m(2, "management_statute", "制定和修改管理规约", 2, True),
    _m(3, "committee_election", "业主委员会选举、换届、补选、罢免及候选人名单", 3, True),
    _m(4, "property_company", "选聘、续聘、解聘物业服务企业", 4, True),
    _m(5, "service_fees", "调整物业服务内容、服务标准和收费标准", 9, True),
    _m(6, "fund_use", "大额使用专项维修资金（紧急情况除外）", 5, True),
    _m(7, "fund_raising", "筹集、续筹专项维修资金", 6, True),
    _m(8, "rebuilding", "改建、重建建筑物及其附属设施", 7, True),
    _m(9, "common_use_change", "改变共有部分用途或利用共有部分从事经营活动（停车位、充电桩等）", 8, True),
    _m(10, "common_income", "广告收益等共有部分收入的分配和使用（按议事规则授权由业委会决定）", 9, False),
    _m(11, "working_funds", "业主大会、业主委员会工作经费和委员津贴", 9, True),
    _m(12, "major_other", "提起诉讼或仲裁、专项审计、签订大额合同等其他重大事项（按议事规则授权由业委会决定）", 9, False),
)
_DEFAULT_BY_CODE = {m["code"]: m for m in DEFAULT_MATTERS}


def needs_owners_vote(item: int, assembly_vote: bool) -> bool:
    """Must the owners vote on a matter of Art. 278 `item` (not the committee alone)?"""
    return bool(assembly_vote) or item not in DELEGABLE_ITEMS


def threshold_for_item(item: int) -> str:
    """Civil Code Art. 278: items 6–8 need three quarters, the rest more than half."""
    return THREE_QUARTERS if item in THRESHOLD_ITEMS else MAJORITY


def default_setting() -> dict[str, Any]:
    """The built-in catalogue (a fresh copy, safe to edit)."""
    return {"matters": [dict(m) for m in DEFAULT_MATTERS]}


def validate_setting(value: Any) -> list[str]:
    """Problems with a catalogue a street wants to store ([] = fine), each 「中文 / English」."""
    if not isinstance(value, dict) or not isinstance(value.get("matters"), list):
        return ["目录必须是含 matters 列表的对象 / the catalogue must be an object with a 'matters' list"]
    problems: list[str] = []
    extra = set(value) - {"matters", "note"}
    if extra:
        problems.append(f"目录含未定义的字段 {sorted(extra)} / unknown catalogue fields {sorted(extra)}")
    seen: set[str] = set()
    for i, m in enumerate(value["matters"], start=1):
        where_zh, where = f"第{i}项", f"matter {i}"
        if not isinstance(m, dict):
            problems.append(f"{where_zh}必须是对象 / {where} must be an object")
            continue
        unknown = set(m) - {"no", "code", "name", "art278_item", "assembly_vote", "review_days", "enabled"}
        if unknown:
            problems.append(f"{where_zh}含未定义的字段 {sorted(unknown)} / {where}: unknown fields {sorted(unknown)}")
        code = m.get("code")
        if not isinstance(code, str) or not _CODE_RE.match(code) or code == UNLISTED:
            problems.append(f"{where_zh}：编码须为小写字母开头的字母、数字、下划线（2–40位），且不能是 {UNLISTED} / "
                            f"{where}: code must match {_CODE_RE.pattern} and not be {UNLISTED!r}")
        elif code in seen:
            problems.append(f"{where_zh}：编码 {code} 重复 / {where}: duplicate code {code}")
        else:
            seen.add(code)
        name = m.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            problems.append(f"{where_zh}：名称不能为空且不超过200字 / {where}: name must be 1–200 characters")
        item = m.get("art278_item")
        if not isinstance(item, int) or isinstance(item, bool) or not 1 <= item <= 9:
            problems.append(f"{where_zh}：民法典第二百七十八条项次须为1–9 / {where}: art278_item must be 1–9")
        elif code in _DEFAULT_BY_CODE and item != _DEFAULT_BY_CODE[code]["art278_item"]:
            d = _DEFAULT_BY_CODE[code]["art278_item"]
            problems.append(f"{where_zh}：{code} 属于民法典第二百七十八条第{d}项，不得改为第{item}项（表决规则由法律规定） / "
                            f"{where}: {code} falls under Art. 278 item {d} by law; it cannot be changed to {item}")
        if not isinstance(m.get("assembly_vote"), bool):
            problems.append(f"{where_zh}：须说明是否需业主大会表决（true/false） / {where}: assembly_vote must be true/false")
        days = m.get("review_days")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_REVIEW_DAYS:
            problems.append(f"{where_zh}：先议期限须为1–{MAX_REVIEW_DAYS}天 / {where}: review_days must be 1–{MAX_REVIEW_DAYS}")
        if not isinstance(m.get("enabled"), bool):
            problems.append(f"{where_zh}：须说明是否启用（true/false） / {where}: enabled must be true/false")
        if isinstance(item, int) and not isinstance(item, bool) and 1 <= item <= 9:
            if item in ALWAYS_LISTED_ITEMS and m.get("enabled") is False:
                problems.append(f"{where_zh}：属于民法典第二百七十八条第{item}项（{ART278_ZH[item]}），须经小区党支部先议，"
                                f"不得停用 / {where}: an Art. 278 item {item} matter cannot be switched off")
            if m.get("assembly_vote") is False and item not in DELEGABLE_ITEMS:
                problems.append(f"{where_zh}：民法典第二百七十八条第{item}项事项须由业主共同决定，不得改由业主委员会决定 / "
                                f"{where}: an Art. 278 item {item} matter needs the owners' vote")
    present = {m.get("code") for m in value["matters"] if isinstance(m, dict)}
    for d in DEFAULT_MATTERS:
        if d["art278_item"] in ALWAYS_LISTED_ITEMS and d["code"] not in present:
            problems.append(f"不得删除「{d['name']}」（{d['code']}）：民法典第二百七十八条第{d['art278_item']}项事项须经小区党支部先议 / "
                            f"{d['code']} (Art. 278 item {d['art278_item']}) cannot be removed")
    if not value["matters"]:
        problems.append("目录不能为空 / the catalogue is empty")
    return problems


def catalogue_deviations(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """Matters that a new catalogue version `after` switches off or removes, compared with the
    version before it (None: the built-in default). Each: code, name, art278_item, change."""
    old = {m["code"]: m for m in (before or default_setting())["matters"] if isinstance(m, dict) and "code" in m}
    new = {m["code"]: m for m in after.get("matters", []) if isinstance(m, dict) and "code" in m}
    out = []
    for code, m in old.items():
        if code not in new:
            out.append({"code": code, "name": m.get("name"), "art278_item": m.get("art278_item"), "change": "removed"})
        elif m.get("enabled", True) and not new[code].get("enabled", True):
            out.append({"code": code, "name": new[code].get("name"), "art278_item": new[code].get("art278_item"),
                        "change": "switched_off"})
    return out


def find_matter(setting: dict[str, Any], code: str) -> dict[str, Any] | None:
    for m in setting.get("matters", []):
        if m.get("code") == code:
            return m
    return None


@dataclass(frozen=True)
class Classification:
    """What the process needs to know about a submitted matter."""

    matter_code: str
    matter_name: str
    listed: bool  # on the list → party-branch review first
    reason_zh: str  # why (shown in the history)
    art278_item: int
    threshold: str  # majority | three_quarters
    assembly_vote: bool  # owners' assembly vote, else the committee decides
    review_days: int
    # The submitter proposed "not on the list" and the catalogue cannot settle it: the party
    # branch confirms or reclassifies before anything else happens.
    awaiting_confirmation: bool = False
    proposed_unlisted: bool = False  # the submitter's proposal, kept for the history

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["threshold_zh"] = THRESHOLD_ZH[self.threshold]
        d["art278_zh"] = ART278_ZH[self.art278_item]
        return d


class UnknownMatter(ValueError):
    """The submitted code is neither on the catalogue nor `unlisted` (a typo must not skip review)."""


def _item(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 9:
        raise ValueError(f"Art. 278 item must be 1–9, not {value!r}")
    return value


def _of_matter(m: dict[str, Any], *, proposed_unlisted: bool = False, reason: str | None = None) -> Classification:
    item = int(m["art278_item"])
    # A matter of items 3–8 stays listed even on an old catalogue version that had it switched off.
    listed = bool(m.get("enabled", True)) or item in ALWAYS_LISTED_ITEMS
    if reason is None:
        reason = (f"属于先议事项第{m.get('no', '')}项，须经小区党支部先议" if listed
                  else "该事项已由街道停用，不属于先议事项")
    return Classification(m["code"], m["name"], listed, reason, item, threshold_for_item(item),
                          needs_owners_vote(item, bool(m["assembly_vote"])),
                          int(m.get("review_days", DEFAULT_REVIEW_DAYS)), proposed_unlisted=proposed_unlisted)


def matter_for_item(setting: dict[str, Any], item: int) -> dict[str, Any]:
    """The catalogue matter a matter of Art. 278 `item` (3–8) falls under: the first on the list
    (the built-in one when an old catalogue version lacks it)."""
    for m in sorted(setting.get("matters", []), key=lambda m: (m.get("no") or 99)):
        if m.get("art278_item") == item:
            return m
    return next(m for m in DEFAULT_MATTERS if m["art278_item"] == item)


def classify(setting: dict[str, Any], matter_code: str, *, unlisted_item: Any = None,
             unlisted_assembly_vote: bool = False, unlisted_name: str = "") -> Classification:
    """Listed? threshold? assembly vote? — for `matter_code` under the catalogue `setting`.

    A catalogue matter is listed unless the street switched it off (never for items 3–8). A
    submitter's `unlisted` is a proposal: a matter of items 3–8 is listed under the catalogue's
    matter of that item whatever the proposal says; any other item awaits the party branch's
    confirmation. Items 1–8 always go to the owners' vote."""
    if matter_code != UNLISTED:
        m = find_matter(setting, matter_code)
        if m is None:
            raise UnknownMatter(matter_code)
        return _of_matter(m)
    item = _item(unlisted_item)
    name = unlisted_name or "非先议事项"
    if item in ALWAYS_LISTED_ITEMS:
        m = matter_for_item(setting, item)
        reason = (f"提交方申报为非先议事项，但该事项属于民法典第二百七十八条第{item}项（{ART278_ZH[item]}），"
                  f"依目录归入先议事项「{m['name']}」，须经小区党支部先议")
        return _of_matter(m, proposed_unlisted=True, reason=reason)
    return Classification(UNLISTED, name, False, "提交方申报为非先议事项，待小区党支部确认", item,
                          threshold_for_item(item), needs_owners_vote(item, unlisted_assembly_vote), 0,
                          awaiting_confirmation=True, proposed_unlisted=True)


CONFIRM_UNLISTED = "confirm_unlisted"
RECLASSIFY = "reclassify"
BRANCH_DECISIONS = {CONFIRM_UNLISTED: "确认不属于先议事项", RECLASSIFY: "改归先议事项目录中的事项"}


def branch_classification(setting: dict[str, Any], proposal: dict[str, Any], decision: str,
                          matter_code: str | None = None) -> Classification:
    """The party branch's word on a submitter's "not on the list" (`proposal` = its classification
    as a dict): confirm it, or reclassify under a catalogue matter."""
    if proposal.get("matter_code") != UNLISTED or not proposal.get("awaiting_confirmation"):
        raise ValueError("nothing awaits the branch's confirmation")
    if decision == CONFIRM_UNLISTED:
        item = _item(proposal.get("art278_item"))
        if item in ALWAYS_LISTED_ITEMS:  # cannot arise from `classify`; refuse it all the same
            raise ValueError(f"an Art. 278 item {item} matter is always listed")
        return Classification(UNLISTED, proposal.get("matter_name") or "非先议事项", False,
                              "经小区党支部确认，不属于先议事项", item, threshold_for_item(item),
                              needs_owners_vote(item, bool(proposal.get("assembly_vote"))), 0,
                              proposed_unlisted=True)
    if decision == RECLASSIFY:
        m = find_matter(setting, matter_code or "")
        if m is None:
            raise UnknownMatter(matter_code or "")
        c = _of_matter(m, proposed_unlisted=True)
        return Classification(**{**asdict(c), "reason_zh": f"经小区党支部改归「{m['name']}」，" + c.reason_zh})
    raise ValueError(f"unknown decision {decision!r}")


# --- enforcement: was the decision preceded by a review? -------------------------------------

CLASSIFIED = "prior_review:classified"
UNLISTED_PROPOSED = "prior_review:unlisted_proposed"  # waits for the branch: not yet classified
REVIEW_RECORDED = "prior_review:review_recorded"
REVIEW_NOT_REQUIRED = "prior_review:review_not_required"
DECISION_RECORDED = "prior_review:decision_recorded"


@dataclass(frozen=True)
class ReviewStatus:
    classified: bool
    listed: bool
    reviewed: bool  # an "agree" review after the latest classification
    latest_outcome: str | None
    art278_item: int | None = None
    assembly_vote: bool | None = None

    @property
    def may_decide(self) -> bool:
        return self.classified and (not self.listed or self.reviewed)

    @property
    def owners_vote_needed(self) -> bool:
        if self.art278_item is None:  # a chain from before items were recorded: go by the flag
            return bool(self.assembly_vote)
        return needs_owners_vote(self.art278_item, bool(self.assembly_vote))


def review_status(events: Iterable[tuple[str, dict]]) -> ReviewStatus:
    """Read a case's history (action, detail) in chain order. Only the latest submission round
    counts: a resubmitted proposal needs a fresh review. "Not on the list" counts as a
    classification only once the party branch confirmed it."""
    classified = listed = reviewed = False
    outcome: str | None = None
    item: int | None = None
    vote: bool | None = None
    for action, detail in events:
        if action == UNLISTED_PROPOSED:
            classified, listed, reviewed, outcome, item, vote = False, False, False, None, None, None
        elif action == CLASSIFIED:
            confirmed = detail.get("matter_code") != UNLISTED or bool(detail.get("confirmed_by"))
            classified, listed, reviewed, outcome = confirmed, bool(detail.get("listed")), False, None
            item, vote = detail.get("art278_item"), detail.get("assembly_vote")
        elif action == REVIEW_RECORDED and classified:
            outcome = detail.get("outcome")
            reviewed = outcome == "agree"
    return ReviewStatus(classified, listed, reviewed, outcome, item, vote)


# --- the committee's own vote and the assembly notice period ---------------------------------

@dataclass(frozen=True)
class CommitteeVote:
    members_total: int
    members_present: int
    members_agree: int
    quorum_met: bool
    passed: bool
    rule_zh: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def committee_vote(members_total: int, members_present: int, members_agree: int) -> CommitteeVote:
    """指导规则 Art. 32: a committee meeting needs more than half of its members present; a
    decision needs the consent of half or more of ALL members (以上 includes the number itself,
    Civil Code Art. 1259). Integer cross-multiplication, no floats."""
    if not (0 <= members_agree <= members_present <= members_total) or members_total < 1:
        raise ValueError("need 0 ≤ agree ≤ present ≤ total and total ≥ 1")
    quorum = 2 * members_present > members_total
    passed = quorum and 2 * members_agree >= members_total
    return CommitteeVote(members_total, members_present, members_agree, quorum, passed,
                         "业主委员会会议应有过半数委员出席，决定须经全体委员半数以上同意")


def earliest_vote_start(posted_on: date) -> date:
    """The first day voting may start when the notice is posted on `posted_on`."""
    return posted_on + timedelta(days=NOTICE_DAYS_BEFORE_VOTE)


# --- invariants: pure checks over a case's data and its chain --------------------------------
# Each returns None when the rule holds, else a Chinese sentence saying what is broken. `events`
# are the case's chain in order, as dicts with "action" and "detail".

def _pairs(events: Iterable[Mapping[str, Any]]) -> list[tuple[str, dict]]:
    return [(e.get("action") or "", e.get("detail") or {}) for e in events]


def decisions_follow_review(data: Mapping[str, Any], events: Iterable[Mapping[str, Any]]) -> str | None:
    """No committee or assembly decision on a listed matter without the branch's "agree" of the
    same round before it, and none on a matter whose classification the branch has not settled."""
    history: list[tuple[str, dict]] = []
    for action, detail in _pairs(events):
        if action == DECISION_RECORDED and not review_status(history).may_decide:
            return "列入先议的事项（或待党支部确认分类的事项）未经小区党支部先议同意，不得由业主委员会或业主大会作出决定"
        history.append((action, detail))
    return None


def items_3_to_8_listed(data: Mapping[str, Any], events: Iterable[Mapping[str, Any]]) -> str | None:
    """A matter of Art. 278 items 3–8 is never classified as not listed."""
    shown = [data.get("classification") or {}, data.get("case_summary") or {}]
    shown += [d for a, d in _pairs(events) if a == CLASSIFIED]
    for c in shown:
        item = c.get("art278_item")
        if item in ALWAYS_LISTED_ITEMS and c.get("listed") is False:
            return f"民法典第二百七十八条第{item}项（{ART278_ZH[item]}）事项一律须经小区党支部先议，不得归为非先议事项"
    return None


def unlisted_only_by_the_branch(data: Mapping[str, Any], events: Iterable[Mapping[str, Any]]) -> str | None:
    """"Not on the list" becomes a classification only with the branch's confirmation."""
    for action, detail in _pairs(events):
        if action == CLASSIFIED and detail.get("matter_code") == UNLISTED and not detail.get("confirmed_by"):
            return "申报为非先议事项的，须经小区党支部确认后方可免予先议"
    return None


def owners_vote_recorded(data: Mapping[str, Any], events: Iterable[Mapping[str, Any]]) -> str | None:
    """A decision on a matter that needs the owners' vote is an assembly decision with a count."""
    summary = data.get("case_summary") or {}
    if summary.get("decision") == "committee" and summary.get("art278_item") is not None \
            and needs_owners_vote(summary["art278_item"], bool(summary.get("assembly_vote"))):
        return "该事项须由业主共同决定，业主委员会不得自行决定"
    history: list[tuple[str, dict]] = []
    for action, detail in _pairs(events):
        if action == DECISION_RECORDED and review_status(history).owners_vote_needed:
            if detail.get("path") != "assembly" or "quorum_met" not in detail:
                return "须经业主大会表决的事项，其决定必须有业主表决的计票结果"
        history.append((action, detail))
    return None
