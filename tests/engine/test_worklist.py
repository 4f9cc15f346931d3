"""Claim, release, assign and delegate; comments with @mentions; supervisor controls (cancel,
suspend/resume, reschedule a timer, reopen the last step) — through the service layer, and by
trying to walk around each rule (another role, another jurisdiction, a stale version, a suspended
case's task or timer)."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from engine import audit
from engine.db.models import HumanTask, Timer
from engine.db.worklist_models import CaseComment, TaskClaim
from engine.orgs import ensure_user
from engine.runtime.actors import load_actor
from engine.runtime.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.engine.support import apply_data


@pytest.fixture
def team(sample, actors, clock):
    """The demo actors plus a second 社区党组织 user in 新城社区 (a colleague to assign to), one in
    文景社区 (another jurisdiction) and a second street worker."""
    with sample.uow() as s:
        ensure_user(s, "cparty_b", "钱社区党委", "community_party_org", "PK-JP-XC", None, clock.now())
        ensure_user(s, "cparty_wj", "冯社区党委", "community_party_org", "PK-JP-WJ", None, clock.now())
        ensure_user(s, "street_b", "郑街道", "street_staff", "PK-JP", None, clock.now())
    with sample.uow() as s:
        return {**actors, **{u: load_actor(s, u) for u in ("cparty_b", "cparty_wj", "street_b")}}


def _review_case(rt, a, compound="PK-JP-XC-01", days=7):
    case = rt.start_case("sample_review", compound, a["street"])
    case = rt.complete_task(case.tasks[0]["id"], a["street"], apply_data(amount=5000, days=days))
    return case


def _actions(rt, case_number):
    with rt.uow() as s:
        return [(e.action, e.actor, json.loads(e.detail) if e.detail else None)
                for e in audit.chain_events(s, audit.case_chain(case_number))]


def _chain_ok(rt, case_number):
    with rt.uow() as s:
        return all(r.ok for r in audit.verify(s, audit.case_chain(case_number)))


# --- claim, release, assign, delegate ----------------------------------------------------------


def test_claim_moves_task_from_pool_to_mine_and_release_returns_it(sample, team):
    rt, a = sample, team
    case = _review_case(rt, a)
    task_id = case.tasks[0]["id"]
    assert [t.id for t in rt.list_tasks(a["cparty"], scope="pool")] == [task_id]
    assert rt.count_tasks(a["cparty"], scope="mine") == 0
    held = rt.claim_task(task_id, a["cparty"])
    assert held["holder"] == "cparty" and held["kind"] == "claimed"
    assert rt.claim_task(task_id, a["cparty"])["holder"] == "cparty"  # again: nothing changes
    assert [t.id for t in rt.list_tasks(a["cparty"], scope="mine")] == [task_id]
    assert rt.list_tasks(a["cparty"], scope="pool") == [] and rt.list_tasks(a["cparty_b"], scope="pool") == []
    assert [t.id for t in rt.list_tasks(a["cparty_b"])] == [task_id]  # "all" still shows the role's tasks
    assert rt.get_case(case.case_number, a["street"]).tasks[0]["holder"]["holder"] == "cparty"
    rt.release_task(task_id, a["cparty"])
    assert [t.id for t in rt.list_tasks(a["cparty_b"], scope="pool")] == [task_id]
    events = [(x, d) for x, _, d in _actions(rt, case.case_number) if x.startswith("task_")]
    assert events[-2:] == [("task_claimed", {"task_id": task_id, "user": "cparty"}),
                           ("task_released", {"task_id": task_id, "user": "cparty"})]
    assert _chain_ok(rt, case.case_number)


def test_claim_refused_to_other_roles_jurisdictions_and_when_held(sample, team):
    rt, a = sample, team
    case = _review_case(rt, a)
    task_id = case.tasks[0]["id"]
    with pytest.raises(Forbidden):
        rt.claim_task(task_id, a["street"])  # not the task's role (a supervisor assigns instead)
    with pytest.raises(Forbidden):
        rt.claim_task(task_id, a["auditor"])
    with pytest.raises(NotFound):
        rt.claim_task(task_id, a["cparty_wj"])  # another community: looks unknown
    rt.claim_task(task_id, a["cparty"])
    with pytest.raises(Conflict) as refused:
        rt.claim_task(task_id, a["cparty_b"])
    assert "刘社区党委" in refused.value.message_zh
    with pytest.raises(Forbidden):
        rt.release_task(task_id, a["cparty_b"])  # a colleague may not take it back
    refusals = [x for x, _, _ in _actions(rt, case.case_number) if x.startswith("refused:")]
    assert refusals == ["refused:claim_task", "refused:claim_task", "refused:claim_task", "refused:release_task"]
    with rt.uow() as s:
        assert s.get(TaskClaim, task_id).holder == "cparty"


def test_supervisor_assigns_and_delegates_to_eligible_users_only(sample, team):
    rt, a = sample, team
    case = _review_case(rt, a)
    task_id = case.tasks[0]["id"]
    assert [u for u, _ in rt.task_assignees(task_id, a["street"])] == ["cparty", "cparty_b"]
    assert rt.task_assignees(task_id, a["cparty"]) == []  # not a supervisor of a colleague's task
    with pytest.raises(Forbidden):
        rt.assign_task(task_id, a["cparty"], "cparty_b")
    with pytest.raises(ValidationFailed, match="不是本辖区"):
        rt.assign_task(task_id, a["street"], "cparty_wj")  # holds the role, but in another community
    with pytest.raises(ValidationFailed):
        rt.assign_task(task_id, a["street"], "branch")  # another role
    with pytest.raises(ValidationFailed):
        rt.assign_task(task_id, a["street"], "nobody")
    held = rt.assign_task(task_id, a["street"], "cparty", "熟悉该小区")
    assert (held["holder"], held["kind"], held["by"]) == ("cparty", "assigned", "street")
    with pytest.raises(ValidationFailed):
        rt.delegate_task(task_id, a["sparty"], "cparty_b", "  ")  # a delegation needs a reason
    held = rt.delegate_task(task_id, a["sparty"], "cparty_b", "刘社区党委休假")  # the superior organisation
    assert (held["holder"], held["kind"], held["reason"]) == ("cparty_b", "delegated", "刘社区党委休假")
    events = [(x, d) for x, _, d in _actions(rt, case.case_number) if x in ("task_assigned", "task_delegated")]
    assert events == [("task_assigned", {"task_id": task_id, "assignee": "cparty", "reason": "熟悉该小区"}),
                      ("task_delegated", {"task_id": task_id, "assignee": "cparty_b", "reason": "刘社区党委休假",
                                          "previous": "cparty"})]
    assert [t.id for t in rt.list_tasks(a["cparty_b"], scope="mine")] == [task_id]


def test_completing_a_task_someone_else_holds_is_refused_and_audited(sample, team):
    rt, a = sample, team
    case = _review_case(rt, a)
    task_id = case.tasks[0]["id"]
    rt.assign_task(task_id, a["street"], "cparty_b")
    with pytest.raises(Forbidden) as refused:
        rt.complete_task(task_id, a["cparty"], {"decision": "agree"})
    assert "钱社区党委" in refused.value.message_zh
    assert ("refused:complete_task", "cparty") in [(x, u) for x, u, _ in _actions(rt, case.case_number)]
    done = rt.complete_task(task_id, a["cparty_b"], {"decision": "agree"})
    assert done.status == "completed"
    with rt.uow() as s:  # the claim went with the task row
        assert s.scalar(select(func.count()).select_from(TaskClaim)) == 0


def test_claim_goes_when_the_task_is_no_longer_ready(sample, team, clock):
    rt, a = sample, team
    case = _review_case(rt, a, days=3)
    rt.claim_task(case.tasks[0]["id"], a["cparty"])
    clock.advance(days=10)
    assert rt.run_due_timers("w") == 1  # the deadline escalated the case: the review is gone
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(TaskClaim)) == 0
    assert rt.list_tasks(a["cparty"], scope="mine") == []


# --- comments ---------------------------------------------------------------------------------


def test_comment_with_mentions_is_stored_and_on_the_chain(sample, team):
    rt, a = sample, team
    case = _review_case(rt, a)
    task_id = case.tasks[0]["id"]
    c = rt.add_comment(case.case_number, a["street"], "请 @cparty 和 @cparty_b 本周内审查。", task_id=task_id)
    assert c["mentions"] == ["cparty", "cparty_b"] and c["task_name"] == "党组织审查"
    rt.add_comment(case.case_number, a["cparty"], "收到，@street.")
    assert [x["author"] for x in rt.list_comments(case.case_number, a["sparty"])] == ["street", "cparty"]
    events = [(x, d) for x, _, d in _actions(rt, case.case_number) if x == "comment_added"]
    assert events[0][1] == {"comment_id": c["id"], "task_id": task_id, "mentions": ["cparty", "cparty_b"],
                            "body": "请 @cparty 和 @cparty_b 本周内审查。"}
    assert events[1][1]["mentions"] == ["street"]
    assert _chain_ok(rt, case.case_number)


@pytest.mark.parametrize("body,why", [
    ("", "请填写"), ("   ", "请填写"), ("x" * 2001, "2000"),
    ("请 @cparty_wj 看看", "不是能查看本案件"),  # another community cannot see the case
    ("请 @ghost 看看", "不是能查看本案件"),
])
def test_bad_comments_change_nothing(sample, team, body, why):
    rt, a = sample, team
    case = _review_case(rt, a)
    before = _actions(rt, case.case_number)
    with pytest.raises(ValidationFailed) as refused:
        rt.add_comment(case.case_number, a["street"], body)
    assert why in refused.value.message_zh
    assert _actions(rt, case.case_number) == before
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(CaseComment)) == 0


def test_comments_refused_outside_jurisdiction_to_readers_and_on_foreign_tasks(sample, team):
    rt, a = sample, team
    case = _review_case(rt, a)
    other = _review_case(rt, a, compound="PK-JP-WJ-01")
    with pytest.raises(NotFound):
        rt.add_comment(case.case_number, a["cparty_wj"], "看不到的案件")
    with pytest.raises(Forbidden):
        rt.add_comment(case.case_number, a["auditor"], "审计只读")
    with pytest.raises(NotFound):
        rt.add_comment(case.case_number, a["street"], "别的案件的任务", task_id=other.tasks[0]["id"])


# --- supervisor controls ----------------------------------------------------------------------


def test_suspended_case_refuses_completion_and_its_timers_wait(sample, team, clock):
    rt, a = sample, team
    case = _review_case(rt, a, days=3)
    task_id = case.tasks[0]["id"]
    with pytest.raises(ValidationFailed):
        rt.suspend_case(case.case_number, a["street"], "")
    with pytest.raises(Forbidden):
        rt.suspend_case(case.case_number, a["cparty"], "不是街道")
    with pytest.raises(NotFound):
        rt.suspend_case(case.case_number, a["community2"], "别的社区")
    view = rt.suspend_case(case.case_number, a["street"], "业主反映材料有误，核实期间暂停",
                           expected_version=case.version)
    assert view.status == "suspended"
    with pytest.raises(Conflict, match="suspended"):
        rt.complete_task(task_id, a["cparty"], {"decision": "agree"})
    with pytest.raises(Conflict):
        rt.claim_task(task_id, a["cparty"])
    clock.advance(days=10)  # the review deadline passes while suspended: nothing fires
    assert rt.run_due_timers("w") == 0
    assert rt.get_case(case.case_number, a["street"]).status == "suspended"
    with pytest.raises(Conflict):
        rt.suspend_case(case.case_number, a["street"], "再次暂停")
    with pytest.raises(Conflict):  # the version the supervisor saw is stale
        rt.resume_case(case.case_number, a["street"], "核实完毕", expected_version=case.version)
    resumed = rt.resume_case(case.case_number, a["street"], "核实完毕")
    assert resumed.status == "running"
    assert rt.run_due_timers("w") == 1  # the passed deadline takes effect once resumed
    acts = [(x, d) for x, _, d in _actions(rt, case.case_number)]
    assert ("case_suspended", {"reason": "业主反映材料有误，核实期间暂停"}) in acts
    assert ("case_resumed", {"reason": "核实完毕"}) in acts
    assert "refused:complete_task" in [x for x, _ in acts]
    assert _chain_ok(rt, case.case_number)


def test_cancelled_case_keeps_history_and_nothing_stays_open(sample, team):
    rt, a = sample, team
    case = _review_case(rt, a)
    rt.claim_task(case.tasks[0]["id"], a["cparty"])
    view = rt.cancel_case(case.case_number, a["admin"], "重复立案")
    assert view.status == "cancelled" and view.tasks == [] and view.timers == []
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(HumanTask)) == 0
        assert s.scalar(select(func.count()).select_from(Timer)) == 0
        assert s.scalar(select(func.count()).select_from(TaskClaim)) == 0
    with pytest.raises(Conflict):
        rt.cancel_case(case.case_number, a["admin"], "再撤销一次")
    with pytest.raises(Conflict):
        rt.resume_case(case.case_number, a["admin"], "恢复已撤销的")
    assert rt.list_tasks(a["cparty"]) == []
    assert ("case_cancelled", {"reason": "重复立案"}) in [(x, d) for x, _, d in _actions(rt, case.case_number)]
    assert _chain_ok(rt, case.case_number)


def test_reschedule_timer_moves_the_deadline_and_the_task_due(sample, team, clock):
    rt, a = sample, team
    case = _review_case(rt, a, days=3)
    timer = case.timers[0]
    with pytest.raises(ValidationFailed):
        rt.reschedule_timer(case.case_number, timer["id"], a["street"], "2026-11-01", "期限设错")  # in the past
    with pytest.raises(ValidationFailed):
        rt.reschedule_timer(case.case_number, timer["id"], a["street"], "明天", "期限设错")
    with pytest.raises(Forbidden):
        rt.reschedule_timer(case.case_number, timer["id"], a["cparty"], "2026-12-31", "期限设错")
    with pytest.raises(NotFound):
        rt.reschedule_timer(case.case_number, "no-such-timer", a["street"], "2026-12-31", "期限设错")
    view = rt.reschedule_timer(case.case_number, timer["id"], a["street"], "2026-12-31", "审查期限应为三十日")
    new_due = "2026-12-31T16:00:00+00:00"  # 24:00 Beijing time of 12-31
    assert (view.timers[0]["due_at"], view.tasks[0]["due_at"]) == (new_due, new_due)
    ev = [d for x, _, d in _actions(rt, case.case_number) if x == "timer_rescheduled"][0]
    assert ev == {"timer_id": timer["id"], "old_due": timer["due_at"], "new_due": new_due,
                  "reason": "审查期限应为三十日"}
    clock.advance(days=10)  # the old deadline has passed: nothing fires
    assert rt.run_due_timers("w") == 0
    assert rt.recount_deadlines(a["admin"]).moved == []  # a holiday recount leaves it where it was put
    clock.set(datetime(2026, 12, 31, 16, 0, 1, tzinfo=UTC))
    assert rt.run_due_timers("w") == 1


def test_reschedule_on_a_suspended_case_keeps_it_suspended(sample, team):
    rt, a = sample, team
    case = _review_case(rt, a, days=3)
    rt.suspend_case(case.case_number, a["street"], "核实")
    view = rt.reschedule_timer(case.case_number, case.timers[0]["id"], a["street"], "2026-12-20", "顺延")
    assert view.status == "suspended"
    assert _chain_ok(rt, case.case_number)


def test_reopen_last_step_gives_a_new_ready_task_and_keeps_history(sample, team):
    rt, a = sample, team
    case = rt.start_case("sample_review", "PK-JP-XC-01", a["street"])
    with pytest.raises(Conflict):
        rt.reopen_step(case.case_number, a["street"], "还没有办理过")
    case = rt.complete_task(case.tasks[0]["id"], a["street"], apply_data(amount=5000, days=7))
    assert [t["name"] for t in case.tasks] == ["review"]
    with pytest.raises(Forbidden):
        rt.reopen_step(case.case_number, a["cparty"], "填错了")
    view = rt.reopen_step(case.case_number, a["street"], "申请金额填错")
    assert [t["name"] for t in view.tasks] == ["apply"] and view.timers == []
    assert view.status == "running"
    # The step is done again, this time with the right amount: the case ends without a review.
    done = rt.complete_task(view.tasks[0]["id"], a["street"], apply_data(amount=100))
    assert done.status == "completed"
    acts = [x for x, _, _ in _actions(rt, case.case_number)]
    assert acts.count("task_completed") == 2 and "step_reopened" in acts
    ev = [d for x, _, d in _actions(rt, case.case_number) if x == "step_reopened"][0]
    assert ev["task_spec"] == "apply" and ev["reason"] == "申请金额填错"
    assert _chain_ok(rt, case.case_number)


def test_controls_refused_on_stale_version_and_audited(sample, team):
    rt, a = sample, team
    case = _review_case(rt, a)
    with pytest.raises(Conflict):
        rt.cancel_case(case.case_number, a["street"], "重复", expected_version=case.version - 1)
    assert rt.get_case(case.case_number, a["street"]).status == "running"
    assert "refused:cancel_case" in [x for x, _, _ in _actions(rt, case.case_number)]


# --- overdue by the case's own clock ----------------------------------------------------------


def test_overdue_uses_the_case_clock_in_a_training_database(sample, team, clock):
    rt, a = sample, team
    rt.mark_training(a["admin"])
    case = _review_case(rt, a, days=3)
    other = _review_case(rt, a, compound="PK-JP-XC-02", days=3)
    assert rt.count_tasks(a["cparty"], overdue_only=True) == 0
    rt.advance_case_clock(case.case_number, a["admin"], 2, "培训演示")
    # 2 days on: not yet due on either clock.
    assert rt.count_tasks(a["cparty"], overdue_only=True) == 0
    with rt.uow() as s:
        from engine.runtime.overdue import overdue_by_community

        assert overdue_by_community(s, a["street"], "PK/PK-JP/", rt.now()) == []
    clock.advance(days=2)  # real time 2 days on: the moved case is 4 days on, past its 3-day period
    late = rt.list_tasks(a["cparty"], overdue_only=True)
    assert [t.case_number for t in late] == [case.case_number]
    assert other.case_number not in [t.case_number for t in late]
    with rt.uow() as s:
        from engine.runtime.overdue import overdue_by_community

        groups = overdue_by_community(s, a["street"], "PK/PK-JP/", rt.now())
    assert [(g["name"], [t["case_number"] for t in g["tasks"]]) for g in groups] == [("新城社区", [case.case_number])]


def test_training_clock_does_not_move_a_suspended_case(sample, team):
    rt, a = sample, team
    rt.mark_training(a["admin"])
    case = _review_case(rt, a, days=3)
    rt.suspend_case(case.case_number, a["admin"], "培训：暂停演示")
    with pytest.raises(Conflict) as refused:
        rt.advance_case_clock(case.case_number, a["admin"], 10, "跳过审查期")
    assert "已暂停" in refused.value.message_zh
    assert rt.get_case(case.case_number, a["admin"]).clock_offset_days == 0
