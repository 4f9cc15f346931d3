"""Service tasks of `bpmn/committee_election.bpmn` (owners' committee formation and renewal).

Each function is thin: it reads the case's task data, calls a pure rule in `engine.domain`
(owner roll, tally, negative list, committee composition, periods) and returns JSON-able data.
Guards (`committee_check_*`, named by a user task's `completionGuard` property) refuse a form
before anything changes, listing every problem with its field or file:line.

Shared state that loops revisit lives in top-level task-data keys, written here only:
`approved_candidates` (passed joint review, not returned by an objection), `review_sheet` (the
candidates the party organisations are to review next), `excluded_candidates` (matched the
negative list: they never reach the ballot; appended to, never rewritten), `candidate_owners`
({candidate id: owner id} of every nomination: a candidate is an owner of the roll, whatever id is
typed), and `case_summary` (reportable facts the service layer copies into `process_case.summary`;
the candidate-list facts are recomputed from the list on every change, never counted up).

The rules these keys must satisfy after every save are checked in `invariants.py` and declared
with the process below; each stage of the election has its own module.
"""
from __future__ import annotations

from engine.domain import negative_list
from engine.processes.common import VOTE_SECOND_FACTOR
from engine.reports.committee import committee_summary
from engine.runtime.invariants import Invariant
from engine.runtime.registry import DemoCase, DemoStep, DemoUpload, ProcessDescriptor, Report, SettingSpec

# The service tasks, pick lists and panels register themselves when their modules load.
from . import candidates, invariants, meeting, opening, panels, publicity, results, roll, vote  # noqa: F401
from .invariants import (
    _approved_are_screened,
    _ballot_lists_approved_only,
    _barred_on_list,
    _count_only_ballot_candidates,
    _one_candidacy_per_owner,
    _publicity_before_meeting,
    _summary_matches_list,
)

# --- the process's one declaration ----------------------------------------------------------

INVARIANTS = (
    Invariant("committee.no_barred_owner_on_list", "候选人名单、联审名单和选票不含被负面清单排除的业主", _barred_on_list),
    Invariant("committee.approved_are_screened_roll_owners", "审查通过的候选人均为经负面清单筛查合格、两级联审同意的名册业主",
              _approved_are_screened),
    Invariant("committee.one_candidacy_per_owner", "同一业主、同一候选人编号在名单中只出现一次", _one_candidacy_per_owner),
    Invariant("committee.summary_matches_list", "案件摘要的候选人人数、党员占比和排除人数按候选人名单计算", _summary_matches_list),
    Invariant("committee.ballot_lists_approved_only", "选票只列审查通过的候选人", _ballot_lists_approved_only),
    Invariant("committee.count_only_ballot_candidates", "计票只计本轮选票上的候选人", _count_only_ballot_candidates),
    Invariant("committee.publicity_before_meeting", "候选人名单公示期在会议召开前届满", _publicity_before_meeting),
)

SUMMARY_LABELS = {
    "kind": "选举类型", "opened_on": "立案日期", "seats": "席位数", "term_years": "任期",
    "group_size": "筹备组（换届小组）人数", "units": "房屋套数", "owners": "业主人数", "total_owners": "业主总人数",
    "total_area": "专有部分总面积", "meeting_date": "业主大会会议日期",
    "excluded_by_negative_list": "因负面清单排除人数", "objections": "异议件数",
    "approved_candidates": "审查通过的候选人人数", "party_member_share": "候选人党员占比",
    "party_member_percent": "候选人党员比例", "party_majority": "候选人党员过半数",
    "ballot_rounds": "投票轮次", "participating_owners": "参与表决业主人数", "participating_area": "参与表决专有部分面积",
    "quorum_met": "达到“双三分之二”参与要求", "elected_count": "当选人数", "elected_on": "当选日期",
    "elected_party_member_share": "当选委员党员占比", "elected_party_majority": "当选委员党员过半数",
    "first_meeting_on": "首次会议日期", "first_meeting_overdue": "首次会议逾期",
    "filed_on": "备案日期", "filing_overdue": "备案逾期", "filing_number": "备案编号",
    "term_start": "任期开始", "term_end": "任期届满", "renewal_reminded_on": "换届提醒日期",
    "closed_on": "终止日期", "closed_reason": "终止理由",
    "set_aside_votes": "未计入的无效票数（不在选票上）", "meeting_postponed": "会议延期次数",
}

DEMO_ROLL = """unit_id,owner_id,owner_name,area_m2,building
1-101,O1,张伟,89.50,1
1-102,O1,张伟,60.00,1
1-201,O2,王芳,120.00,1
1-202,O3,李娜,95.25,1
2-101,O4,刘洋,88.00,2
2-102,O5,陈静,102.00,2
2-201,O6,杨帆,76.50,2
2-202,O7,赵磊,110.00,2
3-101,O8,黄敏,99.00,3
3-102,DEVELOPER,,130.00,3
"""

DESCRIPTOR = ProcessDescriptor(
    key="committee_election",
    title="业委会组建/换届",
    case_prefix="YWH",
    starters=frozenset({"street_staff"}),
    data_labels=SUMMARY_LABELS,
    settings=(SettingSpec(negative_list.SETTING_KEY, "负面清单（候选人禁止条件）", negative_list.default_setting,
                          negative_list.validate_setting, labels={g.id: g.text for g in negative_list.GROUNDS}),
              VOTE_SECOND_FACTOR),
    report=Report("committee", "业委会组建与党员占比", committee_summary),
    demo=(
        DemoCase("PK-JP-XC-01", "street", (
            DemoStep("open_case", "street", {"case": {"election_kind": "first", "seats": 5, "term_years": 5}}),
            DemoStep("form_group", "street", {"group": {"members": [
                {"name": "王街道", "kind": "street", "position": "组长"},
                {"name": "张伟", "kind": "owner", "position": "副组长"},
                {"name": "李娜", "kind": "owner", "position": "成员"},
                {"name": "某开发公司代表", "kind": "developer", "position": "成员"},
                {"name": "黄敏", "kind": "owner", "position": "成员"}]}}),
            DemoStep("confirm_roll", "street", {"roll": {
                "file": DemoUpload("业主名册.csv", DEMO_ROLL, "street"), "inspection_place": "小区物业服务中心"}}),
        )),
        DemoCase("PK-JP-XC-02", "street"),
    ),
    invariants=INVARIANTS,
)
