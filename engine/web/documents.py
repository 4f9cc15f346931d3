"""Downloading a case's documents (rendered notices, PDF)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from engine.views.cases import readable_document

from .context import runtime
from .deps import CurrentViewer
from .hardening import content_disposition

router = APIRouter(include_in_schema=False)


@router.get("/documents/{document_id}/download")
def download(request: Request, document_id: int, v: CurrentViewer):
    doc = readable_document(runtime(request), v.actor, document_id)
    return Response(doc.content, media_type="application/pdf", headers={
        "Content-Disposition": content_disposition(doc.filename),
        "X-Content-SHA256": doc.sha256})
