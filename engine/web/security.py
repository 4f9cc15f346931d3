"""Sessions, CSRF tokens, login with throttling.

The session lives in one signed cookie (HttpOnly, SameSite=Lax): a random session id, the user id
and the user's session version. Raising the version (logout, password change or reset,
deactivation, an administrator's 下线) ends every session of that user at once. The CSRF token of
a session is an HMAC of its id, so it needs no server-side storage and changes with every login.
Every request re-reads the user row, so a deactivated account stops working at once.

Logging in and its throttles are in `engine.runtime.accounts`.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

# Logging in, its throttles and ending a user's sessions are account rules of the service layer;
# the names stay importable from here for the web modules that use them.
from engine.runtime.accounts import (  # noqa: F401
    ACCOUNT_FREE_FAILURES,
    ACCOUNT_MAX_DELAY,
    ADDRESS_FREE_FAILURES,
    ADDRESS_MAX_DELAY,
    ADDRESS_MEMORY,
    LoginFailed,
    login,
    throttle_delay,
)

COOKIE = "hongwu_session"
SESSION_MAX_AGE = 12 * 3600  # one working day; then log in again
@dataclass
class SessionData:
    sid: str
    uid: int | None = None
    version: int = 0  # the user's session version when the session began

    def as_dict(self) -> dict[str, Any]:
        return {"sid": self.sid, "uid": self.uid, "sv": self.version}


class SessionCodec:
    """Signs and reads the session cookie with the app's secret key."""

    def __init__(self, secret_key: str):
        if not secret_key:
            raise ValueError("settings.secret_key is empty: sessions cannot be signed")
        self._secret = secret_key.encode("utf-8")
        self._serializer = URLSafeTimedSerializer(secret_key, salt="hongwu-session")

    def new(self, uid: int | None = None, version: int = 0) -> SessionData:
        return SessionData(secrets.token_urlsafe(18), uid, version)

    def dumps(self, data: SessionData) -> str:
        return self._serializer.dumps(data.as_dict())

    def loads(self, raw: str | None) -> SessionData | None:
        if not raw:
            return None
        try:
            d = self._serializer.loads(raw, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(d, dict) or not isinstance(d.get("sid"), str):
            return None
        uid, version = d.get("uid"), d.get("sv")
        if not isinstance(uid, int) or not isinstance(version, int):
            return SessionData(d["sid"])  # a cookie from before session versions: logged out
        return SessionData(d["sid"], uid, version)

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self._secret, f"csrf:{sid}".encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, sid: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(sid), str(token))


