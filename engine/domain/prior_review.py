"""The 12 prior-review matters (先议事项): the catalogue as data, and the pure rules around it.

Chizhou's practice (sources/001_*) sends 12 matters — hiring the property company, large
maintenance-fund use, advertising income and others — to the compound party sub-branch before the
owners' committee or the owners' assembly decides. No full list is published; the default list
below follows Civil Code Art. 278 and local rules (DESIGN.md §4.3). A street edits it as data:
switching matters on or off, renaming them, changing review deadlines. The Art. 278 item of a
default matter is law, not a local choice, so a street cannot change it (it fixes the vote
threshold: items 6–8 need three quarters, every other item more than half).

Everything here is plain data and plain functions: no database, no SpiffWorkflow.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Iterable

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
    if not value["matters"]:
        problems.append("目录不能为空 / the catalogue is empty")
    return problems


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
    listed: bool  # on the (enabled) list → party-branch review first
    reason_zh: str  # why (shown in the history)
    art278_item: int
    threshold: str  # majority | three_quarters
    assembly_vote: bool  # owners' assembly vote, else the committee decides
    review_days: int

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["threshold_zh"] = THRESHOLD_ZH[self.threshold]
        d["art278_zh"] = ART278_ZH[self.art278_item]
        return d


class UnknownMatter(ValueError):
    """The submitted code is neither on the catalogue nor `unlisted` (a typo must not skip review)."""


def classify(setting: dict[str, Any], matter_code: str, *, unlisted_item: int = 9,
             unlisted_assembly_vote: bool = False, unlisted_name: str = "") -> Classification:
    """Listed? threshold? assembly vote? — for `matter_code` under the catalogue `setting`.

    A matter the street switched off, or one the submitter declares `unlisted`, skips the review;
    its threshold then follows the Art. 278 item the submitter states (default 9)."""
    if matter_code == UNLISTED:
        return Classification(UNLISTED, unlisted_name or "非先议事项", False, "不属于先议事项目录",
                              unlisted_item, threshold_for_item(unlisted_item), unlisted_assembly_vote, 0)
    m = find_matter(setting, matter_code)
    if m is None:
        raise UnknownMatter(matter_code)
    item = int(m["art278_item"])
    listed = bool(m.get("enabled", True))
    reason = (f"属于先议事项第{m.get('no', '')}项，须经小区党支部先议" if listed
              else "该事项已由街道停用，不属于先议事项")
    return Classification(m["code"], m["name"], listed, reason, item, threshold_for_item(item),
                           bool(m["assembly_vote"]), int(m.get("review_days", DEFAULT_REVIEW_DAYS)))


# --- enforcement: was the decision preceded by a review? -------------------------------------

CLASSIFIED = "prior_review:classified"
REVIEW_RECORDED = "prior_review:review_recorded"
REVIEW_NOT_REQUIRED = "prior_review:review_not_required"
DECISION_RECORDED = "prior_review:decision_recorded"


@dataclass(frozen=True)
class ReviewStatus:
    classified: bool
    listed: bool
    reviewed: bool  # an "agree" review after the latest classification
    latest_outcome: str | None

    @property
    def may_decide(self) -> bool:
        return self.classified and (not self.listed or self.reviewed)


def review_status(events: Iterable[tuple[str, dict]]) -> ReviewStatus:
    """Read a case's history (action, detail) in chain order. Only the latest submission round
    counts: a resubmitted proposal needs a fresh review."""
    classified = listed = reviewed = False
    outcome: str | None = None
    for action, detail in events:
        if action == CLASSIFIED:
            classified, listed, reviewed, outcome = True, bool(detail.get("listed")), False, None
        elif action == REVIEW_RECORDED and classified:
            outcome = detail.get("outcome")
            reviewed = outcome == "agree"
    return ReviewStatus(classified, listed, reviewed, outcome)


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
