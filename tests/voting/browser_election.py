"""What the vote's browser tests share: an election in a demo database, run by the services up
to its ballots, on a clock set in the past so that the server's real time falls where the test
needs it (voting still open, or already closed)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from engine.config import BUNDLED_BPMN_DIR
from tests.web.browser_support import ARTIFACTS, demo_database

PHONE = {"width": 390, "height": 844}
SHOTS = ARTIFACTS / "vote"
ITEMS = ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]


@dataclass
class BallotedElection:
    url: str
    rt: Any
    clock: Any
    actors: dict[str, Any]
    election: Any


def election_with_ballots_printed(tmp_path: Path, days_ago: int) -> BallotedElection:
    """An election opened `days_ago` days ago, its candidates reviewed and published; the
    publicity is over and its ballots are printed (the worker's job run in place)."""
    from engine.config import Settings
    from engine.domain.periods import civil_date
    from engine.runtime.actors import load_actor
    from engine.runtime.clock import FrozenClock, SystemClock
    from engine.runtime.service import Runtime
    from tests.committee.conftest import CANDIDATES, Election, candidate

    SHOTS.mkdir(parents=True, exist_ok=True)
    url, _rt = demo_database(tmp_path, [BUNDLED_BPMN_DIR])
    clock = FrozenClock((SystemClock().now() - timedelta(days=days_ago))
                        .replace(hour=2, minute=0, second=0, microsecond=0))
    rt = Runtime(Settings(database_url=url, secret_key="browser-test", base_url="http://127.0.0.1"), clock)
    with rt.uow() as s:
        actors = {u: load_actor(s, u) for u in ("street", "cparty", "sparty", "community", "branch")}
    e = Election(rt, actors)
    e.start(meeting_date=(civil_date(clock.now()) + timedelta(days=30)).isoformat())
    e.nominate([candidate(*c) for c in CANDIDATES[:7]])
    e.review_all()
    clock.advance(days=12)
    assert e.advance(clock, 0) == 1  # publicity over: the ballots are printed (the worker's step run now)
    return BallotedElection(url, rt, clock, actors, e)


def no_sideways_scroll(page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url
