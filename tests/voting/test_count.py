"""The count from the register: settled entries → the domain tally, the 计票表 PDF and the
results notice carry the same figures; unsettled ballots stop the count."""
from __future__ import annotations

import io
import re

import pdfplumber
import pytest
from sqlalchemy import select

from engine.db.models import Document
from engine.domain.owner_roll import parse_roll
from engine.domain.tally import Ballot, tally
from engine.runtime.errors import ValidationFailed
from tests.committee.conftest import ROLL

from .conftest import SCRUTINEERS, codes

ITEMS = ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]


def _pdf_text(runtime, kind: str) -> str:
    with runtime.uow() as s:
        doc = s.scalars(select(Document).where(Document.kind == kind).order_by(Document.id.desc())).first()
        with pdfplumber.open(io.BytesIO(doc.content)) as pdf:
            return "\n".join(p.extract_text() or "" for p in pdf.pages)


def test_count_from_register_matches_the_domain_tally(voting, runtime, clock):
    e, votes = voting
    street = e.actors["street"]
    for who in SCRUTINEERS:
        votes.designate_scrutineer(e.case_number, who, street)
    c = codes(votes, e)  # serial order = roll order: O1..O8, DEVELOPER
    owners = [r[2] for r in votes.register_rows(e.case_number, street)]
    reissued = votes.void_and_reissue(e.case_number, c[0], "选票遗失", street)["reissued"]
    assert e.advance(clock, 21) == 1  # voting closes: the count step opens
    a, b, third = (e.actors[x] for x in SCRUTINEERS)
    plan = {reissued: {i: "agree" for i in ITEMS}}
    for code in c[1:7]:
        plan[code] = {i: "agree" for i in ITEMS}
    plan[c[6]] = {**plan[c[6]], "C7": "disagree", "C3": "abstain"}
    invalid_code, mismatch_code = c[7], c[2]
    with pytest.raises(ValidationFailed, match="未完成双人录入核定"):
        for code, marks in plan.items():
            votes.enter(e.case_number, code, a, marks)
        e.do("street", "enter_ballots", {"ballot_entry": {"source": "register"}})
    for code, marks in plan.items():
        if code == mismatch_code:
            votes.enter(e.case_number, code, b, {**marks, "C7": "disagree"})
            votes.enter(e.case_number, code, third, marks)
        else:
            votes.enter(e.case_number, code, b, marks)
    votes.enter(e.case_number, invalid_code, a, None, "unsigned")
    votes.enter(e.case_number, invalid_code, b, None, "unsigned")
    e.do("street", "enter_ballots", {"ballot_entry": {"source": "register"}})
    count = e.case().data["count"]

    # the same inputs through the domain tally directly
    roll = parse_roll(ROLL.encode(), "roll.csv")
    by_code = dict(zip(c, owners, strict=False))
    lines = [Ballot(by_code[c[0]], i, "agree") for i in ITEMS]
    lines += [Ballot(by_code[code], i, m) for code, marks in plan.items() if code != reissued
              for i, m in marks.items()]
    expected = tally(roll, lines, items=ITEMS, seats=7)
    assert count["tally"] == expected.to_dict()
    assert count["set_aside"]["invalid"][0]["code"] == invalid_code
    assert count["tally"]["participating_owners"] == 7 and count["complete"]

    sheet = _pdf_text(runtime, "count_sheet")
    assert "计票表" in sheet and "第1轮" in sheet and "候选人" in sheet and "表决事项" not in sheet
    for item in expected.items:
        assert f"{item.agree_owners}/" in sheet
    c1 = expected.item("C1")
    assert re.search(rf"张伟（C1）\s*{c1.agree_owners}/{format(c1.agree_area.normalize(), 'f')}", sheet)
    assert f"{invalid_code}（未签名）" in sheet.replace("\n", "")
    for name in ("李社区", "陈书记", "刘社区党委"):
        assert name in sheet
    assert "发放10张" in sheet and "作废1张" in sheet
    result = _pdf_text(runtime, "election_result").replace("\n", "")
    assert f"参与表决的业主{expected.participating_owners}人" in result
    assert f"专有部分面积{format(expected.participating_area.normalize(), 'f')}" in result.replace(",", "")
