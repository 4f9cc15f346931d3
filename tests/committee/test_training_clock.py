"""The training clock: in a training database an administrator moves one case's clock forward
and what falls due on the way fires in order, audited; elsewhere the clock cannot be moved by any
route (service, CLI, web). On SQLite and PostgreSQL."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from engine.db.models import AuditEvent, Case
from engine.runtime.errors import Conflict, Forbidden, NotFound, ValidationFailed

from .conftest import CANDIDATES, candidate


def to_publicity(e):
    e.start()
    e.nominate([candidate(*c) for c in CANDIDATES[:7]])
    e.review_all()
    assert e.open_names() == ["objections"]


def events(rt, case_number):
    with rt.uow() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.chain == f"case:{case_number}")
                              .order_by(AuditEvent.seq)))


def offset(rt, case_number):
    with rt.uow() as s:
        return s.scalar(select(Case.clock_offset_days).where(Case.case_number == case_number))


def test_training_clock_walks_publicity_and_voting_in_order(election, clock, runtime):
    e = election
    assert runtime.mark_training(e.actors["admin"]) is True
    assert runtime.mark_training(e.actors["admin"]) is False  # already one
    to_publicity(e)
    wall = clock.now()
    other = runtime.start_case("committee_election", "PK-JP-XC-01", e.actors["street"], {})
    admin = e.actors["admin"]

    view = runtime.advance_case_clock(e.case_number, admin, 8, "培训：公示期内")
    assert view.clock_offset_days == 8 and e.open_names() == ["objections"]
    view = runtime.advance_case_clock(e.case_number, admin, "23", "培训：跳过公示期和投票期")
    # Publicity over (11-30), then the voting period (until 12-21): both fired, in that order.
    assert e.open_names() == ["enter_ballots"]
    assert clock.now() == wall  # only the case's clock moved
    assert offset(runtime, other.case_number) == 0
    assert [t["name"] for t in runtime.get_case(other.case_number, e.actors["street"]).tasks] == ["open_case"]

    evs = events(runtime, e.case_number)
    moved = [ev for ev in evs if ev.action == "training_clock_advanced"]
    assert [json.loads(m.detail)["days"] for m in moved] == [8, 23]
    last = json.loads(moved[-1].detail)
    assert moved[-1].actor == "admin" and last["reason"] == "培训：跳过公示期和投票期" and last["offset_days"] == 31
    fired = [ev for ev in evs if ev.seq > moved[-1].seq and ev.action == "timer_fired"]
    assert len(fired) == 2 and all(f.actor == "system" for f in fired)
    assert moved[-1].created_at <= fired[0].created_at  # the history reads in time order
    dues = [json.loads(f.detail)["due_at"] for f in fired]
    assert dues == sorted(dues)
    # A completion afterwards runs on the case's time too: the ballots are counted normally.
    from .conftest import OWNERS, ballots_csv

    items = [c[0] for c in CANDIDATES[:7]]
    e.do("street", "enter_ballots", {"ballot_entry": {"file": e.upload("ballots.csv", ballots_csv(OWNERS[:8], items))}})
    assert e.open_names() == ["first_meeting"]


def test_not_a_training_database_has_no_clock(election, clock, runtime):
    e = election
    to_publicity(e)
    before = e.case().version
    n = len(events(runtime, e.case_number))
    for who in ("admin", "street"):
        with pytest.raises(NotFound) as info:
            runtime.advance_case_clock(e.case_number, e.actors[who], 30, "想跳过公示期")
        assert "不是培训环境" in info.value.message_zh
    assert runtime.is_training() is False
    assert e.case().version == before and offset(runtime, e.case_number) == 0
    assert len(events(runtime, e.case_number)) == n and e.open_names() == ["objections"]


def test_a_database_with_cases_never_becomes_a_training_one(election, runtime):
    election.start()
    with pytest.raises(Conflict):
        runtime.mark_training(election.actors["admin"])
    assert runtime.is_training() is False


@pytest.mark.parametrize("days,reason", [(0, "原因"), (-3, "原因"), (367, "原因"), ("abc", "原因"), (True, "原因"),
                                         ("2.5", "原因"), (None, "原因"), (5, ""), (5, "   "), (5, None), (5, "长" * 501)])
def test_bad_steps_change_nothing(election, runtime, days, reason):
    e = election
    runtime.mark_training(e.actors["admin"])
    to_publicity(e)
    before, n = e.case().version, len(events(runtime, e.case_number))
    with pytest.raises(ValidationFailed) as info:
        runtime.advance_case_clock(e.case_number, e.actors["admin"], days, reason)
    assert info.value.message_zh
    assert e.case().version == before and offset(runtime, e.case_number) == 0
    assert len(events(runtime, e.case_number)) == n


def test_only_an_administrator_and_only_a_current_running_case(election, clock, runtime):
    e = election
    runtime.mark_training(e.actors["admin"])
    to_publicity(e)
    for who in ("street", "cparty", "auditor", "community"):
        with pytest.raises((Forbidden, NotFound)):
            runtime.advance_case_clock(e.case_number, e.actors[who], 10, "越权尝试")
    with pytest.raises(NotFound):
        runtime.advance_case_clock("CE-2026-999999", e.actors["admin"], 10, "不存在的案件")
    stale = e.case().version - 1
    with pytest.raises(Conflict):
        runtime.advance_case_clock(e.case_number, e.actors["admin"], 10, "过期页面", expected_version=stale)
    assert offset(runtime, e.case_number) == 0
    assert any(ev.action == "refused:advance_case_clock" for ev in events(runtime, e.case_number))


def test_cli_refuses_outside_a_training_database(election, runtime, cli):
    e = election
    to_publicity(e)
    res = cli("case", "advance-clock", e.case_number, "--days", "10", "--reason", "培训", "--as", "admin", code=2)
    assert "不是培训环境" in res.output
    res = cli("init", "--training", code=2)  # a database with cases stays what it is
    assert "已有案件" in res.output
    assert offset(runtime, e.case_number) == 0 and runtime.is_training() is False


def test_cli_init_training_then_advance_clock(election, runtime, cli):
    e = election
    res = cli("init", "--training", "--json")
    assert json.loads(res.output)["training"] is True
    to_publicity(e)
    cli("case", "advance-clock", e.case_number, "--days", "10", "--reason", "培训", code=2)  # no user: refused
    cli("case", "advance-clock", e.case_number, "--days", "0", "--reason", "培训", "--as", "admin", code=2)
    res = cli("case", "advance-clock", e.case_number, "--days", "10", "--reason", "培训演示", "--as", "admin")
    assert "前进 10 天" in res.output
    assert offset(runtime, e.case_number) == 10
    with runtime.uow() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "training_clock_advanced")) == 1


def test_the_worker_honours_a_moved_clock(election, clock, runtime):
    """After a move, the rest of the case's deadlines fall due by its own time when the worker runs."""
    e = election
    runtime.mark_training(e.actors["admin"])
    to_publicity(e)
    runtime.advance_case_clock(e.case_number, e.actors["admin"], 8, "培训：公示期内")
    assert e.advance(clock, 1) == 0  # case time 11-30 10:00: the publicity runs to 11-30 24:00
    assert e.open_names() == ["objections"]
    assert e.advance(clock, 1) == 1  # case time 12-01: over, though only 10 real days have passed
    assert e.open_names() == []
    with runtime.uow() as s:
        fired = s.scalar(select(AuditEvent).where(AuditEvent.action == "timer_fired",
                                                  AuditEvent.chain == f"case:{e.case_number}"))
    assert json.loads(fired.detail)["due_at"].startswith("2026-11-30T16:00")
