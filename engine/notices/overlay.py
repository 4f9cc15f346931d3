"""Put one static page under every page of another PDF, as a shared Form XObject.

Ballots are the same page for every owner except a band with the owner's facts. Laying out
that identical text 2,000 times dominates the cost, so the ballot job renders the static part
once and only the owner bands per page, then draws the static page under each band page here.
The static page is stored once in the file (a Form XObject referenced from every page), so the
result is also smaller. Fonts stay embedded (the static page brings its own subsets, renamed so
that no two different subsets share a name), and the document's PDF/A metadata, language and
output intent are those of the band document, kept as they are.
"""
from __future__ import annotations

import hashlib
import io
from typing import Any, cast

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
)

FORM_NAME = "/HWStatic"


def _rename_font_subsets(resources: DictionaryObject, salt: str) -> None:
    """Give the static page's font subsets their own tags ("ABCDEF+Family" → "<new>+Family")."""
    fonts = resources.get("/Font")
    if fonts is None:
        return
    fonts = fonts.get_object()
    for i, key in enumerate(sorted(fonts)):
        font = fonts[key].get_object()
        base = str(font.get("/BaseFont", ""))
        if "+" not in base:
            continue
        digest = hashlib.sha256(f"{salt}:{i}:{base}".encode()).digest()
        tag = "".join(chr(65 + b % 26) for b in digest[:6])
        new = NameObject("/" + tag + "+" + base.split("+", 1)[1])
        font[NameObject("/BaseFont")] = new
        for desc_ref in font.get("/DescendantFonts", []):
            desc = desc_ref.get_object()
            desc[NameObject("/BaseFont")] = new
            fd = desc.get("/FontDescriptor")
            if fd is not None:
                fd.get_object()[NameObject("/FontName")] = new


def underlay(pages_pdf: bytes, static_pdf: bytes) -> bytes:
    """Every page of `pages_pdf` with page 1 of `static_pdf` drawn beneath it."""
    reader = PdfReader(io.BytesIO(pages_pdf))
    producer = reader.metadata.get("/Producer") if reader.metadata else None
    writer = PdfWriter(clone_from=reader)
    static = PdfReader(io.BytesIO(static_pdf)).pages[0]

    form = DecodedStreamObject()
    static_contents = static.get_contents()
    if static_contents is None:
        raise ValueError("the static layer's page has no content")
    form.set_data(static_contents.get_data())
    resources = cast(DictionaryObject, static["/Resources"].get_object()).clone(writer)
    _rename_font_subsets(resources, hashlib.sha256(static_pdf).hexdigest())
    box = static.mediabox
    form.update({
        NameObject("/Type"): NameObject("/XObject"),
        NameObject("/Subtype"): NameObject("/Form"),
        NameObject("/BBox"): ArrayObject([FloatObject(box.left), FloatObject(box.bottom),
                                          FloatObject(box.right), FloatObject(box.top)]),
        NameObject("/Resources"): resources,
    })
    form_ref = writer._add_object(form.flate_encode())
    prefix = DecodedStreamObject()
    prefix.set_data(f"q {FORM_NAME} Do Q\n".encode())
    prefix_ref = writer._add_object(prefix)

    for page in writer.pages:
        res = page.get("/Resources")
        if res is None:
            res = DictionaryObject()
            page[NameObject("/Resources")] = res
        res = cast(DictionaryObject, res.get_object())
        xobjects: Any = res.get("/XObject")
        if xobjects is None:
            xobjects = DictionaryObject()
            res[NameObject("/XObject")] = xobjects
        xobjects.get_object()[NameObject(FORM_NAME)] = form_ref
        contents: Any = page.get("/Contents")  # a page always has content (the rendered notice)
        existing = list(contents.get_object()) if isinstance(contents.get_object(), ArrayObject) else [contents]
        page[NameObject("/Contents")] = ArrayObject([prefix_ref, *existing])
    if producer:
        writer.add_metadata({"/Producer": producer})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
