"""Who holds an open task (claim, assignment, delegation) and the comments on a case.

Task rows (`human_task`) are derived again on every save of a case, so who holds a task lives in a
table of its own keyed by the task id; its foreign key removes the claim with the task row when
the task is no longer ready. Comments outlive their task (no foreign key on `task_id`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime

HOLD_KINDS = ("claimed", "assigned", "delegated")


class TaskClaim(Base):
    """The one person an open task is with: claimed (认领) by them, assigned (指派) or delegated
    (转办) to them by a supervisor. No row: the task is in its role's pool."""

    __tablename__ = "task_claim"
    task_id: Mapped[str] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("process_case.id", ondelete="CASCADE"), index=True)
    holder: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # claimed | assigned | delegated
    by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseComment(Base):
    """A comment on a case or on one of its tasks; `mentions` is a JSON list of usernames."""

    __tablename__ = "case_comment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("process_case.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    task_name: Mapped[str | None] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
