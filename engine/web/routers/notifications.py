"""The notification centre (/notifications): the list with unread first-class, mark one or all
read; and the settings page (/notifications/settings): kinds, email, daily digest."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from engine.notifications.kinds import CHOOSABLE
from engine.notifications.service import Notifications
from engine.runtime.errors import ValidationFailed

from ..context import Viewer, check_csrf, render, runtime, viewer

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def service(request: Request) -> Notifications:
    return Notifications(runtime(request))


@router.get("/notifications")
def centre(request: Request, v: Viewer = Depends(viewer), state: str = Query("", pattern="^(|unread)$"),
           page: int = Query(1, ge=1, le=100000), done: str = Query("", max_length=20)):
    svc = service(request)
    rows = svc.listing(v.actor, state == "unread", PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    return render(request, "notifications.html", {
        "items": rows[:PAGE_SIZE], "page": page, "has_next": len(rows) > PAGE_SIZE, "state": state,
        "params": [("state", state)] if state else [], "unread": svc.unread_count(v.actor),
        "message": "已标为已读" if done == "read" else "",
    })


@router.post("/notifications/read", dependencies=[Depends(check_csrf)])
async def mark_read(request: Request, v: Viewer = Depends(viewer)):
    form = await request.form()
    ids = form.getlist("id")
    every = form.get("all") == "1"
    state = "unread" if form.get("state") == "unread" else ""
    service(request).mark_read(v.actor, None if every else [str(i) for i in ids])
    target = "/notifications?done=read" + ("&state=unread" if state else "")
    return RedirectResponse(target, status_code=303)


def _settings_page(request: Request, prefs, message: str = "", error=None, status_code: int = 200):
    return render(request, "notification_settings.html", {
        "prefs": prefs, "kinds": CHOOSABLE, "message": message, "error": error}, status_code=status_code)


@router.get("/notifications/settings")
def settings_page(request: Request, v: Viewer = Depends(viewer), saved: int = Query(0, ge=0, le=1)):
    return _settings_page(request, service(request).preferences(v.actor), "通知设置已保存" if saved else "")


@router.post("/notifications/settings", dependencies=[Depends(check_csrf)])
async def save_settings(request: Request, v: Viewer = Depends(viewer)):
    form = await request.form()
    wanted = {str(k) for k in form.getlist("kind")}
    muted = [k.code for k in CHOOSABLE if k.code not in wanted]
    email = str(form.get("email") or "")
    email_each, digest = form.get("email_each") == "1", form.get("daily_digest") == "1"
    svc = service(request)
    try:
        svc.save_preferences(v.actor, muted=muted, email=email, email_each=email_each, daily_digest=digest)
    except ValidationFailed as exc:
        # What was typed stays on the page; nothing was saved.
        from engine.notifications.preferences import Preferences

        typed = Preferences(muted, email[:200], email_each, digest)
        return _settings_page(request, typed, error=exc, status_code=422)
    return RedirectResponse("/notifications/settings?saved=1", status_code=303)
