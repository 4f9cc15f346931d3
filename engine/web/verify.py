"""Public verification of a posted notice: `/verify/<code>` needs no login and shows only the
notice's title, issuer, date, case number and sha256 — nothing more."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from engine.db.models import Case, Document

from .context import render, runtime

router = APIRouter(include_in_schema=False)


def lookup(request: Request, code: str) -> dict[str, Any] | None:
    code = (code or "").strip()
    if not code or len(code) > 64:
        return None
    with runtime(request).uow() as s:
        try:
            from engine.notices.service import find_by_code
        except ImportError:  # notices not installed: match the code exactly
            doc = s.scalar(select(Document).where(Document.verification_code == code))
        else:
            doc = find_by_code(s, code)
        if doc is None:
            return None
        case_number = s.scalar(select(Case.case_number).where(Case.id == doc.case_id)) if doc.case_id else None
        return {"title": doc.title, "issuer": doc.issuer, "issued_on": doc.issued_on, "case_number": case_number,
                "sha256": doc.sha256}


@router.get("/verify/{code}")
def verify_page(request: Request, code: str):
    found = lookup(request, code)
    return render(request, "verify.html", {"code": code, "doc": found}, status_code=200 if found else 404)


@router.get("/verify")
def verify_form(request: Request, code: str = ""):
    if code:
        found = lookup(request, code)
        return render(request, "verify.html", {"code": code, "doc": found}, status_code=200 if found else 404)
    return render(request, "verify.html", {"code": "", "doc": None, "ask": True})
