"""Random sequences of prior-review actions by random users — the right role and wrong ones, other
compounds' staff and branches, the system account, "not on the list" proposals of every Art. 278
item, the branch confirming or reclassifying, review deadlines and voting periods running out on
the injected clock, stale versions, a street switching matters off — all through the service
layer. After every step every declared invariant holds on every case and every chain verifies."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from engine.domain import prior_review as pr
from engine.runtime.actors import Actor
from tests.conftest import PG_URL, START
from tests.prior_review.support import (
    arrange_vote,
    branch_secretary,
    committee_decision,
    confirm,
    count_votes,
    deploy_prior_review,
    execution,
    review,
    submission,
)
from tests.stateful import (
    PG_RUN,
    SQLITE_RUN,
    Ledger,
    ProcessMachine,
    attempt,
    prepared_postgresql,
    prepared_sqlite,
    run,
    stale_attempt,
)

COMPOUNDS = ("PK-JP-XC-01", "PK-JP-XC-02", "PK-JP-WJ-01")
CODES = [m["code"] for m in pr.DEFAULT_MATTERS]
SUBJECTS = CODES + [pr.UNLISTED, pr.UNLISTED, pr.UNLISTED, "fund_usage"]  # a typo must be refused


def _submission(choice: int, revise: bool) -> dict:
    code = SUBJECTS[choice % len(SUBJECTS)]
    extra = {}
    if code == pr.UNLISTED:
        extra = {"unlisted_name": "其他事项", "unlisted_art278_item": choice % 9 + 1,
                 "unlisted_assembly_vote": choice % 2 == 0}
    d = submission(code, **extra)
    if revise:
        for k in ("submitter_kind", "submitter_name"):
            d.pop(k)
        d["revision_note"] = "已按意见修改。"
    if choice % 11 == 0:  # an attempt to forge the classification through the form
        d["classification"] = {"listed": False, "assembly_vote": False}
    return d


def _payload(rt, name: str, choice: int) -> dict:
    if name in ("submit", "revise"):
        return _submission(choice, name == "revise")
    if name == "confirm_classification":
        return confirm(*[("confirm_unlisted", None), ("reclassify", "service_fees"), ("reclassify", "major_other"),
                         ("reclassify", "property_company"), ("reclassify", "no_such_matter")][choice % 5])
    if name == "branch_review":
        return review(rt, ("agree", "agree", "agree_with_changes", "disagree")[choice % 4])
    if name == "supervise":
        return {"supervision_note": "请支部按期先议。", "extend_days": choice % 7 + 1}
    if name == "coordinate":
        return {"coordination_action": ("resubmit", "withdraw")[choice % 2], "coordination_note": "经协调。"}
    if name == "committee_decision":
        return committee_decision(rt, 7, 4 + choice % 4, choice % 8 if choice % 8 <= 4 + choice % 4 else 4)
    if name == "arrange_vote":
        early = (rt.now() + timedelta(days=3)).date().isoformat()
        return arrange_vote(rt, vote_start=early) if choice % 5 == 0 else arrange_vote(rt)
    if name == "count_votes":
        agree = (60, 70, 74, 75, 90)[choice % 5]
        return count_votes(rt, ["同意本议案"], agree, 100 - agree)
    if name == "execution":
        return execution()
    raise AssertionError(f"no payload for task {name}")


SEEN = Ledger()  # over all examples of a run


def machine(make_url):
    class PriorReviewMachine(ProcessMachine):
        process_key, start, seen = "prior_review", START, SEEN

        def __init__(self):
            super().__init__(make_url)
            self.users += [branch_secretary(self.rt, "PK-JP-XC-02"), branch_secretary(self.rt, "PK-JP-WJ-01"),
                           Actor.system("cli")]

        @precondition(lambda self: len(self.cases) < 3)
        @rule(right=st.integers(0, 9), pick=st.integers(0, 20), compound=st.sampled_from(COMPOUNDS))
        def open_case(self, right, pick, compound):
            path = {"PK-JP-XC-01": "PK/PK-JP/PK-JP-XC/PK-JP-XC-01/", "PK-JP-XC-02": "PK/PK-JP/PK-JP-XC/PK-JP-XC-02/",
                    "PK-JP-WJ-01": "PK/PK-JP/PK-JP-WJ/PK-JP-WJ-01/"}[compound]
            actor = self._someone(right, pick, "community_staff", path)
            view = attempt(self.rt, self.ledger, f"start by {actor.username} in {compound}",
                           lambda: self.rt.start_case("prior_review", compound, actor))
            if view is not None:
                self.cases.append(view.case_number)

        @precondition(lambda self: self.cases)
        @rule(moves=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 9), st.integers(0, 20),
                                       st.integers(0, 200), st.integers(0, 9)), min_size=1, max_size=6))
        def act(self, moves):
            self.complete_open_tasks(moves, _payload)

        @rule(days=st.integers(1, 20))
        def time_passes(self, days):
            """Review deadlines, voting periods and publicity run out; due timers fire."""
            self.clock.advance(days=days)
            self.rt.run_due_timers()

        @rule(right=st.integers(0, 9), pick=st.integers(0, 20), matter=st.sampled_from(CODES), on=st.booleans())
        def street_edits_its_catalogue(self, right, pick, matter, on):
            from engine.orgs import org_by_code
            from engine.processes.prior_review import effective_catalogue, save_catalogue

            actor = self._someone(right, pick, "street_staff", "PK/PK-JP/")

            def change():
                with self.rt.uow() as s:
                    street = org_by_code(s, "PK-JP")
                    value = effective_catalogue(s, street).value
                    pr.find_matter(value, matter)["enabled"] = on
                    return save_catalogue(s, street, value, actor, self.rt.now())

            saved = attempt(self.rt, self.ledger, f"{matter} {'on' if on else 'off'} by {actor.username}", change)
            item = next(m["art278_item"] for m in pr.DEFAULT_MATTERS if m["code"] == matter)
            assert not (saved and not on and item in pr.ALWAYS_LISTED_ITEMS), f"item {item} switched off"

        @precondition(lambda self: self.cases)
        @rule(which=st.integers(0, 50), choice=st.integers(0, 200))
        def stale_version(self, which, choice):
            """Someone submits a form opened before the case last changed: always a conflict."""
            stale_attempt(self.rt, self.ledger, self.users, self.cases[which % len(self.cases)], choice, _payload)

    return PriorReviewMachine


def test_random_users_cannot_break_the_prior_review_rules(_templates, tmp_path):
    run(machine(prepared_sqlite(_templates, tmp_path, START, deploy_prior_review)), SQLITE_RUN)
    # The run went deep enough to mean something: decisions were reached and refusals met.
    steps = {x.split(" of ")[0].split(" by ")[0] for x in SEEN.done}
    assert {"submit", "branch_review"} <= steps and steps & {"confirm_classification", "arrange_vote", "committee_decision"}
    assert any("Forbidden" in x for x in SEEN.refused) and any("Conflict" in x for x in SEEN.refused)


@pytest.mark.postgres
def test_random_users_cannot_break_the_prior_review_rules_on_postgresql(_templates):
    if not PG_URL:
        pytest.skip("HONGWU_TEST_PG_URL not set")
    run(machine(prepared_postgresql(_templates, START, deploy_prior_review)), PG_RUN)
