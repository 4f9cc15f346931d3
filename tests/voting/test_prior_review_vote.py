"""A prior-review assembly vote on the same register, entry and count: ballots issued with the
vote plan, double entry, and the 3/4 threshold of Art. 278 items 6–8 at its boundary."""
from __future__ import annotations

import io

import pdfplumber
import pytest
from sqlalchemy import select

from engine.db.models import Document
from engine.runtime.errors import ValidationFailed
from engine.voting.service import VoteService
from tests.prior_review.support import (
    arrange_vote,
    deploy_prior_review,
    review,
    start,
    task_named,
)

ITEM = "同意使用维修资金更换电梯"


@pytest.fixture
def prt(runtime):
    deploy_prior_review(runtime)
    return runtime


def _text(runtime, kind):
    with runtime.uow() as s:
        doc = s.scalars(select(Document).where(Document.kind == kind).order_by(Document.id.desc())).first()
        with pdfplumber.open(io.BytesIO(doc.content)) as pdf:
            return "".join(p.extract_text() or "" for p in pdf.pages).replace("\n", "")


@pytest.mark.parametrize("agree,passed", [(6, True), (5, False)])
def test_three_quarters_on_the_register(prt, actors, clock, runtime, agree, passed):
    c = actors["community"]
    cn = start(prt, actors, "fund_raising")
    prt.complete_task(task_named(prt, cn, actors["branch"], "branch_review"), actors["branch"], review(prt))
    plan = arrange_vote(prt, items=[ITEM], owners=8)
    prt.complete_task(task_named(prt, cn, c, "arrange_vote"), c, {**plan, "issue_ballots": True})
    votes = VoteService(prt)
    rows = votes.register_rows(cn, c)
    assert len(rows) == 8 and votes.register_summary(cn, c)["rounds"][0]["issued"] == 8
    for who in ("branch", "cparty"):
        votes.designate_scrutineer(cn, who, c)
    clock.advance(days=25)
    assert prt.run_due_timers() == 1
    for i, row in enumerate(rows):
        vote = "agree" if i < agree else "disagree"
        votes.enter(cn, row[0], actors["branch"], {ITEM: vote})
        if i < 7:
            votes.enter(cn, row[0], actors["cparty"], {ITEM: vote})
    with pytest.raises(ValidationFailed, match="未完成双人录入核定"):
        prt.complete_task(task_named(prt, cn, c, "count_votes"), c, {"ballot_source": "register", "counters": ["甲", "乙"]})
    votes.enter(cn, rows[7][0], actors["cparty"], {ITEM: "disagree"})
    view = prt.complete_task(task_named(prt, cn, c, "count_votes"), c,
                             {"ballot_source": "register", "counters": ["刘社区党委", "陈书记"]})
    decision = view.data["decision"]
    assert decision["threshold"] == "three_quarters" and decision["passed"] is passed
    item = decision["tally"]["items"][0]
    assert item["agree_owners"] == agree and decision["tally"]["participating_owners"] == 8
    sheet = _text(prt, "count_sheet")
    assert "四分之三以上" in sheet and f"{agree}/{agree * 100}" in sheet and ("通过" if passed else "未通过") in sheet
    assert "表决事项" in sheet and "候选人" not in sheet
    result = _text(prt, "assembly_vote_result")
    assert f"{agree}/{agree * 100}" in result
