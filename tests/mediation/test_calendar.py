"""A mediation level deadline in 2027, before and after the year's official schedule is loaded:
its note on the acceptance notice and the task rows, then counted again and audited."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlalchemy import select

from engine.db.models import AuditEvent, Document, Timer
from tests.engine.test_holidays import SCHEDULE_2027
from tests.mediation.support import SYSTEM, assign, open_case, task

NOTE = "2027年国务院放假安排尚未收录"


def test_level_deadline_note_then_recount(med, actors, clock):
    clock.set(datetime(2027, 1, 21, 2, tzinfo=UTC))  # 15 days → 02-05 除夕 → 02-09
    case = open_case(med, actors)
    assign(med, actors, case, "community")
    view = med.get_case(case, SYSTEM)
    with med.uow() as s:
        timers = list(s.scalars(select(Timer).where(Timer.case_id == view.id)))
        acceptance = s.scalar(select(Document).where(Document.case_id == view.id, Document.kind == "mediation_acceptance"))
    old_due = datetime(2027, 2, 9, 16, tzinfo=UTC)
    assert timers and all(t.due_at == old_due and NOTE in t.due_note for t in timers)
    assert any(NOTE in p for p in json.loads(acceptance.context)["body"])
    mediate = task(med, case, "community_mediate")
    assert mediate["due_at"] == old_due.isoformat() and NOTE in mediate["due_note"]

    result = med.load_holiday_schedule(SCHEDULE_2027, actors["admin"])
    assert result.report.cases_changed == [case]
    new_due = datetime(2027, 2, 12, 16, tzinfo=UTC)
    view = med.get_case(case, SYSTEM)
    assert view.data["level_deadline"]["due"] == new_due.isoformat()
    assert view.data["level_deadline"]["last_day"] == "2027-02-12"
    mediate = task(med, case, "community_mediate")
    assert mediate["due_at"] == new_due.isoformat() and mediate["due_note"] is None
    with med.uow() as s:
        assert all(t.due_at == new_due for t in s.scalars(select(Timer).where(Timer.case_id == view.id)))
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.case_id == view.id,
                                                          AuditEvent.action == "deadline_recounted")))
    assert events and all(json.loads(e.data_after)["due"] == new_due.isoformat() for e in events)

    # An extension counts from the moved last day.
    clock.set(datetime(2027, 2, 10, 2, tzinfo=UTC))
    from tests.mediation.support import complete, session

    complete(med, actors, case, "community_mediate",
             session("extend", on=date(2027, 2, 10), extension_days=10, extension_reason="双方同意延长", parties_agreed=True))
    assert med.get_case(case, SYSTEM).data["level_deadline"]["last_day"] == "2027-02-22"


def test_the_summary_copy_of_the_due_time_follows(med, actors, clock):
    clock.set(datetime(2027, 1, 21, 2, tzinfo=UTC))
    case = open_case(med, actors)
    assert med.get_case(case, SYSTEM).summary["level_due_at"]["community"] == "2027-02-09T16:00:00+00:00"
    med.load_holiday_schedule(SCHEDULE_2027, actors["admin"])
    assert med.get_case(case, SYSTEM).summary["level_due_at"]["community"] == "2027-02-12T16:00:00+00:00"


def test_a_deadline_counted_before_the_load_is_corrected_when_its_task_appears(med, actors, clock):
    """The follow-up visit's due time is counted at settlement but its task only appears a month
    later: loaded in between, the schedule still reaches it (audited when the task appears)."""
    from tests.mediation.support import settle, sign

    clock.set(datetime(2027, 1, 6, 2, tzinfo=UTC))  # +30 days = 02-05 除夕 → 02-09 by the statute
    case = open_case(med, actors)
    assign(med, actors, case, "community")
    settle(med, actors, case, "community")
    sign(med, actors, case, "community")
    assert med.get_case(case, SYSTEM).data["follow_up_due"] == "2027-02-09T16:00:00+00:00"
    med.load_holiday_schedule(SCHEDULE_2027, actors["admin"])
    clock.set(datetime(2027, 2, 8, 16, 1, tzinfo=UTC))  # the visit's day begins (the old one)
    assert med.run_due_timers("w1") == 1
    visit = task(med, case, "follow_up")
    assert visit["due_at"] == "2027-02-12T16:00:00+00:00" and visit["due_note"] is None
    view = med.get_case(case, SYSTEM)
    with med.uow() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.case_id == view.id,
                                                   AuditEvent.action == "deadline_recounted")).one()
    assert event.actor == "worker:w1" and json.loads(event.data_before)["due"] == "2027-02-09T16:00:00+00:00"
