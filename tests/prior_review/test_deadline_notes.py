"""The execution publicity of a prior-review matter ending in 2027 (no schedule loaded) says its
end date may move, on the notice and on the timer row; loading the schedule clears the note."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from engine.db.models import Document, Timer
from tests.engine.test_holidays import SCHEDULE_2027
from tests.prior_review.support import committee_decision, execution, review, start, task_named

NOTE = "2027年国务院放假安排尚未收录"


def test_execution_publicity_into_2027_carries_the_note(prt, actors, clock):
    clock.set(datetime(2026, 12, 26, 2, tzinfo=UTC))  # +7 days = 2027-01-02 (Sat) → 01-04
    c = actors["community"]
    cn = start(prt, actors, "common_income")
    prt.complete_task(task_named(prt, cn, actors["branch"], "branch_review"), actors["branch"], review(prt))
    prt.complete_task(task_named(prt, cn, c, "committee_decision"), c, committee_decision(prt))
    prt.complete_task(task_named(prt, cn, c, "execution"), c, execution())
    view = prt.get_case(cn, c)
    with prt.uow() as s:
        notice = s.scalar(select(Document).where(Document.case_id == view.id).order_by(Document.id.desc()).limit(1))
        timer = s.scalar(select(Timer).where(Timer.case_id == view.id))
    context = json.loads(notice.context)
    assert context["publicity_end"] == "2027-01-04" and any(NOTE in p for p in context["body"])
    assert timer.spec_name == "公示期满" and NOTE in timer.due_note and timer.period_days == 7

    prt.load_holiday_schedule(SCHEDULE_2027, actors["admin"])  # 01-04 stays: only the note goes
    with prt.uow() as s:
        timer = s.scalar(select(Timer).where(Timer.case_id == view.id))
    assert timer.due_at == datetime(2027, 1, 4, 16, tzinfo=UTC) and timer.due_note is None
    assert prt.get_case(cn, c).data["publicity"]["publicity_end_at_note"] == ""
