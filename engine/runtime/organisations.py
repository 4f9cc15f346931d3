"""Organisations as an application service: adding a unit to the hierarchy, and a unit's 机关代字
and electronic seal — administrators only, each change audited."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from engine import audit
from engine.db.models import OrgUnit
from engine.orgs import ensure_org, org_by_code

from .actors import Actor
from .errors import Forbidden, ValidationFailed


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden(f"{actor.username} may not change the organisation", "仅系统管理员可以维护组织机构")


def create_org(rt: Any, actor: Actor, kind: str, code: str, name: str, parent: str | None) -> tuple[str, str]:
    """Add a unit under `parent`; returns its (code, name)."""
    _require_admin(actor)
    code, name = code.strip(), name.strip()
    if not re.fullmatch(r"[A-Za-z0-9-]{1,60}", code):
        raise ValidationFailed("code: letters, digits and -", "编码只能包含字母、数字和 -")
    if not name:
        raise ValidationFailed("name is required", "名称为必填项")
    with rt.uow() as s:
        if s.scalar(select(OrgUnit.id).where(OrgUnit.code == code)) is not None:
            raise ValidationFailed(f"organisation {code!r} exists", f"编码「{code}」已存在")
        org = ensure_org(s, kind, code, name, parent or None)
        audit.append(s, chain=f"org:{org.code}", actor=actor.username, action="org_created",
                     after={"kind": kind, "code": org.code, "name": org.name, "path": org.path}, now=rt.now())
        return org.code, org.name


def set_notice_settings(rt: Any, actor: Actor, org_code: str, *, doc_prefix: str, seal: bytes | None,
                        remove_seal: bool) -> None:
    """A unit's 机关代字 and seal (PNG); refused input changes nothing."""
    from engine.notices.service import set_org_notice_settings

    _require_admin(actor)
    with rt.uow() as s:
        set_org_notice_settings(s, org_by_code(s, org_code), actor=actor.username, now=rt.now(),
                                doc_prefix=doc_prefix, seal=seal, remove_seal=remove_seal)
