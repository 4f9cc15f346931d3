"""Issue, store, find and verify official documents.

A document row is written once and never changed: its bytes, sha256 and a short unguessable
verification code (printed on the PDF with a QR code for <base-url>/verify/<code>) let anyone
check a posted notice. A correction is a new document whose `replaces_id` names the old one.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from engine.config import CIVIL_TZ, Settings
from engine.db.models import Case, Document, OrgUnit
from engine.runtime.errors import NotFound, ValidationFailed

from . import render
from .kinds import COMMON_OPTIONAL, NoticeKind, check_context, get_kind

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols: no 0/O, 1/I
CODE_LENGTH = 10  # 50 bits
_DOC_NUMBER = re.compile(r"^〔(\d{4})〕(\d+)号$")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str) -> str:
    """Codes are read aloud and typed: ignore case, spaces and dashes."""
    return re.sub(r"[\s\-]", "", code or "").upper()


def civil_date(now: datetime) -> date:
    return now.astimezone(CIVIL_TZ).date()


def cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


# --- issuer and document numbers --------------------------------------------------------


def street_of(session: Session, org: OrgUnit | None) -> OrgUnit | None:
    """Walk up from a compound (or any unit) to its street."""
    while org is not None and org.kind != "street":
        org = session.get(OrgUnit, org.parent_id) if org.parent_id else None
    return org


def default_issuer(session: Session, case: Case | None) -> str:
    if case is None:
        raise ValidationFailed("no case: give context['issuer']", "无所属案件，须提供发文机关（issuer）",
                               details=[{"field": "issuer", "message": "issuer is required without a case",
                                         "message_zh": "无所属案件时须提供发文机关"}])
    compound = session.get(OrgUnit, case.compound_id)
    street = street_of(session, compound)
    if street is None:
        raise ValidationFailed(f"case {case.case_number} has no street above its compound",
                               f"案件 {case.case_number} 的小区没有所属街道，须提供发文机关（issuer）")
    return street.name + "办事处"


def _lock_numbering(session: Session, issuer: str, year: int) -> None:
    """Serialize number allocation per issuer and year on PostgreSQL (SQLite has one writer)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"docnum:{issuer}:{year}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def next_doc_number(session: Session, issuer: str, year: int) -> str:
    """〔YYYY〕N号: one more than the highest number this issuer used in that year."""
    _lock_numbering(session, issuer, year)
    rows = session.scalars(select(Document.doc_number).where(
        Document.issuer == issuer, Document.doc_number.like(f"〔{year}〕%号"))).all()
    highest = 0
    for value in rows:
        m = _DOC_NUMBER.match(value or "")
        if m and int(m.group(1)) == year:
            highest = max(highest, int(m.group(2)))
    return f"〔{year}〕{highest + 1}号"


# --- issuing ----------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _unique_code(session: Session) -> str:
    for _ in range(8):
        code = new_code()
        if session.scalar(select(func.count()).select_from(Document).where(Document.verification_code == code)) == 0:
            return code
    raise RuntimeError("could not find a free verification code")  # 2^50 space: never in practice


def number_ballots(ballots: list, code: str, verify_url: str) -> list[dict]:
    """Give every ballot page a serial (its place in the compound's roll unless given), a ballot
    code "<document code>-<serial>" and its units line. (The template draws the QR code of
    <verify url>-<serial> itself, so that it is computed where the page is rendered.)"""
    if not isinstance(ballots, list) or not ballots:
        raise ValidationFailed("ballots must be a non-empty list", "选票列表（ballots）不能为空",
                               details=[{"field": "ballots", "message": "ballots must be a non-empty list",
                                         "message_zh": "选票列表不能为空"}])
    out = []
    for i, b in enumerate(ballots, start=1):
        if not isinstance(b, dict):
            raise ValidationFailed(f"ballot {i} must be an object", f"第{i}张选票的数据必须是对象")
        serial = int(b.get("serial") or i)
        out.append({"units": [], "area": 0, **b, "serial": serial, "code": f"{code}-{serial}",
                    "units_text": units_text(b.get("units"))})
    return out


def units_text(units: Any, limit: int = 70) -> str:
    """The units line of a ballot, shortened to fit its band: "1-101、1-102等共12处"."""
    items = [str(u) for u in (units if isinstance(units, (list, tuple)) else [units] if units else [])]
    text = "、".join(items)
    if len(text) <= limit:
        return text
    shown: list[str] = []
    for u in items:
        if len("、".join([*shown, u])) > limit - 8:
            break
        shown.append(u)
    return "、".join(shown) + f"等共{len(items)}处"


def prepare_context(session: Session, kind: NoticeKind, context: dict, *, case: Case | None, now: datetime,
                    settings: Settings, title: str | None, code: str, doc_number: str | None = None,
                    replaces: Document | None = None) -> dict:
    """The variables a template sees: the caller's plus those the engine supplies."""
    if not isinstance(context, dict):
        raise ValidationFailed("context must be an object", "文书内容（context）必须是对象")
    issued_on = civil_date(now)
    ctx: dict[str, Any] = {name: None for name in (*COMMON_OPTIONAL, *kind.optional)}
    ctx.update(context)
    check_context(kind, ctx, issued_on)
    ctx["issuer"] = context.get("issuer") or default_issuer(session, case)
    ctx["title"] = title or context.get("title") or kind.title
    ctx["date"] = context.get("date") or cn_date(issued_on)
    ctx["issued_on"] = issued_on.isoformat()
    ctx["created_iso"] = now.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    ctx["doc_number"] = context.get("doc_number") or doc_number
    ctx["verification_code"] = code
    ctx["verify_url"] = f"{settings.base_url.rstrip('/')}/verify/{code}"
    ctx["qr_data_uri"] = render.qr_data_uri(ctx["verify_url"])
    ctx["case_number"] = case.case_number if case is not None else ""
    if kind.kind == "ballot":
        ctx["mode"] = ctx.get("mode") or "vote"
        ctx["layer"] = ctx.get("layer") or "full"
        ctx["ballots"] = number_ballots(ctx["ballots"], code, ctx["verify_url"])
    ctx["_replaces_id"] = replaces.id if replaces is not None else None
    if replaces is not None and not ctx.get("replaces_note"):
        ctx["replaces_note"] = (f"本文书更正并取代{replaces.doc_number or ''}《{replaces.title}》"
                                f"（核验码 {replaces.verification_code}），原文书作废。")
    return ctx


def issue_document(session: Session, *, kind: str, context: dict, case: Case | None = None, actor: str,
                   now: datetime, settings: Settings, title: str | None = None,
                   replaces: int | None = None) -> Document:
    """Render `kind` with `context` to PDF/A-3u and store it. Bad input → ValidationFailed and
    nothing is stored (rendering happens before the row is added)."""
    spec = get_kind(kind)
    old = None
    if replaces is not None:
        old = session.get(Document, int(replaces))
        if old is None:
            raise NotFound(f"document {replaces} to replace does not exist", f"被更正的文书 {replaces} 不存在")
        if case is not None and old.case_id not in (None, case.id):
            raise ValidationFailed("a correction must belong to the same case", "更正文书须属于同一案件")
    code = _unique_code(session)
    # Validate before taking a document number, so a refused notice leaves no gap.
    ctx = prepare_context(session, spec, context, case=case, now=now, settings=settings, title=title, code=code,
                          replaces=old)
    if not ctx.get("doc_number") and spec.kind != "ballot":
        ctx["doc_number"] = next_doc_number(session, ctx["issuer"], civil_date(now).year)
    if spec.kind == "ballot":
        from .ballots import render_ballots  # one page per owner; see ballots.py

        pdf, pages = render_ballots(ctx)
    else:
        pdf, pages = render.html_to_pdf(render.render_html(spec.template, ctx))
    return store_document(session, spec, ctx, pdf, pages, case=case, actor=actor, now=now)


def store_document(session: Session, spec: NoticeKind, ctx: dict, pdf: bytes, pages: int, *, case: Case | None,
                   actor: str, now: datetime) -> Document:
    """Add the document row for a rendered PDF (the rendering context is kept, minus images)."""
    stored = {k: v for k, v in ctx.items() if k != "qr_data_uri"}
    replaces_id = ctx.get("_replaces_id")
    stored.pop("_replaces_id", None)
    doc = Document(
        case_id=case.id if case is not None else None, kind=spec.kind, title=ctx["title"], issuer=ctx["issuer"],
        doc_number=ctx.get("doc_number"), issued_on=ctx["issued_on"], sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf), pages=pages, content=pdf, verification_code=ctx["verification_code"],
        replaces_id=replaces_id, context=json.dumps(_jsonable(stored), ensure_ascii=False, sort_keys=True),
        created_by=actor, created_at=now)
    session.add(doc)
    session.flush()
    if case is not None:  # the case's history names every document issued on it
        from engine import audit

        audit.append(session, chain=audit.case_chain(case.case_number), case_id=case.id, actor=actor,
                     action="document_issued", now=now,
                     detail={"document_id": doc.id, "kind": doc.kind, "title": doc.title,
                             "doc_number": doc.doc_number, "sha256": doc.sha256,
                             "verification_code": doc.verification_code, "replaces_id": doc.replaces_id})
    return doc


# --- finding and verifying --------------------------------------------------------------


@dataclass
class Verification:
    genuine: bool
    sha256: str
    document: Document | None = None
    case_number: str | None = None
    superseded_by: list[Document] | None = None
    reason: str = ""
    reason_zh: str = ""

    def as_dict(self) -> dict:
        d = self.document
        return {
            "genuine": self.genuine, "sha256": self.sha256, "reason": self.reason, "reason_zh": self.reason_zh,
            "document": describe(d, self.case_number) if d is not None else None,
            "superseded_by": [describe(x) for x in (self.superseded_by or [])],
        }


def describe(doc: Document, case_number: str | None = None) -> dict:
    return {"id": doc.id, "kind": doc.kind, "title": doc.title, "issuer": doc.issuer, "doc_number": doc.doc_number,
            "issued_on": doc.issued_on, "verification_code": doc.verification_code, "sha256": doc.sha256,
            "size": doc.size, "pages": doc.pages, "case_id": doc.case_id, "case_number": case_number,
            "replaces_id": doc.replaces_id, "created_by": doc.created_by,
            "created_at": doc.created_at.isoformat() if doc.created_at else None}


def case_number_of(session: Session, doc: Document) -> str | None:
    if doc.case_id is None:
        return None
    return session.scalar(select(Case.case_number).where(Case.id == doc.case_id))


def superseded_by(session: Session, doc: Document) -> list[Document]:
    return list(session.scalars(select(Document).where(Document.replaces_id == doc.id).order_by(Document.id)))


def verify_pdf_bytes(session: Session, data: bytes) -> Verification:
    """Is `data` byte-for-byte a stored document? (sha256 of the file against document.sha256)"""
    digest = hashlib.sha256(data).hexdigest()
    doc = session.scalar(select(Document).where(Document.sha256 == digest).order_by(Document.id).limit(1))
    if doc is None:
        return Verification(False, digest, reason="no stored document has this file's sha256",
                            reason_zh="该文件与任何已存档文书均不一致（可能被修改或非本系统出具）")
    return Verification(True, digest, doc, case_number_of(session, doc), superseded_by(session, doc),
                        reason="the file is identical to a stored document",
                        reason_zh="该文件与已存档文书完全一致")


def find_by_code(session: Session, code: str) -> Document | None:
    """The document with this verification code (case, dashes and spaces ignored), or None.
    A ballot code "<document code>-<n>" finds the ballot batch's document."""
    raw = (code or "").strip().upper()
    base = raw.split("-", 1)[0] if re.fullmatch(rf"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}-\d+", raw) else raw
    base = normalize_code(base)
    if not base or len(base) > 32:
        return None
    return session.scalar(select(Document).where(Document.verification_code == base))


def get_document(session: Session, document_id: int) -> Document:
    doc = session.get(Document, document_id)
    if doc is None:
        raise NotFound(f"document {document_id} does not exist", f"文书 {document_id} 不存在")
    return doc
