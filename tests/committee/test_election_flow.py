"""A whole first election from opening to filing and the renewal reminder, with every timer
driven by the clock, on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import select

from engine.db.models import Document

from .conftest import CANDIDATES, OWNERS, ballots_csv, candidate


def test_whole_election_to_filing_and_renewal(election, clock, runtime):
    e = election
    e.start()
    cands = [candidate(*c) for c in CANDIDATES[:7]]
    e.nominate(cands)
    assert e.open_names() == ["community_review"]
    t = runtime.get_task(e.task("cparty", "community_review").id, e.actors["cparty"])
    assert t["data"]["screening"]["party_share"]["share"] == "5/7"
    e.review_all()
    d = e.case().data
    assert d["review"]["enough"] and d["review"]["party_share"]["more_than_half"]
    assert e.open_names() == ["objections"]

    # Publicity: 7 days from 2026-11-21 → 11-28 (Saturday) → Monday 11-30 24:00.
    assert e.advance(clock, 8) == 0
    assert e.advance(clock, 2) == 1
    d = e.case().data
    assert d["voting"]["last_day"] == "2026-12-21"  # meeting day 12-20 is a Sunday
    assert e.open_names() == []  # waiting for the voting period
    assert e.advance(clock, 20) == 0
    assert e.advance(clock, 1) == 1
    items = [c["candidate_id"] for c in cands]
    e.do("street", "enter_ballots", {"ballot_entry": {"file": e.upload("ballots.csv", ballots_csv(OWNERS[:8], items))}})
    d = e.case().data
    assert d["count"]["complete"] and len(d["count"]["elected"]) == 7
    assert d["count"]["tally"]["participating_owners"] == 8 and d["count"]["tally"]["total_owners"] == 9
    assert e.open_names() == ["first_meeting"]

    # First meeting not held within 7 days → the street office supervises it.
    assert e.advance(clock, 9) == 1
    assert e.open_names() == ["escalate_meeting"]
    e.do("street", "escalate_meeting", {"first_meeting": {"meeting_date": "2026-12-31", "chair": "C1", "vice_chair": "C2"},
                                        "meeting_supervision": {"note": "已约谈当选委员，督促召开"}})
    assert e.open_names() == ["filing"]
    # Filing not done within 30 days of the election → escalation.
    assert e.advance(clock, 25) == 1
    assert e.open_names() == ["escalate_filing"]
    e.do("street", "escalate_filing", {"filing": {"materials": ["选举结果公告", "委员名单"], "filed_with_housing_department": True},
                                       "filing_supervision": {"note": "督办备案"}})
    view = e.case()
    s = view.summary
    assert s["kind"] == "first" and s["seats"] == 7 and s["elected_count"] == 7
    assert s["party_member_share"] == "5/7" and s["filing_overdue"] and s["first_meeting_overdue"]
    assert s["term_end"] == "2031-12-21" and s["filed_on"]
    officers = view.data["officers"]["officers"]
    assert [o["position"] for o in officers if o["candidate_id"] in ("C1", "C2")] == ["主任", "副主任"]
    assert view.status == "running" and [t["name"] for t in view.timers] == ["任期届满前提醒"]
    assert view.timers[0]["due_at"].startswith("2031-06-20T16:00")  # 00:00 of 2031-06-21 in Beijing, six months before the term ends

    # Every public step produced a notice.
    with runtime.uow() as ses:
        kinds = [d.kind for d in ses.scalars(select(Document).where(Document.case_id == view.id).order_by(Document.id))]
    assert kinds == ["preparatory_group_list", "owner_roll_publicity", "meeting_plan_notice",
                     "candidate_list_publicity", "ballot", "election_result", "committee_filing"]

    # Renewal reminder six months before the term ends.
    assert e.advance(clock, 365 * 4 + 140) == 0
    assert e.advance(clock, 10) == 1
    e.do("street", "renewal_reminder", {"renewal_ack": {"acknowledged": True, "plan": "成立换届小组"}})
    view = e.case()
    assert view.status == "completed" and view.summary["renewal_reminded_on"]

    from engine.reports.committee import committee_summary

    with runtime.uow() as ses:
        rep = committee_summary(ses, "PK-JP")
    assert (rep["cases"], rep["formed"], rep["renewed"], rep["party_majority"]) == (1, 1, 0, 1)
    c = rep["committees"][0]
    assert c["stage"] == "filed" and c["elected_party_member_share"] == "5/7" and c["filing_overdue"]
