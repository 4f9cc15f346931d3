"""Candidacy rules: a candidate is an owner of the roll; the negative list's exclusions hold; the
list's summary is computed from the list; ballots count only the issued ballot's candidates."""
from __future__ import annotations

from engine.domain import committee as rules
from engine.domain.tally import Ballot, match_ballot_items, set_aside_summary

ROLL = {"O1": "张伟", "O2": "王芳", "O3": "李娜"}
CRIMINAL = {"matched": [{"id": "criminal", "text": "正在被刑事立案侦查，或三年内受过刑事处罚"}], "eligible": False}


def _cand(cid, owner, **extra):
    return {"candidate_id": cid, "owner_id": owner, "name": ROLL.get(owner, "某"), **extra}


def _check(cands, approved=(), excluded=(), owners=None, disabled=None):
    return rules.check_nominations(cands, ROLL, list(approved), list(excluded), owners or {}, disabled or {})


def test_a_clean_round_has_no_problems():
    assert _check([_cand("C1", "O1"), _cand("C2", "O2")]) == ([], [])


def test_an_excluded_owner_is_refused_under_any_id_naming_the_ground():
    excluded = [_cand("C3", "O3", screening=CRIMINAL)]
    for cid in ("C3", "C9"):
        problems, refusals = _check([_cand(cid, "O3")], excluded=excluded, owners={"C3": "O3"})
        assert problems == [] and len(refusals) == 1
        assert "正在被刑事立案侦查" in refusals[0]["message_zh"] and refusals[0]["field"] == "candidates.0.owner_id"
    # With new facts stated, the nomination goes on (to the joint review).
    assert _check([_cand("C9", "O3", reconsideration="已撤销立案")], excluded=excluded, owners={"C3": "O3"}) == ([], [])
    # Blank new facts are no new facts.
    assert len(_check([_cand("C9", "O3", reconsideration="  ")], excluded=excluded)[1]) == 1


def test_ids_belong_to_owners_and_owners_stand_once():
    problems, refusals = _check([_cand("C1", "O2")], owners={"C1": "O1"})
    assert "已用于业主 O1" in refusals[0]["message_zh"]
    _p, refusals = _check([_cand("C7", "O1")], approved=[_cand("C1", "O1")])
    assert "已是审查通过的候选人" in refusals[0]["message_zh"]
    problems, refusals = _check([_cand("C1", "O1"), _cand("C2", "O1"), _cand("C2", "O2")])
    assert [p["message_zh"] for p in problems] == ["业主「张伟」（O1）在本轮提名中出现两次", "候选人编号 C2 重复"]
    problems, _r = _check([_cand("C1", "O9")])
    assert "不在业主名册中" in problems[0]["message_zh"]


def test_a_switched_off_ground_is_refused_only_when_marked():
    off = {"fee_arrears": "拖欠物业服务费或专项维修资金"}
    assert _check([_cand("C1", "O1", facts={"fee_arrears": False})], disabled=off) == ([], [])
    _p, refusals = _check([_cand("C1", "O1", facts={"fee_arrears": True})], disabled=off)
    assert refusals[0]["field"] == "candidates.0.facts.fee_arrears"


def test_an_exclusion_is_cleared_only_by_the_entry_that_weighed_it():
    excluded = [_cand("C3", "O3", screening=CRIMINAL), _cand("C5", "O3", screening=CRIMINAL)]
    assert rules.barred_owners(excluded, []) == {"O3": [0, 1]}
    assert rules.barred_owners(excluded, [_cand("C9", "O3", reconsidered=[0])]) == {"O3": [1]}
    assert rules.barred_owners(excluded, [_cand("C9", "O3", reconsidered=[0, 1])]) == {}
    assert [e["no"] for e in rules.earlier_screenings(excluded, "O3")] == [0, 1]


def test_list_summary_is_computed_from_the_list():
    approved = [_cand("C1", "O1", party_member=True), _cand("C2", "O2", party_member=False)]
    s = rules.list_summary(approved, [_cand("C3", "O3", screening=CRIMINAL)], [{"candidate_id": "C1"}])
    assert (s["approved_candidates"], s["party_member_share"], s["party_majority"]) == (2, "1/2", False)
    assert s["excluded_by_negative_list"] == 1 and s["objections"] == 1
    assert rules.list_summary(approved[:1], [], [])["party_member_share"] == "1/1"


def test_ballot_lines_for_anything_off_the_ballot_are_kept_apart_with_why():
    lines = [Ballot("O1", "C1", "agree", 2), Ballot("O2", "王芳", "agree", 3), Ballot("O3", "C6", "agree", 4),
             Ballot("O3", "杨帆", "agree", 5), Ballot("O3", "谁", "agree", 6)]
    counted, aside, errors = match_ballot_items(lines, {"C1": "张伟", "C2": "王芳"}, "b.csv",
                                                {"C6": "异议成立，已取消候选人资格", "杨帆": "异议成立，已取消候选人资格"})
    assert [(b.item, b.line) for b in counted] == [("C1", 2), ("C2", 3)] and errors == []
    assert [a.problem.line for a in aside] == [4, 5, 6]
    assert set_aside_summary(aside)["reasons"] == {"异议成立，已取消候选人资格": 2, "不是本案候选人": 1}
    assert aside[0].problem.as_detail()["field"] == "b.csv:4"


def test_a_shared_name_and_an_id_plus_name_repeat_are_entry_errors():
    lines = [Ballot("O1", "王芳", "agree", 2), Ballot("O2", "C1", "agree", 3), Ballot("O2", "张伟", "agree", 4)]
    counted, aside, errors = match_ballot_items(lines, {"C1": "张伟", "C2": "王芳", "C5": "王芳"}, "b.csv")
    assert [p.line for p in errors] == [2, 4] and [b.line for b in counted] == [3] and aside == []
