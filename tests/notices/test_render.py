"""Rendering without a database: layout per GB/T 9704, fonts, escaping, metadata, warnings."""
from __future__ import annotations

import io
import logging
import shutil
import subprocess
from pathlib import Path

import pdfplumber
import pytest
from pypdf import PdfReader

from engine.notices import render
from engine.notices.kinds import NOTICE_KINDS, get_kind
from engine.runtime.errors import ValidationFailed

from .samples import SAMPLES
from .support import MM, chars_missing_glyphs, pdf_text, render_kind

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "notices"
HANZI = ("根据物业管理条例和业主大会和业主委员会指导规则有关规定经街道办事处社区居民委员会和建设单位推荐"
         "协商小区业主大会筹备组成员已经确定现将名单公示如下")
LEFT, RIGHT, TOP, BOTTOM = 28.0, 184.0, 37.0, 262.0  # text block, mm from the page's top-left


def test_every_kind_has_a_template_a_sample_and_a_readme_entry():
    from engine.notices.readme import readme as generated

    readme = (render.TEMPLATES_DIR / "README.md").read_text(encoding="utf-8")
    assert readme == generated()  # regenerate: python -m engine.notices.readme > docs_templates/README.md
    for kind, spec in NOTICE_KINDS.items():  # also kinds other modules register
        assert (render.TEMPLATES_DIR / spec.template).is_file(), kind
    for kind, spec in _core_kinds().items():
        assert f"`{kind}`" in readme and spec.title in readme, kind
        for var in spec.required:
            assert f"`{var}`" in readme, (kind, var)
    assert set(SAMPLES) == set(_core_kinds())


def _core_kinds():
    from engine.notices.kinds import _kinds

    return {k.kind: k for k in _kinds()}


@pytest.fixture(scope="module")
def long_notice():
    """Three pages: masthead and a table on page 1, continuous body text after."""
    ctx = dict(SAMPLES["owner_roll_publicity"],
               owners=[{"name": f"业主{i}", "units": [f"{i}幢"], "area": 90} for i in range(30)],
               body=[HANZI * 3] * 6)
    html, pdf, pages = render_kind("owner_roll_publicity", ctx)
    assert pages >= 3
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        yield html, pdf, [
            {"lines": p.extract_text_lines(), "rects": p.rects, "edges": p.edges, "chars": p.chars,
             "width": p.width, "height": p.height} for p in doc.pages]


def _mm(v: float) -> float:
    return v / MM


def test_a4_page_and_text_block_margins(long_notice):
    _html, _pdf, pages = long_notice
    first = pages[0]
    assert abs(_mm(first["width"]) - 210) < 0.5 and abs(_mm(first["height"]) - 297) < 0.5
    for page in pages:
        body = [ln for ln in page["lines"] if not ln["text"].startswith("—")]
        xs0 = [_mm(o["x0"]) for o in body + page["edges"]]
        xs1 = [_mm(o["x1"]) for o in body + page["edges"]]
        assert abs(min(xs0) - LEFT) <= 1.0  # binding margin 28 mm
        assert abs(max(xs1) - RIGHT) <= 1.0  # 156 mm wide: justified lines, table borders
        assert all(_mm(ln["x1"]) <= RIGHT + 1.0 and _mm(ln["x0"]) >= LEFT - 1.0 for ln in body)
        assert all(_mm(ln["top"]) >= TOP - 1.0 and _mm(ln["bottom"]) <= BOTTOM + 1.0 for ln in body)
    # The table continues on page 2 under a repeated header: its top border is the text block's top.
    table_top = min(_mm(e["top"]) for e in pages[1]["edges"])
    assert abs(table_top - TOP) <= 1.0
    edges_x = [_mm(e["x0"]) for e in pages[1]["edges"]] + [_mm(e["x1"]) for e in pages[1]["edges"]]
    assert abs(min(edges_x) - LEFT) <= 1.0 and abs(max(edges_x) - RIGHT) <= 1.0


def test_body_grid_is_22_lines_of_28_characters(long_notice):
    _html, _pdf, pages = long_notice
    last = pages[-2]  # a page of continuous body text
    body = [ln for ln in last["lines"] if not ln["text"].startswith("—")]
    assert len(body) == 22
    pitch = (body[-1]["top"] - body[0]["top"]) / 21
    assert abs(_mm(pitch) * 22 - 225) <= 1.0  # 22 line pitches fill the 225 mm text block
    full = [ln for ln in body if set(ln["text"]) <= set(HANZI) and abs(_mm(ln["x0"]) - LEFT) < 0.5
            and abs(_mm(ln["x1"]) - RIGHT) < 1.0]  # neither a paragraph's indented first line nor its last
    assert full and all(len(ln["text"]) == 28 for ln in full)


def test_probe_block_fills_exactly_the_text_block():
    pdf, _ = render.html_to_pdf('<html lang="zh-CN"><body><div style="height:225mm;box-sizing:border-box;'
                                'border:0.2pt solid #000"></div></body></html>')
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        edges = doc.pages[0].edges
    assert abs(_mm(min(e["x0"] for e in edges)) - LEFT) <= 1.0
    assert abs(_mm(max(e["x1"] for e in edges)) - RIGHT) <= 1.0
    assert abs(_mm(min(e["top"] for e in edges)) - TOP) <= 1.0
    assert abs(_mm(max(e["bottom"] for e in edges)) - BOTTOM) <= 1.0


def test_masthead_title_separator_and_page_numbers(long_notice):
    _html, _pdf, pages = long_notice
    first = pages[0]
    red = [r for r in first["rects"] if r.get("non_stroking_color") and r["non_stroking_color"][0] > 0.8
           and r["non_stroking_color"][1] < 0.2]
    assert red, "red separator line"
    sep = red[0]
    assert abs(_mm(sep["x0"]) - LEFT) <= 1.0 and abs(_mm(sep["x1"]) - RIGHT) <= 1.0
    mark = next(ln for ln in first["lines"] if ln["text"] == "江浦街道办事处")
    mark_chars = [c for c in first["chars"] if c["top"] >= mark["top"] - 1 and c["bottom"] <= mark["bottom"] + 1]
    assert all(c["non_stroking_color"][0] > 0.8 and c["non_stroking_color"][1] < 0.2 for c in mark_chars)  # red
    assert abs((_mm(mark["x0"]) + _mm(mark["x1"])) / 2 - 106) <= 1.0
    assert any(ln["text"] == "〔2026〕7号" for ln in first["lines"])
    title = next(ln for ln in first["lines"] if ln["text"] == "关于业主名册的公示")
    assert abs((_mm(title["x0"]) + _mm(title["x1"])) / 2 - 106) <= 1.0  # centred in the text block
    title_size = {round(c["size"]) for c in first["chars"] if title["top"] - 1 <= c["top"] <= title["bottom"]}
    assert title_size == {22}  # 2号
    body_sizes = {round(c["size"]) for c in pages[-2]["chars"] if c["text"] in HANZI}
    assert body_sizes == {16}  # 3号
    for n, page in enumerate(pages, start=1):
        number = [ln for ln in page["lines"] if ln["text"] == f"— {n} —"]
        assert number, f"page number on page {n}"
        ln = number[0]
        assert abs(_mm(ln["top"]) - (BOTTOM + 7)) <= 1.0  # 7 mm below the text block
        if n % 2:  # odd pages: outer side is the right, one character in
            assert _mm(ln["x1"]) <= RIGHT and _mm(ln["x1"]) >= RIGHT - 7
        else:
            assert _mm(ln["x0"]) >= LEFT and _mm(ln["x0"]) <= LEFT + 7


def test_date_and_issuer_right_aligned_leaving_four_characters():
    _html, pdf, _ = render_kind("mediation_acceptance", SAMPLES["mediation_acceptance"])
    with pdfplumber.open(io.BytesIO(pdf)) as doc:  # the verification block shares these lines, on the left
        found = [m for p in doc.pages for m in p.search("2026年11月21日")]
        date = found[-1]
        issuer = [m for p in doc.pages for m in p.search("江浦街道办事处") if m["bottom"] < date["top"]][-1]
    assert abs(_mm(date["x1"]) - (RIGHT - 4 * 16 / MM)) <= 1.5  # four 3号 characters from the right
    assert abs((issuer["x0"] + issuer["x1"]) / 2 - (date["x0"] + date["x1"]) / 2) <= 1.0 * MM


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_each_kind_renders_its_facts_in_fonts_that_have_every_glyph(kind, caplog):
    caplog.set_level(logging.WARNING, logger="weasyprint")
    html, pdf, pages = render_kind(kind, SAMPLES[kind])
    text = pdf_text(pdf)
    spec = get_kind(kind)
    if kind != "ballot":
        assert spec.title in text and "江浦街道办事处" in text and "2026年11月21日" in text
        assert "〔2026〕7号" in text
    for name in _names(SAMPLES[kind]):
        assert name in text, (kind, name)
    assert "TESTCODE23" in text
    assert chars_missing_glyphs(pdf) == []  # nothing renders as a box
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN"
    assert reader.metadata.title == spec.title
    xmp = reader.xmp_metadata.rdf_root.toxml()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="U"' in xmp
    noisy = [r.getMessage() for r in caplog.records if "fontTools" in r.getMessage() or "HarfBuzz" in r.getMessage()]
    assert noisy == []  # WeasyPrint's slow-subsetting warning never appears


def _names(ctx: dict) -> list[str]:
    found = []
    for value in ctx.values():
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict):
                found += [str(item[k]) for k in ("name", "owner_name") if k in item]
    for k in ("compound_name", "applicant", "respondent", "recipient_name", "mediator", "branch_name", "court"):
        if k in ctx:
            found.append(str(ctx[k]))
    return found


INJECTION = '<script>alert("x")</script><b>粗</b>&amp;'


@pytest.mark.parametrize("kind", ["preparatory_group_list", "mediation_agreement", "ballot"])
def test_markup_in_user_fields_is_literal_text(kind):
    ctx = _inject(SAMPLES[kind])
    html, pdf, _ = render_kind(kind, ctx)
    assert "<script>" not in html and "<b>粗</b>" not in html
    assert "&lt;script&gt;" in html
    text = pdf_text(pdf)
    assert '<script>alert("x")</script>' in text and "<b>粗</b>&amp;" in text


def _inject(ctx: dict) -> dict:
    """Append the payload to every user-supplied string (and strings in lists / objects)."""
    def walk(v):
        if isinstance(v, str) and not v[:4].isdigit() and v not in ("election", "vote"):
            return v + INJECTION
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v
    return {k: (v if k in ("issuer",) else walk(v)) for k, v in ctx.items()}


def test_missing_variable_is_named():
    ctx = dict(SAMPLES["candidate_list_publicity"])
    del ctx["seats"]
    with pytest.raises(ValidationFailed) as err:
        render_kind("candidate_list_publicity", ctx)
    assert "seats" in str(err.value) and "缺少" in str(err.value)
    assert err.value.details[0]["field"] == "seats"


def test_missing_nested_variable_is_named_by_strict_undefined():
    ctx = dict(SAMPLES["preparatory_group_list"], members=[{"name": "王建国", "position": "组长"}])
    with pytest.raises(ValidationFailed) as err:
        render_kind("preparatory_group_list", ctx)
    assert "affiliation" in str(err.value)


def test_meeting_notice_must_be_posted_15_days_ahead():
    ctx = dict(SAMPLES["meeting_plan_notice"], meeting_date="2026-12-05")  # 14 days after 11-21
    with pytest.raises(ValidationFailed) as err:
        render_kind("meeting_plan_notice", ctx)
    assert "15" in str(err.value) and err.value.details[0]["field"] == "meeting_date"
    render_kind("meeting_plan_notice", dict(ctx, meeting_date="2026-12-06"))


def test_filters():
    assert render.cn_date("2026-01-05") == "2026年1月5日"
    assert render.cn_datetime("2026-12-26T09:30:00+00:00") == "2026年12月26日17时30分"
    assert render.cn_datetime("2026-12-26T01:00:00+00:00") == "2026年12月26日9时"
    # Midnight ending a period is 24时 of the day before; starting one, 0时 of its day.
    assert render.cn_deadline("2026-12-30T16:00:00+00:00") == "2026年12月30日24时"
    assert render.cn_datetime("2026-12-30T16:00:00+00:00") == "2026年12月31日0时"
    assert render.cn_deadline("2026-12-30T16:00:01+00:00") == "2026年12月31日0时"
    assert render.cn_deadline("2026-12-31") == "2026年12月31日"
    assert render.named("文景花园小区", "文景花园小区首次业主大会会议") == "文景花园小区首次业主大会会议"
    assert render.named("文景花园小区", "首次业主大会会议") == "文景花园小区首次业主大会会议"
    assert render.amount(128456.375) == "128,456.38"
    assert render.as_list("一") == ["一"]


def test_page_png_kept_as_artifact():
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils (pdftoppm) not installed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for kind in ("preparatory_group_list", "ballot", "mediation_agreement"):
        _html, pdf, _ = render_kind(kind, SAMPLES[kind])
        (ARTIFACTS / f"{kind}.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "1", "-singlefile",
                        str(ARTIFACTS / f"{kind}.pdf"), str(ARTIFACTS / kind)], check=True, timeout=60)
        png = ARTIFACTS / f"{kind}.png"
        assert png.stat().st_size > 10_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
