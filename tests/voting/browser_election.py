"""What the vote's browser tests share: a vote (an election, or a prior-review assembly vote) in a
demo database, run by the services up to its printed ballots, on a clock set in the past so that
the server's real time falls where the test needs it (voting still open, or already closed); and
the people's steps on the pages (logging in, an owner voting online, a scrutineer entering a
paper ballot)."""
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
class VoteDatabase:
    url: str
    rt: Any
    clock: Any
    actors: dict[str, Any]


@dataclass
class BallotedElection(VoteDatabase):
    election: Any


@dataclass
class BallotedMatter(VoteDatabase):
    """A prior-review matter whose assembly vote's ballots are printed."""
    case_number: str
    items: list[str]
    roll: bytes


def vote_database(tmp_path: Path, days_ago: int, training: bool = False) -> VoteDatabase:
    """A demo database with the bundled processes, and a runtime on a clock `days_ago` days back."""
    from engine.config import Settings
    from engine.runtime.actors import load_actor
    from engine.runtime.clock import FrozenClock, SystemClock
    from engine.runtime.service import Runtime

    SHOTS.mkdir(parents=True, exist_ok=True)
    url, _rt = demo_database(tmp_path, [BUNDLED_BPMN_DIR], training=training)
    clock = FrozenClock((SystemClock().now() - timedelta(days=days_ago))
                        .replace(hour=2, minute=0, second=0, microsecond=0))
    rt = Runtime(Settings(database_url=url, secret_key="browser-test", base_url="http://127.0.0.1"), clock)
    with rt.uow() as s:
        actors = {u: load_actor(s, u) for u in ("street", "cparty", "sparty", "community", "branch")}
    return VoteDatabase(url, rt, clock, actors)


def election_with_ballots_printed(tmp_path: Path, days_ago: int) -> BallotedElection:
    """An election opened `days_ago` days ago, its candidates reviewed and published; the
    publicity is over and its ballots are printed (the worker's job run in place)."""
    from engine.domain.periods import civil_date
    from tests.committee.conftest import CANDIDATES, Election, candidate

    db = vote_database(tmp_path, days_ago)
    e = Election(db.rt, db.actors)
    e.start(meeting_date=(civil_date(db.clock.now()) + timedelta(days=30)).isoformat())
    e.nominate([candidate(*c) for c in CANDIDATES[:7]])
    e.review_all()
    db.clock.advance(days=12)
    assert e.advance(db.clock, 0) == 1  # publicity over: the ballots are printed (the worker's step run now)
    return BallotedElection(db.url, db.rt, db.clock, db.actors, e)


def matter_with_ballots_printed(tmp_path: Path, days_ago: int, matter_code: str, items: list[str],
                                owners: int = 8, training: bool = False, roll: bytes | None = None,
                                factor: str = "pin") -> BallotedMatter:
    """A prior-review matter submitted `days_ago` days ago, agreed by the party branch, its
    assembly vote arranged with ballots (voting from 16 days after that, for 7 days) on `roll`
    (default: `owners` owners of equal area) in a compound whose second factor is `factor`."""
    from engine.runtime.actors import Actor
    from engine.runtime.settings import save_setting
    from tests.prior_review.support import COMPOUND, arrange_vote, attach, review, roll_csv, start, task_named

    db = vote_database(tmp_path, days_ago, training=training)
    rt, actors = db.rt, db.actors
    roll = roll or roll_csv(owners)
    if factor != "pin":
        save_setting(rt, "vote_second_factor", COMPOUND, {"factor": factor}, Actor.system("test"))
    cn = start(rt, actors, matter_code)
    rt.complete_task(task_named(rt, cn, actors["branch"], "branch_review"), actors["branch"], review(rt))
    plan = {**arrange_vote(rt, items=items, owners=owners), "owner_roll": attach(rt, "业主名册.csv", roll)}
    rt.complete_task(task_named(rt, cn, actors["community"], "arrange_vote"), actors["community"],
                     {**plan, "issue_ballots": True})
    return BallotedMatter(db.url, rt, db.clock, actors, cn, items, roll)


def no_sideways_scroll(page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url


def phone_context(browser, base: str):
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=base, is_mobile=True, has_touch=True)
    ctx.set_default_timeout(20000)
    return ctx


def log_in(ctx, username: str):
    """A new page of `ctx` with `username` logged in (demo password)."""
    page = ctx.new_page()
    page.goto("/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', "hongwu-demo")
    page.click('#login-form button[type="submit"]')
    page.wait_for_load_state()
    assert "/login" not in page.url
    return page


def vote_online(page, code: str, answer: str, marks: dict[str, str], link: str = "") -> str:
    """An owner opens the page their ballot's QR code opens (`link`: the ballot's printed link, by
    default the plain one), types the second factor, marks the items and submits; returns the
    receipt page's words on whether the vote counts."""
    page.goto(link or f"/vote/{code}")
    assert page.input_value("#code") == code
    page.fill("#pin", answer)
    page.click("#vote-open")
    assert code in page.inner_text("#ballot-code")
    for item, vote in marks.items():
        page.check(f'input[name="mark:{item}"][value="{vote}"]')
    no_sideways_scroll(page)
    page.click("#vote-submit")
    return page.inner_text("#vote-receipt")


def enter_ballot(page, case_number: str, code: str, marks: dict[str, str]) -> str:
    """A scrutineer enters one paper ballot on the entry page; returns what the page says after."""
    page.goto(f"/cases/{case_number}/vote/entry")
    page.fill("#code", code)
    page.click('#code-form button[type="submit"]')
    for item, vote in marks.items():
        page.check(f'input[name="mark:{item}"][value="{vote}"]')
    page.click("#entry-submit")
    return page.inner_text("#entry-done")
