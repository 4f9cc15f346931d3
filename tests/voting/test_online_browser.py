"""Owners vote online in a real browser (Debian chromium) at 390 px with the code and PIN printed
on their ballot, check their receipt, and the street watches participation; after the close a
paper entry of an online-voted ballot is set aside and listed on the 计票表.
Screenshots: test-artifacts/vote/online-*.png."""
from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pdfplumber
import pytest
from sqlalchemy import select

from tests.voting.browser_election import ITEMS, PHONE, SHOTS, election_with_ballots_printed, no_sideways_scroll
from tests.web.browser_support import CHROMIUM, chromium, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_owner_votes_online_at_390px_and_a_later_paper_entry_is_set_aside(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    from engine.db.models import Document
    from engine.runtime.clock import SystemClock
    from engine.voting.online import NOT_ACCEPTED_ZH, ballot_pin
    from engine.voting.service import VoteService

    # Ballots were issued days ago; by the server's (real) time voting is still open.
    w = election_with_ballots_printed(tmp_path, days_ago=15)
    url, rt, clock, actors, e = w.url, w.rt, w.clock, w.actors, w.election
    due = datetime.fromisoformat(e.case().data["voting"]["due"])
    assert due > SystemClock().now()
    votes = VoteService(rt)
    codes = [r[0] for r in votes.register_rows(e.case_number, actors["street"])]
    code = codes[0]

    with running_server(url, tmp_path) as base, chromium() as browser:
        phone = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=base, is_mobile=True, has_touch=True)
        phone.set_default_timeout(20000)
        owner = phone.new_page()
        owner.goto(f"/vote/{code}")  # what the ballot's QR code opens
        assert owner.input_value("#code") == code
        owner.fill("#pin", "000000" if ballot_pin(code) != "000000" else "111111")
        owner.click("#vote-open")
        assert NOT_ACCEPTED_ZH in owner.inner_text("#vote-error")
        owner.screenshot(path=str(SHOTS / "online-wrong-pin-phone.png"), full_page=True)
        owner.fill("#pin", ballot_pin(code))
        owner.click("#vote-open")
        assert code in owner.inner_text("#ballot-code")
        for i, item in enumerate(ITEMS):
            owner.check(f'input[name="mark:{item}"][value="{"disagree" if i == 6 else "agree"}"]')
        owner.screenshot(path=str(SHOTS / "online-ballot-phone.png"), full_page=True)
        no_sideways_scroll(owner)
        owner.click("#vote-submit")
        assert "将计入本轮计票" in owner.inner_text("#receipt-counted")
        receipt = owner.inner_text("#receipt-code")
        owner.screenshot(path=str(SHOTS / "online-receipt-phone.png"), full_page=True)
        no_sideways_scroll(owner)
        later = phone.new_page()  # later, the owner checks the receipt by typing it
        later.goto("/vote/receipt")
        later.fill("#r", receipt.replace("-", "").lower())
        later.click('#receipt-form button[type="submit"]')
        assert "将计入本轮计票" in later.inner_text("#receipt-counted")

        street = phone.new_page()
        street.goto("/login")
        street.fill('input[name="username"]', "street")
        street.fill('input[name="password"]', "hongwu-demo")
        street.click('#login-form button[type="submit"]')
        street.goto(f"/cases/{e.case_number}/vote/participation")
        assert "1 / 9 人" in street.inner_text("#by-heads")
        assert "C1" not in street.inner_text("#vote-participation")
        street.screenshot(path=str(SHOTS / "online-participation-phone.png"), full_page=True)
        no_sideways_scroll(street)

    # After the close: the scrutineers enter every paper ballot; the online-voted one is set aside.
    for who in ("community", "branch", "cparty"):
        votes.designate_scrutineer(e.case_number, who, actors["street"])
    clock.set(due + timedelta(days=2))
    assert e.advance(clock, 0) == 1
    for c in codes[:7]:
        for who in ("community", "branch"):
            votes.enter(e.case_number, c, actors[who], {i: "agree" for i in ITEMS})
    e.do("street", "enter_ballots", {"ballot_entry": {"source": "register"}})
    count = e.case().data["count"]
    assert count["tally"]["participating_owners"] == 7
    c7 = next(r for r in count["tally"]["items"] if r["item"] == "C7")
    assert c7["disagree_owners"] == 1  # the online vote, not the paper ballot, counted
    with rt.uow() as s:
        doc = s.scalars(select(Document).where(Document.kind == "count_sheet")).one()
        with pdfplumber.open(io.BytesIO(doc.content)) as pdf:
            text = "".join((p.extract_text() or "") for p in pdf.pages).replace("\n", "")
            pdf.pages[0].to_image(resolution=60).save(str(SHOTS / "online-count-sheet.png"))
    assert f"{code}（重复投票：网上投票已先行记录" in text


def test_owner_in_an_id_compound_votes_with_the_last_six_of_the_id_number_at_390px(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    from engine.notices.render import vote_url
    from engine.voting.online import NOT_ACCEPTED_ZH, ballot_pin
    from engine.voting.service import VoteService
    from tests.voting.browser_election import matter_with_ballots_printed, phone_context, vote_online
    from tests.voting.test_second_factor import id_number

    ids = {f"O{n:03d}": id_number(n) for n in range(1, 5)}
    roll = ("unit_id,owner_id,owner_name,area_m2,居民身份证号码\n" + "".join(
        f"U{n:03d},{o},业主{n},100,{i}\n" for n, (o, i) in enumerate(ids.items(), start=1))).encode()
    item = "同意续聘物业服务企业"
    m = matter_with_ballots_printed(tmp_path, days_ago=20, matter_code="property_company", items=[item],
                                    roll=roll, factor="id_last6")
    rows = VoteService(m.rt).register_rows(m.case_number, m.actors["community"])
    code = next(r[0] for r in rows if r[2] == "O003")
    assert ids["O003"].endswith("X")
    with running_server(m.url, tmp_path) as base, chromium() as browser:
        owner = phone_context(browser, base).new_page()
        link = vote_url(f"{base}/verify/x", code, "id_last6")  # what the ballot's QR code encodes
        owner.goto(link)
        assert owner.inner_text('label[for="pin"]') == "身份证号后六位"
        owner.fill("#pin", ballot_pin(code))  # a PIN means nothing in this compound
        owner.click("#vote-open")
        assert NOT_ACCEPTED_ZH in owner.inner_text("#vote-error")
        assert owner.inner_text('label[for="pin"]') == "身份证号后六位"
        owner.screenshot(path=str(SHOTS / "online-id-refused-phone.png"), full_page=True)
        said = vote_online(owner, code, ids["O003"][-6:].lower(), {item: "agree"}, link=link)
        assert "将计入本轮计票" in said
        owner.screenshot(path=str(SHOTS / "online-id-receipt-phone.png"), full_page=True)
