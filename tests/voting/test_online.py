"""Owners voting online with their ballot's code and PIN, and the ways around it: wrong PINs and
the lock, unknown and known codes answered alike, the deadline instant, void ballots, the same
ballot through both channels in both orders, another compound's code, and concurrent double
submissions on PostgreSQL."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.audit import case_chain, chain_events
from engine.db.models import Document
from engine.db.vote_models import VoteBallot, VoteOnline
from engine.runtime.errors import Forbidden, NotFound, RuleRefused
from engine.voting.online import MAX_PIN_FAILURES, NOT_ACCEPTED_ZH, NotAccepted, OnlineVoting, ballot_pin

from .conftest import SCRUTINEERS, close_voting, codes

ALL_AGREE = {f"C{i}": "agree" for i in range(1, 8)}


@pytest.fixture
def online(voting, runtime):
    e, votes = voting
    return e, votes, OnlineVoting(runtime)


def _actions(runtime, e) -> list:
    with runtime.uow() as s:
        return [(ev.action, json.loads(ev.detail) if isinstance(ev.detail, str) else ev.detail)
                for ev in chain_events(s, case_chain(e.case_number))]


def test_the_pin_is_printed_but_never_stored(online, runtime):
    e, votes, ov = online
    code = codes(votes, e)[0]
    pin = ballot_pin(code)
    assert len(pin) == 6 and pin.isdigit()
    with runtime.uow() as s:
        for doc in s.scalars(select(Document).where(Document.kind == "ballot")):
            assert pin not in doc.context  # the stored render context holds no PIN
            ballots = json.loads(doc.context)["ballots"]
            assert all(set(b) & {"pin", "ballot_pin"} == set() for b in ballots)
            assert "vote/" not in doc.context  # the voting link is drawn at render time as well
    from engine.notices.render import ballot_pin as printed

    assert printed(code) == pin


def test_owner_votes_once_and_the_receipt_says_counted(online, runtime):
    e, votes, ov = online
    code = codes(votes, e)[0]
    ballot = ov.open_ballot(code, ballot_pin(code))
    assert ballot.items == [f"C{i}" for i in range(1, 8)] and ballot.voted is None
    out = ov.cast(code.lower(), ballot_pin(code), {"C1": "agree", "C2": "disagree"})
    assert out["counted"] and out["receipt"]
    assert ov.check_receipt(out["receipt"].replace("-", "").lower())["counted"]
    assert ov.open_ballot(code, ballot_pin(code)).voted["receipt"] == out["receipt"]
    again = ov.cast(code, ballot_pin(code), {"C1": "disagree"})  # a second online vote: set aside
    assert not again["counted"] and "网上投票已先行记录" in again["reason_zh"]
    assert not ov.check_receipt(again["receipt"])["counted"]
    assert ov.check_receipt("AAAA-BBBB-CCCC") is None
    actions = _actions(runtime, e)
    voted = [d for a, d in actions if a == "vote:online_voted"]
    assert len(voted) == 1 and "marks" not in json.dumps(voted[0]) and "agree" not in json.dumps(voted[0])
    assert any(a == "vote:online_set_aside" for a, _ in actions)
    with pytest.raises(RuleRefused, match="同意、反对或弃权"):
        ov.cast(codes(votes, e)[1], ballot_pin(codes(votes, e)[1]), {"C1": "yes"})
    with pytest.raises(RuleRefused, match="不是本张选票上的事项"):
        ov.cast(codes(votes, e)[1], ballot_pin(codes(votes, e)[1]), {"C99": "agree"})


def test_wrong_pin_six_times_locks_until_staff_unlock(online, runtime):
    e, votes, ov = online
    code = codes(votes, e)[2]
    pin = ballot_pin(code)
    wrong = str((int(pin) + 1) % 10 ** 6).zfill(6)
    for _ in range(MAX_PIN_FAILURES + 1):
        with pytest.raises(NotAccepted) as exc:
            ov.open_ballot(code, wrong)
        assert exc.value.message_zh == NOT_ACCEPTED_ZH
    with pytest.raises(NotAccepted):  # locked: the right PIN no longer opens it, same answer
        ov.cast(code, pin, ALL_AGREE)
    with runtime.uow() as s:
        b = s.scalar(select(VoteBallot).where(VoteBallot.code == code))
        assert b.pin_locked_at is not None and b.voted_channel is None
    assert [a for a, _ in _actions(runtime, e)].count("vote:online_pin_locked") == 1
    assert ov.locked_codes(e.case_number, e.actors["street"]) == [code]
    with pytest.raises(Forbidden):
        ov.unlock(e.case_number, code, e.actors["auditor"], "已核实身份")
    with pytest.raises(Exception, match="理由"):
        ov.unlock(e.case_number, code, e.actors["street"], " ")
    ov.unlock(e.case_number, code, e.actors["street"], "已当面核实业主身份")
    assert any(a == "vote:online_pin_unlocked" and d["reason"] == "已当面核实业主身份" for a, d in _actions(runtime, e))
    assert ov.cast(code, pin, ALL_AGREE)["counted"]
    with pytest.raises(RuleRefused, match="未被锁定"):
        ov.unlock(e.case_number, code, e.actors["street"], "再次解锁")


def test_unknown_code_and_known_code_answer_alike(online):
    e, votes, ov = online
    code = codes(votes, e)[3]
    answers = []
    for c in (code, code[:-1] + "9", "NOSUCHCODE-1", "X" * 60):
        with pytest.raises(NotAccepted) as exc:
            ov.open_ballot(c, "000000" if ballot_pin(code) != "000000" else "111111")
        answers.append((exc.value.message_zh, exc.value.details))
    assert len({json.dumps(a, ensure_ascii=False) for a in answers}) == 1


def test_online_voting_closes_exactly_at_the_deadline(online, clock):
    e, votes, ov = online
    c = codes(votes, e)
    due = datetime.fromisoformat(e.case().data["voting"]["due"])
    clock.set(due - timedelta(microseconds=1))
    assert ov.cast(c[4], ballot_pin(c[4]), ALL_AGREE)["counted"]
    clock.set(due)
    with pytest.raises(RuleRefused, match="网上投票已于投票截止时间关闭"):
        ov.cast(c[5], ballot_pin(c[5]), ALL_AGREE)
    with pytest.raises(NotAccepted):  # closed or not, an unknown code learns nothing
        ov.cast("NOSUCHCODE-1", "123456", ALL_AGREE)


def test_a_void_ballot_cannot_vote_its_reissue_can(online):
    e, votes, ov = online
    code = codes(votes, e)[6]
    new = votes.void_and_reissue(e.case_number, code, "选票遗失", e.actors["street"])["reissued"]
    with pytest.raises(RuleRefused, match="已作废"):
        ov.cast(code, ballot_pin(code), ALL_AGREE)
    assert ov.cast(new, ballot_pin(new), ALL_AGREE)["counted"]
    with pytest.raises(RuleRefused, match="已有表决记录"):  # a ballot voted online can no longer be voided
        votes.void_and_reissue(e.case_number, new, "再次补发", e.actors["street"])


def test_online_first_then_paper_entry_is_set_aside_and_listed(online, runtime, clock):
    e, votes, ov = online
    c = codes(votes, e)
    street = e.actors["street"]
    for who in SCRUTINEERS:
        votes.designate_scrutineer(e.case_number, who, street)
    online_codes = c[:6]
    for code in online_codes:
        assert ov.cast(code, ballot_pin(code), ALL_AGREE)["counted"]
    close_voting(e, clock)
    a, b, _ = (e.actors[x] for x in SCRUTINEERS)
    dup = votes.enter(e.case_number, c[0], a, {"C1": "disagree"})
    assert dup.set_aside
    for code in c[6:8]:
        votes.enter(e.case_number, code, a, ALL_AGREE)
        votes.enter(e.case_number, code, b, ALL_AGREE)
    assert any(a_ == "vote:ballot_set_aside" for a_, _ in _actions(runtime, e))
    from engine.voting.count import register_count

    with runtime.uow() as s:
        case_id = s.scalar(select(VoteBallot.case_id).where(VoteBallot.code == c[0]))
        counted = register_count(s, case_id, 1)
    owners = {ln.owner_id for ln in counted.ballots}
    assert len(owners) == 8 and not counted.unsettled
    assert [d["code"] for d in counted.set_aside] == [c[0]]
    assert all(ln.vote == "agree" for ln in counted.ballots)  # the paper "disagree" is not counted


def test_paper_returned_first_then_online_is_set_aside(online, runtime, clock):
    e, votes, ov = online
    c = codes(votes, e)
    street = e.actors["street"]
    votes.return_ballot(e.case_number, c[1], street)  # the paper ballot is in the box
    out = ov.cast(c[1], ballot_pin(c[1]), ALL_AGREE)
    assert not out["counted"] and "纸质选票已投入票箱" in out["reason_zh"]
    for who in SCRUTINEERS:
        votes.designate_scrutineer(e.case_number, who, street)
    close_voting(e, clock)
    a, b, _ = (e.actors[x] for x in SCRUTINEERS)
    votes.enter(e.case_number, c[1], a, {"C1": "disagree"})
    assert votes.enter(e.case_number, c[1], b, {"C1": "disagree"}).state == "settled"
    from engine.voting.count import register_count

    with runtime.uow() as s:
        case_id = s.scalar(select(VoteBallot.case_id).where(VoteBallot.code == c[1]))
        counted = register_count(s, case_id, 1)
    assert {(d["code"], d["channel"]) for d in counted.set_aside} == {(c[1], "online")}
    assert any(ln.item == "C1" and ln.vote == "disagree" for ln in counted.ballots)


def test_another_compounds_code_and_staff_are_kept_apart(online, runtime):
    e, votes, ov = online
    code = codes(votes, e)[0]
    with pytest.raises(NotFound):  # a code that is not this case's is not unlocked through it
        ov.unlock(e.case_number, "OTHERDOC-1", e.actors["street"], "核实")
    other = e.actors["community2"]  # another community's staff: the case does not exist for them
    with pytest.raises(NotFound):
        ov.unlock(e.case_number, code, other, "核实")
    with pytest.raises(NotFound):
        ov.participation(e.case_number, other)


def test_participation_counts_heads_and_area_never_figures(online, runtime):
    e, votes, ov = online
    c = codes(votes, e)
    p0 = ov.participation(e.case_number, e.actors["street"])
    assert p0["owners"] == 0 and p0["open"] and p0["total_owners"] == 9
    ov.cast(c[0], ballot_pin(c[0]), ALL_AGREE)
    votes.return_ballot(e.case_number, c[1], e.actors["street"])
    p = ov.participation(e.case_number, e.actors["street"])
    assert p["owners"] == 2 and p["online"] == 1 and not p["quorum_met"]
    text = json.dumps(p, ensure_ascii=False, default=str)
    for word in ("C1", "agree", "同意", "张伟"):
        assert word not in text


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # row locks: PostgreSQL's
def test_concurrent_double_submissions_count_once(voting):
    """100 threads submit the same ballot at once (on its own PostgreSQL database)."""
    e, votes = voting
    rt = e.rt
    ov = OnlineVoting(rt)
    code = codes(votes, e)[0]
    pin = ballot_pin(code)
    results: list = []
    start = threading.Barrier(100)

    def submit() -> None:
        start.wait()
        try:
            results.append(ov.cast(code, pin, ALL_AGREE)["counted"])
        except Exception as exc:  # noqa: BLE001 - counted below
            results.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1, [r for r in results if not isinstance(r, bool)][:3]
    with rt.uow() as s:
        b = s.scalar(select(VoteBallot).where(VoteBallot.code == code))
        counted = s.scalar(select(func.count()).select_from(VoteOnline)
                           .where(VoteOnline.ballot_id == b.id, VoteOnline.set_aside.is_(False)))
        assert counted == 1 and b.voted_channel == "online"
