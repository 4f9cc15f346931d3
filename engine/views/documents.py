"""What public verification reads: a document by its verification code, with the case it belongs
to and whether it still stands (valid, replaced, revoked)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.db.models import Case, OrgUnit, ProcessDefinition

MAX_CODE = 64


def shows_page_image(kind: str) -> bool:
    """Ballot batches carry owners' names and units page by page: their image is never public."""
    return kind != "ballot"


def public_document(rt: Any, code: str) -> dict[str, Any] | None:
    """The public facts of the document with `code` (None: no such code). `process_key` and
    `process_name` (the definition's own name) let the page say the process in its words."""
    from engine.notices.service import find_by_code, status_of

    code = (code or "").strip()
    if not code or len(code) > MAX_CODE:
        return None
    with rt.uow() as s:
        doc = find_by_code(s, code)
        if doc is None:
            return None
        case_number = compound = process_key = process_name = None
        if doc.case_id is not None:
            row = s.execute(select(Case.case_number, OrgUnit.name, Case.process_key, ProcessDefinition.name)
                            .join(OrgUnit, OrgUnit.id == Case.compound_id)
                            .join(ProcessDefinition, ProcessDefinition.id == Case.definition_id)
                            .where(Case.id == doc.case_id)).first()
            if row is not None:
                case_number, compound, process_key, process_name = row
        return {"doc_number": doc.doc_number, "title": doc.title, "issuer": doc.issuer, "issued_on": doc.issued_on,
                "case_number": case_number, "compound": compound, "process_key": process_key,
                "process_name": process_name, "sha256": doc.sha256, "verification_code": doc.verification_code,
                "pages": doc.pages, "page_image": shows_page_image(doc.kind), **status_of(s, doc)}


def public_page_source(rt: Any, code: str) -> tuple[str, bytes] | None:
    """(sha256, PDF) of a document whose first page may be shown publicly, else None."""
    from engine.notices.service import find_by_code

    if not code or len(code) > MAX_CODE:
        return None
    with rt.uow() as s:
        doc = find_by_code(s, code)
        if doc is None or not shows_page_image(doc.kind):
            return None
        return doc.sha256, doc.content
