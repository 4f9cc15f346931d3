"""Downloading a case's documents (rendered notices, PDF)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from engine.db.models import Case, Document
from engine.runtime.errors import NotFound

from .context import Viewer, runtime
from .deps import CurrentViewer
from .hardening import content_disposition

router = APIRouter(include_in_schema=False)


def readable_document(request: Request, v: Viewer, document_id: int) -> Document:
    """The document, if the viewer may read the case it belongs to (else 404: ids don't leak)."""
    rt = runtime(request)
    with rt.uow() as s:
        doc = s.get(Document, document_id)
        case = s.get(Case, doc.case_id) if doc is not None and doc.case_id is not None else None
        path = case.org_path if case is not None else ""
        if doc is None or not v.actor.covers(path):
            raise NotFound(f"document {document_id} not found", f"文书 {document_id} 不存在")
        s.expunge(doc)
        return doc


@router.get("/documents/{document_id}/download")
def download(request: Request, document_id: int, v: CurrentViewer):
    doc = readable_document(request, v, document_id)
    name = f"{doc.title}.pdf"
    return Response(doc.content, media_type="application/pdf", headers={
        "Content-Disposition": content_disposition(name),
        "X-Content-SHA256": doc.sha256})
