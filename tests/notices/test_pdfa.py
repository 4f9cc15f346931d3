"""PDF/A-3u requirements checked by reading the PDF back with pypdf — no validator is installable
here (veraPDF is a Java application; the PyPI packages naming it wrap an installed copy). Checked
for every kind, and for a notice carrying an electronic seal image (transparency):

- no encryption (ISO 19005-3 §6.1.3); no JavaScript, no embedded files, no LZW;
- an output intent GTS_PDFA1 with an embedded ICC profile (§6.2.3), so device colours and the
  seal's transparency blend in a defined colour space;
- XMP metadata declaring pdfaid:part 3, conformance U, and carrying the title (§6.6);
- every font embedded (FontFile/FontFile2/FontFile3) with a ToUnicode map (§6.2.11.4, §6.2.11.7.2
  for level U), in pages and in form XObjects.

Not checked (a validator would): that each glyph's width in the font dictionary matches the
embedded program, that the ICC profile is itself valid beyond its header, the XMP against the
PDF/A extension-schema rules, that Info and XMP agree field by field, rendering intents and
colour spaces operator by operator, and annotation appearance streams.
"""
from __future__ import annotations

import base64
import io
import re
from dataclasses import replace

import pytest
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from engine.notices import render
from engine.notices.kinds import get_kind
from engine.notices.service import prepare_context

from .samples import SAMPLES
from .support import NOW, SETTINGS, render_kind
from .test_trust import seal_png


def _resolve(obj):
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def fonts_of(resources, seen=None) -> list:
    seen = set() if seen is None else seen
    resources = _resolve(resources)
    found = [_resolve(f) for f in (_resolve(resources.get("/Font")) or {}).values()]
    for xobject in (_resolve(resources.get("/XObject")) or {}).values():
        x = _resolve(xobject)
        if x.get("/Subtype") == "/Form" and "/Resources" in x and id(x) not in seen:
            seen.add(id(x))
            found += fonts_of(x["/Resources"], seen)
    return found


def pdfa_problems(pdf: bytes) -> list[str]:
    problems = []
    reader = PdfReader(io.BytesIO(pdf))
    if reader.is_encrypted or "/Encrypt" in reader.trailer:
        problems.append("encrypted")
    root = reader.trailer["/Root"]
    intents = [_resolve(i) for i in (_resolve(root.get("/OutputIntents")) or [])]
    pdfa = [i for i in intents if i.get("/S") == "/GTS_PDFA1"]
    if not pdfa:
        problems.append("no GTS_PDFA1 output intent")
    else:
        icc = _resolve(pdfa[0].get("/DestOutputProfile"))
        data = icc.get_data() if icc is not None else b""
        if data[36:40] != b"acsp":
            problems.append("output intent has no ICC profile")
    meta = _resolve(root.get("/Metadata"))
    xmp = meta.get_data().decode("utf-8", "replace") if meta is not None else ""
    if not re.search(r"pdfaid:part(>|=\")3", xmp):
        problems.append("XMP lacks pdfaid:part 3")
    if not re.search(r"pdfaid:conformance(>|=\")U", xmp):
        problems.append("XMP lacks pdfaid:conformance U")
    if "<dc:title>" not in xmp:
        problems.append("XMP has no title")
    names = _resolve(root.get("/Names")) or {}
    for forbidden in ("/JavaScript", "/EmbeddedFiles"):
        if forbidden in names:
            problems.append(f"catalog names {forbidden}")
    if b"/LZWDecode" in pdf or b"/JavaScript" in pdf:
        problems.append("LZW or JavaScript present")
    for n, page in enumerate(reader.pages, start=1):
        for font in fonts_of(page["/Resources"]):
            name = str(font.get("/BaseFont"))
            if font.get("/Subtype") != "/Type3":
                descendant = _resolve(font["/DescendantFonts"][0]) if "/DescendantFonts" in font else font
                descriptor = _resolve(descendant.get("/FontDescriptor")) or {}
                if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    problems.append(f"page {n}: font {name} not embedded")
            if "/ToUnicode" not in font:
                problems.append(f"page {n}: font {name} has no ToUnicode")
        for annot in (_resolve(page.get("/Annots")) or []):
            annot = _resolve(annot)
            if not int(annot.get("/F", 0)) & 4:
                problems.append(f"page {n}: annotation without the print flag")
    return sorted(set(problems))


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_kind_meets_the_readable_pdfa_requirements(kind):
    _html, pdf, _pages = render_kind(kind, SAMPLES[kind])
    assert pdfa_problems(pdf) == []


def test_a_notice_with_a_seal_image_meets_them_too():
    spec = get_kind("candidate_list_publicity")
    ctx = prepare_context(None, spec, SAMPLES["candidate_list_publicity"], case=None, now=NOW,
                          settings=replace(SETTINGS, base_url="http://127.0.0.1:8000"), title=None, code="TESTCODE23",
                          doc_number="江街〔2026〕7号")
    ctx["seal_image"] = "data:image/png;base64," + base64.b64encode(seal_png()).decode("ascii")
    pdf, _pages = render.html_to_pdf(render.render_html(spec.template, ctx))
    assert pdfa_problems(pdf) == []


def test_the_checks_catch_what_they_check():
    _html, pdf, _pages = render_kind("mediation_acceptance", SAMPLES["mediation_acceptance"])
    plain, _ = render.html_to_pdf(render.render_html("mediation_acceptance.html", prepare_context(
        None, get_kind("mediation_acceptance"), SAMPLES["mediation_acceptance"], case=None, now=NOW, settings=SETTINGS,
        title=None, code="TESTCODE23", doc_number="〔2026〕7号")), variant=None)
    found = pdfa_problems(plain)  # the same notice rendered without the PDF/A variant
    assert "no GTS_PDFA1 output intent" in found and "XMP lacks pdfaid:part 3" in found
