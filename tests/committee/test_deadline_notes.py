"""The committee process keeps each deadline's fallback note: on the notices it issues and on the
task and timer rows the pages show (a publicity period ending in 2027, no schedule loaded)."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from engine.db.models import Document, HumanTask, Timer

from .conftest import CANDIDATES, candidate

NOTE = "2027年国务院放假安排尚未收录"


def test_publicity_into_2027_carries_the_note_to_notices_and_rows(election, clock, runtime):
    clock.set(datetime(2026, 12, 26, 2, tzinfo=UTC))  # Saturday; +7 days = 2027-01-02 (Sat)
    e = election
    e.start(meeting_date="2027-01-20")
    e.nominate([candidate(*c) for c in CANDIDATES])
    e.review_all()
    case = e.case()
    with runtime.uow() as s:
        docs = {d.kind: json.loads(d.context) for d in s.scalars(select(Document).where(Document.case_id == case.id))}
        objections = s.scalar(select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.spec_name == "objections"))
        timer = s.scalar(select(Timer).where(Timer.case_id == case.id))
    for kind in ("preparatory_group_list", "owner_roll_publicity", "candidate_list_publicity"):
        assert any(NOTE in p for p in docs[kind].get("body") or []), kind
    assert docs["candidate_list_publicity"]["publicity_end"] == "2027-01-04"  # off the weekend
    assert timer.spec_name == "公示期届满" and (timer.period_trigger, timer.period_days) == ("2026-12-26", 7)
    assert NOTE in timer.due_note and objections.due_note == timer.due_note
    assert objections.due_at == timer.due_at == datetime(2027, 1, 4, 16, tzinfo=UTC)
    assert NOTE in case.data["candidate_publicity"]["publicity_due_note"]


def test_a_publicity_inside_2026_has_no_note(election, clock, runtime):
    e = election
    e.start()
    e.nominate([candidate(*c) for c in CANDIDATES])
    e.review_all()
    case = e.case()
    with runtime.uow() as s:
        docs = [json.loads(d.context) for d in s.scalars(select(Document).where(Document.case_id == case.id))]
        timer = s.scalar(select(Timer).where(Timer.case_id == case.id))
    assert not any(NOTE in p for d in docs for p in d.get("body") or [])
    assert timer.due_note is None and timer.period_days == 7


def test_the_ballots_say_the_voting_deadline_may_move(election, clock, runtime):
    clock.set(datetime(2026, 12, 26, 2, tzinfo=UTC))
    e = election
    e.start(meeting_date="2027-01-20")
    e.nominate([candidate(*c) for c in CANDIDATES])
    e.review_all()
    assert e.advance(clock, 10) == 1  # publicity over: voting until the meeting day, 2027-01-20
    case = e.case()
    assert case.data["voting"]["last_day"] == "2027-01-20" and NOTE in case.data["voting"]["note"]
    with runtime.uow() as s:
        ballot = s.scalar(select(Document).where(Document.case_id == case.id, Document.kind == "ballot"))
        timer = s.scalar(select(Timer).where(Timer.case_id == case.id))
    assert NOTE in json.loads(ballot.context)["instructions"][-1]
    assert timer.spec_name == "投票期届满" and NOTE in timer.due_note
