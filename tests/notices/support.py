"""Helpers of the notices tests: render samples without a database, read PDFs back."""
from __future__ import annotations

import io
from datetime import UTC, datetime

import pdfplumber
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from engine.config import Settings
from engine.notices import render
from engine.notices.kinds import get_kind
from engine.notices.service import prepare_context

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
SETTINGS = Settings(database_url="sqlite://", base_url="http://testserver", secret_key="x")
MM = 72 / 25.4  # PDF points per millimetre


def render_kind(kind: str, context: dict, code: str = "TESTCODE23", doc_number: str = "〔2026〕7号"):
    """(html, pdf bytes, pages) for a context that names its issuer (no database needed)."""
    spec = get_kind(kind)
    ctx = prepare_context(None, spec, context, case=None, now=NOW, settings=SETTINGS, title=None, code=code,
                          doc_number=doc_number)
    html = render.render_html(spec.template, ctx)
    pdf, pages = render.html_to_pdf(html)
    return html, pdf, pages


def pdf_text(pdf: bytes) -> str:
    """All text, with line breaks removed (a name may wrap across lines)."""
    reader = PdfReader(io.BytesIO(pdf))
    return "".join((p.extract_text() or "").replace("\n", "").replace(" ", "") for p in reader.pages)


def embedded_cmaps(pdf: bytes) -> dict[str, set[int]]:
    """Base font name (as pdfplumber reports it) → code points in its embedded font program's cmap."""
    reader = PdfReader(io.BytesIO(pdf))
    out: dict[str, set[int]] = {}

    def fonts_of(resources) -> list:
        """Fonts of a resource dictionary and of the form XObjects it draws (ballot underlays)."""
        resources = resources.get_object()
        found = list(resources.get("/Font", {}).values()) if "/Font" in resources else []
        for xobject in (resources.get("/XObject") or {}).values():
            xobject = xobject.get_object()
            if xobject.get("/Subtype") == "/Form" and "/Resources" in xobject:
                found += fonts_of(xobject["/Resources"])
        return found

    for page in reader.pages:
        for ref in fonts_of(page["/Resources"]):
            font = ref.get_object()
            name = str(font["/BaseFont"]).lstrip("/")
            if name in out:
                continue
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            key = next(k for k in ("/FontFile", "/FontFile2", "/FontFile3") if k in descriptor)
            program = TTFont(io.BytesIO(descriptor[key].get_object().get_data()))
            out[name] = set((program.getBestCmap() or {}).keys())
    return out


def chars_missing_glyphs(pdf: bytes) -> list[tuple[int, str, str]]:
    """(page, char, font) for every rendered character its embedded font has no glyph for."""
    cmaps = embedded_cmaps(pdf)
    missing = []
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for n, page in enumerate(doc.pages, start=1):
            for ch in page.chars:
                text = ch["text"]
                if not text.strip():
                    continue
                for c in text:
                    if ord(c) not in cmaps.get(ch["fontname"], set()):
                        missing.append((n, c, ch["fontname"]))
    return missing
