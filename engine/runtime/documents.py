"""Revoking an issued document (a supervisor's act, audited in its case's chain by
`engine.notices.service.revoke_document`), for every adapter alike."""
from __future__ import annotations

from typing import Any

from engine.db.models import Case, Document

from .actors import Actor
from .errors import NotFound


def revoke_document(rt: Any, actor: Actor, document_id: int, reason: str) -> str:
    """Revoke a document of a case in the actor's jurisdiction (NotFound outside it: ids don't
    leak); returns its verification code."""
    from engine.notices.service import revoke_document as revoke

    with rt.uow() as s:
        doc = s.get(Document, document_id)
        case = s.get(Case, doc.case_id) if doc is not None and doc.case_id is not None else None
        if doc is None or not actor.covers(case.org_path if case is not None else ""):
            raise NotFound(f"document {document_id} not found", f"文书 {document_id} 不存在")
        revoke(s, doc, actor=actor.username, role=actor.role, reason=reason, now=rt.now())
        return doc.verification_code


def attach_to_case(rt: Any, case_number: str, actor: Actor, filename: str, content: bytes) -> dict[str, Any]:
    """Store a file for a case in the actor's jurisdiction; the reference a form field takes."""
    from sqlalchemy import select

    from engine.attachments import reference, store_attachment

    rt.get_case(case_number, actor)  # the case must exist and be inside the actor's jurisdiction
    with rt.uow() as s:
        case_id = s.scalar(select(Case.id).where(Case.case_number == case_number))
        return reference(store_attachment(s, filename=filename, content=content, actor=actor.username,
                                          now=rt.now(), case_id=case_id))
