"""Issue, store, find and verify official documents.

A document row is written once and never changed: its bytes, sha256 and a short unguessable
verification code (printed on the PDF with a QR code for <base-url>/verify/<code>) let anyone
check a posted notice. A correction is a new document whose `replaces_id` names the old one.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from engine.config import CIVIL_TZ, Settings, base_url_warning
from engine.db.models import Case, Document, DocumentRevocation, OrgSeal, OrgUnit
from engine.runtime.errors import NotFound, ValidationFailed

from . import ballot_pages, render
from .kinds import COMMON_OPTIONAL, NoticeKind, check_context, get_kind

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols: no 0/O, 1/I
CODE_LENGTH = 10  # 50 bits
_DOC_NUMBER = re.compile(r"〔(\d{4})〕(\d+)号$")


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


def default_issuer(session: Session | None, case: Case | None) -> str:
    if case is None:
        raise ValidationFailed("no case: give context['issuer']", "无所属案件，须提供发文机关（issuer）",
                               details=[{"field": "issuer", "message": "issuer is required without a case",
                                         "message_zh": "无所属案件时须提供发文机关"}])
    if session is None:  # previews without a database render case-less notices only
        raise ValueError("a case's issuer is read from the database: pass a session")
    compound = session.get(OrgUnit, case.compound_id)
    street = street_of(session, compound)
    if street is None:
        raise ValidationFailed(f"case {case.case_number} has no street above its compound",
                               f"案件 {case.case_number} 的小区没有所属街道，须提供发文机关（issuer）")
    return street.name + "办事处"


def issuing_org(session: Session, case: Case | None, issuer: str) -> OrgUnit | None:
    """The organisation a notice goes out in the name of: the unit (the case's compound or one above
    it; any unit without a case) whose name the issuer's name starts with, the longest such name
    ("江浦街道办事处" → 江浦街道; "文景花园小区业主委员会" → 文景花园小区)."""
    if case is not None:
        chain, org = [], session.get(OrgUnit, case.compound_id)
        while org is not None:
            chain.append(org)
            org = session.get(OrgUnit, org.parent_id) if org.parent_id else None
    else:
        chain = list(session.scalars(select(OrgUnit)))
    matches = [o for o in chain if o.name and issuer.startswith(o.name)]
    return max(matches, key=lambda o: len(o.name)) if matches else None


DOC_PREFIX = re.compile(r"^[\u3400-\u9fff]{1,10}$")


def check_doc_prefix(prefix: str) -> str:
    """A 机关代字 is 1–10 Chinese characters ("江街"); "" clears it."""
    prefix = (prefix or "").strip()
    if prefix and not DOC_PREFIX.match(prefix):
        raise ValidationFailed(f"bad document prefix {prefix!r}", f"机关代字「{prefix}」无效：应为1至10个汉字，不含〔〕和数字",
                               details=[{"field": "doc_prefix", "message": "1 to 10 Chinese characters",
                                         "message_zh": "机关代字应为1至10个汉字"}])
    return prefix


def format_doc_number(prefix: str | None, year: int, seq: int) -> str:
    """GB/T 9704 §7.2.4: 机关代字, the full year in 〔〕, the sequence without leading zeros."""
    return f"{prefix or ''}〔{year}〕{int(seq)}号"


def parse_doc_number(number: str | None) -> tuple[int, int] | None:
    """(year, sequence) of "江街〔2026〕7号"; None for a number in another form."""
    m = _DOC_NUMBER.search(number or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _lock_numbering(session: Session, issuer: str, year: int) -> None:
    """Serialize number allocation per issuer and year on PostgreSQL (SQLite has one writer).
    The unique index on (issuer, doc_year, doc_seq) is what guarantees it; the lock only spares
    concurrent issuers a refused commit."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"docnum:{issuer}:{year}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def next_doc_number(session: Session, issuer: str, year: int, prefix: str | None = None) -> tuple[str, int, int]:
    """(number, year, sequence): one more than the highest sequence this issuer used in that year."""
    _lock_numbering(session, issuer, year)
    highest = session.scalar(select(func.max(Document.doc_seq)).where(
        Document.issuer == issuer, Document.doc_year == year)) or 0
    return format_doc_number(prefix, year, highest + 1), year, highest + 1


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


def _noun(title: str) -> str:
    """What a notice calls itself: 本公告, 本公示, 本通知 …"""
    for noun in ("公告", "公示", "通知", "告知书", "意见书", "协议书"):
        if title.endswith(noun):
            return noun
    return "文书"


def replaces_note(old: Document, title: str, reason: str) -> str:
    """The sentence a replacing notice opens with: the number it replaces and why."""
    cited = f"{old.doc_number}《{old.title}》" if old.doc_number else f"《{old.title}》（核验码 {old.verification_code}）"
    return f"本{_noun(title)}替代{cited}。替代原因：{reason.rstrip('。')}。原{_noun(old.title)}自本{_noun(title)}发布之日起作废。"


def prepare_context(session: Session | None, kind: NoticeKind, context: dict, *, case: Case | None, now: datetime,
                    settings: Settings, title: str | None, code: str, doc_number: str | None = None,
                    replaces: Document | None = None, replace_reason: str | None = None) -> dict:
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
    ctx["created_iso"] = now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    ctx["doc_number"] = context.get("doc_number") or doc_number
    ctx["verification_code"] = code
    ctx["verify_url"] = f"{settings.base_url.rstrip('/')}/verify/{code}"
    ctx["qr_data_uri"] = render.qr_data_uri(ctx["verify_url"])
    ctx["case_number"] = case.case_number if case is not None else ""
    # A QR code no resident's phone can reach marks the notice as a test (see base_url_warning).
    ctx["test_mark"] = base_url_warning(settings.base_url) is not None
    ctx.setdefault("seal_image", None)
    if kind.kind == "ballot":
        ctx["mode"] = ctx.get("mode") or "vote"
        ctx["layer"] = ctx.get("layer") or "full"
        ctx["ballots"] = number_ballots(ctx["ballots"], code, ctx["verify_url"])
    ctx["_replaces_id"] = replaces.id if replaces is not None else None
    if replaces is not None:
        reason = str(replace_reason or context.get("replaces_reason") or "").strip()
        if not reason:
            raise ValidationFailed("a replacing notice must say why it replaces the old one",
                                   f"替代{replaces.doc_number or '原文书'}须说明替代原因",
                                   details=[{"field": "replaces_reason", "message": "reason required",
                                             "message_zh": "须填写替代原因"}])
        ctx["replaces_note"] = replaces_note(replaces, ctx["title"], reason)
    return ctx


def _seal_data_uri(session: Session, org: OrgUnit | None) -> str | None:
    seal = session.get(OrgSeal, org.id) if org is not None else None
    if seal is None:
        return None
    return f"data:{seal.content_type};base64," + base64.b64encode(seal.content).decode("ascii")


def issue_document(session: Session, *, kind: str, context: dict, case: Case | None = None, actor: str,
                   now: datetime, settings: Settings, title: str | None = None,
                   replaces: int | None = None, replace_reason: str | None = None) -> Document:
    """Render `kind` with `context` to PDF/A-3u and store it. Bad input → ValidationFailed and
    nothing is stored (rendering happens before the row is added)."""
    spec = get_kind(kind)
    old = None
    if replaces is not None:
        old = session.get(Document, int(replaces))
        if old is None:
            raise NotFound(f"document {replaces} to replace does not exist", f"被替代的文书 {replaces} 不存在")
        if case is not None and old.case_id not in (None, case.id):
            raise ValidationFailed("a correction must belong to the same case", "替代文书须属于同一案件")
        if revocation_of(session, old) is not None:
            raise ValidationFailed("a revoked document cannot be replaced", f"{old.doc_number or '该文书'}已撤销，不能再被替代")
    code = _unique_code(session)
    # Validate before taking a document number, so a refused notice leaves no gap.
    ctx = prepare_context(session, spec, context, case=case, now=now, settings=settings, title=title, code=code,
                          replaces=old, replace_reason=replace_reason)
    org = issuing_org(session, case, ctx["issuer"])
    if not ctx.get("seal_image"):
        ctx["seal_image"] = _seal_data_uri(session, org)
    if not ctx.get("doc_number") and spec.kind != "ballot":
        ctx["doc_number"], ctx["_doc_year"], ctx["_doc_seq"] = next_doc_number(
            session, ctx["issuer"], civil_date(now).year, org.doc_prefix if org is not None else None)
    elif ctx.get("doc_number"):  # a number given by the caller still takes its place in the sequence
        parsed = parse_doc_number(ctx["doc_number"])
        if parsed is not None:
            ctx["_doc_year"], ctx["_doc_seq"] = parsed
            if session.scalar(select(Document.id).where(Document.issuer == ctx["issuer"], Document.doc_year == parsed[0],
                                                        Document.doc_seq == parsed[1])) is not None:
                raise ValidationFailed(f"{ctx['issuer']} already issued number {ctx['doc_number']}",
                                       f"{ctx['issuer']}已使用过文号{ctx['doc_number']}（同一年度的序号不能重复）")
    if spec.kind == "ballot":
        pdf, pages = ballot_pages.render_ballots(ctx)  # one page per owner; see ballots.py
    else:
        pdf, pages = render.html_to_pdf(render.render_html(spec.template, ctx))
    return store_document(session, spec, ctx, pdf, pages, case=case, actor=actor, now=now)


def store_document(session: Session, spec: NoticeKind, ctx: dict, pdf: bytes, pages: int, *, case: Case | None,
                   actor: str, now: datetime) -> Document:
    """Add the document row for a rendered PDF (the rendering context is kept, minus images)."""
    stored = {k: v for k, v in ctx.items() if k not in ("qr_data_uri", "seal_image") and not k.startswith("_")}
    stored["seal_image"] = bool(ctx.get("seal_image"))
    replaces_id = ctx.get("_replaces_id")
    doc = Document(
        case_id=case.id if case is not None else None, kind=spec.kind, title=ctx["title"], issuer=ctx["issuer"],
        doc_number=ctx.get("doc_number"), doc_year=ctx.get("_doc_year"), doc_seq=ctx.get("_doc_seq"),
        issued_on=ctx["issued_on"], sha256=hashlib.sha256(pdf).hexdigest(),
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
    status: dict | None = None

    def as_dict(self) -> dict:
        d = self.document
        return {
            "genuine": self.genuine, "sha256": self.sha256, "reason": self.reason, "reason_zh": self.reason_zh,
            "document": describe(d, self.case_number) if d is not None else None,
            "superseded_by": [describe(x) for x in (self.superseded_by or [])],
            "status": self.status,
        }


def describe(doc: Document, case_number: str | None = None) -> dict:
    return {"id": doc.id, "kind": doc.kind, "title": doc.title, "issuer": doc.issuer, "doc_number": doc.doc_number,
            "issued_on": doc.issued_on, "verification_code": doc.verification_code, "sha256": doc.sha256,
            "size": doc.size, "pages": doc.pages, "case_id": doc.case_id, "case_number": case_number,
            "replaces_id": doc.replaces_id, "created_by": doc.created_by,
            "created_at": doc.created_at.isoformat() if doc.created_at else None}


# --- status: valid, superseded, revoked -------------------------------------------------

REVOKE_ROLES = frozenset({"street_party_committee"})  # the supervising party working committee


def revocation_of(session: Session, doc: Document) -> DocumentRevocation | None:
    return session.get(DocumentRevocation, doc.id)


def status_of(session: Session, doc: Document) -> dict:
    """What a resident must know about a notice before trusting it: 有效, 已被〔2026〕7号替代 (the
    latest replacement, with its code), or 已撤销 with the reason. A revocation outranks a
    replacement: a revoked notice is void whatever replaced it."""
    revoked = revocation_of(session, doc)
    if revoked is not None:
        return {"status": "revoked", "status_zh": "已撤销", "reason": revoked.reason, "revoked_by": revoked.revoked_by,
                "revoked_at": revoked.revoked_at.isoformat(), "replaced_by": None}
    newer = superseded_by(session, doc)
    if newer:
        latest = newer[-1]
        label = latest.doc_number or f"《{latest.title}》"
        return {"status": "superseded", "status_zh": f"已被{label}替代", "reason": None,
                "replaced_by": {"doc_number": latest.doc_number, "title": latest.title,
                                "verification_code": latest.verification_code, "issued_on": latest.issued_on}}
    return {"status": "valid", "status_zh": "有效", "reason": None, "replaced_by": None}


def revoke_document(session: Session, doc: Document, *, actor: str, role: str, reason: str, now: datetime) -> DocumentRevocation:
    """Withdraw a notice (a supervisor's act, with a reason residents will read), audited in the
    same transaction: on the case's chain, or the document's own chain without a case."""
    from engine import audit
    from engine.runtime.errors import Conflict, Forbidden

    if role not in REVOKE_ROLES:
        raise Forbidden(f"role {role} may not revoke documents", "只有街道党工委可以撤销文书")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ValidationFailed("a revocation needs a reason (at least 4 characters)", "撤销文书须填写撤销原因（至少4个字）",
                               details=[{"field": "reason", "message": "reason required", "message_zh": "须填写撤销原因"}])
    if len(reason) > 500:
        raise ValidationFailed("reason too long (500 characters at most)", "撤销原因不超过500字",
                               details=[{"field": "reason", "message": "too long", "message_zh": "撤销原因不超过500字"}])
    if doc.case_id is not None:  # the case's chain: queue behind any change of the case in flight
        session.get(Case, doc.case_id, with_for_update=session.get_bind().dialect.name == "postgresql")
    if revocation_of(session, doc) is not None:
        raise Conflict(f"document {doc.id} is already revoked", f"{doc.doc_number or '该文书'}已撤销")
    row = DocumentRevocation(document_id=doc.id, reason=reason, revoked_by=actor, revoked_at=now)
    session.add(row)
    session.flush()
    case_number = case_number_of(session, doc)
    audit.append(session, chain=audit.case_chain(case_number) if case_number else f"document:{doc.id}",
                 case_id=doc.case_id, actor=actor, action="document_revoked", now=now,
                 detail={"document_id": doc.id, "doc_number": doc.doc_number, "title": doc.title,
                         "verification_code": doc.verification_code, "reason": reason})
    return row


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
                        reason_zh="该文件与已存档文书完全一致", status=status_of(session, doc))


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


# --- an organisation's notice settings: 机关代字 and electronic seal ----------------------

SEAL_MAX_BYTES = 1_000_000


def check_seal_image(data: bytes) -> str:
    """A seal image must be a PNG (transparent background over the text) that Pillow can read,
    roughly square, at least 200 px; returns its content type."""
    import io

    from PIL import Image, UnidentifiedImageError

    def bad(message: str, message_zh: str):
        return ValidationFailed(message, message_zh, details=[{"field": "seal", "message": message,
                                                               "message_zh": message_zh}])

    if not data:
        raise bad("empty seal image", "印章图片为空")
    if len(data) > SEAL_MAX_BYTES:
        raise bad("seal image over 1 MB", "印章图片不得超过 1 MB")
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
            fmt, (w, h) = img.format, img.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise bad("not a readable image", "印章图片无法读取（须为 PNG 文件）") from None
    if fmt != "PNG":
        raise bad("the seal must be a PNG", "印章图片须为 PNG 格式（透明背景）")
    if min(w, h) < 200 or max(w, h) > 1.2 * min(w, h):
        raise bad(f"the seal must be about square and at least 200 px ({w}×{h})",
                  f"印章图片应近似正方形且边长不少于 200 像素（当前 {w}×{h}）")
    return "image/png"


def set_org_notice_settings(session: Session, org: OrgUnit, *, actor: str, now: datetime, doc_prefix: str | None = None,
                            seal: bytes | None = None, remove_seal: bool = False) -> None:
    """Change an organisation's 机关代字 and/or electronic seal, each change audited on the
    organisation's chain in the same transaction. Everything is checked before anything changes."""
    from engine import audit

    prefix = check_doc_prefix(doc_prefix) if doc_prefix is not None else None
    checked_seal = (seal, check_seal_image(seal)) if seal is not None else None
    chain = f"org:{org.code}"
    if prefix is not None and prefix != (org.doc_prefix or ""):
        audit.append(session, chain=chain, actor=actor, action="org_doc_prefix_changed", now=now,
                     before={"doc_prefix": org.doc_prefix}, after={"doc_prefix": prefix or None})
        org.doc_prefix = prefix or None
    current = session.get(OrgSeal, org.id)
    if checked_seal is not None:
        seal, content_type = checked_seal
        digest = hashlib.sha256(seal).hexdigest()
        if current is None:
            current = OrgSeal(org_unit_id=org.id)
            session.add(current)
        before = {"sha256": current.sha256} if current.sha256 else None
        current.content, current.content_type, current.sha256 = seal, content_type, digest
        current.uploaded_by, current.uploaded_at = actor, now
        audit.append(session, chain=chain, actor=actor, action="org_seal_uploaded", now=now,
                     before=before, after={"sha256": digest, "size": len(seal)})
    elif remove_seal and current is not None:
        audit.append(session, chain=chain, actor=actor, action="org_seal_removed", now=now,
                     before={"sha256": current.sha256}, after=None)
        session.delete(current)
    session.flush()
