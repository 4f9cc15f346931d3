"""Property tests for vote counting: order does not matter, one more agreeing ballot never turns a
pass into a fail, and the totals add up."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.domain.owner_roll import Owner, OwnerRoll, Unit
from engine.domain.tally import Ballot, tally

ITEMS = ["A", "B", "C"]


@st.composite
def elections(draw):
    n = draw(st.integers(1, 12))
    areas = [Decimal(draw(st.integers(1, 20000))) / 100 for _ in range(n)]
    owners = {f"O{i}": Owner(f"O{i}", f"业主{i}", [f"U{i}"], a) for i, a in enumerate(areas)}
    units = {f"U{i}": Unit(f"U{i}", f"O{i}", f"业主{i}", a) for i, a in enumerate(areas)}
    roll = OwnerRoll(units, owners, "roll.csv")
    ballots = []
    for o in owners:
        for item in ITEMS:
            v = draw(st.sampled_from([None, "agree", "disagree", "abstain"]))
            if v:
                ballots.append(Ballot(o, item, v))
    threshold = draw(st.sampled_from(["majority", "three_quarters"]))
    return roll, ballots, threshold


@settings(max_examples=150, deadline=None)
@given(elections(), st.randoms(use_true_random=False))
def test_order_of_ballots_does_not_matter(e, rnd):
    roll, ballots, threshold = e
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    assert tally(roll, ballots, threshold=threshold, seats=2).to_dict() == \
        tally(roll, shuffled, threshold=threshold, seats=2).to_dict()


@settings(max_examples=150, deadline=None)
@given(elections())
def test_totals_add_up(e):
    roll, ballots, threshold = e
    r = tally(roll, ballots, items=ITEMS, threshold=threshold)
    assert r.total_area == sum(o.area_m2 for o in roll.owners.values())
    for it in r.items:
        assert it.agree_owners + it.disagree_owners + it.abstain_owners == r.participating_owners
        assert it.agree_area + it.disagree_area + it.abstain_area == r.participating_area
        assert min(it.abstain_owners, it.abstain_area) >= 0
    assert r.participating_owners == len({b.owner_id for b in ballots})


@settings(max_examples=200, deadline=None)
@given(elections(), st.data())
def test_adding_an_agreeing_ballot_never_turns_pass_into_fail(e, data):
    roll, ballots, threshold = e
    before = tally(roll, ballots, items=ITEMS, threshold=threshold)
    item = data.draw(st.sampled_from(ITEMS))
    voted = {b.owner_id for b in ballots if b.item == item}
    free = sorted(set(roll.owners) - voted)
    if not free:
        return
    owner = data.draw(st.sampled_from(free))
    after = tally(roll, ballots + [Ballot(owner, item, "agree")], items=ITEMS, threshold=threshold)
    if before.item(item).passed:
        assert after.item(item).passed
