"""An election driven to its open vote (ballots issued and registered), and the vote service."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from engine.db.models import User
from tests.committee.conftest import CANDIDATES, ROOT, Election, candidate
from tests.web.support import demo_hash

SCRUTINEERS = ("community", "branch", "cparty")


@pytest.fixture
def voting(runtime, actors, clock):
    """(election, vote service): ballots of round 1 issued to the 9 owners, voting open."""
    from engine.runtime.service import deploy
    from engine.voting.service import VoteService

    deploy(runtime, [ROOT / "bpmn" / "committee_election.bpmn"], ROOT / "forms")
    e = Election(runtime, actors)
    e.start()
    e.nominate([candidate(*c) for c in CANDIDATES[:7]])
    e.review_all()
    e.advance(clock, 10)  # publicity ends → voting opens, ballots are issued
    assert e.case().data["voting"]["round"] == 1
    return e, VoteService(runtime)


def codes(votes, e) -> list[str]:
    return [r[0] for r in votes.register_rows(e.case_number, e.actors["street"])]


def close_voting(e, clock) -> None:
    """Move the clock past the round's deadline (entry opens then)."""
    from datetime import datetime

    due = datetime.fromisoformat(e.case().data["voting"]["due"])
    clock.set(due)

@pytest.fixture
def web(voting, runtime, clock):
    """The voting case with the web app in front of it (demo passwords for logging in)."""
    from engine.web.app import create_app

    with runtime.uow() as s:
        s.execute(update(User).values(password_hash=demo_hash()))
    e, votes = voting
    return e, votes, create_app(runtime.settings, clock)
