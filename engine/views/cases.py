"""What the case page, the API and the audit exports read about one case beyond its state: its
audit chain with the names of those who acted and the forms its definition declares (the web
labels them), its documents and attachments. The caller has checked jurisdiction first
(`Runtime.get_case`), except where a function says it checks itself."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine import audit
from engine.db.models import Attachment, AuditEvent, Case, Document, User
from engine.runtime.actors import Actor
from engine.runtime.errors import NotFound


@dataclass(frozen=True)
class CaseHistory:
    case_number: str
    events: list[AuditEvent]  # the chain in order (detached rows)
    names: dict[str, str]  # username -> display name of everyone in it
    forms: Any  # the forms of the definition version the case runs on (None: no such case)
    report: audit.ChainReport


def case_history(rt: Any, case_number: str) -> CaseHistory:
    chain = audit.case_chain(case_number)
    with rt.uow() as s:
        events = audit.chain_events(s, chain)
        # Everyone the timeline names: actors, and whom a claim, assignment or comment is about.
        people = {e.actor for e in events}
        for e in events:
            detail = json.loads(e.detail) if e.detail and e.detail.startswith("{") else None
            if isinstance(detail, dict):
                people.update(str(detail[k]) for k in ("user", "assignee", "previous") if detail.get(k))
                if isinstance(detail.get("mentions"), list):
                    people.update(str(m) for m in detail["mentions"])
        names = dict(s.execute(select(User.username, User.display_name)
                               .where(User.username.in_(people))).all())
        definition_id = s.scalar(select(Case.definition_id).where(Case.case_number == case_number))
        forms = rt.loaded_definition(s, definition_id)[1].forms if definition_id is not None else None
    return CaseHistory(case_number, events, names, forms, audit.verify_events(chain, events))


def case_documents(rt: Any, case_id: int) -> list[dict[str, Any]]:
    from engine.notices.service import status_of

    with rt.uow() as s:
        rows = s.scalars(select(Document).where(Document.case_id == case_id)
                         .order_by(Document.created_at, Document.id))
        return [{"id": d.id, "kind": d.kind, "title": d.title, "issuer": d.issuer, "doc_number": d.doc_number,
                 "issued_on": d.issued_on, "sha256": d.sha256, "size": d.size, "pages": d.pages,
                 "verification_code": d.verification_code, "replaces_id": d.replaces_id,
                 "created_at": d.created_at.isoformat(), **status_of(s, d)} for d in rows]


def case_attachments(rt: Any, case_id: int) -> list[dict[str, Any]]:
    """Attachments with who stored them (`created_by_name`: their display name, if known)."""
    with rt.uow() as s:
        rows = s.execute(select(Attachment.id, Attachment.filename, Attachment.sha256, Attachment.size,
                                Attachment.created_by, Attachment.created_at, User.display_name)
                         .outerjoin(User, User.username == Attachment.created_by)
                         .where(Attachment.case_id == case_id).order_by(Attachment.id)).all()
    return [{"id": r[0], "filename": r[1], "sha256": r[2], "size": r[3], "created_by": r[4],
             "created_by_display": r[6], "created_at": r[5].isoformat()} for r in rows]


@dataclass(frozen=True)
class StoredFile:
    filename: str
    content: bytes
    content_type: str | None
    sha256: str


def case_attachment(rt: Any, case_number: str, attachment_id: int) -> StoredFile:
    """One attachment of the case (NotFound if it belongs to another case)."""
    with rt.uow() as s:
        att = s.get(Attachment, attachment_id)
        case_id = s.scalar(select(Case.id).where(Case.case_number == case_number))
        if att is None or att.case_id != case_id:
            raise NotFound(f"attachment {attachment_id} not found", f"附件 {attachment_id} 不存在")
        return StoredFile(att.filename, att.content, att.content_type, att.sha256)


def mark_unstaffed(rt: Any, case: dict[str, Any]) -> None:
    """Mark the case's open tasks whose role nobody in the jurisdiction holds (see staffing)."""
    from engine.runtime.staffing import mark_unstaffed as mark

    with rt.uow() as s:
        mark(s, case)


def readable_document(rt: Any, actor: Actor, document_id: int) -> StoredFile:
    """The document's PDF, if the actor may read the case it belongs to (else NotFound: ids don't leak)."""
    with rt.uow() as s:
        doc = s.get(Document, document_id)
        case = s.get(Case, doc.case_id) if doc is not None and doc.case_id is not None else None
        path = case.org_path if case is not None else ""
        if doc is None or not actor.covers(path):
            raise NotFound(f"document {document_id} not found", f"文书 {document_id} 不存在")
        return StoredFile(f"{doc.title}.pdf", doc.content, "application/pdf", doc.sha256)
