"""The vote in a real browser (Debian chromium) against a real server: the register at 390 px,
two scrutineers entering paper ballots on their phones with one mismatch resolved by a third,
then the count from the register — the 计票表 shows the domain tally's figures.
Screenshots: test-artifacts/vote/."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pdfplumber
import pytest
from sqlalchemy import select

from tests.voting.browser_election import (
    ITEMS,
    SHOTS,
    election_with_ballots_printed,
    enter_ballot,
    log_in,
    no_sideways_scroll,
    phone_context,
)
from tests.web.browser_support import CHROMIUM, chromium, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_scrutineers_enter_ballots_and_the_count_sheet_matches_the_tally(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    from engine.db.models import Document
    from engine.domain.owner_roll import parse_roll
    from engine.domain.tally import Ballot, tally
    from engine.voting.service import VoteService
    from tests.committee.conftest import ROLL

    # The election ran in the past: by the server's (real) time its voting has closed.
    w = election_with_ballots_printed(tmp_path, days_ago=60)
    url, rt, clock, actors, e = w.url, w.rt, w.clock, w.actors, w.election
    votes = VoteService(rt)
    codes = [r[0] for r in votes.register_rows(e.case_number, actors["street"])]
    owners = [r[2] for r in votes.register_rows(e.case_number, actors["street"])]

    with running_server(url, tmp_path) as base, chromium() as browser:
        street = log_in(phone_context(browser, base), "street")
        street.goto(f"/cases/{e.case_number}/vote")
        for who in ("community", "branch", "cparty"):
            street.fill('#scrutineer-form input[name="username"]', who)
            street.click('#scrutineer-form button[type="submit"]')
            assert "已确定监票、计票人" in street.inner_text("#vote-done")
        street.screenshot(path=str(SHOTS / "register-phone.png"), full_page=True)
        no_sideways_scroll(street)

        pages = {who: log_in(phone_context(browser, base), who) for who in ("community", "branch", "cparty")}
        plan = {code: {i: "agree" for i in ITEMS} for code in codes[:7]}
        plan[codes[3]] = {**plan[codes[3]], "C7": "disagree"}

        def enter(who, code, marks):
            return enter_ballot(pages[who], e.case_number, code, marks)

        for code, marks in plan.items():
            assert "待第二人录入" in enter("community", code, marks)
            second = {**marks, "C7": "agree"} if code == codes[3] else marks  # one misread
            enter("branch", code, second)
        page = pages["cparty"]
        page.goto(f"/cases/{e.case_number}/vote/entry")
        assert codes[3] in page.inner_text("#entry-progress")
        page.fill("#code", codes[3])
        page.click('#code-form button[type="submit"]')
        assert "两次录入不一致" in page.inner_text("#ballot-state")
        page.screenshot(path=str(SHOTS / "third-check-phone.png"), full_page=True)
        no_sideways_scroll(page)
        assert "已核定" in enter("cparty", codes[3], plan[codes[3]])
        # the same scrutineer twice is refused on the page
        page = pages["community"]
        page.goto(f"/cases/{e.case_number}/vote/entry?code={codes[0]}")
        page.click("#entry-submit")
        assert "不能重复录入" in page.inner_text("#entry-error")
        page.screenshot(path=str(SHOTS / "refused-twice-phone.png"), full_page=True)

        # the count step, from the register
        clock.advance(days=25)
        assert rt.run_due_timers() == 1
        e.do("street", "enter_ballots", {"ballot_entry": {"source": "register"}})
        count = e.case().data["count"]
        street.goto(f"/cases/{e.case_number}")
        assert "计票表" in street.inner_text("#documents")
        street.locator("#vote").screenshot(path=str(SHOTS / "case-vote-card.png"))

    roll = parse_roll(ROLL.encode(), "roll.csv")
    by_code = dict(zip(codes, owners, strict=False))
    expected = tally(roll, [Ballot(by_code[c], i, v) for c, m in plan.items() for i, v in m.items()],
                     items=ITEMS, seats=7)
    assert count["tally"] == expected.to_dict()
    with rt.uow() as s:
        doc = s.scalars(select(Document).where(Document.kind == "count_sheet")).one()
        with pdfplumber.open(io.BytesIO(doc.content)) as pdf:
            text = "\n".join(p.extract_text() or "" for p in pdf.pages)
            pdf.pages[0].to_image(resolution=60).save(str(SHOTS / "count-sheet.png")) if hasattr(pdf.pages[0], "to_image") else None
    for r in expected.items:
        assert re.search(rf"（{r.item}）\s*{r.agree_owners}/{format(r.agree_area.normalize(), 'f')}\s*"
                         rf"{r.disagree_owners}/{format(r.disagree_area.normalize(), 'f')}", text), r.item
    for name in ("李社区", "陈书记", "刘社区党委"):
        assert name in text
