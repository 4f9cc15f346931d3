"""The prior-review process end to end, on SQLite and PostgreSQL."""
from __future__ import annotations

import json

import pytest

from engine.domain import prior_review as pr
from engine.errors import Forbidden
from tests.prior_review.support import (
    confirm,
    decide,
    documents,
    events,
    review,
    start,
    submission,
    task_named,
)

ASSEMBLY_MATTERS = [m["code"] for m in pr.DEFAULT_MATTERS if m["assembly_vote"]]
COMMITTEE_MATTERS = [m["code"] for m in pr.DEFAULT_MATTERS if not m["assembly_vote"]]


@pytest.mark.parametrize("code", [m["code"] for m in pr.DEFAULT_MATTERS])
def test_each_default_matter_from_submission_to_published_result(prt, actors, clock, code):
    matter = pr.find_matter(pr.default_setting(), code)
    cn = start(prt, actors, code)
    view = prt.get_case(cn, actors["community"])
    assert view.summary["listed"] is True and view.summary["matter_code"] == code
    assert view.summary["threshold"] == ("three_quarters" if matter["art278_item"] in (6, 7, 8) else "majority")
    assert [t["name"] for t in view.tasks] == ["branch_review"]
    assert view.tasks[0]["role"] == "party_branch_secretary"
    prt.complete_task(task_named(prt, cn, actors["branch"], "branch_review"), actors["branch"], review(prt))
    view = decide(prt, actors, cn, clock, assembly=matter["assembly_vote"])
    assert view.status == "completed"
    assert view.summary["outcome"] == "passed" and view.summary["decided_after_review"] is True
    assert view.summary["decision"] == ("assembly" if matter["assembly_vote"] else "committee")
    actions = [a for a, _ in events(prt, cn)]
    assert actions.index(pr.CLASSIFIED) < actions.index(pr.REVIEW_RECORDED) < actions.index(pr.DECISION_RECORDED)
    titles = documents(prt, cn)
    expected = ["小区党支部先议意见书"]
    expected += (["关于业主大会表决事项的公告", "关于业主大会表决结果的公告"] if matter["assembly_vote"]
                 else ["关于业主委员会决定事项的公告"])
    expected += ["关于执行情况的公示"]
    assert titles == expected


def test_three_quarters_matter_fails_at_74_and_passes_at_75_percent(prt, actors, clock):
    results = {}
    for agree in (74, 75):
        cn = start(prt, actors, "fund_raising")
        prt.complete_task(task_named(prt, cn, actors["branch"], "branch_review"), actors["branch"], review(prt))
        view = decide(prt, actors, cn, clock, assembly=True, agree=agree, disagree=100 - agree)
        results[agree] = view
    failed, passed = results[74], results[75]
    assert failed.status == "completed" and failed.summary["outcome"] == "rejected"
    assert failed.data["decision"]["passed"] is False and failed.data["decision"]["threshold"] == "three_quarters"
    assert failed.data["decision"]["tally"]["quorum_met"] is True
    assert "关于执行情况的公示" not in documents(prt, failed.case_number)
    assert passed.summary["outcome"] == "passed"
    assert "关于执行情况的公示" in documents(prt, passed.case_number)


def test_majority_matter_passes_at_74_percent(prt, actors, clock):
    cn = start(prt, actors, "property_company")
    prt.complete_task(task_named(prt, cn, actors["branch"], "branch_review"), actors["branch"], review(prt))
    view = decide(prt, actors, cn, clock, assembly=True, agree=74, disagree=26)
    assert view.summary["outcome"] == "passed" and view.data["decision"]["threshold"] == "majority"


def test_agree_with_changes_returns_to_the_submitter_then_a_fresh_review(prt, actors, clock):
    cn = start(prt, actors, "fund_use")
    view = prt.complete_task(task_named(prt, cn, actors["branch"], "branch_review"), actors["branch"],
                             review(prt, "agree_with_changes"))
    assert [t["name"] for t in view.tasks] == ["revise"] and view.tasks[0]["role"] == "community_staff"
    view = prt.complete_task(view.tasks[0]["id"], actors["community"],
                             {"title": "关于大额使用维修资金的议案（修改稿）", "matter_code": "fund_use",
                              "description": "已按意见补充三家报价。", "revision_note": "已补充三家报价。"})
    assert [t["name"] for t in view.tasks] == ["branch_review"]  # the revised proposal is reviewed again
    assert view.summary["round"] == 2
    prt.complete_task(view.tasks[0]["id"], actors["branch"], review(prt))
    view = decide(prt, actors, cn, clock, assembly=True)
    assert view.summary["outcome"] == "passed"
    assert [r["outcome"] for r in view.summary["reviews"]] == ["agree_with_changes", "agree"]


def test_agree_with_changes_needs_the_changes(prt, actors):
    from engine.runtime.errors import ValidationFailed

    cn = start(prt, actors, "fund_use")
    data = review(prt, "agree_with_changes")
    del data["required_changes"]
    with pytest.raises(ValidationFailed):
        prt.complete_task(task_named(prt, cn, actors["branch"], "branch_review"), actors["branch"], data)


def test_disagree_goes_to_community_coordination_withdraw(prt, actors):
    cn = start(prt, actors, "common_use_change")
    view = prt.complete_task(task_named(prt, cn, actors["branch"], "branch_review"), actors["branch"],
                             review(prt, "disagree"))
    assert [t["name"] for t in view.tasks] == ["coordinate"] and view.tasks[0]["role"] == "community_party_org"
    view = prt.complete_task(view.tasks[0]["id"], actors["cparty"],
                             {"coordination_action": "withdraw", "coordination_note": "经协调，提交方同意撤回。"})
    assert view.status == "completed" and view.summary["outcome"] == "withdrawn"
    assert "prior_review:withdrawn" in [a for a, _ in events(prt, cn)]
    assert pr.DECISION_RECORDED not in [a for a, _ in events(prt, cn)]


def test_disagree_then_resubmit_after_coordination(prt, actors, clock):
    cn = start(prt, actors, "common_use_change")
    prt.complete_task(task_named(prt, cn, actors["branch"], "branch_review"), actors["branch"], review(prt, "disagree"))
    prt.complete_task(task_named(prt, cn, actors["cparty"], "coordinate"), actors["cparty"],
                      {"coordination_action": "resubmit", "coordination_note": "调整充电桩位置后重新提交。"})
    view = prt.complete_task(task_named(prt, cn, actors["community"], "revise"), actors["community"],
                             {"title": "关于建设充电桩的议案（修改稿）", "matter_code": "common_use_change",
                              "description": "充电桩移至地面停车场。", "revision_note": "按协调意见调整位置。"})
    assert [t["name"] for t in view.tasks] == ["branch_review"]
    prt.complete_task(view.tasks[0]["id"], actors["branch"], review(prt))
    view = decide(prt, actors, cn, clock, assembly=True, agree=76, disagree=24)
    assert view.summary["outcome"] == "passed"


def test_review_deadline_escalates_to_the_community_party_organisation(prt, actors, clock):
    cn = start(prt, actors, "property_company")
    view = prt.get_case(cn, actors["branch"])
    # 10 days from Sat 2026-11-21: the last day is Tue 2026-12-01, ending 24:00 Beijing time
    assert view.tasks[0]["due_at"] == "2026-12-01T16:00:00+00:00"
    clock.advance(days=10)
    assert prt.run_due_timers() == 0  # not yet: the deadline ends at 24:00 of the last day
    clock.advance(days=1)
    assert prt.run_due_timers() == 1
    view = prt.get_case(cn, actors["cparty"])
    assert [t["name"] for t in view.tasks] == ["supervise"] and view.tasks[0]["role"] == "community_party_org"
    assert view.summary["escalations"] == 1
    assert "prior_review:review_overdue" in [a for a, _ in events(prt, cn)]
    view = prt.complete_task(view.tasks[0]["id"], actors["cparty"],
                             {"supervision_note": "请支部三日内召开支委会。", "extend_days": 3})
    assert [t["name"] for t in view.tasks] == ["branch_review"]
    assert view.tasks[0]["due_at"] == "2026-12-07T16:00:00+00:00"  # 3 days from Wed 12-02 → Sat 12-05 → Mon 12-07
    view = prt.complete_task(view.tasks[0]["id"], actors["branch"], review(prt))
    assert view.summary["reviews"][0]["escalated"] is True
    assert [t["name"] for t in view.tasks] == ["arrange_vote"]


def test_unlisted_matter_confirmed_by_the_branch_skips_the_review_and_says_so(prt, actors, clock):
    cn = start(prt, actors, "unlisted", unlisted_name="小区绿化补种", unlisted_art278_item=9,
               unlisted_assembly_vote=False)
    view = prt.get_case(cn, actors["branch"])
    assert [t["name"] for t in view.tasks] == ["confirm_classification"]  # the proposal goes to the branch
    assert view.summary["stage"] == "confirming" and view.summary["proposed_unlisted"] is True
    for who in ("community", "cparty", "street"):  # only the branch confirms
        with pytest.raises(Forbidden):
            prt.complete_task(view.tasks[0]["id"], actors[who], confirm())
    view = prt.complete_task(view.tasks[0]["id"], actors["branch"], confirm())
    assert [t["name"] for t in view.tasks] == ["committee_decision"]
    assert view.summary["listed"] is False and view.summary["review_outcome"] == "not_required"
    history = events(prt, cn)
    assert (pr.REVIEW_NOT_REQUIRED, None) in history
    assert "免予小区党支部先议" in view.data["review_skipped"]["reason_zh"]
    view = decide(prt, actors, cn, clock, assembly=False)
    assert view.summary["outcome"] == "passed" and view.summary["decided_after_review"] is None


def test_the_branch_may_reclassify_an_unlisted_proposal(prt, actors, clock):
    from engine.runtime.errors import ValidationFailed

    cn = start(prt, actors, "unlisted", unlisted_name="调整停车服务收费", unlisted_art278_item=9,
               unlisted_assembly_vote=False)
    tid = task_named(prt, cn, actors["branch"], "confirm_classification")
    with pytest.raises(ValidationFailed):  # a code that is not on the catalogue
        prt.complete_task(tid, actors["branch"], confirm("reclassify", "parking_fees"))
    with pytest.raises(ValidationFailed):  # reclassify without saying to what
        prt.complete_task(tid, actors["branch"], confirm("reclassify"))
    view = prt.complete_task(tid, actors["branch"], confirm("reclassify", "service_fees"))
    assert [t["name"] for t in view.tasks] == ["branch_review"]
    assert view.summary["matter_code"] == "service_fees" and view.summary["listed"] is True
    view = prt.complete_task(view.tasks[0]["id"], actors["branch"], review(prt))
    assert [t["name"] for t in view.tasks] == ["arrange_vote"]  # service fees: the owners vote
    with prt.uow() as s:
        from sqlalchemy import select

        from engine.audit import case_chain
        from engine.db.models import AuditEvent

        details = [json.loads(d) for a, d in s.execute(select(AuditEvent.action, AuditEvent.detail).where(
            AuditEvent.chain == case_chain(cn), AuditEvent.action == pr.CLASSIFIED))]
    assert details[-1]["reclassified_by"] == "branch" and details[-1]["matter_code"] == "service_fees"


def test_unknown_matter_code_is_refused_not_skipped(prt, actors):
    from engine.runtime.errors import ValidationFailed

    cn = prt.start_case("prior_review", "PK-JP-XC-01", actors["community"]).case_number
    with pytest.raises(ValidationFailed) as err:
        prt.complete_task(task_named(prt, cn, actors["community"], "submit"), actors["community"],
                          submission("fund_usage"))
    assert "「事项」请从列表中选择（fund_usage 不在可选范围内）" in err.value.message_zh  # the catalogue list
    assert [t["name"] for t in prt.get_case(cn, actors["community"]).tasks] == ["submit"]


def test_vote_must_start_15_days_after_the_notice(prt, actors):
    from engine.runtime.errors import ValidationFailed
    from tests.prior_review.support import arrange_vote

    cn = start(prt, actors, "management_statute")
    prt.complete_task(task_named(prt, cn, actors["branch"], "branch_review"), actors["branch"], review(prt))
    tid = task_named(prt, cn, actors["community"], "arrange_vote")
    with pytest.raises(ValidationFailed) as err:
        prt.complete_task(tid, actors["community"], arrange_vote(prt, vote_start="2026-12-05"))
    assert "2026年12月6日" in err.value.message_zh
    view = prt.complete_task(tid, actors["community"], arrange_vote(prt, vote_start="2026-12-06"))
    assert view.data["vote_plan"]["vote_start"] == "2026-12-06"


def test_committee_decision_without_quorum_is_not_passed(prt, actors):
    cn = start(prt, actors, "major_other")
    prt.complete_task(task_named(prt, cn, actors["branch"], "branch_review"), actors["branch"], review(prt))
    from tests.prior_review.support import committee_decision

    view = prt.complete_task(task_named(prt, cn, actors["community"], "committee_decision"), actors["community"],
                             committee_decision(prt, total=7, present=3, agree=3))
    assert view.status == "completed" and view.summary["outcome"] == "rejected"
    assert documents(prt, cn)[-1] == "关于业主委员会决定事项的公告"
