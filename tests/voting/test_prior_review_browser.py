"""A prior-review assembly vote (Art. 278 items 6–8: 四分之三以上) on the same voting engine as an
election, in a real browser (Debian chromium) against a real server in a training database:
owners vote online at 390 px with the code and PIN on their ballot, the administrator's training
clock passes the voting deadline, two scrutineers enter the paper ballots on their phones with
one mismatch resolved by a third, a paper ballot of an owner who voted online is set aside, and
the count step (the task form) counts from the register — the 计票表 and the result notice show
the domain tally's figures. Screenshots: test-artifacts/vote/prior-review-*.png."""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pdfplumber
import pytest
from sqlalchemy import select

from tests.voting.browser_election import (
    SHOTS,
    enter_ballot,
    log_in,
    matter_with_ballots_printed,
    no_sideways_scroll,
    phone_context,
    vote_online,
)
from tests.web.browser_support import CHROMIUM, chromium, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ITEM = "同意使用维修资金更换电梯"


def _pdf_text(rt, case_number: str, kind: str, shot: str) -> str:
    from engine.db.models import Case, Document

    with rt.uow() as s:
        case_id = s.scalar(select(Case.id).where(Case.case_number == case_number))
        doc = s.scalars(select(Document).where(Document.kind == kind, Document.case_id == case_id)).one()
        with pdfplumber.open(io.BytesIO(doc.content)) as pdf:
            pdf.pages[0].to_image(resolution=60).save(str(SHOTS / shot))
            return "".join((p.extract_text() or "") for p in pdf.pages).replace("\n", "")


def test_an_assembly_vote_online_and_on_paper_counts_as_the_domain_tally(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    from engine.domain.owner_roll import parse_roll
    from engine.domain.tally import Ballot, tally
    from engine.runtime.clock import SystemClock
    from engine.voting.online import ballot_pin
    from engine.voting.service import VoteService

    # Arranged 20 days ago: voting began 4 days ago and, by the server's (real) time, is still open.
    m = matter_with_ballots_printed(tmp_path, days_ago=20, matter_code="fund_raising", items=[ITEM], training=True)
    rt, actors, cn = m.rt, m.actors, m.case_number
    case = rt.get_case(cn, actors["community"])
    assert case.data["classification"]["threshold"] == "three_quarters"
    votes = VoteService(rt)
    deadline = datetime.fromisoformat(votes.register_summary(cn, actors["community"])["rounds"][0]["deadline"])
    assert SystemClock().now() < deadline < SystemClock().now() + timedelta(days=5)
    rows = votes.register_rows(cn, actors["community"])
    code_of = {r[2]: r[0] for r in rows}  # owner id → ballot code
    assert len(code_of) == 8
    online = {"O001": "agree", "O002": "agree"}
    paper = {"O002": "disagree",  # the owner voted online first: this paper ballot is set aside
             "O003": "agree", "O004": "agree", "O005": "agree", "O006": "agree", "O007": "disagree",
             "O008": "disagree"}
    misread = "O005"

    with running_server(m.url, tmp_path) as base, chromium() as browser:
        owners = phone_context(browser, base)
        for i, (owner, vote) in enumerate(online.items()):
            page = owners.new_page()
            said = vote_online(page, code_of[owner], ballot_pin(code_of[owner]), {ITEM: vote})
            assert "将计入本轮计票" in said
            if i == 0:
                page.screenshot(path=str(SHOTS / "prior-review-online-receipt-phone.png"), full_page=True)

        street = log_in(phone_context(browser, base), "street")
        street.goto(f"/cases/{cn}/vote")
        for who in ("community", "branch", "cparty"):
            street.fill('#scrutineer-form input[name="username"]', who)
            street.click('#scrutineer-form button[type="submit"]')
            assert "已确定监票、计票人" in street.inner_text("#vote-done")
        no_sideways_scroll(street)
        street.screenshot(path=str(SHOTS / "prior-review-register-phone.png"), full_page=True)

        # The administrator's training clock passes the voting deadline: the count step opens.
        admin = log_in(phone_context(browser, base), "admin")
        admin.goto(f"/cases/{cn}")
        admin.fill('#training-clock input[name="days"]', "5")
        admin.fill('#training-clock input[name="reason"]', "培训：投票期届满，开始计票")
        admin.click("#advance-clock")
        admin.wait_for_url("**moved=**")
        assert "计票" in admin.locator("#current-steps").inner_text()

        pages = {who: log_in(phone_context(browser, base), who) for who in ("community", "branch", "cparty")}
        for owner, vote in paper.items():
            said = enter_ballot(pages["community"], cn, code_of[owner], {ITEM: vote})
            if owner in online:
                assert "另列" in said
                continue
            second = ("disagree" if vote == "agree" else "agree") if owner == misread else vote
            enter_ballot(pages["branch"], cn, code_of[owner], {ITEM: second})
        third = pages["cparty"]
        third.goto(f"/cases/{cn}/vote/entry")
        assert code_of[misread] in third.inner_text("#entry-progress")
        third.fill("#code", code_of[misread])
        third.click('#code-form button[type="submit"]')
        assert "两次录入不一致" in third.inner_text("#ballot-state")
        third.screenshot(path=str(SHOTS / "prior-review-third-check-phone.png"), full_page=True)
        assert "已核定" in enter_ballot(third, cn, code_of[misread], {ITEM: paper[misread]})

        # The count step, through its form, from the register.
        page = pages["community"]
        page.goto(f"/cases/{cn}")
        page.click('#current-steps tr:has-text("计票") a.action')  # one open step: 计票
        page.wait_for_url("**/tasks/**")
        assert page.locator('[data-field="ballots"]').is_visible()  # until the register is chosen
        page.check('[name="ballot_source"][value="register"]')
        assert not page.locator('[data-field="ballots"]').is_visible()
        page.fill('[name="counters"]', "刘社区党委\n陈书记")
        page.screenshot(path=str(SHOTS / "prior-review-count-form-phone.png"), full_page=True)
        no_sideways_scroll(page)
        page.click("#submit-task")
        page.wait_for_url("**/cases/**")
        assert page.locator("#done").count() == 1, page.locator("#form-errors").all_inner_texts()
        assert "计票表" in page.inner_text("#documents")
        page.screenshot(path=str(SHOTS / "prior-review-counted-phone.png"), full_page=True)

    counted = {**paper, **online}  # the online vote wins for the owner who voted twice
    roll = parse_roll(m.roll, "roll.csv")
    expected = tally(roll, [Ballot(o, ITEM, v) for o, v in counted.items()], items=[ITEM],
                     threshold="three_quarters")
    decision = rt.get_case(cn, actors["community"]).data["decision"]
    assert decision["tally"] == expected.to_dict()
    assert decision["passed"] is True and expected.items[0].agree_owners == 6
    r = expected.items[0]
    figures = f"{r.agree_owners}/{format(r.agree_area.normalize(), 'f')}"
    sheet = _pdf_text(rt, cn, "count_sheet", "prior-review-count-sheet.png")
    assert "四分之三以上" in sheet and figures in sheet and "通过" in sheet
    assert f"{r.disagree_owners}/{format(r.disagree_area.normalize(), 'f')}" in sheet
    assert f"{code_of['O002']}（重复投票：网上投票已先行记录" in sheet
    result = _pdf_text(rt, cn, "assembly_vote_result", "prior-review-result.png")
    assert figures in result
