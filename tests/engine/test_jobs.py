"""Async steps as jobs: the request commits in front of the step, the worker runs it once; failed
attempts back off on the injected clock, then become an incident an operator retries or skips."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import audit
from engine.db.job_models import Job
from engine.db.models import Attachment, Case
from engine.runtime import incidents
from engine.runtime.errors import Conflict, DeployError, Forbidden, NotFound, ValidationFailed
from engine.runtime.jobs import claim_due_jobs, run_due_jobs, run_job
from engine.runtime.service import deploy

from .job_support import ASYNC_BPMN, FAILURES, FORMS

COMPOUND = "PK-JP-XC-01"


@pytest.fixture
def rt(runtime):
    FAILURES["left"] = 0
    deploy(runtime, [ASYNC_BPMN], FORMS)
    return runtime


def reach_step(rt, actors, pages=3) -> str:
    view = rt.start_case("async_step", COMPOUND, actors["street"])
    rt.complete_task(view.tasks[0]["id"], actors["street"], {"applicant": "张三", "amount": pages, "review_days": 7})
    return view.case_number


def jobs_of(rt, number):
    with rt.uow() as s:
        case_id = s.scalar(select(Case.id).where(Case.case_number == number))
        return list(s.scalars(select(Job).where(Job.case_id == case_id)))


def made(rt, number) -> int:
    with rt.uow() as s:
        case_id = s.scalar(select(Case.id).where(Case.case_number == number))
        return s.scalar(select(func.count()).select_from(Attachment).where(Attachment.case_id == case_id))


def actions(rt, number) -> list[str]:
    with rt.uow() as s:
        return [e.action for e in s.scalars(select(audit.AuditEvent).where(audit.AuditEvent.chain == audit.case_chain(number))
                                            .order_by(audit.AuditEvent.seq))]


def test_the_request_commits_in_front_of_the_step_and_the_worker_runs_it_once(rt, actors):
    number = reach_step(rt, actors)
    case = rt.get_case(number, actors["street"])
    assert case.tasks == [] and case.status == "running"
    [job] = jobs_of(rt, number)
    assert (job.status, job.title, job.triggered_by, job.attempts) == ("pending", "生成材料", "street", 0)
    assert made(rt, number) == 0  # nothing of the step ran in the request
    assert incidents.job_progress(rt, job.id, actors["street"])["status"] == "pending"

    assert run_due_jobs(rt, "w1") == 1
    assert made(rt, number) == 1
    assert jobs_of(rt, number) == []
    assert [t["name"] for t in rt.get_case(number, actors["street"]).tasks] == ["review"]
    assert actions(rt, number)[-1] == "job_completed"
    assert incidents.job_progress(rt, job.id, actors["street"])["status"] == "done"
    assert run_due_jobs(rt, "w2") == 0  # nothing left: the effect is never made twice
    assert made(rt, number) == 1
    # Outside the jurisdiction the job's progress does not exist.
    with pytest.raises(NotFound):
        incidents.job_progress(rt, job.id, actors["community2"])


def test_failed_attempts_back_off_exponentially_on_the_clock(rt, actors, clock):
    number = reach_step(rt, actors)
    FAILURES["left"] = 2
    assert run_due_jobs(rt, "w") == 0
    [job] = jobs_of(rt, number)
    assert (job.attempts, job.status, job.last_error) == (1, "pending", "执行出错（RuntimeError）：打印机离线")
    assert job.run_at == clock.now() + timedelta(seconds=30) and job.claimed_by is None
    clock.advance(seconds=29)
    assert claim_due_jobs(rt, "w") == []  # backing off
    clock.advance(seconds=2)
    assert run_due_jobs(rt, "w") == 0
    [job] = jobs_of(rt, number)
    assert job.attempts == 2 and job.run_at == clock.now() + timedelta(seconds=60)  # doubled
    clock.advance(seconds=59)
    assert run_due_jobs(rt, "w") == 0
    clock.advance(seconds=2)
    assert run_due_jobs(rt, "w") == 1
    assert made(rt, number) == 1 and jobs_of(rt, number) == []
    assert actions(rt, number)[-3:] == ["job_failed", "job_failed", "job_completed"]


def spend_attempts(rt, clock, number):
    FAILURES["left"] = 99
    for _ in range(3):
        run_due_jobs(rt, "w")
        clock.advance(hours=1)
    [job] = jobs_of(rt, number)
    return job


def test_spent_attempts_raise_an_incident_that_an_operator_retries(rt, actors, clock):
    number = reach_step(rt, actors)
    job = spend_attempts(rt, clock, number)
    assert (job.status, job.attempts) == ("incident", 3)
    assert actions(rt, number)[-1] == "incident_raised"
    assert claim_due_jobs(rt, "w") == []  # an incident waits for a person

    [seen] = incidents.list_incidents(rt, actors["admin"])
    assert seen.case_number == number and seen.message == "执行出错（RuntimeError）：打印机离线"
    assert "RuntimeError" in seen.trace  # administrators see the stack trace
    [seen] = incidents.list_incidents(rt, actors["street"])
    assert seen.trace is None  # street staff do not
    for who in ("community", "auditor"):
        with pytest.raises(Forbidden):
            incidents.list_incidents(rt, actors[who])
    page = incidents.case_jobs(rt, number, actors["street"])
    assert page[0]["status"] == "incident" and page[0]["incident"]["trace"] is None

    version = rt.get_case(number, actors["street"]).version
    for who, exc in (("community", Forbidden), ("auditor", Forbidden), ("community2", Forbidden)):
        with pytest.raises(exc):
            incidents.retry(rt, job.id, actors[who])
    with pytest.raises(Conflict):  # the page was opened before the case changed
        incidents.retry(rt, job.id, actors["street"], expected_version=version - 1)
    assert jobs_of(rt, number)[0].status == "incident"

    FAILURES["left"] = 0
    incidents.retry(rt, job.id, actors["street"], expected_version=version)
    assert actions(rt, number)[-1] == "incident_retried"
    with pytest.raises(Conflict):  # a second click: already retried
        incidents.retry(rt, job.id, actors["street"])
    assert run_due_jobs(rt, "w") == 1
    assert made(rt, number) == 1 and incidents.list_incidents(rt, actors["admin"]) == []
    with rt.uow() as s:
        event = s.scalar(select(audit.AuditEvent).where(audit.AuditEvent.action == "incident_retried"))
        assert event.actor == "street"


def test_skipping_needs_a_reason_is_audited_and_goes_on_without_the_step(rt, actors, clock):
    number = reach_step(rt, actors)
    job = spend_attempts(rt, clock, number)
    for reason in ("", "   ", "长" * 501):
        with pytest.raises(ValidationFailed):
            incidents.skip(rt, job.id, actors["street"], reason)
    with pytest.raises(Forbidden):
        incidents.skip(rt, job.id, actors["community"], "已线下处理")
    assert jobs_of(rt, number)[0].status == "incident"
    result = incidents.skip(rt, job.id, actors["admin"], "材料已线下制作")
    assert result["status"] == "skipped"
    case = rt.get_case(number, actors["street"])
    assert [t["name"] for t in case.tasks] == ["review"] and made(rt, number) == 0
    assert jobs_of(rt, number) == []
    with rt.uow() as s:
        event = s.scalar(select(audit.AuditEvent).where(audit.AuditEvent.action == "job_skipped"))
        assert event.actor == "admin" and "材料已线下制作" in event.detail
    with pytest.raises(NotFound):
        incidents.skip(rt, job.id, actors["admin"], "再次跳过")


def test_a_step_the_process_does_not_allow_to_skip_can_only_be_retried(rt, actors, clock):
    number = reach_step(rt, actors)
    job = spend_attempts(rt, clock, number)
    with rt.uow() as s:
        s.get(Job, job.id).skippable = 0
    with pytest.raises(Forbidden):
        incidents.skip(rt, job.id, actors["admin"], "想跳过")
    assert jobs_of(rt, number)[0].status == "incident"


def test_a_lease_keeps_other_workers_off_until_it_runs_out(rt, actors, clock):
    number = reach_step(rt, actors)
    [job_id] = claim_due_jobs(rt, "crashed")
    assert claim_due_jobs(rt, "other") == []
    clock.advance(seconds=121)
    assert claim_due_jobs(rt, "other") == [job_id]
    assert run_job(rt, job_id, "crashed") == "gone"  # the dead worker's late attempt does nothing
    assert made(rt, number) == 0
    assert run_job(rt, job_id, "other") == "done"
    assert run_job(rt, job_id, "other") == "gone"
    assert made(rt, number) == 1


BAD = [
    ('name="hongwu:async" value="yes"', "只能为"),
    ('name="hongwu:retries" value="0"', "1～10"),
]


@pytest.mark.parametrize("swap, message", BAD)
def test_deploy_refuses_bad_async_properties(runtime, tmp_path, swap, message):
    text = ASYNC_BPMN.read_text(encoding="utf-8")
    original = 'name="hongwu:async" value="true"' if "async" in swap else 'name="hongwu:retries" value="3"'
    bad = tmp_path / "bad.bpmn"
    bad.write_text(text.replace(original, swap), encoding="utf-8")
    with pytest.raises(DeployError) as err:
        deploy(runtime, [bad], FORMS)
    assert message in err.value.message_zh and "slow_step" in err.value.message_zh


def test_deploy_refuses_async_on_a_user_task(runtime, tmp_path):
    text = ASYNC_BPMN.read_text(encoding="utf-8").replace(
        '<spiffworkflow:property name="formJsonSchemaFilename" value="sample/review.schema.json" />',
        '<spiffworkflow:property name="formJsonSchemaFilename" value="sample/review.schema.json" />'
        '<spiffworkflow:property name="hongwu:async" value="true" />')
    bad = tmp_path / "bad.bpmn"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(DeployError) as err:
        deploy(runtime, [bad], FORMS)
    assert "只有服务任务" in err.value.message_zh
