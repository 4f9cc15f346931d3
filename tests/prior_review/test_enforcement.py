"""No route records a committee or assembly decision on a listed matter without a completed
party-branch review: not a diagram that skips it, not the service layer, not the CLI. Every
refusal is in the case's audit chain."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.audit import case_chain
from engine.db.models import AuditEvent, Case
from engine.domain import prior_review as pr
from engine.runtime.errors import Forbidden
from engine.runtime.service import deploy
from tests.prior_review.support import (
    COMPOUND,
    FORMS,
    committee_decision,
    count_votes,
    events,
    review,
    start,
    submission,
    task_named,
)

SKIPPING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_forged" targetNamespace="t">
  <bpmn:process id="prior_review" name="先议事项（跳过先议的篡改版）" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="提交方"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>pin</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>submit</bpmn:flowNodeRef><bpmn:flowNodeRef>classify</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="业主委员会"><bpmn:flowNodeRef>decide</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>record</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="pin" name="锁定目录"><bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="prior_review.pin_catalogue" resultVariable="catalogue_pin" />
      </bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:userTask id="submit" name="提交事项"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="prior_review/submit.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:serviceTask id="classify" name="分类"><bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="prior_review.classify" resultVariable="classification" />
      </bpmn:extensionElements><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:userTask id="decide" name="业委会直接决定"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="prior_review/{form}.schema.json" />{guard}
      </spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>
    <bpmn:serviceTask id="record" name="记录决定"><bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="{service}" resultVariable="decision" />
      </bpmn:extensionElements><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pin" />
    <bpmn:sequenceFlow id="f2" sourceRef="pin" targetRef="submit" />
    <bpmn:sequenceFlow id="f3" sourceRef="submit" targetRef="classify" />
    <bpmn:sequenceFlow id="f4" sourceRef="classify" targetRef="decide" />
    <bpmn:sequenceFlow id="f5" sourceRef="decide" targetRef="record" />
    <bpmn:sequenceFlow id="f6" sourceRef="record" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
GUARD = '<spiffworkflow:property name="completionGuard" value="prior_review.require_review" />'


def _forged(runtime, tmp_path, *, guarded: bool, service: str = "prior_review.record_committee_decision",
            form: str = "committee_decision"):
    path = tmp_path / "prior_review.bpmn"
    path.write_text(SKIPPING.format(guard=GUARD if guarded else "", service=service, form=form), encoding="utf-8")
    deploy(runtime, [path], FORMS)


def _refusals(runtime, cn: str) -> list[dict]:
    with runtime.uow() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.chain == case_chain(cn),
                                                  AuditEvent.action == "refused:complete_task")).all()
        return [json.loads(r.detail) | {"actor": r.actor, "task_name": r.task_name} for r in rows]


def _version(runtime, cn: str) -> int:
    with runtime.uow() as s:
        return s.scalar(select(Case.version).where(Case.case_number == cn))


def _assert_refused_and_unchanged(runtime, actors, cn: str, task_id: str, actor, data: dict):
    version = _version(runtime, cn)
    with pytest.raises(Forbidden) as err:
        runtime.complete_task(task_id, actor, data)
    assert "须经小区党支部先议同意" in err.value.message_zh or "党支部书记" in err.value.message_zh
    assert _version(runtime, cn) == version  # nothing changed
    assert [t["id"] for t in runtime.get_case(cn, actors["community"]).tasks] == [task_id]
    assert pr.DECISION_RECORDED not in [a for a, _ in events(runtime, cn)]
    refusals = _refusals(runtime, cn)
    assert refusals and refusals[-1]["code"] == "forbidden" and refusals[-1]["actor"] == actor.username
    return refusals[-1]


@pytest.mark.parametrize("guarded", [True, False], ids=["user-task-guard", "service-task-check"])
def test_a_diagram_that_skips_the_review_cannot_record_a_committee_decision(runtime, actors, tmp_path, guarded):
    _forged(runtime, tmp_path, guarded=guarded)
    cn = start(runtime, actors, "common_income")  # listed, committee may decide
    tid = task_named(runtime, cn, actors["community"], "decide")
    refusal = _assert_refused_and_unchanged(runtime, actors, cn, tid, actors["community"], committee_decision(runtime))
    assert "先议" in refusal["message_zh"] and refusal["task_name"] == "业委会直接决定"


def test_a_diagram_that_skips_the_review_cannot_count_an_assembly_vote(runtime, actors, tmp_path):
    from tests.prior_review.support import arrange_vote

    _forged(runtime, tmp_path, guarded=False, service="prior_review.count_vote", form="count_votes")
    cn = start(runtime, actors, "fund_raising")
    tid = task_named(runtime, cn, actors["community"], "decide")
    # the roll would come from the arrangement step; the check refuses before any counting
    _assert_refused_and_unchanged(runtime, actors, cn, tid, actors["community"],
                                  count_votes(runtime, ["同意本议案"], 80, 20))
    assert arrange_vote  # the forged diagram never had a vote arrangement either


def test_the_forged_diagram_cannot_decide_an_unlisted_proposal_the_branch_never_confirmed(runtime, actors, tmp_path):
    """"Not on the list" is the submitter's proposal, not a classification: without the branch's
    confirmation nothing may be decided, even where the diagram skips the confirmation."""
    _forged(runtime, tmp_path, guarded=True)
    cn = runtime.start_case("prior_review", COMPOUND, actors["community"]).case_number
    runtime.complete_task(task_named(runtime, cn, actors["community"], "submit"), actors["community"],
                          submission("unlisted", unlisted_name="楼道灯具更换", unlisted_art278_item=9,
                                     unlisted_assembly_vote=False))
    tid = task_named(runtime, cn, actors["community"], "decide")
    with pytest.raises(Forbidden) as err:
        runtime.complete_task(tid, actors["community"], committee_decision(runtime))
    assert "尚未完成先议事项分类" in err.value.message_zh
    assert pr.UNLISTED_PROPOSED in [a for a, _ in events(runtime, cn)]
    assert pr.DECISION_RECORDED not in [a for a, _ in events(runtime, cn)]


@pytest.mark.parametrize("item", [3, 4, 5, 6, 7, 8])
def test_a_matter_of_items_3_to_8_declared_unlisted_still_goes_to_the_branch(prt, actors, item):
    cn = start(prt, actors, "unlisted", unlisted_name="自称非先议的事项", unlisted_art278_item=item,
               unlisted_assembly_vote=False)
    view = prt.get_case(cn, actors["branch"])
    assert [t["name"] for t in view.tasks] == ["branch_review"]
    assert view.summary["listed"] is True and view.summary["proposed_unlisted"] is True
    assert view.summary["art278_item"] == item and view.summary["assembly_vote"] is True
    history = events(prt, cn)
    assert (pr.CLASSIFIED, None) in history and (pr.REVIEW_NOT_REQUIRED, None) not in history


def test_the_committee_cannot_decide_a_matter_that_needs_the_owners_vote(runtime, actors, tmp_path):
    """A forged diagram that routes an item 4 matter to the committee after a genuine review."""
    path = tmp_path / "prior_review.bpmn"
    forged = SKIPPING.format(guard=GUARD, service="prior_review.record_committee_decision", form="committee_decision")
    # put the real review between classification and the committee's decision
    forged = forged.replace('<bpmn:sequenceFlow id="f4" sourceRef="classify" targetRef="decide" />',
                            '<bpmn:sequenceFlow id="f4" sourceRef="classify" targetRef="rv" />'
                            '<bpmn:sequenceFlow id="f4b" sourceRef="rv" targetRef="rec" />'
                            '<bpmn:sequenceFlow id="f4c" sourceRef="rec" targetRef="decide" />')
    forged = forged.replace('<bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>',
                            '<bpmn:incoming>f4c</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>'
                            '<bpmn:userTask id="rv" name="先议"><bpmn:extensionElements><spiffworkflow:properties>'
                            '<spiffworkflow:property name="formJsonSchemaFilename" value="prior_review/review.schema.json" />'
                            '</spiffworkflow:properties></bpmn:extensionElements><bpmn:incoming>f4</bpmn:incoming>'
                            '<bpmn:outgoing>f4b</bpmn:outgoing></bpmn:userTask>'
                            '<bpmn:serviceTask id="rec" name="记录先议"><bpmn:extensionElements>'
                            '<spiffworkflow:serviceTaskOperator id="prior_review.record_review" resultVariable="review" />'
                            '</bpmn:extensionElements><bpmn:incoming>f4b</bpmn:incoming><bpmn:outgoing>f4c</bpmn:outgoing>'
                            '</bpmn:serviceTask>')
    forged = forged.replace('<bpmn:lane id="l2" name="业主委员会">',
                            '<bpmn:lane id="l3" name="小区党支部"><bpmn:flowNodeRef>rv</bpmn:flowNodeRef>'
                            '<bpmn:flowNodeRef>rec</bpmn:flowNodeRef></bpmn:lane><bpmn:lane id="l2" name="业主委员会">')
    path.write_text(forged, encoding="utf-8")
    deploy(runtime, [path], FORMS)
    cn = start(runtime, actors, "property_company")
    runtime.complete_task(task_named(runtime, cn, actors["branch"], "rv"), actors["branch"], review(runtime))
    tid = task_named(runtime, cn, actors["community"], "decide")
    with pytest.raises(Forbidden) as err:
        runtime.complete_task(tid, actors["community"], committee_decision(runtime))
    assert "业主大会表决" in err.value.message_zh
    assert pr.DECISION_RECORDED not in [a for a, _ in events(runtime, cn)]
    assert _refusals(runtime, cn)[-1]["actor"] == "community"


def test_a_disabled_matter_is_not_listed(runtime, actors, tmp_path):
    from engine.orgs import org_by_code
    from engine.processes.prior_review import save_catalogue

    value = pr.default_setting()
    pr.find_matter(value, "common_income")["enabled"] = False  # item 9: a street may
    with runtime.uow() as s:
        save_catalogue(s, org_by_code(s, "PK-JP"), value, actors["street"], runtime.now())
    _forged(runtime, tmp_path, guarded=True)
    cn = start(runtime, actors, "common_income")
    view = runtime.complete_task(task_named(runtime, cn, actors["community"], "decide"), actors["community"],
                                 committee_decision(runtime))
    assert view.status == "completed"


def test_only_the_party_branch_gives_the_review(prt, actors):
    cn = start(prt, actors, "property_company")
    tid = task_named(prt, cn, actors["branch"], "branch_review")
    for who in ("community", "cparty", "street", "admin"):  # wrong role: refused by the service layer
        with pytest.raises(Forbidden):
            prt.complete_task(tid, actors[who], review(prt))
    from engine.runtime.actors import Actor

    system = Actor.system("cli")  # the system account may run any task, but never gives the branch's opinion
    with pytest.raises(Forbidden) as err:
        prt.complete_task(tid, system, review(prt))
    assert "党支部书记" in err.value.message_zh
    refusals = _refusals(prt, cn)
    assert [r["actor"] for r in refusals] == ["community", "cparty", "street", "admin", "cli"]
    assert pr.REVIEW_RECORDED not in [a for a, _ in events(prt, cn)]
    assert [t["name"] for t in prt.get_case(cn, actors["branch"]).tasks] == ["branch_review"]


def test_review_results_cannot_be_forged_through_form_data(prt, actors):
    from engine.runtime.errors import ValidationFailed

    cn = prt.start_case("prior_review", COMPOUND, actors["community"]).case_number
    tid = task_named(prt, cn, actors["community"], "submit")
    for forged in ({"review_outcome": "agree"}, {"classification": {"listed": False, "assembly_vote": False}},
                   {"case_summary": {"decided_after_review": True}}, {"review": {"outcome": "agree"}}):
        with pytest.raises(ValidationFailed):
            prt.complete_task(tid, actors["community"], submission("fund_use") | forged)
    assert [t["name"] for t in prt.get_case(cn, actors["community"]).tasks] == ["submit"]


def test_a_resubmitted_proposal_needs_a_fresh_review(prt, actors, tmp_path):
    """An "agree" of an earlier round does not cover the revised proposal."""
    from engine.processes.prior_review import check_review

    cn = start(prt, actors, "fund_use")
    prt.complete_task(task_named(prt, cn, actors["branch"], "branch_review"), actors["branch"],
                      review(prt, "agree_with_changes"))
    prt.complete_task(task_named(prt, cn, actors["community"], "revise"), actors["community"],
                      {"title": "修改稿", "matter_code": "fund_use", "description": "修改稿。", "revision_note": "已修改。"})
    with prt.uow() as s:
        case = s.scalar(select(Case).where(Case.case_number == cn))
        with pytest.raises(Forbidden):
            check_review(s, case)


def test_cli_task_complete_cannot_skip_the_review(runtime, actors, tmp_path):
    from typer.testing import CliRunner

    from engine.cli import app

    _forged(runtime, tmp_path, guarded=True)
    cn = start(runtime, actors, "property_company")
    tid = task_named(runtime, cn, actors["community"], "decide")
    data = tmp_path / "decision.json"
    data.write_text(json.dumps(committee_decision(runtime), ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["--db", runtime.url, "task", "complete", tid, "--as", "community",
                                      "--data", f"@{data}"])
    assert result.exit_code == 2
    assert "须经小区党支部先议同意" in result.output
    assert _refusals(runtime, cn)[-1]["actor"] == "community"
    assert pr.DECISION_RECORDED not in [a for a, _ in events(runtime, cn)]


def test_cli_cannot_give_the_review_for_the_branch(prt, actors, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from engine.cli import app
    from engine.commands import _common
    from engine.runtime.service import Runtime

    # The CLI must see the case's (frozen) time: on the wall clock the review deadline has passed,
    # and a passed deadline now lapses the task before a late completion.
    monkeypatch.setattr(_common, "runtime", lambda: Runtime(_common.settings(), prt.clock))

    cn = start(prt, actors, "fund_raising")
    tid = task_named(prt, cn, actors["branch"], "branch_review")
    data = tmp_path / "review.json"
    data.write_text(json.dumps(review(prt), ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["--db", prt.url, "task", "complete", tid, "--as", "community",
                                      "--data", f"@{data}"])
    assert result.exit_code == 2 and "无权办理" in result.output
    assert _refusals(prt, cn)[-1]["actor"] == "community"
    result = CliRunner().invoke(app, ["--db", prt.url, "task", "complete", tid, "--as", "branch",
                                      "--data", f"@{data}"])
    assert result.exit_code == 0, result.output
    assert pr.REVIEW_RECORDED in [a for a, _ in events(prt, cn)]


def _api_client(runtime, clock, username: str):
    from fastapi.testclient import TestClient

    from engine.web.app import create_app
    from tests.web.support import seed_demo

    seed_demo(runtime)  # demo users get the demo password
    client = TestClient(create_app(runtime.settings, clock))
    s = client.post("/api/session", json={"username": username, "password": "hongwu-demo"})
    assert s.status_code == 200, s.text
    return client, {"X-CSRF-Token": s.json()["csrf_token"]}


def test_api_cannot_skip_the_review(runtime, actors, clock, tmp_path):
    _forged(runtime, tmp_path, guarded=True)
    cn = start(runtime, actors, "service_fees")
    tid = task_named(runtime, cn, actors["community"], "decide")
    client, headers = _api_client(runtime, clock, "community")
    r = client.post(f"/api/tasks/{tid}/complete", json={"data": committee_decision(runtime)}, headers=headers)
    assert r.status_code == 403 and "须经小区党支部先议同意" in r.json()["message_zh"]
    assert _refusals(runtime, cn)[-1]["actor"] == "community"
    assert pr.DECISION_RECORDED not in [a for a, _ in events(runtime, cn)]
    hist = client.get(f"/api/cases/{cn}/history").json()
    assert "refused:complete_task" in [e["action"] for e in hist["events"]]


def test_api_cannot_give_the_review_for_the_branch(prt, actors, clock):
    cn = start(prt, actors, "fund_use")
    tid = task_named(prt, cn, actors["branch"], "branch_review")
    client, headers = _api_client(prt, clock, "cparty")
    r = client.post(f"/api/tasks/{tid}/complete", json={"data": review(prt)}, headers=headers)
    assert r.status_code == 403
    assert _refusals(prt, cn)[-1]["actor"] == "cparty"
    assert pr.REVIEW_RECORDED not in [a for a, _ in events(prt, cn)]


def test_api_an_item_4_matter_declared_unlisted_still_goes_to_the_branch(prt, actors, clock):
    client, headers = _api_client(prt, clock, "community")
    cn = prt.start_case("prior_review", COMPOUND, actors["community"]).case_number
    tid = task_named(prt, cn, actors["community"], "submit")
    bypass = submission("unlisted", unlisted_name="解聘物业公司", unlisted_art278_item=4, unlisted_assembly_vote=False)
    r = client.post(f"/api/tasks/{tid}/complete", json={"data": bypass}, headers=headers)
    assert r.status_code == 200, r.text
    view = prt.get_case(cn, actors["branch"])
    assert [t["name"] for t in view.tasks] == ["branch_review"]
    assert (view.summary["matter_code"], view.summary["listed"], view.summary["assembly_vote"]) == \
        ("property_company", True, True)
