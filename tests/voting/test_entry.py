"""Per-ballot entry by the case's scrutineers: double entry, a mismatch resolved by a third, the
same person twice refused, corrections with a reason, and the ways around it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.audit import case_chain, chain_events, verify
from engine.db.vote_models import VoteBallot, VoteEntry
from engine.runtime.errors import Forbidden, NotFound, RuleRefused, ValidationFailed

from .conftest import SCRUTINEERS, close_voting, codes


@pytest.fixture
def counting(voting, clock):
    e, votes = voting
    for who in SCRUTINEERS:
        votes.designate_scrutineer(e.case_number, who, e.actors["street"])
    close_voting(e, clock)
    return e, votes


def test_entry_waits_for_the_close_of_voting(voting):
    e, votes = voting
    votes.designate_scrutineer(e.case_number, "community", e.actors["street"])
    with pytest.raises(RuleRefused, match="投票截止后方可开票录入"):
        votes.enter(e.case_number, codes(votes, e)[0], e.actors["community"], {"C1": "agree"})


def test_two_agreeing_entries_settle_a_ballot(counting, runtime):
    e, votes = counting
    a, b, _c = (e.actors[x] for x in SCRUTINEERS)
    code = codes(votes, e)[0]
    first = votes.enter(e.case_number, code, a, {"C1": "agree", "C2": "disagree"})
    assert first.state == "awaiting_second" and first.mine
    second = votes.enter(e.case_number, code, b, {"C2": "disagree", "C1": "agree"})
    assert second.state == "settled"
    with runtime.uow() as s:
        ballot = s.scalar(select(VoteBallot).where(VoteBallot.code == code))
        assert ballot.voted_channel == "paper" and ballot.status == "returned"
    with pytest.raises(RuleRefused, match="已核定"):
        votes.enter(e.case_number, code, e.actors["cparty"], {"C1": "agree"})


def test_mismatch_goes_to_a_third_check(counting):
    e, votes = counting
    a, b, c = (e.actors[x] for x in SCRUTINEERS)
    code = codes(votes, e)[1]
    votes.enter(e.case_number, code, a, {"C1": "agree"})
    assert votes.enter(e.case_number, code, b, {"C1": "disagree"}).state == "mismatch"
    assert votes.entry_progress(e.case_number, a)["mismatch"] == [code]
    assert votes.enter(e.case_number, code, c, {"C1": "disagree"}).state == "settled"
    assert votes.entry_progress(e.case_number, a)["states"]["settled"] == 1


def test_same_scrutineer_twice_is_refused_and_audited(counting, runtime):
    e, votes = counting
    a = e.actors["community"]
    code = codes(votes, e)[2]
    votes.enter(e.case_number, code, a, {"C1": "agree"})
    with pytest.raises(RuleRefused, match="不能重复录入"):
        votes.enter(e.case_number, code, a, {"C1": "agree"})
    with runtime.uow() as s:
        assert s.query(VoteEntry).count() == 1
        actions = [ev.action for ev in chain_events(s, case_chain(e.case_number))]
    assert actions.count("vote:ballot_entered") == 1 and "refused:vote:ballot_entered" in actions


def test_a_correction_needs_a_reason_and_supersedes(counting, runtime):
    e, votes = counting
    a, b = e.actors["community"], e.actors["branch"]
    code = codes(votes, e)[3]
    votes.enter(e.case_number, code, a, {"C1": "disagree"})
    votes.enter(e.case_number, code, b, {"C1": "agree"})
    with pytest.raises(ValidationFailed, match="须说明理由"):
        votes.enter(e.case_number, code, a, {"C1": "agree"}, correction_reason="  ")
    with pytest.raises(RuleRefused, match="无需更正"):
        votes.enter(e.case_number, code, e.actors["cparty"], {"C1": "agree"}, correction_reason="看错")
    fixed = votes.enter(e.case_number, code, a, {"C1": "agree"}, correction_reason="看错了行")
    assert fixed.state == "settled"
    with runtime.uow() as s:
        rows = list(s.scalars(select(VoteEntry).order_by(VoteEntry.id)))
        assert [r.superseded for r in rows] == [True, False, False] and rows[2].correction_of == rows[0].id
        events = [ev for ev in chain_events(s, case_chain(e.case_number)) if ev.action == "vote:entry_corrected"]
        assert len(events) == 1 and "看错了行" in events[0].detail
        assert all(r.ok for r in verify(s, case_chain(e.case_number)))


def test_invalid_ballots_need_a_known_reason(counting):
    e, votes = counting
    a, b = e.actors["community"], e.actors["branch"]
    code = codes(votes, e)[4]
    with pytest.raises(RuleRefused, match="无效原因"):
        votes.enter(e.case_number, code, a, None, "torn")
    with pytest.raises(RuleRefused, match="不是本张选票"):
        votes.enter(e.case_number, code, a, {"C99": "agree"})
    votes.enter(e.case_number, code, a, None, "multiple")
    assert votes.enter(e.case_number, code, b, None, "multiple").state == "settled"


def test_walk_arounds(counting, runtime, clock):
    e, votes = counting
    c = codes(votes, e)
    # a void code
    with runtime.uow() as s:
        s.scalar(select(VoteBallot).where(VoteBallot.code == c[5])).status = "void"
    with pytest.raises(RuleRefused, match="已作废"):
        votes.enter(e.case_number, c[5], e.actors["community"], {"C1": "agree"})
    # a staff member who is not a scrutineer, another role, another jurisdiction, an unknown code
    for who in ("street", "sparty", "auditor"):
        with pytest.raises(Forbidden, match="监票、计票人"):
            votes.enter(e.case_number, c[6], e.actors[who], {"C1": "agree"})
    with pytest.raises(NotFound):
        votes.enter(e.case_number, c[6], e.actors["community2"], {"C1": "agree"})
    with pytest.raises(NotFound, match="没有编号"):
        votes.enter(e.case_number, "ZZZ-1", e.actors["community"], {"C1": "agree"})
    # designating: only register keepers; never a read-only user; never twice
    with pytest.raises(Forbidden):
        votes.designate_scrutineer(e.case_number, "sparty", e.actors["cparty"])
    with pytest.raises(RuleRefused, match="只读"):
        votes.designate_scrutineer(e.case_number, "auditor", e.actors["street"])
    with pytest.raises(RuleRefused, match="已是本案"):
        votes.designate_scrutineer(e.case_number, "community", e.actors["street"])
    # a ballot with an entry cannot be voided (its vote is recorded)
    votes.enter(e.case_number, c[7], e.actors["community"], {"C1": "agree"})
    with pytest.raises(RuleRefused, match="已有表决记录"):
        votes.void_and_reissue(e.case_number, c[7], "污损", e.actors["street"], reissue=False)
    with runtime.uow() as s:
        assert s.query(VoteEntry).count() == 1


def test_sheet_entry_goes_through_the_same_checks(counting, runtime):
    e, votes = counting
    a, b = e.actors["community"], e.actors["branch"]
    c = codes(votes, e)
    sheet = ("选票编号,候选人/事项,表决意见,无效原因\n"
             f"{c[0]},C1,同意,\n{c[0]},C2,反对,\n{c[1]},,,多选\n").encode()
    assert votes.enter_sheet(e.case_number, sheet, "录入.csv", a) == {"ballots": 2, "states": {"awaiting_second": 2}}
    # the same scrutineer again: every ballot refused, nothing stored
    with pytest.raises(ValidationFailed, match="不能重复录入") as refused:
        votes.enter_sheet(e.case_number, sheet + f"{c[2]},C1,同意,\n".encode(), "录入.csv", a)
    assert len(refused.value.details) == 2
    bad = f"选票编号,候选人/事项,表决意见\n{c[2]},C1,也许\nNOPE-9,C1,同意\n".encode()
    with pytest.raises(ValidationFailed, match="无法识别的表决意见"):
        votes.enter_sheet(e.case_number, bad, "录入.csv", b)
    with pytest.raises(ValidationFailed, match="没有编号"):
        votes.enter_sheet(e.case_number, "选票编号,候选人/事项,表决意见\nNOPE-9,C1,同意\n".encode(), "录入.csv", b)
    with runtime.uow() as s:
        assert s.query(VoteEntry).count() == 2 and {r.source for r in s.scalars(select(VoteEntry))} == {"csv"}
    out = votes.enter_sheet(e.case_number, sheet, "录入.csv", b)
    assert out["states"] == {"settled": 2}
    with pytest.raises(Forbidden):
        votes.enter_sheet(e.case_number, sheet, "录入.csv", e.actors["street"])
