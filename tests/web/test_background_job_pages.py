"""A bulk audit export on the web: the auditor asks for it (POST with the CSRF token), is taken to
its page, polls its progress, finds it in 我的后台任务 and downloads it; nobody else learns of it
(404), administrators may download; a small export stays synchronous."""
from __future__ import annotations

import pytest

from engine.runtime.jobs import run_due_jobs
from tests.web.support import csrf_of, logged_in


@pytest.fixture
def numbers(web_rt):
    from engine.runtime.actors import load_actor
    from engine.runtime.service import deploy
    from tests.engine.job_support import ASYNC_BPMN, FORMS

    deploy(web_rt, [ASYNC_BPMN], FORMS)
    with web_rt.uow() as s:
        street = load_actor(s, "street")
    out = []
    for _ in range(2):
        view = web_rt.start_case("async_step", "PK-JP-XC-01", street)
        out.append(view.case_number)
    return out


def start_export(client) -> str:
    page = client.get("/audit/export?format=csv")
    assert page.status_code == 200 and "在后台生成" in page.text, page.text[:500]
    r = client.post("/audit/export/job", data={"csrf_token": csrf_of(page.text), "format": "csv", "raw": "",
                                               "process": "", "status": "", "compound": "", "q": ""},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/"), r.text[:500]
    return r.headers["location"].rsplit("/", 1)[1]


def test_a_bulk_export_runs_in_the_background_and_only_its_requester_and_admins_download_it(
        app, web_rt, numbers, monkeypatch, clock):
    monkeypatch.setenv("HONGWU_EXPORT_JOB_CASES", "1")
    auditor = logged_in(app, "auditor")
    job_id = start_export(auditor)
    progress = auditor.get(f"/jobs/{job_id}/progress").json()
    assert (progress["status"], progress["done"]) == ("pending", 0)
    page = auditor.get(f"/jobs/{job_id}")
    assert "data-job-progress" in page.text and "可离开本页" in page.text
    assert run_due_jobs(web_rt, "w1") == 1
    progress = auditor.get(f"/jobs/{job_id}/progress").json()
    assert (progress["status"], progress["done"], progress["total"]) == ("done", 2, 2)
    assert progress["download"] == "审计导出.csv"
    listed = auditor.get("/jobs")
    assert f"/jobs/{job_id}/download" in listed.text and "已完成" in listed.text
    got = auditor.get(f"/jobs/{job_id}/download")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    sync = auditor.get("/audit/export?format=csv&raw=1")  # still a bulk export: not sent
    assert "在后台生成" in sync.text
    for other in ("street", "community"):
        client = logged_in(app, other)
        for path in (f"/jobs/{job_id}/download", f"/jobs/{job_id}/progress", f"/jobs/{job_id}"):
            assert client.get(path).status_code == 404, (other, path)
        assert job_id not in client.get("/jobs").text
    admin = logged_in(app, "admin")
    assert admin.get(f"/jobs/{job_id}/download").content == got.content
    # Kept for a week (HONGWU_JOB_RESULT_DAYS), then deleted; the page says so.
    from engine.runtime.background import expire_results

    clock.advance(days=8)
    assert expire_results(web_rt) == 1
    assert "已超过保留期限（7 天），已删除" in auditor.get(f"/jobs/{job_id}").text
    assert auditor.get(f"/jobs/{job_id}/download").status_code == 404


def test_a_small_export_stays_synchronous_and_a_job_needs_the_csrf_token(app, numbers):
    auditor = logged_in(app, "auditor")
    r = auditor.get("/audit/export?format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    r = auditor.post("/audit/export/job", data={"format": "csv"}, follow_redirects=False)
    assert r.status_code in (400, 403)
    street = logged_in(app, "street")
    page = street.get("/cases")
    r = street.post("/audit/export/job", data={"csrf_token": csrf_of(page.text), "format": "csv"},
                    follow_redirects=False)
    assert r.status_code == 403


def test_a_large_roll_uploaded_on_the_form_is_imported_in_the_background(app, web_rt, monkeypatch):
    from sqlalchemy import func, select

    from engine.config import BUNDLED_BPMN_DIR, BUNDLED_FORMS_DIR
    from engine.db.models import Attachment
    from engine.runtime.actors import load_actor
    from engine.runtime.service import deploy
    from tests.engine.test_background_jobs import roll_csv
    from tests.web.test_task_paths import submit

    monkeypatch.setenv("HONGWU_ROLL_JOB_ROWS", "100")
    deploy(web_rt, [BUNDLED_BPMN_DIR / "committee_election.bpmn"], BUNDLED_FORMS_DIR)
    with web_rt.uow() as s:
        street = load_actor(s, "street")
    cn = web_rt.start_case("committee_election", "PK-JP-XC-01", street, {}).case_number

    def task(name):
        return next(t.id for t in web_rt.list_tasks(street) if t.case_number == cn and t.name == name)

    def kept() -> int:
        with web_rt.uow() as s:
            return s.scalar(select(func.count()).select_from(Attachment))

    web_rt.complete_task(task("open_case"), street, {"case": {"election_kind": "first", "seats": 5, "term_years": 5}})
    web_rt.complete_task(task("form_group"), street, {"group": {"members": [
        {"name": "王街道", "kind": "street", "position": "组长"}, {"name": "张伟", "kind": "owner", "position": "成员"},
        {"name": "李娜", "kind": "owner", "position": "成员"}]}})
    client = logged_in(app, "street")
    url = f"/tasks/{task('confirm_roll')}"
    # A refused large roll: the job lists the problem with its line; the task stays, no file is kept.
    r = submit(client, url, {"roll.inspection_place": "物业服务中心"},
               files=[("roll.file", ("名册.csv", roll_csv(150, bad_line=120), "text/csv"))])
    bad_job = r.headers["location"].rsplit("/", 1)[1]
    case_page = client.get(f"/cases/{cn}").text
    assert f'href="/jobs/{bad_job}"' in case_page and "data-job-progress" in case_page
    run_due_jobs(web_rt, "w1")
    page = client.get(f"/jobs/{bad_job}").text
    assert "名册.csv:120" in page and "未作任何更改" in page
    assert kept() == 0 and client.get(url).status_code == 200
    # A good one: the page polls, then the case has moved on.
    r = submit(client, url, {"roll.inspection_place": "物业服务中心"},
               files=[("roll.file", ("名册.csv", roll_csv(150), "text/csv"))])
    job_id = r.headers["location"].rsplit("/", 1)[1]
    assert client.get(f"/jobs/{job_id}/progress").json()["status"] == "pending"
    assert run_due_jobs(web_rt, "w1") == 1
    assert client.get(f"/jobs/{job_id}/progress").json()["status"] == "done"
    page = client.get(f"/jobs/{job_id}").text
    assert "业主名册已通过校验并导入（150 套房屋、150 名业主）" in page
    assert kept() == 1 and task("meeting_plan")
    assert f'href="/jobs/{job_id}"' not in client.get(f"/cases/{cn}").text  # done: no longer on the case page
    assert job_id in logged_in(app, "community").get(f"/jobs/{job_id}/progress").json()["id"]  # the case's readers
    assert logged_in(app, "community2").get(f"/jobs/{job_id}/progress").status_code == 404  # another community
