"""Negative-list exclusion, objections during publicity, quorum failure and the guards."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.db.models import Document
from engine.runtime.errors import ValidationFailed

from .conftest import CANDIDATES, OWNERS, ballots_csv, candidate


def _to_ballot(e, clock, cands):
    e.nominate(cands)
    e.review_all()
    assert e.advance(clock, 10) == 1  # publicity over
    assert e.advance(clock, 21) == 1  # voting period over


def test_negative_list_candidate_never_reaches_the_ballot(election, clock, runtime):
    e = election
    e.start()
    cands = [candidate(*c) for c in CANDIDATES[:7]]
    cands.append(candidate("C8", "O8", "黄敏", False, {"illegal_construction": True}))
    cands[4]["facts"] = {"fee_arrears": False}  # off by default: not asked; a "no" is harmless
    e.nominate(cands)
    data = runtime.get_task(e.task("cparty", "community_review").id, e.actors["cparty"])["data"]
    assert [c["candidate_id"] for c in data["review_sheet"]] == ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]
    assert data["screening"]["excluded"] == [{"candidate_id": "C8", "name": "黄敏", "grounds": ["在小区内违法搭建"]}]
    assert e.case().summary["excluded_by_negative_list"] == 1
    e.review_all()
    _to_ballot_rest = e.advance(clock, 10)
    assert _to_ballot_rest == 1
    assert "C8" not in e.case().data["voting"]["items"]
    with runtime.uow() as s:
        ballot = s.scalar(select(Document).where(Document.kind == "ballot"))
        assert not any("黄敏" in i for i in json.loads(ballot.context)["items"])
    assert e.advance(clock, 21) == 1
    # A ballot line for the excluded candidate is refused with its line, nothing changes.
    bad = ballots_csv(OWNERS[:8], ["C1"]) + "O1,C8,同意\n"
    with pytest.raises(ValidationFailed) as err:
        e.do("street", "enter_ballots", {"ballot_entry": {"file": e.upload("b.csv", bad)}})
    assert any("b.csv:10" in d["message"] for d in err.value.details)
    assert e.open_names() == ["enter_ballots"]


def test_negative_list_switch_per_street(election, clock, runtime):
    from engine.db.models import OrgUnit
    from engine.domain import negative_list
    from engine.settings_store import put_setting

    with runtime.uow() as s:
        street = s.scalar(select(OrgUnit).where(OrgUnit.code == "PK-JP"))
        put_setting(s, negative_list.SETTING_KEY, street, {"fee_arrears": True}, "admin", runtime.now())
    e = election
    e.start()
    cands = [candidate(*c) for c in CANDIDATES]
    cands[7]["facts"] = {"fee_arrears": True}
    e.nominate(cands)
    data = runtime.get_task(e.task("cparty", "community_review").id, e.actors["cparty"])["data"]
    assert [x["candidate_id"] for x in data["screening"]["excluded"]] == ["C8"]
    assert data["screening"]["setting_version"] == 1


def test_objection_sends_candidate_back_to_review(election, clock, runtime):
    e = election
    e.start()
    e.nominate([candidate(*c) for c in CANDIDATES])  # 8 candidates for 7 seats
    e.review_all()
    assert e.open_names() == ["objections"]
    e.advance(clock, 3)
    e.do("street", "objections", {"objection": {"objections": [
        {"candidate_id": "C5", "objector": "业主O3", "content": "候选人与物业公司存在利益关系", "upheld": True,
         "answer": "经核实需重新审查"},
        {"candidate_id": "C6", "content": "不熟悉小区情况", "upheld": False, "answer": "异议不成立"}]}})
    assert e.open_names() == ["community_review"]
    data = runtime.get_task(e.task("cparty", "community_review").id, e.actors["cparty"])["data"]
    assert [c["candidate_id"] for c in data["review_sheet"]] == ["C5"]
    assert len(data["approved_candidates"]) == 7
    e.do("cparty", "community_review", {"community_decisions": [{"candidate_id": "C5", "approve": False,
                                                                  "reason": "与物业公司存在利益关系"}]})
    e.do("sparty", "street_review", {"street_decisions": [{"candidate_id": "C5", "approve": False, "reason": "同意社区意见"}]})
    d = e.case().data
    assert [c["candidate_id"] for c in d["review"]["rejected"]] == ["C5"]
    assert d["review"]["rejected"][0]["review"]["community"]["reason"] == "与物业公司存在利益关系"
    assert e.open_names() == ["objections"]  # new publicity of the changed list
    assert len(d["objection_log"]) == 2
    assert e.advance(clock, 5) == 0  # the new 7-day publicity started on day 3
    assert e.advance(clock, 7) == 1
    assert "C5" not in e.case().data["voting"]["items"]
    with runtime.uow() as s:
        assert s.scalar(select(Document).where(Document.kind == "candidate_list_publicity")
                        .order_by(Document.id.desc())) is not None
        n = len(list(s.scalars(select(Document.id).where(Document.kind == "candidate_list_publicity"))))
    assert n == 2


def test_objection_proving_a_ground_excludes_and_asks_for_more_nominations(election, clock, runtime):
    e = election
    e.start()
    e.nominate([candidate(*c) for c in CANDIDATES[:7]])
    e.review_all()
    e.do("street", "objections", {"objection": {"objections": [
        {"candidate_id": "C2", "content": "违法搭建阳光房", "upheld": True, "answer": "查证属实",
         "grounds": ["illegal_construction"]}]}})
    assert e.open_names() == ["nominate"]  # 6 left for 7 seats
    d = e.case().data
    assert any(x["candidate_id"] == "C2" for x in d["excluded_candidates"])
    e.nominate([candidate("C9", "O8", "黄敏", False)])
    e.review_all()
    assert e.open_names() == ["objections"]
    assert sorted(c["candidate_id"] for c in e.case().data["approved_candidates"]) == \
        ["C1", "C3", "C4", "C5", "C6", "C7", "C9"]


def test_quorum_failure_reballot_then_success(election, clock, runtime):
    e = election
    e.start()
    cands = [candidate(*c) for c in CANDIDATES[:7]]
    _to_ballot(e, clock, cands)
    items = [c["candidate_id"] for c in cands]
    e.do("street", "enter_ballots", {"ballot_entry": {"file": e.upload("b1.csv", ballots_csv(OWNERS[:5], items))}})
    d = e.case().data
    assert not d["count"]["quorum_met"] and not d["count"]["complete"]
    assert e.open_names() == ["decide_failure"]
    with pytest.raises(ValidationFailed):
        e.do("street", "decide_failure", {"failure": {"decision": "accept", "reason": "确认"}})
    e.do("street", "decide_failure", {"failure": {"decision": "reballot", "reason": "参与人数不足，重新投票"}})
    assert e.case().summary["ballot_rounds"] == 2
    assert e.advance(clock, 8) == 1
    e.do("street", "enter_ballots", {"ballot_entry": {"file": e.upload("b2.csv", ballots_csv(OWNERS, items))}})
    assert e.open_names() == ["first_meeting"]
    assert e.case().summary["quorum_met"] is True


def test_quorum_failure_close(election, clock, runtime):
    e = election
    e.start()
    cands = [candidate(*c) for c in CANDIDATES[:7]]
    _to_ballot(e, clock, cands)
    e.do("street", "enter_ballots", {"ballot_entry": {"file": e.upload("b1.csv", ballots_csv(["O1"], ["C1"]))}})
    e.do("street", "decide_failure", {"failure": {"decision": "close", "reason": "业主参与不足，终止本次选举"}})
    view = e.case()
    assert view.status == "completed" and view.summary["outcome"] == "closed"


def test_guards_refuse_bad_input(election, clock, runtime):
    e = election
    view = runtime.start_case("committee_election", "PK-JP-XC-01", e.actors["street"], {})
    e.case_number = view.case_number
    with pytest.raises(ValidationFailed):  # even seats refused by the form
        e.do("street", "open_case", {"case": {"election_kind": "first", "seats": 6, "term_years": 5}})
    e.do("street", "open_case", {"case": {"election_kind": "renewal", "seats": 5, "term_years": 3}})
    with pytest.raises(ValidationFailed) as err:  # even size, owners < half, leader not street
        e.do("street", "form_group", {"group": {"members": [
            {"name": "甲", "kind": "owner", "position": "组长"}, {"name": "乙", "kind": "developer", "position": "成员"},
            {"name": "丙", "kind": "street", "position": "成员"}, {"name": "丁", "kind": "residents_committee", "position": "成员"}]}})
    assert len(err.value.details) == 3
    e.do("street", "form_group", {"group": {"members": [
        {"name": "王街道", "kind": "street", "position": "组长"}, {"name": "甲", "kind": "owner", "position": "成员"},
        {"name": "乙", "kind": "owner", "position": "成员"}]}})
    bad_roll = "unit_id,owner_id,owner_name,area_m2\n1,O1,甲,0\n1,O2,乙,abc\n"
    with pytest.raises(ValidationFailed) as err:
        e.do("street", "confirm_roll", {"roll": {"file": e.upload("bad.csv", bad_roll), "inspection_place": "物业中心"}})
    assert [d["field"] for d in err.value.details] == ["bad.csv:2", "bad.csv:3", "bad.csv:3"]
    assert e.open_names() == ["confirm_roll"]
    from .conftest import ROLL
    e.do("street", "confirm_roll", {"roll": {"file": e.upload("roll.csv", ROLL), "inspection_place": "物业中心"}})
    with pytest.raises(ValidationFailed) as err:  # meeting less than 15 days away
        e.do("street", "meeting_plan", {"meeting": {"meeting_name": "换届业主大会会议", "meeting_date": "2026-12-05",
                                                    "meeting_time": "9:00", "place": "会所", "form": "集体讨论"}})
    assert "15" in err.value.details[0]["message_zh"]
    assert e.case().summary["kind"] == "renewal"
