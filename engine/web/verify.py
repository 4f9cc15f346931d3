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

from engine.runtime.documents import revoke_document
from engine.runtime.errors import NotFound
from engine.views import documents

from .context import PROCESS_ZH, Viewer, check_csrf, render, runtime, viewer

router = APIRouter(include_in_schema=False)


def lookup(request: Request, code: str) -> dict[str, Any] | None:
    """The public facts of a document and its status (the page and /api/verify/<code> alike)."""
    found = documents.public_document(runtime(request), code)
    if found is None:
        return None
    key, name = found.pop("process_key"), found.pop("process_name")
    return {**found, "process": (PROCESS_ZH.get(key) or name) if key else None}


_page_images: OrderedDict[str, bytes | None] = OrderedDict()  # sha256 → PNG, most recent last
_page_images_lock = threading.Lock()
PAGE_IMAGES_KEPT = 64


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
    source = documents.public_page_source(runtime(request), code)
    if source is None:
        raise NotFound(f"no document with code {code!r}", "核验码不存在")
    sha, content = source
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


def revoke(request: Request, v: Viewer, document_id: int, reason: str) -> str:
    """Revoke a document of a case in the viewer's jurisdiction; its verification code."""
    return revoke_document(runtime(request), v.actor, document_id, reason)


@router.post("/documents/{document_id}/revoke", dependencies=[Depends(check_csrf)])
def revoke_form(request: Request, document_id: int, v: Viewer = Depends(viewer), reason: str = Form("")):
    code = revoke(request, v, document_id, reason)
    return RedirectResponse(f"/verify/{quote(code)}", status_code=303)
