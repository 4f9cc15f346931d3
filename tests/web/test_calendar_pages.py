"""The fallback note reaches people (inbox, case page, task page), and the administrators' page
for loading a year's official holiday schedule (check, dry run, load, bad file, other roles)."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from engine.db.models import HumanTask, SettingVersion
from engine.runtime.actors import load_actor
from tests.engine.support import apply_data
from tests.engine.test_holidays import SCHEDULE_2027
from tests.web.support import logged_in, page_csrf

NOTE = "2027年国务院放假安排尚未收录"


def _review_due_in_2027(rt, clock) -> tuple[str, str]:
    clock.set(datetime(2027, 1, 21, 2, tzinfo=UTC))
    with rt.uow() as s:
        street = load_actor(s, "street")
    case = rt.start_case("sample_review", "PK-JP-XC-01", street)
    rt.complete_task(case.tasks[0]["id"], street, apply_data(days=15))
    with rt.uow() as s:
        task_id = s.scalar(select(HumanTask.id).where(HumanTask.case_id == case.id))
    return case.case_number, task_id


def _upload(client, text: str, **fields):
    tok = page_csrf(client, "/admin/calendar")
    return client.post("/admin/calendar", data={"csrf_token": tok, **fields},
                       files={"file": ("2027.csv", text.encode("utf-8"), "text/csv")})


def test_the_note_is_shown_until_the_schedule_is_loaded(app, web_rt, clock):
    number, task_id = _review_due_in_2027(web_rt, clock)
    party = logged_in(app, "cparty")
    for path in ("/inbox", f"/cases/{number}", f"/tasks/{task_id}"):
        page = party.get(path)
        assert page.status_code == 200 and "期限可能调整" in page.text and NOTE in page.text, path

    a = logged_in(app, "admin")
    page = a.get("/admin/calendar")
    assert page.status_code == 200 and "按《全国年节及纪念日放假办法》推算" in page.text

    bad = _upload(a, SCHEDULE_2027 + "2027-04-05,休,清明节\n")
    assert bad.status_code == 422 and "第22行：2027-04-05 与第14行重复" in bad.text
    dry = _upload(a, SCHEDULE_2027, dry_run="1")
    assert dry.status_code == 200 and "试算" in dry.text and "2027年2月9日 → 2027年2月12日" in dry.text
    with web_rt.uow() as s:
        assert s.scalars(select(SettingVersion)).all() == []
    assert NOTE in party.get("/inbox").text

    done = _upload(a, SCHEDULE_2027, source="示例通知")
    assert done.status_code == 200 and "已加载为第 1 版" in done.text and "2027年2月12日" in done.text
    assert "已加载的国务院放假安排（示例通知）" in done.text
    for path in ("/inbox", f"/cases/{number}", f"/tasks/{task_id}"):
        assert "期限可能调整" not in party.get(path).text, path  # (the case history keeps the old note)
    assert "按放假安排重算期限" in party.get(f"/cases/{number}").text


def test_only_administrators_load_schedules(app, web_rt):
    street = logged_in(app, "street")
    assert street.get("/admin/calendar").status_code == 403
    tok = page_csrf(street)
    r = street.post("/admin/calendar", data={"csrf_token": tok},
                    files={"file": ("2027.csv", SCHEDULE_2027.encode(), "text/csv")})
    assert r.status_code == 403
    a = logged_in(app, "admin")
    tok = page_csrf(a, "/admin/calendar")
    assert a.post("/admin/calendar", data={"csrf_token": tok}).status_code == 422
    r = a.post("/admin/calendar", data={"csrf_token": tok},
               files={"file": ("2027.csv", SCHEDULE_2027.encode("utf-16"), "text/csv")})
    assert r.status_code == 422 and "UTF-8" in r.text
    with web_rt.uow() as s:
        assert s.scalars(select(SettingVersion)).all() == []
