"""Vote counting (Civil Code Art. 278 with the counting words of Art. 1259): boundaries at exactly
2/3, exactly 1/2 and exactly 3/4, seats and ties, and input errors."""
from __future__ import annotations

from decimal import Decimal

import pytest

from engine.domain.owner_roll import parse_roll
from engine.domain.tally import Ballot, BallotError, approved, parse_ballots, quorum_met, tally


def roll_of(areas: list[str]):
    text = "unit_id,owner_id,owner_name,area_m2\n" + "".join(
        f"U{i},O{i},业主{i},{a}\n" for i, a in enumerate(areas))
    return parse_roll(text.encode(), "roll.csv")


def votes(spec: dict[int, str], item: str = "C1") -> list[Ballot]:
    return [Ballot(f"O{i}", item, v) for i, v in spec.items()]


# --- participation: 三分之二以上, inclusive ----------------------------------------------------

def test_quorum_exactly_two_thirds_passes():
    roll = roll_of(["10"] * 3)  # 3 owners, 30 m²
    r = tally(roll, votes({0: "agree", 1: "agree"}))
    assert (r.participating_owners, r.participating_area) == (2, Decimal(20))
    assert r.quorum_met


def test_quorum_just_below_two_thirds_by_area_fails():
    roll = roll_of(["10", "10", "10.0001"])
    r = tally(roll, votes({0: "agree", 1: "agree"}))  # 2/3 of owners, area 20 < 2/3 × 30.0001
    assert not r.quorum_met and not r.items[0].passed


def test_quorum_needs_both_area_and_heads():
    roll = roll_of(["100", "1", "1"])  # one owner has most of the area
    r = tally(roll, votes({0: "agree"}))
    assert not r.quorum_met  # 1/3 of heads
    assert quorum_met(Decimal(2), 2, Decimal(3), 3)
    assert not quorum_met(Decimal(1), 2, Decimal(3), 3)


# --- approval: 过半数 strictly more than 1/2 ------------------------------------------------

def test_exactly_half_does_not_pass_majority():
    roll = roll_of(["10"] * 4)
    r = tally(roll, votes({0: "agree", 1: "agree", 2: "disagree", 3: "abstain"}))
    assert r.quorum_met and not r.items[0].passed  # 2 of 4 is not more than half
    r = tally(roll, votes({0: "agree", 1: "agree", 2: "agree", 3: "abstain"}))
    assert r.items[0].passed


def test_majority_of_heads_but_exactly_half_of_area_fails():
    roll = roll_of(["10", "10", "20"])
    r = tally(roll, votes({0: "agree", 1: "agree", 2: "disagree"}))
    assert r.items[0].agree_area == Decimal(20) and r.participating_area == Decimal(40)
    assert not r.items[0].passed


def test_unmarked_items_count_as_abstain():
    roll = roll_of(["10"] * 3)
    ballots = votes({0: "agree", 1: "agree", 2: "agree"}, "C1") + votes({0: "agree"}, "C2")
    r = tally(roll, ballots)
    c2 = r.item("C2")
    assert (c2.agree_owners, c2.abstain_owners, c2.abstain_area) == (1, 2, Decimal(20))
    assert not c2.passed and r.item("C1").passed


# --- 四分之三以上: inclusive ---------------------------------------------------------------

def test_exactly_three_quarters_passes():
    roll = roll_of(["10"] * 4)
    ballots = votes({0: "agree", 1: "agree", 2: "agree", 3: "disagree"})
    assert tally(roll, ballots, threshold="three_quarters").items[0].passed
    ballots = votes({0: "agree", 1: "agree", 2: "disagree", 3: "disagree"})
    assert not tally(roll, ballots, threshold="three_quarters").items[0].passed


def test_three_quarters_by_area_just_below_fails():
    assert approved(Decimal("75"), 3, Decimal("100"), 4, "three_quarters")
    assert not approved(Decimal("74.99"), 3, Decimal("100"), 4, "three_quarters")
    assert approved(Decimal("50.01"), 3, Decimal("100"), 4)
    assert not approved(Decimal("50"), 3, Decimal("100"), 4)


# --- seats and ties -------------------------------------------------------------------------

def test_seats_ranked_by_owners_then_area():
    roll = roll_of(["10", "20", "30", "40", "50"])
    ballots = []
    for c, voters in {"A": [0, 1, 2, 3], "B": [1, 2, 3, 4], "C": [2, 3, 4], "D": [0, 1, 2]}.items():
        ballots += votes({i: "agree" for i in voters}, c)
    r = tally(roll, ballots, seats=2)
    assert r.elected == ["B", "A"] and r.ties == []
    r3 = tally(roll, ballots, seats=3)
    assert r3.elected == ["B", "A", "C"]  # C (3 owners, 120 m²) beats D (3 owners, 60 m²)


def test_tie_across_last_seat_leaves_it_open():
    roll = roll_of(["10"] * 5)
    ballots = []
    for c, voters in {"A": [0, 1, 2, 3, 4], "B": [0, 1, 2], "C": [2, 3, 4]}.items():
        ballots += votes({i: "agree" for i in voters}, c)
    r = tally(roll, ballots, seats=2)
    assert r.elected == ["A"] and r.ties == ["B", "C"] and r.open_seats == 1
    d = r.to_dict()
    assert list(d) == ["total_area", "total_owners", "participating_area", "participating_owners", "quorum_met",
                       "items", "elected", "ties"]
    assert list(d["items"][0]) == ["item", "agree_area", "agree_owners", "disagree_area", "disagree_owners",
                                   "abstain_area", "abstain_owners", "passed"]
    assert d["total_area"] == "50"


def test_fewer_approved_than_seats():
    roll = roll_of(["10"] * 3)
    r = tally(roll, votes({0: "agree", 1: "agree", 2: "agree"}, "A") + votes({0: "agree"}, "B"), seats=3)
    assert r.elected == ["A"] and r.open_seats == 2


# --- ballots file ---------------------------------------------------------------------------

def test_parse_ballots_words_and_errors():
    roll = roll_of(["10"] * 3)
    ok = parse_ballots("owner_id,item,vote\nO0,A,同意\nO1,A,反对\nO2,A,弃权\nO0,B,Agree\n".encode(), "b.csv", roll)
    assert [b.vote for b in ok] == ["agree", "disagree", "abstain", "agree"]
    bad = b"owner_id,item,vote\nX9,A,agree\nO0,A,maybe\nO1,A,agree\nO1,A,disagree\n"
    with pytest.raises(BallotError) as err:
        parse_ballots(bad, "b.csv", roll)
    assert [(p.line, p.message.split(" ")[0]) for p in err.value.problems] == [
        (2, "unknown"), (3, "unknown"), (5, "owner")]
    with pytest.raises(BallotError):
        parse_ballots(b"owner,item\n", "b.csv", roll)


def test_items_not_on_the_ballot_refused():
    roll = roll_of(["10"])
    with pytest.raises(BallotError):
        tally(roll, votes({0: "agree"}, "Z"), items=["A"])
    r = tally(roll, votes({0: "agree"}, "A"), items=["A", "B"])
    assert [i.item for i in r.items] == ["A", "B"] and r.item("B").abstain_owners == 1
