"""Issuing and looking up documents (notices, ballots) for the CLI, with the same rules as the
service tasks that issue them inside a process: read-only roles issue nothing, and a document
belongs to a case only inside the actor's jurisdiction."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import Case
from engine.runtime.actors import Actor
from engine.runtime.errors import Forbidden, NotFound


def _case(session: Session, case_number: str | None, actor: Actor) -> Case | None:
    if not case_number:
        return None
    case = session.scalar(select(Case).where(Case.case_number == case_number))
    if case is None:
        raise NotFound(f"no case {case_number}", f"案件 {case_number} 不存在")
    if not actor.covers(case.org_path):
        raise Forbidden(f"case {case_number} is outside your jurisdiction", f"案件 {case_number} 不在您的管辖范围内")
    return case


def _may_issue(actor: Actor) -> None:
    if actor.read_only:
        raise Forbidden("read-only role may not issue documents", "只读角色不能出具文书")


def issue(rt: Any, actor: Actor, kind: str, context: dict, *, case_number: str | None = None,
          title: str | None = None, replaces: int | None = None, reason: str | None = None
          ) -> tuple[dict[str, Any], bytes]:
    """Render and archive one document; (its description, the PDF)."""
    from engine.notices.service import describe, issue_document

    _may_issue(actor)
    with rt.uow() as s:
        doc = issue_document(s, kind=kind, context=context, case=_case(s, case_number, actor),
                             actor=actor.username, now=rt.now(), settings=rt.settings, title=title,
                             replaces=replaces, replace_reason=reason)
        return describe(doc, case_number), doc.content


def issue_ballots(rt: Any, actor: Actor, context: dict, owners: list[dict], *, case_number: str | None,
                  chunk_size: int, workers: int | None, progress: Callable[[int, int], None]
                  ) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """One ballot page per owner, archived in batches; (the run, [(code, PDF)] of each batch)."""
    from engine.notices.ballots import issue_ballots as issue_all

    _may_issue(actor)
    with rt.uow() as s:
        run = issue_all(s, context=context, owners=owners, case=_case(s, case_number, actor), actor=actor.username,
                        now=rt.now(), settings=rt.settings, chunk_size=chunk_size, workers=workers,
                        progress=progress)
        return run.as_dict(), [(d.verification_code, d.content) for d in run.documents]


def verify_pdf(rt: Any, content: bytes) -> dict[str, Any]:
    """Is this file, byte for byte, an archived original? (and its status if so)."""
    from engine.notices.service import verify_pdf_bytes

    with rt.uow() as s:
        return verify_pdf_bytes(s, content).as_dict()


def by_code(rt: Any, code: str) -> dict[str, Any] | None:
    """A document by its verification code (or ballot number), with its status and replacements."""
    from engine.notices.service import case_number_of, describe, find_by_code, status_of, superseded_by

    with rt.uow() as s:
        doc = find_by_code(s, code)
        if doc is None:
            return None
        info = describe(doc, case_number_of(s, doc))
        info["superseded_by"] = [describe(x) for x in superseded_by(s, doc)]
        info["status"] = status_of(s, doc)
        return info


def archived_pdf(rt: Any, document_id: int) -> tuple[dict[str, Any], bytes]:
    from engine.notices.service import get_document

    with rt.uow() as s:
        doc = get_document(s, document_id)
        return {"id": doc.id, "sha256": doc.sha256, "size": doc.size}, doc.content
