"""API tokens of integrations (hashed at rest, revocable): checking one on a request, and the
administrator's create / revoke / list."""
from __future__ import annotations

from typing import Any

from engine import tokens
from engine.tokens import TokenInfo, TokenRefused

__all__ = ["TokenInfo", "TokenRefused", "create", "list_all", "revoke", "token_for"]


def token_for(rt: Any, authorization: str | None, scope: str) -> TokenInfo:
    """The integration's token from an `Authorization: Bearer …` header (TokenRefused if not)."""
    with rt.uow() as s:
        return tokens.verify_token(s, tokens.bearer(authorization), scope)


def create(rt: Any, name: str, scope: str, *, org_code: str | None, actor: str) -> tuple[TokenInfo, str]:
    """A new token and its secret (shown once; only its hash is kept)."""
    with rt.uow() as s:
        return tokens.create_token(s, name, scope, org_code=org_code, actor=actor, now=rt.now())


def revoke(rt: Any, token_id: int, *, actor: str) -> TokenInfo:
    with rt.uow() as s:
        return tokens.revoke_token(s, token_id, actor=actor, now=rt.now())


def list_all(rt: Any) -> list[TokenInfo]:
    with rt.uow() as s:
        return tokens.list_tokens(s)
