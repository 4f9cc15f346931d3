"""The ballot register: written with the ballots, delivery, return, void and reissue, counts,
export — and the ways around it (another role, another jurisdiction, a void code, a voted one)."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from engine.audit import case_chain, chain_events, verify
from engine.db.models import Document
from engine.db.vote_models import VoteBallot, VoteRound
from engine.runtime.errors import Forbidden, NotFound, RuleRefused, ValidationFailed

from .conftest import close_voting, codes


def _events(runtime, e, prefix="vote:"):
    with runtime.uow() as s:
        return [ev for ev in chain_events(s, case_chain(e.case_number)) if ev.action.startswith(prefix)]


def test_issuance_writes_one_row_per_ballot_in_the_same_transaction(voting, runtime):
    e, votes = voting
    with runtime.uow() as s:
        rows = list(s.scalars(select(VoteBallot).order_by(VoteBallot.serial)))
        docs = list(s.scalars(select(Document).where(Document.kind == "ballot")))
        rnd = s.get(VoteRound, (rows[0].case_id, 1))
        printed = [b["code"] for d in docs for b in json.loads(d.context)["ballots"]]
    assert len(rows) == 9 and sorted(r.code for r in rows) == sorted(printed)
    assert {r.status for r in rows} == {"issued"} and {r.round for r in rows} == {1}
    assert rows[0].code.startswith(docs[0].verification_code + "-")
    assert json.loads(rnd.items) == ["C1", "C2", "C3", "C4", "C5", "C6", "C7"] and rnd.deadline is not None
    assert [ev.action for ev in _events(runtime, e)] == ["vote:ballots_registered"]
    summary = votes.register_summary(e.case_number, e.actors["street"])
    assert summary["rounds"][0] | {} == {**summary["rounds"][0], "issued": 9, "delivered": 0, "returned": 0, "void": 0}


def test_deliver_return_void_reissue_and_counts(voting, runtime):
    e, votes = voting
    street = e.actors["street"]
    c = codes(votes, e)
    votes.deliver(e.case_number, c[0], "door", street)
    votes.deliver(e.case_number, c[1], "post", street)
    votes.return_ballot(e.case_number, c[0], street)
    votes.return_ballot(e.case_number, c[2], e.actors["community"])  # handed in at the box
    out = votes.void_and_reissue(e.case_number, c[1], "业主称未收到，邮寄遗失", street)
    assert out["voided"] == c[1] and out["reissued"] and out["reissued"] != c[1]
    counts = votes.register_summary(e.case_number, street)["rounds"][0]
    assert (counts["issued"], counts["delivered"], counts["returned"], counts["void"]) == (10, 1, 2, 1)
    with runtime.uow() as s:
        new = s.scalar(select(VoteBallot).where(VoteBallot.code == out["reissued"]))
        old = s.scalar(select(VoteBallot).where(VoteBallot.code == c[1]))
        doc = s.get(Document, new.document_id)
        assert new.replaces_id == old.id and new.owner_id == old.owner_id and new.status == "issued"
        assert old.void_reason == "业主称未收到，邮寄遗失" and doc.kind == "ballot" and "补发" in doc.title
    # the old code is void from then on, whatever is tried with it
    for attempt in (lambda: votes.deliver(e.case_number, c[1], "door", street),
                    lambda: votes.return_ballot(e.case_number, c[1], street),
                    lambda: votes.void_and_reissue(e.case_number, c[1], "再补发", street)):
        with pytest.raises(RuleRefused, match="已作废"):
            attempt()
    actions = [ev.action for ev in _events(runtime, e)]
    assert actions.count("vote:ballot_delivered") == 2 and "vote:ballot_reissued" in actions
    assert actions.count("refused:vote:ballot_delivered") == 0  # refusals are their own prefix
    refused = [ev.action for ev in _events(runtime, e, "refused:vote:")]
    assert refused == ["refused:vote:ballot_delivered", "refused:vote:ballot_returned", "refused:vote:ballot_voided"]
    with runtime.uow() as s:
        assert all(r.ok for r in verify(s, case_chain(e.case_number)))


def test_register_refusals_change_nothing(voting, runtime):
    e, votes = voting
    street = e.actors["street"]
    c = codes(votes, e)
    with pytest.raises(RuleRefused, match="送达方式"):
        votes.deliver(e.case_number, c[0], "pigeon", street)
    votes.deliver(e.case_number, c[0], "onsite", street)
    with pytest.raises(RuleRefused, match="不能重复登记送达"):
        votes.deliver(e.case_number, c[0], "door", street)
    with pytest.raises(NotFound, match="没有编号"):
        votes.deliver(e.case_number, "NOPE-1", "door", street)
    with pytest.raises(ValidationFailed, match="须说明理由"):
        votes.void_and_reissue(e.case_number, c[0], "  ", street)
    for role in ("cparty", "sparty", "auditor", "branch"):
        with pytest.raises(Forbidden):
            votes.deliver(e.case_number, c[3], "door", e.actors[role])
    with pytest.raises(NotFound):  # outside the jurisdiction the case does not exist
        votes.deliver(e.case_number, c[3], "door", e.actors["community2"])
    with runtime.uow() as s:
        b = s.scalar(select(VoteBallot).where(VoteBallot.code == c[3]))
        assert b.status == "issued" and b.delivered_at is None
    counts = votes.register_summary(e.case_number, street)["rounds"][0]
    assert (counts["delivered"], counts["void"], counts["issued"]) == (1, 0, 9)


def test_after_the_deadline_no_delivery_or_reissue(voting, clock):
    e, votes = voting
    c = codes(votes, e)
    close_voting(e, clock)
    with pytest.raises(RuleRefused, match="投票已截止"):
        votes.deliver(e.case_number, c[0], "door", e.actors["street"])
    with pytest.raises(RuleRefused, match="投票已截止"):
        votes.void_and_reissue(e.case_number, c[0], "遗失", e.actors["street"])


def test_xlsx_export_has_chinese_headers(voting):
    from openpyxl import load_workbook

    e, votes = voting
    c = codes(votes, e)
    votes.deliver(e.case_number, c[0], "door", e.actors["street"])
    wb = load_workbook(io.BytesIO(votes.register_xlsx(e.case_number, e.actors["auditor"])))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[1][:4] == ("选票编号", "轮次", "业主编号", "业主姓名") and "送达方式" in rows[1]
    assert len(rows) == 2 + 9
    first = rows[2]
    assert first[0] == c[0] and first[6] == "已送达" and first[7] == "入户"
