"""The vote's pure rules at their boundaries, and their invariants under Hypothesis."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.domain import voting as v
from engine.domain.owner_roll import parse_roll
from engine.domain.tally import tally

ITEMS = ["C1", "C2", "C3"]


def R(**marks):
    return v.Reading.of(marks)


def test_register_transitions():
    assert v.next_status("issued", "deliver", channel="door") == "delivered"
    assert v.next_status("issued", "return") == "returned"  # handed in at the box
    assert v.next_status("delivered", "return") == "returned"
    assert v.next_status("delivered", "void") == "void"
    with pytest.raises(v.VoteRefused, match="送达方式"):
        v.next_status("issued", "deliver", channel="fax")
    with pytest.raises(v.VoteRefused, match="重复登记送达"):
        v.next_status("delivered", "deliver", channel="post")
    with pytest.raises(v.VoteRefused, match="已有表决记录"):
        v.next_status("returned", "void", voted=True)
    for action in ("deliver", "return", "void"):
        with pytest.raises(v.VoteRefused, match="已作废"):
            v.next_status("void", action, channel="door")


def test_double_entry_boundaries():
    a, b = R(C1="agree"), R(C1="disagree")
    assert v.reconcile([]).state == "pending"
    assert v.reconcile([v.Entry("x", a, 1)]).state == "awaiting_second"
    settled = v.reconcile([v.Entry("x", a, 1), v.Entry("y", a, 2)])
    assert settled.settled and settled.reading == a
    assert v.reconcile([v.Entry("x", a, 1), v.Entry("y", b, 2)]).state == "mismatch"
    third = v.reconcile([v.Entry("x", a, 1), v.Entry("y", b, 2), v.Entry("z", b, 3)])
    assert third.settled and third.reading == b
    # the same person's two entries never settle a ballot
    assert v.reconcile([v.Entry("x", a, 1), v.Entry("x", a, 2)]).state == "mismatch"
    with pytest.raises(v.VoteRefused, match="不能重复录入"):
        v.check_entry([v.Entry("x", a, 1)], "x")
    with pytest.raises(v.VoteRefused, match="须说明理由"):
        v.check_entry([v.Entry("x", a, 1)], "x", correction_reason=" ")
    assert v.check_entry([v.Entry("x", a, 1)], "x", correction_reason="看错行").seq == 1
    with pytest.raises(v.VoteRefused, match="已核定"):
        v.check_entry([v.Entry("x", a, 1), v.Entry("y", a, 2)], "z")
    # a correction that supersedes the mismatching entry settles the ballot
    fixed = v.reconcile([v.Entry("x", a, 1), v.Entry("y", b, 2, superseded=True), v.Entry("y", a, 3)])
    assert fixed.settled and fixed.reading == a


def test_readings_are_checked():
    assert v.check_reading({"C1": "agree", "C2": ""}, None, ITEMS) == R(C1="agree")
    assert v.check_reading(None, "unsigned", ITEMS).invalid == "unsigned"
    with pytest.raises(v.VoteRefused, match="不是本张选票"):
        v.check_reading({"C9": "agree"}, None, ITEMS)
    with pytest.raises(v.VoteRefused, match="同意、反对或弃权"):
        v.check_reading({"C1": "yes"}, None, ITEMS)
    with pytest.raises(v.VoteRefused, match="无效原因"):
        v.check_reading(None, "torn", ITEMS)
    with pytest.raises(v.VoteRefused, match="无效票不录入"):
        v.check_reading({"C1": "agree"}, "multiple", ITEMS)


def test_participation_is_rounded_down_and_quorum_inclusive():
    areas = {"A": Decimal(1), "B": Decimal(1), "C": Decimal(1)}
    p = v.participation(["A", "B"], areas)
    assert p.quorum_met and p.as_dict()["owners_percent"] == "66.66"  # exactly 2/3 meets, shown rounded down
    assert not v.participation(["A"], areas).quorum_met
    assert v.participation(["A", "A", "X"], areas).owners == 1  # each owner once; strangers ignored


def test_count_inputs_feed_the_tally():
    roll = parse_roll("unit_id,owner_id,owner_name,area_m2\n1-1,A,甲,100\n1-2,B,乙,100\n1-3,C,丙,100\n".encode(), "r.csv")
    got = v.count_inputs([("X-1", "A", R(C1="agree")), ("X-2", "B", R(C1="agree", C2="disagree")),
                          ("X-3", "C", v.Reading.of(invalid="illegible")), ("X-4", "D", None)], ITEMS)
    assert got.unsettled == ["X-4"] and [i["reason_zh"] for i in got.invalid] == ["无法辨认"]
    res = tally(roll, got.ballots, items=ITEMS)
    assert res.participating_owners == 2 and res.item("C1").agree_owners == 2
    assert res.item("C2").disagree_owners == 1 and res.item("C3").abstain_owners == 2


# --- invariants --------------------------------------------------------------------------------

readings = st.sampled_from([R(C1="agree"), R(C1="disagree"), R(), v.Reading.of(invalid="multiple")])
people = st.sampled_from(["p1", "p2", "p3", "p4"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(people, readings, st.booleans()), max_size=8))
def test_settled_reading_was_entered_by_two_different_people(script):
    """Whatever the order of entries and corrections, a ballot settles only on a reading two
    different scrutineers entered and the checks refuse the same person twice."""
    entries: list[v.Entry] = []
    for seq, (who, reading, correct) in enumerate(script):
        try:
            replaced = v.check_entry(entries, who, "改正" if correct else None)
        except v.VoteRefused:
            continue
        if replaced is not None:
            entries = [v.Entry(e.scrutineer, e.reading, e.seq, True) if e == replaced else e for e in entries]
        entries.append(v.Entry(who, reading, seq))
        current = [e for e in entries if not e.superseded]
        assert len({e.scrutineer for e in current}) == len(current)  # one live entry per person
        rec = v.reconcile(entries)
        if rec.settled:
            assert len({e.scrutineer for e in current if e.reading == rec.reading}) >= 2


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["K1", "K2", "K3"]), st.sampled_from(["paper", "online"])), max_size=12))
def test_one_vote_per_ballot_across_channels(records):
    recs = [v.VoteRecord(code, ch, i) for i, (code, ch) in enumerate(records)]
    winners, aside = v.first_recorded(recs)
    assert len(winners) + len(aside) == len(recs)
    assert set(winners) == {r.code for r in recs}
    for code, w in winners.items():
        assert w == min((r for r in recs if r.code == code), key=lambda r: r.seq)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["O1", "O2", "O3"]), st.sampled_from(["deliver", "return", "void", "reissue"])),
                max_size=15))
def test_register_keeps_one_live_ballot_per_owner(script):
    """Void then reissue, in any order of steps: never two live ballots for an owner and round."""
    register = [["O1", 1, "issued"], ["O2", 1, "issued"], ["O3", 1, "issued"]]
    for owner, action in script:
        live = [r for r in register if r[0] == owner and r[2] != "void"]
        if action == "reissue":
            if live:  # the old one is voided first, in the same step
                live[0][2] = v.next_status(live[0][2], "void")
            register.append([owner, 1, "issued"])
        elif live:
            try:
                live[0][2] = v.next_status(live[0][2], action, channel="door")
            except v.VoteRefused:
                pass
        assert v.live_ballot_problem([tuple(r) for r in register]) is None
    counts = v.register_counts([r[2] for r in register])
    assert counts.issued == len(register) and counts.void == sum(r[2] == "void" for r in register)
