"""/api/notifications: a user's notifications, the unread count, marking read."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from engine.notifications.service import Notifications

from ..api import ERRORS
from ..context import Viewer, check_csrf, runtime, viewer

router = APIRouter(prefix="/api")


class MarkReadIn(BaseModel):
    ids: list[int] | None = Field(None, max_length=500, description="通知编号；省略且 all 为真时全部标为已读")
    all: bool = False


@router.get("/notifications", tags=["notifications"], responses=ERRORS)
def list_notifications(request: Request, v: Viewer = Depends(viewer), unread: bool = False,
                       limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0, le=1_000_000)):
    """我的站内通知（最新在前）与未读数。"""
    svc = Notifications(runtime(request))
    return {"unread": svc.unread_count(v.actor),
            "items": [n.as_dict() for n in svc.listing(v.actor, unread, limit, offset)]}


@router.post("/notifications/read", tags=["notifications"], dependencies=[Depends(check_csrf)], responses=ERRORS)
def mark_read(request: Request, body: MarkReadIn, v: Viewer = Depends(viewer)):
    """把指定通知（或全部未读通知）标为已读；他人的通知按不存在处理。"""
    from engine.runtime.errors import ValidationFailed

    if body.all == (body.ids is not None):
        raise ValidationFailed("give either ids or all=true", "请给出要标为已读的通知编号，或选择全部标为已读")
    svc = Notifications(runtime(request))
    marked = svc.mark_read(v.actor, None if body.all else body.ids)
    return {"read": marked, "unread": svc.unread_count(v.actor)}
