"""Jobs of other kinds on the same machinery: a large owner-roll import (progress every 500 rows,
the case ends as the synchronous completion leaves it, a refused roll changes and keeps nothing)
and a bulk audit export (progress per case, the file the synchronous export sends, downloaded only
by its requester and administrators); failures retry, become incidents, and are retried."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import audit
from engine.attachments import PendingUpload
from engine.db.job_models import Job
from engine.db.models import Attachment, Case
from engine.runtime import background, incidents, jobs
from engine.runtime.errors import Conflict, Forbidden, NotFound
from engine.runtime.jobs import JobPolicy, run_due_jobs
from engine.services import roll_import
from engine.web import audit_export, audit_pages
from tests.committee.conftest import Election

from .test_jobs import actions

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def roll_csv(rows: int, bad_line: int | None = None) -> bytes:
    lines = ["房号,业主编号,业主姓名,专有部分面积（㎡）,楼栋"]
    for i in range(1, rows + 1):
        area = "-5" if i + 1 == bad_line else f"{80 + i % 40}.5"
        lines.append(f"{i // 100 + 1}-{i:05d},O{i},业主{i},{area},{i // 100 + 1}")
    return ("\n".join(lines) + "\n").encode("utf-8")


@pytest.fixture
def progress_calls(monkeypatch):
    calls: list[tuple[str, int, int]] = []
    real = jobs.ProgressReporter.__call__

    def spy(self, done, total):
        calls.append((self.job_id, done, total))
        return real(self, done, total)

    monkeypatch.setattr(jobs.ProgressReporter, "__call__", spy)
    return calls


@pytest.fixture
def election(runtime, actors, monkeypatch):
    from engine.runtime.service import deploy

    monkeypatch.setenv("HONGWU_ROLL_JOB_ROWS", "1000")
    deploy(runtime, [ROOT / "bpmn" / "committee_election.bpmn"], ROOT / "forms")
    runtime.job_policy = JobPolicy(attempts=2, backoff_seconds=60)
    return Election(runtime, actors)


def to_roll_step(e: Election) -> str:
    view = e.rt.start_case("committee_election", "PK-JP-XC-01", e.actors["street"], {})
    e.case_number = view.case_number
    e.do("street", "open_case", {"case": {"election_kind": "first", "seats": 7, "term_years": 5}})
    e.do("street", "form_group", {"group": {"members": [
        {"name": "王街道", "kind": "street", "position": "组长"}, {"name": "张伟", "kind": "owner", "position": "副组长"},
        {"name": "李娜", "kind": "owner", "position": "成员"}]}})
    return e.task("street", "confirm_roll").id


def submit_roll(e: Election, content: bytes) -> str | None:
    task_id = e.task("street", "confirm_roll").id
    data = {"roll": {"file": {PendingUpload.MARK: "u0"}, "inspection_place": "小区物业服务中心"}}
    return roll_import.defer(e.rt, task_id, e.actors["street"], data, None,
                             {"u0": PendingUpload("roll.csv", content, "text/csv")})


def files_of(rt, number) -> int:
    with rt.uow() as s:
        case_id = s.scalar(select(Case.id).where(Case.case_number == number))
        return s.scalar(select(func.count()).select_from(Attachment).where(Attachment.case_id == case_id))


def test_a_large_roll_is_imported_by_a_job_and_the_case_ends_as_the_synchronous_path_leaves_it(
        election, progress_calls):
    e, rt = election, election.rt
    to_roll_step(e)
    number = e.case_number
    content = roll_csv(1200)
    job_id = submit_roll(e, content)
    assert job_id is not None
    assert e.open_names() == ["confirm_roll"]  # nothing ran in the request
    assert background.get_job(rt, job_id, e.actors["street"])["status"] == "pending"
    assert run_due_jobs(rt, "w1") == 1
    assert [(d, t) for j, d, t in progress_calls if j == job_id] == [(500, 1201), (1000, 1201), (1200, 1201)]
    view = background.get_job(rt, job_id, e.actors["street"])
    assert view["status"] == "done" and not view["refused"]
    assert "（1200 套房屋、1200 名业主）" in view["result"]["summary_zh"]
    assert view["done"] == view["total"] == 1201  # the rows, then the step's completion
    async_data = rt.get_case(number, e.actors["street"]).data["owner_roll"]
    async_names = e.open_names()
    async_actions = [a for a in actions(rt, number) if not a.startswith("job_")]
    # The same roll, completed synchronously on another case.
    to_roll_step(e)
    with rt.uow() as s:
        from engine.attachments import reference, store_attachment

        ref = reference(store_attachment(s, filename="roll.csv", content=content, actor="street", now=rt.now()))
    e.do("street", "confirm_roll", {"roll": {"file": ref, "inspection_place": "小区物业服务中心"}})
    sync_data = rt.get_case(e.case_number, e.actors["street"]).data["owner_roll"]
    assert {k: v for k, v in async_data.items() if k not in ("ref", "notice")} == \
        {k: v for k, v in sync_data.items() if k not in ("ref", "notice")}
    assert async_names == e.open_names()
    assert async_actions == [a for a in actions(rt, e.case_number) if not a.startswith("job_")]
    assert "task_completed" in async_actions
    with rt.uow() as s:  # the completion is the person's, not the worker's
        ev = s.scalars(select(audit.AuditEvent).where(audit.AuditEvent.chain == audit.case_chain(number),
                                                      audit.AuditEvent.action == "task_completed",
                                                      audit.AuditEvent.task_name == "确认业主名册")).one()
        assert ev.actor == "street"


def test_a_small_roll_is_completed_in_the_request(election):
    to_roll_step(election)
    assert submit_roll(election, roll_csv(20)) is None


def test_a_refused_large_roll_changes_nothing_and_keeps_no_file(election, progress_calls):
    e, rt = election, election.rt
    to_roll_step(e)
    before = (files_of(rt, e.case_number), rt.get_case(e.case_number, e.actors["street"]).version)
    job_id = submit_roll(e, roll_csv(1100, bad_line=777))
    assert files_of(rt, e.case_number) == before[0] + 1  # held for the job
    run_due_jobs(rt, "w1")
    view = background.get_job(rt, job_id, e.actors["street"])
    assert view["status"] == "done" and view["refused"]
    assert any("roll.csv:777" in p["message_zh"] for p in view["result"]["problems"])
    assert (files_of(rt, e.case_number), rt.get_case(e.case_number, e.actors["street"]).version) == before
    assert e.open_names() == ["confirm_roll"]
    assert "job_refused" in actions(rt, e.case_number)


def test_a_refused_roll_lists_so_many_problems_and_counts_the_rest(election, monkeypatch):
    e, rt = election, election.rt
    to_roll_step(e)
    monkeypatch.setattr(roll_import, "MAX_PROBLEMS_SHOWN", 1)
    content = roll_csv(1100, bad_line=5).replace(b"O20,", b"O19,")  # and a second name for owner O19
    job_id = submit_roll(e, content)
    run_due_jobs(rt, "w1")
    result = background.get_job(rt, job_id, e.actors["street"])["result"]
    assert len(result["problems"]) == 1 and result["more_problems"] == 1


def test_a_second_large_roll_waits_for_the_first_and_another_role_is_refused_up_front(election):
    e, rt = election, election.rt
    task_id = to_roll_step(e)
    assert submit_roll(e, roll_csv(1100))
    with pytest.raises(Conflict):
        submit_roll(e, roll_csv(1100))
    data = {"roll": {"file": {PendingUpload.MARK: "u0"}, "inspection_place": "x"}}
    with pytest.raises((Forbidden, NotFound)):
        roll_import.defer(rt, task_id, e.actors["community"], data, None,
                          {"u0": PendingUpload("roll.csv", roll_csv(1100))})
    assert files_of(rt, e.case_number) == 1


def test_a_failing_import_retries_becomes_an_incident_and_is_retried_from_the_list(election, monkeypatch, clock):
    e, rt = election, election.rt
    to_roll_step(e)
    job_id = submit_roll(e, roll_csv(1100))

    def broken(*a, **k):
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr("engine.processes.committee._shared.parse_roll", broken)
    assert run_due_jobs(rt, "w1") == 0
    assert background.get_job(rt, job_id, e.actors["street"])["attempts"] == 1
    clock.advance(seconds=61)
    run_due_jobs(rt, "w1")
    view = background.get_job(rt, job_id, e.actors["street"])
    assert view["status"] == "incident" and "磁盘已满" in view["error"]
    assert [i.job_id for i in incidents.list_incidents(rt, e.actors["admin"])] == [job_id]
    with pytest.raises(Forbidden):  # skipping is for steps of a diagram
        incidents.skip(rt, job_id, e.actors["admin"], "线下处理")
    monkeypatch.undo()
    monkeypatch.setenv("HONGWU_ROLL_JOB_ROWS", "1000")
    incidents.retry(rt, job_id, e.actors["street"])
    assert run_due_jobs(rt, "w1") == 1
    assert background.get_job(rt, job_id, e.actors["street"])["status"] == "done"
    assert "meeting_plan" in e.open_names()
    assert {"job_queued", "job_failed", "incident_raised", "incident_retried", "job_completed"} <= set(actions(rt, e.case_number))


# --- bulk audit export ------------------------------------------------------------------------

@pytest.fixture
def cases(runtime, actors):
    from engine.runtime.service import deploy

    from .job_support import ASYNC_BPMN, FORMS

    deploy(runtime, [ASYNC_BPMN], FORMS)
    numbers = []
    for _ in range(3):
        view = runtime.start_case("async_step", "PK-JP-XC-01", actors["street"])
        runtime.complete_task(view.tasks[0]["id"], actors["street"], {"applicant": "张三", "amount": 1, "review_days": 7})
        numbers.append(view.case_number)
    run_due_jobs(runtime, "w0")
    runtime.job_policy = JobPolicy(attempts=1)
    return sorted(numbers)


@pytest.mark.parametrize("fmt,raw", [("csv", False), ("jsonl", True), ("xlsx", False)])
def test_the_export_job_makes_the_file_the_synchronous_export_sends(runtime, actors, cases, progress_calls, fmt, raw):
    rt = runtime
    job_id = background.submit(rt, audit_export.KIND, actors["auditor"],
                               {"numbers": cases, "format": fmt, "raw": raw, "events": 0})
    assert run_due_jobs(rt, "w1") == 1
    assert [(d, t) for j, d, t in progress_calls if j == job_id] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    filename, media, content = background.result_file(rt, job_id, actors["auditor"])
    assert media == audit_pages.MEDIA[fmt] and filename.endswith(f".{fmt}")
    if fmt == "xlsx":
        from io import BytesIO

        from openpyxl import load_workbook

        def cells(data):
            return [list(r) for r in load_workbook(BytesIO(data)).worksheets[0].iter_rows(values_only=True)]
        assert cells(content) == cells(audit_pages.xlsx(rt, cases, raw))
    else:
        assert content == "".join(audit_pages.stream(rt, cases, fmt, raw)).encode("utf-8")


def test_only_the_requester_and_administrators_download_the_export_and_each_download_is_audited(
        runtime, actors, cases):
    rt = runtime
    job_id = background.submit(rt, audit_export.KIND, actors["auditor"],
                               {"numbers": cases, "format": "csv", "raw": False, "events": 0})
    run_due_jobs(rt, "w1")
    for other in ("street", "community"):
        with pytest.raises(NotFound):
            background.result_file(rt, job_id, actors[other])
        with pytest.raises(NotFound):
            background.get_job(rt, job_id, actors[other])
    background.result_file(rt, job_id, actors["admin"])
    background.result_file(rt, job_id, actors["auditor"])
    assert [j["id"] for j in background.my_jobs(rt, actors["auditor"])] == [job_id]
    assert background.my_jobs(rt, actors["street"]) == []
    with rt.uow() as s:
        got = [(e.action, e.actor) for e in s.scalars(select(audit.AuditEvent)
                                                     .where(audit.AuditEvent.chain == jobs.JOBS_CHAIN)
                                                     .order_by(audit.AuditEvent.seq))]
    assert got == [("job_queued", "auditor"), ("job_completed", "worker:w1"),
                   ("job_result_downloaded", "admin"), ("job_result_downloaded", "auditor")]


def test_a_failing_export_becomes_an_incident_only_administrators_see_and_retry(runtime, actors, cases, monkeypatch):
    rt = runtime
    job_id = background.submit(rt, audit_export.KIND, actors["auditor"],
                               {"numbers": cases, "format": "csv", "raw": False, "events": 0})

    def broken(*a, **k):
        raise RuntimeError("数据库连接中断")

    monkeypatch.setattr(audit_pages, "readable_rows", broken)
    run_due_jobs(rt, "w1")
    view = background.get_job(rt, job_id, actors["auditor"])
    assert view["status"] == "incident" and "数据库连接中断" in view["error"]
    assert job_id in [i.job_id for i in incidents.list_incidents(rt, actors["admin"])]
    assert job_id not in [i.job_id for i in incidents.list_incidents(rt, actors["street"])]
    with pytest.raises(NotFound):
        incidents.retry(rt, job_id, actors["street"])
    with pytest.raises(NotFound):
        background.result_file(rt, job_id, actors["auditor"])
    monkeypatch.undo()
    assert incidents.retry(rt, job_id, actors["admin"])["case_number"] is None
    assert run_due_jobs(rt, "w1") == 1
    assert background.result_file(rt, job_id, actors["auditor"])[2].startswith("\ufeff".encode())
    with rt.uow() as s:
        assert s.get(Job, job_id).status == "done"


def test_an_import_stopped_after_the_completion_is_not_completed_twice_and_keeps_its_roll(election, monkeypatch, clock):
    e, rt = election, election.rt
    to_roll_step(e)
    job_id = submit_roll(e, roll_csv(1100))
    real = jobs.live_progress
    stops = {"left": 1}

    def stopped(job):  # the done mark fails once, after the task's completion committed
        if stops["left"]:
            stops["left"] -= 1
            raise RuntimeError("工作进程中断")
        return real(job)

    monkeypatch.setattr(jobs, "live_progress", stopped)
    assert run_due_jobs(rt, "w1") == 0
    assert "meeting_plan" in e.open_names() and files_of(rt, e.case_number) == 1
    clock.advance(seconds=61)
    assert run_due_jobs(rt, "w1") == 1
    view = background.get_job(rt, job_id, e.actors["street"])
    assert view["status"] == "done" and not view["refused"]
    assert files_of(rt, e.case_number) == 1  # the roll the case refers to is kept
    assert actions(rt, e.case_number).count("task_completed") == 3  # open_case, form_group, confirm_roll


def test_an_export_file_is_deleted_after_its_keeping_time_and_the_job_says_so(runtime, actors, cases, clock,
                                                                                monkeypatch):
    rt = runtime
    monkeypatch.setenv("HONGWU_JOB_RESULT_DAYS", "7")
    job_id = background.submit(rt, audit_export.KIND, actors["auditor"],
                               {"numbers": cases, "format": "csv", "raw": False, "events": 0})
    run_due_jobs(rt, "w1")
    clock.advance(days=7)
    assert background.expire_results(rt) == 0  # the last day kept
    assert background.get_job(rt, job_id, actors["auditor"])["download"] == "审计导出.csv"
    clock.advance(seconds=1)
    assert background.expire_results(rt) == 1
    assert background.expire_results(rt, if_due=True) == 0  # at most every ten minutes
    view = background.get_job(rt, job_id, actors["auditor"])
    assert view["download"] is None and view["result"]["expired"] and view["result"]["cases"] == 3
    with pytest.raises(NotFound):
        background.result_file(rt, job_id, actors["auditor"])
    with rt.uow() as s:
        assert s.scalar(select(func.count()).select_from(Attachment).where(Attachment.case_id.is_(None))) == 0
    assert "job_result_expired" in [a for a in _jobs_chain_actions(rt)]


def _jobs_chain_actions(rt) -> list[str]:
    with rt.uow() as s:
        return [e.action for e in s.scalars(select(audit.AuditEvent).where(audit.AuditEvent.chain == jobs.JOBS_CHAIN)
                                            .order_by(audit.AuditEvent.seq))]
