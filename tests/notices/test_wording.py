"""Wording of every notice kind, checked in the text extracted from the PDF (short and long data):
no doubled compound names, nothing after 特此公告/特此通知 but the signature and the verification
block, officers in rank order, candidates 按姓氏笔画, deadlines as 24时, grammatical objection
sentences. The replacing notice's citation is checked in test_documents.py."""
from __future__ import annotations

import re

import pytest

from engine.domain.collation import by_strokes

from .long_samples import LONG_ALL, SHORT_ALL
from .samples import SAMPLES
from .support import pdf_text, render_kind
from .test_layout import CLOSINGS, DATE, NOTICE_KINDS

RANK = {"主任": 0, "组长": 0, "副主任": 1, "副组长": 1, "委员": 2, "成员": 2}
_texts: dict = {}


def text_of(kind: str, size: str, **changes) -> tuple[dict, str]:
    key = (kind, size, tuple(sorted(changes.items())))
    if key not in _texts:
        ctx = {**(SHORT_ALL if size == "short" else LONG_ALL)[kind], **changes}
        _html, pdf, _n = render_kind(kind, ctx)
        _texts[key] = (ctx, pdf_text(pdf))
    return _texts[key]


@pytest.mark.parametrize("size", ["short", "long"])
@pytest.mark.parametrize("kind", sorted(SHORT_ALL))
def test_no_doubled_compound_name_and_no_ungrammatical_objection(kind, size):
    ctx, text = text_of(kind, size)
    if ctx.get("compound_name"):
        assert ctx["compound_name"] * 2 not in text
    assert "通过向" not in text and "通过通过" not in text


@pytest.mark.parametrize("kind", ["meeting_plan_notice", "election_result", "ballot"])
def test_a_meeting_name_that_carries_the_compound_name_is_not_doubled(kind):
    key = "vote_title" if kind == "ballot" else "meeting_name"
    ctx, text = text_of(kind, "short", **{key: SAMPLES[kind]["compound_name"] + "首次业主大会会议"})
    assert ctx["compound_name"] + "首次业主大会会议" in text and ctx["compound_name"] * 2 not in text


@pytest.mark.parametrize("size", ["short", "long"])
@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_nothing_follows_the_closing_line_but_signature_and_verification(kind, size):
    ctx, text = text_of(kind, size)
    closing = [c for c in CLOSINGS if c in text]
    if kind in ("party_branch_opinion", "mediation_agreement"):
        assert not closing  # an opinion and an agreement end with their own last paragraph
        return
    assert len(closing) == 1 and text.count(closing[0]) == 1, closing
    tail = text.split(closing[0], 1)[1]
    signer = ctx.get("branch_name") if kind == "party_branch_opinion" else ctx["issuer"]
    for part in ("扫描二维码或访问", "http://testserver/verify/TESTCODE23", "核验真伪", "核验码：", "TESTCODE23",
                 signer, DATE):
        tail = tail.replace(part, "", 1)
    tail = re.sub(r"—\d+—", "", tail)  # page numbers
    assert tail == "", f"text after {closing[0]}: {tail!r}"


@pytest.mark.parametrize("size", ["short", "long"])
@pytest.mark.parametrize("kind,key", [("committee_filing", "members"), ("election_result", "elected"),
                                      ("preparatory_group_list", "members")])
def test_officers_in_rank_order_then_by_strokes(kind, key, size):
    ctx, text = text_of(kind, size)
    people = ctx[key]
    order = sorted(people, key=lambda p: text.index(p["name"] + p["position"]))
    ranks = [RANK[p["position"]] for p in order]
    assert ranks == sorted(ranks), [p["position"] for p in order]
    for rank in set(ranks):
        same = [p["name"] for p in order if RANK[p["position"]] == rank]
        assert same == by_strokes(same)


@pytest.mark.parametrize("size", ["short", "long"])
def test_candidates_listed_by_surname_strokes(size):
    ctx, text = text_of("candidate_list_publicity", size)
    names = [c["name"] for c in ctx["candidates"]]
    shown = sorted(names, key=text.index)
    assert shown == by_strokes(names) and "按姓氏笔画排序" in text
    assert shown[0] == ("丁一" if size == "long" else "上官婉清")  # 丁 has 2 strokes, 上 3


def test_deadlines_at_midnight_are_24_hours_of_the_day_before():
    # 2026-12-30 16:00 UTC is midnight starting 31 December in Beijing: the vote runs to the 30th's end.
    _ctx, text = text_of("assembly_vote_notice", "short", vote_end="2026-12-30T16:00:00+00:00")
    assert "至2026年12月30日24时" in text and "0:00" not in text and "31日0时" not in text
    _ctx, text = text_of("assembly_vote_notice", "short")
    assert "自2026年12月1日9时至2026年12月15日17时" in text
    _ctx, text = text_of("ballot", "short", deadline="2026-12-25T16:00:00+00:00")
    assert "投票截止时间：2026年12月25日24时" in text


def test_objections_go_to_whom_the_notice_names():
    _ctx, text = text_of("candidate_list_publicity", "short", objection_to="筹备组或街道办事处",
                         objection_contact="电话025-58001234")
    assert "请于公示期内以书面形式实名向筹备组或街道办事处反映（受理方式：电话025-58001234）。" in text
    _ctx, text = text_of("candidate_list_publicity", "short")
    assert "请于公示期内以书面形式实名向江浦街道办事处反映。" in text


@pytest.mark.parametrize("kind", ["candidate_list_publicity", "mediation_acceptance", "assembly_vote_result"])
def test_extra_paragraphs_and_contact_come_before_the_closing_line(kind):
    ctx, text = text_of(kind, "short", body=("另行补充的一段说明。",), contact="王先生，025-58001234")
    closing = next(c for c in CLOSINGS if c in text)
    assert text.index("另行补充的一段说明。") < text.index("联系人及电话：王先生，025-58001234") < text.index(closing)
