"""The public online voting pages (no login), the JSON form of a vote, the receipt check, and the
staff's participation page: same answer for unknown and known codes, no figures per item."""
from __future__ import annotations

import json

from fastapi.testclient import TestClient

from engine.voting.online import NOT_ACCEPTED_ZH, ballot_pin
from tests.web.support import csrf_of, logged_in

from .conftest import codes


def _open(client, code, pin):
    page = client.get(f"/vote/{code}")
    assert page.status_code == 200 and "业主网上投票" in page.text
    return client.post("/vote/open", data={"code": code, "pin": pin, "csrf_token": csrf_of(page.text)})


def test_owner_votes_on_the_page_and_checks_the_receipt(web):
    e, votes, app = web
    owner = TestClient(app)
    code = codes(votes, e)[0]
    r = _open(owner, code, ballot_pin(code))
    assert r.status_code == 200 and 'id="vote-form"' in r.text and 'name="mark:C7"' in r.text
    form = {"code": code, "pin": ballot_pin(code), "csrf_token": csrf_of(r.text), "mark:C1": "agree",
            "mark:C2": "disagree"}
    r = owner.post("/vote/cast", data=form, follow_redirects=True)
    assert r.status_code == 200 and "已记录，将计入本轮计票" in r.text
    receipt = r.url.params["r"]
    shown = r.text.split('id="vote-receipt"')[1].split("</section>")[0]
    assert "同意" not in shown and "反对" not in shown  # the receipt never shows the marks
    r = owner.get(f"/vote/receipt?r={receipt}")
    assert "已记录" in r.text
    assert owner.get("/vote/receipt?r=ZZZZ-ZZZZ-ZZZZ").status_code == 404
    r = _open(owner, code, ballot_pin(code))  # the page shows the vote is in, no second form
    assert 'id="already-voted"' in r.text and 'id="vote-form"' not in r.text


def test_unknown_and_known_codes_get_the_same_page(web):
    e, votes, app = web
    owner = TestClient(app)
    code = codes(votes, e)[1]
    wrong = "000000" if ballot_pin(code) != "000000" else "111111"
    a = _open(owner, code, wrong)
    b = _open(owner, "NOSUCHCODE-1", wrong)
    assert a.status_code == b.status_code == 422
    assert NOT_ACCEPTED_ZH in a.text and NOT_ACCEPTED_ZH in b.text
    def strip(t: str, c: str) -> str:
        return t.replace(c, "CODE").split('name="csrf_token" value="')[0]

    assert strip(a.text, code) == strip(b.text, "NOSUCHCODE-1")


def test_json_vote_needs_code_and_pin(web):
    e, votes, app = web
    client = TestClient(app)
    code = codes(votes, e)[2]
    r = client.post("/api/online-vote", json={"code": code, "pin": "x", "marks": {"C1": "agree"}})
    assert r.status_code == 422 and NOT_ACCEPTED_ZH in r.text
    r = client.post("/api/online-vote", json={"code": code, "pin": ballot_pin(code), "marks": {"C1": "agree"}})
    assert r.status_code == 200 and r.json()["counted"]
    r = client.post("/api/online-vote", json={"code": code, "pin": ballot_pin(code), "marks": {"C1": "agree"}})
    assert r.status_code == 200 and not r.json()["counted"]
    assert client.post("/api/online-vote", content=b"[1]", headers={"content-type": "application/json"}).status_code == 422


def test_participation_page_and_json_show_no_figures_per_item(web):
    e, votes, app = web
    c = codes(votes, e)
    client = TestClient(app)
    for code in c[:3]:
        client.post("/api/online-vote", json={"code": code, "pin": ballot_pin(code), "marks": {"C1": "agree"}})
    street = logged_in(app, "street")
    page = street.get(f"/cases/{e.case_number}/vote/participation")
    assert page.status_code == 200 and 'id="bar-heads"' in page.text and "3 / 9 人" in page.text
    data = street.get(f"/cases/{e.case_number}/vote/participation.json").json()
    assert data["owners"] == 3 and data["open"]
    body = page.text.split('id="vote-participation"')[1]
    for leak in ("C1", "张伟", "得票"):
        assert leak not in body.replace("不显示任何候选人或事项的得票", "")
    assert "C1" not in json.dumps(data, ensure_ascii=False)
    case_json = street.get(f"/api/cases/{e.case_number}")
    assert "receipt" not in case_json.text and "online_voted" not in case_json.text
    assert logged_in(app, "community2").get(f"/cases/{e.case_number}/vote/participation.json").status_code == 404
