"""Per-integration API tokens (e.g. the 12345 hotline's intake system).

The secret is shown once, when the token is created; only its sha256 is stored, so a copy of the
database does not let anyone call the API. A token has one scope and optionally an organisation
unit: cases it files must lie inside that unit. Revoking is immediate and permanent. Creating and
revoking are audited on the chain `api_token:<id>`.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.db.models import ApiToken, OrgUnit
from engine.runtime.errors import HongwuError, NotFound, ValidationFailed

SCOPES = {"mediation_intake": "物业纠纷调解受理（POST /api/mediation-cases）"}
PREFIX = "hw_"


class TokenRefused(HongwuError):
    """Missing, unknown, revoked or wrongly scoped token (HTTP 401)."""

    code = "unauthorized"


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    scope: str
    org_code: str | None
    org_path: str | None
    created_at: datetime
    revoked_at: datetime | None

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "scope": self.scope, "org_code": self.org_code,
                "created_at": self.created_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None}


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _info(session: Session, row: ApiToken) -> TokenInfo:
    org = session.get(OrgUnit, row.org_unit_id) if row.org_unit_id else None
    return TokenInfo(row.id, row.name, row.scope, org.code if org else None, org.path if org else None,
                     row.created_at, row.revoked_at)


def create_token(session: Session, name: str, scope: str, *, org_code: str | None = None, actor: str,
                 now: datetime) -> tuple[TokenInfo, str]:
    """A new token and its secret — the only time the secret is available."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("the token needs a name of 1–100 characters", "令牌名称须为 1–100 个字符")
    if scope not in SCOPES:
        raise ValidationFailed(f"unknown scope {scope!r} (known: {', '.join(sorted(SCOPES))})",
                               f"未知的权限范围 {scope!r}（可用：{'、'.join(sorted(SCOPES))}）")
    org = None
    if org_code:
        org = session.scalar(select(OrgUnit).where(OrgUnit.code == org_code))
        if org is None:
            raise NotFound(f"unknown organisation {org_code!r}", f"组织 {org_code!r} 不存在")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=hash_secret(secret), scope=scope, org_unit_id=org.id if org else None,
                   created_at=now, revoked_at=None)
    session.add(row)
    session.flush()
    audit.append(session, chain=f"api_token:{row.id}", actor=actor, action="api_token_created",
                 detail={"id": row.id, "name": name, "scope": scope, "org": org_code}, now=now)
    return _info(session, row), secret


def revoke_token(session: Session, token_id: int, *, actor: str, now: datetime) -> TokenInfo:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no API token {token_id}", f"API 令牌 {token_id} 不存在")
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
        audit.append(session, chain=f"api_token:{row.id}", actor=actor, action="api_token_revoked",
                     detail={"id": row.id, "name": row.name}, now=now)
    return _info(session, row)


def list_tokens(session: Session) -> list[TokenInfo]:
    return [_info(session, r) for r in session.scalars(select(ApiToken).order_by(ApiToken.id))]


def verify_token(session: Session, secret: str | None, scope: str) -> TokenInfo:
    """The active token with this secret and scope, else TokenRefused (one message for every
    failure, so a caller learns nothing about which tokens exist)."""
    refused = TokenRefused("missing, unknown or revoked API token", "API 令牌缺失、无效或已吊销")
    if not secret or not secret.startswith(PREFIX) or len(secret) > 200:
        raise refused
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    if row is None or row.revoked_at is not None or row.scope != scope:
        raise refused
    return _info(session, row)


def bearer(authorization: str | None) -> str | None:
    """The secret of an `Authorization: Bearer <secret>` header."""
    if not authorization:
        return None
    kind, _, value = authorization.strip().partition(" ")
    if kind.lower() != "bearer":
        return None
    return value.strip() or None
