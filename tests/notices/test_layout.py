"""Layout rules checked from the PDF itself (pdfplumber), for every notice kind rendered with the
short samples and with long data (tests/notices/long_samples.py):

- no page holds only the signature block: the page with the issuer's signature and date also
  carries body text other than the closing line (GB/T 9704 §7.3.5);
- the closing group is not split: signature, date and verification block share a page;
- the issuer mark is one line (compressed for long names, §7.2.3);
- nothing leaves the type area (156 × 225 mm from 28 mm left, 37 mm top), page numbers aside.
"""
from __future__ import annotations

import io
import re

import pdfplumber
import pytest

from .long_samples import LONG_ALL, SHORT_ALL
from .support import MM, render_kind

LEFT, RIGHT, TOP, BOTTOM = 28.0, 184.0, 37.0, 262.0  # type area, mm from the page's top-left
NOTICE_KINDS = sorted(k for k in SHORT_ALL if k != "ballot")  # ballots have their own page (test_ballots.py)
CLOSINGS = ("特此公告。", "特此公示。", "特此通知。", "特此告知。")
DATE = "2026年11月21日"
PAGE_NUMBER = re.compile(r"^—\s*\d+\s*—$")
_rendered: dict = {}


def rendered(kind: str, size: str):
    """(context, pdf, pages) rendered once per module run."""
    key = (kind, size)
    if key not in _rendered:
        ctx = (SHORT_ALL if size == "short" else LONG_ALL)[kind]
        _html, pdf, _n = render_kind(kind, ctx)
        with pdfplumber.open(io.BytesIO(pdf)) as doc:
            pages = [{"lines": p.extract_text_lines(), "chars": p.chars, "images": p.images, "rects": p.rects,
                      "search": {s: p.search(s) for s in (DATE, "扫描二维码或访问")}} for p in doc.pages]
        _rendered[key] = (ctx, pdf, pages)
    return _rendered[key]


def _mm(v: float) -> float:
    return v / MM


@pytest.mark.parametrize("size", ["short", "long"])
@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_signature_never_stands_alone_and_stays_with_the_verification_block(kind, size):
    ctx, _pdf, pages = rendered(kind, size)
    dated = [n for n, p in enumerate(pages) if p["search"][DATE]]
    verified = [n for n, p in enumerate(pages) if p["search"]["扫描二维码或访问"]]
    assert dated and verified, "signature date and verification block are printed"
    n = dated[-1]
    assert verified == [n], "the closing group is one piece"
    row_top = pages[n]["search"]["扫描二维码或访问"][0]["top"] - 3 * MM  # the signature row starts here
    above = [ln["text"].replace(" ", "") for ln in pages[n]["lines"] if ln["bottom"] <= row_top]
    body = [t for t in above if t not in CLOSINGS and not PAGE_NUMBER.match(t) and not t.startswith("附件")]
    assert body, f"page {n + 1} holds only the signature block: {above}"


@pytest.mark.parametrize("size", ["short", "long"])
@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_issuer_mark_is_one_line_of_the_whole_name(kind, size):
    ctx, _pdf, pages = rendered(kind, size)
    red = [c for c in pages[0]["chars"] if c["size"] >= 15 and _is_red(c.get("non_stroking_color"))]
    assert red, "the mark is printed in red"
    assert "".join(c["text"] for c in red) == ctx["issuer"]
    tops = {round(c["top"]) for c in red}
    assert max(tops) - min(tops) <= 1, f"the mark wraps: {sorted(tops)}"
    assert all(LEFT - 1 <= _mm(c["x0"]) and _mm(c["x1"]) <= RIGHT + 1 for c in red)


def _is_red(color) -> bool:
    return isinstance(color, (list, tuple)) and len(color) == 3 and color[0] > 0.8 and color[1] < 0.2


@pytest.mark.parametrize("size", ["short", "long"])
@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_nothing_leaves_the_type_area(kind, size):
    _ctx, _pdf, pages = rendered(kind, size)
    for n, page in enumerate(pages, start=1):
        lines = [ln for ln in page["lines"] if not PAGE_NUMBER.match(ln["text"].replace(" ", ""))]
        for ln in lines:
            assert LEFT - 1 <= _mm(ln["x0"]) and _mm(ln["x1"]) <= RIGHT + 1, (n, ln["text"])
            assert TOP - 1 <= _mm(ln["top"]) and _mm(ln["bottom"]) <= BOTTOM + 1, (n, ln["text"])
        for box in page["images"] + page["rects"]:
            assert LEFT - 1 <= _mm(box["x0"]) and _mm(box["x1"]) <= RIGHT + 1, (n, "box", box["x0"], box["x1"])
            assert TOP - 1 <= _mm(box["top"]) and _mm(box["bottom"]) <= BOTTOM + 1, (n, "box", box["top"])


@pytest.mark.parametrize("size", ["short", "long"])
def test_every_ballot_is_one_page_with_its_whole_title(size):
    """11 candidates and a 40-character compound: still one page per owner, the title not cut."""
    ctx, pdf, pages = rendered("ballot", size)
    assert len(pages) == len(ctx["ballots"])
    title = ctx["vote_title"] + "选票" if ctx["vote_title"].startswith(ctx["compound_name"]) else \
        ctx["compound_name"] + ctx["vote_title"] + "选票"
    for page in pages:
        text = "".join(ln["text"] for ln in page["lines"]).replace(" ", "")
        assert title in text and all(name in text for name in ctx["items"])
