"""The inbox: due date order (overdue first) by default, or by arrival either way; a count badge in
the navigation ("99+" beyond 99, marked when something is overdue); odd sort values refused."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.db.models import HumanTask
from engine.runtime.actors import load_actor
from engine.runtime.errors import ValidationFailed
from engine.web import context
from tests.engine.support import apply_data
from tests.web.crawl import visible_text
from tests.web.support import logged_in

COMPOUND = "PK-JP-XC-01"


def _actor(rt, username):
    with rt.uow() as s:
        return load_actor(s, username)


def _review_tasks(rt, clock, days_list):
    """One party-review task per entry, each due after that many days, arriving an hour apart."""
    street = _actor(rt, "street")
    numbers = []
    for days in days_list:
        case = rt.start_case("sample_review", COMPOUND, street)
        rt.complete_task(case.tasks[0]["id"], street, apply_data(amount=5000, days=days))
        numbers.append(case.case_number)
        clock.advance(hours=1)
    return numbers


def test_orders(web_rt, clock):
    rt = web_rt
    a, b, c = _review_tasks(rt, clock, [20, 3, 10])  # arrival a < b < c; due b < c < a
    cparty = _actor(rt, "cparty")
    assert [t.case_number for t in rt.list_tasks(cparty)] == [b, c, a]
    assert [t.case_number for t in rt.list_tasks(cparty, order="newest")] == [c, b, a]
    assert [t.case_number for t in rt.list_tasks(cparty, order="oldest")] == [a, b, c]
    assert [t.case_number for t in rt.list_tasks(cparty, order="newest", limit=1, offset=1)] == [b]
    clock.advance(days=8)  # b is now overdue: it leads the default order, and only it is overdue
    assert [t.case_number for t in rt.list_tasks(cparty)][0] == b
    assert [t.case_number for t in rt.list_tasks(cparty, overdue_only=True, order="oldest")] == [b]
    with pytest.raises(ValidationFailed):
        rt.list_tasks(cparty, order="due; drop table human_task")


def test_inbox_page_sorts_and_badge_counts(app, web_rt, clock):
    rt = web_rt
    a, b, c = _review_tasks(rt, clock, [20, 3, 10])
    page = logged_in(app, "cparty")
    html = page.get("/inbox").text
    assert html.index(b) < html.index(c) < html.index(a)
    assert 'id="inbox-count"' in html and ">3</span>" in html and "badge overdue" not in html
    html = page.get("/inbox", params={"sort": "newest"}).text
    assert html.index(c) < html.index(b) < html.index(a)
    assert 'id="sort-arrival" href="?sort=oldest"' in html  # the heading flips the arrival order
    html = page.get("/inbox", params={"sort": "oldest"}).text
    assert html.index(a) < html.index(b) < html.index(c)
    assert page.get("/inbox", params={"sort": "random"}).status_code == 422
    assert [t["case_number"] for t in page.get("/api/tasks", params={"sort": "oldest"}).json()] == [a, b, c]
    assert page.get("/api/tasks", params={"sort": "random"}).status_code == 422
    clock.advance(days=8)
    html = page.get("/cases").text  # the badge is on every page
    assert 'class="badge overdue" id="inbox-count"' in html
    # Roles without an inbox have no badge; the street staff member has nothing open here.
    assert "inbox-count" not in logged_in(app, "auditor").get("/cases").text
    assert "inbox-count" not in logged_in(app, "street").get("/cases").text


def test_badge_stops_counting_at_99(app, web_rt, clock, monkeypatch):
    monkeypatch.setattr(context, "BADGE_MAX", 2)
    _review_tasks(web_rt, clock, [20, 3, 10])
    text = visible_text(logged_in(app, "cparty").get("/cases").text)[0]
    assert "2+" in text
    assert web_rt.count_tasks(_actor(web_rt, "cparty"), up_to=2) == 2
    assert web_rt.count_tasks(_actor(web_rt, "cparty")) == 3
    # The badge's single statement: counted up to the limit, overdue as soon as one task is late.
    cparty = _actor(web_rt, "cparty")
    assert web_rt.task_badge(cparty, up_to=2) == (2, False)
    assert web_rt.task_badge(cparty, up_to=10) == (3, False)
    with web_rt.uow() as s:
        first_due = s.scalar(select(func.min(HumanTask.due_at)))
    clock.set(first_due)
    assert web_rt.task_badge(cparty, up_to=10) == (3, False)  # due now is not yet late
    clock.advance(seconds=1)
    assert web_rt.task_badge(cparty, up_to=1) == (1, True)
    assert web_rt.task_badge(_actor(web_rt, "street"), up_to=10) == (0, False)
