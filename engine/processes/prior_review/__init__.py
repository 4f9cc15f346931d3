"""Service tasks of `bpmn/prior_review.bpmn` (先议事项) and the catalogue's storage.

The rule this module exists for: no committee or owners'-assembly decision on a listed matter is
recorded unless the compound party branch reviewed it first (DESIGN.md §4.3). The proof of a
review is the case's own audit chain — events these services append in the same transaction as
the task that caused them — not task data, which forms could be used to forge. Every step that
records a decision calls `require_review`, both as the `completionGuard` of the user task and
again inside the service task that stores the result, so a diagram that skips the review cannot
record a decision either.

Services read the form fields they need from the data of the service task itself
(`ctx.extra["task"]`), and keep the reportable facts in the task-data dict `case_summary`, which
the service layer copies to `process_case.summary` on every save.
"""
from __future__ import annotations

from engine.domain import prior_review as pr
from engine.processes.common import VOTE_SECOND_FACTOR
from engine.reports.prior_review import prior_review_report
from engine.runtime.invariants import Invariant
from engine.runtime.registry import DemoCase, DemoStep, ProcessDescriptor, Report, SettingSpec

# The service tasks, pick lists and panels register themselves when their modules load.
from . import catalogue, decisions, enforcement, execution, review, submission  # noqa: F401
from ._shared import COMMITTEE_RESULT
from .catalogue import effective_catalogue, save_catalogue
from .enforcement import check_review

# --- invariants: checked on every save of a prior-review case, whatever route made the change ---


# --- the process's one declaration ----------------------------------------------------------

INVARIANTS = (
    Invariant("review_before_decision", "列入先议的事项，须经小区党支部先议同意后方可由业委会或业主大会作出决定",
              pr.decisions_follow_review, needs_events=True),
    Invariant("items_3_to_8_listed", "民法典第二百七十八条第3–8项事项一律列入先议，不得归为非先议事项",
              pr.items_3_to_8_listed, needs_events=True),
    Invariant("unlisted_confirmed_by_branch", "申报为非先议事项的，须经小区党支部确认方可免予先议",
              pr.unlisted_only_by_the_branch, needs_events=True),
    Invariant("owners_vote_recorded", "须经业主共同决定的事项，其决定必须有业主大会表决的计票结果",
              pr.owners_vote_recorded, needs_events=True),
)


SUMMARY_LABELS = {
    "catalogue_version": "先议事项目录版本", "catalogue_org": "目录所属组织",
    "matter_code": "事项编码", "matter_name": "事项名称", "listed": "列入先议清单", "proposed_unlisted": "提交方申报为非先议事项",
    "threshold": "表决通过标准", "assembly_vote": "须业主大会表决", "art278_item": "民法典第二百七十八条事项",
    "submitted_at": "提交时间", "review_started_at": "先议开始时间", "review_due": "先议期限",
    "review_done_at": "先议完成时间", "review_outcome": "先议结论", "reviews": "历次先议",
    "escalations": "升级情况", "escalated_this_round": "本轮已升级督办",
    "decision": "决定方式", "decision_passed": "决定通过", "decided_at": "决定时间",
    "decided_after_review": "先议后决定", "vote_start": "表决开始", "vote_end": "表决截止",
    "executed_at": "执行公示时间", "execution_total": "执行金额合计", "publicity_end": "公示截止", "closed_at": "结案时间",
}

ACTION_LABELS = {
    "prior_review:catalogue_pinned": "锁定先议事项目录版本",
    "prior_review:classified": "事项分类（是否须党组织先议）",
    "prior_review:unlisted_proposed": "提交方申报为非先议事项（待党支部确认）",
    "prior_review:review_not_required": "非先议事项，无需党组织先议",
    "prior_review:review_recorded": "记录党组织先议意见",
    "prior_review:review_overdue": "先议超期，升级督办",
    "prior_review:review_supervised": "督办先议",
    "prior_review:withdrawn": "撤回议题",
    "prior_review:decision_recorded": "记录决定结果",
    "prior_review:vote_scheduled": "安排业主大会表决",
    "prior_review:execution_published": "公示执行情况",
}

DESCRIPTOR = ProcessDescriptor(
    key="prior_review",
    title="先议事项",
    case_prefix="XY",
    starters=frozenset({"street_staff", "community_staff", "party_branch_secretary"}),
    data_labels=SUMMARY_LABELS,
    action_labels=ACTION_LABELS,
    settings=(SettingSpec(pr.SETTING_KEY, "先议事项目录", pr.default_setting, pr.validate_setting,
                          save=save_catalogue, per_street=True), VOTE_SECOND_FACTOR),
    notice_kinds=(COMMITTEE_RESULT,),
    report=Report("prior_review", "先议事项合规", prior_review_report, period=True),
    demo=(DemoCase("PK-JP-XC-01", "community", (
        DemoStep("submit", "community", {
            "title": "关于续聘物业服务企业的议案", "matter_code": "property_company",
            "submitter_kind": "owners_committee", "submitter_name": "明发滨江新城小区业主委员会",
            "description": "现物业服务合同将于2027年1月到期，拟续聘三年。"}),
    )),),
    invariants=INVARIANTS,
)


# What other layers use: the catalogue setting and the proof of review.
__all__ = ["DESCRIPTOR", "check_review", "effective_catalogue", "save_catalogue"]
