"""The register and entry pages: forms, Chinese errors, counts on the case page, the export,
and the QR reader served from the npm assets without inline scripts."""
from __future__ import annotations

import re

from tests.web.support import csrf_of, logged_in

from .conftest import close_voting, codes


def _post(client, path, data):
    page = client.get(path.rsplit("/", 1)[0] if not path.endswith("/entry") else path)
    return client.post(path, data={**data, "csrf_token": csrf_of(page.text)}, follow_redirects=True)


def test_register_page_deliver_void_counts_and_export(web):
    e, votes, app = web
    street = logged_in(app, "street")
    c = codes(votes, e)
    base = f"/cases/{e.case_number}/vote"
    r = _post(street, f"{base}/deliver", {"code": c[0], "channel": "door"})
    assert r.status_code == 200 and f"已登记 {c[0]} 送达" in r.text
    r = _post(street, f"{base}/deliver", {"code": c[0], "channel": "post"})
    assert r.status_code == 422 and "不能重复登记送达" in r.text
    r = _post(street, f"{base}/void", {"code": c[1], "reason": "选票污损", "reissue": "1"})
    assert "并补发新票" in r.text
    r = _post(street, f"{base}/void", {"code": c[2], "reason": ""})
    assert r.status_code == 422 and "须说明理由" in r.text
    case_page = street.get(f"/cases/{e.case_number}").text
    counts = re.search(r'id="vote-counts-1".*?</dl>', case_page, re.DOTALL).group(0)
    assert "已发放</dt><dd class=\"n-issued\">10 张" in counts and "n-void\">1 张" in counts
    assert "n-delivered\">1 张" in counts
    x = street.get(f"{base}/register.xlsx")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    cparty = logged_in(app, "cparty")
    assert 'id="register-actions"' not in cparty.get(base).text  # a reader sees no forms
    r = _post(cparty, f"{base}/deliver", {"code": c[3], "channel": "door"})
    assert r.status_code == 403 and "不能登记" in r.text


def test_entry_page_double_entry_with_a_third_check(web, clock):
    e, votes, app = web
    street = logged_in(app, "street")
    base = f"/cases/{e.case_number}/vote"
    for who in ("community", "branch", "cparty"):
        _post(street, f"{base}/scrutineers", {"username": who})
    close_voting(e, clock)
    code = codes(votes, e)[0]
    pages = {who: logged_in(app, who) for who in ("community", "branch", "cparty")}
    entry = f"{base}/entry"
    form = pages["community"].get(f"{entry}?code={code}").text
    assert "张伟（C1）" in form and 'name="mark:C1"' in form
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", form)  # CSP: no inline scripts
    assert '/static/vendor/jsqr/jsQR.js' in form
    assert pages["community"].get("/static/vendor/jsqr/jsQR.js").status_code == 200

    def enter(who, vote, **extra):
        page = pages[who].get(f"{entry}?code={code}")
        return pages[who].post(entry, data={"csrf_token": csrf_of(page.text), "code": code, "mark:C1": vote, **extra},
                               follow_redirects=True)

    assert "待第二人录入" in enter("community", "agree").text
    again = enter("community", "agree")
    assert again.status_code == 422 and "不能重复录入" in again.text
    assert "两次录入不一致" in enter("branch", "disagree").text
    assert code in pages["cparty"].get(entry).text  # listed for the third check
    assert "已核定" in enter("cparty", "agree").text
    r = street.get(f"{entry}?code={code}")
    assert r.status_code == 403 and "不是本案的监票、计票人" in r.text
