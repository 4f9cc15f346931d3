"""Log in, log out, and the home page (which sends each role where its work is)."""
from __future__ import annotations

import threading
import time
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from engine.runtime import accounts as account_service

from .context import (
    check_csrf,
    client_address,
    codec,
    end_user_sessions,
    optional_viewer,
    render,
    runtime,
    session_of,
    start_session,
)
from .security import LoginFailed
from .security import login as check_login

router = APIRouter(include_in_schema=False)
_DEMO_CACHE: dict[int, tuple[float, list]] = {}
_DEMO_LOCK = threading.Lock()


def home_for(role: str) -> str:
    if role == "auditor":
        return "/cases"
    if role == "admin":
        return "/admin"
    return "/inbox"


def demo_accounts(request: Request) -> list[dict]:
    """The demo accounts, when this database is a demo one (their password is the demo password).
    Checked once a minute: argon2 is slow on purpose. One request checks at a time: when a whole
    office opens the login page at once, the others show the previous answer (or, the very first
    time, wait for it) instead of each spending an argon2 check."""
    key = id(request.app)
    hit = _DEMO_CACHE.get(key)
    if hit and time.monotonic() - hit[0] < 60:
        return hit[1]
    if hit is None:
        _DEMO_LOCK.acquire()
    elif not _DEMO_LOCK.acquire(blocking=False):  # someone is refreshing it: the old list will do
        return hit[1]
    try:
        hit = _DEMO_CACHE.get(key)
        if hit and time.monotonic() - hit[0] < 60:
            return hit[1]
        return _check_demo_accounts(request, key)
    finally:
        _DEMO_LOCK.release()


def _check_demo_accounts(request: Request, key: int) -> list[dict]:
    from engine import demo
    from engine.orgs import verify_password

    names = [u[0] for u in demo.USERS]
    hashes = account_service.active_password_hashes(runtime(request), names)
    # The slow check runs with no database connection held.
    accounts = []
    if names[0] in hashes and verify_password(hashes[names[0]], demo.DEMO_PASSWORD):
        for username, display, role, juris in demo.USERS:
            if username in hashes:
                accounts.append({"username": username, "display_name": display, "role": role,
                                 "jurisdiction": juris or "全部"})
    result = [{"password": demo.DEMO_PASSWORD, **a} for a in accounts]
    _DEMO_CACHE[key] = (time.monotonic(), result)
    return result


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@router.get("/")
def home(request: Request):
    v = optional_viewer(request)
    if v is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(home_for(v.role), status_code=303)


@router.get("/login")
def login_page(request: Request, next: str | None = None):
    v = optional_viewer(request)
    if v is not None:
        return RedirectResponse(_safe_next(next) or home_for(v.role), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next) or "", "demo": demo_accounts(request)})


@router.post("/login", dependencies=[Depends(check_csrf)])
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("")):
    try:
        user = check_login(runtime(request), username, password, client_address(request))
    except LoginFailed as failure:
        response = render(request, "login.html", {"next": _safe_next(next) or "", "error": failure,
                                                  "username": username, "demo": demo_accounts(request)},
                          status_code=429 if failure.retry_after else 401)
        if failure.retry_after:
            response.headers["Retry-After"] = str(failure.retry_after)
        return response
    start_session(request, user)
    return RedirectResponse(_safe_next(next) or home_for(user.role), status_code=303)


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request):
    v = optional_viewer(request)
    if v is not None:
        end_user_sessions(request, v)
    else:
        request.state.session = codec(request).new(None)
        request.state.session_dirty = True
    return RedirectResponse("/login", status_code=303)


@router.get("/healthz")
def healthz(request: Request):
    account_service.database_answers(runtime(request))
    return {"ok": True, "session": bool(session_of(request).uid)}
