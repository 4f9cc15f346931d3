"""The second factor of online voting chosen per compound: the PIN on the ballot (default) or the
last six characters of the owner's ID number on the roll. Fixed on the round when its ballots are
issued: a change of the setting mid-vote applies from the next round, since the ballots already
printed say which to type. Walked around: the PIN in an ID round, the ID digits in a PIN round,
wrong tries up to the lock, unknown codes, a reissue after the setting changed."""
from __future__ import annotations

import io
import json

import pdfplumber
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from engine.db.models import Document, User
from engine.db.vote_models import VoteBallot, VoteRound
from engine.domain.id_number import check_character
from engine.runtime.actors import Actor
from engine.runtime.errors import Forbidden, ValidationFailed
from engine.runtime.settings import effective_setting, save_setting
from engine.voting.online import MAX_PIN_FAILURES, NOT_ACCEPTED_ZH, NotAccepted, OnlineVoting, ballot_pin
from tests.committee.conftest import CANDIDATES, COMPOUND, ROLL, ROOT, Election, candidate
from tests.web.support import csrf_of, demo_hash

ALL_AGREE = {f"C{i}": "agree" for i in range(1, 8)}
ADMIN = Actor.system("test")


def id_number(n: int) -> str:
    """A valid number for owner n, ending in X for owners 3 and 7 and in a digit otherwise."""
    for seq in range(n * 100, n * 100 + 100):
        first17 = f"440304198506{n + 10:02d}{seq:03d}"
        if (check_character(first17) == "X") == (n in (3, 7)):
            return first17 + check_character(first17)
    raise AssertionError(n)


# Owner On gets id_number(n); owners 3 and 7 end in X (the lower case typed works too).
IDS = {f"O{n}": id_number(n) for n in range(1, 9)}
ID_ROLL = "unit_id,owner_id,owner_name,area_m2,building,id_number\n" + "".join(
    line + "," + (IDS.get(line.split(",")[1], "")) + "\n" for line in ROLL.strip().splitlines()[1:])


def set_factor(runtime, factor: str) -> None:
    save_setting(runtime, "vote_second_factor", COMPOUND, {"factor": factor}, ADMIN)


def _voting(runtime, actors, clock, factor: str, roll: str = ID_ROLL):
    from engine.runtime.service import deploy
    from engine.voting.service import VoteService

    deploy(runtime, [ROOT / "bpmn" / "committee_election.bpmn"], ROOT / "forms")
    set_factor(runtime, factor)
    e = Election(runtime, actors)
    e.start(roll=roll)
    e.nominate([candidate(*c) for c in CANDIDATES[:7]])
    e.review_all()
    e.advance(clock, 10)  # publicity ends → voting opens, ballots are issued
    assert e.case().data["voting"]["round"] == 1
    return e, VoteService(runtime), OnlineVoting(runtime)


@pytest.fixture
def by_id(runtime, actors, clock):
    return _voting(runtime, actors, clock, "id_last6")


def ballots(runtime, e) -> dict[str, VoteBallot]:
    """owner id → the owner's ballot (not void)"""
    with runtime.uow() as s:
        rows = s.scalars(select(VoteBallot).where(VoteBallot.status != "void").order_by(VoteBallot.id)).all()
        s.expunge_all()
        return {b.owner_id: b for b in rows}


def ballot_text(runtime) -> str:
    with runtime.uow() as s:
        docs = s.scalars(select(Document).where(Document.kind == "ballot").order_by(Document.id)).all()
        out = []
        for doc in docs:
            with pdfplumber.open(io.BytesIO(doc.content)) as pdf:
                out.append("".join(p.extract_text() or "" for p in pdf.pages))
        return "".join(out)


def test_the_setting_is_validated_and_only_an_administrator_changes_it(runtime, actors):
    assert effective_setting(runtime, "vote_second_factor", COMPOUND).value == {"factor": "pin"}
    with pytest.raises(ValidationFailed, match="验证方式须为 pin 或 id_last6"):
        save_setting(runtime, "vote_second_factor", COMPOUND, {"factor": "sms"}, ADMIN)
    with pytest.raises(ValidationFailed):
        save_setting(runtime, "vote_second_factor", COMPOUND, "id_last6", ADMIN)
    with pytest.raises(Forbidden):
        save_setting(runtime, "vote_second_factor", COMPOUND, {"factor": "id_last6"}, actors["street"])
    assert effective_setting(runtime, "vote_second_factor", COMPOUND).value == {"factor": "pin"}
    set_factor(runtime, "id_last6")
    assert effective_setting(runtime, "vote_second_factor", COMPOUND).value == {"factor": "id_last6"}


def test_the_id_digits_vote_and_the_ballot_prints_no_pin(by_id, runtime):
    e, votes, ov = by_id
    mine = ballots(runtime, e)
    with runtime.uow() as s:
        assert s.get(VoteRound, (mine["O1"].case_id, 1)).second_factor == "id_last6"
        contexts = " ".join(d.context for d in s.scalars(select(Document).where(Document.kind == "ballot")))
    for owner, number in IDS.items():
        assert number not in contexts and number[-6:] not in contexts  # the stored page data: no ID digits
        assert mine[owner].id_check and number[-6:] not in mine[owner].id_check
    assert mine["DEVELOPER"].id_check is None
    text = ballot_text(runtime)
    assert "请以身份证号后六位验证" in text and "网上投票密码" not in text
    assert ballot_pin(mine["O1"].code) not in text
    assert "名册未登记身份证号，本票请投纸质票" in text  # the developer's ballot
    assert IDS["O3"].endswith("X")
    out = ov.cast(mine["O3"].code, IDS["O3"][-6:].lower(), ALL_AGREE)
    assert out["counted"]
    assert ov.open_ballot(mine["O1"].code, " " + IDS["O1"][-6:]).voted is None


def test_wrong_id_digits_five_times_lock_until_staff_unlock(by_id, runtime):
    e, votes, ov = by_id
    b = ballots(runtime, e)["O2"]
    right = IDS["O2"][-6:]
    wrong = IDS["O4"][-6:]
    for _ in range(MAX_PIN_FAILURES):
        with pytest.raises(NotAccepted) as exc:
            ov.open_ballot(b.code, wrong)
        assert exc.value.message_zh == NOT_ACCEPTED_ZH
    with pytest.raises(NotAccepted):  # locked: the right digits no longer open it, same answer
        ov.cast(b.code, right, ALL_AGREE)
    assert ov.locked_codes(e.case_number, e.actors["street"]) == [b.code]
    ov.unlock(e.case_number, b.code, e.actors["street"], "已查验业主身份证原件")
    assert ov.cast(b.code, right, ALL_AGREE)["counted"]


def test_the_pin_is_refused_in_an_id_round_and_answered_like_an_unknown_code(by_id, runtime):
    e, votes, ov = by_id
    mine = ballots(runtime, e)
    b = mine["O5"]
    assert ballot_pin(b.code) != IDS["O5"][-6:]
    answers = []
    for code, answer in ((b.code, ballot_pin(b.code)), ("NOSUCHCODE-1", IDS["O5"][-6:]),
                         (b.code, IDS["O6"][-6:]), (b.code, IDS["O5"]),  # another's digits; the whole number
                         (mine["DEVELOPER"].code, ballot_pin(mine["DEVELOPER"].code))):
        with pytest.raises(NotAccepted) as exc:
            ov.open_ballot(code, answer)
        answers.append(json.dumps([exc.value.message_zh, exc.value.details], ensure_ascii=False))
    assert len(set(answers)) == 1


def test_the_id_digits_are_refused_in_a_pin_round(runtime, actors, clock):
    e, votes, ov = _voting(runtime, actors, clock, "pin")
    b = ballots(runtime, e)["O1"]
    assert b.id_check is None and "网上投票密码" in ballot_text(runtime)
    with pytest.raises(NotAccepted):
        ov.open_ballot(b.code, IDS["O1"][-6:])
    assert ov.cast(b.code, ballot_pin(b.code), ALL_AGREE)["counted"]


def test_switching_the_setting_mid_vote_keeps_the_rounds_factor(by_id, runtime):
    e, votes, ov = by_id
    set_factor(runtime, "pin")  # changed while the round's ballots are out
    mine = ballots(runtime, e)
    with pytest.raises(NotAccepted):
        ov.open_ballot(mine["O7"].code, ballot_pin(mine["O7"].code))
    new = votes.void_and_reissue(e.case_number, mine["O7"].code, "选票遗失", e.actors["street"])["reissued"]
    with runtime.uow() as s:
        reissued = s.scalar(select(VoteBallot).where(VoteBallot.code == new))
        assert reissued.id_check == mine["O7"].id_check
        doc = s.get(Document, reissued.document_id)
        with pdfplumber.open(io.BytesIO(doc.content)) as pdf:
            assert "请以身份证号后六位验证" in "".join(p.extract_text() or "" for p in pdf.pages)
    assert ov.cast(new, IDS["O7"][-6:], ALL_AGREE)["counted"]


def test_an_id_round_needs_every_owners_id_number():
    """Without an owner's ID number the ballots are not printed: issuing stops with the names."""
    from engine.domain.owner_roll import parse_roll
    from engine.voting.register import ballot_owners

    roll = parse_roll(ID_ROLL.replace(IDS["O4"], "").encode(), "roll.csv")
    with pytest.raises(ValidationFailed, match="刘洋（业主编号 O4）"):
        ballot_owners(roll, "id_last6")
    assert [o.get("paper_only") for o in ballot_owners(roll, "pin")] == [None] * 9


def test_the_page_asks_for_the_id_digits_when_the_ballot_says_so(by_id, runtime, clock):
    from engine.web.app import create_app

    e, votes, ov = by_id
    with runtime.uow() as s:
        s.execute(update(User).values(password_hash=demo_hash()))
    owner = TestClient(create_app(runtime.settings, clock))
    b = ballots(runtime, e)["O8"]
    page = owner.get(f"/vote/{b.code}?f=id_last6")
    assert '<label for="pin">身份证号后六位</label>' in page.text and "网上投票密码</strong>" not in page.text
    plain = owner.get(f"/vote/{b.code}")
    assert '<label for="pin">网上投票密码</label>' in plain.text
    wrong = owner.post("/vote/open", data={"code": b.code, "pin": ballot_pin(b.code), "f": "id_last6",
                                           "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 422 and NOT_ACCEPTED_ZH in wrong.text and "身份证号后六位</label>" in wrong.text
    r = owner.post("/vote/open", data={"code": b.code, "pin": IDS["O8"][-6:], "f": "id_last6",
                                       "csrf_token": csrf_of(page.text)})
    assert r.status_code == 200 and 'id="vote-form"' in r.text and 'name="f" value="id_last6"' in r.text
    form = {"code": b.code, "pin": IDS["O8"][-6:], "f": "id_last6", "csrf_token": csrf_of(r.text),
            "mark:C1": "agree"}
    done = owner.post("/vote/cast", data=form, follow_redirects=True)
    assert done.status_code == 200 and "已记录，将计入本轮计票" in done.text


def test_the_administrator_picks_the_factor_for_a_compound_on_the_settings_page(runtime, clock):
    from engine.web.app import create_app
    from tests.web.support import logged_in

    with runtime.uow() as s:
        s.execute(update(User).values(password_hash=demo_hash()))
    admin = logged_in(create_app(runtime.settings, clock), "admin")
    page = admin.get(f"/admin/settings/vote_second_factor?org={COMPOUND}")
    assert page.status_code == 200 and 'name="v.factor" value="id_last6"' in page.text
    assert "业主名册登记的身份证号后六位" in page.text and "<textarea" not in page.text
    form = {"csrf_token": csrf_of(page.text), "org": COMPOUND}
    r = admin.post("/admin/settings/vote_second_factor", data={**form, "v.factor": "sms"})  # not offered
    assert r.status_code == 422 and "验证方式须为 pin 或 id_last6" in r.text
    assert effective_setting(runtime, "vote_second_factor", COMPOUND).value == {"factor": "pin"}
    r = admin.post("/admin/settings/vote_second_factor", data={**form, "v.factor": "id_last6"})
    assert r.status_code == 200 and "已保存为第 1 版" in r.text
    assert effective_setting(runtime, "vote_second_factor", COMPOUND).value == {"factor": "id_last6"}
    assert effective_setting(runtime, "vote_second_factor", "PK-JP").value == {"factor": "pin"}  # the street: default


def test_both_voting_processes_share_one_setting_and_another_spec_of_its_key_is_refused():
    from engine.processes.common import VOTE_SECOND_FACTOR
    from engine.runtime import registry
    from engine.runtime.registry import ProcessDescriptor, SettingSpec

    owners = [d.key for d in registry.descriptors() if any(s is VOTE_SECOND_FACTOR for s in d.settings)]
    assert owners == ["committee_election", "prior_review"]
    assert registry.settings()["vote_second_factor"] is VOTE_SECOND_FACTOR
    rival = ProcessDescriptor(key="rival_vote", title="另一种表决", case_prefix="RV", starters=frozenset(),
                              settings=(SettingSpec("vote_second_factor", "另一个验证方式", dict, lambda v: []),))
    with pytest.raises(ValueError, match="vote_second_factor"):
        registry.register(rival)
    assert "rival_vote" not in [d.key for d in registry.descriptors()]


def test_an_election_in_an_id_compound_without_the_numbers_prints_no_ballots(runtime, actors, clock):
    """The ballot job stops with the owners' names (an operator retries it once the roll has the
    numbers or the compound uses the PIN); nothing of it is kept."""
    from engine.db.job_models import Job

    _voting(runtime, actors, clock, "id_last6", roll=ROLL)
    with runtime.uow() as s:
        job = s.scalars(select(Job).order_by(Job.id.desc())).first()
        assert job.status != "done" and "业主名册须填写每位业主的居民身份证号码" in job.last_error  # retried later
        assert "张伟（业主编号 O1）" in job.last_error
        assert s.scalar(select(VoteBallot.id)) is None
        assert s.scalar(select(Document.id).where(Document.kind == "ballot")) is None
