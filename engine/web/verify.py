"""Public verification of a posted notice: `/verify/<code>` needs no login and shows what a
resident needs to compare with the paper in front of them — document number, title, issuer, date,
the case (compound, process), an image of the first page — and whether it still stands: 有效,
已被〔2026〕7号替代 (linking to the replacement) or 已撤销 with the reason. Revoking is a
supervisor's act (POST /documents/<id>/revoke), audited."""
from __future__ import annotations

import subprocess
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from engine.db.models import Case, Document, OrgUnit, ProcessDefinition
from engine.runtime.errors import NotFound

from .context import PROCESS_ZH, Viewer, check_csrf, render, runtime
from .deps import CurrentViewer

router = APIRouter(include_in_schema=False)


def describe_for_public(session, doc: Document) -> dict[str, Any]:
    """The public facts of a document and its status (the page and /api/verify/<code> alike)."""
    from engine.notices.service import status_of

    case_number = compound = process = None
    if doc.case_id is not None:
        row = session.execute(select(Case.case_number, OrgUnit.name, Case.process_key, ProcessDefinition.name)
                              .join(OrgUnit, OrgUnit.id == Case.compound_id)
                              .join(ProcessDefinition, ProcessDefinition.id == Case.definition_id)
                              .where(Case.id == doc.case_id)).first()
        if row is not None:
            case_number, compound = row[0], row[1]
            process = PROCESS_ZH.get(row[2]) or row[3]
    return {"doc_number": doc.doc_number, "title": doc.title, "issuer": doc.issuer, "issued_on": doc.issued_on,
            "case_number": case_number, "compound": compound, "process": process, "sha256": doc.sha256,
            "verification_code": doc.verification_code, "pages": doc.pages, "page_image": shows_page_image(doc),
            **status_of(session, doc)}


def lookup(request: Request, code: str) -> dict[str, Any] | None:
    from engine.notices.service import find_by_code

    code = (code or "").strip()
    if not code or len(code) > 64:
        return None
    with runtime(request).uow() as s:
        doc = find_by_code(s, code)
        return describe_for_public(s, doc) if doc is not None else None


_page_images: OrderedDict[str, bytes | None] = OrderedDict()  # sha256 → PNG, most recent last
_page_images_lock = threading.Lock()
PAGE_IMAGES_KEPT = 64


def shows_page_image(doc: Document) -> bool:
    """Ballot batches carry owners' names and units page by page: their image is never public."""
    return doc.kind != "ballot"


def first_page_png(sha256: str, pdf: bytes) -> bytes | None:
    """The first page at 60 dpi (poppler's pdftoppm); None when the file cannot be rendered.
    Kept by content hash: a document never changes."""
    with _page_images_lock:
        if sha256 in _page_images:
            _page_images.move_to_end(sha256)
            return _page_images[sha256]
    png = None
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "d.pdf"
        src.write_bytes(pdf)
        try:
            subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile", str(src),
                            str(Path(tmp) / "p")], check=True, timeout=30, capture_output=True)
            out = Path(tmp) / "p.png"
            png = out.read_bytes() if out.is_file() else None
        except (OSError, subprocess.SubprocessError):
            png = None
    with _page_images_lock:
        _page_images[sha256] = png
        while len(_page_images) > PAGE_IMAGES_KEPT:
            _page_images.popitem(last=False)
    return png


def _page(request: Request, code: str):
    found = lookup(request, code)
    return render(request, "verify.html", {"code": code, "doc": found}, status_code=200 if found else 404)


@router.get("/verify/{code}")
def verify_page(request: Request, code: str):
    return _page(request, code)


@router.get("/verify/{code}/page-1.png")
def verify_page_image(request: Request, code: str):
    from engine.notices.service import find_by_code

    with runtime(request).uow() as s:
        doc = find_by_code(s, code) if code and len(code) <= 64 else None
        if doc is None or not shows_page_image(doc):
            raise NotFound(f"no document with code {code!r}", "核验码不存在")
        sha, content = doc.sha256, doc.content
    png = first_page_png(sha, content)
    if png is None:
        raise NotFound("the first page cannot be shown", "该文书首页图像无法生成")
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/verify")
def verify_form(request: Request, code: str = ""):
    if code:
        return _page(request, code)
    return render(request, "verify.html", {"code": "", "doc": None, "ask": True})


# --- revoking ---------------------------------------------------------------------------


def revoke(request: Request, v: Viewer, document_id: int, reason: str) -> Document:
    """Revoke a document of a case in the viewer's jurisdiction (404 outside it: ids don't leak)."""
    from engine.notices.service import revoke_document

    rt = runtime(request)
    with rt.uow() as s:
        doc = s.get(Document, document_id)
        case = s.get(Case, doc.case_id) if doc is not None and doc.case_id is not None else None
        if doc is None or not v.actor.covers(case.org_path if case is not None else ""):
            raise NotFound(f"document {document_id} not found", f"文书 {document_id} 不存在")
        revoke_document(s, doc, actor=v.username, role=v.role, reason=reason, now=rt.now())
        s.expunge(doc)
        return doc


@router.post("/documents/{document_id}/revoke", dependencies=[Depends(check_csrf)])
def revoke_form(request: Request, document_id: int, v: CurrentViewer, reason: str = Form("")):
    doc = revoke(request, v, document_id, reason)
    return RedirectResponse(f"/verify/{quote(doc.verification_code)}", status_code=303)
